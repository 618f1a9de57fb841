/* Control-socket I/O for the comms handshake (comms_ctl_io.h). The
 * receive side is where a hostile peer's socket input is first met:
 * MSG_CMSG_CLOEXEC so no fd leaks into a child, MSG_CTRUNC/MSG_TRUNC and
 * the record size refused, the fd count checked against what the message
 * type carries (and every fd of a refused message closed: CVE-2022-0669's
 * lesson in DPDK vhost). */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "comms_ctl_io.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `ev` for at most one step; EINTR resumes with the time left. */
static int wait_fd(int fd, short ev)
{
	long long end = now_ms() + COMMS_STEP_TIMEOUT_MS;
	struct pollfd p = { .fd = fd, .events = ev };

	for (;;) {
		long long left = end - now_ms();
		int rc = poll(&p, 1, left > 0 ? (int)left : 0);
		if (rc > 0)
			return 0; /* readable, writable, HUP or ERR: the call says which */
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

void comms_io_close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int send_raw(int fd, const struct comms_msg *m, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * COMMS_IO_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > COMMS_IO_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

int comms_io_send(int fd, const struct comms_msg *m, const int *fds, int nfds)
{
	int rc = send_raw(fd, m, fds, nfds);

	if (rc == -EAGAIN && (rc = wait_fd(fd, POLLOUT)) == 0)
		rc = send_raw(fd, m, fds, nfds);
	return rc;
}

void comms_io_send_now(int fd, const struct comms_msg *m)
{
	(void)send_raw(fd, m, NULL, 0);
}

/* Every fd in every SCM_RIGHTS record goes to got[] (extras beyond its
 * room are closed at once); returns how many there were in all. */
static int collect_fds(struct msghdr *mh, int *got)
{
	int total = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++, total++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (total < COMMS_IO_MAX_FDS)
				got[total] = f;
			else
				close(f);
		}
	}
	return total;
}

static int peer_disconnect(const struct comms_msg *m, char *err, size_t errlen)
{
	char why[COMMS_MSG_SIZE];
	uint32_t code;

	if (comms_parse_disconnect(m, sizeof(*m), &code, why, sizeof(why)))
		snprintf(why, sizeof(why), "(malformed)");
	if (err && errlen)
		snprintf(err, errlen, "peer disconnected: %s", why);
	return -ECONNREFUSED;
}

int comms_io_recv(int fd, struct comms_msg *m, int *fds, int nfds, char *err, size_t errlen)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * COMMS_IO_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	int got[COMMS_IO_MAX_FDS], count, rc = wait_fd(fd, POLLIN);
	const char *why = NULL;
	ssize_t n = -1;

	if (rc == 0) {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		rc = n < 0 ? -errno : 0;
	}
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "control socket: %s", strerror(-rc));
		return rc;
	}
	count = collect_fds(&mh, got);
	if (n == 0)
		rc = -ECONNRESET, why = "peer closed the control socket";
	else if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC) || n != (ssize_t)sizeof(*m))
		rc = -EPROTO, why = "truncated or wrong-sized control message";
	else if (le16toh(m->type) == COMMS_DISCONNECT)
		rc = peer_disconnect(m, err, errlen);
	else if (count != nfds)
		rc = -EPROTO, why = "wrong number of fds with a control message";
	if (rc) {
		comms_io_close_fds(got, count < COMMS_IO_MAX_FDS ? count : COMMS_IO_MAX_FDS);
		if (why && err && errlen)
			snprintf(err, errlen, "%s", why);
		return rc;
	}
	if (nfds)
		memcpy(fds, got, sizeof(int) * (size_t)nfds);
	return 0;
}
