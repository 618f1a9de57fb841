/* End-to-end test of a running ember-switch through real comms links
 * (comms_connect), driven by tests/switch/peers.sh:
 *
 *   peer SOCKET SWITCH_PID STATS_FILE
 *
 * Clients A, B, C (and D without offloads) attach; the test checks
 * flooding of broadcast, multicast and unknown unicast, learning and
 * unicast (the third client sees nothing), spoofed sources dropped, the
 * virtio-net header passed through between offload-capable ports and
 * checksums finished / GSO dropped for a port without offloads, lossless
 * accounting under back-pressure (every frame delivered in order or
 * counted as a drop), a killed client's port removed with its MAC
 * entries (SIGUSR1 counters; its MAC floods again), and a client that
 * writes an impossible ring index losing its port while the others keep
 * working. Prints TAP-style "ok"/"not ok" lines; exit 0 when all pass. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/virtio_net.h>

#include "ember/comms_ctl.h"
#include "ring_internal.h"

#define ETYPE 0x88b5 /* IEEE local experimental */
#define MAXF 2048

static const char *sock_path, *stats_path;
static pid_t sw_pid;
static int failures;

struct rx { /* one received frame */
	struct ring_vnet_hdr h;
	uint32_t len;
	uint8_t b[MAXF];
};

static void result(bool ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	fflush(stdout);
	failures += !ok;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void mac_of(uint8_t id, uint8_t mac[6])
{
	static const uint8_t base[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x00 };

	memcpy(mac, base, 6);
	mac[5] = id;
}

static int attach(struct comms_link *l, uint8_t id, uint32_t features, uint32_t slots)
{
	struct comms_params want = { .geom = { slots, 2048 }, .mtu = 1500, .features = features };
	char err[160];
	int rc;

	mac_of(id, want.mac);
	rc = comms_connect(sock_path, &want, l, err, sizeof(err));
	if (rc)
		fprintf(stderr, "peer: connect: %s\n", err);
	return rc;
}

/* One frame [dst][src][ETYPE][tag][seq][pattern] of len bytes. */
static int send_frame(struct comms_link *l, const uint8_t *dst, const uint8_t *src, uint32_t tag,
		      uint32_t seq, size_t len, const struct ring_vnet_hdr *h)
{
	static const struct ring_vnet_hdr none;
	uint8_t f[MAXF];
	struct iovec iov = { f, len };
	int rc;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	memcpy(f + 14, &tag, 4);
	memcpy(f + 18, &seq, 4);
	for (size_t i = 22; i < len; i++)
		f[i] = (uint8_t)(i ^ seq);
	rc = ring_tx_frame(&l->tx, h ? h : &none, &iov, 1, len);
	if (rc == 0 && ring_tx_publish(&l->tx))
		comms_kick(l);
	return rc;
}

/* Everything waiting on l's receive ring, appended to out[*n]. */
static void drain(struct comms_link *l, struct rx *out, int max, int *n)
{
	struct ring_rx_frame f;

	while (*n < max && ring_rx_peek(&l->rx, &f) == 1) {
		struct rx *r = &out[*n];

		r->h = f.hdr;
		r->len = f.len;
		ring_rx_copy(&l->rx, &f, 0, r->b, f.len < MAXF ? f.len : MAXF);
		ring_rx_consume(&l->rx, &f);
		(*n)++;
	}
	if (ring_rx_publish(&l->rx))
		comms_kick(l);
}

/* Throw away whatever is waiting on every client's ring. */
static void flush(struct comms_link *l)
{
	static struct rx buf[256];
	int n;

	do {
		n = 0;
		drain(l, buf, 256, &n);
	} while (n);
}

static bool recv_one(struct comms_link *l, struct rx *r, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	int n = 0;

	do {
		drain(l, r, 1, &n);
		if (n)
			return true;
		usleep(200);
	} while (now_ms() < end);
	return false;
}

static uint32_t tag_of(const struct rx *r) { uint32_t t; memcpy(&t, r->b + 14, 4); return t; }

/* Frames with `tag` that reach l within ms milliseconds (waits the full
 * time only when want < 0: "how many arrive"). */
static int count_tag(struct comms_link *l, uint32_t tag, int want, int ms)
{
	static struct rx buf[256];
	uint64_t end = now_ms() + (uint64_t)ms;
	int got = 0;

	do {
		int n = 0;

		drain(l, buf, 256, &n);
		for (int i = 0; i < n; i++)
			got += buf[i].len >= 22 && tag_of(&buf[i]) == tag;
		if (want >= 0 && got >= want)
			break;
		usleep(200);
	} while (now_ms() < end);
	return got;
}

/* SIGUSR1 the switch and read the JSON it writes to --stats-file. */
static json_t *stats(void)
{
	json_error_t je;
	uint64_t end = now_ms() + 2000;

	unlink(stats_path);
	kill(sw_pid, SIGUSR1);
	while (access(stats_path, R_OK) != 0 && now_ms() < end)
		usleep(1000);
	return json_load_file(stats_path, 0, &je);
}

/* Counter `key` of the port whose mac is `id` (-1: no such port). */
static long long port_counter(json_t *st, uint8_t id, const char *key)
{
	char mac[18];
	size_t i;
	json_t *p;

	snprintf(mac, sizeof(mac), "02:00:5e:10:00:%02x", id);
	json_array_foreach(json_object_get(st, "ports"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "mac")), mac))
			return json_integer_value(json_object_get(p, key));
	return -1;
}

static long long top_counter(json_t *st, const char *key)
{
	if (!strcmp(key, "ports"))
		return (long long)json_array_size(json_object_get(st, "ports"));
	return json_integer_value(json_object_get(st, key));
}

/* Poll the stats until top-level `key` equals want (2 s). */
static bool wait_stat(const char *key, long long want)
{
	uint64_t end = now_ms() + 2000;
	long long v;

	do {
		json_t *st = stats();

		v = st ? top_counter(st, key) : -1;
		json_decref(st);
		if (v == want)
			return true;
		usleep(20000);
	} while (now_ms() < end);
	fprintf(stderr, "peer: %s is %lld, want %lld\n", key, v, want);
	return false;
}

static struct comms_link A, B, C, D;
static uint8_t ma[6], mb[6], mc[6], md[6];
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

static void test_learning(void)
{
	json_t *st;

	send_frame(&A, BCAST, ma, 1, 0, 60, NULL);
	result(count_tag(&B, 1, 1, 1000) == 1 && count_tag(&C, 1, 1, 1000) == 1,
	       "broadcast floods to every other port");
	result(count_tag(&A, 1, -1, 50) == 0, "... but not back to its sender");
	send_frame(&A, mb, ma, 2, 0, 60, NULL); /* B has not spoken yet */
	result(count_tag(&B, 2, 1, 1000) == 1 && count_tag(&C, 2, 1, 1000) == 1,
	       "unknown unicast floods");
	send_frame(&B, ma, mb, 3, 0, 60, NULL);
	result(count_tag(&A, 3, 1, 1000) == 1 && count_tag(&C, 3, -1, 50) == 0,
	       "learned unicast goes to one port only (B -> A)");
	send_frame(&A, mb, ma, 4, 0, 60, NULL);
	result(count_tag(&B, 4, 1, 1000) == 1 && count_tag(&C, 4, -1, 50) == 0,
	       "learned unicast goes to one port only (A -> B)");
	send_frame(&C, MCAST, mc, 5, 0, 60, NULL);
	result(count_tag(&A, 5, 1, 1000) == 1 && count_tag(&B, 5, 1, 1000) == 1,
	       "multicast floods");
	send_frame(&A, mb, mc, 6, 0, 60, NULL); /* A claims to be C */
	send_frame(&A, BCAST, BCAST, 7, 0, 60, NULL);
	result(count_tag(&B, 6, -1, 50) == 0 && count_tag(&C, 7, -1, 50) == 0,
	       "spoofed and group source MACs are dropped");
	st = stats();
	result(st && top_counter(st, "ports") == 4 && port_counter(st, 0xa, "spoofed") == 2 &&
	       port_counter(st, 0xb, "rx_frames") == 1 && port_counter(st, 0xa, "rx_frames") == 5,
	       "SIGUSR1 counters: 4 ports, A's spoofed frames, per-port rx frames");
	json_decref(st);
}

/* The switch runs with --gateway 10.9.0.1/24 (peers.sh): an ARP request
 * from a ring port is answered back to it (zero vnet header) and still
 * flooded; frames to the gateway's MAC that it does not serve go nowhere. */
static void test_gateway(void)
{
	static const uint8_t gwmac[6] = { 0x02, 0x45, 0x4d, 0, 0, 1 };
	static const struct ring_vnet_hdr zero;
	static struct rx r;
	uint8_t f[60] = { 0 };
	struct iovec iov = { f, sizeof(f) };
	json_t *st;

	flush(&A), flush(&B), flush(&C), flush(&D);
	memcpy(f, BCAST, 6);
	memcpy(f + 6, ma, 6);
	memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(f + 22, ma, 6);
	memcpy(f + 28, "\x0a\x09\x00\x07", 4);		/* spa 10.9.0.7 */
	memcpy(f + 38, "\x0a\x09\x00\x01", 4);		/* tpa the gateway */
	ring_tx_frame(&A.tx, &zero, &iov, 1, sizeof(f));
	ring_tx_publish(&A.tx) ? comms_kick(&A) : (void)0;
	result(recv_one(&A, &r, 1000) && r.len == 60 && !memcmp(r.b, ma, 6) &&
	       !memcmp(r.b + 6, gwmac, 6) && r.b[21] == 2 && !memcmp(r.b + 22, gwmac, 6) &&
	       !memcmp(r.b + 28, f + 38, 4) && !memcmp(&r.h, &zero, sizeof(zero)),
	       "ARP request for the gateway from a ring port: reply from its MAC");
	result(recv_one(&B, &r, 1000) && !memcmp(r.b, f, 60), "... the request is flooded too");
	send_frame(&A, gwmac, ma, 16, 0, 60, NULL);
	result(count_tag(&B, 16, -1, 100) == 0 && count_tag(&C, 16, -1, 50) == 0,
	       "frames to the gateway's MAC it does not serve are not flooded");
	st = stats();
	result(st && port_counter(st, 0xa, "gw_replies") == 1, "counted in A's gw_replies");
	json_decref(st);
}

/* A UDP/IPv4 frame with a partial checksum (NEEDS_CSUM), as a guest with
 * checksum offload hands it over. */
static size_t partial_udp(uint8_t *f, const uint8_t *dst, const uint8_t *src,
			  struct ring_vnet_hdr *h)
{
	uint8_t *ip = f + 14, *udp = f + 34;
	size_t plen = 100, ulen = 8 + plen;
	uint32_t s = 0;

	memset(f, 0, 34 + ulen);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x03", 8);
	udp[1] = 99, udp[3] = 100, udp[5] = (uint8_t)ulen;
	for (size_t i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(i * 3);
	for (int i = 12; i < 20; i += 2) /* pseudo header, not complemented */
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	s += 17 + (uint32_t)ulen;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	udp[6] = (uint8_t)(s >> 8), udp[7] = (uint8_t)s;
	*h = (struct ring_vnet_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				     .csum_offset = 6 };
	return 34 + ulen;
}

static bool udp_csum_ok(const uint8_t *f, size_t len)
{
	uint32_t s = 17 + (uint32_t)(len - 34);

	for (size_t i = 26; i < 34; i += 2)
		s += (uint32_t)(f[i] << 8 | f[i + 1]);
	for (size_t i = 34; i < len; i += 2)
		s += (uint32_t)(f[i] << 8 | (i + 1 < len ? f[i + 1] : 0));
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}


static void test_offloads(void)
{
	static struct rx r;
	struct ring_vnet_hdr h, gso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448,
					.hdr_len = 54 };
	uint8_t f[MAXF];
	struct iovec iov = { f, 0 };
	json_t *st;

	flush(&A), flush(&B), flush(&C), flush(&D);
	/* D (no offloads) speaks first so it is learned */
	send_frame(&D, ma, md, 8, 0, 60, NULL);
	result(count_tag(&A, 8, 1, 1000) == 1, "a client without offloads attaches and talks");
	iov.iov_len = partial_udp(f, mb, ma, &h);
	ring_tx_frame(&A.tx, &h, &iov, 1, iov.iov_len);
	ring_tx_publish(&A.tx) ? comms_kick(&A) : (void)0;
	result(recv_one(&B, &r, 1000) && r.h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	       r.h.csum_start == 34 && r.h.csum_offset == 6 && !memcmp(r.b, f, iov.iov_len),
	       "the virtio-net header passes untouched between offload ports");
	iov.iov_len = partial_udp(f, md, ma, &h);
	ring_tx_frame(&A.tx, &h, &iov, 1, iov.iov_len);
	ring_tx_frame(&A.tx, &gso, &iov, 1, iov.iov_len);
	ring_tx_publish(&A.tx) ? comms_kick(&A) : (void)0;
	result(recv_one(&D, &r, 1000) && r.h.flags == 0 && r.len == iov.iov_len &&
	       udp_csum_ok(r.b, r.len) && !memcmp(r.b, f, 40) && !memcmp(r.b + 42, f + 42, 100),
	       "a port without checksum offload gets the checksum finished");
	result(!recv_one(&D, &r, 100), "... and no GSO frame");
	st = stats();
	result(st && port_counter(st, 0xd, "offload_drops") == 1, "the GSO frame counted as "
	       "an offload drop");
	json_decref(st);
}

/* A floods B (256-slot ring) while B drains: each frame arrives in order or
 * is counted in B's tx_drops; nothing is duplicated or lost uncounted. */
static long long b_counter(const char *key)
{
	json_t *st = stats();
	long long v = st ? port_counter(st, 0xb, key) : -1;

	json_decref(st);
	return v;
}

static void test_backpressure(void)
{
	enum { N = 20000 };
	static struct rx buf[256];
	uint32_t sent = 0, got = 0, bad = 0, last = 0, idle = 0;
	uint64_t end = now_ms() + 20000;
	long long drops0 = b_counter("tx_drops"), held0 = b_counter("tx_held"), drops, held;

	/* First more than B's ring holds, B not reading: the switch must hold
	 * A's head frame (well within its stall budget before B reads). */
	for (int fill = 0; fill < 2; fill++) {
		while (send_frame(&A, mb, ma, 9, sent, 1000, NULL) == 0)
			sent++;
		usleep(2000);
	}
	while (now_ms() < end) {
		int n = 0;

		while (sent < N && send_frame(&A, mb, ma, 9, sent, 1000, NULL) == 0)
			sent++;
		drain(&B, buf, 256, &n);
		for (int i = 0; i < n; i++) {
			uint32_t seq;

			if (tag_of(&buf[i]) != 9)
				continue;
			memcpy(&seq, buf[i].b + 18, 4);
			bad += got && seq <= last; /* duplicated or reordered */
			last = seq;
			got++;
		}
		idle = n ? 0 : idle + 1;
		if (sent == N && (got == N || idle == 1000)) /* ~50 ms without frames */
			break;
		if (!n)
			usleep(50);
	}
	drops = b_counter("tx_drops") - drops0;
	held = b_counter("tx_held") - held0;
	printf("    back-pressure: %u sent, %u received in order, %lld dropped, %lld times held "
	       "at A for want of room at B\n", sent, got, drops, held);
	result(sent == N && bad == 0, "20000 frames A -> B: none duplicated or reordered");
	result(got + drops == N, "every frame delivered or counted as dropped");
	result(held > 0, "the back-pressure path was taken (frames held at the sender)");
}

/* B stops reading: A's frames to B fill B's ring, then are dropped after
 * the stall budget, and A's traffic to C is not stuck behind them. */
static void test_stuck_receiver(void)
{
	enum { N = 1000 };
	uint32_t sent = 0;
	uint64_t end = now_ms() + 5000;
	long long drops0 = b_counter("tx_drops"), drops;
	int got;

	flush(&B), flush(&C);
	while (sent < N && now_ms() < end)
		if (send_frame(&A, mb, ma, 14, sent, 200, NULL) == 0)
			sent++;
		else
			usleep(100);
	send_frame(&A, mc, ma, 15, 0, 60, NULL);
	result(sent == N && count_tag(&C, 15, 1, 2000) == 1,
	       "a stuck receiver does not block the sender's other traffic");
	got = count_tag(&B, 14, -1, 200);
	drops = b_counter("tx_drops") - drops0;
	printf("    stuck receiver: %u sent, %d delivered (its ring), %lld dropped\n", sent, got,
	       drops);
	result(got == 256 && got + drops == N, "its ring's worth delivered, the rest counted as "
	       "dropped");
}

/* B's ring is full and B congested. B now frees one slot every 12 ms
 * while A keeps sending to it: each freed slot takes one frame, the rest
 * drop at once, and A's other traffic is not held. (If one freed slot
 * cleared the congestion, every round would hold A's queue for the full
 * 10 ms stall budget, and its frame to C with it.) */
static void test_slow_drainer(void)
{
	static struct rx one[1];
	uint64_t lat[20], t;
	int n, seq = 0, late = 0;

	for (int i = 0; i < 256; i++) /* B's ring full again */
		send_frame(&A, mb, ma, 16, seq++, 200, NULL);
	usleep(50000);
	for (int round = 0; round < 20; round++) {
		n = 0;
		drain(&B, one, 1, &n);
		send_frame(&A, mb, ma, 16, seq++, 200, NULL);
		send_frame(&A, mb, ma, 16, seq++, 200, NULL);
		t = now_ms();
		send_frame(&A, mc, ma, 17, (uint32_t)round, 60, NULL);
		count_tag(&C, 17, 1, 100);
		lat[round] = now_ms() - t;
		late += lat[round] >= 8;
		usleep(12000);
	}
	printf("    slow drainer: A's frame to C took %llu, %llu, %llu ... ms; %d of 20 >= 8 ms\n",
	       (unsigned long long)lat[0], (unsigned long long)lat[1],
	       (unsigned long long)lat[2], late);
	result(late <= 6, "a receiver freeing one slot at a time does not hold the sender");
	flush(&B);
}

/* A client process: attach as `id`, say hello by broadcast, then on a
 * byte from `go` either nothing (wait to be killed) or, hostile, publish
 * an impossible producer index on its ring and kick the switch. */
static pid_t client(uint8_t id, bool hostile, int *go)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct comms_link l;
		uint8_t m[6];
		char c;

		close(p[1]);
		mac_of(id, m);
		if (attach(&l, id, COMMS_F_KNOWN, 256))
			_exit(1);
		send_frame(&l, BCAST, m, 100u + id, 0, 60, NULL);
		if (read(p[0], &c, 1) == 1 && hostile) {
			struct ring_ctl *ctl = (struct ring_ctl *)((uint8_t *)l.base +
								   ring_ctl_off(RING_C2S));

			atomic_store(&ctl->prod, l.tx.prod + 100000u);
			comms_kick(&l);
		}
		pause();
		_exit(0);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static void test_kill(void)
{
	uint8_t me[6];
	int go;
	pid_t pid = client(0xe, false, &go);
	json_t *st;
	long long fdb0;

	mac_of(0xe, me);
	result(pid > 0 && count_tag(&A, 100 + 0xe, 1, 2000) == 1, "client E attaches and is heard");
	st = stats();
	fdb0 = st ? json_integer_value(json_object_get(json_object_get(st, "fdb"), "entries")) : -1;
	result(st && top_counter(st, "ports") == 5, "5 ports");
	json_decref(st);
	send_frame(&A, me, ma, 10, 0, 60, NULL);
	result(count_tag(&B, 10, -1, 100) == 0, "frames to E go to E only");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(go);
	result(wait_stat("ports", 4) && wait_stat("ports_removed", 1), "killing E removes its port");
	st = stats();
	result(st && json_integer_value(json_object_get(json_object_get(st, "fdb"), "entries")) ==
			     fdb0 - 1, "... and its MAC table entry");
	json_decref(st);
	send_frame(&A, me, ma, 11, 0, 60, NULL);
	result(count_tag(&B, 11, 1, 1000) == 1, "E's MAC is unknown again: flooded");
	pid = client(0xe, false, &go);
	result(pid > 0 && count_tag(&A, 100 + 0xe, 1, 2000) == 1 && wait_stat("ports", 5),
	       "a new client with E's MAC attaches and is heard");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(go);
	wait_stat("ports", 4);
}

static void test_hostile(void)
{
	int go;
	pid_t pid = client(0xf, true, &go);
	json_t *st;
	long long removed;

	result(pid > 0 && count_tag(&A, 100 + 0xf, 1, 2000) == 1, "client F attaches");
	st = stats();
	removed = st ? top_counter(st, "ports_removed") : -1;
	json_decref(st);
	if (write(go, "x", 1) != 1)
		result(false, "signal F");
	result(wait_stat("ports_removed", removed + 1) && wait_stat("ports", 4),
	       "F writes an impossible ring index: its port is torn down");
	send_frame(&A, mb, ma, 12, 0, 60, NULL);
	send_frame(&B, ma, mb, 13, 0, 60, NULL);
	result(count_tag(&B, 12, 1, 1000) == 1 && count_tag(&A, 13, 1, 1000) == 1,
	       "the other ports keep working");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(go);
}

/* The switch's user + system CPU time in clock ticks. */
static long cpu_ticks(void)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)sw_pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')'); /* fields 14, 15 counted after the command name */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* Links up, nothing flowing: the switch must sleep, not spin. */
/* A second live link claiming A's MAC is refused (it would pass the
 * source check and take A's traffic); closing a link and attaching again
 * at once with the same MAC works (ember does that to renegotiate). */
static void test_duplicate_mac(void)
{
	struct comms_link dup, e;
	int go;

	/* The handshake runs on the accept thread; the worker then refuses
	 * the port: DISCONNECT and a hang-up. */
	bool refused = attach(&dup, 0xa, COMMS_F_KNOWN, 256) != 0;
	if (!refused) {
		struct pollfd pf = { .fd = dup.ctl_fd, .events = POLLIN | POLLRDHUP };
		refused = poll(&pf, 1, 2000) == 1;
		comms_link_close(&dup, "done");
	}
	result(refused, "a second link with A's MAC is refused");
	send_frame(&B, ma, mb, 12, 0, 60, NULL);
	result(count_tag(&A, 12, 1, 1000) == 1, "... and A still gets its frames");
	pid_t pid = client(0xe, false, &go);
	result(pid > 0 && count_tag(&A, 100 + 0xe, 1, 2000) == 1, "client E attaches");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(go);
	result(attach(&e, 0xe, COMMS_F_KNOWN, 256) == 0,
	       "E's MAC attaches again right after E hung up");
	comms_link_close(&e, "done");
	wait_stat("ports", 4);
	/* a link without a declared MAC may not send as A */
	struct comms_params anon = { .geom = { 256, 2048 }, .mtu = 1500 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t other[6];
	mac_of(0x33, other);
	if (comms_connect(sock_path, &anon, &e, NULL, 0) == 0) {
		send_frame(&e, bcast, ma, 13, 0, 60, NULL);
		send_frame(&e, bcast, other, 14, 0, 60, NULL);
		result(count_tag(&B, 14, 1, 1000) == 1 && count_tag(&B, 13, -1, 100) == 0,
		       "a MAC-less link may use a free MAC but not A's");
		send_frame(&B, ma, mb, 15, 0, 60, NULL);
		result(count_tag(&A, 15, 1, 1000) == 1, "... and A keeps its traffic");
		comms_link_close(&e, "done");
	} else {
		result(false, "a MAC-less link attaches");
	}
	wait_stat("ports", 4);
}

static void test_idle(void)
{
	long t0, t1;

	flush(&A), flush(&B), flush(&C), flush(&D);
	usleep(100000);
	t0 = cpu_ticks();
	sleep(2);
	t1 = cpu_ticks();
	printf("    idle: %ld ticks of CPU in 2 s with 4 links up\n", t1 - t0);
	result(t0 >= 0 && t1 - t0 <= 4, "idle links cost the switch no CPU (it sleeps)");
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: peer SOCKET SWITCH_PID STATS_FILE\n");
		return 2;
	}
	sock_path = argv[1];
	sw_pid = (pid_t)atoi(argv[2]);
	stats_path = argv[3];
	signal(SIGPIPE, SIG_IGN);
	mac_of(0xa, ma);
	mac_of(0xb, mb);
	mac_of(0xc, mc);
	mac_of(0xd, md);
	if (attach(&A, 0xa, COMMS_F_KNOWN, 256) || attach(&B, 0xb, COMMS_F_KNOWN, 256) ||
	    attach(&C, 0xc, COMMS_F_KNOWN, 256) || attach(&D, 0xd, 0, 256)) {
		result(false, "four clients attach");
		return 1;
	}
	result(true, "four clients attach (D without offloads)");
	test_learning();
	test_gateway();
	test_offloads();
	test_backpressure();
	test_stuck_receiver();
	test_slow_drainer();
	test_kill();
	test_hostile();
	test_duplicate_mac();
	test_idle();
	comms_link_close(&A, "done");
	comms_link_close(&B, "done");
	comms_link_close(&C, "done");
	comms_link_close(&D, "done");
	result(wait_stat("ports", 0), "closed links leave no ports");
	printf("peer: %d failed\n", failures);
	return failures ? 1 : 0;
}
