/* virtio-net TX (virtio 1.x §5.1.6.2): each chain the driver makes
 * available on queue 1 is one frame, virtio_net_hdr_v1 first. The header
 * and the Ethernet header are copied out of guest memory once and judged
 * on those copies (a guest rewriting its buffer meanwhile cannot slip a
 * spoofed MAC or a bad GSO request past the checks); the rest of the frame
 * goes to the backend straight from guest memory. Malformed chains are
 * handed back (used.len 0) and counted; the device stays usable. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "ember/log.h"
#include "net_internal.h"

/* One frame taken from a chain: copies of the headers, iovecs of the rest. */
struct tx_frame {
	struct virtio_net_hdr_v1 hdr;
	uint8_t eth[NET_ETH_HLEN];
	size_t len; /* frame bytes after the vnet header */
	int iovcnt; /* n->tx_iov[0] is eth, the rest guest memory */
};

/* Copy `len` bytes at offset `off` of the chain's (readable) segments. */
static void chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	uint8_t *p = dst;

	for (unsigned i = 0; i < c->n && len; i++) {
		size_t sl = c->seg[i].len;

		if (off >= sl) {
			off -= sl;
			continue;
		}
		size_t k = sl - off < len ? sl - off : len;
		memcpy(p, (const uint8_t *)c->seg[i].host + off, k);
		p += k;
		len -= k;
		off = 0;
	}
}

/* iovecs over the chain from byte `off` on, after tx_iov[0]. */
static int chain_iov(struct net_dev *n, const struct virtq_chain *c, size_t off)
{
	int cnt = 1;

	for (unsigned i = 0; i < c->n; i++) {
		size_t sl = c->seg[i].len;

		if (off >= sl) {
			off -= sl;
			continue;
		}
		n->tx_iov[cnt++] = (struct iovec){ (uint8_t *)c->seg[i].host + off, sl - off };
		off = 0;
	}
	return cnt;
}

bool net_tx_hdr_ok(const struct net_dev *n, const struct virtio_net_hdr_v1 *h, size_t len)
{
	uint64_t f = n->vdev.acked;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false; /* DATA_VALID and RSC_INFO are device-to-driver only */
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(f & NET_F(VIRTIO_NET_F_CSUM)))
			return false;
		/* the 16-bit checksum field lies inside the frame */
		if ((size_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 > len)
			return false;
	}
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return (f & NET_F(VIRTIO_NET_F_HOST_TSO4)) && h->gso_size;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return (f & NET_F(VIRTIO_NET_F_HOST_TSO6)) && h->gso_size;
	}
	return false;
}

/* Take the frame out of n->chain: 0, or -EINVAL for a malformed chain. */
static int tx_parse(struct net_dev *n, struct tx_frame *t)
{
	const struct virtq_chain *c = &n->chain;
	uint64_t total = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (c->seg[i].write)
			return -EINVAL;
		total += c->seg[i].len;
	}
	if (total < NET_HDR_LEN + NET_ETH_HLEN || total - NET_HDR_LEN > NET_MAX_FRAME)
		return -EINVAL;
	t->len = (size_t)(total - NET_HDR_LEN);
	chain_read(c, 0, &t->hdr, NET_HDR_LEN);
	chain_read(c, NET_HDR_LEN, t->eth, NET_ETH_HLEN);
	if (!net_tx_hdr_ok(n, &t->hdr, t->len))
		return -EINVAL;
	n->tx_iov[0] = (struct iovec){ t->eth, NET_ETH_HLEN };
	t->iovcnt = chain_iov(n, c, NET_HDR_LEN + NET_ETH_HLEN);
	return 0;
}

/* Firecracker counts a source MAC other than guest_mac; we count it too,
 * and a backend that must not see it (the comms ring) drops it. */
static bool spoofed(struct net_dev *n, const struct tx_frame *t)
{
	if (!n->has_mac || !memcmp(t->eth + NET_ETH_ALEN, n->mac, NET_ETH_ALEN))
		return false;
	n->st.tx_spoofed_mac_count++;
	log_ratelimited(LOG_WARN, "net '%s': frame with spoofed source MAC "
			"%02x:%02x:%02x:%02x:%02x:%02x%s", n->id, t->eth[6], t->eth[7], t->eth[8],
			t->eth[9], t->eth[10], t->eth[11],
			n->be->tx_drops_spoofed ? " dropped" : "");
	return n->be->tx_drops_spoofed;
}

static int hand_back(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;

	if (virtq_push(&d->vq[NET_TXQ], d->gm, n->chain.head, 0)) {
		log_ratelimited(LOG_ERROR, "net '%s': could not publish used head %u", n->id,
				n->chain.head);
		n->st.tx_fails++;
		return VIRTIO_STOP;
	}
	return VIRTIO_NEXT;
}

static int tx_chain(void *ctx, struct virtq_chain *c)
{
	struct net_dev *n = ctx;
	struct tx_frame t;
	int rc;

	if (tx_parse(n, &t)) {
		n->st.tx_malformed_frames++;
		log_ratelimited(LOG_WARN, "net '%s': malformed TX chain at head %u dropped", n->id,
				c->head);
		return hand_back(n);
	}
	/* the whole buffer counts, header included, as in Firecracker */
	if (!rl_consume_req(&n->rl[NET_TXQ], t.len + NET_HDR_LEN)) {
		n->st.tx_rate_limiter_throttled++;
		return VIRTIO_RETRY;
	}
	if (spoofed(n, &t))
		return hand_back(n);
	rc = n->be->tx(n, &t.hdr, n->tx_iov, t.iovcnt, t.len);
	if (rc == -EAGAIN) {
		rl_refund_req(&n->rl[NET_TXQ], t.len + NET_HDR_LEN);
		n->tx_full = true;
		return VIRTIO_RETRY;
	}
	if (!rc) {
		n->st.tx_bytes_count += t.len;
		n->st.tx_packets_count++;
		n->st.tx_count++;
	}
	return hand_back(n);
}

static bool tx_can_pop(void *ctx)
{
	struct net_dev *n = ctx;

	return !rl_is_blocked(&n->rl[NET_TXQ]);
}

/* Rounds of "full, then room again" before we wait for the backend's
 * wake-up instead: each round needs the peer to have freed space, so this
 * only bounds a peer that frees it a trickle at a time. */
#define TX_ROUNDS 64

void net_tx_process(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;
	unsigned used = 0;

	if (n->tx_waiting || !net_live(n, NET_TXQ))
		return;
	for (unsigned round = 0; round < TX_ROUNDS; round++) {
		n->tx_full = false;
		used += virtio_serve_queue(d, NET_TXQ, &n->chain, tx_can_pop, tx_chain, n);
		if (n->be->tx_flush)
			n->be->tx_flush(n);
		if (!n->tx_full)
			break;
		if (!n->be->tx_wait(n, round + 1 < TX_ROUNDS)) {
			n->tx_waiting = true;
			break;
		}
	}
	if (used)
		virtio_notify_queue(d, NET_TXQ);
	else if (!n->tx_full && !rl_is_blocked(&n->rl[NET_TXQ]))
		n->st.no_tx_avail_buffer++;
}

void net_tx_resume(struct net_dev *n)
{
	n->tx_waiting = false;
	net_tx_process(n);
}
