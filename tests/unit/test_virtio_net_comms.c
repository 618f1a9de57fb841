/* virtio-net on the comms ring backend against an in-process peer: the
 * test listens (comms_listen), a thread completes each handshake
 * (comms_accept) while the device connects, and the test then plays the
 * switch with the server end of the link. Frames both ways (a 60 KB GSO
 * frame over MRG buffers), spoofed source MACs dropped, a full ring
 * holding TX chains in the guest's ring until the peer frees space, peer
 * death (DISCONNECT, bare hang-up, a corrupted ring index) taking the link
 * down with a config interrupt and a reconnect bringing it back, offloads
 * renegotiated for a driver that takes less, and no peer at all. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "ember/comms_ctl.h"
#include "ember/comms_ring.h"
#include "ember/log.h"
#include "../../src/comms/ring_internal.h" /* to corrupt the ring as a hostile peer */
#include "../../src/devices/virtio/net_comms_internal.h" /* the doorbell handler */
#include "test_net_util.h"

struct srv {
	char path[108];
	int lfd;
	struct comms_params offer;
	struct comms_link l;
	pthread_t th;
	int rc;
	bool running;
};

static void *accept_one(void *arg)
{
	struct srv *s = arg;
	char err[256];
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

	s->rc = fd < 0 ? -errno : comms_accept(fd, &s->offer, &s->l, err, sizeof(err));
	return NULL;
}

static void srv_accept_async(struct srv *s)
{
	assert_int_equal(pthread_create(&s->th, NULL, accept_one, s), 0);
	s->running = true;
}

static void srv_join(struct srv *s)
{
	if (s->running)
		pthread_join(s->th, NULL);
	s->running = false;
	assert_int_equal(s->rc, 0);
}

static struct srv *srv_new(uint32_t slots, uint32_t features)
{
	static unsigned seq;
	struct srv *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	snprintf(s->path, sizeof(s->path), "/tmp/ember-nettest-%d-%u.sock", (int)getpid(), seq++);
	s->lfd = comms_listen(s->path);
	assert_true(s->lfd >= 0);
	s->offer = (struct comms_params){ .geom = { slots, RING_DEF_SLOT_SIZE },
					  .features = features };
	return s;
}

static void srv_free(struct srv *s)
{
	if (s->running)
		pthread_join(s->th, NULL);
	comms_link_close(&s->l, "test over");
	close(s->lfd);
	unlink(s->path);
	free(s);
}

/* A device on s (connect + handshake), driver up with features & mask. */
static struct nt *dev_new(struct srv *s, bool mac, uint64_t mask)
{
	char id[] = "eth0";
	struct res_net cfg = { .id = id, .comms_socket = s->path, .has_mac = mac };
	struct nt *t;

	memcpy(cfg.mac, GUEST_MAC, 6);
	srv_accept_async(s);
	t = nt_new(&cfg);
	srv_join(s);
	nt_init(t, mask);
	return t;
}

/* The next frame the peer received: its length (0: none) and bytes. */
static uint32_t srv_recv(struct srv *s, struct ring_vnet_hdr *h, uint8_t *buf)
{
	struct ring_rx_frame f;

	if (ring_rx_peek(&s->l.rx, &f) != 1)
		return 0;
	if (h)
		*h = f.hdr;
	assert_int_equal(ring_rx_copy(&s->l.rx, &f, 0, buf, f.len), f.len);
	ring_rx_consume(&s->l.rx, &f);
	return f.len;
}

/* The peer sends one frame and rings the device's doorbell. */
static void srv_send(struct srv *s, const struct ring_vnet_hdr *h, const uint8_t *frame,
		     size_t len)
{
	struct iovec iov = { (void *)frame, len };

	assert_int_equal(ring_tx_frame(&s->l.tx, h, &iov, 1, len), 0);
	ring_tx_publish(&s->l.tx);
	comms_kick(&s->l);
}

static uint8_t frame_buf[70000], got_buf[70000];

static bool link_down(struct nt *t) { return !nt_link_up(t); }
static bool link_up(struct nt *t) { return nt_link_up(t); }

static void test_frames_both_ways(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, true, ALL_FEATURES);
	struct ring_vnet_hdr rh;

	/* every offload offered, since the peer carries them */
	assert_int_equal(s->l.p.features, COMMS_F_KNOWN);
	assert_true(t->acked & F(VIRTIO_NET_F_HOST_TSO4));
	assert_true(nt_link_up(t));
	assert_memory_equal(s->l.p.mac, GUEST_MAC, 6);

	/* guest -> peer, with its vnet header */
	mk_frame(frame_buf, 1000, PEER_MAC, GUEST_MAC, 1);
	struct virtio_net_hdr_v1 vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.csum_start = htole16(20), .csum_offset = htole16(6) };
	nt_queue_tx(t, &vh, frame_buf, 1000, 3);
	virtio_queue_kick(t->d, NET_TXQ);
	assert_int_equal(vq_used_idx(&t->tx), 1);
	assert_int_equal(srv_recv(s, &rh, got_buf), 1000);
	assert_memory_equal(got_buf, frame_buf, 1000);
	assert_int_equal(rh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(rh.csum_start, 20);
	assert_int_equal(rh.csum_offset, 6);

	/* peer -> guest: a 60 KB TSO frame over 4 KiB MRG buffers */
	for (unsigned i = 0; i < 32; i++)
		nt_post_rx(t, RXBUF + i * 0x1000, 4096);
	virtio_queue_kick(t->d, NET_RXQ);
	mk_frame(frame_buf, 60000, GUEST_MAC, PEER_MAC, 2);
	rh = (struct ring_vnet_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
				     .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	srv_send(s, &rh, frame_buf, 60000);
	nt_wait_rx(t, 15); /* 60012 bytes / 4096 */
	struct virtio_net_hdr_v1 *h = (void *)ram(t, RXBUF);
	assert_int_equal(le16toh(h->num_buffers), 15);
	assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16toh(h->gso_size), 1448);
	assert_int_equal(le16toh(h->csum_start), 34);
	size_t off = 0;
	for (unsigned i = 0; i < 15; i++) {
		uint32_t ul = vq_used_elem(&t->rx, (uint16_t)i).len;
		uint32_t skip = i ? 0 : HDR;
		memcpy(got_buf + off, ram(t, RXBUF + i * 0x1000 + skip), ul - skip);
		off += ul - skip;
	}
	assert_int_equal(off, 60000);
	assert_memory_equal(got_buf, frame_buf, 60000);

	/* many small frames both ways keep their order */
	for (uint32_t i = 0; i < 50; i++) {
		mk_frame(frame_buf, 64 + i, PEER_MAC, GUEST_MAC, 100 + i);
		nt_queue_tx(t, &(struct virtio_net_hdr_v1){ 0 }, frame_buf, 64 + i, 1);
	}
	virtio_queue_kick(t->d, NET_TXQ);
	for (uint32_t i = 0; i < 50; i++) {
		assert_int_equal(srv_recv(s, NULL, got_buf), 64 + i);
		mk_frame(frame_buf, 64 + i, PEER_MAC, GUEST_MAC, 100 + i);
		assert_memory_equal(got_buf, frame_buf, 64 + i);
	}
	struct net_stats st = nt_stats(t);
	assert_int_equal(st.tx_packets_count, 51);
	assert_int_equal(st.rx_packets_count, 1);
	assert_int_equal(st.rx_bytes_count, 60000);
	assert_int_equal(st.tx_fails + st.rx_fails, 0);
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* On the comms ring a spoofed source MAC is counted and dropped. */
static void test_spoofed_dropped(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, true, ALL_FEATURES);

	mk_frame(frame_buf, 100, PEER_MAC, PEER_MAC, 1);
	nt_send(t, frame_buf, 100, 1);
	mk_frame(frame_buf, 100, PEER_MAC, GUEST_MAC, 2);
	nt_send(t, frame_buf, 100, 1);
	assert_int_equal(vq_used_idx(&t->tx), 2);
	assert_int_equal(srv_recv(s, NULL, got_buf), 100);
	assert_memory_equal(got_buf, frame_buf, 100); /* the good one */
	assert_int_equal(srv_recv(s, NULL, got_buf), 0);
	struct net_stats st = nt_stats(t);
	assert_int_equal(st.tx_spoofed_mac_count, 1);
	assert_int_equal(st.tx_packets_count, 1);
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* A chain of QNUM descriptors (header + Ethernet header + 14 bytes, then
 * 255 one-byte descriptors) needs QNUM + 1 iovecs with the copied
 * Ethernet header: the frame arrives whole, and UBSan sees no index past
 * the device's iovec array. */
static void test_tx_longest_chain(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, true, ALL_FEATURES);
	static struct seg sg[QNUM];
	const size_t len = 28 + (QNUM - 1);
	uint64_t gpa = TXBUF;

	mk_frame(frame_buf, len, PEER_MAC, GUEST_MAC, 7);
	memset(ram(t, gpa), 0, HDR);
	memcpy(ram(t, gpa + HDR), frame_buf, 28);
	sg[0] = (struct seg){ gpa, HDR + 28, false };
	for (unsigned i = 1; i < QNUM; i++) {
		sg[i] = (struct seg){ gpa + 0x1000 + i, 1, false };
		*ram(t, gpa + 0x1000 + i) = frame_buf[28 + i - 1];
	}
	vq_add_chain(&t->tx, sg, QNUM);
	virtio_queue_kick(t->d, NET_TXQ);
	assert_int_equal(vq_used_idx(&t->tx), 1);
	assert_int_equal(srv_recv(s, NULL, got_buf), len);
	assert_memory_equal(got_buf, frame_buf, len);
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* A full ring leaves TX chains in the guest's ring; the peer freeing
 * space (and kicking, since we asked) lets them go, in order. */
static void test_backpressure(void **state)
{
	struct srv *s = srv_new(RING_MIN_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, false, ALL_FEATURES);

	assert_int_equal(s->l.p.geom.slots, RING_MIN_SLOTS);
	for (uint32_t i = 0; i < 100; i++) {
		mk_frame(frame_buf, 200, PEER_MAC, GUEST_MAC, i);
		nt_queue_tx(t, &(struct virtio_net_hdr_v1){ 0 }, frame_buf, 200, 1);
	}
	virtio_queue_kick(t->d, NET_TXQ);
	assert_int_equal(vq_used_idx(&t->tx), RING_MIN_SLOTS);
	/* a kick while full changes nothing */
	virtio_queue_kick(t->d, NET_TXQ);
	assert_int_equal(vq_used_idx(&t->tx), RING_MIN_SLOTS);
	uint32_t seq = 0;
	for (int idle = 0; seq < 100; ) {
		uint32_t len = srv_recv(s, NULL, got_buf);
		if (!len) {
			assert_true(++idle < 20); /* the device must resume on our kick */
			if (ring_rx_publish(&s->l.rx))
				comms_kick(&s->l); /* the device asked for space */
			vt_run_loop(&t->loop, 100);
			continue;
		}
		assert_int_equal(len, 200);
		uint32_t got;
		memcpy(&got, got_buf + 14, 4);
		assert_int_equal(got, seq++);
	}
	assert_int_equal(vq_used_idx(&t->tx), 100);
	assert_int_equal(nt_stats(t).tx_packets_count, 100);
	assert_int_equal(nt_stats(t).tx_fails, 0);
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* Peer death: link down with a config interrupt, TX dropped meanwhile,
 * the device reconnects every 500 ms and the link comes back up. */
static void check_down_then_up(struct srv *s, struct nt *t)
{
	assert_true(nt_run_until(t, 2000, link_down));
	assert_true(nt_isr(t) & VIRTIO_MMIO_INT_CONFIG);
	assert_true(vt_irqs(t->irq_fd) >= 1);
	nt_ack_isr(t);
	assert_int_equal(nt_stats(t).link_down_count, 1);

	mk_frame(frame_buf, 100, PEER_MAC, GUEST_MAC, 1);
	nt_send(t, frame_buf, 100, 1);
	assert_int_equal(vq_used_elem(&t->tx, (uint16_t)(vq_used_idx(&t->tx) - 1)).len, 0);
	assert_true(nt_stats(t).tx_fails >= 1);

	comms_link_close(&s->l, NULL);
	srv_accept_async(s);
	assert_true(nt_run_until(t, 3000, link_up));
	srv_join(s);
	assert_true(nt_isr(t) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(nt_stats(t).link_up_count, 1);

	/* the new link carries frames both ways */
	mk_frame(frame_buf, 300, PEER_MAC, GUEST_MAC, 2);
	nt_send(t, frame_buf, 300, 2);
	assert_int_equal(srv_recv(s, NULL, got_buf), 300);
	assert_memory_equal(got_buf, frame_buf, 300);
	uint16_t used = vq_used_idx(&t->rx);
	nt_post_rx(t, RXBUF, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	mk_frame(frame_buf, 90, GUEST_MAC, PEER_MAC, 3);
	srv_send(s, NULL, frame_buf, 90);
	nt_wait_rx(t, (uint16_t)(used + 1));
	assert_memory_equal(ram(t, RXBUF + HDR), frame_buf, 90);
}

static void test_peer_disconnect(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, false, ALL_FEATURES);

	vt_irqs(t->irq_fd);
	comms_link_close(&s->l, "switch going away"); /* DISCONNECT, then close */
	check_down_then_up(s, t);
	nt_free(t);
	srv_free(s);
	(void)state;
}

static void test_peer_hangup(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, false, ALL_FEATURES);

	/* killed: the socket closes with no goodbye */
	close(s->l.ctl_fd);
	s->l.ctl_fd = -1;
	check_down_then_up(s, t);
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* A peer that accepts connections and never answers: each attempt waits
 * out the handshake's step timeout, so attempts are spaced out (1 s, 2 s
 * ...) instead of every 500 ms. */
static void test_stalling_peer(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, false, ALL_FEATURES);
	int fd, attempts = 0;

	comms_link_close(&s->l, "stalling from now on");
	assert_true(nt_run_until(t, 2000, link_down));
	/* 3 s of wall time (an attempt stalls 1 s, on its own thread: the
	 * loop keeps turning); nobody accepts, so the listen backlog keeps
	 * every try */
	struct timespec t0, now, a, b;
	long worst_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &a);
		vt_run_loop(&t->loop, 10);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		worst_ms = ms > worst_ms ? ms : worst_ms;
		now = b;
	} while ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 < 3000);
	assert_true(worst_ms < 300); /* the VMM thread was never held */
	assert_int_equal(fcntl(s->lfd, F_SETFL, O_NONBLOCK), 0); /* count, never wait */
	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		attempts++;
		close(fd);
	}
	/* 0.5 s: try (1 s), back off 1 s; 2.5 s: try (1 s), back off 2 s.
	 * Every 500 ms would have tried at 0.5, 1.5 and 2.5 s. */
	assert_true(attempts >= 1 && attempts <= 2);
	assert_false(nt_link_up(t));
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* A peer that keeps sending frames the device only drops (here: a GSO
 * type the driver never agreed to) cannot hold the VMM thread: one doorbell
 * serves NET_RX_BUDGET frames, then the device kicks its own doorbell and
 * the loop serves the rest on a later round. */
static void test_rx_budget(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, false, ALL_FEATURES);
	static const struct ring_vnet_hdr bad = { .gso_type = VIRTIO_NET_HDR_GSO_UDP,
						  .gso_size = 1000 };
	const unsigned total = NET_RX_BUDGET + 100;
	struct comms *c = co(t->n);
	struct iovec iov = { frame_buf, 100 };
	uint64_t v;

	mk_frame(frame_buf, 100, GUEST_MAC, PEER_MAC, 1);
	for (unsigned i = 0; i < total; i++)
		assert_int_equal(ring_tx_frame(&s->l.tx, &bad, &iov, 1, 100), 0);
	ring_tx_publish(&s->l.tx);
	comms_kick(&s->l);
	c->bell_h.fn(&c->bell_h, EPOLLIN); /* one doorbell event */
	assert_int_equal(nt_stats(t).rx_fails, NET_RX_BUDGET);
	assert_int_equal(read(c->link.doorbell_rx, &v, 8), 8); /* the self-kick */
	c->bell_h.fn(&c->bell_h, EPOLLIN);
	assert_int_equal(nt_stats(t).rx_fails, total);
	assert_true(nt_link_up(t));
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* A peer that writes an impossible producer index breaks its link only. */
static void test_hostile_peer(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t = dev_new(s, false, ALL_FEATURES);

	nt_post_rx(t, RXBUF, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	/* headers the guest never agreed to: dropped, counted, link kept */
	static const struct ring_vnet_hdr bad[] = {
		{ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 5000, .csum_offset = 6 },
		{ .gso_type = VIRTIO_NET_HDR_GSO_UDP, .gso_size = 1000 },
		{ .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 0 },
		{ .flags = 0x80 },
	};
	mk_frame(frame_buf, 100, GUEST_MAC, PEER_MAC, 1);
	for (unsigned i = 0; i < 4; i++)
		srv_send(s, &bad[i], frame_buf, 100);
	srv_send(s, NULL, frame_buf, 100);
	nt_wait_rx(t, 1);
	assert_int_equal(vq_used_elem(&t->rx, 0).len, HDR + 100);
	assert_int_equal(nt_stats(t).rx_fails, 4);
	assert_true(nt_link_up(t));

	nt_post_rx(t, RXBUF, 2048);
	virtio_queue_kick(t->d, NET_RXQ);
	atomic_store(&s->l.tx.ctl->prod, 0x7fff0000u);
	comms_kick(&s->l);
	check_down_then_up(s, t);
	assert_true(nt_stats(t).rx_fails >= 5);
	assert_false(vt_rd32(t->d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* A driver without GUEST_TSO: the link is remade without GSO so that the
 * peer never sends what the guest cannot take; the guest sees no link flap
 * and a frame it sends meanwhile waits in its ring, then goes out. */
static bool tx_used(struct nt *t) { return vq_used_idx(&t->tx) == 1; }

static void test_renegotiate(void **state)
{
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	struct nt *t;
	char id[] = "eth0";
	struct res_net cfg = { .id = id, .comms_socket = s->path };

	srv_accept_async(s);
	t = nt_new(&cfg);
	srv_join(s);
	assert_int_equal(s->l.p.features, COMMS_F_KNOWN);
	comms_link_close(&s->l, NULL);
	srv_accept_async(s);
	nt_init(t, ALL_FEATURES & ~(F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6)));
	mk_frame(frame_buf, 100, PEER_MAC, GUEST_MAC, 1);
	nt_send(t, frame_buf, 100, 1);
	assert_int_equal(vq_used_idx(&t->tx), 0); /* waits for the new link */
	assert_true(nt_run_until(t, 3000, tx_used));
	srv_join(s);
	assert_int_equal(s->l.p.features, COMMS_F_CSUM);
	assert_int_equal(srv_recv(s, NULL, got_buf), 100);
	assert_memory_equal(got_buf, frame_buf, 100);
	assert_true(nt_link_up(t));
	assert_false(nt_isr(t) & VIRTIO_MMIO_INT_CONFIG);
	struct net_stats st = nt_stats(t);
	assert_int_equal(st.link_down_count + st.link_up_count + st.tx_fails, 0);
	nt_free(t);

	/* a peer without offloads: none offered to the guest */
	s->offer.features = 0;
	comms_link_close(&s->l, NULL);
	t = dev_new(s, false, ALL_FEATURES);
	assert_false(t->acked & (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
				 F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4)));
	assert_true(t->acked & F(VIRTIO_NET_F_MRG_RXBUF));
	nt_free(t);

	/* the peer vanishes during the renegotiation: now the link goes down */
	s->offer.features = COMMS_F_KNOWN;
	comms_link_close(&s->l, NULL);
	srv_accept_async(s);
	t = nt_new(&cfg);
	srv_join(s);
	comms_link_close(&s->l, NULL);
	close(s->lfd);
	s->lfd = -1;
	nt_init(t, ALL_FEATURES & ~(F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6)));
	nt_send(t, frame_buf, 100, 1);
	assert_true(nt_run_until(t, 2000, link_down));
	assert_true(nt_isr(t) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(vq_used_idx(&t->tx), 1); /* handed back, dropped */
	assert_int_equal(nt_stats(t).tx_fails, 1);
	nt_free(t);
	srv_free(s);
	(void)state;
}

/* Nobody listening: net_create fails and says where and why. */
static void test_no_peer(void **state)
{
	char id[] = "eth0", path[] = "/tmp/ember-nettest-nobody.sock";
	struct res_net cfg = { .id = id, .comms_socket = path };
	int rc;

	unlink(path);
	assert_null(nt_new_rc(&cfg, &rc));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(log_last_error(), "cannot connect to comms_socket"));
	assert_non_null(strstr(log_last_error(), path));
	/* a socket file whose server is gone */
	struct srv *s = srv_new(RING_DEF_SLOTS, COMMS_F_KNOWN);
	close(s->lfd);
	s->lfd = -1;
	cfg.comms_socket = s->path;
	assert_null(nt_new_rc(&cfg, &rc));
	assert_int_equal(rc, -ECONNREFUSED);
	srv_free(s);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_both_ways),
		cmocka_unit_test(test_spoofed_dropped),
		cmocka_unit_test(test_tx_longest_chain),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_peer_disconnect),
		cmocka_unit_test(test_peer_hangup),
		cmocka_unit_test(test_hostile_peer),
		cmocka_unit_test(test_rx_budget),
		cmocka_unit_test(test_stalling_peer),
		cmocka_unit_test(test_renegotiate),
		cmocka_unit_test(test_no_peer),
	};

	log_set_level(LOG_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
