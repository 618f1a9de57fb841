/* One host UNIX socket of the vsock muxer: the CONNECT line of a host
 * client, then the connection's data. Everything is non-blocking on the
 * VMM thread's loop: host data is read straight into the guest's RX buffer
 * (only when the guest has credit), guest data is written straight from
 * its TX buffer, and what the socket has no room for waits in a
 * per-connection buffer bounded by the credit ember gave (VSOCK_CONN_BUF).
 * Epoll events are hints: each is re-checked with a non-blocking call, so
 * a stale one for a reused slot does no harm. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ember/log.h"
#include "vsock_internal.h"

void vsock_host_close(struct vsock_hconn *hc)
{
	if (hc->h.fd >= 0) {
		if (hc->registered)
			evloop_del(hc->m->loop, &hc->h);
		close(hc->h.fd);
		hc->h.fd = -1;
	}
	hc->registered = false;
	free(hc->out.data);
	hc->out = (struct vsock_buf){ 0 };
}

/* Stop watching the socket (a hung-up one would report EPOLLHUP forever)
 * but keep it open for the data still in it. */
static void unregister(struct vsock_hconn *hc)
{
	if (hc->registered)
		evloop_del(hc->m->loop, &hc->h);
	hc->registered = false;
}

static uint32_t wanted(const struct vsock_hconn *hc)
{
	uint32_t ev = 0;

	if (hc->line_mode)
		return EPOLLIN;
	if (!hc->readable && vsock_conn_rx_open(&hc->c))
		ev |= EPOLLIN;
	if (hc->out.len)
		ev |= EPOLLOUT;
	return ev;
}

int vsock_host_register(struct vsock_hconn *hc, int fd)
{
	int rc;

	hc->h.fd = fd;
	hc->events = wanted(hc);
	rc = evloop_add(hc->m->loop, &hc->h, hc->events);
	if (rc) {
		close(fd);
		hc->h.fd = -1;
		return rc;
	}
	hc->registered = true;
	return 0;
}

void vsock_host_update(struct vsock_hconn *hc)
{
	uint32_t ev = wanted(hc);

	if (!hc->registered || ev == hc->events)
		return;
	if (evloop_mod(hc->m->loop, &hc->h, ev) == 0)
		hc->events = ev;
}

/* Append bytes [skip, skip + len) of iov to the ring. */
static int buf_append(struct vsock_buf *b, const struct iovec *iov, unsigned n, size_t skip,
		      uint32_t len)
{
	if (len > VSOCK_CONN_BUF - b->len)
		return -ENOBUFS; /* cannot happen: conn.held bounds it */
	if (!b->data && !(b->data = malloc(VSOCK_CONN_BUF)))
		return -ENOMEM;
	for (unsigned i = 0; i < n && len; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		p += skip;
		l -= skip;
		skip = 0;
		if (l > len)
			l = len;
		len -= (uint32_t)l;
		while (l) {
			uint32_t pos = (b->head + b->len) % VSOCK_CONN_BUF;
			uint32_t chunk = VSOCK_CONN_BUF - pos < l ? VSOCK_CONN_BUF - pos : (uint32_t)l;

			memcpy(b->data + pos, p, chunk);
			b->len += chunk;
			p += chunk;
			l -= chunk;
		}
	}
	return 0;
}

int vsock_host_send(struct vsock_hconn *hc, const struct iovec *iov, unsigned n, uint32_t len)
{
	size_t done = 0;

	if (hc->h.fd < 0)
		return -EPIPE;
	if (!hc->out.len) { /* nothing queued before it: straight to the socket */
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
		ssize_t w = sendmsg(hc->h.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (w > 0) {
			done = (size_t)w;
			vsock_conn_flushed(&hc->c, (uint32_t)w);
		}
	}
	return done < len ? buf_append(&hc->out, iov, n, done, len - (uint32_t)done) : 0;
}

/* Buffered guest bytes to the socket. 0 or -errno. */
static int flush(struct vsock_hconn *hc)
{
	struct vsock_buf *b = &hc->out;
	uint32_t first = VSOCK_CONN_BUF - b->head < b->len ? VSOCK_CONN_BUF - b->head : b->len;
	struct iovec iov[2] = { { b->data + b->head, first }, { b->data, b->len - first } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = first < b->len ? 2 : 1 };
	ssize_t w = sendmsg(hc->h.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	b->head = (b->head + (uint32_t)w) % VSOCK_CONN_BUF;
	b->len -= (uint32_t)w;
	if (!b->len) {
		free(b->data);
		*b = (struct vsock_buf){ 0 };
	}
	vsock_conn_flushed(&hc->c, (uint32_t)w);
	return 0;
}

int vsock_host_send_ok(struct vsock_hconn *hc)
{
	char line[24];
	int n = snprintf(line, sizeof(line), "OK %u\n", hc->c.local_port);
	ssize_t w;

	if (hc->h.fd < 0)
		return -EPIPE;
	w = send(hc->h.fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0)
		return -errno;
	return w == n ? 0 : -EAGAIN; /* a fresh socket always has room */
}

/* Is the host peer gone both ways (not merely done sending)? */
static short poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

uint32_t vsock_host_read(struct vsock_hconn *hc, const struct virtq_chain *c, uint32_t space,
			 uint32_t credit)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	uint32_t want = space - VSOCK_HDR_LEN < credit ? space - VSOCK_HDR_LEN : credit;
	unsigned n = vsock_pkt_iov(c, VSOCK_HDR_LEN, want, iov, VIRTQ_MAX_SEGS);
	ssize_t r;

	if (!want || hc->h.fd < 0)
		return 0;
	r = readv(hc->h.fd, iov, (int)n);
	if (r > 0) {
		/* drained for now: wait for EPOLLIN; but a hung-up socket is
		 * no longer watched (peer_hup), so read on until its EOF */
		if ((uint32_t)r < want && !hc->hup) {
			hc->readable = false;
			vsock_host_update(hc);
		}
		return (uint32_t)r;
	}
	hc->readable = false;
	if (r == 0) {
		hc->hup = hc->hup || (poll_now(hc->h.fd) & POLLHUP);
		if (hc->hup)
			unregister(hc);
		vsock_conn_host_eof(&hc->c, hc->hup);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		hc->m->st->rx_read_fails++;
		vsock_mux_kill(hc->m, hc, strerror(errno));
	}
	return 0;
}

/* The host peer hung up: its remaining data still goes to the guest; a
 * connection that cannot carry any more ends. */
static void peer_hup(struct vsock_hconn *hc)
{
	hc->hup = true;
	unregister(hc);
	if (hc->c.state == VSOCK_LOCAL_INIT)
		vsock_mux_kill(hc->m, hc, "host client left before the guest answered");
	else if (vsock_conn_rx_open(&hc->c) || hc->c.state == VSOCK_PEER_INIT)
		hc->readable = true; /* read to EOF, which then knows hup */
	else
		vsock_conn_host_eof(&hc->c, true);
}

static void conn_event(struct vsock_hconn *hc, uint32_t events)
{
	struct vsock_muxer *m = hc->m;

	if (events & (EPOLLERR | EPOLLHUP)) {
		short re = poll_now(hc->h.fd);

		if (re & POLLERR) {
			int err = 0;
			socklen_t l = sizeof(err);

			getsockopt(hc->h.fd, SOL_SOCKET, SO_ERROR, &err, &l);
			m->st->conn_event_fails++;
			vsock_mux_kill(m, hc, err ? strerror(err) : "socket error");
			return;
		}
		if (re & POLLHUP)
			peer_hup(hc);
		if (!hc->used)
			return;
	}
	if (events & EPOLLIN)
		hc->readable = true;
	if ((events & EPOLLOUT) && hc->out.len && hc->h.fd >= 0) {
		int rc = flush(hc);

		if (rc) {
			m->st->tx_flush_fails++;
			vsock_mux_kill(m, hc, strerror(-rc));
			return;
		}
	}
	vsock_mux_settle(m, hc);
}

static void bad_line(struct vsock_hconn *hc, const char *why)
{
	log_ratelimited(LOG_WARN, "vsock: host client dropped: %s", why);
	hc->m->st->muxer_event_fails++;
	vsock_mux_remove(hc->m, hc);
}

/* Collect "CONNECT <port>\n" without reading past the newline (bytes after
 * it are the client's first data for the guest). */
static void line_event(struct vsock_hconn *hc)
{
	char buf[VSOCK_LINE_MAX], *nl;
	ssize_t n = recv(hc->h.fd, buf, VSOCK_LINE_MAX - hc->line_len, MSG_PEEK | MSG_DONTWAIT);
	size_t take;
	uint32_t port;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			bad_line(hc, strerror(errno));
		else
			vsock_mux_remove(hc->m, hc); /* left before asking for anything */
		return;
	}
	nl = memchr(buf, '\n', (size_t)n);
	take = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
	if (recv(hc->h.fd, hc->line + hc->line_len, take, MSG_DONTWAIT) != (ssize_t)take) {
		bad_line(hc, "short read");
		return;
	}
	hc->line_len = (uint8_t)(hc->line_len + take);
	if (!nl) {
		if (hc->line_len >= VSOCK_LINE_MAX)
			bad_line(hc, "CONNECT line too long");
		return;
	}
	if (vsock_parse_connect(hc->line, hc->line_len, &port))
		bad_line(hc, "malformed CONNECT line");
	else
		vsock_mux_start_local(hc->m, hc, port);
}

void vsock_host_event(struct evloop_handler *h, uint32_t events)
{
	struct vsock_hconn *hc = h->ctx;
	struct vsock_muxer *m = hc->m;

	pthread_mutex_lock(m->lock);
	if (hc->used && hc->registered) { /* else a stale event: the socket is gone */
		if (hc->line_mode)
			line_event(hc);
		else
			conn_event(hc, events);
		m->rx_kick(m->ctx);
	}
	pthread_mutex_unlock(m->lock);
}
