/* vsock: virtio-vsock (Firecracker's hybrid vsock, device id 19) through
 * lib/virtio.c with all three queues, polled; the host side is
 * tests/guest/vsock.sh. The guest reads its CID from the config space,
 * offers 4 KiB RX buffers, then:
 *   1. listens on port=N (default 52): answers the host's REQUEST with
 *      RESPONSE, echoes every RW payload back, answers CREDIT_REQUEST, and
 *      when the host shuts its sending side (SHUTDOWN SEND) shuts its own
 *      and waits for ember's RST;
 *   2. connects to host port connect=N (default 53; ember connects to
 *      <uds_path>_N), sends "hello from the guest\n", prints the line the
 *      host sends back, closes with SHUTDOWN(RCV|SEND) and waits for RST;
 *   3. REQUEST to host port closed=N (default 54, nobody listens): RST.
 * Every packet from ember must be addressed (CID 2 -> our CID) and carry
 * buf_alloc; the guest never sends past ember's credit.
 * Output: "vsock: cid N", "vsock: accepted host port H",
 * "vsock: echoed N bytes in M packets", "vsock: host said: <line>",
 * "vsock: port 54 refused", SUCCESS. */
#include "lib/virtio.h"

#define VIRTIO_ID_VSOCK 19
#define HDR 44
#define RXLEN 4096
#define NRX 16
#define TIMEOUT_US 15000000
#define HOST_CID 2
#define LOCAL_PORT 1024

enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE,
       OP_CREDIT_REQUEST };
#define SHUT_RCV 1
#define SHUT_SEND 2

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

/* The guest's end of the one connection open at a time. */
struct conn {
	uint32_t local, remote;		/* our port, the host's */
	uint32_t fwd_cnt;		/* bytes we consumed */
	uint32_t tx_cnt;		/* bytes we sent */
	uint32_t host_buf, host_fwd;	/* ember's credit */
};

static struct vdev devs[VIRTIO_MAX_DEVS];
static struct vdev *rxq, txq, evq;
static uint64_t cid;
static uint8_t *rxbuf[NRX], *txbuf;
static int rx_slot[VQ_MAX_SIZE];

static void rx_post(int i)
{
	struct vbuf b = { (uintptr_t)rxbuf[i], HDR + RXLEN, true };
	int head = vq_add(rxq, &b, 1);

	if (head < 0)
		guest_fail("vsock: no RX descriptor free");
	rx_slot[head] = i;
	vq_publish(rxq, (uint16_t)head);
}

/* One packet to the host: header and payload in separate descriptors, as
 * Linux sends them; waits until ember has taken it. */
static void pkt_send(struct conn *c, uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	struct hdr *h = (struct hdr *)txbuf;
	struct vbuf b[2] = { { (uintptr_t)txbuf, HDR, false }, { (uintptr_t)txbuf + 64, len, false } };
	uint32_t id, used;

	if (op == OP_RW && len > c->host_buf - (c->tx_cnt - c->host_fwd))
		guest_fail("vsock: no credit for %u bytes", len);
	*h = (struct hdr){ .src_cid = cid, .dst_cid = HOST_CID, .src_port = c->local,
			   .dst_port = c->remote, .len = len, .type = 1, .op = op, .flags = flags,
			   .buf_alloc = NRX * RXLEN, .fwd_cnt = c->fwd_cnt };
	if (len)
		memcpy(txbuf + 64, data, len);
	int head = vq_add(&txq, b, len ? 2 : 1);
	if (head < 0)
		guest_fail("vsock: no TX descriptor free");
	vq_publish(&txq, (uint16_t)head);
	vq_kick(&txq, false);
	if (!vq_wait(&txq, &id, &used, TIMEOUT_US))
		guest_fail("vsock: TX op %u not used within %u ms", op, TIMEOUT_US / 1000);
	if (op == OP_RW)
		c->tx_cnt += len;
}

/* The next packet from ember into *h and data (at most RXLEN bytes). */
static void pkt_recv(struct hdr *h, uint8_t *data, const char *waiting_for)
{
	uint32_t id, len;

	if (!vq_wait(rxq, &id, &len, TIMEOUT_US))
		guest_fail("vsock: nothing from the host while waiting for %s", waiting_for);
	int i = rx_slot[id];
	memcpy(h, rxbuf[i], HDR);
	if (len != HDR + h->len || h->len > RXLEN)
		guest_fail("vsock: used.len %u for a packet of %u bytes", len, h->len);
	if (h->src_cid != HOST_CID || h->dst_cid != cid || h->type != 1 || !h->buf_alloc)
		guest_fail("vsock: packet op %u from cid %lu to %lu type %u buf_alloc %u", h->op,
			   (unsigned long)h->src_cid, (unsigned long)h->dst_cid, h->type,
			   h->buf_alloc);
	memcpy(data, rxbuf[i] + HDR, h->len);
	rx_post(i);
	vq_kick(rxq, false);
}

static void expect(struct hdr *h, uint8_t *data, uint16_t op, const char *what)
{
	pkt_recv(h, data, what);
	if (h->op != op)
		guest_fail("vsock: op %u while waiting for %s", h->op, what);
}

static void take_credit(struct conn *c, const struct hdr *h)
{
	c->host_buf = h->buf_alloc;
	c->host_fwd = h->fwd_cnt;
}

/* 1: the host connects to `port`; echo until it shuts down. */
static void echo(uint32_t port, uint8_t *data)
{
	struct conn c = { .local = port };
	struct hdr h;
	uint64_t bytes = 0, packets = 0;

	expect(&h, data, OP_REQUEST, "the host's REQUEST");
	if (h.dst_port != port)
		guest_fail("vsock: REQUEST for port %u, listening on %u", h.dst_port, port);
	c.remote = h.src_port;
	take_credit(&c, &h);
	pkt_send(&c, OP_RESPONSE, 0, NULL, 0);
	gprintf("vsock: accepted host port %u\n", c.remote);
	for (;;) {
		pkt_recv(&h, data, "echo traffic");
		take_credit(&c, &h);
		if (h.op == OP_RW) {
			c.fwd_cnt += h.len;
			pkt_send(&c, OP_RW, 0, data, h.len);
			bytes += h.len;
			packets++;
		} else if (h.op == OP_CREDIT_REQUEST) {
			pkt_send(&c, OP_CREDIT_UPDATE, 0, NULL, 0);
		} else if (h.op == OP_SHUTDOWN && (h.flags & SHUT_SEND)) {
			pkt_send(&c, OP_SHUTDOWN, SHUT_SEND, NULL, 0);
		} else if (h.op == OP_RST) {
			break;
		} else if (h.op != OP_CREDIT_UPDATE) {
			guest_fail("vsock: unexpected op %u on the echo connection", h.op);
		}
	}
	gprintf("vsock: echoed %lu bytes in %lu packets\n", (unsigned long)bytes,
		(unsigned long)packets);
}

/* 2: the guest connects to host port `port`, says hello, reads a line. */
static void hello(uint32_t port, uint8_t *data)
{
	static const char msg[] = "hello from the guest\n";
	struct conn c = { .local = LOCAL_PORT, .remote = port };
	char line[128];
	uint32_t n = 0;
	struct hdr h;

	pkt_send(&c, OP_REQUEST, 0, NULL, 0);
	expect(&h, data, OP_RESPONSE, "RESPONSE from the host");
	if (h.src_port != port || h.dst_port != LOCAL_PORT)
		guest_fail("vsock: RESPONSE %u->%u", h.src_port, h.dst_port);
	take_credit(&c, &h);
	pkt_send(&c, OP_RW, 0, msg, sizeof(msg) - 1);
	while (!n || line[n - 1] != '\n') {
		expect(&h, data, OP_RW, "the host's line");
		take_credit(&c, &h);
		if (n + h.len >= sizeof(line))
			guest_fail("vsock: host line too long");
		memcpy(line + n, data, h.len);
		n += h.len;
		c.fwd_cnt += h.len;
	}
	line[n - 1] = 0;
	gprintf("vsock: host said: %s\n", line);
	pkt_send(&c, OP_SHUTDOWN, SHUT_RCV | SHUT_SEND, NULL, 0);
	expect(&h, data, OP_RST, "RST after SHUTDOWN");
}

/* 3: nobody listens: the REQUEST earns an RST. */
static void refused(uint32_t port, uint8_t *data)
{
	struct conn c = { .local = LOCAL_PORT + 1, .remote = port };
	struct hdr h;

	pkt_send(&c, OP_REQUEST, 0, NULL, 0);
	expect(&h, data, OP_RST, "RST for a port nobody listens on");
	gprintf("vsock: port %u refused\n", port);
}

static void setup(struct vdev *d)
{
	const char *why;

	if (vdev_negotiate(d, VIRTIO_F_EVENT_IDX, &why))
		guest_fail("vsock: init: %s", why);
	rxq = d;
	vdev_queue_view(&txq, d, 1);
	vdev_queue_view(&evq, d, 2);
	if (vdev_setup_queue(rxq, 64) || vdev_setup_queue(&txq, 64) || vdev_setup_queue(&evq, 8))
		guest_fail("vsock: queue setup failed");
	if (vdev_driver_ok(d, &why))
		guest_fail("vsock: DRIVER_OK: %s", why);
	cid = vcfg_read64(d, 0);
	gprintf("vsock: cid %lu\n", (unsigned long)cid);
	for (int i = 0; i < 4; i++) { /* the event queue's buffers, never used */
		struct vbuf b = { (uintptr_t)vdma_alloc(64, 64), 4, true };
		vq_publish(&evq, (uint16_t)vq_add(&evq, &b, 1));
	}
	vq_kick(&evq, true);
	for (int i = 0; i < NRX; i++) {
		rxbuf[i] = vdma_alloc(HDR + RXLEN, 64);
		rx_post(i);
	}
	vq_kick(rxq, true);
	txbuf = vdma_alloc(64 + RXLEN, 4096);
}

void guest_main(const struct boot_info *bi)
{
	const char *cl = bi->cmdline;
	uint8_t *data;

	gprintf("cmdline: %s\n", cl);
	vdma_init(bi);
	tsc_khz();
	int n = virtio_discover(bi, devs, VIRTIO_MAX_DEVS);
	struct vdev *d = virtio_find(devs, n, VIRTIO_ID_VSOCK, 0);
	if (!d)
		guest_fail("vsock: no virtio-vsock device among %d", n);
	setup(d);
	data = vdma_alloc(RXLEN, 4096);
	echo((uint32_t)cmdline_ul(cl, "port", 52), data);
	hello((uint32_t)cmdline_ul(cl, "connect", 53), data);
	refused((uint32_t)cmdline_ul(cl, "closed", 54), data);
	vdev_reset(d);
	guest_exit_success();
}
