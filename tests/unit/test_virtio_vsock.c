/* virtio-vsock through the virtio-mmio transport over fake RAM, the test
 * playing the guest driver (rings built as Linux builds them: 4 KiB RX
 * buffers in one or two descriptors, TX header and payload in one or two)
 * and the host processes (real UNIX sockets in a temp dir). Host-initiated
 * connects (OK, RST, timeouts, bad CONNECT lines), guest-initiated ones
 * (listener or not), data both ways with credit, half-closes, a host peer
 * that never reads, the connection limit, hostile TX packets and RX
 * buffers, reset, uds_path errors and the metrics. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/virtio_ids.h>

#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/resources.h"
#include "ember/virtio_vsock.h"
#include "../../src/devices/virtio/vsock_internal.h"
#include "test_virtio_util.h"

#define RAM (4u << 20)
#define QNUM 256
#define QBASE(i) (0x1000u + (i) * 0x4000u)
#define EVBUF 0xd000
#define RXBUF(k) (0x10000u + (k) * 0x1100u)
#define NRX 64
#define RXLEN (VSOCK_HDR_LEN + 4096)
#define TXBUF(k) (0x100000u + (k) * 0x11000u)
#define NTX 16
#define CID 3
#define HPORT0 VSOCK_LOCAL_PORT_FIRST
#define SEND VIRTIO_VSOCK_SHUTDOWN_SEND
#define RCV VIRTIO_VSOCK_SHUTDOWN_RCV

struct t {
	struct guest_mem gm;
	struct evloop loop;
	struct vsock_dev *v;
	struct virtio_dev *d;
	int irq_fd;
	struct vq_drv q[3];
	char dir[64], uds[128];
	uint64_t rx_gpa[QNUM];
	bool rx_split[QNUM];
	unsigned rx_posted;
	uint16_t rx_seen;
	unsigned tx_slot;
};

/* The guest's end of one connection. */
struct g {
	uint32_t lport, pport;	       /* guest port, host port */
	uint32_t buf_alloc, fwd_cnt;   /* what the guest advertises */
	uint32_t tx_cnt;	       /* bytes it sent */
	uint32_t host_buf, host_fwd;   /* ember's credit from its last packet */
};

static uint64_t fake_ns = 1000 * VSOCK_MS;
static uint64_t fake_now(void) { return fake_ns; }

static uint8_t *ram(struct t *t, uint64_t gpa) { return vt_ram(&t->gm, gpa); }

/* One RX buffer: alternately one descriptor, and header + 4 KiB apart. */
static void rx_post(struct t *t, unsigned k)
{
	struct vq_drv *q = &t->q[0];
	bool split = k % 2;
	uint16_t head;

	if (split)
		head = vq_add_chain(q, (struct seg[]){ { RXBUF(k), VSOCK_HDR_LEN, true },
						       { RXBUF(k) + 64, 4096, true } }, 2);
	else
		head = vq_add_chain(q, (struct seg[]){ { RXBUF(k), RXLEN, true } }, 1);
	t->rx_gpa[head] = RXBUF(k);
	t->rx_split[head] = split;
}

static struct t *setup_path(const char *sub)
{
	struct t *t = calloc(1, sizeof(*t));
	struct res_vsock cfg = { .set = true, .guest_cid = CID };

	assert_non_null(t);
	vt_ram_init(&t->gm, calloc(1, RAM), RAM);
	assert_int_equal(evloop_init(&t->loop), 0);
	t->irq_fd = eventfd(0, EFD_NONBLOCK);
	strcpy(t->dir, "/tmp/ember-vsock.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->uds, sizeof(t->uds), "%s/%s", t->dir, sub);
	cfg.uds_path = t->uds;
	if (vsock_create(&t->v, &cfg, &t->gm, &t->loop, 0xc0001000, 5, t->irq_fd)) {
		t->v = NULL;
		return t;
	}
	t->d = vsock_virtio(t->v);
	for (unsigned i = 0; i < 3; i++)
		t->q[i] = (struct vq_drv){ .d = t->d, .gm = &t->gm, .desc = QBASE(i),
					   .avail = QBASE(i) + 0x1000, .used = QBASE(i) + 0x2000,
					   .num = QNUM, .used_event = true };
	return t;
}

static void driver_init(struct t *t)
{
	vt_negotiate(t->d, ~0ull);
	for (unsigned i = 0; i < 3; i++)
		vt_queue_setup(&t->q[i], i, true);
	vt_driver_ok(t->d);
	for (unsigned k = 0; k < 4; k++)
		vq_add_chain(&t->q[2], (struct seg[]){ { EVBUF + 8 * k, 4, true } }, 1);
	virtio_queue_kick(t->d, 2);
	for (unsigned k = 0; k < NRX; k++)
		rx_post(t, k);
	t->rx_posted = NRX;
	virtio_queue_kick(t->d, 0);
}

static struct t *setup(void)
{
	struct t *t = setup_path("v.sock");

	assert_non_null(t->v);
	driver_init(t);
	return t;
}

static void teardown(struct t *t)
{
	char cmd[128];

	vsock_destroy(t->v);
	evloop_destroy(&t->loop);
	close(t->irq_fd);
	free(t->gm.r[0].host);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
}

static struct vsock_stats stats(struct t *t)
{
	struct vsock_stats s;
	vsock_get_stats(t->v, &s);
	return s;
}

/* --- the guest's RX side -------------------------------------------- */

/* Wait (running the loop, up to ~3 s) for the next RX packet: header into
 * *p, payload into data (max bytes); the buffer goes back to the ring. */
static bool rx_next_wait(struct t *t, struct vsock_pkt *p, uint8_t *data, size_t max, int tries)
{
	struct vq_drv *q = &t->q[0];
	struct virtio_vsock_hdr raw;
	struct vring_used_elem e;
	uint64_t gpa;

	for (int i = 0; i < tries && vq_used_idx(q) == t->rx_seen; i++)
		vt_run_loop(&t->loop, 10);
	if (vq_used_idx(q) == t->rx_seen)
		return false;
	e = vq_used_elem(q, t->rx_seen++);
	assert_true(e.id < QNUM);
	gpa = t->rx_gpa[e.id];
	memcpy(&raw, ram(t, gpa), sizeof(raw));
	vsock_pkt_decode(&raw, p);
	assert_int_equal(e.len, VSOCK_HDR_LEN + p->len);
	assert_true(p->len <= 4096);
	if (data) {
		assert_true(p->len <= max);
		memcpy(data, ram(t, gpa + (t->rx_split[e.id] ? 64 : VSOCK_HDR_LEN)), p->len);
	}
	/* every packet from the host is addressed right and carries credit */
	assert_int_equal(p->src_cid, VSOCK_HOST_CID);
	assert_int_equal(p->dst_cid, CID);
	assert_int_equal(p->buf_alloc, p->op == VIRTIO_VSOCK_OP_RST ? p->buf_alloc : VSOCK_CONN_BUF);
	rx_post(t, (unsigned)((gpa - RXBUF(0)) / 0x1100));
	virtio_queue_kick(t->d, 0);
	return true;
}

static bool rx_next(struct t *t, struct vsock_pkt *p, uint8_t *data, size_t max)
{
	return rx_next_wait(t, p, data, max, 300);
}

/* The next RX packet must be `op` for g (ports checked); payload to data. */
static struct vsock_pkt rx_expect(struct t *t, struct g *g, uint16_t op, uint8_t *data, size_t max)
{
	struct vsock_pkt p;

	if (!rx_next(t, &p, data, max))
		fail_msg("no RX packet (wanted op %u)", op);
	if (p.op != op)
		fail_msg("RX op %u, wanted %u", p.op, op);
	if (g) {
		assert_int_equal(p.dst_port, g->lport);
		if (g->pport)
			assert_int_equal(p.src_port, g->pport);
		g->host_buf = p.buf_alloc;
		g->host_fwd = p.fwd_cnt;
		g->fwd_cnt += p.len;
	}
	return p;
}

static void rx_none(struct t *t, int ms)
{
	struct vsock_pkt p;

	if (rx_next_wait(t, &p, NULL, 0, ms / 10))
		fail_msg("unexpected RX packet op %u %u->%u", p.op, p.src_port, p.dst_port);
}

/* --- the guest's TX side -------------------------------------------- */

/* Send a raw header (+ payload) as one descriptor or header/payload apart. */
static void tx_raw(struct t *t, const struct vsock_pkt *p, const void *data, uint32_t dlen,
		   bool split)
{
	struct vq_drv *q = &t->q[1];
	uint64_t gpa = TXBUF(t->tx_slot++ % NTX);
	struct virtio_vsock_hdr raw;
	uint16_t used = vq_used_idx(q);

	vsock_pkt_encode(p, &raw);
	memcpy(ram(t, gpa), &raw, sizeof(raw));
	if (dlen)
		memcpy(ram(t, gpa + 0x100), data, dlen);
	if (split && dlen)
		vq_add_chain(q, (struct seg[]){ { gpa, VSOCK_HDR_LEN, false },
						{ gpa + 0x100, dlen, false } }, 2);
	else if (dlen) {
		memmove(ram(t, gpa + VSOCK_HDR_LEN), ram(t, gpa + 0x100), dlen);
		vq_add_chain(q, (struct seg[]){ { gpa, VSOCK_HDR_LEN + dlen, false } }, 1);
	} else
		vq_add_chain(q, (struct seg[]){ { gpa, VSOCK_HDR_LEN, false } }, 1);
	virtio_queue_kick(t->d, 1);
	assert_int_equal(vq_used_idx(q), (uint16_t)(used + 1));
	assert_int_equal(vq_used_elem(q, used).len, 0);
	assert_false(t->d->broken);
}

static struct vsock_pkt gpkt(const struct g *g, uint16_t op)
{
	return (struct vsock_pkt){ .src_cid = CID, .dst_cid = VSOCK_HOST_CID,
				   .src_port = g->lport, .dst_port = g->pport,
				   .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
				   .buf_alloc = g->buf_alloc, .fwd_cnt = g->fwd_cnt };
}

static void tx(struct t *t, struct g *g, uint16_t op, uint32_t flags)
{
	struct vsock_pkt p = gpkt(g, op);

	p.flags = flags;
	tx_raw(t, &p, NULL, 0, false);
}

static void tx_data(struct t *t, struct g *g, const void *data, uint32_t len)
{
	struct vsock_pkt p = gpkt(g, VIRTIO_VSOCK_OP_RW);

	p.len = len;
	tx_raw(t, &p, data, len, g->tx_cnt % 2);
	g->tx_cnt += len;
}

/* What the guest may still send by ember's last word. */
static uint32_t g_credit(const struct g *g)
{
	return g->host_buf - (g->tx_cnt - g->host_fwd);
}

/* --- host processes --------------------------------------------------- */

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static int accept_wait(struct t *t, int lfd)
{
	for (int i = 0; i < 300; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0)
			return fd;
		vt_run_loop(&t->loop, 10);
	}
	fail_msg("no connection to accept");
	return -1;
}

static void host_write(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read `want` bytes (running the loop meanwhile, ~3 s at most); the count
 * read, fewer on EOF. */
static size_t host_read(struct t *t, int fd, void *buf, size_t want)
{
	size_t got = 0;

	for (int i = 0; i < 300 && got < want; i++) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, want - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
			i = 0;
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		vt_run_loop(&t->loop, 10);
	}
	return got;
}

/* Has ember closed its end (EOF or reset, after whatever data)? */
static bool host_closed(struct t *t, int fd)
{
	char buf[4096];

	for (int i = 0; i < 300; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			vt_run_loop(&t->loop, 10);
	}
	return false;
}

/* A host-initiated connection up to "OK <port>\n"; g filled. */
static int host_connect(struct t *t, struct g *g, uint32_t guest_port)
{
	char line[32], want[32];
	int fd = dial(t->uds);
	struct vsock_pkt p;

	snprintf(line, sizeof(line), "CONNECT %u\n", guest_port);
	host_write(fd, line, strlen(line));
	*g = (struct g){ .lport = guest_port, .buf_alloc = 256 * 1024 };
	p = rx_expect(t, g, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	assert_true(p.src_port >= HPORT0);
	assert_int_equal(p.fwd_cnt, 0);
	g->pport = p.src_port;
	tx(t, g, VIRTIO_VSOCK_OP_RESPONSE, 0);
	snprintf(want, sizeof(want), "OK %u\n", g->pport);
	memset(line, 0, sizeof(line));
	assert_int_equal(host_read(t, fd, line, strlen(want)), strlen(want));
	assert_string_equal(line, want);
	return fd;
}

/* --- tests ------------------------------------------------------------ */

static void test_identity(void **state)
{
	struct t *t = setup_path("v.sock");

	assert_non_null(t->v);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	assert_int_equal(vt_features(t->d),
			 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX);
	/* guest_cid, le64, as two 32-bit reads and byte reads */
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG), CID);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 4), 0);
	uint8_t b = 0xff;
	virtio_mmio_io(t->d, VIRTIO_MMIO_CONFIG, &b, 1, false);
	assert_int_equal(b, CID);
	/* read-only: a write is counted and changes nothing */
	vt_wr32(t->d, VIRTIO_MMIO_CONFIG, 77);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG), CID);
	assert_int_equal(stats(t).cfg_fails, 1);
	/* three queues of 256, no fourth */
	driver_init(t);
	vt_wr32(t->d, VIRTIO_MMIO_QUEUE_SEL, 3);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* the socket is there, and no packet before anyone asks */
	struct stat st;
	assert_int_equal(stat(t->uds, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	rx_none(t, 50);
	teardown(t);
}

static void test_host_initiated(void **state)
{
	struct t *t = setup();
	struct g g;
	int fd = host_connect(t, &g, 1234);
	uint8_t buf[4096];
	struct vsock_pkt p;

	assert_int_equal(g.pport, HPORT0);
	assert_int_equal(vsock_nr_conns(t->v), 1);
	/* host -> guest */
	host_write(fd, "hello", 5);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
	assert_int_equal(p.len, 5);
	assert_memory_equal(buf, "hello", 5);
	/* guest -> host, header and payload in one and in two descriptors */
	tx_data(t, &g, "world!", 6);
	tx_data(t, &g, "again", 5);
	assert_int_equal(host_read(t, fd, buf, 11), 11);
	assert_memory_equal(buf, "world!again", 11);
	/* bytes the host client sent right after its CONNECT line go through too */
	struct g g2;
	int fd2 = dial(t->uds);
	host_write(fd2, "CONNECT 77\nearly", 16);
	g2 = (struct g){ .lport = 77, .buf_alloc = 4096 };
	p = rx_expect(t, &g2, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	assert_int_equal(p.src_port, HPORT0 + 1); /* next host port */
	g2.pport = p.src_port;
	tx(t, &g2, VIRTIO_VSOCK_OP_RESPONSE, 0);
	assert_int_equal(host_read(t, fd2, buf, 14), 14);
	assert_memory_equal(buf, "OK 1073741825\n", 14);
	p = rx_expect(t, &g2, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
	assert_int_equal(p.len, 5);
	assert_memory_equal(buf, "early", 5);
	/* the guest closes: the host sees EOF, the guest gets the final RST */
	tx(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, RCV | SEND);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_true(host_closed(t, fd));
	assert_int_equal(vsock_nr_conns(t->v), 1);

	struct vsock_stats s = stats(t);
	assert_int_equal(s.conns_added, 2);
	assert_int_equal(s.conns_removed, 1);
	assert_int_equal(s.conns_killed, 0);
	assert_int_equal(s.tx_bytes_count, 11);
	assert_int_equal(s.rx_bytes_count, 10);
	assert_int_equal(s.tx_queue_event_fails + s.rx_queue_event_fails, 0);
	close(fd);
	close(fd2);
	teardown(t);
}

static void test_host_initiated_refused(void **state)
{
	struct t *t = setup();
	struct g g = { .lport = 99 };
	int fd = dial(t->uds);
	struct vsock_pkt p;

	host_write(fd, "CONNECT 99\n", 11);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	g.pport = p.src_port;
	/* nobody listens on 99 in the guest */
	tx(t, &g, VIRTIO_VSOCK_OP_RST, 0);
	assert_true(host_closed(t, fd));
	assert_int_equal(vsock_nr_conns(t->v), 0);
	rx_none(t, 30); /* no RST for an RST */
	close(fd);

	/* the guest never answers: RST after 2 s, socket closed */
	fd = dial(t->uds);
	host_write(fd, "CONNECT 98\n", 11);
	g = (struct g){ .lport = 98 };
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	g.pport = p.src_port;
	fake_ns += VSOCK_REQUEST_TIMEOUT_NS;
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_true(host_closed(t, fd));
	assert_int_equal(stats(t).conns_killed, 1);
	/* a late RESPONSE is for nothing: RST */
	tx(t, &g, VIRTIO_VSOCK_OP_RESPONSE, 0);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	close(fd);

	/* the host client gives up before the guest answers */
	fd = dial(t->uds);
	host_write(fd, "CONNECT 97\n", 11);
	g = (struct g){ .lport = 97 };
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	g.pport = p.src_port;
	close(fd);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), 0);
	teardown(t);
}

static void test_connect_line_errors(void **state)
{
	struct t *t = setup();
	char big[40];
	int fd;

	static const char *const bad[] = { "HELLO\n", "CONNECT\n", "CONNECT 1x\n",
					   "CONNECT 4294967296\n", "OK 5\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = dial(t->uds);
		host_write(fd, bad[i], strlen(bad[i]));
		assert_true(host_closed(t, fd));
		close(fd);
	}
	/* no newline within VSOCK_LINE_MAX bytes */
	fd = dial(t->uds);
	memset(big, '1', sizeof(big));
	memcpy(big, "CONNECT ", 8);
	host_write(fd, big, sizeof(big));
	assert_true(host_closed(t, fd));
	close(fd);
	/* a line in pieces is fine */
	fd = dial(t->uds);
	host_write(fd, "CONN", 4);
	for (int i = 0; i < 5; i++)
		vt_run_loop(&t->loop, 10);
	host_write(fd, "ECT 5\n", 6);
	struct g g = { .lport = 5 };
	rx_expect(t, &g, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	close(fd);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	/* silence: closed after the line timeout */
	fd = dial(t->uds);
	host_write(fd, "CONNECT 1", 9);
	for (int i = 0; i < 5; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vsock_nr_conns(t->v), 1);
	fake_ns += VSOCK_LINE_TIMEOUT_NS;
	assert_true(host_closed(t, fd));
	close(fd);
	/* leaving before the line: no fuss, no packet */
	fd = dial(t->uds);
	close(fd);
	rx_none(t, 50);
	assert_int_equal(vsock_nr_conns(t->v), 0);
	assert_int_equal(stats(t).muxer_event_fails, 7);
	assert_int_equal(stats(t).conns_added, 1);
	teardown(t);
}

static void test_guest_initiated(void **state)
{
	struct t *t = setup();
	char path[200];
	uint8_t buf[4096];
	struct g g = { .lport = 2000, .pport = 5000, .buf_alloc = 65536 };
	struct vsock_pkt p;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_5000", t->uds);
	lfd = listen_at(path);
	tx(t, &g, VIRTIO_VSOCK_OP_REQUEST, 0);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	assert_int_equal(p.fwd_cnt, 0);
	fd = accept_wait(t, lfd);
	tx_data(t, &g, "ping", 4);
	assert_int_equal(host_read(t, fd, buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);
	host_write(fd, "pong", 4);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
	assert_memory_equal(buf, "pong", 4);
	/* the host peer closes: SHUTDOWN(RCV|SEND), then RST */
	close(fd);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, NULL, 0);
	assert_int_equal(p.flags, RCV | SEND);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), 0);

	/* nobody listening on 5001: RST from (2, 5001) */
	struct g g2 = { .lport = 2001, .pport = 5001 };
	tx(t, &g2, VIRTIO_VSOCK_OP_REQUEST, 0);
	rx_expect(t, &g2, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), 0);
	assert_int_equal(stats(t).conns_added, 1);
	close(lfd);
	teardown(t);
}

static void test_half_close(void **state)
{
	struct t *t = setup();
	char path[200];
	uint8_t buf[64];
	struct g g = { .lport = 2000, .pport = 6000, .buf_alloc = 65536 };
	struct vsock_pkt p;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_6000", t->uds);
	lfd = listen_at(path);
	tx(t, &g, VIRTIO_VSOCK_OP_REQUEST, 0);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	fd = accept_wait(t, lfd);
	/* host done sending: the guest hears SHUTDOWN(SEND) after the data */
	host_write(fd, "last", 4);
	shutdown(fd, SHUT_WR);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
	assert_memory_equal(buf, "last", 4);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, NULL, 0);
	assert_int_equal(p.flags, SEND);
	/* ... and can still send */
	tx_data(t, &g, "reply", 5);
	assert_int_equal(host_read(t, fd, buf, 5), 5);
	assert_memory_equal(buf, "reply", 5);
	/* the guest finishes too: the host reads EOF, the guest gets RST */
	tx(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, SEND);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_true(host_closed(t, fd));
	close(fd);

	/* the other way round: guest SHUTDOWN(SEND), host still talks */
	g = (struct g){ .lport = 2002, .pport = 6000, .buf_alloc = 65536 };
	tx(t, &g, VIRTIO_VSOCK_OP_REQUEST, 0);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	fd = accept_wait(t, lfd);
	tx_data(t, &g, "bye", 3);
	tx(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, SEND);
	assert_int_equal(host_read(t, fd, buf, 64), 3); /* then EOF */
	host_write(fd, "still here", 10);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
	assert_memory_equal(buf, "still here", 10);
	close(fd);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, NULL, 0);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), 0);
	close(lfd);
	teardown(t);
}

/* Found in the lab (Linux guest, a host client sending 1 MiB then closing
 * at once): data and hang-up seen in one event. ember stopped watching
 * the hung-up socket, then a short read (less than the RX buffer) made it
 * wait for EPOLLIN that could never come: the end of the data, the EOF,
 * SHUTDOWN and RST were never sent and the connection stayed for good. */
static void test_host_writes_and_closes(void **state)
{
	struct t *t = setup();
	uint8_t buf[4096];
	struct g g;
	int fd = host_connect(t, &g, 4100);
	struct vsock_pkt p;

	host_write(fd, "the last words", 14);
	close(fd);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
	assert_int_equal(p.len, 14);
	assert_memory_equal(buf, "the last words", 14);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, NULL, 0);
	assert_int_equal(p.flags, RCV | SEND);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), 0);

	/* the same with more than one RX buffer's worth still in the socket */
	uint8_t *big = malloc(3 * 4096 + 100);
	uint32_t got = 0;

	for (uint32_t i = 0; i < 3 * 4096 + 100; i++)
		big[i] = (uint8_t)(i % 251);
	fd = host_connect(t, &g, 4101);
	host_write(fd, big, 3 * 4096 + 100);
	close(fd);
	while (got < 3 * 4096 + 100) {
		p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
		assert_memory_equal(buf, big + got, p.len);
		got += p.len;
	}
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_SHUTDOWN, NULL, 0);
	assert_int_equal(p.flags, RCV | SEND);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), 0);
	assert_int_equal(stats(t).conns_killed, 0);
	free(big);
	teardown(t);
}

static uint8_t pattern(uint64_t i) { return (uint8_t)(i % 251); }

/* 1 MiB each way with the credit rules on both ends and the bytes checked. */
static void test_bulk_with_credit(void **state)
{
	struct t *t = setup();
	const uint32_t total = 1u << 20;
	uint8_t *chunk = malloc(VSOCK_MAX_PAYLOAD), buf[4096];
	struct g g;
	int fd = host_connect(t, &g, 4000);
	uint32_t sent = 0, got = 0, told = 0;
	struct vsock_pkt p;

	/* guest -> host, obeying ember's credit */
	g.host_buf = VSOCK_CONN_BUF;
	while (got < total) {
		uint32_t n = g_credit(&g) < total - sent ? g_credit(&g) : total - sent;

		if (n > VSOCK_MAX_PAYLOAD)
			n = VSOCK_MAX_PAYLOAD;
		if (n) {
			for (uint32_t i = 0; i < n; i++)
				chunk[i] = pattern(sent + i);
			tx_data(t, &g, chunk, n);
			sent += n;
		}
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(buf[i], pattern(got + (uint32_t)i));
		if (r > 0)
			got += (uint32_t)r;
		vt_run_loop(&t->loop, 0);
		while (rx_next_wait(t, &p, NULL, 0, 0)) { /* credit updates */
			assert_int_equal(p.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
			g.host_fwd = p.fwd_cnt;
		}
		assert_true(g.tx_cnt - g.host_fwd <= VSOCK_CONN_BUF);
	}
	assert_int_equal(sent, total);

	/* host -> guest: a guest with 64 KiB of buffer updating its credit
	 * only every 32 KiB; ember must never overrun it */
	g.buf_alloc = 65536;
	tx(t, &g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	sent = got = 0;
	while (got < total) {
		if (sent < total) {
			uint32_t n = total - sent < 8192 ? total - sent : 8192;
			for (uint32_t i = 0; i < n; i++)
				chunk[i] = pattern(sent + i);
			ssize_t w = send(fd, chunk, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				sent += (uint32_t)w;
		}
		if (!rx_next_wait(t, &p, buf, sizeof(buf), 1))
			continue;
		if (p.op == VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
			tx(t, &g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
			continue;
		}
		assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
		for (uint32_t i = 0; i < p.len; i++)
			assert_int_equal(buf[i], pattern(got + i));
		got += p.len;
		assert_true(got - told <= g.buf_alloc); /* never past our credit */
		if (got - told >= 32768) {
			g.fwd_cnt = told = got;
			tx(t, &g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		}
	}
	assert_int_equal(stats(t).conns_killed, 0);
	close(fd);
	free(chunk);
	teardown(t);
}

/* A guest that gives no credit gets exactly its buf_alloc, one
 * CREDIT_REQUEST, then silence until it updates. */
static void test_guest_credit_respected(void **state)
{
	struct t *t = setup();
	uint8_t buf[4096], junk[100000];
	struct g g;
	int fd = host_connect(t, &g, 4001);
	uint32_t got = 0;
	struct vsock_pkt p;

	memset(junk, 'x', sizeof(junk));
	/* tell ember the guest only has 10000 bytes */
	g.buf_alloc = 10000;
	tx(t, &g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	host_write(fd, junk, sizeof(junk));
	while (got < 10000) {
		p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
		got += p.len;
	}
	assert_int_equal(got, 10000);
	p = rx_expect(t, &g, VIRTIO_VSOCK_OP_CREDIT_REQUEST, NULL, 0);
	rx_none(t, 50);
	/* an answer without new credit does not restart anything */
	g.fwd_cnt = 0;
	tx(t, &g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	rx_none(t, 50);
	/* consumed 3000: exactly 3000 more */
	g.fwd_cnt = 3000;
	tx(t, &g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	got = 0;
	while (got < 3000) {
		p = rx_expect(t, &g, VIRTIO_VSOCK_OP_RW, buf, sizeof(buf));
		got += p.len;
	}
	assert_int_equal(got, 3000);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_CREDIT_REQUEST, NULL, 0);
	rx_none(t, 50);
	close(fd);
	teardown(t);
}

/* A host peer that never reads: ember holds at most VSOCK_CONN_BUF bytes,
 * the guest's credit runs out, and more than that is reset. */
static void test_host_never_reads(void **state)
{
	struct t *t = setup();
	uint8_t *chunk = calloc(1, VSOCK_MAX_PAYLOAD);
	char path[200];
	struct g g = { .lport = 2100, .pport = 7000, .buf_alloc = 65536 };
	uint64_t sent = 0;
	int lfd, fd, queued = 0;
	struct vsock_pkt p;

	snprintf(path, sizeof(path), "%s_7000", t->uds);
	lfd = listen_at(path);
	tx(t, &g, VIRTIO_VSOCK_OP_REQUEST, 0);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	fd = accept_wait(t, lfd); /* and never read from */
	for (int idle = 0; idle < 3;) {
		uint32_t n = g_credit(&g) < VSOCK_MAX_PAYLOAD ? g_credit(&g) : VSOCK_MAX_PAYLOAD;

		if (n) {
			tx_data(t, &g, chunk, n);
			sent += n;
			idle = 0;
		} else {
			idle++;
		}
		while (rx_next_wait(t, &p, NULL, 0, 2)) {
			assert_int_equal(p.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
			g.host_fwd = p.fwd_cnt;
		}
	}
	assert_int_equal(g_credit(&g), 0);
	assert_int_equal(ioctl(fd, FIONREAD, &queued), 0);
	/* the host socket took what it could, ember holds the rest: no more
	 * than its cap, and the guest could use all the credit it was given */
	assert_true(sent > (uint64_t)queued);
	assert_true(sent - (uint64_t)queued <= VSOCK_CONN_BUF);
	assert_int_equal(g.tx_cnt - g.host_fwd, VSOCK_CONN_BUF);
	/* past the cap (the guest's view of our fwd_cnt may lag what the
	 * socket took, so fill what is really left first): reset */
	for (uint32_t room = VSOCK_CONN_BUF - (uint32_t)(sent - (uint64_t)queued); room;) {
		uint32_t n = room < VSOCK_MAX_PAYLOAD ? room : VSOCK_MAX_PAYLOAD;

		tx_data(t, &g, chunk, n);
		room -= n;
	}
	rx_none(t, 20);
	tx_data(t, &g, chunk, 1);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(stats(t).conns_killed, 1);
	assert_int_equal(vsock_nr_conns(t->v), 0);
	close(fd);
	close(lfd);
	free(chunk);
	teardown(t);
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < want && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < want)
		skip(); /* cannot open enough sockets here */
}

static void test_connection_limit(void **state)
{
	static int fds[VSOCK_MAX_CONNS];
	struct t *t;
	struct g g = { .lport = 3000, .pport = 8000 };
	char path[200];
	int extra, lfd;

	raise_nofile(2 * VSOCK_MAX_CONNS + 64);
	t = setup();
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		fds[i] = dial(t->uds);
	for (int i = 0; i < 300 && vsock_nr_conns(t->v) < VSOCK_MAX_CONNS; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vsock_nr_conns(t->v), VSOCK_MAX_CONNS);
	/* the 1024th host client is refused */
	extra = dial(t->uds);
	assert_true(host_closed(t, extra));
	close(extra);
	/* so is a guest connect, even to a listener */
	snprintf(path, sizeof(path), "%s_8000", t->uds);
	lfd = listen_at(path);
	tx(t, &g, VIRTIO_VSOCK_OP_REQUEST, 0);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), VSOCK_MAX_CONNS);
	/* one leaves: room for one more */
	close(fds[0]);
	for (int i = 0; i < 300 && vsock_nr_conns(t->v) == VSOCK_MAX_CONNS; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vsock_nr_conns(t->v), VSOCK_MAX_CONNS - 1);
	g.lport = 3001;
	tx(t, &g, VIRTIO_VSOCK_OP_REQUEST, 0);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	assert_int_equal(vsock_nr_conns(t->v), VSOCK_MAX_CONNS);
	for (unsigned i = 1; i < VSOCK_MAX_CONNS; i++)
		close(fds[i]);
	close(lfd);
	teardown(t);
}

/* accept4 failing with EMFILE must not spin the loop: the listener pauses
 * and the waiting client is taken at a later tick. */
static void test_listener_out_of_fds(void **state)
{
	struct t *t = setup();
	struct rlimit rl, low;
	struct g g = { .lport = 9 };
	int fd = dial(t->uds), probe = dup(0);

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)probe; /* the next fd ember asks for is over it */
	close(probe);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (int i = 0; i < 5; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(stats(t).muxer_event_fails, 1); /* once, not a spin */
	assert_int_equal(vsock_nr_conns(t->v), 0);
	host_write(fd, "CONNECT 9\n", 10);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	assert_int_equal(stats(t).muxer_event_fails, 1);
	close(fd);
	teardown(t);
}

static void test_hostile_tx(void **state)
{
	struct t *t = setup();
	struct g g;
	int fd = host_connect(t, &g, 1234);
	struct vsock_pkt p, base = gpkt(&g, VIRTIO_VSOCK_OP_RW);
	struct vq_drv *q = &t->q[1];
	uint8_t buf[256] = { 0 };
	uint64_t fails = stats(t).tx_queue_event_fails;

	/* dropped silently: truncated header, writable TX buffer, foreign CIDs */
	vq_add_chain(q, (struct seg[]){ { TXBUF(0), VSOCK_HDR_LEN - 1, false } }, 1);
	vq_add_chain(q, (struct seg[]){ { TXBUF(1), VSOCK_HDR_LEN, true } }, 1);
	vq_add_chain(q, (struct seg[]){ { TXBUF(2), 0, false } }, 1);
	virtio_queue_kick(t->d, 1);
	assert_int_equal(stats(t).tx_queue_event_fails, fails + 3);
	p = base;
	p.src_cid = CID + 1;
	tx_raw(t, &p, buf, 10, false);
	p = base;
	p.dst_cid = 1;
	tx_raw(t, &p, buf, 10, false);
	rx_none(t, 30);
	assert_int_equal(stats(t).tx_queue_event_fails, fails + 5);
	/* answered with RST, not tied to our connection: wrong type */
	p = base;
	p.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	tx_raw(t, &p, buf, 10, false);
	p = rx_expect(t, NULL, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_int_equal(p.type, VIRTIO_VSOCK_TYPE_SEQPACKET);
	assert_int_equal(vsock_nr_conns(t->v), 1);
	/* packets for no connection: RST, but never for an RST */
	struct g stray = { .lport = 4444, .pport = 5555 };
	tx(t, &stray, VIRTIO_VSOCK_OP_RW, 0);
	tx(t, &stray, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	tx(t, &stray, VIRTIO_VSOCK_OP_RST, 0);
	rx_expect(t, &stray, VIRTIO_VSOCK_OP_RST, NULL, 0);
	rx_expect(t, &stray, VIRTIO_VSOCK_OP_RST, NULL, 0);
	rx_none(t, 30);
	/* len beyond the descriptor, on the live connection: it is reset */
	p = base;
	p.len = 200;
	tx_raw(t, &p, buf, 100, false);
	rx_expect(t, &g, VIRTIO_VSOCK_OP_RST, NULL, 0);
	assert_true(host_closed(t, fd));
	assert_int_equal(vsock_nr_conns(t->v), 0);
	close(fd);
	/* more: each counted, none breaks the device */
	static const struct { uint16_t op; uint32_t len, dlen, flags; uint16_t type; } bad[] = {
		{ 0, 0, 0, 0, 1 },			/* op 0 */
		{ 9, 0, 0, 0, 1 },			/* op 9 */
		{ VIRTIO_VSOCK_OP_RW, 65537, 100, 0, 1 }, /* len over 64 KiB */
		{ VIRTIO_VSOCK_OP_RW, 4, 4, 1, 1 },	/* flags on RW */
		{ VIRTIO_VSOCK_OP_REQUEST, 4, 4, 0, 1 }, /* payload on REQUEST */
		{ VIRTIO_VSOCK_OP_SHUTDOWN, 0, 0, 7, 1 }, /* unknown SHUTDOWN flag */
	};
	fails = stats(t).tx_queue_event_fails;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = gpkt(&stray, bad[i].op);
		p.len = bad[i].len;
		p.flags = bad[i].flags;
		p.type = bad[i].type;
		tx_raw(t, &p, buf, bad[i].dlen, false);
		rx_expect(t, &stray, VIRTIO_VSOCK_OP_RST, NULL, 0);
	}
	assert_int_equal(stats(t).tx_queue_event_fails, fails + 6);
	/* still works: a new connection end to end */
	fd = host_connect(t, &g, 1235);
	tx_data(t, &g, "ok", 2);
	assert_int_equal(host_read(t, fd, buf, 2), 2);
	assert_false(t->d->broken);
	close(fd);
	teardown(t);
}

/* RX buffers the guest got wrong: handed back empty, counted. */
static void test_bad_rx_buffers(void **state)
{
	struct t *t = setup_path("v.sock");
	struct vq_drv *rq = &t->q[0];
	struct g g = { .lport = 4, .pport = 5 };

	assert_non_null(t->v);
	vt_negotiate(t->d, ~0ull);
	for (unsigned i = 0; i < 3; i++)
		vt_queue_setup(&t->q[i], i, true);
	vt_driver_ok(t->d);
	vq_add_chain(rq, (struct seg[]){ { RXBUF(0), 4096, false } }, 1);
	vq_add_chain(rq, (struct seg[]){ { RXBUF(1), 43, true } }, 1);
	vq_add_chain(rq, (struct seg[]){ { RXBUF(2), 20, true }, { RXBUF(2) + 20, 24, true } }, 2);
	virtio_queue_kick(t->d, 0);
	assert_int_equal(vq_used_idx(rq), 0); /* nothing to send: all kept */
	tx(t, &g, VIRTIO_VSOCK_OP_RW, 0); /* earns an RST */
	assert_int_equal(vq_used_idx(rq), 3);
	assert_int_equal(vq_used_elem(rq, 0).len, 0);
	assert_int_equal(vq_used_elem(rq, 1).len, 0);
	/* 44 bytes over two descriptors hold a header */
	assert_int_equal(vq_used_elem(rq, 2).len, VSOCK_HDR_LEN);
	assert_int_equal(stats(t).rx_queue_event_fails, 2);
	assert_false(t->d->broken);
	teardown(t);
}

static void test_reset_drops_all(void **state)
{
	struct t *t = setup();
	struct g g;
	int a = host_connect(t, &g, 10), b = host_connect(t, &g, 11), c = dial(t->uds);

	for (int i = 0; i < 5; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vsock_nr_conns(t->v), 3);
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vsock_nr_conns(t->v), 0);
	assert_true(host_closed(t, a));
	assert_true(host_closed(t, b));
	assert_true(host_closed(t, c));
	close(a);
	close(b);
	close(c);
	/* the listener survives a reset; the driver comes back */
	for (unsigned i = 0; i < 3; i++) {
		memset(ram(t, QBASE(i)), 0, 0x3000);
		t->q[i].avail_idx = t->q[i].next_desc = 0;
	}
	t->rx_seen = 0;
	driver_init(t);
	a = host_connect(t, &g, 12);
	assert_int_equal(g.pport, HPORT0 + 2); /* host ports keep counting */
	close(a);
	teardown(t);
}

static void test_uds_path(void **state)
{
	struct t *t;
	struct res_vsock cfg = { .set = true, .guest_cid = CID };
	struct vsock_dev *v;
	struct evloop loop;
	char path[200];
	int fd;

	/* a stale socket file is replaced */
	t = setup_path("v.sock");
	snprintf(path, sizeof(path), "%s", t->uds);
	vsock_destroy(t->v);
	assert_int_equal(access(path, F_OK), -1); /* destroy unlinks it */
	fd = listen_at(path);
	close(fd); /* leaves the file behind */
	cfg.uds_path = path;
	assert_int_equal(vsock_create(&t->v, &cfg, &t->gm, &t->loop, 0xc0001000, 5, t->irq_fd),
			 0);
	fd = dial(path);
	close(fd);
	/* a live one (another VMM's) is never taken over */
	assert_int_equal(evloop_init(&loop), 0);
	assert_int_equal(vsock_create(&v, &cfg, &t->gm, &loop, 0xc0001000, 5, -1), -EADDRINUSE);
	fd = dial(path);
	assert_true(fd >= 0); /* still served */
	close(fd);
	/* a directory that does not exist: -ENOENT, with the path in the log */
	log_clear_last_error();
	snprintf(path, sizeof(path), "%s/nodir/v.sock", t->dir);
	cfg.uds_path = path;
	assert_int_equal(vsock_create(&v, &cfg, &t->gm, &loop, 0xc0001000, 5, -1), -ENOENT);
	assert_non_null(strstr(log_last_error(), path));
	assert_non_null(strstr(log_last_error(), "No such file or directory"));
	/* a regular file is never deleted */
	snprintf(path, sizeof(path), "%s/file", t->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(vsock_create(&v, &cfg, &t->gm, &loop, 0xc0001000, 5, -1), -EEXIST);
	assert_int_equal(access(path, F_OK), 0);
	evloop_destroy(&loop);
	teardown(t);
}

static void test_metrics(void **state)
{
	struct t *t = setup();
	struct metrics m;
	struct g g;
	int fd = host_connect(t, &g, 1);

	tx_data(t, &g, "abc", 3);
	memset(&m, 0, sizeof(m));
	m.vsock.tx_bytes_count = 100;
	vsock_add_metrics(t->v, &m);
	assert_int_equal(m.vsock.tx_bytes_count, 103);
	assert_int_equal(m.vsock.conns_added, 1);
	assert_int_equal(m.vsock.tx_packets_count, 2); /* RESPONSE, RW */
	assert_int_equal(m.vsock.rx_packets_count, 1); /* REQUEST */
	assert_true(m.vsock.tx_queue_event_count >= 2);
	assert_true(m.vsock.rx_queue_event_count >= 1);
	close(fd);
	teardown(t);
}

static int group_setup(void **state)
{
	vsock_now_ns = fake_now;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_host_initiated),
		cmocka_unit_test(test_host_initiated_refused),
		cmocka_unit_test(test_connect_line_errors),
		cmocka_unit_test(test_guest_initiated),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_host_writes_and_closes),
		cmocka_unit_test(test_bulk_with_credit),
		cmocka_unit_test(test_guest_credit_respected),
		cmocka_unit_test(test_host_never_reads),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_listener_out_of_fds),
		cmocka_unit_test(test_hostile_tx),
		cmocka_unit_test(test_bad_rx_buffers),
		cmocka_unit_test(test_reset_drops_all),
		cmocka_unit_test(test_uds_path),
		cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
