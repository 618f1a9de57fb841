/* rpc_channel: the API thread's requests to the VMM thread (rpc.h).
 *
 * A mutex-protected intrusive FIFO of caller-owned requests, an eventfd that
 * the VMM thread's epoll loop watches, and one condition variable on which
 * callers wait for their answer. Every field of the channel and the `done`,
 * `next` fields of queued requests are only touched under `lock`. */
#include "ember/rpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ember/log.h"

int rpc_channel_init(struct rpc_channel *ch)
{
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->kick_fd < 0) {
		rc = -errno;
		log_err("eventfd: %s", strerror(errno));
		return rc;
	}
	rc = pthread_mutex_init(&ch->lock, NULL);
	if (rc) {
		log_err("pthread_mutex_init: %s", strerror(rc));
		goto err_fd;
	}
	rc = pthread_cond_init(&ch->done_cond, NULL);
	if (rc) {
		log_err("pthread_cond_init: %s", strerror(rc));
		goto err_mutex;
	}
	return 0;

err_mutex:
	pthread_mutex_destroy(&ch->lock);
err_fd:
	close(ch->kick_fd);
	ch->kick_fd = -1;
	return -rc;
}

void rpc_channel_destroy(struct rpc_channel *ch)
{
	if (!ch || ch->kick_fd < 0)
		return;
	pthread_cond_destroy(&ch->done_cond);
	pthread_mutex_destroy(&ch->lock);
	close(ch->kick_fd);
	ch->kick_fd = -1;
}

static void kick(struct rpc_channel *ch)
{
	uint64_t one = 1;

	/* Only fails with EAGAIN at a counter of 2^64-2, i.e. never: the VMM
	 * thread drains it whenever the queue runs empty. */
	if (write(ch->kick_fd, &one, sizeof(one)) != sizeof(one))
		log_err("write(rpc eventfd): %s", strerror(errno));
}

int rpc_call(struct rpc_channel *ch, struct rpc_request *req)
{
	int rc = 0;

	req->status = 0;
	req->reply = NULL;
	req->fault[0] = '\0';
	req->deprecated = false;
	req->next = NULL;
	req->done = false;

	pthread_mutex_lock(&ch->lock);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->lock);
		return -EPIPE;
	}
	if (ch->tail)
		ch->tail->next = req;
	else
		ch->head = req;
	ch->tail = req;
	/* Kicked under the lock so that rpc_next's drain (also under the lock)
	 * can never swallow the kick of a request it has not seen. */
	kick(ch);
	while (!req->done && !ch->closed)
		pthread_cond_wait(&ch->done_cond, &ch->lock);
	if (!req->done)
		rc = -EPIPE;
	pthread_mutex_unlock(&ch->lock);
	return rc;
}

struct rpc_request *rpc_next(struct rpc_channel *ch)
{
	struct rpc_request *req;
	uint64_t n;

	pthread_mutex_lock(&ch->lock);
	req = ch->head;
	if (req) {
		ch->head = req->next;
		if (!ch->head)
			ch->tail = NULL;
		req->next = NULL;
	} else if (read(ch->kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN) {
		log_err("read(rpc eventfd): %s", strerror(errno));
	}
	pthread_mutex_unlock(&ch->lock);
	return req;
}

void rpc_complete(struct rpc_channel *ch, struct rpc_request *req)
{
	pthread_mutex_lock(&ch->lock);
	req->done = true;
	/* Broadcast: the waiter set is tiny (one API thread) but a signal could
	 * wake a caller whose request is still queued. */
	pthread_cond_broadcast(&ch->done_cond);
	pthread_mutex_unlock(&ch->lock);
}

void rpc_close(struct rpc_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->closed = true;
	/* Unlinked, never completed: their callers see !done && closed and
	 * return -EPIPE. */
	for (struct rpc_request *r = ch->head, *nx; r; r = nx) {
		nx = r->next;
		r->next = NULL;
	}
	ch->head = ch->tail = NULL;
	pthread_cond_broadcast(&ch->done_cond);
	pthread_mutex_unlock(&ch->lock);
}

void rpc_fail(struct rpc_request *req, const char *fmt, ...)
{
	va_list ap;

	req->status = 400;
	va_start(ap, fmt);
	vsnprintf(req->fault, sizeof(req->fault), fmt, ap);
	va_end(ap);
}

const char *rpc_route_name(enum rpc_route r)
{
	/* Firecracker's metric names: put_api_requests.<name>_count etc. */
	static const char *const names[ROUTE__COUNT] = {
		[ROUTE_ROOT] = "instance_info",
		[ROUTE_ACTIONS] = "actions",
		[ROUTE_BALLOON] = "balloon",
		[ROUTE_BALLOON_STATS] = "balloon",
		[ROUTE_BALLOON_HINT_START] = "balloon",
		[ROUTE_BALLOON_HINT_STATUS] = "balloon",
		[ROUTE_BALLOON_HINT_STOP] = "balloon",
		[ROUTE_BOOT_SOURCE] = "boot_source",
		[ROUTE_CPU_CONFIG] = "cpu_config",
		[ROUTE_DRIVES] = "drive",
		[ROUTE_PMEM] = "pmem",
		[ROUTE_LOGGER] = "logger",
		[ROUTE_MACHINE_CONFIG] = "machine_config",
		[ROUTE_METRICS] = "metrics",
		[ROUTE_MMDS] = "mmds",
		[ROUTE_MMDS_CONFIG] = "mmds",
		[ROUTE_ENTROPY] = "entropy",
		[ROUTE_SERIAL] = "serial",
		[ROUTE_HOTPLUG_MEMORY] = "hotplug_memory",
		[ROUTE_NETWORK] = "network",
		[ROUTE_SNAPSHOT_CREATE] = "snapshot_create",
		[ROUTE_SNAPSHOT_LOAD] = "snapshot_load",
		[ROUTE_VERSION] = "version",
		[ROUTE_VM] = "vm",
		[ROUTE_VM_CONFIG] = "vm_config",
		[ROUTE_VSOCK] = "vsock",
	};

	if ((unsigned)r >= ROUTE__COUNT || !names[r])
		return "unknown";
	return names[r];
}
