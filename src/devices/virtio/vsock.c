/* virtio-vsock (virtio 1.x §5.10): the device model. TX chains are parsed
 * and checked (vsock_pkt.c) and handed to the muxer; RX buffers are filled
 * with whatever the muxer owes the guest: control packets, stateless RSTs
 * and host data read straight into the buffer. The event queue only holds
 * the driver's buffers: ember has no migration, so it never needs
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/resources.h"
#include "ember/virtio.h"
#include "ember/virtio_vsock.h"
#include "vsock_internal.h"

enum { Q_RX, Q_TX, Q_EVENT, NR_QUEUES };

struct vsock_dev {
	struct virtio_dev vdev;
	uint64_t cid;
	struct vsock_muxer *mux;
	struct vsock_stats st;
	struct virtq_chain chain; /* scratch for virtq_pop (too big for the stack) */
};

static bool live(const struct vsock_dev *v, unsigned q)
{
	const struct virtio_dev *d = &v->vdev;

	return (d->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)) ==
		       VIRTIO_CONFIG_S_DRIVER_OK &&
	       !d->broken && d->vq[q].ready;
}

static bool rx_can_pop(void *ctx)
{
	struct vsock_dev *v = ctx;

	return vsock_mux_rx_pending(v->mux);
}

static int rx_chain(void *ctx, struct virtq_chain *c)
{
	struct vsock_dev *v = ctx;
	uint32_t space = 0, len = 0;

	if (vsock_pkt_rx_space(c, &space)) {
		log_ratelimited(LOG_WARN, "vsock: RX buffer at head %u is readable or shorter "
				"than a header", c->head);
		v->st.rx_queue_event_fails++;
	} else {
		len = vsock_mux_rx_fill(v->mux, c, space);
		if (!len)
			return VIRTIO_RETRY; /* nothing after all: keep the buffer */
	}
	if (virtq_push(&v->vdev.vq[Q_RX], v->vdev.gm, c->head, len))
		return VIRTIO_STOP;
	return VIRTIO_NEXT;
}

/* Give the guest everything owed while it has RX buffers. */
static void rx_process(void *ctx)
{
	struct vsock_dev *v = ctx;

	if (live(v, Q_RX) &&
	    virtio_serve_queue(&v->vdev, Q_RX, &v->chain, rx_can_pop, rx_chain, v))
		virtio_notify_queue(&v->vdev, Q_RX);
}

static void tx_packet(struct vsock_dev *v, const struct virtq_chain *c)
{
	struct virtio_vsock_hdr raw;
	struct vsock_pkt p;
	uint32_t data_len;
	const char *why = "readable part shorter than a header, or device-writable";
	enum vsock_verdict verdict = VSOCK_PKT_DROP;

	if (!vsock_pkt_read_hdr(c, &raw, &data_len)) {
		vsock_pkt_decode(&raw, &p);
		verdict = vsock_pkt_check(&p, data_len, v->cid, &why);
	}
	if (verdict != VSOCK_PKT_OK) {
		log_ratelimited(LOG_WARN, "vsock: TX packet at head %u %s: %s", c->head,
				verdict == VSOCK_PKT_RST ? "reset" : "dropped", why);
		v->st.tx_queue_event_fails++;
		if (verdict == VSOCK_PKT_RST)
			vsock_mux_reject(v->mux, &p);
		return;
	}
	v->st.tx_packets_count++;
	v->st.tx_bytes_count += p.len;
	vsock_mux_recv(v->mux, &p, c);
}

static int tx_chain(void *ctx, struct virtq_chain *c)
{
	struct vsock_dev *v = ctx;

	tx_packet(v, c);
	/* the device writes nothing into a TX buffer */
	return virtq_push(&v->vdev.vq[Q_TX], v->vdev.gm, c->head, 0) ? VIRTIO_STOP : VIRTIO_NEXT;
}

static void tx_process(struct vsock_dev *v)
{
	if (virtio_serve_queue(&v->vdev, Q_TX, &v->chain, NULL, tx_chain, v))
		virtio_notify_queue(&v->vdev, Q_TX);
}

static uint64_t vsock_features(struct virtio_dev *d)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX;
}

static uint32_t vsock_config_size(struct virtio_dev *d)
{
	return sizeof(struct virtio_vsock_config);
}

static void vsock_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vsock_dev *v = d->priv;
	struct virtio_vsock_config cfg = { .guest_cid = htole64(v->cid) };

	memcpy(data, (uint8_t *)&cfg + off, len); /* the transport checked off + len */
}

static void vsock_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			       uint32_t len)
{
	struct vsock_dev *v = d->priv;

	v->st.cfg_fails++;
	log_ratelimited(LOG_WARN, "vsock: config write at %u ignored: guest_cid is read-only",
			off);
}

static int vsock_activate(struct virtio_dev *d)
{
	/* host clients may have asked for the guest before it was ready */
	rx_process(d->priv);
	return 0;
}

static void vsock_reset(struct virtio_dev *d)
{
	struct vsock_dev *v = d->priv;

	vsock_mux_reset(v->mux);
}

static void vsock_notify(struct virtio_dev *d, unsigned q)
{
	struct vsock_dev *v = d->priv;

	switch (q) {
	case Q_RX:
		v->st.rx_queue_event_count++;
		break;
	case Q_TX:
		v->st.tx_queue_event_count++;
		tx_process(v);
		break;
	default: /* event buffers: kept for an event ember never sends */
		return;
	}
	rx_process(v);
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = NR_QUEUES,
	.features = vsock_features,
	.config_size = vsock_config_size,
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.notify = vsock_notify,
};

int vsock_create(struct vsock_dev **out, const struct res_vsock *cfg, struct guest_mem *gm,
		 struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd)
{
	struct vsock_dev *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	v->cid = cfg->guest_cid;
	rc = virtio_dev_init(&v->vdev, &vsock_ops, v, gm, mmio_base, irq, irq_fd);
	if (rc)
		goto err_free;
	rc = vsock_mux_create(&v->mux, cfg->uds_path, v->cid, loop, &v->st, &v->vdev.lock,
			      rx_process, v);
	if (rc)
		goto err_dev;
	*out = v;
	return 0;
err_dev:
	virtio_dev_destroy(&v->vdev);
err_free:
	free(v);
	return rc;
}

struct virtio_dev *vsock_virtio(struct vsock_dev *v)
{
	return &v->vdev;
}

void vsock_get_stats(struct vsock_dev *v, struct vsock_stats *out)
{
	pthread_mutex_lock(&v->vdev.lock);
	*out = v->st;
	pthread_mutex_unlock(&v->vdev.lock);
}

unsigned vsock_nr_conns(struct vsock_dev *v)
{
	unsigned n;

	pthread_mutex_lock(&v->vdev.lock);
	n = vsock_mux_nr_conns(v->mux);
	pthread_mutex_unlock(&v->vdev.lock);
	return n;
}

void vsock_add_metrics(struct vsock_dev *v, struct metrics *m)
{
	struct vsock_stats s;

	vsock_get_stats(v, &s);
#define ADD(f) m->vsock.f += s.f
	ADD(activate_fails); ADD(cfg_fails); ADD(rx_queue_event_fails);
	ADD(tx_queue_event_fails); ADD(ev_queue_event_fails); ADD(muxer_event_fails);
	ADD(conn_event_fails); ADD(rx_queue_event_count); ADD(tx_queue_event_count);
	ADD(rx_bytes_count); ADD(tx_bytes_count); ADD(rx_packets_count);
	ADD(tx_packets_count); ADD(conns_added); ADD(conns_killed); ADD(conns_removed);
	ADD(killq_resync); ADD(tx_flush_fails); ADD(tx_write_fails); ADD(rx_read_fails);
#undef ADD
}

void vsock_destroy(struct vsock_dev *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->vdev.lock);
	vsock_mux_destroy(v->mux);
	pthread_mutex_unlock(&v->vdev.lock);
	virtio_dev_destroy(&v->vdev);
	free(v);
}
