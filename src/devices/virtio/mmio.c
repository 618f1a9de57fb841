/* virtio-mmio Version 2 register file (virtio 1.x §4.2.2; style-anchors §6).
 * The only file that knows register offsets. Every access arrives on a vCPU
 * thread and runs under d->lock; so do the ops callbacks it leads to. The
 * status machine, reset and interrupts are in mmio_status.c.
 *
 * Guest misuse (wrong width, a write outside its phase, an out-of-range
 * QueueSel or config offset) is ignored, reads as 0, and is logged
 * rate-limited; nothing a guest writes indexes past an array. */
#include "ember/virtio.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "ember/guest_mem.h"
#include "ember/log.h"
#include "mmio_internal.h"

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0	      /* Firecracker's */
#define CONFIG_MAX (VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)

int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		    struct guest_mem *gm, uint64_t base, unsigned irq, int irq_fd)
{
	int rc;

	if (!ops || !ops->name || !gm || ops->nr_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	rc = pthread_mutex_init(&d->lock, NULL);
	if (rc) {
		log_err("pthread_mutex_init: %s", strerror(rc));
		return -rc;
	}
	d->ops = ops;
	d->priv = priv;
	d->gm = gm;
	d->base = base;
	d->irq = irq;
	d->irq_fd = irq_fd;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->kick[i] = (struct evloop_handler){ .fd = -1, .fn = virtio_kick_handler,
						      .ctx = d };
	return 0;
}

/* Closes nothing: irq_fd and the ioeventfds belong to whoever made them. */
void virtio_dev_destroy(struct virtio_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

/* The queue QueueSel names, or NULL: the guest may select anything. */
static struct virtq *sel_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->nr_queues ? &d->vq[d->queue_sel] : NULL;
}

/* Queues are set up after FEATURES_OK and before DRIVER_OK (§3.1.1). */
static bool setup_phase(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	       !(d->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED |
			      VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffull) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static void enable_queue(struct virtio_dev *d, struct virtq *q)
{
	char why[160];

	if (virtq_check(q, d->gm, VIRTQ_MAX_SIZE)) {
		snprintf(why, sizeof(why),
			 "queue %u: size %u or rings (desc %#llx, avail %#llx, used %#llx) invalid",
			 d->queue_sel, q->num, (unsigned long long)q->desc_gpa,
			 (unsigned long long)q->avail_gpa, (unsigned long long)q->used_gpa);
		virtio_dev_fail(d, why);
		return;
	}
	q->event_idx = d->acked & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->last_avail = q->next_used = q->signalled_used = 0;
	q->signalled_valid = false;
	q->ready = true;
}

static void queue_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtq *q = sel_queue(d);

	if (!q || !setup_phase(d) || (q->ready && off != VIRTIO_MMIO_QUEUE_READY)) {
		log_ratelimited(LOG_WARN, "%s: queue register %#llx write ignored (queue %u%s, "
				"status %#x)", d->ops->name, (unsigned long long)off,
				d->queue_sel, q ? (q->ready ? " ready" : "") : " absent",
				d->status);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->num = v > UINT16_MAX ? 0 : (uint16_t)v; /* 0 fails QueueReady */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (v == 1 && !q->ready)
			enable_queue(d, q);
		else if (v == 0)
			q->ready = false;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_lo(&q->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_hi(&q->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: set_lo(&q->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: set_hi(&q->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: set_lo(&q->used_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: set_hi(&q->used_gpa, v); break;
	}
}

/* DriverFeatures(Sel) mean something only between DRIVER and FEATURES_OK. */
static void driver_features(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	if ((d->status & (VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
			  VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET)) !=
	    VIRTIO_CONFIG_S_DRIVER) {
		log_ratelimited(LOG_WARN, "%s: driver features write at status %#x ignored",
				d->ops->name, d->status);
		return;
	}
	if (off == VIRTIO_MMIO_DRIVER_FEATURES_SEL)
		d->drv_feat_sel = v;
	else if (d->drv_feat_sel == 0)
		set_lo(&d->acked, v);
	else if (d->drv_feat_sel == 1)
		set_hi(&d->acked, v);
	/* banks >= 2: nothing is offered there; the write means nothing */
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	struct virtq *q = sel_queue(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->dev_feat_sel > 1)
			return 0;
		return (uint32_t)(virtio_offered(d) >> (32 * d->dev_feat_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q && q->ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return d->isr;
	case VIRTIO_MMIO_STATUS: return d->status;
	/* No shared memory regions: length (and base) -1 says so (§4.2.2). */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH: return UINT32_MAX;
	case VIRTIO_MMIO_CONFIG_GENERATION: return d->config_gen;
	}
	return 0; /* write-only or reserved */
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: d->dev_feat_sel = v; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: driver_features(d, off, v); return;
	case VIRTIO_MMIO_QUEUE_SEL: d->queue_sel = v; return;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH: queue_write(d, off, v); return;
	/* Normally caught by the queue's ioeventfd; this is the fallback. */
	case VIRTIO_MMIO_QUEUE_NOTIFY: virtio_kick_locked(d, v); return;
	case VIRTIO_MMIO_INTERRUPT_ACK: d->isr &= ~v; return;
	case VIRTIO_MMIO_STATUS: virtio_set_status(d, v); return;
	case VIRTIO_MMIO_SHM_SEL: return; /* no regions; reads say so */
	}
	log_ratelimited(LOG_WARN, "%s: write %#x to read-only or reserved register %#llx ignored",
			d->ops->name, v, (unsigned long long)off);
}

/* Device config at 0x100: 8/16/32-bit accesses wholly inside config_size. */
static void config_io(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len,
		      bool is_write)
{
	uint32_t size = d->ops->config_size ? d->ops->config_size(d) : 0;

	if (size > CONFIG_MAX)
		size = CONFIG_MAX;
	if ((len != 1 && len != 2 && len != 4) || off > size || len > size - off) {
		log_ratelimited(LOG_WARN, "%s: config %s of %u bytes at %#llx ignored "
				"(config space %u bytes)", d->ops->name,
				is_write ? "write" : "read", len, (unsigned long long)off, size);
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		memset(data, 0, len);
		if (d->ops->config_read)
			d->ops->config_read(d, (uint32_t)off, data, len);
	} else if (d->ops->config_write) {
		d->ops->config_write(d, (uint32_t)off, data, len);
	} else {
		log_ratelimited(LOG_WARN, "%s: config write at %#llx to a read-only config",
				d->ops->name, (unsigned long long)off);
	}
}

void virtio_mmio_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_dev *d = ctx;
	uint32_t v;

	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		config_io(d, off - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || (off & 3)) {
		log_ratelimited(LOG_WARN, "%s: %u-byte %s at register %#llx ignored (aligned "
				"32-bit only)", d->ops->name, len, is_write ? "write" : "read",
				(unsigned long long)off);
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		memcpy(&v, data, 4);
		reg_write(d, off, le32toh(v));
	} else {
		v = htole32(reg_read(d, off));
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}
