/* epoll event loop of the VMM thread. */
#include "ember/evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ember/log.h"

#define EVLOOP_BATCH 32

int evloop_init(struct evloop *l)
{
	l->stop = false;
	l->batch = NULL;
	l->batch_n = 0;
	l->owner = pthread_self();
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = errno;
		log_err("epoll_create1: %s", strerror(e));
		return -e;
	}
	return 0;
}

static int ctl(struct evloop *l, int op, struct evloop_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (epoll_ctl(l->epfd, op, h->fd, &ev) < 0) {
		int e = errno;
		log_err("epoll_ctl(fd %d): %s", h->fd, strerror(e));
		return -e;
	}
	return 0;
}

int evloop_add(struct evloop *l, struct evloop_handler *h, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, h, events);
}

int evloop_mod(struct evloop *l, struct evloop_handler *h, uint32_t events)
{
	return ctl(l, EPOLL_CTL_MOD, h, events);
}

int evloop_del(struct evloop *l, struct evloop_handler *h)
{
	/* Another thread (a vCPU dropping a link) cannot be inside the
	 * batch's callbacks: the batch is the loop thread's alone. */
	if (pthread_equal(pthread_self(), l->owner))
		for (int i = 0; i < l->batch_n; i++)
			if (l->batch[i].data.ptr == h)
				l->batch[i].data.ptr = NULL;
	return ctl(l, EPOLL_CTL_DEL, h, 0);
}

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[EVLOOP_BATCH];

	/* Normally evloop_init's thread already; vCPUs may exist by now
	 * (--config-file boots before the loop), so never rewrite it then. */
	if (!pthread_equal(l->owner, pthread_self()))
		l->owner = pthread_self();

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, EVLOOP_BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			log_err("epoll_wait: %s", strerror(e));
			return -e;
		}
		l->batch = evs;
		l->batch_n = n;
		for (int i = 0; i < n && !l->stop; i++) {
			struct evloop_handler *h = evs[i].data.ptr;

			if (h)
				h->fn(h, evs[i].events);
		}
		l->batch_n = 0;
	}
	return 0;
}

void evloop_stop(struct evloop *l)
{
	l->stop = true;
}

void evloop_destroy(struct evloop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}
