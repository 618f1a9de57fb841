/* The REST API server: Firecracker's HTTP/1.1 API on a UNIX socket
 * (libmicrohttpd), on its own thread. It parses and routes requests and hands
 * them to the VMM thread through an rpc_channel; it never touches VM state.
 * Call order: api_start (after the VMM thread's channel exists) -> ... ->
 * api_stop (before the channel is destroyed). */
#ifndef EMBER_API_H
#define EMBER_API_H

#include <stddef.h>

struct rpc_channel;
struct api_server;

#define API_DEFAULT_MAX_PAYLOAD 51200

/* Bind `sock_path` (mode 0600; a stale socket left by a dead process is
 * replaced, a live one is -EADDRINUSE) and start serving. 0 or -errno. */
int api_start(struct api_server **out, const char *sock_path, size_t max_payload,
	      struct rpc_channel *ch);
/* Stop serving, join the thread, unlink the socket. NULL is fine.
 * Closes the channel first (rpc_close: queued and future calls fail with
 * -EPIPE, answered "The VMM is shutting down."), so a request still waiting
 * for the VMM thread cannot block the join. Call it from the VMM thread, or
 * once the VMM thread no longer handles requests. */
void api_stop(struct api_server *srv);

#endif
