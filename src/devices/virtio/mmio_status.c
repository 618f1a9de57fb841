/* virtio device status state machine (virtio 1.x §2.1, §3.1), feature
 * negotiation, reset, interrupts and the broken state. The register file
 * is mmio.c; everything here runs with d->lock held, and the ops callbacks
 * it makes (features_ok, activate, reset, notify) run under it too. */
#include "ember/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "ember/log.h"
#include "mmio_internal.h"

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_FEAT_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED VIRTIO_CONFIG_S_FAILED
#define S_ALL (S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK | S_NEEDS_RESET | S_FAILED)

#define F_VERSION_1 (1ull << VIRTIO_F_VERSION_1)
#define F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
/* Transport feature bits 24..40: ember implements EVENT_IDX and VERSION_1
 * only (no INDIRECT, packed rings, notification data, queue reset ...). */
#define F_TRANSPORT (((1ull << (VIRTIO_TRANSPORT_F_END + 1)) - 1) & ~((1ull << 24) - 1))

bool virtio_status_allowed(uint32_t from, uint32_t to)
{
	uint32_t added;

	if (to == 0)
		return true; /* reset, from anything */
	/* NEEDS_RESET is the device's bit: the driver may not set it, and
	 * leaving it out of a write does not clear it. */
	if ((to & S_NEEDS_RESET) && !(from & S_NEEDS_RESET))
		return false;
	to |= from & S_NEEDS_RESET;
	if ((to & ~S_ALL) || (to & from) != from)
		return false; /* unknown bits, or bits removed */
	added = to & ~from;
	if (!added || added == S_FAILED)
		return true; /* a rewrite, or giving up: any time */
	if (from & (S_FAILED | S_NEEDS_RESET))
		return false; /* only reset gets out of these */
	switch (added) {
	case S_ACK:
		return from == 0;
	case S_DRIVER:
		return from == S_ACK;
	case S_FEAT_OK:
		return from == (S_ACK | S_DRIVER);
	case S_DRIVER_OK:
		return from == (S_ACK | S_DRIVER | S_FEAT_OK);
	}
	return false; /* several steps at once */
}

uint64_t virtio_offered(struct virtio_dev *d)
{
	uint64_t f = d->ops->features ? d->ops->features(d) : 0;

	return (f & (~F_TRANSPORT | F_EVENT_IDX)) | F_VERSION_1;
}

/* FEATURES_OK: the device keeps the bit clear (the driver sees the refusal
 * on its re-read) unless the acked set is acceptable. */
static bool features_acceptable(struct virtio_dev *d)
{
	uint64_t extra = d->acked & ~virtio_offered(d);

	if (!(d->acked & F_VERSION_1) || extra) {
		log_ratelimited(LOG_WARN, "%s: FEATURES_OK refused: acked %#llx (%s)",
				d->ops->name, (unsigned long long)d->acked,
				extra ? "features not offered" : "no VERSION_1");
		return false;
	}
	if (d->ops->features_ok && !d->ops->features_ok(d, d->acked)) {
		log_ratelimited(LOG_WARN, "%s: FEATURES_OK refused by the device: acked %#llx",
				d->ops->name, (unsigned long long)d->acked);
		return false;
	}
	return true;
}

static void reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->vq[i]);
	/* config_gen survives: it only has to change when the config does. */
	d->status = d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	d->acked = 0;
	d->isr = 0;
	d->broken = false;
}

static void activate(struct virtio_dev *d)
{
	int rc = d->ops->activate ? d->ops->activate(d) : 0;
	char why[96];

	if (rc) {
		snprintf(why, sizeof(why), "activation failed: %s", strerror(-rc));
		virtio_dev_fail(d, why);
	}
}

void virtio_set_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t added;

	if (!v) {
		reset(d);
		return;
	}
	if (!virtio_status_allowed(d->status, v)) {
		log_ratelimited(LOG_WARN, "%s: status %#x -> %#x not allowed, ignored",
				d->ops->name, d->status, v);
		return;
	}
	added = v & ~d->status & ~S_NEEDS_RESET;
	if (added == S_FEAT_OK && !features_acceptable(d))
		return;
	d->status |= added;
	if (added == S_DRIVER_OK)
		activate(d);
}

void virtio_irq(struct virtio_dev *d, uint32_t bits)
{
	uint64_t one = 1;

	d->isr |= bits;
	if (d->irq_fd < 0)
		return;
	/* A failed write only loses this edge (EAGAIN: the counter is full,
	 * so an interrupt is pending anyway). */
	if (write(d->irq_fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
		log_ratelimited(LOG_ERROR, "%s: write to irq eventfd: %s", d->ops->name,
				strerror(errno));
}

void virtio_notify_queue(struct virtio_dev *d, unsigned q)
{
	if (q >= d->ops->nr_queues || d->broken || !d->vq[q].ready)
		return;
	if (virtq_should_notify(&d->vq[q], d->gm))
		virtio_irq(d, VIRTIO_MMIO_INT_VRING);
}

void virtio_config_changed(struct virtio_dev *d)
{
	d->config_gen++;
	virtio_irq(d, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_dev_fail(struct virtio_dev *d, const char *why)
{
	log_ratelimited(LOG_WARN, "%s: device broken, needs reset: %s", d->ops->name, why);
	if (d->broken)
		return;
	d->broken = true;
	d->status |= S_NEEDS_RESET;
	virtio_irq(d, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_kick_locked(struct virtio_dev *d, uint64_t q)
{
	if (q >= d->ops->nr_queues || !d->vq[q].ready || d->broken ||
	    (d->status & (S_DRIVER_OK | S_FAILED)) != S_DRIVER_OK) {
		log_ratelimited(LOG_DEBUG, "%s: notify for queue %llu ignored (status %#x%s)",
				d->ops->name, (unsigned long long)q, d->status,
				d->broken ? ", broken" : "");
		return;
	}
	if (d->ops->notify)
		d->ops->notify(d, (unsigned)q);
}

void virtio_queue_kick(struct virtio_dev *d, unsigned q)
{
	pthread_mutex_lock(&d->lock);
	virtio_kick_locked(d, q);
	pthread_mutex_unlock(&d->lock);
}

void virtio_kick_handler(struct evloop_handler *h, uint32_t events)
{
	struct virtio_dev *d = h->ctx;
	uint64_t n;

	/* Drain first: a kick arriving while notify runs re-arms the fd. */
	if (read(h->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_ERROR, "%s: read of ioeventfd: %s", d->ops->name,
				strerror(errno));
	virtio_queue_kick(d, (unsigned)(h - d->kick));
}
