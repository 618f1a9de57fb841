/* The VMM thread's epoll loop. Handlers are caller-owned structs whose
 * address is the epoll data, so no lookup table is needed. */
#ifndef EMBER_EVLOOP_H
#define EMBER_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct evloop_handler;
typedef void (*evloop_fn)(struct evloop_handler *h, uint32_t events);

struct evloop_handler {
	int fd;
	evloop_fn fn;
	void *ctx;
};

struct epoll_event;

struct evloop {
	int epfd;
	bool stop;
	/* The batch being dispatched: evloop_del() forgets the handler's
	 * events still queued in it, so a handler freed by an earlier
	 * callback of the same batch (a device torn down) is never called. */
	struct epoll_event *batch;
	int batch_n;
	pthread_t owner; /* the thread in evloop_run: only it touches batch */
};

int evloop_init(struct evloop *l);
int evloop_add(struct evloop *l, struct evloop_handler *h, uint32_t events);
int evloop_mod(struct evloop *l, struct evloop_handler *h, uint32_t events);
/* Also drops h's events not yet dispatched in the current batch. */
int evloop_del(struct evloop *l, struct evloop_handler *h);
/* Dispatch until evloop_stop() is called from a handler. 0 or -errno. */
int evloop_run(struct evloop *l);
void evloop_stop(struct evloop *l);
void evloop_destroy(struct evloop *l);

#endif
