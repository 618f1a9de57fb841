/* Method + request-target -> route: the swagger's path table (api_router.h). */
#include "ember/api_router.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define G  (1u << RPC_GET)
#define P  (1u << RPC_PUT)
#define PA (1u << RPC_PATCH)

static const struct {
	const char *path; /* without the leading slash */
	enum rpc_route route;
	unsigned methods;
	bool has_id;      /* path is "<path>/{id}" */
} table[] = {
	{ "", ROUTE_ROOT, G, false },
	{ "actions", ROUTE_ACTIONS, P, false },
	{ "balloon", ROUTE_BALLOON, G | P | PA, false },
	{ "balloon/statistics", ROUTE_BALLOON_STATS, G | PA, false },
	{ "balloon/hinting/start", ROUTE_BALLOON_HINT_START, PA, false },
	{ "balloon/hinting/status", ROUTE_BALLOON_HINT_STATUS, G, false },
	{ "balloon/hinting/stop", ROUTE_BALLOON_HINT_STOP, PA, false },
	{ "boot-source", ROUTE_BOOT_SOURCE, P, false },
	{ "cpu-config", ROUTE_CPU_CONFIG, P, false },
	{ "drives", ROUTE_DRIVES, P | PA, true },
	{ "pmem", ROUTE_PMEM, P | PA, true },
	{ "logger", ROUTE_LOGGER, P, false },
	{ "machine-config", ROUTE_MACHINE_CONFIG, G | P | PA, false },
	{ "metrics", ROUTE_METRICS, P, false },
	{ "mmds", ROUTE_MMDS, G | P | PA, false },
	{ "mmds/config", ROUTE_MMDS_CONFIG, P, false },
	{ "entropy", ROUTE_ENTROPY, P, false },
	{ "serial", ROUTE_SERIAL, P, false },
	{ "hotplug/memory", ROUTE_HOTPLUG_MEMORY, G | P | PA, false },
	{ "network-interfaces", ROUTE_NETWORK, P | PA, true },
	{ "snapshot/create", ROUTE_SNAPSHOT_CREATE, P, false },
	{ "snapshot/load", ROUTE_SNAPSHOT_LOAD, P, false },
	{ "version", ROUTE_VERSION, G, false },
	{ "vm", ROUTE_VM, PA, false },
	{ "vm/config", ROUTE_VM_CONFIG, G, false },
	{ "vsock", ROUTE_VSOCK, P, false },
};

const char *api_method_name(enum rpc_method m)
{
	switch (m) {
	case RPC_GET: return "GET";
	case RPC_PUT: return "PUT";
	case RPC_PATCH: return "PATCH";
	}
	return "?";
}

bool api_body_optional(enum rpc_route r, enum rpc_method m)
{
	return m == RPC_PATCH && (r == ROUTE_BALLOON_HINT_START || r == ROUTE_BALLOON_HINT_STOP);
}

bool api_body_ignored(enum rpc_route r, enum rpc_method m)
{
	return m == RPC_PATCH && r == ROUTE_BALLOON_HINT_STOP;
}

static int parse_method(const char *s, enum rpc_method *m)
{
	static const enum rpc_method all[] = { RPC_GET, RPC_PUT, RPC_PATCH };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, api_method_name(all[i]))) {
			*m = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* Firecracker's checked_id(), minus Unicode: ids become file and tap names
 * in logs and metrics, so only [A-Za-z0-9_]. */
static int check_id(const char *id, size_t len, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "The ID cannot be empty.");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_')) {
			snprintf(err, errlen, "API Resource IDs can only contain alphanumeric "
					      "characters and underscores.");
			return -EINVAL;
		}
	}
	if (len > RPC_ID_MAX) {
		snprintf(err, errlen, "API Resource IDs can be at most %d characters long.",
			 RPC_ID_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Does `p` (len bytes) name table entry `e`? Sets the id span for {id} paths. */
static bool match(const char *p, size_t len, const char *e, bool has_id, const char **id,
		  size_t *idlen)
{
	size_t el = strlen(e);

	if (len < el || memcmp(p, e, el))
		return false;
	if (len == el) { /* "/drives" has an empty id: check_id says so */
		*id = p + len;
		*idlen = 0;
		return true;
	}
	if (!has_id || p[el] != '/')
		return false;
	*id = p + el + 1;
	*idlen = len - el - 1;
	return true;
}

static int bad_path(const char *method, const char *target, char *err, size_t errlen)
{
	snprintf(err, errlen, "Invalid request method and/or path: %s %s.", method, target);
	return -EINVAL;
}

int api_route(const char *method, const char *target, struct api_route *out, char *err,
	      size_t errlen)
{
	enum rpc_method m;
	const char *p = target, *id = NULL;
	size_t len, idlen = 0;

	/* Absolute-form targets ("http://localhost/vm") as micro_http accepts them. */
	if (!strncmp(p, "http://", 7) && (p = strchr(p + 7, '/')) == NULL)
		return bad_path(method, target, err, errlen);
	if (*p != '/' || parse_method(method, &m))
		return bad_path(method, target, err, errlen);
	while (*p == '/')
		p++;
	len = strlen(p);
	if (len && p[len - 1] == '/')
		len--;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (!match(p, len, table[i].path, table[i].has_id, &id, &idlen))
			continue;
		if (!(table[i].methods & (1u << m)))
			break;
		if (table[i].has_id && check_id(id, idlen, err, errlen))
			return -EINVAL;
		out->route = table[i].route;
		out->method = m;
		memcpy(out->id, id, table[i].has_id ? idlen : 0);
		out->id[table[i].has_id ? idlen : 0] = '\0';
		return 0;
	}
	return bad_path(method, target, err, errlen);
}
