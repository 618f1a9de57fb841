/* Requests from the API thread to the VMM thread (design.md §3).
 *
 * The API thread parses HTTP, routes method + path to a `struct rpc_request`
 * (route, method, validated path id, parsed JSON body) and calls rpc_call(),
 * which queues it, kicks the VMM thread's eventfd and blocks until the VMM
 * thread has answered with rpc_complete(). The API thread never touches VM
 * state; the VMM thread handles one request at a time (Firecracker's
 * rpc_interface), so every VM-state change is single-threaded. */
#ifndef EMBER_RPC_H
#define EMBER_RPC_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#define RPC_FAULT_LEN 512
#define RPC_ID_MAX 64

/* One per path of Firecracker's swagger (plus its router-only paths). */
enum rpc_route {
	ROUTE_ROOT,		/* GET / */
	ROUTE_ACTIONS,		/* PUT /actions */
	ROUTE_BALLOON,		/* GET PUT PATCH /balloon */
	ROUTE_BALLOON_STATS,	/* GET PATCH /balloon/statistics */
	ROUTE_BALLOON_HINT_START, /* PATCH /balloon/hinting/start */
	ROUTE_BALLOON_HINT_STATUS, /* GET /balloon/hinting/status */
	ROUTE_BALLOON_HINT_STOP, /* PATCH /balloon/hinting/stop */
	ROUTE_BOOT_SOURCE,	/* PUT /boot-source */
	ROUTE_CPU_CONFIG,	/* PUT /cpu-config */
	ROUTE_DRIVES,		/* PUT PATCH /drives/{drive_id} */
	ROUTE_PMEM,		/* PUT PATCH /pmem/{id} */
	ROUTE_LOGGER,		/* PUT /logger */
	ROUTE_MACHINE_CONFIG,	/* GET PUT PATCH /machine-config */
	ROUTE_METRICS,		/* PUT /metrics */
	ROUTE_MMDS,		/* GET PUT PATCH /mmds */
	ROUTE_MMDS_CONFIG,	/* PUT /mmds/config */
	ROUTE_ENTROPY,		/* PUT /entropy */
	ROUTE_SERIAL,		/* PUT /serial */
	ROUTE_HOTPLUG_MEMORY,	/* GET PUT PATCH /hotplug/memory */
	ROUTE_NETWORK,		/* PUT PATCH /network-interfaces/{iface_id} */
	ROUTE_SNAPSHOT_CREATE,	/* PUT /snapshot/create */
	ROUTE_SNAPSHOT_LOAD,	/* PUT /snapshot/load */
	ROUTE_VERSION,		/* GET /version */
	ROUTE_VM,		/* PATCH /vm */
	ROUTE_VM_CONFIG,	/* GET /vm/config */
	ROUTE_VSOCK,		/* PUT /vsock */
	ROUTE__COUNT,
};

enum rpc_method { RPC_GET, RPC_PUT, RPC_PATCH };

struct rpc_request {
	/* in (API thread) */
	enum rpc_route route;
	enum rpc_method method;
	char id[RPC_ID_MAX + 1]; /* path id for drives/pmem/network-interfaces, else "" */
	json_t *body;		 /* parsed body (owned by the caller) or NULL */
	/* out (VMM thread) */
	int status;		 /* 200, 204, 400 (413 for MMDS over its limit) */
	json_t *reply;		 /* 200 body (new reference, caller frees) or NULL */
	char fault[RPC_FAULT_LEN]; /* fault_message when status >= 400 */
	bool deprecated;	 /* add "Deprecation: true" */
	/* private */
	struct rpc_request *next;
	bool done;
};

struct rpc_channel {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	struct rpc_request *head, *tail;
	int kick_fd;		/* eventfd the VMM thread polls */
	bool closed;		/* VMM gone: calls fail at once */
};

int rpc_channel_init(struct rpc_channel *ch);
void rpc_channel_destroy(struct rpc_channel *ch);
/* API thread: queue `req`, wake the VMM thread, wait for the answer.
 * -EPIPE if the VMM thread has shut the channel. */
int rpc_call(struct rpc_channel *ch, struct rpc_request *req);
/* VMM thread: next queued request or NULL (drains kick_fd when empty). */
struct rpc_request *rpc_next(struct rpc_channel *ch);
/* VMM thread: publish the answer and wake the caller. */
void rpc_complete(struct rpc_channel *ch, struct rpc_request *req);
/* VMM thread, at exit: fail every queued and future call. */
void rpc_close(struct rpc_channel *ch);

/* Helpers for handlers: set status 400 and the fault message. */
void rpc_fail(struct rpc_request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Metrics/log name of a route ("drives", "machine_config", ...). */
const char *rpc_route_name(enum rpc_route r);

#endif
