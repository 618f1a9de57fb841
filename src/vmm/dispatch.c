/* The VMM thread's request dispatcher: Firecracker's rpc_interface split
 * between pre-boot configuration and runtime actions. Handlers run one at a
 * time on the VMM thread, so VmResources and the VM need no locking here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dispatch_internal.h"
#include "ember/json_util.h"
#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/vcpu.h"

#define PRE 1u
#define POST 2u
#define BOTH (PRE | POST)

/* When each (route, method) may run; 0 = not a method of that path. */
static const unsigned char phase[ROUTE__COUNT][3] = {
	/*                         GET   PUT   PATCH */
	[ROUTE_ROOT] = { BOTH, 0, 0 },
	[ROUTE_ACTIONS] = { 0, BOTH, 0 }, /* per action_type below */
	[ROUTE_BALLOON] = { BOTH, PRE, POST },
	[ROUTE_BALLOON_STATS] = { POST, 0, POST },
	[ROUTE_BALLOON_HINT_START] = { 0, 0, POST },
	[ROUTE_BALLOON_HINT_STATUS] = { POST, 0, 0 },
	[ROUTE_BALLOON_HINT_STOP] = { 0, 0, POST },
	[ROUTE_BOOT_SOURCE] = { 0, PRE, 0 },
	[ROUTE_CPU_CONFIG] = { 0, PRE, 0 },
	[ROUTE_DRIVES] = { 0, PRE, POST },
	[ROUTE_PMEM] = { 0, PRE, POST },
	[ROUTE_LOGGER] = { 0, PRE, 0 },
	[ROUTE_MACHINE_CONFIG] = { BOTH, PRE, PRE },
	[ROUTE_METRICS] = { 0, PRE, 0 },
	[ROUTE_MMDS] = { BOTH, BOTH, BOTH },
	[ROUTE_MMDS_CONFIG] = { 0, PRE, 0 },
	[ROUTE_ENTROPY] = { 0, PRE, 0 },
	[ROUTE_SERIAL] = { 0, PRE, 0 },
	[ROUTE_HOTPLUG_MEMORY] = { POST, PRE, POST },
	[ROUTE_NETWORK] = { 0, PRE, POST },
	[ROUTE_SNAPSHOT_CREATE] = { 0, POST, 0 },
	[ROUTE_SNAPSHOT_LOAD] = { 0, PRE, 0 },
	[ROUTE_VERSION] = { BOTH, 0, 0 },
	[ROUTE_VM] = { 0, 0, POST },
	[ROUTE_VM_CONFIG] = { BOTH, 0, 0 },
	[ROUTE_VSOCK] = { 0, PRE, 0 },
};

static const char *const method_names[] = { "GET", "PUT", "PATCH" };

/* Firecracker's wording for the pre-boot/runtime split. */
int dispatch_check_phase(struct rpc_request *req, unsigned allowed, bool started)
{
	if (!allowed) {
		rpc_fail(req, "Invalid request method and/or path: %s.", method_names[req->method]);
		return -EINVAL;
	}
	if (started && !(allowed & POST)) {
		rpc_fail(req, "The requested operation is not supported after starting the microVM.");
		return -EINVAL;
	}
	if (!started && !(allowed & PRE)) {
		rpc_fail(req, "The requested operation is not supported before starting the microVM.");
		return -EINVAL;
	}
	return 0;
}

void dispatch_ok(struct rpc_request *req, json_t *reply)
{
	req->status = reply ? 200 : 204;
	req->reply = reply;
}

/* Map a setter's return to the response; `err` holds its message. */
void dispatch_result(struct rpc_request *req, int rc, const char *err)
{
	if (rc == 0) {
		dispatch_ok(req, NULL);
		return;
	}
	rpc_fail(req, "%s", err);
	if (rc == -EFBIG)
		req->status = 413;
}

static void handle(struct vmm *v, struct rpc_request *req)
{
	if (req->route >= ROUTE__COUNT || req->method > RPC_PATCH) {
		rpc_fail(req, "Invalid request.");
		return;
	}
	if (dispatch_check_phase(req, phase[req->route][req->method], v->started))
		return;
	switch (req->route) {
	case ROUTE_ROOT:
	case ROUTE_VERSION:
	case ROUTE_VM_CONFIG:
	case ROUTE_ACTIONS:
	case ROUTE_VM:
	case ROUTE_MACHINE_CONFIG:
	case ROUTE_BOOT_SOURCE:
		dispatch_core(v, req);
		break;
	case ROUTE_LOGGER:
	case ROUTE_METRICS:
	case ROUTE_MMDS:
	case ROUTE_MMDS_CONFIG:
	case ROUTE_CPU_CONFIG:
	case ROUTE_SNAPSHOT_CREATE:
	case ROUTE_SNAPSHOT_LOAD:
		dispatch_misc(v, req);
		break;
	default:
		dispatch_devices(v, req);
		break;
	}
}

void vmm_dispatch(struct vmm *v, struct rpc_request *req)
{
	req->status = 0;
	req->reply = NULL;
	req->fault[0] = 0;
	handle(v, req);
	if (!req->status)
		rpc_fail(req, "Internal error: the request got no answer.");
	metrics_count_api((int)req->method, rpc_route_name(req->route), req->status >= 400);
	if (req->deprecated)
		metrics_g.deprecated_api.deprecated_http_api_calls++;
}
