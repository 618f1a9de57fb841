/* The comms ring backend (docs/comms-ring.md): a link to a peer such as
 * ember-switch through its control socket (comms_socket), made when the
 * device is created so that InstanceStart fails if nobody answers.
 *
 * Frames go out with ring_tx_frame() and are published once per TX batch
 * (one doorbell write at most, and none when the peer is awake). RX runs
 * on the link's doorbell: frames are copied from the ring straight into
 * the guest's buffers, consumed slots published in batches; when the ring
 * is empty we say we may sleep (need_kick) with the re-check that loses no
 * wake-up. When the ring is full, TX chains stay in the guest's ring
 * (VIRTIO_RETRY): after a spin of at most TX_SPIN_NS we ask the peer to
 * kick us when it frees space; nothing here waits without bound.
 *
 * The peer is untrusted: a hang-up or any message on the control socket,
 * or a ring it corrupted (-EPROTO), takes the link down: LINK_UP cleared
 * with a config interrupt, the link closed, and comms_connect() retried
 * every RECONNECT_MS from a timerfd; success sets LINK_UP again. Frames
 * the guest sends meanwhile are dropped and counted in tx_fails. The first
 * handshake (at InstanceStart) runs on the VMM thread; reconnects run on a
 * short-lived thread (net_comms_link.c), so a stalling peer holds neither
 * the VMM thread nor the vCPUs.
 *
 * Offloads: the virtio features offered follow what the peer agreed to at
 * creation (COMMS_F_CSUM -> CSUM/GUEST_CSUM, COMMS_F_GSO -> TSO both
 * ways). A driver that takes less makes us reconnect asking for less, so
 * the peer never sends what the guest cannot take. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ember/comms_ctl.h"
#include "ember/log.h"
#include "net_comms_internal.h"

#define TX_SPIN_NS 2000	    /* the recommended spin budget; a wake-up costs ~25 us here */
#define RX_PUBLISH_EVERY 32 /* consumed frames between publishing the index */

static uint64_t comms_offloads(struct net_dev *n)
{
	uint32_t f = co(n)->created_feat;
	uint64_t v = 0;

	if (!(f & COMMS_F_CSUM))
		return 0; /* TSO needs the checksum offload of its direction */
	v = NET_F(VIRTIO_NET_F_CSUM) | NET_F(VIRTIO_NET_F_GUEST_CSUM);
	if (f & COMMS_F_GSO)
		v |= NET_F(VIRTIO_NET_F_GUEST_TSO4) | NET_F(VIRTIO_NET_F_GUEST_TSO6) |
		     NET_F(VIRTIO_NET_F_HOST_TSO4) | NET_F(VIRTIO_NET_F_HOST_TSO6);
	return v;
}

/* What the guest can receive, as link features. */
static uint32_t feat_from_acked(uint64_t acked)
{
	const uint64_t tso = NET_F(VIRTIO_NET_F_GUEST_TSO4) | NET_F(VIRTIO_NET_F_GUEST_TSO6);
	uint32_t f = 0;

	if (acked & NET_F(VIRTIO_NET_F_GUEST_CSUM))
		f |= COMMS_F_CSUM;
	if ((acked & tso) == tso)
		f |= COMMS_F_GSO;
	return f;
}

void net_comms_arm_timer(struct comms *c, long first_ns, long period_ns)
{
	struct itimerspec its = {
		.it_value = { first_ns / 1000000000L, first_ns % 1000000000L },
		.it_interval = { period_ns / 1000000000L, period_ns % 1000000000L },
	};

	if (timerfd_settime(c->timer_fd, 0, &its, NULL) < 0)
		log_err("comms: timerfd_settime: %s", strerror(errno));
}

void net_comms_del_handlers(struct net_dev *n)
{
	struct comms *c = co(n);

	if (c->bell_added)
		evloop_del(n->loop, &c->bell_h);
	if (c->ctl_added)
		evloop_del(n->loop, &c->ctl_h);
	c->bell_added = c->ctl_added = false;
}

void net_comms_link_lost(struct net_dev *n, const char *why, long first_ns, bool quiet)
{
	struct comms *c = co(n);

	if (!c->up)
		return;
	if (quiet)
		log_info("net '%s': comms link to %s remade: %s", n->id, c->path, why);
	else
		log_ratelimited(LOG_WARN, "net '%s': comms link to %s down: %s", n->id, c->path,
				why);
	net_comms_del_handlers(n);
	comms_link_close(&c->link, why);
	c->up = c->held = c->tx_sleeping = false;
	c->unpublished = 0;
	c->remaking = quiet;
	n->tx_waiting = false;
	if (!quiet)
		net_set_link(n, false);
	net_comms_arm_timer(c, first_ns, RECONNECT_NS);
}

static void publish_rx(struct comms *c)
{
	c->unpublished = 0;
	if (ring_rx_publish(&c->link.rx))
		comms_kick(&c->link); /* the peer waits for space */
}

/* --- TX --------------------------------------------------------------- */

/* Offloads the link does not carry cannot be passed on. */
static bool link_takes(const struct comms *c, const struct virtio_net_hdr_v1 *h)
{
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(c->link.p.features & COMMS_F_CSUM))
		return false;
	return h->gso_type == VIRTIO_NET_HDR_GSO_NONE || (c->link.p.features & COMMS_F_GSO);
}

static int comms_tx(struct net_dev *n, const struct virtio_net_hdr_v1 *h,
		    const struct iovec *iov, int iovcnt, size_t len)
{
	struct comms *c = co(n);
	struct ring_vnet_hdr rh;
	int rc;

	if (!c->up && c->remaking)
		return -EAGAIN; /* back in a moment: the chains wait in the guest's ring */
	if (!c->up || !link_takes(c, h)) {
		n->st.tx_fails++;
		if (c->up)
			log_ratelimited(LOG_WARN, "net '%s': frame with offloads the comms link "
					"does not carry dropped", n->id);
		return c->up ? -EOPNOTSUPP : -ENOTCONN;
	}
	memcpy(&rh, h, sizeof(rh));
	rc = ring_tx_frame(&c->link.tx, &rh, iov, iovcnt, len);
	if (rc == -ENOSPC)
		return -EAGAIN;
	if (rc) {
		n->st.tx_fails++;
		if (rc == -EPROTO)
			net_comms_link_lost(n, "peer corrupted the TX ring", RECONNECT_NS, false);
	}
	return rc;
}

static void comms_tx_flush(struct net_dev *n)
{
	struct comms *c = co(n);

	if (c->up && ring_tx_publish(&c->link.tx))
		comms_kick(&c->link);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The peer is usually draining already: a short spin saves the ~25 us of
 * a wake-up. Bounded, because on 2 cores the vCPUs need the CPU too. */
static bool spin_for_space(struct comms *c)
{
	uint64_t end = now_ns() + TX_SPIN_NS;

	do {
		if (ring_tx_space(&c->link.tx) >= c->link.tx.want)
			return true;
		__builtin_ia32_pause();
	} while (now_ns() < end);
	return false;
}

static bool comms_tx_wait(struct net_dev *n, bool may_retry)
{
	struct comms *c = co(n);
	uint64_t one = 1;

	if (!c->up && c->remaking) {
		c->tx_sleeping = true; /* the new link resumes TX */
		return false;
	}
	if (!c->up)
		return may_retry; /* the retry drops and counts */
	comms_tx_flush(n); /* the peer frees nothing it has not seen */
	if (may_retry && spin_for_space(c))
		return true;
	if (ring_tx_want_space(&c->link.tx)) {
		if (may_retry)
			return true;
		/* Our own doorbell brings us back through the loop. */
		if (write(c->link.doorbell_rx, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_ratelimited(LOG_WARN, "comms: self-kick: %s", strerror(errno));
	}
	c->tx_sleeping = true;
	return false;
}

/* --- RX --------------------------------------------------------------- */

static int comms_rx_peek(struct net_dev *n, struct net_frame *f)
{
	struct comms *c = co(n);

	while (c->up && !c->held) {
		int rc = ring_rx_peek(&c->link.rx, &c->cur);

		if (rc < 0) {
			n->st.rx_fails++;
			net_comms_link_lost(n, "peer corrupted the RX ring", RECONNECT_NS, false);
			return rc;
		}
		if (rc == 1) {
			c->held = true;
			break;
		}
		/* Empty: free the slots, then sleep unless frames raced in. */
		publish_rx(c);
		if (ring_rx_prepare_sleep(&c->link.rx))
			return 0;
	}
	if (!c->up)
		return 0;
	f->len = c->cur.len;
	memcpy(&f->hdr, &c->cur.hdr, sizeof(f->hdr));
	return 1;
}

static size_t comms_rx_copy(struct net_dev *n, size_t off, void *dst, size_t len)
{
	struct comms *c = co(n);

	return c->held ? ring_rx_copy(&c->link.rx, &c->cur, off, dst, len) : 0;
}

static void comms_rx_consume(struct net_dev *n)
{
	struct comms *c = co(n);

	if (!c->held)
		return;
	ring_rx_consume(&c->link.rx, &c->cur);
	c->held = false;
	if (++c->unpublished >= RX_PUBLISH_EVERY)
		publish_rx(c);
}

/* The guest's kick or the rate limiter's timer brings us back: no kicks
 * from the peer meanwhile. */
static void comms_rx_stall(struct net_dev *n)
{
	struct comms *c = co(n);

	if (!c->up)
		return;
	publish_rx(c);
	ring_rx_awake(&c->link.rx);
}

/* Budget spent: free the slots and kick our own doorbell, so the loop
 * serves the rest after its other handlers. */
static void comms_rx_more(struct net_dev *n)
{
	struct comms *c = co(n);
	uint64_t one = 1;

	if (!c->up)
		return;
	publish_rx(c);
	if (write(c->link.doorbell_rx, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "net '%s': self-kick: %s", n->id, strerror(errno));
}

/* --- lifecycle ---------------------------------------------------------- */

static int comms_activate(struct net_dev *n, uint64_t acked)
{
	struct comms *c = co(n);

	c->want.features = feat_from_acked(acked);
	/* The peer may send what this driver cannot take: ask again for less,
	 * at once and without showing the guest a link flap. */
	if (c->up && (c->link.p.features & ~c->want.features))
		net_comms_link_lost(n, "fewer offloads for the guest's driver", 1, true);
	return 0;
}

static void comms_reset(struct net_dev *n)
{
	struct comms *c = co(n);

	if (c->up && c->tx_sleeping) {
		ring_tx_space_done(&c->link.tx); /* or the peer kicks us for nothing */
		c->tx_sleeping = false;
	}
}

static void comms_destroy(struct net_dev *n)
{
	struct comms *c = co(n);

	net_comms_del_handlers(n);
	if (c->timer_added)
		evloop_del(n->loop, &c->timer_h);
	net_comms_attempt_end(n, false);
	if (c->up)
		comms_link_close(&c->link, "interface removed");
	close(c->timer_fd);
	free(c->path);
	free(c);
	n->be_priv = NULL;
}

const struct net_backend_ops net_comms_ops = {
	.name = "comms",
	.offloads = comms_offloads,
	.activate = comms_activate,
	.reset = comms_reset,
	.tx = comms_tx,
	.tx_flush = comms_tx_flush,
	.tx_wait = comms_tx_wait,
	.tx_drops_spoofed = true,
	.rx_peek = comms_rx_peek,
	.rx_copy = comms_rx_copy,
	.rx_consume = comms_rx_consume,
	.rx_stall = comms_rx_stall,
	.rx_more = comms_rx_more,
	.destroy = comms_destroy,
};
