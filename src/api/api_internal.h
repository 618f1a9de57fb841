/* Shared between the API server's files: server.c (socket, daemon, thread)
 * and request.c (one HTTP request -> rpc_call -> HTTP response). */
#ifndef EMBER_API_INTERNAL_H
#define EMBER_API_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#include <microhttpd.h>

struct rpc_channel;

/* A chunked body over the limit is read and dropped until it ends so the
 * client gets its 400; past this much more, the connection is cut instead. */
#define API_DISCARD_SLACK (1u << 20)

struct api_server {
	struct MHD_Daemon *mhd;
	struct rpc_channel *ch;
	size_t max_payload;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool thread_named; /* only touched by the API thread */
	atomic_int active; /* requests begun and not yet completed (answer sent) */
};

/* One HTTP request (MHD's per-request con_cls), from the URI log callback
 * to the request-completed callback. */
struct api_req {
	struct api_server *srv;
	char *target;	/* raw request-target: before %-decoding, query kept */
	char *body;
	size_t len, cap;
	size_t seen;	/* body bytes received, dropped ones included */
	bool started;	/* headers seen (first access-handler call done) */
	bool too_big;	/* over max_payload: dropping the rest */
};

/* MHD_AccessHandlerCallback; cls is the struct api_server. */
enum MHD_Result api_access(void *cls, struct MHD_Connection *c, const char *url,
			   const char *method, const char *version, const char *data,
			   size_t *data_size, void **req_cls);

#endif
