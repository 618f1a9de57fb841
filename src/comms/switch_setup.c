/* ember-switch's start and stop: tables, epoll, signals as a signalfd
 * (blocked before any thread starts, so only the worker sees them), the
 * TAP uplink, then the control socket last, when everything it feeds is
 * ready. Stopping disconnects every port and removes the socket. */
#include "switch_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ember/log.h"

static int watch(struct sw *s, int fd, uint64_t kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = kind << 32 };

	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_err("switch: epoll_ctl: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int setup_signals(struct sw *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	/* An ignored signal is discarded before it reaches the signalfd (a shell
	 * starts background jobs with SIGINT ignored): blocked, the default
	 * action never runs, so restore it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-send is a HUP, not a death */
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sig_fd < 0) {
		log_err("switch: signalfd: %s", strerror(errno));
		return -errno;
	}
	return watch(s, s->sig_fd, SW_EV_SIGNAL);
}

static int setup_tables(struct sw *s, const struct sw_cfg *c)
{
	uint64_t seed = 0;
	int rc;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		log_warn("switch: getrandom: %s; MAC table hash unkeyed", strerror(errno));
	if ((rc = sw_fdb_init(&s->fdb, (uint64_t)c->aging_s * SW_NS, seed)))
		return rc;
	s->scratch = malloc(RING_MAX_FRAME);
	if (!s->scratch)
		return -ENOMEM;
	if (!c->gateway || !c->dhcp)
		return 0;
	rc = sw_dhcp_init(&s->dhcp, &c->gw, sw_cfg_router(c), c->pool_start, c->pool_end,
			  c->dns, c->ndns, c->lease_s);
	s->dhcp_on = rc == 0;
	return rc;
}

static int setup_tap(struct sw *s, const char *name)
{
	int fd, rc = sw_tap_open(name, &fd);

	if (rc)
		return rc;
	rc = sw_port_add_tap(s, fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	log_info("switch: uplink %s is port %d", name, rc);
	return 0;
}

int sw_init(struct sw *s, const struct sw_cfg *c)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->cfg = c;
	s->sig_fd = s->tap_port = s->acc.notify_fd = -1;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0)
		return -errno;
	if ((rc = setup_signals(s)) || (rc = setup_tables(s, c)))
		return rc;
	if (c->tap[0] && (rc = setup_tap(s, c->tap)))
		return rc;
	s->acc.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->acc.notify_fd < 0)
		return -errno;
	if ((rc = watch(s, s->acc.notify_fd, SW_EV_ACCEPT)))
		return rc;
	s->now = s->last_age = sw_now_ns();
	return sw_acc_start(&s->acc, c->socket, s->acc.notify_fd);
}

void sw_fini(struct sw *s)
{
	if (s->acc.started) {
		sw_acc_stop(&s->acc);
		if (unlink(s->cfg->socket) < 0 && errno != ENOENT)
			log_warn("switch: unlink %s: %s", s->cfg->socket, strerror(errno));
	}
	sw_port_close_all(s);
	if (s->acc.notify_fd >= 0)
		close(s->acc.notify_fd);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->ep >= 0)
		close(s->ep);
	free(s->scratch);
	sw_fdb_free(&s->fdb);
	if (s->dhcp_on)
		sw_dhcp_free(&s->dhcp);
}
