/* The comms control channel: message encode/parse round trips and byte
 * offsets, every malformed message refused, negotiation, a real handshake
 * between two processes with frames and doorbells both ways, scripted
 * hostile servers and clients (wrong fd counts, unsealed or wrong-size
 * memfds, bad versions, silence, DISCONNECT) refused without leaking an fd,
 * and peer death seen as HUP on the control socket. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ember/comms_ctl.h"

static const struct comms_params OFFER = {
	.geom = { 1024, 4096 }, .mtu = 9000, .features = COMMS_F_CSUM | COMMS_F_GSO
};
static const struct comms_params WANT = {
	.geom = { 256, 2048 }, .mac = { 0x02, 0, 0, 0, 0, 7 }, .mtu = 1500,
	.features = COMMS_F_CSUM
};

static char sock_path[64];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* --- messages ------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	struct comms_msg m;
	struct comms_params p;
	uint32_t vmin, vmax, v, code;
	uint64_t sid;
	char why[128];

	comms_msg_hello(&m, &OFFER);
	assert_int_equal(comms_parse_hello(&m, sizeof(m), &vmin, &vmax, &p), 0);
	assert_int_equal(vmin, COMMS_VERSION_MIN);
	assert_int_equal(vmax, COMMS_VERSION_MAX);
	assert_int_equal(p.geom.slots, 1024);
	assert_int_equal(p.geom.slot_size, 4096);
	assert_int_equal(p.mtu, 9000);
	assert_int_equal(p.features, COMMS_F_CSUM | COMMS_F_GSO);

	comms_msg_init(&m, 1, &WANT);
	assert_int_equal(comms_parse_init(&m, sizeof(m), &v, &p), 0);
	assert_int_equal(v, 1);
	assert_memory_equal(&p, &WANT, sizeof(p));

	comms_msg_region(&m, 1, 0x0102030405060708ull, &WANT);
	assert_int_equal(comms_parse_region(&m, sizeof(m), &v, &sid, &p), 0);
	assert_int_equal(sid, 0x0102030405060708ull);
	assert_memory_equal(&p, &WANT, sizeof(p));

	comms_msg_ready(&m);
	assert_int_equal(comms_parse_ready(&m, sizeof(m)), 0);

	comms_msg_disconnect(&m, 71, "going away");
	assert_int_equal(comms_parse_disconnect(&m, sizeof(m), &code, why, sizeof(why)), 0);
	assert_int_equal(code, 71);
	assert_string_equal(why, "going away");
	/* an overlong reason is cut to fit the record, truncated on read */
	char longer[300];
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	comms_msg_disconnect(&m, 1, longer);
	assert_int_equal(comms_parse_disconnect(&m, sizeof(m), &code, why, 8), 0);
	assert_string_equal(why, "xxxxxxx");
}

/* The wire format is little-endian at fixed offsets (docs/comms-ring.md). */
static void test_wire_bytes(void **state)
{
	struct comms_msg m;
	const uint8_t *b = (const uint8_t *)&m;
	static const uint8_t head[] = { 'E', 'M', 'R', 'C', 3, 0, 32, 0 };

	comms_msg_region(&m, 1, 0x1122334455667788ull, &WANT);
	assert_memory_equal(b, head, 8);
	assert_int_equal(b[8], 1);		  /* version */
	assert_int_equal(b[12] | b[13] << 8, 256); /* slots */
	assert_int_equal(b[16] | b[17] << 8, 2048); /* slot_size */
	assert_int_equal(b[20], COMMS_F_CSUM);	  /* features */
	assert_int_equal(b[24], 0x88);		  /* session id, LSB first */
	assert_int_equal(b[31], 0x11);
	assert_memory_equal(b + 32, WANT.mac, 6);
	assert_int_equal(b[38] | b[39] << 8, 1500); /* mtu */
	for (size_t i = 40; i < sizeof(m); i++)
		assert_int_equal(b[i], 0);
}

typedef int (*parse_fn)(const struct comms_msg *m, size_t n);

static int p_hello(const struct comms_msg *m, size_t n)
{
	uint32_t a, b;
	struct comms_params p;
	return comms_parse_hello(m, n, &a, &b, &p);
}
static int p_init(const struct comms_msg *m, size_t n)
{
	uint32_t v;
	struct comms_params p;
	return comms_parse_init(m, n, &v, &p);
}
static int p_region(const struct comms_msg *m, size_t n)
{
	uint32_t v;
	uint64_t s;
	struct comms_params p;
	return comms_parse_region(m, n, &v, &s, &p);
}
static int p_disc(const struct comms_msg *m, size_t n)
{
	uint32_t c;
	char w[8];
	return comms_parse_disconnect(m, n, &c, w, sizeof(w));
}

static void put32at(struct comms_msg *m, size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy((uint8_t *)m + off, &v, 4);
}

/* A good message of `type`, with one 32-bit field (record offset) set. */
static void good(struct comms_msg *m, int type)
{
	switch (type) {
	case COMMS_HELLO: comms_msg_hello(m, &OFFER); break;
	case COMMS_INIT: comms_msg_init(m, 1, &WANT); break;
	case COMMS_REGION: comms_msg_region(m, 1, 5, &WANT); break;
	case COMMS_READY: comms_msg_ready(m); break;
	default: comms_msg_disconnect(m, 1, "x"); break;
	}
}

static void test_malformed(void **state)
{
	static const struct {
		int type;
		size_t off;	/* record offset of a 32-bit word to overwrite */
		uint32_t val;
	} bad[] = {
		{ COMMS_HELLO, 0, 0x43524d46 },	/* magic */
		{ COMMS_HELLO, 4, 2 | 24u << 16 }, /* type INIT */
		{ COMMS_HELLO, 4, 1 | 23u << 16 }, /* len too short */
		{ COMMS_HELLO, 4, 1 | 121u << 16 }, /* len beyond the record */
		{ COMMS_HELLO, 8, 0 },		/* version min 0 */
		{ COMMS_HELLO, 8, 3 },		/* min > max */
		{ COMMS_HELLO, 16, 1000 },	/* slots not a power of two */
		{ COMMS_HELLO, 16, 32 },	/* too few slots */
		{ COMMS_HELLO, 20, 1024 },	/* slot too small */
		{ COMMS_HELLO, 20, 1u << 17 },	/* slot too big */
		{ COMMS_HELLO, 28, 10 },	/* mtu below 68 */
		{ COMMS_INIT, 4, 2 | 25u << 16 }, /* len */
		{ COMMS_INIT, 4, 2 | 0u << 16 },
		{ COMMS_INIT, 8, 0 },		/* version */
		{ COMMS_INIT, 8, COMMS_VERSION_MAX + 1 },
		{ COMMS_INIT, 12, 8192 },	/* slots */
		{ COMMS_INIT, 12, 0 },
		{ COMMS_INIT, 16, 3000 },	/* slot size */
		{ COMMS_INIT, 20, 0x4 },	/* unknown feature */
		{ COMMS_INIT, 24, 0x01 },	/* multicast MAC */
		{ COMMS_INIT, 28, 67u << 16 },	/* mtu 67 */
		{ COMMS_REGION, 4, 3 | 31u << 16 },
		{ COMMS_REGION, 8, 2 },
		{ COMMS_REGION, 12, 4096 + 1 },
		{ COMMS_REGION, 16, 0 },
		{ COMMS_REGION, 20, 0x80000000u },
		{ COMMS_REGION, 32, 0xff },	/* multicast MAC */
		{ COMMS_READY, 4, 4 | 1u << 16 }, /* payload on READY */
		{ COMMS_READY, 0, 0 },
		{ COMMS_DISCONNECT, 4, 5 | 4u << 16 },	/* no text, no NUL */
		{ COMMS_DISCONNECT, 4, 5 | 120u << 16 }, /* NUL not at the end */
	};
	parse_fn fn[] = { NULL, p_hello, p_init, p_region, NULL, p_disc };
	struct comms_msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		good(&m, bad[i].type);
		int t = bad[i].type;
		int ok = t == COMMS_READY ? comms_parse_ready(&m, sizeof(m)) : fn[t](&m, sizeof(m));
		assert_int_equal(ok, 0);
		put32at(&m, bad[i].off, bad[i].val);
		ok = t == COMMS_READY ? comms_parse_ready(&m, sizeof(m)) : fn[t](&m, sizeof(m));
		if (ok != -EPROTO)
			fail_msg("case %zu (type %d off %zu) accepted", i, t, bad[i].off);
	}
	/* wrong record sizes */
	for (int t = COMMS_HELLO; t <= COMMS_DISCONNECT; t++) {
		good(&m, t);
		size_t sizes[] = { 0, 8, COMMS_MSG_SIZE - 1, COMMS_MSG_SIZE + 1 };
		for (size_t k = 0; k < 4; k++) {
			int rc = t == COMMS_READY ? comms_parse_ready(&m, sizes[k])
						  : fn[t](&m, sizes[k]);
			assert_int_equal(rc, -EPROTO);
		}
	}
	/* a longer HELLO from a later version is fine; its unknown features are
	 * masked off */
	struct comms_params p;
	uint32_t a, b;
	good(&m, COMMS_HELLO);
	put32at(&m, 4, 1 | 60u << 16);
	put32at(&m, 24, 0xffff);
	assert_int_equal(comms_parse_hello(&m, sizeof(m), &a, &b, &p), 0);
	assert_int_equal(p.features, COMMS_F_KNOWN);
}

static void test_negotiate(void **state)
{
	struct comms_params out, w = WANT, o = OFFER;

	assert_int_equal(comms_negotiate(&OFFER, &WANT, &out), 0);
	assert_int_equal(out.geom.slots, 256);
	assert_int_equal(out.geom.slot_size, 2048);
	assert_int_equal(out.features, COMMS_F_CSUM);
	assert_int_equal(out.mtu, 1500);
	assert_memory_equal(out.mac, WANT.mac, 6);
	/* clamped to the offer */
	w.geom = (struct ring_geom){ 4096, 65536 };
	w.features = COMMS_F_KNOWN;
	w.mtu = 0;
	o.features = COMMS_F_GSO;
	assert_int_equal(comms_negotiate(&o, &w, &out), 0);
	assert_int_equal(out.geom.slots, 1024);
	assert_int_equal(out.geom.slot_size, 4096);
	assert_int_equal(out.features, COMMS_F_GSO);
	assert_int_equal(out.mtu, 9000);
	w.mtu = 65000;
	assert_int_equal(comms_negotiate(&o, &w, &out), 0);
	assert_int_equal(out.mtu, 9000);
	w.geom.slots = 100;
	assert_int_equal(comms_negotiate(&o, &w, &out), -EPROTO);
	w.geom.slots = 64;
	w.mac[0] = 1;
	assert_int_equal(comms_negotiate(&o, &w, &out), -EPROTO);
}

/* --- real handshakes ------------------------------------------------------ */

static int setup_path(void **state)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/ember-comms-test-%d.sock", (int)getpid());
	return 0;
}

static int teardown_path(void **state)
{
	unlink(sock_path);
	return 0;
}

/* Wait for a frame: the sleep protocol (prepare, re-check, poll). */
static int wait_frame(struct comms_link *l, struct ring_rx_frame *f)
{
	for (int tries = 0; tries < 100; tries++) {
		int rc = ring_rx_peek(&l->rx, f);
		if (rc)
			return rc;
		if (!ring_rx_prepare_sleep(&l->rx))
			continue;
		struct pollfd p = { .fd = l->doorbell_rx, .events = POLLIN };
		if (poll(&p, 1, 2000) != 1)
			return -ETIMEDOUT;
		comms_drain(l);
		ring_rx_awake(&l->rx);
	}
	return -ETIMEDOUT;
}

static int send_text(struct comms_link *l, const char *s)
{
	struct iovec v = { (void *)s, strlen(s) };
	int rc = ring_tx_frame(&l->tx, NULL, &v, 1, v.iov_len);

	if (rc == 0 && ring_tx_publish(&l->tx))
		comms_kick(l);
	return rc;
}

static int expect_text(struct comms_link *l, const char *s)
{
	struct ring_rx_frame f;
	char buf[64] = { 0 };
	int rc = wait_frame(l, &f);

	if (rc != 1)
		return -1;
	ring_rx_copy(&l->rx, &f, 0, buf, sizeof(buf) - 1);
	ring_rx_consume(&l->rx, &f);
	if (ring_rx_publish(&l->rx))
		comms_kick(l);
	return f.len == strlen(s) && !strcmp(buf, s) ? 0 : -1;
}

static pid_t client_child(int mode)
{
	pid_t pid = fork();
	struct comms_link l;
	char err[128];

	assert_true(pid >= 0);
	if (pid)
		return pid;
	if (comms_connect(sock_path, &WANT, &l, err, sizeof(err)))
		_exit(10);
	if (l.p.geom.slots != 256 || l.p.geom.slot_size != 2048 || l.p.mtu != 1500 ||
	    l.p.features != COMMS_F_CSUM || l.server)
		_exit(11);
	if (mode == 1) /* wait to be killed */
		for (;;)
			pause();
	if (mode == 2) { /* the server closes: DISCONNECT, then HUP */
		struct pollfd p = { .fd = l.ctl_fd, .events = POLLIN };
		struct comms_msg m;
		uint32_t code;
		char why[64];
		if (poll(&p, 1, 5000) != 1 || recv(l.ctl_fd, &m, sizeof(m), 0) != sizeof(m) ||
		    comms_parse_disconnect(&m, sizeof(m), &code, why, sizeof(why)) ||
		    strcmp(why, "bye"))
			_exit(12);
		if (poll(&p, 1, 5000) != 1 || !(p.revents & POLLHUP))
			_exit(13);
		_exit(0);
	}
	for (int i = 0; i < 100; i++) {
		char s[32];
		snprintf(s, sizeof(s), "ping %d", i);
		if (send_text(&l, s))
			_exit(14);
		snprintf(s, sizeof(s), "pong %d", i);
		if (expect_text(&l, s))
			_exit(15);
	}
	comms_link_close(&l, "done");
	_exit(0);
}

static int accept_one(int ls, struct comms_link *l)
{
	char err[128];
	int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

	assert_true(fd >= 0);
	return comms_accept(fd, &OFFER, l, err, sizeof(err));
}

static int child_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A live listener's socket is never taken over; a stale one is; a
 * regular file is never deleted; the socket is 0600 from the start. */
static void test_listen_rules(void **state)
{
	struct stat st;
	int a = comms_listen(sock_path), b, fd;

	assert_true(a >= 0);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(comms_listen(sock_path), -EADDRINUSE);
	close(a); /* the file stays: stale now */
	b = comms_listen(sock_path);
	assert_true(b >= 0);
	close(b);
	unlink(sock_path);
	fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(comms_listen(sock_path), -EEXIST);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(sock_path);
	(void)state;
}

static void test_handshake(void **state)
{
	int ls = comms_listen(sock_path), fds0;
	struct comms_link l, zero;
	uint64_t first_sid;

	assert_true(ls >= 0);
	fds0 = count_fds();
	for (int round = 0; round < 2; round++) { /* the second is a reconnect */
		pid_t pid = client_child(0);
		assert_int_equal(accept_one(ls, &l), 0);
		assert_true(l.server);
		assert_int_equal(l.p.geom.slots, 256);
		assert_int_equal(l.p.features, COMMS_F_CSUM);
		assert_memory_equal(l.p.mac, WANT.mac, 6);
		if (round == 0)
			first_sid = l.session_id;
		else
			assert_true(l.session_id != first_sid); /* a fresh region */
		for (int i = 0; i < 100; i++) {
			char s[32];
			snprintf(s, sizeof(s), "ping %d", i);
			assert_int_equal(expect_text(&l, s), 0);
			snprintf(s, sizeof(s), "pong %d", i);
			assert_int_equal(send_text(&l, s), 0);
		}
		assert_int_equal(child_status(pid), 0);
		comms_link_close(&l, "done");
		assert_int_equal(l.ctl_fd, -1);
		assert_null(l.base);
		comms_link_close(&l, NULL); /* twice is fine */
		assert_int_equal(count_fds(), fds0);
	}
	int fd0_open = fcntl(0, F_GETFD) >= 0;
	memset(&zero, 0, sizeof(zero));
	comms_link_close(&zero, NULL); /* a zeroed link: fd 0 is not closed */
	assert_int_equal(fcntl(0, F_GETFD) >= 0, fd0_open);
	assert_int_equal(zero.ctl_fd, -1);
	close(ls);
	/* a stale socket file is replaced; anything else is not touched */
	ls = comms_listen(sock_path);
	assert_true(ls >= 0);
	close(ls);
	char file[80];
	snprintf(file, sizeof(file), "%s.file", sock_path);
	FILE *fp = fopen(file, "w");
	fclose(fp);
	assert_int_equal(comms_listen(file), -EEXIST);
	unlink(file);
}

static void test_peer_death(void **state)
{
	int ls = comms_listen(sock_path);
	struct comms_link l;
	struct pollfd p;
	pid_t pid;

	assert_true(ls >= 0);
	pid = client_child(1);
	assert_int_equal(accept_one(ls, &l), 0);
	p = (struct pollfd){ .fd = l.ctl_fd, .events = POLLIN | POLLRDHUP };
	assert_int_equal(poll(&p, 1, 0), 0); /* alive: quiet */
	kill(pid, SIGKILL);
	assert_int_equal(child_status(pid), 128 + SIGKILL);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_true(p.revents & POLLHUP);
	/* the mapping outlives the peer: the rings stay safe to touch */
	struct ring_rx_frame f;
	assert_int_equal(ring_rx_peek(&l.rx, &f), 0);
	assert_int_equal(send_text(&l, "anyone?"), 0);
	comms_link_close(&l, "peer died");

	/* the other way round: the server closes, the client sees why */
	pid = client_child(2);
	assert_int_equal(accept_one(ls, &l), 0);
	comms_link_close(&l, "bye");
	assert_int_equal(child_status(pid), 0);
	close(ls);
}

/* --- hostile peers ------------------------------------------------------- */

static int send_fds(int fd, const struct comms_msg *m, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == sizeof(*m) ? 0 : -1;
}

enum script {
	S_GOOD, S_REGION_1FD, S_REGION_0FD, S_REGION_3FD, S_UNSEALED, S_WRONG_SIZE, S_WRONG_SID,
	S_TOO_BIG, S_BAD_HELLO, S_NO_VERSION, S_DISCONNECT, S_SILENT, S_SHORT_HELLO, S_LONG_HELLO,
	S_PIPE_BELL,
};

/* The region a scripted server sends, per script. */
static int script_region(int script, struct comms_msg *m, int *fds)
{
	struct comms_params p = WANT;
	struct ring_geom big = { 512, 2048 };
	uint64_t sid = 77;

	fds[0] = ring_region_create(&WANT.geom, sid);
	fds[1] = eventfd(0, EFD_CLOEXEC);
	fds[2] = eventfd(0, EFD_CLOEXEC);
	if (script == S_UNSEALED) {
		close(fds[0]);
		fds[0] = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (ftruncate(fds[0], (off_t)ring_region_size(&WANT.geom)))
			_exit(99);
	} else if (script == S_WRONG_SIZE || script == S_TOO_BIG) {
		close(fds[0]);
		fds[0] = ring_region_create(&big, sid);
		if (script == S_TOO_BIG)
			p.geom = big;
	}
	if (script == S_PIPE_BELL) { /* a doorbell that could block our kicks */
		int pfd[2];
		if (pipe(pfd))
			_exit(97);
		close(fds[1]);
		fds[1] = pfd[1];
	}
	comms_msg_region(m, 1, script == S_WRONG_SID ? sid + 1 : sid, &p);
	return script == S_REGION_1FD ? 1 : script == S_REGION_0FD ? 0 : script == S_REGION_3FD ? 3 : 2;
}

static pid_t fake_server(int ls, int script)
{
	struct comms_msg m;
	int fds[3], fd;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	fd = accept(ls, NULL, NULL);
	comms_msg_hello(&m, &OFFER);
	if (script == S_BAD_HELLO)
		m.magic ^= 1;
	if (script == S_NO_VERSION) {
		uint32_t v = htole32(COMMS_VERSION_MAX + 1);
		memcpy(m.payload, &v, 4);
		memcpy(m.payload + 4, &v, 4);
	}
	if (script == S_DISCONNECT)
		comms_msg_disconnect(&m, 1, "switch full");
	if (script == S_SILENT) {
		usleep(1500 * 1000); /* past the client's step timeout */
		_exit(0);
	}
	if (script == S_SHORT_HELLO || script == S_LONG_HELLO) {
		/* a well-formed HELLO in a record of the wrong size */
		uint8_t rec[2 * sizeof(m)] = { 0 };
		memcpy(rec, &m, sizeof(m));
		if (send(fd, rec, script == S_SHORT_HELLO ? 100 : sizeof(rec), MSG_NOSIGNAL) < 0)
			_exit(98);
	} else {
		send_fds(fd, &m, NULL, 0);
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 3000) == 1 && recv(fd, &m, sizeof(m), 0) == sizeof(m) &&
	    le16toh(m.type) == COMMS_INIT) {
		int n = script_region(script, &m, fds);
		send_fds(fd, &m, fds, n);
	}
	poll(&p, 1, 3000); /* until the client is done with us */
	_exit(0);
}

static void test_hostile_server(void **state)
{
	static const struct { int script, rc; } cases[] = {
		{ S_GOOD, 0 },
		{ S_REGION_1FD, -EPROTO },  { S_REGION_0FD, -EPROTO },
		{ S_REGION_3FD, -EPROTO },  { S_UNSEALED, -EPERM },
		{ S_WRONG_SIZE, -EINVAL },  { S_WRONG_SID, -EPROTO },
		{ S_TOO_BIG, -EPROTO },	    { S_BAD_HELLO, -EPROTO },
		{ S_NO_VERSION, -EPROTO },  { S_DISCONNECT, -ECONNREFUSED },
		{ S_SILENT, -ETIMEDOUT },   { S_SHORT_HELLO, -EPROTO },
		{ S_LONG_HELLO, -EPROTO },  { S_PIPE_BELL, -EPROTO },
	};
	int ls = comms_listen(sock_path);

	assert_true(ls >= 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct comms_link l;
		char err[128] = "";
		int fds0 = count_fds();
		pid_t pid = fake_server(ls, cases[i].script);
		int rc = comms_connect(sock_path, &WANT, &l, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("script %d: rc %d (%s), expected %d", cases[i].script, rc, err,
				 cases[i].rc);
		if (rc == 0) {
			assert_true(l.base != NULL);
			comms_link_close(&l, "ok");
		} else {
			assert_true(err[0] != '\0');
			assert_int_equal(l.ctl_fd, -1);
		}
		if (cases[i].script == S_DISCONNECT)
			assert_non_null(strstr(err, "switch full"));
		assert_int_equal(count_fds(), fds0); /* every received fd closed */
		assert_int_equal(child_status(pid), 0);
	}
	close(ls);
	/* nobody listening */
	struct comms_link l;
	assert_int_equal(comms_connect(sock_path, &WANT, &l, NULL, 0), -ECONNREFUSED);
	unlink(sock_path);
	assert_int_equal(comms_connect(sock_path, &WANT, &l, NULL, 0), -ENOENT);
}

/* comms_accept against a client whose messages are queued in advance on a
 * socketpair: INIT (good or not) and READY carrying nfds eventfds. */
static int accept_script(bool init, uint32_t version, bool ready, int nfds)
{
	struct comms_link l;
	struct comms_msg m;
	char err[128] = "";
	int sv[2], bells[3], rc, fds0 = count_fds();

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	for (int i = 0; i < 3; i++)
		bells[i] = eventfd(0, EFD_CLOEXEC);
	if (init) {
		comms_msg_init(&m, version, &WANT);
		assert_int_equal(send_fds(sv[1], &m, NULL, 0), 0);
	}
	if (ready) {
		comms_msg_ready(&m);
		assert_int_equal(send_fds(sv[1], &m, bells, nfds), 0);
	}
	rc = comms_accept(sv[0], &OFFER, &l, err, sizeof(err));
	if (rc == 0) {
		assert_true(l.server);
		assert_int_equal(l.p.geom.slots, 256);
		comms_link_close(&l, NULL);
	} else {
		assert_true(err[0] != '\0');
	}
	close(sv[1]); /* drops the REGION fds queued for the fake client */
	for (int i = 0; i < 3; i++)
		close(bells[i]);
	assert_int_equal(count_fds(), fds0);
	return rc;
}

static void test_hostile_client(void **state)
{
	assert_int_equal(accept_script(true, 1, true, 1), 0);
	assert_int_equal(accept_script(true, 1, true, 0), -EPROTO);
	assert_int_equal(accept_script(true, 1, true, 2), -EPROTO);
	assert_int_equal(accept_script(true, 1, true, 3), -EPROTO);
	assert_int_equal(accept_script(true, 2, true, 1), -EPROTO);
	assert_int_equal(accept_script(true, 0, true, 1), -EPROTO);
	assert_int_equal(accept_script(true, 1, false, 0), -ETIMEDOUT);
	assert_int_equal(accept_script(false, 1, false, 0), -ETIMEDOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_wire_bytes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test_setup_teardown(test_listen_rules, setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(test_handshake, setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(test_peer_death, setup_path, teardown_path),
		cmocka_unit_test_setup_teardown(test_hostile_server, setup_path, teardown_path),
		cmocka_unit_test(test_hostile_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
