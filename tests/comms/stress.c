/* Two-process stress test of the comms ring (make comms-test).
 *
 * A server (this process) and a client (forked) handshake over a real
 * listening socket, then each pushes N frames to the other while receiving
 * the other's N, both directions at once, through the same link. Every
 * frame carries {sequence number, length, checksum of its payload} and a
 * virtio-net header derived from its sequence number; lengths are mixed
 * (16 B .. RING_MAX_FRAME, about 1 in 64 spanning many slots). The receiver
 * checks: the next expected sequence number (no loss, duplication or
 * reordering), the length, the header, the checksum and the bytes
 * themselves (no corruption), reading through ring_rx_iov() and, for one
 * frame in four, ring_rx_copy().
 *
 * Both sides wait with the sleep protocol (ring_rx_prepare_sleep /
 * ring_tx_want_space, poll() on the doorbell with a timeout): a lost
 * wake-up shows as a stall and fails the test after STALL_MS. Client and
 * server are pinned to different CPUs. Phase 1 uses
 * a small ring (64 slots: multi-slot frames fill it, so producers wait for
 * space) and no spinning at all (every idle moment goes through the
 * doorbell); phase 2 the default ring and a short spin before sleeping.
 *
 * Usage: stress [n]   (default 1250000: n/2 frames each way in phase 1,
 * 3n/2 in phase 2, n/50 in phases 3 and 4; 5.1 million in all) */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ember/comms_ctl.h"

#define STALL_MS 5000
#define BURST 32
#define PAT_SIZE (1u << 17)

struct fhdr {
	uint64_t seq;
	uint32_t len, csum;
};

struct side {
	struct comms_link *l;
	const char *name;
	int dir;		/* 0: client->server frames, 1: server->client */
	uint64_t n, tx_seq, rx_seq;
	uint64_t window;	/* may send frame k only if k < rx_seq + window */
	unsigned delay_ns;	/* busy-wait up to this before each send */
	unsigned nap_ns;	/* ... and before arming the sleep */
	bool tx_blocked, peer_gone;
	uint64_t sleeps, raced; /* raced: the re-check found work, no sleep */
};

static uint8_t pat[PAT_SIZE + RING_MAX_FRAME];
static char sock_dir[] = "/tmp/ember-comms-stress-XXXXXX", sock_path[64];
static pid_t main_pid;

/* Also on failure (die() exits), and only in the process that made it. */
static void cleanup(void)
{
	if (getpid() == main_pid && sock_path[0]) {
		unlink(sock_path);
		rmdir(sock_dir);
	}
}
static uint8_t copybuf[RING_MAX_FRAME];

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint32_t frame_len(uint64_t seq, int dir)
{
	uint64_t r = mix(seq * 2 + (uint64_t)dir);

	if (r % 64 == 0)
		return 2017 + (uint32_t)((r >> 8) % (RING_MAX_FRAME - 2016));
	if (r % 8 == 0)
		return 1500 + (uint32_t)((r >> 8) % 7500);
	return 16 + (uint32_t)((r >> 8) % 1500);
}

static size_t pat_off(uint64_t seq, int dir)
{
	return (size_t)(mix(seq ^ ((uint64_t)dir << 62)) >> 24) % PAT_SIZE;
}

/* 64-bit FNV-1a over 8-byte words (then the tail bytes). Chunks fed to it
 * must be multiples of 8 except the last: every slot's payload is. */
static uint64_t hash(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct ring_vnet_hdr vhdr(uint64_t seq, uint32_t len)
{
	return (struct ring_vnet_hdr){ .flags = (uint8_t)(seq & 1), .gso_type = (uint8_t)(seq >> 8),
				       .hdr_len = (uint16_t)seq, .gso_size = (uint16_t)(seq >> 16),
				       .csum_start = (uint16_t)len, .csum_offset = 6,
				       .num_buffers = 1 };
}

static void die(const struct side *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void die(const struct side *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "comms stress FAIL (%s, tx %llu rx %llu): ", s->name,
		(unsigned long long)s->tx_seq, (unsigned long long)s->rx_seq);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void busy_wait_ns(unsigned ns)
{
	double end = now_s() + ns / 1e9;

	while (now_s() < end)
		;
}

static int pump_tx(struct side *s)
{
	int sent = 0;

	while (s->tx_seq < s->n && s->tx_seq < s->rx_seq + s->window && sent < BURST) {
		if (s->delay_ns)
			busy_wait_ns((unsigned)(mix(s->tx_seq) % s->delay_ns));
		uint64_t seq = s->tx_seq;
		uint32_t len = frame_len(seq, s->dir);
		const uint8_t *body = pat + pat_off(seq, s->dir);
		struct fhdr fh = { seq, len, (uint32_t)hash(0xcbf29ce484222325ull, body, len - 16) };
		struct ring_vnet_hdr h = vhdr(seq, len);
		struct iovec iov[2] = { { &fh, sizeof(fh) }, { (void *)body, len - sizeof(fh) } };
		int rc = ring_tx_frame(&s->l->tx, &h, iov, 2, len);

		if (rc == -ENOSPC) {
			s->tx_blocked = true;
			break;
		}
		if (rc)
			die(s, "ring_tx_frame: %s", strerror(-rc));
		s->tx_blocked = false;
		s->tx_seq++;
		sent++;
	}
	if (ring_tx_publish(&s->l->tx))
		comms_kick(s->l);
	return sent;
}

/* Check one frame's header, length, checksum and bytes. */
static void verify(struct side *s, const struct ring_rx_frame *f, const struct iovec *iov, int n)
{
	uint64_t seq = s->rx_seq, h = 0xcbf29ce484222325ull;
	uint32_t len = frame_len(seq, !s->dir);
	const uint8_t *want = pat + pat_off(seq, !s->dir);
	struct ring_vnet_hdr vh = vhdr(seq, len);
	struct fhdr fh;
	size_t off = 0;

	if (f->len != len || iov[0].iov_len < sizeof(fh))
		die(s, "frame %llu: length %u, expected %u", (unsigned long long)seq, f->len, len);
	memcpy(&fh, iov[0].iov_base, sizeof(fh));
	if (fh.seq != seq)
		die(s, "expected frame %llu, got %llu (loss/duplication/reordering)",
		    (unsigned long long)seq, (unsigned long long)fh.seq);
	if (fh.len != len || memcmp(&f->hdr, &vh, sizeof(vh)))
		die(s, "frame %llu: header or vnet header corrupt", (unsigned long long)seq);
	for (int i = 0; i < n; i++) {
		const uint8_t *p = (const uint8_t *)iov[i].iov_base + (i ? 0 : sizeof(fh));
		size_t k = iov[i].iov_len - (i ? 0 : sizeof(fh));
		h = hash(h, p, k);
		if (memcmp(p, want + off, k))
			die(s, "frame %llu: payload corrupt near byte %zu", (unsigned long long)seq, off);
		off += k;
	}
	if ((uint32_t)h != fh.csum)
		die(s, "frame %llu: checksum mismatch", (unsigned long long)seq);
}

static int pump_rx(struct side *s)
{
	struct iovec iov[64];
	struct ring_rx_frame f;
	int got = 0, rc, n;

	while (s->rx_seq < s->n && got < BURST && (rc = ring_rx_peek(&s->l->rx, &f)) != 0) {
		if (rc < 0)
			die(s, "ring_rx_peek: %s (ring broken)", strerror(-rc));
		if (s->rx_seq % 4 == 3) { /* the copying path */
			iov[0] = (struct iovec){ copybuf, ring_rx_copy(&s->l->rx, &f, 0, copybuf,
								      sizeof(copybuf)) };
			n = 1;
		} else {
			n = ring_rx_iov(&s->l->rx, &f, iov, 64);
		}
		verify(s, &f, iov, n);
		ring_rx_consume(&s->l->rx, &f);
		s->rx_seq++;
		got++;
	}
	if (ring_rx_publish(&s->l->rx))
		comms_kick(s->l);
	return got;
}

/* Nothing to do: arm both waits, re-check, sleep on the doorbell. */
static void sleep_once(struct side *s)
{
	bool rx_wait = s->rx_seq < s->n, tx_wait = s->tx_blocked;
	struct pollfd p[2] = { { .fd = s->l->doorbell_rx, .events = POLLIN },
			       { .fd = s->l->ctl_fd, .events = POLLIN } };

	/* A consumer preempted between its last look and arming the flag is
	 * the lost wake-up window: widen it on purpose. */
	if (s->nap_ns) {
		/* half the naps short (answers land densely around the arming
		 * itself), half up to 4x longer (many land before it) */
		uint64_t r = mix(s->rx_seq + s->sleeps + s->raced);
		busy_wait_ns((unsigned)((r >> 1) % ((r & 1) ? s->nap_ns : 4 * s->nap_ns)));
	}
	if (rx_wait && !ring_rx_prepare_sleep(&s->l->rx)) {
		s->raced++;
		return;
	}
	if (tx_wait && ring_tx_want_space(&s->l->tx)) {
		ring_rx_awake(&s->l->rx);
		s->raced++;
		return;
	}
	if (s->peer_gone && rx_wait)
		die(s, "peer gone with frames missing");
	int rc = poll(p, s->peer_gone ? 1 : 2, STALL_MS);
	if (rc == 0)
		die(s, "stall: no wake-up in %d ms (lost wake-up?)", STALL_MS);
	if (rc < 0 && errno != EINTR)
		die(s, "poll: %s", strerror(errno));
	if (p[1].revents & (POLLHUP | POLLERR))
		s->peer_gone = true; /* it finished (or died): drain what it left */
	comms_drain(s->l);
	ring_rx_awake(&s->l->rx);
	ring_tx_space_done(&s->l->tx);
	s->sleeps++;
}

static void run(struct side *s, int spin)
{
	int idle = 0;

	while (s->tx_seq < s->n || s->rx_seq < s->n) {
		if (pump_tx(s) + pump_rx(s)) {
			idle = 0;
		} else if (++idle > spin) {
			idle = 0;
			if (s->rx_seq < s->n || s->tx_blocked)
				sleep_once(s);
		}
	}
}

static void report(const struct side *s, double t, int phase)
{
	const struct ring_tx *tx = &s->l->tx;
	const struct ring_rx *rx = &s->l->rx;

	printf("  phase %d %-6s: sent %llu frames (%.2f GB), received %llu in %.2f s; "
	       "%llu sleeps, %llu raced, %llu kicks, %llu full\n",
	       phase, s->name, (unsigned long long)tx->frames, (double)tx->bytes / 1e9,
	       (unsigned long long)rx->frames, t, (unsigned long long)s->sleeps,
	       (unsigned long long)s->raced,
	       (unsigned long long)(tx->kicks + rx->kicks), (unsigned long long)tx->full);
}

/* One phase's shape; [0] is the client, [1] the server. */
struct cfg {
	uint64_t n;
	struct ring_geom g;
	int spin[2];
	uint64_t window[2];
	unsigned delay_ns[2], nap_ns[2];
	bool pin;	/* one CPU each */
};

/* One process per CPU when there are two: the races this test is after
 * need both sides running at the same time. */
static void pin(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort */
}

static int side_run(struct side *s, const struct cfg *c, int who, double t0, int no)
{
	if (c->pin)
		pin(who);
	s->window = c->window[who];
	s->delay_ns = c->delay_ns[who];
	s->nap_ns = c->nap_ns[who];
	run(s, c->spin[who]);
	report(s, now_s() - t0, no);
	fflush(stdout);
	/* spin 0: every idle moment went through the doorbell protocol */
	if (c->spin[who] == 0 && s->sleeps == 0)
		return -1;
	/* The nap is there so that frames arrive while we arm; whether they do
	 * depends on both processes really running at once, which a loaded
	 * 2-CPU host does not promise: say so rather than fail. */
	if (s->nap_ns && s->raced == 0)
		printf("  phase %d %s: WARNING: no frame raced the sleep check this run "
		       "(CPU shared with the peer?)\n", no, s->name);
	return 0;
}

/* One phase: the client connects, both run, both check what they got. */
static int phase(int ls, const char *path, const struct cfg *c, int no)
{
	struct comms_params want = { .geom = c->g, .mtu = 1500, .features = COMMS_F_KNOWN };
	struct comms_params offer = { .geom = { RING_MAX_SLOTS, RING_MAX_SLOT_SIZE },
				      .features = COMMS_F_KNOWN };
	struct comms_link l;
	char err[128];
	double t0 = now_s();
	int fd, st, rc;
	pid_t pid;

	fflush(stdout); /* or the child inherits (and prints again) our buffer */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct side s = { .l = &l, .name = "client", .dir = 0, .n = c->n };
		alarm(120);
		if (comms_connect(path, &want, &l, err, sizeof(err))) {
			fprintf(stderr, "comms stress: connect: %s\n", err);
			_exit(2);
		}
		_exit(side_run(&s, c, 0, t0, no) ? 3 : 0);
	}
	struct side s = { .l = &l, .name = "server", .dir = 1, .n = c->n };
	fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0 || comms_accept(fd, &offer, &l, err, sizeof(err))) {
		fprintf(stderr, "comms stress: accept: %s\n", err);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	rc = side_run(&s, c, 1, t0, no);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "comms stress: client failed (status %#x)\n", st);
		rc = -1;
	}
	comms_link_close(&l, "done");
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1250000, total = 0;
	const uint64_t all = UINT64_MAX / 2;
	const struct cfg phases[] = {
		/* streaming both ways, small ring, never spinning */
		{ n / 2, { 64, 2048 }, { 0, 0 }, { all, all }, { 0, 0 }, { 0, 0 }, false },
		/* streaming both ways, default ring, a short spin before sleeping */
		{ n / 2 * 3, { RING_DEF_SLOTS, RING_DEF_SLOT_SIZE }, { 256, 256 }, { all, all },
		  { 0, 0 }, { 0, 0 }, false },
		/* ping-pong: a requester that goes to sleep at once but naps
		 * 0-1 us before arming, a responder that polls and answers
		 * after 0-1 us: answers land before, inside and after the
		 * requester's arming; any lost wake-up stalls both. Then the
		 * roles swap. */
		{ n / 50, { 64, 2048 }, { 0, 100000 }, { 1, 0 }, { 0, 1000 }, { 1000, 0 }, true },
		{ n / 50, { 64, 2048 }, { 100000, 0 }, { 0, 1 }, { 1000, 0 }, { 0, 1000 }, true },
	};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	double t0 = now_s();
	int ls, rc = 0;

	alarm(120);
	for (size_t i = 0; i < sizeof(pat); i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(pat + i, &x, 8);
	}
	main_pid = getpid();
	if (!mkdtemp(sock_dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/sock", sock_dir);
	atexit(cleanup);
	ls = comms_listen(sock_path);
	if (ls < 0)
		return 1;
	printf("comms stress: %llu frames each way in phase 1, %llu in phase 2, %llu in 3-4\n",
	       (unsigned long long)(n / 2), (unsigned long long)(n / 2 * 3),
	       (unsigned long long)(n / 50));
	for (size_t i = 0; rc == 0 && i < sizeof(phases) / sizeof(phases[0]); i++) {
		rc = phase(ls, sock_path, &phases[i], (int)i + 1);
		total += 2 * phases[i].n;
	}
	close(ls);
	if (rc) {
		printf("comms stress: FAILED\n");
		return 1;
	}
	printf("comms stress: OK, %llu frames checked in %.1f s "
	       "(no loss, duplication, reordering or corruption; no stall)\n",
	       (unsigned long long)total, now_s() - t0);
	return 0;
}
