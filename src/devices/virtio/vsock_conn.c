/* One vsock stream connection as the virtio spec (§5.10.6.3-6) describes
 * it, with no I/O: states, the packets owed to the guest, credit both ways
 * and the two half-closes. The muxer does the socket work this asks for.
 *
 * Credit towards the guest: never more in flight than its buf_alloc -
 * (rx_cnt - fwd_cnt) from its latest packet. Credit ember gives: buf_alloc
 * is VSOCK_CONN_BUF and fwd_cnt counts bytes the host socket took, so a
 * host peer that does not read stops the guest once VSOCK_CONN_BUF bytes
 * are held; a guest that sends beyond that is reset. */
#include <string.h>

#include "vsock_internal.h"

#define SHUT_RCV VIRTIO_VSOCK_SHUTDOWN_RCV
#define SHUT_SEND VIRTIO_VSOCK_SHUTDOWN_SEND

void vsock_conn_init_local(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port,
			   uint64_t now_ns)
{
	*c = (struct vsock_conn){ .local_port = local_port, .peer_port = peer_port,
				  .state = VSOCK_LOCAL_INIT, .owe = VSOCK_OWE_REQUEST,
				  .deadline_ns = now_ns + VSOCK_REQUEST_TIMEOUT_NS };
}

void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_pkt *req)
{
	*c = (struct vsock_conn){ .local_port = req->dst_port, .peer_port = req->src_port,
				  .state = VSOCK_PEER_INIT, .owe = VSOCK_OWE_RESPONSE,
				  .peer_buf_alloc = req->buf_alloc,
				  .peer_fwd_cnt = req->fwd_cnt };
}

/* Guest-to-host closed: the guest said SEND, or the host reads no more. */
static bool tx_closed(const struct vsock_conn *c)
{
	return (c->peer_shut & SHUT_SEND) || (c->local_shut & SHUT_RCV);
}

static bool rx_closed(const struct vsock_conn *c)
{
	return (c->local_shut & SHUT_SEND) || (c->peer_shut & SHUT_RCV);
}

/* Protocol violation or fatal error: RST is the only packet left. */
static void die(struct vsock_conn *c)
{
	c->state = VSOCK_DEAD;
	c->owe = VSOCK_OWE_RST;
	c->deadline_ns = 0;
	c->killed = true;
}

/* Nothing can flow either way and nothing held is deliverable: the
 * clean end (spec: SHUTDOWNs followed by an RST), after an owed SHUTDOWN. */
static void maybe_finish(struct vsock_conn *c)
{
	if (c->state != VSOCK_ESTABLISHED || !tx_closed(c) || !rx_closed(c))
		return;
	if (c->held && !(c->local_shut & SHUT_RCV))
		return; /* flush to the host first */
	c->state = VSOCK_DEAD;
	c->owe = (c->owe & VSOCK_OWE_SHUTDOWN) | VSOCK_OWE_RST;
}

/* Every packet carries the sender's credit. */
static unsigned take_credit(struct vsock_conn *c, const struct vsock_pkt *p)
{
	if (p->buf_alloc == c->peer_buf_alloc && p->fwd_cnt == c->peer_fwd_cnt)
		return 0;
	c->peer_buf_alloc = p->buf_alloc;
	c->peer_fwd_cnt = p->fwd_cnt;
	c->credit_asked = false;
	return VSOCK_DO_CREDIT;
}

static unsigned established(struct vsock_conn *c, const struct vsock_pkt *p)
{
	unsigned fx = take_credit(c, p), fresh;

	switch (p->op) {
	case VIRTIO_VSOCK_OP_RW:
		/* after its own SHUTDOWN(SEND), or beyond the credit we gave */
		if (tx_closed(c) || p->len > VSOCK_CONN_BUF - c->held)
			break;
		c->held += p->len;
		return fx | (p->len ? VSOCK_DO_DATA : 0);
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		return fx;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->owe |= VSOCK_OWE_CREDIT_UPDATE;
		return fx;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		fresh = p->flags & ~c->peer_shut;
		c->peer_shut |= p->flags;
		if (fresh & SHUT_SEND)
			fx |= VSOCK_DO_SHUT_WR;
		maybe_finish(c);
		return fx;
	default: /* REQUEST or RESPONSE on a connected stream */
		break;
	}
	die(c);
	return 0;
}

unsigned vsock_conn_recv(struct vsock_conn *c, const struct vsock_pkt *p)
{
	if (p->op == VIRTIO_VSOCK_OP_RST) {
		c->state = VSOCK_DEAD;
		c->owe = 0;
		return VSOCK_DO_CLOSE;
	}
	switch (c->state) {
	case VSOCK_LOCAL_INIT:
		/* only the answer to a REQUEST the guest has actually seen */
		if (p->op != VIRTIO_VSOCK_OP_RESPONSE || (c->owe & VSOCK_OWE_REQUEST))
			break;
		c->state = VSOCK_ESTABLISHED;
		c->deadline_ns = 0;
		return VSOCK_DO_CONNECTED | take_credit(c, p);
	case VSOCK_PEER_INIT: /* the guest waits for our RESPONSE */
		break;
	case VSOCK_ESTABLISHED:
		return established(c, p);
	case VSOCK_DEAD:
		return 0;
	}
	die(c);
	return 0;
}

bool vsock_conn_rx_open(const struct vsock_conn *c)
{
	return c->state == VSOCK_ESTABLISHED && !rx_closed(c);
}

uint32_t vsock_conn_rx_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt; /* wraps like the counters */
	uint32_t free_;

	if (!vsock_conn_rx_open(c) || in_flight >= c->peer_buf_alloc)
		return 0;
	free_ = c->peer_buf_alloc - in_flight;
	return free_ < VSOCK_MAX_PAYLOAD ? free_ : VSOCK_MAX_PAYLOAD;
}

void vsock_conn_credit_blocked(struct vsock_conn *c)
{
	if (c->state != VSOCK_ESTABLISHED || c->credit_asked)
		return;
	c->owe |= VSOCK_OWE_CREDIT_REQUEST;
	c->credit_asked = true;
}

static void header(struct vsock_conn *c, uint64_t guest_cid, uint16_t op, struct vsock_pkt *p)
{
	*p = (struct vsock_pkt){ .src_cid = VSOCK_HOST_CID, .dst_cid = guest_cid,
				 .src_port = c->local_port, .dst_port = c->peer_port,
				 .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
				 .buf_alloc = VSOCK_CONN_BUF, .fwd_cnt = c->fwd_cnt };
	/* this packet tells the guest our credit: no separate update needed */
	c->fwd_told = c->fwd_cnt;
	c->owe &= ~VSOCK_OWE_CREDIT_UPDATE;
}

bool vsock_conn_next_ctrl(struct vsock_conn *c, uint64_t guest_cid, struct vsock_pkt *p)
{
	static const struct { uint32_t bit; uint16_t op; } order[] = {
		{ VSOCK_OWE_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ VSOCK_OWE_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ VSOCK_OWE_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
		{ VSOCK_OWE_CREDIT_REQUEST, VIRTIO_VSOCK_OP_CREDIT_REQUEST },
		{ VSOCK_OWE_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN },
		{ VSOCK_OWE_RST, VIRTIO_VSOCK_OP_RST },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(c->owe & order[i].bit))
			continue;
		c->owe &= ~order[i].bit;
		header(c, guest_cid, order[i].op, p);
		if (order[i].op == VIRTIO_VSOCK_OP_SHUTDOWN)
			p->flags = c->shut_flags;
		if (order[i].op == VIRTIO_VSOCK_OP_RESPONSE)
			c->state = VSOCK_ESTABLISHED;
		return true;
	}
	return false;
}

void vsock_conn_fill_rw(struct vsock_conn *c, uint64_t guest_cid, uint32_t len,
			struct vsock_pkt *p)
{
	header(c, guest_cid, VIRTIO_VSOCK_OP_RW, p);
	p->len = len;
	c->rx_cnt += len;
}

/* Tell the guest only when its view of our free space has dropped below
 * VSOCK_CREDIT_LOW, so a steady stream is not doubled by credit packets. */
void vsock_conn_flushed(struct vsock_conn *c, uint32_t n)
{
	uint64_t used;

	if (n > c->held)
		n = c->held;
	c->held -= n;
	c->fwd_cnt += n;
	used = (uint64_t)c->held + (uint32_t)(c->fwd_cnt - c->fwd_told);
	if (c->state == VSOCK_ESTABLISHED && c->fwd_cnt != c->fwd_told &&
	    (used >= VSOCK_CONN_BUF || VSOCK_CONN_BUF - used < VSOCK_CREDIT_LOW))
		c->owe |= VSOCK_OWE_CREDIT_UPDATE;
	maybe_finish(c);
}

void vsock_conn_host_eof(struct vsock_conn *c, bool hup)
{
	uint32_t flags = SHUT_SEND | (hup ? SHUT_RCV : 0);

	if (c->state != VSOCK_ESTABLISHED || !(flags & ~c->local_shut))
		return;
	c->local_shut |= flags;
	c->shut_flags = c->local_shut;
	c->owe |= VSOCK_OWE_SHUTDOWN;
	maybe_finish(c);
}

bool vsock_conn_kill(struct vsock_conn *c)
{
	bool unheard = c->state == VSOCK_LOCAL_INIT && (c->owe & VSOCK_OWE_REQUEST);

	if (c->state == VSOCK_DEAD)
		return (c->owe & VSOCK_OWE_RST) != 0;
	die(c);
	if (unheard)
		c->owe = 0;
	return !unheard;
}

bool vsock_conn_expired(const struct vsock_conn *c, uint64_t now_ns)
{
	return c->deadline_ns && now_ns >= c->deadline_ns;
}
