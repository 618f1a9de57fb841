/* One vsock connection's protocol state without sockets: every guest op
 * from every state (next state, what the host side must do, what is owed
 * to the guest), credit both ways (never past the guest's buf_alloc, our
 * CREDIT_UPDATE when the guest's view of our space runs low, the
 * per-connection cap), half-closes and the clean end, kill and timeout. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/devices/virtio/vsock_internal.h"

#define CID 3
#define LPORT 0x40000000u
#define PPORT 1234u
#define SEND VIRTIO_VSOCK_SHUTDOWN_SEND
#define RCV VIRTIO_VSOCK_SHUTDOWN_RCV

enum tstate { T_LOCAL_OWED, T_LOCAL_SENT, T_PEER_INIT, T_ESTABLISHED, T_DEAD, T_NSTATES };

static struct vsock_pkt gpkt(uint16_t op)
{
	return (struct vsock_pkt){ .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = PPORT,
				   .dst_port = LPORT, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
				   .buf_alloc = 65536, .fwd_cnt = 0 };
}

/* Drain every owed control packet; the ops in order, 0-terminated. */
static void drain(struct vsock_conn *c, uint16_t *ops, size_t max)
{
	struct vsock_pkt p;
	size_t n = 0;

	while (vsock_conn_next_ctrl(c, CID, &p)) {
		assert_true(n + 1 < max);
		ops[n++] = p.op;
	}
	ops[n] = 0;
}

static void make(struct vsock_conn *c, enum tstate s)
{
	struct vsock_pkt req = gpkt(VIRTIO_VSOCK_OP_REQUEST), p;
	uint16_t ops[8];

	req.dst_port = LPORT;
	switch (s) {
	case T_LOCAL_OWED:
		vsock_conn_init_local(c, LPORT, PPORT, 1000);
		break;
	case T_LOCAL_SENT:
		vsock_conn_init_local(c, LPORT, PPORT, 1000);
		assert_true(vsock_conn_next_ctrl(c, CID, &p));
		break;
	case T_PEER_INIT:
		vsock_conn_init_peer(c, &req);
		break;
	case T_ESTABLISHED:
		vsock_conn_init_peer(c, &req);
		drain(c, ops, 8);
		break;
	case T_DEAD:
		vsock_conn_init_peer(c, &req);
		drain(c, ops, 8);
		vsock_conn_kill(c);
		break;
	default:
		fail();
	}
}

struct row {
	enum tstate from;
	uint16_t op;
	uint32_t flags, len;
	enum vsock_state to;
	unsigned fx;	/* VSOCK_DO_* (CREDIT ignored) */
	uint32_t owe;	/* VSOCK_OWE_* afterwards */
};

#define L_OWED T_LOCAL_OWED
#define L_SENT T_LOCAL_SENT
#define P_INIT T_PEER_INIT
#define EST T_ESTABLISHED
#define DEAD T_DEAD
#define REQ VIRTIO_VSOCK_OP_REQUEST
#define RESP VIRTIO_VSOCK_OP_RESPONSE
#define RST VIRTIO_VSOCK_OP_RST
#define SHUT VIRTIO_VSOCK_OP_SHUTDOWN
#define RW VIRTIO_VSOCK_OP_RW
#define CUPD VIRTIO_VSOCK_OP_CREDIT_UPDATE
#define CREQ VIRTIO_VSOCK_OP_CREDIT_REQUEST
#define S_L VSOCK_LOCAL_INIT
#define S_P VSOCK_PEER_INIT
#define S_E VSOCK_ESTABLISHED
#define S_D VSOCK_DEAD
#define O_RST VSOCK_OWE_RST
#define O_REQ VSOCK_OWE_REQUEST
#define O_RESP VSOCK_OWE_RESPONSE

static const struct row table[] = {
	/* host-initiated, REQUEST not yet sent: the guest cannot answer it */
	{ L_OWED, REQ, 0, 0, S_D, 0, O_RST },
	{ L_OWED, RESP, 0, 0, S_D, 0, O_RST },
	{ L_OWED, RST, 0, 0, S_D, VSOCK_DO_CLOSE, 0 },
	{ L_OWED, SHUT, SEND, 0, S_D, 0, O_RST },
	{ L_OWED, RW, 0, 10, S_D, 0, O_RST },
	{ L_OWED, CUPD, 0, 0, S_D, 0, O_RST },
	{ L_OWED, CREQ, 0, 0, S_D, 0, O_RST },
	/* host-initiated, REQUEST sent */
	{ L_SENT, REQ, 0, 0, S_D, 0, O_RST },
	{ L_SENT, RESP, 0, 0, S_E, VSOCK_DO_CONNECTED, 0 },
	{ L_SENT, RST, 0, 0, S_D, VSOCK_DO_CLOSE, 0 },
	{ L_SENT, SHUT, SEND, 0, S_D, 0, O_RST },
	{ L_SENT, RW, 0, 10, S_D, 0, O_RST },
	{ L_SENT, CUPD, 0, 0, S_D, 0, O_RST },
	{ L_SENT, CREQ, 0, 0, S_D, 0, O_RST },
	/* guest-initiated, our RESPONSE not sent yet */
	{ P_INIT, REQ, 0, 0, S_D, 0, O_RST },
	{ P_INIT, RESP, 0, 0, S_D, 0, O_RST },
	{ P_INIT, RST, 0, 0, S_D, VSOCK_DO_CLOSE, 0 },
	{ P_INIT, SHUT, SEND, 0, S_D, 0, O_RST },
	{ P_INIT, RW, 0, 10, S_D, 0, O_RST },
	{ P_INIT, CUPD, 0, 0, S_D, 0, O_RST },
	{ P_INIT, CREQ, 0, 0, S_D, 0, O_RST },
	/* established */
	{ EST, REQ, 0, 0, S_D, 0, O_RST },
	{ EST, RESP, 0, 0, S_D, 0, O_RST },
	{ EST, RST, 0, 0, S_D, VSOCK_DO_CLOSE, 0 },
	{ EST, SHUT, 0, 0, S_E, 0, 0 },
	{ EST, SHUT, RCV, 0, S_E, 0, 0 },
	{ EST, SHUT, SEND, 0, S_E, VSOCK_DO_SHUT_WR, 0 },
	{ EST, SHUT, RCV | SEND, 0, S_D, VSOCK_DO_SHUT_WR, O_RST },
	{ EST, RW, 0, 10, S_E, VSOCK_DO_DATA, 0 },
	{ EST, RW, 0, 0, S_E, 0, 0 },
	{ EST, CUPD, 0, 0, S_E, 0, 0 },
	{ EST, CREQ, 0, 0, S_E, 0, VSOCK_OWE_CREDIT_UPDATE },
	/* dead (RST owed): only the guest's RST matters */
	{ DEAD, REQ, 0, 0, S_D, 0, O_RST },
	{ DEAD, RESP, 0, 0, S_D, 0, O_RST },
	{ DEAD, RST, 0, 0, S_D, VSOCK_DO_CLOSE, 0 },
	{ DEAD, SHUT, SEND, 0, S_D, 0, O_RST },
	{ DEAD, RW, 0, 10, S_D, 0, O_RST },
	{ DEAD, CUPD, 0, 0, S_D, 0, O_RST },
	{ DEAD, CREQ, 0, 0, S_D, 0, O_RST },
};

static void test_every_op_every_state(void **state)
{
	unsigned seen[T_NSTATES] = { 0 };

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];
		struct vsock_conn c;
		struct vsock_pkt p = gpkt(r->op);
		unsigned fx;

		make(&c, r->from);
		p.flags = r->flags;
		p.len = r->len;
		fx = vsock_conn_recv(&c, &p) & ~VSOCK_DO_CREDIT;
		if (c.state != r->to || fx != r->fx || c.owe != r->owe)
			fail_msg("row %zu (state %d op %u): state %d fx %#x owe %#x, want %d %#x %#x",
				 i, r->from, r->op, c.state, fx, c.owe, r->to, r->fx, r->owe);
		/* a protocol violation is ours to count; the guest's RST is not */
		if (r->from != T_DEAD && r->to == S_D && r->op != RST &&
		    !(r->op == SHUT && r->flags == (RCV | SEND)))
			assert_true(c.killed);
		if (r->op == RST)
			assert_false(c.killed && r->from != T_DEAD);
		seen[r->from] |= 1u << r->op;
	}
	/* the table covers all seven ops in each of the five states */
	for (int s = 0; s < T_NSTATES; s++)
		assert_int_equal(seen[s], 0xfe);
}

static void test_local_handshake(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p, resp = gpkt(RESP);

	vsock_conn_init_local(&c, LPORT, PPORT, 5000);
	assert_int_equal(c.deadline_ns, 5000 + VSOCK_REQUEST_TIMEOUT_NS);
	assert_false(vsock_conn_expired(&c, 5000 + VSOCK_REQUEST_TIMEOUT_NS - 1));
	assert_true(vsock_conn_expired(&c, 5000 + VSOCK_REQUEST_TIMEOUT_NS));
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	/* the REQUEST: host to guest, our credit in it */
	assert_int_equal(p.op, REQ);
	assert_int_equal(p.src_cid, VSOCK_HOST_CID);
	assert_int_equal(p.dst_cid, CID);
	assert_int_equal(p.src_port, LPORT);
	assert_int_equal(p.dst_port, PPORT);
	assert_int_equal(p.type, VIRTIO_VSOCK_TYPE_STREAM);
	assert_int_equal(p.buf_alloc, VSOCK_CONN_BUF);
	assert_int_equal(p.fwd_cnt, 0);
	assert_int_equal(p.len, 0);
	assert_false(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(vsock_conn_rx_credit(&c), 0); /* not connected yet */
	resp.buf_alloc = 8192;
	assert_int_equal(vsock_conn_recv(&c, &resp), VSOCK_DO_CONNECTED | VSOCK_DO_CREDIT);
	assert_int_equal(c.state, VSOCK_ESTABLISHED);
	assert_int_equal(c.deadline_ns, 0);
	assert_int_equal(vsock_conn_rx_credit(&c), 8192);
}

static void test_peer_handshake(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p, req = gpkt(REQ);

	req.buf_alloc = 300000;
	req.fwd_cnt = 0;
	vsock_conn_init_peer(&c, &req);
	assert_int_equal(c.local_port, LPORT);
	assert_int_equal(c.peer_port, PPORT);
	assert_int_equal(vsock_conn_rx_credit(&c), 0);
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(p.op, RESP);
	assert_int_equal(p.buf_alloc, VSOCK_CONN_BUF);
	assert_int_equal(c.state, VSOCK_ESTABLISHED);
	/* the guest's credit came with its REQUEST; one packet at most 64 KiB */
	assert_int_equal(vsock_conn_rx_credit(&c), VSOCK_MAX_PAYLOAD);
}

static void test_rx_credit(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p, upd = gpkt(CUPD);

	make(&c, T_ESTABLISHED);
	upd.buf_alloc = 1000;
	assert_int_equal(vsock_conn_recv(&c, &upd), VSOCK_DO_CREDIT);
	assert_int_equal(vsock_conn_rx_credit(&c), 1000);
	vsock_conn_fill_rw(&c, CID, 600, &p);
	assert_int_equal(p.op, RW);
	assert_int_equal(p.len, 600);
	assert_int_equal(p.buf_alloc, VSOCK_CONN_BUF);
	assert_int_equal(vsock_conn_rx_credit(&c), 400);
	vsock_conn_fill_rw(&c, CID, 400, &p);
	assert_int_equal(vsock_conn_rx_credit(&c), 0);
	/* blocked: one CREDIT_REQUEST, not one per attempt */
	vsock_conn_credit_blocked(&c);
	vsock_conn_credit_blocked(&c);
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(p.op, CREQ);
	assert_false(vsock_conn_next_ctrl(&c, CID, &p));
	/* an unchanged answer does not ask again (no ping-pong) */
	assert_int_equal(vsock_conn_recv(&c, &upd), 0);
	vsock_conn_credit_blocked(&c);
	assert_int_equal(c.owe, 0);
	/* the guest consumed 500 */
	upd.fwd_cnt = 500;
	assert_int_equal(vsock_conn_recv(&c, &upd), VSOCK_DO_CREDIT);
	assert_int_equal(vsock_conn_rx_credit(&c), 500);
	/* a guest shrinking its buffer below what is in flight: no credit */
	upd.buf_alloc = 100;
	vsock_conn_recv(&c, &upd);
	assert_int_equal(vsock_conn_rx_credit(&c), 0);
	/* fwd_cnt ahead of what we sent is nonsense: no credit either */
	upd.buf_alloc = 1000;
	upd.fwd_cnt = 2000;
	vsock_conn_recv(&c, &upd);
	assert_int_equal(vsock_conn_rx_credit(&c), 0);
	/* a blocked connection may ask again once the credit changed */
	vsock_conn_credit_blocked(&c);
	assert_int_equal(c.owe, VSOCK_OWE_CREDIT_REQUEST);
}

/* Randomised: whatever the guest's updates, bytes in flight never exceed
 * its buf_alloc, also across the u32 wrap of the counters. */
static void test_rx_credit_never_exceeded(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p, upd = gpkt(CUPD);
	uint32_t consumed = 0xfffff000u; /* the guest's fwd_cnt, near the wrap */
	unsigned seed = 7;

	make(&c, T_ESTABLISHED);
	c.rx_cnt = consumed;
	upd.fwd_cnt = consumed;
	upd.buf_alloc = 100000;
	vsock_conn_recv(&c, &upd);
	for (int i = 0; i < 20000; i++) {
		uint32_t credit = vsock_conn_rx_credit(&c);

		seed = seed * 1103515245 + 12345;
		if (credit && (seed >> 16) % 3) {
			uint32_t n = 1 + (seed >> 8) % credit;

			vsock_conn_fill_rw(&c, CID, n, &p);
			assert_true(n <= VSOCK_MAX_PAYLOAD);
		} else {
			uint32_t in_flight = c.rx_cnt - consumed;

			consumed += in_flight ? 1 + (seed >> 8) % in_flight : 0;
			upd.fwd_cnt = consumed;
			vsock_conn_recv(&c, &upd);
		}
		assert_true((uint32_t)(c.rx_cnt - consumed) <= upd.buf_alloc);
	}
	assert_true(c.rx_cnt < 0xfffff000u); /* wrapped */
}

static void test_our_credit_and_cap(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p, rw = gpkt(RW);
	uint16_t ops[8];

	make(&c, T_ESTABLISHED);
	/* a host peer that never reads: VSOCK_CONN_BUF bytes, then no more */
	rw.len = VSOCK_MAX_PAYLOAD;
	for (uint32_t i = 0; i < VSOCK_CONN_BUF / VSOCK_MAX_PAYLOAD; i++)
		assert_int_equal(vsock_conn_recv(&c, &rw), VSOCK_DO_DATA);
	assert_int_equal(c.held, VSOCK_CONN_BUF);
	rw.len = 1;
	assert_int_equal(vsock_conn_recv(&c, &rw), 0); /* beyond the credit we gave */
	assert_int_equal(c.state, VSOCK_DEAD);
	assert_true(c.killed);
	drain(&c, ops, 8);
	assert_int_equal(ops[0], RST);
	assert_int_equal(ops[1], 0);

	/* flushing: no update while the guest still sees at least
	 * VSOCK_CREDIT_LOW free, one once its view drops below that */
	make(&c, T_ESTABLISHED);
	rw.len = VSOCK_CREDIT_LOW;
	vsock_conn_recv(&c, &rw); /* guest believes exactly CREDIT_LOW left */
	vsock_conn_flushed(&c, 1000);
	assert_int_equal(c.owe, 0);
	assert_int_equal(c.fwd_cnt, 1000);
	rw.len = 10;
	vsock_conn_recv(&c, &rw); /* guest view: CREDIT_LOW - 10 */
	vsock_conn_flushed(&c, 10);
	assert_int_equal(c.owe, VSOCK_OWE_CREDIT_UPDATE);
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(p.op, CUPD);
	assert_int_equal(p.fwd_cnt, 1010);
	assert_int_equal(p.buf_alloc, VSOCK_CONN_BUF);
	assert_int_equal(c.held, VSOCK_CREDIT_LOW + 10 - 1010);
	/* any packet we send carries fwd_cnt, so an owed update folds into it */
	rw.len = 5000;
	vsock_conn_recv(&c, &rw); /* the guest's view drops below CREDIT_LOW again */
	vsock_conn_flushed(&c, 5);
	assert_int_equal(c.owe, VSOCK_OWE_CREDIT_UPDATE);
	struct vsock_pkt upd = gpkt(CUPD);
	upd.buf_alloc = 4096;
	vsock_conn_recv(&c, &upd);
	vsock_conn_fill_rw(&c, CID, 10, &p);
	assert_int_equal(p.fwd_cnt, 1015);
	assert_int_equal(c.owe, 0);
	/* the guest asking: an update even without progress */
	vsock_conn_recv(&c, &(struct vsock_pkt){ .op = CREQ, .type = 1, .buf_alloc = 4096 });
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(p.op, CUPD);
	assert_int_equal(p.fwd_cnt, 1015);
}

static void test_half_close_host_first(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p, shut = gpkt(SHUT), rw = gpkt(RW);
	uint16_t ops[8];

	make(&c, T_ESTABLISHED);
	vsock_conn_host_eof(&c, false); /* host did shutdown(SHUT_WR) */
	assert_int_equal(c.state, VSOCK_ESTABLISHED);
	assert_false(vsock_conn_rx_open(&c));
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(p.op, SHUT);
	assert_int_equal(p.flags, SEND);
	vsock_conn_host_eof(&c, false); /* again: nothing new owed */
	assert_int_equal(c.owe, 0);
	/* the guest may still send */
	rw.len = 5;
	assert_int_equal(vsock_conn_recv(&c, &rw), VSOCK_DO_DATA);
	/* guest closes its side while 5 bytes wait for the host */
	shut.flags = SEND;
	assert_int_equal(vsock_conn_recv(&c, &shut), VSOCK_DO_SHUT_WR);
	assert_int_equal(c.state, VSOCK_ESTABLISHED);
	vsock_conn_flushed(&c, 5);
	assert_int_equal(c.state, VSOCK_DEAD);
	assert_false(c.killed);
	drain(&c, ops, 8);
	assert_int_equal(ops[0], RST);
	assert_int_equal(ops[1], 0);
}

static void test_half_close_guest_first(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt shut = gpkt(SHUT), rw = gpkt(RW), p;
	uint16_t ops[8];

	make(&c, T_ESTABLISHED);
	shut.flags = SEND;
	assert_int_equal(vsock_conn_recv(&c, &shut), VSOCK_DO_SHUT_WR);
	assert_true(vsock_conn_rx_open(&c)); /* host may still talk */
	/* data after its own SHUTDOWN(SEND) is a violation */
	rw.len = 1;
	assert_int_equal(vsock_conn_recv(&c, &rw), 0);
	assert_int_equal(c.state, VSOCK_DEAD);

	make(&c, T_ESTABLISHED);
	vsock_conn_recv(&c, &shut);
	vsock_conn_fill_rw(&c, CID, 10, &p);
	vsock_conn_host_eof(&c, false);
	/* both directions closed: our SHUTDOWN, then the RST */
	assert_int_equal(c.state, VSOCK_DEAD);
	drain(&c, ops, 8);
	assert_int_equal(ops[0], SHUT);
	assert_int_equal(ops[1], RST);
	assert_int_equal(ops[2], 0);

	/* guest stops receiving: host data stops, guest data still flows */
	make(&c, T_ESTABLISHED);
	shut.flags = RCV;
	assert_int_equal(vsock_conn_recv(&c, &shut), 0);
	assert_false(vsock_conn_rx_open(&c));
	rw.len = 3;
	assert_int_equal(vsock_conn_recv(&c, &rw), VSOCK_DO_DATA);
}

static void test_host_gone(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt rw = gpkt(RW);
	uint16_t ops[8];

	/* the host closed for good with guest bytes undelivered: they are
	 * dropped, SHUTDOWN(RCV|SEND) then RST */
	make(&c, T_ESTABLISHED);
	rw.len = 100;
	vsock_conn_recv(&c, &rw);
	vsock_conn_host_eof(&c, true);
	assert_int_equal(c.state, VSOCK_DEAD);
	assert_int_equal(c.shut_flags, RCV | SEND);
	drain(&c, ops, 8);
	assert_int_equal(ops[0], SHUT);
	assert_int_equal(ops[1], RST);
	/* both SHUTDOWN flags from the guest: RST at once */
	make(&c, T_ESTABLISHED);
	vsock_conn_recv(&c, &(struct vsock_pkt){ .op = SHUT, .type = 1, .flags = RCV | SEND });
	drain(&c, ops, 8);
	assert_int_equal(ops[0], RST);
	assert_int_equal(ops[1], 0);
	/* host EOF outside ESTABLISHED changes nothing */
	make(&c, T_PEER_INIT);
	vsock_conn_host_eof(&c, true);
	assert_int_equal(c.state, VSOCK_PEER_INIT);
	assert_int_equal(c.owe, O_RESP);
}

static void test_kill(void **state)
{
	struct vsock_conn c;
	uint16_t ops[8];

	/* never told the guest: nothing to send, remove at once */
	make(&c, T_LOCAL_OWED);
	assert_false(vsock_conn_kill(&c));
	assert_int_equal(c.state, VSOCK_DEAD);
	assert_int_equal(c.owe, 0);
	/* REQUEST out: the guest gets an RST */
	make(&c, T_LOCAL_SENT);
	assert_true(vsock_conn_kill(&c));
	assert_int_equal(c.owe, O_RST);
	assert_int_equal(c.deadline_ns, 0);
	make(&c, T_ESTABLISHED);
	c.owe = VSOCK_OWE_CREDIT_UPDATE | VSOCK_OWE_SHUTDOWN;
	assert_true(vsock_conn_kill(&c));
	drain(&c, ops, 8); /* nothing but the RST */
	assert_int_equal(ops[0], RST);
	assert_int_equal(ops[1], 0);
	/* killing a dead one: only says whether an RST is still owed */
	make(&c, T_DEAD);
	assert_true(vsock_conn_kill(&c));
	c.owe = 0;
	assert_false(vsock_conn_kill(&c));
}

static void test_ctrl_order_and_fields(void **state)
{
	struct vsock_conn c;
	struct vsock_pkt p;
	/* no CREDIT_UPDATE: the REQUEST before it already carried fwd_cnt */
	uint16_t want[] = { REQ, RESP, CREQ, SHUT, RST };

	make(&c, T_ESTABLISHED);
	c.owe = VSOCK_OWE_RST | VSOCK_OWE_SHUTDOWN | VSOCK_OWE_CREDIT_REQUEST |
		VSOCK_OWE_CREDIT_UPDATE | VSOCK_OWE_RESPONSE | VSOCK_OWE_REQUEST;
	c.shut_flags = SEND;
	c.fwd_cnt = 77;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(vsock_conn_next_ctrl(&c, CID, &p));
		assert_int_equal(p.op, want[i]);
		/* Linux reads buf_alloc/fwd_cnt from every packet */
		assert_int_equal(p.buf_alloc, VSOCK_CONN_BUF);
		assert_int_equal(p.fwd_cnt, 77);
		assert_int_equal(p.flags, p.op == SHUT ? SEND : 0);
		assert_int_equal(p.len, 0);
		assert_int_equal(p.src_port, LPORT);
		assert_int_equal(p.dst_port, PPORT);
	}
	assert_false(vsock_conn_next_ctrl(&c, CID, &p));
	c.owe = VSOCK_OWE_CREDIT_REQUEST | VSOCK_OWE_CREDIT_UPDATE;
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(p.op, CUPD);
	assert_true(vsock_conn_next_ctrl(&c, CID, &p));
	assert_int_equal(p.op, CREQ);
	assert_false(vsock_conn_next_ctrl(&c, CID, &p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_every_state),
		cmocka_unit_test(test_local_handshake),
		cmocka_unit_test(test_peer_handshake),
		cmocka_unit_test(test_rx_credit),
		cmocka_unit_test(test_rx_credit_never_exceeded),
		cmocka_unit_test(test_our_credit_and_cap),
		cmocka_unit_test(test_half_close_host_first),
		cmocka_unit_test(test_half_close_guest_first),
		cmocka_unit_test(test_host_gone),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_ctrl_order_and_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
