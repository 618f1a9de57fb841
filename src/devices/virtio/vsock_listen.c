/* The vsock muxer's listening socket at uds_path (a stale socket file is
 * replaced, never anything else), its timer for CONNECT lines and
 * unanswered REQUESTs, and the muxer's lifecycle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/unix_sock.h"
#include "vsock_internal.h"

#define TICK_NS (250 * VSOCK_MS)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t (*vsock_now_ns)(void) = mono_ns;

void vsock_mux_arm_timer(struct vsock_muxer *m, bool on)
{
	struct itimerspec its = { 0 };

	if (m->timer_armed == on)
		return;
	if (on)
		its.it_value = its.it_interval = (struct timespec){ 0, TICK_NS };
	if (timerfd_settime(m->timer_h.fd, 0, &its, NULL) < 0) {
		log_ratelimited(LOG_ERROR, "vsock: timerfd_settime: %s", strerror(errno));
		return;
	}
	m->timer_armed = on;
}

/* --- the listening socket and the timer -------------------------------- */

static void accept_one(struct vsock_muxer *m, int fd)
{
	struct vsock_hconn *hc = vsock_mux_slot_alloc(m);

	if (!hc) {
		log_ratelimited(LOG_WARN, "vsock: %u connections: host client refused",
				VSOCK_MAX_CONNS);
		close(fd);
		return;
	}
	hc->line_mode = true;
	hc->line_deadline_ns = vsock_now_ns() + VSOCK_LINE_TIMEOUT_NS;
	if (vsock_host_register(hc, fd)) {
		m->st->muxer_event_fails++;
		vsock_mux_remove(m, hc);
		return;
	}
	vsock_mux_arm_timer(m, true);
}

static void listen_event(struct evloop_handler *h, uint32_t events)
{
	struct vsock_muxer *m = h->ctx;

	pthread_mutex_lock(m->lock);
	/* bounded, so one busy listener cannot starve the loop */
	for (int i = 0; i < 16; i++) {
		int fd = accept4(m->listen_h.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(m, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		m->st->muxer_event_fails++;
		log_ratelimited(LOG_ERROR, "vsock: accept4: %s", strerror(errno));
		/* e.g. EMFILE: the pending client stays and the level-triggered
		 * listener would spin; look again at the next tick */
		if (!evloop_mod(m->loop, &m->listen_h, 0)) {
			m->listen_paused = true;
			vsock_mux_arm_timer(m, true);
		}
		break;
	}
	pthread_mutex_unlock(m->lock);
}

/* Deadlines: a CONNECT line not complete in time, a REQUEST the guest did
 * not answer. Backwards, so removals (swap with the last) skip nothing. */
static void tick(struct vsock_muxer *m)
{
	uint64_t now = vsock_now_ns();
	bool pending;

	if (m->listen_paused && !evloop_mod(m->loop, &m->listen_h, EPOLLIN))
		m->listen_paused = false;
	pending = m->listen_paused;

	for (unsigned i = m->n_live; i-- > 0;) {
		struct vsock_hconn *hc = m->live[i];

		if (hc->line_mode && now >= hc->line_deadline_ns) {
			log_ratelimited(LOG_WARN, "vsock: host client sent no CONNECT line in time");
			m->st->muxer_event_fails++;
			vsock_mux_remove(m, hc);
		} else if (!hc->line_mode && vsock_conn_expired(&hc->c, now)) {
			vsock_mux_kill(m, hc, "the guest did not answer the REQUEST");
		} else if (hc->line_mode || hc->c.deadline_ns) {
			pending = true;
		}
	}
	if (!pending)
		vsock_mux_arm_timer(m, false);
}

static void timer_event(struct evloop_handler *h, uint32_t events)
{
	struct vsock_muxer *m = h->ctx;
	uint64_t n;

	pthread_mutex_lock(m->lock);
	if (read(m->timer_h.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_ERROR, "vsock: timerfd read: %s", strerror(errno));
	tick(m);
	m->rx_kick(m->ctx);
	pthread_mutex_unlock(m->lock);
}

/* Replace a stale socket file (never anything else) and listen. */
static int listen_on(const char *path)
{
	int fd = usock_listen(path, SOCK_STREAM | SOCK_NONBLOCK, SOMAXCONN);

	if (fd < 0)
		log_err("vsock: cannot listen on uds_path '%s': %s", path,
			fd == -EADDRINUSE ? "another process is serving it"
			: fd == -EEXIST	  ? "it exists and is not a socket"
					  : strerror(-fd));
	return fd;
}

int vsock_mux_create(struct vsock_muxer **out, const char *uds_path, uint64_t guest_cid,
		     struct evloop *loop, struct vsock_stats *st, pthread_mutex_t *lock,
		     void (*rx_kick)(void *ctx), void *ctx)
{
	struct vsock_muxer *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	/* field by field: the slot table makes the struct too big for a
	 * compound literal on the stack */
	m->loop = loop;
	m->cid = guest_cid;
	m->st = st;
	m->lock = lock;
	m->rx_kick = rx_kick;
	m->ctx = ctx;
	m->next_port = VSOCK_LOCAL_PORT_FIRST;
	m->listen_h = (struct evloop_handler){ .fd = -1, .fn = listen_event, .ctx = m };
	m->timer_h = (struct evloop_handler){ .fd = -1, .fn = timer_event, .ctx = m };
	snprintf(m->path, sizeof(m->path), "%s", uds_path);
	rc = listen_on(uds_path);
	if (rc < 0)
		goto err_free;
	m->listen_h.fd = rc;
	m->timer_h.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->timer_h.fd < 0) {
		rc = -errno;
		log_err("vsock: timerfd_create: %s", strerror(-rc));
		goto err_listen;
	}
	rc = evloop_add(loop, &m->listen_h, EPOLLIN);
	if (rc)
		goto err_timer;
	rc = evloop_add(loop, &m->timer_h, EPOLLIN);
	if (rc)
		goto err_del;
	*out = m;
	return 0;
err_del:
	evloop_del(loop, &m->listen_h);
err_timer:
	close(m->timer_h.fd);
err_listen:
	close(m->listen_h.fd);
	unlink(m->path);
err_free:
	free(m);
	return rc;
}

void vsock_mux_destroy(struct vsock_muxer *m)
{
	if (!m)
		return;
	vsock_mux_reset(m);
	evloop_del(m->loop, &m->listen_h);
	evloop_del(m->loop, &m->timer_h);
	close(m->listen_h.fd);
	close(m->timer_h.fd);
	unlink(m->path);
	free(m);
}
