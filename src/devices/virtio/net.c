/* virtio-net device model (virtio 1.x §5.1): features, config space, link
 * status, lifecycle, rate limiters, PATCH, metrics. TX is net_tx.c, RX
 * net_rx.c, the backends net_tap.c and net_comms.c. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "ember/log.h"
#include "ember/metrics.h"
#include "net_internal.h"

/* Checksum and TSO bits; the backend says which of them it can carry. */
#define F_OFFLOADS (NET_F(VIRTIO_NET_F_CSUM) | NET_F(VIRTIO_NET_F_GUEST_CSUM) | \
		    NET_F(VIRTIO_NET_F_GUEST_TSO4) | NET_F(VIRTIO_NET_F_GUEST_TSO6) | \
		    NET_F(VIRTIO_NET_F_HOST_TSO4) | NET_F(VIRTIO_NET_F_HOST_TSO6))
/* Config space up to and including mtu; speed/duplex/RSS are not offered. */
#define CONFIG_SIZE ((uint32_t)offsetof(struct virtio_net_config, speed))

bool net_live(const struct net_dev *n, unsigned q)
{
	const struct virtio_dev *d = &n->vdev;

	return (d->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)) ==
		       VIRTIO_CONFIG_S_DRIVER_OK &&
	       !d->broken && d->vq[q].ready;
}

static uint64_t features(struct virtio_dev *d)
{
	struct net_dev *n = d->priv;
	uint64_t f = NET_F(VIRTIO_F_VERSION_1) | NET_F(VIRTIO_RING_F_EVENT_IDX) |
		     NET_F(VIRTIO_NET_F_MRG_RXBUF) | NET_F(VIRTIO_NET_F_STATUS);

	f |= n->be->offloads(n) & F_OFFLOADS;
	if (n->has_mac)
		f |= NET_F(VIRTIO_NET_F_MAC);
	if (n->mtu)
		f |= NET_F(VIRTIO_NET_F_MTU);
	return f;
}

/* §5.1.3.1: an offload needs the checksum offload of its direction. */
static bool features_ok(struct virtio_dev *d, uint64_t acked)
{
	const uint64_t guest_gso = NET_F(VIRTIO_NET_F_GUEST_TSO4) | NET_F(VIRTIO_NET_F_GUEST_TSO6);
	const uint64_t host_gso = NET_F(VIRTIO_NET_F_HOST_TSO4) | NET_F(VIRTIO_NET_F_HOST_TSO6);

	if ((acked & guest_gso) && !(acked & NET_F(VIRTIO_NET_F_GUEST_CSUM)))
		return false;
	return !(acked & host_gso) || (acked & NET_F(VIRTIO_NET_F_CSUM));
}

static uint32_t config_size(struct virtio_dev *d)
{
	return CONFIG_SIZE;
}

static void config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct net_dev *n = d->priv;
	struct virtio_net_config cfg = {
		.status = htole16(n->link_up ? VIRTIO_NET_S_LINK_UP : 0),
		.max_virtqueue_pairs = htole16(1),
		.mtu = htole16(n->mtu),
	};

	if (n->has_mac)
		memcpy(cfg.mac, n->mac, sizeof(cfg.mac));
	memcpy(data, (uint8_t *)&cfg + off, len); /* the transport checked off+len */
}

/* VERSION_1 without CTRL_MAC_ADDR: the config space is read-only (a
 * legacy driver would write the MAC here). */
static void config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct net_dev *n = d->priv;

	n->st.cfg_fails++;
	log_ratelimited(LOG_WARN, "net '%s': config write of %u bytes at %u ignored", n->id, len,
			off);
}

static int activate(struct virtio_dev *d)
{
	struct net_dev *n = d->priv;
	int rc = n->be->activate(n, d->acked);

	if (rc) {
		n->st.activate_fails++;
		return rc;
	}
	n->tx_waiting = n->rx_waiting = false;
	net_rx_process(n); /* frames may have queued up before DRIVER_OK */
	return 0;
}

static void reset(struct virtio_dev *d)
{
	struct net_dev *n = d->priv;

	if (n->be->reset)
		n->be->reset(n);
	n->tx_waiting = n->rx_waiting = false;
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct net_dev *n = d->priv;

	if (q == NET_RXQ) {
		n->st.rx_queue_event_count++;
		if (rl_is_blocked(&n->rl[NET_RXQ]))
			n->st.rx_rate_limiter_throttled++;
		else
			net_rx_process(n);
		return;
	}
	n->st.tx_queue_event_count++;
	if (rl_is_blocked(&n->rl[NET_TXQ]))
		n->st.tx_rate_limiter_throttled++;
	else
		net_tx_process(n); /* a no-op while the backend is full */
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.features = features,
	.features_ok = features_ok,
	.config_size = config_size,
	.config_read = config_read,
	.config_write = config_write,
	.activate = activate,
	.reset = reset,
	.notify = notify,
};

void net_set_link(struct net_dev *n, bool up)
{
	struct virtio_dev *d = &n->vdev;

	if (n->link_up == up)
		return;
	n->link_up = up;
	if (up)
		n->st.link_up_count++;
	else
		n->st.link_down_count++;
	/* A driver that has not finished probing reads the status itself. */
	if ((d->status & VIRTIO_CONFIG_S_DRIVER_OK) && !d->broken)
		virtio_config_changed(d);
	else
		d->config_gen++;
	if (up && net_live(n, NET_TXQ))
		net_tx_process(n);
	if (up && net_live(n, NET_RXQ))
		net_rx_process(n);
}

/* The backend's header (a comms peer's is untrusted) against what the
 * driver negotiated, so that it never sees an offload it refused or a
 * checksum position outside the frame. */
bool net_rx_hdr_ok(const struct net_dev *n, const struct virtio_net_hdr_v1 *h, uint32_t len)
{
	uint64_t f = n->vdev.acked;

	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return false;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(f & NET_F(VIRTIO_NET_F_GUEST_CSUM)))
			return false;
		if ((uint32_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 > len)
			return false;
	}
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return (f & NET_F(VIRTIO_NET_F_GUEST_TSO4)) && h->gso_size;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return (f & NET_F(VIRTIO_NET_F_GUEST_TSO6)) && h->gso_size;
	}
	return false; /* UFO, ECN, anything else: not negotiable here */
}

/* A rate limiter's timerfd fired: go on where it stopped us. */
static void rl_event(struct evloop_handler *h, uint32_t events)
{
	struct net_dev *n = h->ctx;
	unsigned q = h == &n->rl_h[NET_RXQ] ? NET_RXQ : NET_TXQ;

	pthread_mutex_lock(&n->vdev.lock);
	if (q == NET_RXQ)
		n->st.rx_event_rate_limiter_count++;
	else
		n->st.tx_rate_limiter_event_count++;
	if (rl_timer_event(&n->rl[q]) && net_live(n, q)) {
		if (q == NET_RXQ)
			net_rx_process(n);
		else
			net_tx_process(n);
	}
	pthread_mutex_unlock(&n->vdev.lock);
}

static int add_rl_handlers(struct net_dev *n)
{
	int rc;

	for (unsigned q = 0; q < 2; q++)
		n->rl_h[q] = (struct evloop_handler){ .fd = rl_timer_fd(&n->rl[q]), .fn = rl_event,
						      .ctx = n };
	if (!n->loop)
		return 0;
	rc = evloop_add(n->loop, &n->rl_h[0], EPOLLIN);
	if (rc)
		return rc;
	rc = evloop_add(n->loop, &n->rl_h[1], EPOLLIN);
	if (rc) {
		evloop_del(n->loop, &n->rl_h[0]);
		return rc;
	}
	n->rl_added = true;
	return 0;
}

static void del_rl_handlers(struct net_dev *n)
{
	if (!n->rl_added)
		return;
	evloop_del(n->loop, &n->rl_h[0]);
	evloop_del(n->loop, &n->rl_h[1]);
	n->rl_added = false;
}

static int init_state(struct net_dev *n, const struct res_net *cfg)
{
	int rc;

	n->id = strdup(cfg->id ? cfg->id : "");
	if (!n->id)
		return -ENOMEM;
	n->has_mac = cfg->has_mac;
	memcpy(n->mac, cfg->mac, sizeof(n->mac));
	n->mtu = cfg->mtu;
	rc = rl_init(&n->rl[NET_RXQ], &cfg->rx);
	if (rc)
		goto err_id;
	rc = rl_init(&n->rl[NET_TXQ], &cfg->tx);
	if (rc)
		goto err_rx;
	return 0;
err_rx:
	rl_destroy(&n->rl[NET_RXQ]);
err_id:
	free(n->id);
	return rc;
}

static void free_state(struct net_dev *n)
{
	rl_destroy(&n->rl[NET_TXQ]);
	rl_destroy(&n->rl[NET_RXQ]);
	free(n->id);
	free(n);
}

int net_create(struct net_dev **out, const struct res_net *cfg, struct guest_mem *gm,
	       struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd)
{
	struct net_dev *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return -ENOMEM;
	n->loop = loop;
	rc = init_state(n, cfg);
	if (rc) {
		free(n);
		return rc;
	}
	rc = virtio_dev_init(&n->vdev, &net_ops, n, gm, mmio_base, irq, irq_fd);
	if (rc)
		goto err_state;
	rc = cfg->comms_socket ? net_comms_open(n, cfg) : net_tap_open(n, cfg);
	if (rc)
		goto err_dev;
	rc = add_rl_handlers(n);
	if (rc)
		goto err_be;
	*out = n;
	return 0;
err_be:
	n->be->destroy(n);
err_dev:
	virtio_dev_destroy(&n->vdev);
err_state:
	free_state(n);
	return rc;
}

struct virtio_dev *net_virtio(struct net_dev *n)
{
	return &n->vdev;
}

int net_patch(struct net_dev *n, const struct res_net_update *u)
{
	int rc;

	pthread_mutex_lock(&n->vdev.lock);
	rc = rl_update(&n->rl[NET_RXQ], &u->rx);
	if (!rc)
		rc = rl_update(&n->rl[NET_TXQ], &u->tx);
	pthread_mutex_unlock(&n->vdev.lock);
	return rc;
}

void net_get_stats(struct net_dev *n, struct net_stats *out)
{
	pthread_mutex_lock(&n->vdev.lock);
	*out = n->st;
	pthread_mutex_unlock(&n->vdev.lock);
}

void net_add_metrics(struct net_dev *n, struct metrics *m)
{
	struct net_stats s;

	net_get_stats(n, &s);
#define ADD_(f) m->net.f += s.f;
	NET_STATS(ADD_)
#undef ADD_
}

void net_destroy(struct net_dev *n)
{
	if (!n)
		return;
	del_rl_handlers(n);
	pthread_mutex_lock(&n->vdev.lock);
	n->be->destroy(n);
	pthread_mutex_unlock(&n->vdev.lock);
	virtio_dev_destroy(&n->vdev);
	free_state(n);
}
