/* virtio-net over a real TAP (we are root; /dev/net/tun works): the device
 * creates the TAP, the test brings it up (IPv6 off, so the host sends
 * nothing of its own) and talks to it through an AF_PACKET socket bound to
 * the interface. Guest TX arrives there with its vnet header's offloads
 * (PACKET_VNET_HDR); frames sent there reach the guest through the TAP's
 * fd, as TUNSETOFFLOAD allows: one GSO frame when the driver took TSO,
 * segments when it did not. Plus features and config space, MRG_RXBUF
 * splitting with num_buffers, frames too big for the guest's buffers,
 * spoofed source MACs, hostile TX and RX chains, rate limiters and PATCH,
 * reset and metrics. */
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_ether.h>

#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/rate_limiter.h"
#include "test_net_util.h"

static uint64_t fake_ns = 5000 * MS;
static uint64_t fake_now(void) { return fake_ns; }

struct tt {
	struct nt *t;
	char name[IFNAMSIZ];
	int pfd; /* AF_PACKET on the TAP, with a virtio_net_hdr (10 bytes) */
	int ifindex;
};

static void if_up(const char *name)
{
	char path[128];
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	if ((f = fopen(path, "w"))) {
		fputs("1", f);
		fclose(f);
	}
	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static struct tt *tt_new_cfg(struct res_net *cfg, uint64_t mask)
{
	static unsigned seq;
	struct tt *x = calloc(1, sizeof(*x));
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int one = 1;

	assert_non_null(x);
	snprintf(x->name, sizeof(x->name), "embn%05u%02u", (unsigned)getpid() % 100000, seq++ % 100);
	static char eth0[] = "eth0";

	cfg->id = eth0;
	cfg->host_dev_name = x->name;
	x->t = nt_new(cfg);
	if_up(x->name);
	x->ifindex = (int)if_nametoindex(x->name);
	assert_true(x->ifindex > 0);
	x->pfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(x->pfd >= 0);
	assert_int_equal(setsockopt(x->pfd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	sa.sll_ifindex = x->ifindex;
	assert_int_equal(bind(x->pfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	nt_init(x->t, mask);
	return x;
}

static struct tt *tt_new(uint64_t mask)
{
	struct res_net cfg = { 0 };

	return tt_new_cfg(&cfg, mask);
}

static void tt_free(struct tt *x)
{
	close(x->pfd);
	nt_free(x->t);
	free(x);
}

/* The next frame the interface received (not one we sent), with its
 * 10-byte virtio_net_hdr; the frame's length or -1 after timeout_ms. */
static ssize_t pkt_recv(struct tt *x, struct virtio_net_hdr *h, uint8_t *buf, size_t len,
			int timeout_ms)
{
	struct pollfd p = { .fd = x->pfd, .events = POLLIN };
	uint8_t tmp[sizeof(*h) + 70000];

	while (poll(&p, 1, timeout_ms) == 1) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(x->pfd, tmp, sizeof(tmp), 0, (struct sockaddr *)&from, &fl);

		if (r < (ssize_t)sizeof(*h) || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		memcpy(h, tmp, sizeof(*h));
		r -= (ssize_t)sizeof(*h);
		memcpy(buf, tmp + sizeof(*h), (size_t)r < len ? (size_t)r : len);
		return r;
	}
	return -1;
}

/* Send a frame out of the interface: it reaches the device's TAP fd. */
static void pkt_send(struct tt *x, const struct virtio_net_hdr *h, const uint8_t *frame,
		     size_t len)
{
	static uint8_t tmp[sizeof(*h) + 70000];
	struct virtio_net_hdr zero = { 0 };

	memcpy(tmp, h ? h : &zero, sizeof(*h));
	memcpy(tmp + sizeof(*h), frame, len);
	assert_int_equal(send(x->pfd, tmp, sizeof(*h) + len, 0), (ssize_t)(sizeof(*h) + len));
}

static uint8_t frame_buf[70000], got_buf[70000];

static void test_features_config(void **state)
{
	struct res_net cfg = { .has_mac = true, .mtu = 9000 };
	memcpy(cfg.mac, GUEST_MAC, 6);
	struct tt *x = tt_new_cfg(&cfg, ALL_FEATURES);
	struct nt *t = x->t;
	const uint64_t want = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
			      F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
			      F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
			      F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_STATUS) |
			      F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_MTU) |
			      F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_F_VERSION_1);

	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_DEVICE_ID), 1);
	assert_int_equal(vt_features(t->d), want);
	assert_int_equal(t->acked, want);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(nt_cfg(t, i, 1), GUEST_MAC[i]);
	assert_true(nt_link_up(t));
	assert_int_equal(nt_cfg(t, offsetof(struct virtio_net_config, max_virtqueue_pairs), 2), 1);
	assert_int_equal(nt_cfg(t, offsetof(struct virtio_net_config, mtu), 2), 9000);
	/* the config space is read-only for a VERSION_1 driver */
	uint32_t junk = 0xffffffff;
	virtio_mmio_io(t->d, VIRTIO_MMIO_CONFIG, (uint8_t *)&junk, 4, true);
	assert_int_equal(nt_cfg(t, 0, 1), GUEST_MAC[0]);
	assert_int_equal(nt_stats(t).cfg_fails, 1);
	/* speed/duplex are not offered: past the config space reads 0 */
	assert_int_equal(nt_cfg(t, offsetof(struct virtio_net_config, speed), 4), 0);
	/* both queues are there, a third is not */
	vt_wr32(t->d, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_QUEUE_NUM_MAX), QNUM);
	vt_wr32(t->d, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	tt_free(x);

	/* no guest_mac, no mtu: the guest picks its MAC, no MTU advice */
	x = tt_new(ALL_FEATURES);
	t = x->t;
	assert_int_equal(vt_features(t->d), want & ~(F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_MTU)));
	assert_int_equal(nt_cfg(t, 0, 4), 0);
	assert_int_equal(nt_cfg(t, offsetof(struct virtio_net_config, mtu), 2), 0);
	/* TSO without the checksum offload of its direction is refused (§5.1.3.1) */
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, 0);
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_wr32(t->d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vt_wr32(t->d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)F(VIRTIO_NET_F_GUEST_TSO4));
	vt_wr32(t->d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vt_wr32(t->d, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, S_FEAT);
	assert_false(vt_rd32(t->d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	tt_free(x);
	(void)state;
}

static void test_tx_to_tap(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES);
	struct nt *t = x->t;
	struct virtio_net_hdr h;
	const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	for (unsigned nseg = 1; nseg <= 4; nseg++) {
		mk_frame(frame_buf, 200 + nseg, bcast, GUEST_MAC, nseg);
		nt_send(t, frame_buf, 200 + nseg, nseg);
		assert_int_equal(vq_used_idx(&t->tx), nseg);
		assert_int_equal(vq_used_elem(&t->tx, (uint16_t)(nseg - 1)).len, 0);
		assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), 200 + nseg);
		assert_memory_equal(got_buf, frame_buf, 200 + nseg);
		assert_int_equal(h.flags, 0);
		assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	}
	struct net_stats s = nt_stats(t);
	assert_int_equal(s.tx_packets_count, 4);
	assert_int_equal(s.tx_count, 4);
	assert_int_equal(s.tx_bytes_count, 201 + 202 + 203 + 204);
	assert_int_equal(s.tx_queue_event_count, 4);
	assert_int_equal(s.tx_malformed_frames + s.tx_fails + s.tap_write_fails, 0);
	assert_true(vt_irqs(t->irq_fd) >= 1);
	tt_free(x);
	(void)state;
}

/* Ethernet + IPv4 + TCP (or UDP) headers for a `paylen`-byte payload, with
 * the IP checksum done and the L4 checksum left partial (pseudo-header
 * sum), as a stack using the checksum offload leaves it. Returns length. */
static size_t mk_ip(uint8_t *p, bool tcp, size_t paylen)
{
	const size_t l4 = tcp ? 20 : 8, tot = 20 + l4 + paylen;
	uint32_t sum = 0;

	memcpy(p, PEER_MAC, 6);
	memcpy(p + 6, GUEST_MAC, 6);
	p[12] = 0x08, p[13] = 0x00;
	uint8_t *ip = p + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot, ip[6] = 0x40;
	ip[8] = 64, ip[9] = tcp ? 6 : 17;
	ip[12] = 10, ip[15] = 2, ip[16] = 10, ip[19] = 1;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8), ip[11] = (uint8_t)~sum;
	uint8_t *l = ip + 20;
	memset(l, 0, l4);
	l[0] = 0x30, l[1] = 0x39, l[2] = 0x1f, l[3] = 0x90; /* ports 12345 -> 8080 */
	if (tcp) {
		l[7] = 1, l[12] = 0x50, l[13] = 0x18, l[14] = 0xff, l[15] = 0xff;
	} else {
		l[4] = (uint8_t)((l4 + paylen) >> 8), l[5] = (uint8_t)(l4 + paylen);
	}
	for (size_t i = 0; i < paylen; i++)
		l[l4 + i] = (uint8_t)(i * 13);
	/* partial checksum: the pseudo header only */
	sum = 0x0a00 + 0x0002 + 0x0a00 + 0x0001 + ip[9] + (uint32_t)(l4 + paylen);
	sum = (sum & 0xffff) + (sum >> 16);
	l[tcp ? 16 : 6] = (uint8_t)(sum >> 8), l[tcp ? 17 : 7] = (uint8_t)sum;
	return 14 + tot;
}

/* The guest's vnet header reaches the TAP as it was: partial checksum and
 * TSO are the host's to finish. */
static void test_tx_offloads_kept(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES);
	struct nt *t = x->t;
	struct virtio_net_hdr h;
	size_t len = mk_ip(frame_buf, false, 100);
	struct virtio_net_hdr_v1 vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.csum_start = htole16(34), .csum_offset = htole16(6) };

	nt_queue_tx(t, &vh, frame_buf, len, 2);
	virtio_queue_kick(t->d, NET_TXQ);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), (ssize_t)len);
	assert_memory_equal(got_buf, frame_buf, len);
	assert_int_equal(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.csum_start, 34);
	assert_int_equal(h.csum_offset, 6);

	len = mk_ip(frame_buf, true, 4000);
	vh = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					 .hdr_len = htole16(54), .gso_size = htole16(1448),
					 .csum_start = htole16(34), .csum_offset = htole16(16) };
	nt_queue_tx(t, &vh, frame_buf, len, 3);
	virtio_queue_kick(t->d, NET_TXQ);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), (ssize_t)len);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(h.gso_size, 1448);
	assert_memory_equal(got_buf, frame_buf, len);
	assert_int_equal(nt_stats(t).tx_packets_count, 2);
	tt_free(x);
	(void)state;
}

static void test_rx_from_tap(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES & ~F(VIRTIO_NET_F_MRG_RXBUF));
	struct nt *t = x->t;
	struct virtio_net_hdr_v1 *h = (void *)ram(t, RXBUF);

	nt_post_rx(t, RXBUF, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	vt_irqs(t->irq_fd);
	mk_frame(frame_buf, 300, GUEST_MAC, PEER_MAC, 42);
	pkt_send(x, NULL, frame_buf, 300);
	nt_wait_rx(t, 1);
	assert_int_equal(vq_used_elem(&t->rx, 0).len, HDR + 300);
	assert_int_equal(le16toh(h->num_buffers), 1);
	assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_memory_equal(ram(t, RXBUF + HDR), frame_buf, 300);
	assert_true(vt_irqs(t->irq_fd) >= 1);
	struct net_stats s = nt_stats(t);
	assert_int_equal(s.rx_packets_count, 1);
	assert_int_equal(s.rx_bytes_count, 300);
	assert_true(s.rx_tap_event_count >= 1);
	assert_int_equal(s.rx_fails, 0);

	/* a frame with no buffer posted waits for one, then arrives */
	mk_frame(frame_buf, 100, GUEST_MAC, PEER_MAC, 43);
	pkt_send(x, NULL, frame_buf, 100);
	for (int i = 0; i < 20; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vq_used_idx(&t->rx), 1);
	assert_int_equal(nt_stats(t).no_rx_avail_buffer, 1);
	nt_post_rx(t, RXBUF + 0x1000, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	assert_int_equal(vq_used_idx(&t->rx), 2);
	assert_memory_equal(ram(t, RXBUF + 0x1000 + HDR), frame_buf, 100);
	tt_free(x);
	(void)state;
}

/* MRG_RXBUF: a frame over several chains, num_buffers in the first, all
 * published at once. */
static void test_rx_mrg(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES);
	struct nt *t = x->t;

	for (unsigned i = 0; i < 8; i++)
		nt_post_rx(t, RXBUF + i * 0x1000, 512);
	virtio_queue_kick(t->d, NET_RXQ);
	mk_frame(frame_buf, 1400, GUEST_MAC, PEER_MAC, 7);
	pkt_send(x, NULL, frame_buf, 1400);
	nt_wait_rx(t, 3);
	struct virtio_net_hdr_v1 *h = (void *)ram(t, RXBUF);
	assert_int_equal(le16toh(h->num_buffers), 3);
	assert_int_equal(vq_used_elem(&t->rx, 0).len, 512);
	assert_int_equal(vq_used_elem(&t->rx, 1).len, 512);
	assert_int_equal(vq_used_elem(&t->rx, 2).len, HDR + 1400 - 1024);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vq_used_elem(&t->rx, (uint16_t)i).id, i);
	memcpy(got_buf, ram(t, RXBUF + HDR), 500);
	memcpy(got_buf + 500, ram(t, RXBUF + 0x1000), 512);
	memcpy(got_buf + 1012, ram(t, RXBUF + 0x2000), 388);
	assert_memory_equal(got_buf, frame_buf, 1400);

	/* a small one takes one chain, num_buffers 1 */
	mk_frame(frame_buf, 60, GUEST_MAC, PEER_MAC, 8);
	pkt_send(x, NULL, frame_buf, 60);
	nt_wait_rx(t, 4);
	h = (void *)ram(t, RXBUF + 0x3000);
	assert_int_equal(le16toh(h->num_buffers), 1);
	assert_int_equal(vq_used_elem(&t->rx, 3).len, HDR + 60);
	tt_free(x);
	(void)state;
}

/* TUNSETOFFLOAD follows the driver: with GUEST_TSO4 a 20 KB TCP send is
 * one GSO frame; without, the host segments it before the TAP. */
static void test_rx_gso(void **state)
{
	for (int tso = 1; tso >= 0; tso--) {
		uint64_t mask = ALL_FEATURES;
		if (!tso)
			mask &= ~(F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6));
		struct tt *x = tt_new(mask);
		struct nt *t = x->t;
		size_t len = mk_ip(frame_buf, true, 20000);
		struct virtio_net_hdr ph = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
					     .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };

		for (unsigned i = 0; i < 64; i++)
			nt_post_rx(t, RXBUF + i * 0x1000, 4096);
		virtio_queue_kick(t->d, NET_RXQ);
		pkt_send(x, &ph, frame_buf, len);
		struct virtio_net_hdr_v1 *h = (void *)ram(t, RXBUF);
		if (tso) {
			nt_wait_rx(t, 5); /* 20054 + 12 bytes in 4 KiB buffers */
			assert_int_equal(le16toh(h->num_buffers), 5);
			assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
			assert_int_equal(le16toh(h->gso_size), 1448);
			assert_int_equal(nt_stats(t).rx_bytes_count, len);
		} else {
			/* 14 segments of 1448 bytes, each in one buffer */
			nt_wait_rx(t, 14);
			assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
			assert_int_equal(le16toh(h->num_buffers), 1);
			assert_int_equal(vq_used_elem(&t->rx, 0).len, HDR + 54 + 1448);
			assert_int_equal(nt_stats(t).rx_packets_count, 14);
		}
		tt_free(x);
	}
	(void)state;
}

/* Without MRG_RXBUF a frame needs one chain big enough: else it is dropped
 * and counted, and the chain stays for the next frame. */
static void test_rx_too_big(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES & ~F(VIRTIO_NET_F_MRG_RXBUF));
	struct nt *t = x->t;

	nt_post_rx(t, RXBUF, 256);
	virtio_queue_kick(t->d, NET_RXQ);
	mk_frame(frame_buf, 1000, GUEST_MAC, PEER_MAC, 1);
	pkt_send(x, NULL, frame_buf, 1000);
	for (int i = 0; i < 30 && !nt_stats(t).rx_fails; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(nt_stats(t).rx_fails, 1);
	assert_int_equal(vq_used_idx(&t->rx), 0);
	mk_frame(frame_buf, 100, GUEST_MAC, PEER_MAC, 2);
	pkt_send(x, NULL, frame_buf, 100);
	nt_wait_rx(t, 1);
	assert_int_equal(vq_used_elem(&t->rx, 0).len, HDR + 100);
	assert_memory_equal(ram(t, RXBUF + HDR), frame_buf, 100);
	tt_free(x);

	/* MRG_RXBUF: the driver's whole ring cannot hold it: dropped too */
	x = tt_new(ALL_FEATURES & ~(F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6)));
	t = x->t;
	t->rx.num = 2; /* a 2-entry RX ring: 2 x 256 bytes at most */
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, 0);
	t->acked = vt_negotiate(t->d, ALL_FEATURES);
	vt_queue_setup(&t->rx, 0, false);
	vt_queue_setup(&t->tx, 1, false);
	vt_driver_ok(t->d);
	t->rx.avail_idx = t->rx.next_desc = 0;
	nt_post_rx(t, RXBUF, 256);
	nt_post_rx(t, RXBUF + 0x1000, 256);
	virtio_queue_kick(t->d, NET_RXQ);
	mk_frame(frame_buf, 1000, GUEST_MAC, PEER_MAC, 3);
	pkt_send(x, NULL, frame_buf, 1000);
	for (int i = 0; i < 30 && !nt_stats(t).rx_fails; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(nt_stats(t).rx_fails, 1);
	assert_int_equal(vq_used_idx(&t->rx), 0);
	mk_frame(frame_buf, 400, GUEST_MAC, PEER_MAC, 4);
	pkt_send(x, NULL, frame_buf, 400);
	nt_wait_rx(t, 2);
	assert_int_equal(le16toh(((struct virtio_net_hdr_v1 *)ram(t, RXBUF))->num_buffers), 2);
	tt_free(x);
	(void)state;
}

/* The TAP backend counts a spoofed source MAC and still sends the frame
 * (Firecracker's behaviour). */
static void test_spoofed_tap(void **state)
{
	struct res_net cfg = { .has_mac = true };
	memcpy(cfg.mac, GUEST_MAC, 6);
	struct tt *x = tt_new_cfg(&cfg, ALL_FEATURES);
	struct nt *t = x->t;
	struct virtio_net_hdr h;

	mk_frame(frame_buf, 100, PEER_MAC, PEER_MAC, 1);
	nt_send(t, frame_buf, 100, 1);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), 100);
	mk_frame(frame_buf, 100, PEER_MAC, GUEST_MAC, 2);
	nt_send(t, frame_buf, 100, 1);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), 100);
	struct net_stats s = nt_stats(t);
	assert_int_equal(s.tx_spoofed_mac_count, 1);
	assert_int_equal(s.tx_packets_count, 2);
	tt_free(x);
	(void)state;
}

/* Hostile TX chains: each handed back with used.len 0 and counted; the
 * device keeps working. */
static void test_tx_hostile(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES & ~(F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6)));
	struct nt *t = x->t;
	struct virtio_net_hdr h;
	struct virtio_net_hdr_v1 vh = { 0 };
	uint64_t gpa = nt_txbuf(t, 4096);

	mk_frame(frame_buf, 100, PEER_MAC, GUEST_MAC, 9);
	/* header shorter than 12 bytes */
	vq_add_chain(&t->tx, (struct seg[]){ { gpa, 8, false } }, 1);
	/* a device-writable descriptor on TX */
	vq_add_chain(&t->tx, (struct seg[]){ { gpa, HDR, false }, { gpa + HDR, 100, true } }, 2);
	/* zero-length descriptors only */
	vq_add_chain(&t->tx, (struct seg[]){ { gpa, 0, false }, { gpa, 0, false } }, 2);
	/* TSO the driver did not negotiate */
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = htole16(1000);
	nt_queue_tx(t, &vh, frame_buf, 100, 1);
	/* a checksum field past the end of the frame */
	vh = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .csum_start = htole16(90), .csum_offset = htole16(10) };
	nt_queue_tx(t, &vh, frame_buf, 100, 1);
	/* a header and a frame shorter than an Ethernet header */
	vq_add_chain(&t->tx, (struct seg[]){ { gpa, HDR + 10, false } }, 1);
	/* then a good frame */
	nt_send(t, frame_buf, 100, 2);
	assert_int_equal(vq_used_idx(&t->tx), 7);
	for (uint16_t i = 0; i < 7; i++)
		assert_int_equal(vq_used_elem(&t->tx, i).len, 0);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), 100);
	assert_memory_equal(got_buf, frame_buf, 100);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 100), -1);
	struct net_stats s = nt_stats(t);
	assert_int_equal(s.tx_malformed_frames, 6);
	assert_int_equal(s.tx_packets_count, 1);
	assert_false(vt_rd32(t->d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	tt_free(x);
	(void)state;
}

/* Hostile RX chains: handed back empty and counted; a frame still finds
 * the good chain behind them. */
static void test_rx_hostile(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES);
	struct nt *t = x->t;

	vq_add_chain(&t->rx, (struct seg[]){ { RXBUF, 2048, false } }, 1);       /* readable */
	vq_add_chain(&t->rx, (struct seg[]){ { RXBUF + 0x1000, 4, true } }, 1); /* < header */
	vq_add_chain(&t->rx, (struct seg[]){ { RXBUF + 0x2000, 0, true } }, 1); /* empty */
	nt_post_rx(t, RXBUF + 0x3000, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	mk_frame(frame_buf, 500, GUEST_MAC, PEER_MAC, 5);
	pkt_send(x, NULL, frame_buf, 500);
	nt_wait_rx(t, 4);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(vq_used_elem(&t->rx, i).len, 0);
	assert_int_equal(vq_used_elem(&t->rx, 3).len, HDR + 500);
	assert_memory_equal(ram(t, RXBUF + 0x3000 + HDR), frame_buf, 500);
	assert_int_equal(nt_stats(t).rx_fails, 3);

	/* MRG: a good chain, a bad one, then too little room: everything is put
	 * back until more comes; then the bad one is returned once, before the
	 * frame's two chains */
	nt_post_rx(t, RXBUF, 512);
	vq_add_chain(&t->rx, (struct seg[]){ { RXBUF + 0x1000, 2048, false } }, 1);
	virtio_queue_kick(t->d, NET_RXQ);
	mk_frame(frame_buf, 1000, GUEST_MAC, PEER_MAC, 7);
	pkt_send(x, NULL, frame_buf, 1000);
	for (int i = 0; i < 20; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vq_used_idx(&t->rx), 4);
	nt_post_rx(t, RXBUF + 0x2000, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	assert_int_equal(vq_used_idx(&t->rx), 7);
	assert_int_equal(vq_used_elem(&t->rx, 4).len, 0);
	assert_int_equal(vq_used_elem(&t->rx, 5).len, 512);
	assert_int_equal(vq_used_elem(&t->rx, 6).len, HDR + 1000 - 512);
	assert_int_equal(vq_used_elem(&t->rx, 4).id, 5); /* descriptors 4 (A), 5 (B), 6 (C) */
	assert_int_equal(vq_used_elem(&t->rx, 5).id, 4);
	assert_int_equal(vq_used_elem(&t->rx, 6).id, 6);
	assert_int_equal(le16toh(((struct virtio_net_hdr_v1 *)ram(t, RXBUF))->num_buffers), 2);
	assert_int_equal(nt_stats(t).rx_fails, 4);

	/* a malformed ring breaks the device, not ember; reset recovers */
	((struct vring_avail *)ram(t, RXA))->idx = htole16(t->rx.avail_idx + 1000);
	mk_frame(frame_buf, 64, GUEST_MAC, PEER_MAC, 6);
	pkt_send(x, NULL, frame_buf, 64);
	for (int i = 0; i < 30 && !(vt_rd32(t->d, VIRTIO_MMIO_STATUS) &
				    VIRTIO_CONFIG_S_NEEDS_RESET); i++)
		vt_run_loop(&t->loop, 10);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, 0);
	memset(ram(t, RXD), 0, 0x6000);
	memset(ram(t, TXD), 0, 0x4000);
	t->rx.avail_idx = t->rx.next_desc = t->tx.avail_idx = t->tx.next_desc = 0;
	nt_init(t, ALL_FEATURES);
	nt_post_rx(t, RXBUF, 2048);
	virtio_queue_kick(t->d, NET_RXQ); /* the 64-byte frame was held: it lands now */
	nt_wait_rx(t, 1);
	assert_int_equal(vq_used_elem(&t->rx, 0).len, HDR + 64);
	assert_memory_equal(ram(t, RXBUF + HDR), frame_buf, 64);
	tt_free(x);
	(void)state;
}

/* Rate limiters: a throttled TX frame stays in the ring until the timer;
 * PATCH replaces a limiter on the live device. */
static void test_rate_limiters(void **state)
{
	struct res_net cfg = { .tx = { .ops = { .set = true, .size = 1, .refill_time_ms = 1000 } },
			       .rx = { .ops = { .set = true, .size = 1, .refill_time_ms = 1000 } } };
	struct tt *x = tt_new_cfg(&cfg, ALL_FEATURES);
	struct nt *t = x->t;
	struct virtio_net_hdr h;

	mk_frame(frame_buf, 100, PEER_MAC, GUEST_MAC, 1);
	nt_send(t, frame_buf, 100, 1);
	nt_send(t, frame_buf, 100, 1);
	assert_int_equal(vq_used_idx(&t->tx), 1);
	assert_true(nt_stats(t).tx_rate_limiter_throttled >= 1);
	fake_ns += 1000 * MS;
	vq_wait_used(&t->tx, &t->loop, 2);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), 100);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), 100);
	assert_true(nt_stats(t).tx_rate_limiter_event_count >= 1);

	/* RX: one frame per second */
	nt_post_rx(t, RXBUF, 2048);
	nt_post_rx(t, RXBUF + 0x1000, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	pkt_send(x, NULL, frame_buf, 100);
	pkt_send(x, NULL, frame_buf, 100);
	nt_wait_rx(t, 1);
	for (int i = 0; i < 20; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vq_used_idx(&t->rx), 1);
	assert_true(nt_stats(t).rx_rate_limiter_throttled >= 1);
	fake_ns += 1000 * MS;
	nt_wait_rx(t, 2);

	/* PATCH: TX ops disabled, so a burst goes at once */
	struct res_net_update u = { .tx = { .ops = { .op = RES_BUCKET_DISABLE } } };
	assert_int_equal(net_patch(t->n, &u), 0);
	for (unsigned i = 0; i < 5; i++)
		nt_queue_tx(t, &(struct virtio_net_hdr_v1){ 0 }, frame_buf, 100, 1);
	virtio_queue_kick(t->d, NET_TXQ);
	assert_int_equal(vq_used_idx(&t->tx), 7);
	tt_free(x);
	(void)state;
}

static void test_metrics(void **state)
{
	struct tt *x = tt_new(ALL_FEATURES);
	struct nt *t = x->t;
	struct metrics m;
	struct virtio_net_hdr h;

	mk_frame(frame_buf, 100, PEER_MAC, GUEST_MAC, 1);
	nt_send(t, frame_buf, 100, 1);
	assert_int_equal(pkt_recv(x, &h, got_buf, sizeof(got_buf), 1000), 100);
	memset(&m, 0, sizeof(m));
	m.net.tx_bytes_count = 5;
	net_add_metrics(t->n, &m);
	assert_int_equal(m.net.tx_bytes_count, 105);
	assert_int_equal(m.net.tx_packets_count, 1);
	assert_int_equal(m.net.tx_queue_event_count, 1);
	tt_free(x);
	(void)state;
}

/* A TAP name the kernel refuses: net_create fails with a message. */
static void test_bad_tap(void **state)
{
	char id[] = "eth9", name[] = "bad/name";
	struct res_net cfg = { .id = id, .host_dev_name = name };
	int rc;

	assert_null(nt_new_rc(&cfg, &rc));
	assert_true(rc < 0);
	assert_non_null(strstr(log_last_error(), "Open tap device failed"));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_config),
		cmocka_unit_test(test_tx_to_tap),
		cmocka_unit_test(test_tx_offloads_kept),
		cmocka_unit_test(test_rx_from_tap),
		cmocka_unit_test(test_rx_mrg),
		cmocka_unit_test(test_rx_gso),
		cmocka_unit_test(test_rx_too_big),
		cmocka_unit_test(test_spoofed_tap),
		cmocka_unit_test(test_tx_hostile),
		cmocka_unit_test(test_rx_hostile),
		cmocka_unit_test(test_rate_limiters),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_bad_tap),
	};

	rl_now_ns = fake_now;
	log_set_level(LOG_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
