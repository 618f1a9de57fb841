/* ember-switch's worker: one thread, one epoll set (signals, new links,
 * each link's control socket and doorbell, the TAP), and rounds that take
 * up to SW_BURST frames from every port, then publish what they wrote.
 *
 * Poll, then sleep: while frames flowed within the last --spin-us, the
 * worker keeps polling the rings (epoll_wait with timeout 0 picks up the
 * TAP, signals and hang-ups), and the peers see need_kick clear and skip
 * their doorbell writes. After that quiet spell it arms every ring
 * (ring_rx_prepare_sleep: need_kick, fence, re-check) and sleeps in
 * epoll_wait until a doorbell, at most SW_SAFETY_MS. The spin is bounded
 * and only follows traffic: on a 2-core host the guests' vCPUs need the
 * CPU more than the switch needs a few microseconds of wake-up latency. */
#include "switch_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"

uint64_t sw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SW_NS + (uint64_t)ts.tv_nsec;
}

static bool rx_link(struct sw *s, unsigned i)
{
	struct sw_port *p = &s->port[i];
	struct ring_rx_frame f;
	bool work = false;

	for (int k = 0; k < SW_BURST && !p->dead; k++) {
		int rc = ring_rx_peek(&p->link.rx, &f), n;

		if (rc == 0)
			break;
		n = rc < 0 ? rc : ring_rx_iov(&p->link.rx, &f, s->iov, SW_MAX_IOV);
		if (n < 0) {
			sw_port_kill(s, i, "ring violation: impossible index or length");
			break;
		}
		if (sw_input(s, i, &f.hdr, s->iov, n, f.len) == -EAGAIN)
			break; /* held: the destination is full */
		ring_rx_consume(&p->link.rx, &f);
		work = true;
	}
	if (!p->dead && ring_rx_publish(&p->link.rx))
		comms_kick(&p->link); /* its producer waits for space */
	return work;
}

static bool rx_tap(struct sw *s, unsigned i)
{
	struct sw_port *p = &s->port[i];
	struct ring_vnet_hdr h;
	struct iovec iov;
	bool work = false;

	for (int k = 0; k < SW_BURST && !p->dead; k++) {
		if (!p->tap_len) {
			ssize_t n = sw_tap_read(p->tap_fd, p->tap_buf, SW_VNET_HDR + RING_MAX_FRAME);

			if (n == 0)
				break;
			if (n < 0) {
				log_err("switch: tap read: %s", strerror((int)-n));
				sw_port_kill(s, i, "tap read failed");
				break;
			}
			if (n <= SW_VNET_HDR) {
				p->st.rx_drops++;
				continue;
			}
			p->tap_len = (size_t)n;
		}
		memcpy(&h, p->tap_buf, sizeof(h));
		iov = (struct iovec){ .iov_base = p->tap_buf + SW_VNET_HDR,
				      .iov_len = p->tap_len - SW_VNET_HDR };
		if (sw_input(s, i, &h, &iov, 1, iov.iov_len) == -EAGAIN)
			break;
		p->tap_len = 0;
		work = true;
	}
	return work;
}

static void round_robin(struct sw *s)
{
	bool work = false;

	s->now = sw_now_ns();
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		if (!(s->active >> i & 1))
			continue;
		if (s->port[i].kind == SW_PORT_LINK)
			work |= rx_link(s, i);
		else
			work |= rx_tap(s, i);
	}
	sw_port_publish_all(s);
	sw_port_reap(s);
	if (s->now - s->last_age >= SW_AGE_EVERY_NS) {
		sw_fdb_age(&s->fdb, s->now);
		s->last_age = s->now;
	}
	if (work)
		s->last_work = s->now;
}

static void awake_all(struct sw *s)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if ((s->active >> i & 1) && s->port[i].kind == SW_PORT_LINK)
			ring_rx_awake(&s->port[i].link.rx);
}

/* 0: keep polling; else arm every ring and sleep that many ms at most. */
static int sleep_ms(struct sw *s)
{
	bool held = false;

	if (sw_now_ns() - s->last_work < (uint64_t)s->cfg->spin_us * 1000)
		return 0;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = &s->port[i];

		if (!(s->active >> i & 1))
			continue;
		if (p->stall_since || p->tap_len) {
			held = true; /* waits for a destination's kick, not for its own */
			continue;
		}
		if (p->kind == SW_PORT_LINK && !ring_rx_prepare_sleep(&p->link.rx)) {
			awake_all(s);
			return 0; /* frames arrived meanwhile */
		}
	}
	return held ? 1 : SW_SAFETY_MS;
}

static void on_signal(struct sw *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			sw_stats_dump(s);
		} else {
			log_info("switch: signal %u: stopping", si.ssi_signo);
			s->stop = true;
		}
	}
}

static void dispatch(struct sw *s, const struct epoll_event *ev)
{
	unsigned kind = (unsigned)(ev->data.u64 >> 32), i = (unsigned)ev->data.u64;
	struct comms_link l;
	uint64_t v;

	switch (kind) {
	case SW_EV_ACCEPT:
		if (read(s->acc.notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_warn("switch: accept eventfd: %s", strerror(errno));
		while (sw_acc_take(&s->acc, &l))
			sw_port_add_link(s, &l);
		break;
	case SW_EV_SIGNAL:
		on_signal(s);
		break;
	case SW_EV_CTL: /* hang-up, or DISCONNECT: the only message after READY */
		sw_port_kill(s, i, "peer closed the link");
		break;
	case SW_EV_BELL:
		if (s->port[i].kind == SW_PORT_LINK && !s->port[i].dead)
			comms_drain(&s->port[i].link);
		break;
	default: /* SW_EV_TAP: the round reads it */
		break;
	}
}

int sw_run(struct sw *s)
{
	struct epoll_event ev[64];

	while (!s->stop) {
		int ms = sleep_ms(s), n = epoll_wait(s->ep, ev, 64, ms);

		if (ms)
			awake_all(s);
		if (n < 0 && errno != EINTR) {
			log_err("switch: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int k = 0; k < n; k++)
			dispatch(s, &ev[k]);
		round_robin(s);
	}
	return 0;
}
