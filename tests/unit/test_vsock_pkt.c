/* The vsock wire formats: header decode/encode, every rule of the guest
 * header check (addressing -> drop, the rest -> RST, never an RST for an
 * RST), headers gathered from chains however the guest splits them
 * (truncated, device-writable), RX room, iovecs and writes across
 * descriptors, and the host's CONNECT line. */
#include <endian.h>
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

static struct vsock_pkt good(uint16_t op)
{
	return (struct vsock_pkt){ .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = 1025,
				   .dst_port = 52, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
				   .buf_alloc = 262144, .fwd_cnt = 7 };
}

static void test_decode_encode(void **state)
{
	struct vsock_pkt p = good(VIRTIO_VSOCK_OP_RW), q;
	struct virtio_vsock_hdr raw;
	const uint8_t *b = (const uint8_t *)&raw;

	assert_int_equal(sizeof(raw), 44);
	p.len = 0x01020304;
	p.flags = 0xa0b0c0d0;
	p.src_cid = 0x1122334455667788ull;
	vsock_pkt_encode(&p, &raw);
	/* little endian on the wire, packed layout */
	assert_int_equal(b[0], 0x88);
	assert_int_equal(b[7], 0x11);
	assert_int_equal(b[8], VSOCK_HOST_CID);
	assert_int_equal(b[16], 1025 & 0xff);
	assert_int_equal(b[24], 0x04);
	assert_int_equal(b[28], VIRTIO_VSOCK_TYPE_STREAM);
	assert_int_equal(b[30], VIRTIO_VSOCK_OP_RW);
	assert_int_equal(b[32], 0xd0);
	assert_int_equal(b[36], 0x00);
	assert_int_equal(b[38], 0x04); /* 262144 = 0x40000 */
	assert_int_equal(b[40], 7);
	vsock_pkt_decode(&raw, &q);
	assert_true(q.src_cid == p.src_cid && q.dst_cid == p.dst_cid);
	assert_true(q.src_port == p.src_port && q.dst_port == p.dst_port && q.len == p.len);
	assert_true(q.type == p.type && q.op == p.op && q.flags == p.flags);
	assert_true(q.buf_alloc == p.buf_alloc && q.fwd_cnt == p.fwd_cnt);
}

static void test_check_good(void **state)
{
	const char *why = "x";

	for (uint16_t op = VIRTIO_VSOCK_OP_REQUEST; op <= VIRTIO_VSOCK_OP_CREDIT_REQUEST; op++) {
		struct vsock_pkt p = good(op);

		assert_int_equal(vsock_pkt_check(&p, 0, CID, &why), VSOCK_PKT_OK);
		assert_null(why);
	}
	struct vsock_pkt p = good(VIRTIO_VSOCK_OP_RW);
	p.len = VSOCK_MAX_PAYLOAD;
	assert_int_equal(vsock_pkt_check(&p, VSOCK_MAX_PAYLOAD, CID, NULL), VSOCK_PKT_OK);
	/* more data in the chain than len is fine: the rest is ignored */
	p.len = 10;
	assert_int_equal(vsock_pkt_check(&p, 4096, CID, NULL), VSOCK_PKT_OK);
	p.len = 0;
	assert_int_equal(vsock_pkt_check(&p, 0, CID, NULL), VSOCK_PKT_OK);
	p = good(VIRTIO_VSOCK_OP_SHUTDOWN);
	for (uint32_t f = 0; f <= 3; f++) {
		p.flags = f;
		assert_int_equal(vsock_pkt_check(&p, 0, CID, NULL), VSOCK_PKT_OK);
	}
}

struct bad_case {
	const char *what;
	void (*mutate)(struct vsock_pkt *p);
	uint32_t data_len;
	enum vsock_verdict want;
	const char *why;
};

static void m_src(struct vsock_pkt *p) { p->src_cid = CID + 1; }
static void m_src_high(struct vsock_pkt *p) { p->src_cid = (1ull << 32) | CID; }
static void m_dst(struct vsock_pkt *p) { p->dst_cid = CID; }
static void m_dst_any(struct vsock_pkt *p) { p->dst_cid = UINT32_MAX; }
static void m_type0(struct vsock_pkt *p) { p->type = 0; }
static void m_seqpacket(struct vsock_pkt *p) { p->type = VIRTIO_VSOCK_TYPE_SEQPACKET; }
static void m_op0(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_INVALID; }
static void m_op8(struct vsock_pkt *p) { p->op = 8; }
static void m_op_max(struct vsock_pkt *p) { p->op = 0xffff; }
static void m_len_data(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_RW; p->len = 101; }
static void m_len_max(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_RW; p->len = VSOCK_MAX_PAYLOAD + 1; }
static void m_len_huge(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_RW; p->len = UINT32_MAX; }
static void m_len_ctrl(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_CREDIT_UPDATE; p->len = 1; }
static void m_len_req(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_REQUEST; p->len = 4; }
static void m_flags_rw(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_RW; p->flags = VIRTIO_VSOCK_SEQ_EOM; }
static void m_flags_req(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_REQUEST; p->flags = 1; }
static void m_flags_shut(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_SHUTDOWN; p->flags = 4; }
static void m_flags_shut_hi(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_SHUTDOWN; p->flags = 0x80000003; }
/* an RST never gets an RST back, whatever is wrong with it */
static void m_rst_type(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_RST; p->type = 9; }
static void m_rst_len(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_RST; p->len = 200; }
static void m_rst_flags(struct vsock_pkt *p) { p->op = VIRTIO_VSOCK_OP_RST; p->flags = 2; }

static void test_check_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "foreign src_cid", m_src, 100, VSOCK_PKT_DROP, "src_cid is not the guest's CID" },
		{ "src_cid high bits", m_src_high, 100, VSOCK_PKT_DROP, "src_cid is not the guest's CID" },
		{ "dst_cid not host", m_dst, 100, VSOCK_PKT_DROP, "dst_cid is not the host (2)" },
		{ "dst_cid any", m_dst_any, 100, VSOCK_PKT_DROP, "dst_cid is not the host (2)" },
		{ "type 0", m_type0, 100, VSOCK_PKT_RST, "type is not STREAM" },
		{ "seqpacket", m_seqpacket, 100, VSOCK_PKT_RST, "type is not STREAM" },
		{ "op 0", m_op0, 100, VSOCK_PKT_RST, "unknown op" },
		{ "op 8", m_op8, 100, VSOCK_PKT_RST, "unknown op" },
		{ "op 0xffff", m_op_max, 100, VSOCK_PKT_RST, "unknown op" },
		{ "len > data", m_len_data, 100, VSOCK_PKT_RST, "len beyond the chain's data" },
		{ "len > max", m_len_max, UINT32_MAX, VSOCK_PKT_RST, "len over the 64 KiB maximum" },
		{ "len u32 max", m_len_huge, 100, VSOCK_PKT_RST, "len over the 64 KiB maximum" },
		{ "len on control", m_len_ctrl, 100, VSOCK_PKT_RST, "payload on a control packet" },
		{ "len on request", m_len_req, 100, VSOCK_PKT_RST, "payload on a control packet" },
		{ "flags on RW", m_flags_rw, 100, VSOCK_PKT_RST, "flags not valid for the op" },
		{ "flags on REQUEST", m_flags_req, 100, VSOCK_PKT_RST, "flags not valid for the op" },
		{ "shutdown flag 4", m_flags_shut, 100, VSOCK_PKT_RST, "flags not valid for the op" },
		{ "shutdown high bit", m_flags_shut_hi, 100, VSOCK_PKT_RST, "flags not valid for the op" },
		{ "RST bad type", m_rst_type, 100, VSOCK_PKT_DROP, "type is not STREAM" },
		{ "RST with len", m_rst_len, 100, VSOCK_PKT_DROP, "len beyond the chain's data" },
		{ "RST with flags", m_rst_flags, 100, VSOCK_PKT_DROP, "flags not valid for the op" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vsock_pkt p = good(VIRTIO_VSOCK_OP_REQUEST);
		const char *why = NULL;

		cases[i].mutate(&p);
		if (vsock_pkt_check(&p, cases[i].data_len, CID, &why) != cases[i].want)
			fail_msg("%s: wrong verdict", cases[i].what);
		assert_non_null(why);
		if (strcmp(why, cases[i].why))
			fail_msg("%s: why '%s', want '%s'", cases[i].what, why, cases[i].why);
	}
}

/* A chain over `buf`: segments of the given lengths, laid out back to back. */
static void chain(struct virtq_chain *c, uint8_t *buf, const uint32_t *lens, unsigned n,
		  bool write)
{
	uint32_t off = 0;

	c->n = n;
	c->head = 0;
	for (unsigned i = 0; i < n; i++) {
		c->seg[i] = (struct virtq_seg){ .gpa = off, .len = lens[i], .write = write,
						.host = lens[i] ? buf + off : NULL };
		off += lens[i];
	}
}

static void test_read_hdr(void **state)
{
	static uint8_t buf[8192];
	struct virtio_vsock_hdr raw, want;
	struct vsock_pkt p = good(VIRTIO_VSOCK_OP_RW);
	struct virtq_chain *c = calloc(1, sizeof(*c));
	uint32_t data = 0;

	p.len = 100;
	vsock_pkt_encode(&p, &want);
	memcpy(buf, &want, sizeof(want));
	/* header and data in one descriptor */
	chain(c, buf, (uint32_t[]){ 144 }, 1, false);
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), 0);
	assert_memory_equal(&raw, &want, sizeof(raw));
	assert_int_equal(data, 100);
	/* Linux's layout: header, then data in its own descriptor */
	chain(c, buf, (uint32_t[]){ 44, 100 }, 2, false);
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), 0);
	assert_memory_equal(&raw, &want, sizeof(raw));
	assert_int_equal(data, 100);
	/* the header split over three descriptors, an empty one between */
	chain(c, buf, (uint32_t[]){ 10, 0, 30, 4, 60 }, 5, false);
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), 0);
	assert_memory_equal(&raw, &want, sizeof(raw));
	assert_int_equal(data, 60);
	/* header only */
	chain(c, buf, (uint32_t[]){ 44 }, 1, false);
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), 0);
	assert_int_equal(data, 0);
	/* truncated: 43 bytes in one or several descriptors, or nothing */
	chain(c, buf, (uint32_t[]){ 43 }, 1, false);
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), -EINVAL);
	chain(c, buf, (uint32_t[]){ 20, 23 }, 2, false);
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), -EINVAL);
	chain(c, buf, (uint32_t[]){ 0 }, 1, false);
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), -EINVAL);
	/* a device-writable descriptor in a TX chain */
	chain(c, buf, (uint32_t[]){ 44, 100 }, 2, false);
	c->seg[1].write = true;
	assert_int_equal(vsock_pkt_read_hdr(c, &raw, &data), -EINVAL);
	free(c);
}

static void test_rx_space(void **state)
{
	static uint8_t buf[8192];
	struct virtq_chain *c = calloc(1, sizeof(*c));
	uint32_t space = 0;

	chain(c, buf, (uint32_t[]){ 4096 + 44 }, 1, true);
	assert_int_equal(vsock_pkt_rx_space(c, &space), 0);
	assert_int_equal(space, 4140);
	chain(c, buf, (uint32_t[]){ 44, 4096 }, 2, true);
	assert_int_equal(vsock_pkt_rx_space(c, &space), 0);
	assert_int_equal(space, 4140);
	chain(c, buf, (uint32_t[]){ 43 }, 1, true);
	assert_int_equal(vsock_pkt_rx_space(c, &space), -EINVAL);
	chain(c, buf, (uint32_t[]){ 44, 100 }, 2, true);
	c->seg[0].write = false;
	assert_int_equal(vsock_pkt_rx_space(c, &space), -EINVAL);
	free(c);
}

static void test_iov_write(void **state)
{
	static uint8_t buf[256];
	struct virtq_chain *c = calloc(1, sizeof(*c));
	struct iovec iov[8];
	uint8_t src[100];
	unsigned n;

	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i + 1);
	chain(c, buf, (uint32_t[]){ 30, 0, 20, 50 }, 4, true);
	/* skip into the first segment, end inside the last */
	n = vsock_pkt_iov(c, 10, 50, iov, 8);
	assert_int_equal(n, 3);
	assert_ptr_equal(iov[0].iov_base, buf + 10);
	assert_int_equal(iov[0].iov_len, 20);
	assert_ptr_equal(iov[1].iov_base, buf + 30);
	assert_int_equal(iov[1].iov_len, 20);
	assert_ptr_equal(iov[2].iov_base, buf + 50);
	assert_int_equal(iov[2].iov_len, 10);
	/* skip a whole segment; asking past the end gives what there is */
	n = vsock_pkt_iov(c, 35, 1000, iov, 8);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, buf + 35);
	assert_int_equal(iov[0].iov_len, 15);
	assert_int_equal(iov[1].iov_len, 50);
	/* the iovec limit holds */
	assert_int_equal(vsock_pkt_iov(c, 0, 100, iov, 1), 1);
	assert_int_equal(vsock_pkt_iov(c, 100, 10, iov, 8), 0);
	/* a write across three segments lands contiguously in this layout */
	memset(buf, 0, sizeof(buf));
	vsock_pkt_write(c, 25, src, 40);
	assert_int_equal(buf[24], 0);
	assert_memory_equal(buf + 25, src, 40);
	assert_int_equal(buf[65], 0);
	free(c);
}

static void test_connect_line(void **state)
{
	static const struct { const char *s; int rc; uint32_t port; } cases[] = {
		{ "CONNECT 1234\n", 0, 1234 },
		{ "connect 52\n", 0, 52 },
		{ "Connect\t 7 \r\n", 0, 7 },
		{ "CONNECT 0\n", 0, 0 },
		{ "CONNECT 4294967295\n", 0, UINT32_MAX },
		{ "CONNECT 000001\n", 0, 1 },
		{ "CONNECT 4294967296\n", -EINVAL, 0 },
		{ "CONNECT 99999999999999999999\n", -EINVAL, 0 },
		{ "CONNECT -1\n", -EINVAL, 0 },
		{ "CONNECT +1\n", -EINVAL, 0 },
		{ "CONNECT 0x10\n", -EINVAL, 0 },
		{ "CONNECT 12a\n", -EINVAL, 0 },
		{ "CONNECT 1 2\n", -EINVAL, 0 },
		{ "CONNECT\n", -EINVAL, 0 },
		{ "CONNECT \n", -EINVAL, 0 },
		{ "CONNECT1\n", -EINVAL, 0 },
		{ "CONNECTX 1\n", -EINVAL, 0 },
		{ "CONNEC 1\n", -EINVAL, 0 },
		{ " CONNECT 1\n", -EINVAL, 0 },
		{ "CONNECT 1", -EINVAL, 0 },	  /* no newline */
		{ "CONNECT 1\r\r\n", -EINVAL, 0 },
		{ "OK 1\n", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t port = 0xdead;
		int rc = vsock_parse_connect(cases[i].s, strlen(cases[i].s), &port);

		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, want %d", cases[i].s, rc, cases[i].rc);
		assert_int_equal(port, cases[i].rc ? 0xdead : cases[i].port);
	}
	/* an embedded NUL is not a digit or a blank */
	assert_int_equal(vsock_parse_connect("CONNECT 1\0002\n", 12, &(uint32_t){ 0 }), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_encode),
		cmocka_unit_test(test_check_good),
		cmocka_unit_test(test_check_bad),
		cmocka_unit_test(test_read_hdr),
		cmocka_unit_test(test_rx_space),
		cmocka_unit_test(test_iov_write),
		cmocka_unit_test(test_connect_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
