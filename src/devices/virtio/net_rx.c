/* virtio-net RX (virtio 1.x §5.1.6.3-4): frames from the backend into the
 * driver's receive buffers on queue 0, virtio_net_hdr_v1 first.
 *
 * With MRG_RXBUF a frame may span several chains: they are gathered until
 * they hold it, written, and published with one used.idx store, so the
 * driver never sees the first buffer (whose num_buffers promises the rest)
 * before the others. Without it one chain holds one frame and must be big
 * enough (the driver posts 64 KiB + header buffers when it takes TSO).
 *
 * A frame that cannot fit is dropped and counted in rx_fails; the chains
 * stay with the driver for the next one (every chain popped for a frame
 * that cannot go yet is put back, in order). A chain the device cannot
 * write (a readable descriptor, no room for the header) is handed back
 * with used.len 0 just before the next frame's chains, and counted. Frames the driver did not negotiate (GSO without
 * GUEST_TSO, NEEDS_CSUM without GUEST_CSUM) are dropped and counted. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "ember/log.h"
#include "net_internal.h"

static bool mrg(const struct net_dev *n)
{
	return n->vdev.acked & NET_F(VIRTIO_NET_F_MRG_RXBUF);
}

/* Writable bytes of n->chain, or 0 if it has a readable segment. */
static uint64_t chain_room(const struct virtq_chain *c)
{
	uint64_t room = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (!c->seg[i].write)
			return 0;
		room += c->seg[i].len;
	}
	return room;
}

/* A chain we cannot use: it goes back to the driver empty, with the frame
 * (so that a failed attempt can still put every popped chain back). */
static void bad_chain(struct net_dev *n, const char *why)
{
	struct net_rx_gather *g = &n->rx;

	log_ratelimited(LOG_WARN, "net '%s': RX chain at head %u %s: returned unused", n->id,
			n->chain.head, why);
	g->bad[g->nbad++] = n->chain.head;
	g->ndesc += n->chain.n;
}

/* Add n->chain to the gather list; false if the list has no room for it. */
static bool gather_add(struct net_dev *n, uint64_t room)
{
	struct net_rx_gather *g = &n->rx;
	const struct virtq_chain *c = &n->chain;

	if (g->nchains >= n->vdev.vq[NET_RXQ].num || g->niov + c->n > VIRTQ_MAX_SIZE)
		return false;
	for (unsigned i = 0; i < c->n; i++) {
		if (!c->seg[i].len)
			continue;
		g->iov[g->niov] = (struct iovec){ c->seg[i].host, c->seg[i].len };
		g->iov_chain[g->niov++] = g->nchains;
	}
	g->ndesc += c->n;
	g->head[g->nchains] = c->head;
	g->used[g->nchains++] = 0;
	g->cap = room > UINT32_MAX - g->cap ? UINT32_MAX : g->cap + (uint32_t)room;
	return true;
}

/* Every chain popped for this frame back to the avail ring, in order. */
static void unpop_all(struct net_dev *n)
{
	for (unsigned i = 0; i < n->rx.nchains + n->rx.nbad; i++)
		virtq_unpop(&n->vdev.vq[NET_RXQ]);
	n->rx.nchains = n->rx.nbad = 0;
}

/* Chains holding `need` bytes into n->rx: 0, -EAGAIN (the driver has not
 * posted enough yet), -EMSGSIZE (it never can: drop the frame), -EPROTO
 * (ring broken; the device is failed). */
static int gather(struct net_dev *n, uint32_t need)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *q = &d->vq[NET_RXQ];
	bool rechecked = false;

	n->rx.nchains = n->rx.niov = n->rx.ndesc = n->rx.nbad = n->rx.cap = 0;
	while (n->rx.cap < need) {
		if (n->rx.nchains && !mrg(n))
			return -EMSGSIZE; /* one chain per frame, and it is too small */
		if (n->rx.nchains + n->rx.nbad >= q->num)
			return -EMSGSIZE; /* a whole ring's worth popped */
		int rc = virtq_pop(q, d->gm, &n->chain);

		if (rc < 0) {
			virtio_dev_fail(d, "malformed RX avail ring or descriptor chain");
			return -EPROTO;
		}
		if (rc == 0) {
			/* Ask for a kick when buffers come, then look once more. */
			if (!rechecked && virtq_enable_notify(q, d->gm)) {
				rechecked = true;
				continue;
			}
			/* Holding every descriptor of the ring, we wait for nothing. */
			return n->rx.ndesc >= q->num ? -EMSGSIZE : -EAGAIN;
		}
		uint64_t room = chain_room(&n->chain);

		if (!room || (!n->rx.nchains && room < NET_HDR_LEN)) {
			bad_chain(n, room ? "too short for the header" : "not device-writable");
			continue;
		}
		if (!gather_add(n, room)) {
			virtq_unpop(q);
			return -EMSGSIZE;
		}
	}
	return 0;
}

/* Copy into the gathered buffers at byte `off`: from `src` when non-NULL,
 * else from the backend's frame at `foff`. Returns the bytes written. */
static uint32_t put(struct net_dev *n, uint32_t off, const void *src, size_t foff, uint32_t len)
{
	struct net_rx_gather *g = &n->rx;
	uint32_t done = 0;

	for (unsigned i = 0; i < g->niov && done < len; i++) {
		size_t il = g->iov[i].iov_len;

		if (off >= il) {
			off -= (uint32_t)il;
			continue;
		}
		size_t k = il - off < len - done ? il - off : len - done;
		uint8_t *dst = (uint8_t *)g->iov[i].iov_base + off;

		if (src)
			memcpy(dst, (const uint8_t *)src + done, k);
		else
			k = n->be->rx_copy(n, foff + done, dst, k);
		g->used[g->iov_chain[i]] += (uint32_t)k;
		done += (uint32_t)k;
		off = 0;
		if (!k)
			break; /* the backend had less than it said */
	}
	return done;
}

/* The unusable chains first (used.len 0), then the frame's, with one
 * used.idx store: the driver reads the frame's buffers consecutively. */
static int publish(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;
	struct net_rx_gather *g = &n->rx;
	unsigned nb = g->nbad, nc = g->nchains;

	memmove(&g->head[nb], g->head, nc * sizeof(g->head[0]));
	memmove(&g->used[nb], g->used, nc * sizeof(g->used[0]));
	for (unsigned i = 0; i < nb; i++) {
		g->head[i] = g->bad[i];
		g->used[i] = 0;
	}
	n->st.rx_fails += nb;
	if (virtq_push_n(&d->vq[NET_RXQ], d->gm, g->head, g->used, nb + nc)) {
		log_ratelimited(LOG_ERROR, "net '%s': could not publish %u used RX chains", n->id,
				nb + nc);
		return -EPROTO;
	}
	return 0;
}

/* One frame into the guest. 0 delivered, or gather()'s errors. */
static int deliver(struct net_dev *n, const struct net_frame *f)
{
	struct virtio_dev *d = &n->vdev;
	struct virtio_net_hdr_v1 h = f->hdr;
	int rc = gather(n, NET_HDR_LEN + f->len);

	if (rc) {
		if (rc != -EPROTO)
			unpop_all(n);
		return rc;
	}
	h.num_buffers = htole16((uint16_t)n->rx.nchains);
	if (!(d->acked & NET_F(VIRTIO_NET_F_GUEST_CSUM)))
		h.flags = 0; /* DATA_VALID means nothing to this driver */
	put(n, 0, &h, 0, NET_HDR_LEN);
	put(n, NET_HDR_LEN, NULL, 0, f->len);
	return publish(n);
}

static void drop(struct net_dev *n, const struct net_frame *f, const char *why)
{
	n->st.rx_fails++;
	log_ratelimited(LOG_WARN, "net '%s': received frame of %u bytes dropped: %s", n->id,
			f->len, why);
	n->be->rx_consume(n);
}

/* One frame: true to go on with the next, false to stop. */
static bool rx_one(struct net_dev *n, const struct net_frame *f)
{
	uint64_t bytes = (uint64_t)f->len + NET_HDR_LEN;
	int rc;

	if (f->len > NET_MAX_FRAME || !net_rx_hdr_ok(n, &f->hdr, f->len)) {
		drop(n, f, f->len > NET_MAX_FRAME ? "too long" : "offload not negotiated");
		return true;
	}
	if (!rl_consume_req(&n->rl[NET_RXQ], bytes)) {
		n->st.rx_rate_limiter_throttled++;
		return false;
	}
	rc = deliver(n, f);
	if (rc == -EMSGSIZE) {
		drop(n, f, "larger than the driver's receive buffers");
		return true;
	}
	if (rc) {
		rl_refund_req(&n->rl[NET_RXQ], bytes);
		if (rc == -EAGAIN) {
			n->st.no_rx_avail_buffer++;
			n->rx_waiting = true;
		}
		return false;
	}
	n->st.rx_bytes_count += f->len;
	n->st.rx_packets_count++;
	n->st.rx_count++;
	n->be->rx_consume(n);
	return true;
}

void net_rx_process(struct net_dev *n)
{
	struct virtq *q = &n->vdev.vq[NET_RXQ];
	uint16_t used_before = q->next_used;
	struct net_frame f;
	unsigned budget = NET_RX_BUDGET;
	bool more = true;

	n->rx_waiting = false;
	if (!net_live(n, NET_RXQ))
		return;
	while (more && !rl_is_blocked(&n->rl[NET_RXQ])) {
		int rc;

		if (!budget--) {
			n->be->rx_more(n);
			break;
		}
		rc = n->be->rx_peek(n, &f);
		if (rc <= 0)
			break; /* empty (the backend wakes us) or failed (counted) */
		more = rx_one(n, &f);
	}
	/* Stopped with a frame held: the guest's kick or the rate limiter's
	 * timer resumes us, not the backend. */
	if (!more || rl_is_blocked(&n->rl[NET_RXQ]))
		if (n->be->rx_stall)
			n->be->rx_stall(n);
	if (q->next_used != used_before)
		virtio_notify_queue(&n->vdev, NET_RXQ);
}

void net_rx_resume(struct net_dev *n)
{
	n->st.rx_tap_event_count++;
	if (!n->rx_waiting)
		net_rx_process(n);
}
