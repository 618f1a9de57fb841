/* API routing: HTTP method + request-target -> (route, method, path id).
 * Pure functions, no I/O; the server (src/api/) and the unit tests use them.
 *
 * Paths follow Firecracker's swagger. Like Firecracker's router, leading
 * slashes and one trailing slash are ignored and the target is matched
 * before percent-decoding, with any query string kept as part of the path
 * (so "?x=1" or "%2e%2e" never reach a handler: they make the path unknown
 * or the id invalid). Unlike Firecracker, extra path segments are rejected
 * instead of ignored, and ids are ASCII-only and at most RPC_ID_MAX bytes. */
#ifndef EMBER_API_ROUTER_H
#define EMBER_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "ember/rpc.h"

struct api_route {
	enum rpc_route route;
	enum rpc_method method;
	char id[RPC_ID_MAX + 1]; /* "" unless the path has an {id} */
};

/* Route `method` ("GET", "PUT", "PATCH", case-sensitive) on `target` (the raw
 * request-target). 0, or -EINVAL with Firecracker's fault_message in `err`:
 *   "Invalid request method and/or path: <METHOD> <target>."
 *   "The ID cannot be empty."
 *   "API Resource IDs can only contain alphanumeric characters and underscores."
 *   "API Resource IDs can be at most 64 characters long." */
int api_route(const char *method, const char *target, struct api_route *out, char *err,
	      size_t errlen);

/* Routes whose swagger body is optional (PATCH /balloon/hinting/{start,stop}). */
bool api_body_optional(enum rpc_route r, enum rpc_method m);
/* Whether the route ignores any body it is sent (PATCH /balloon/hinting/stop,
 * as Firecracker does). */
bool api_body_ignored(enum rpc_route r, enum rpc_method m);

/* "GET", "PUT", "PATCH". */
const char *api_method_name(enum rpc_method m);

#endif
