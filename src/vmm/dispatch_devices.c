/* Dispatcher: device configuration (pre-boot PUT) and device updates
 * (runtime PATCH) on the live devices: drives, network interfaces,
 * balloon. Device kinds ember does not model (pmem, memory hotplug) are
 * refused at InstanceStart (res_unsupported_devices), so at runtime their
 * requests say so. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dispatch_internal.h"
#include "ember/resources.h"
#include "ember/virtio_balloon.h"
#include "ember/virtio_blk.h"
#include "ember/virtio_net.h"

static void drives(struct vmm *v, struct rpc_request *req)
{
	struct res_drive_update u = { .fd = -1 };
	char err[RPC_FAULT_LEN];
	int rc;

	if (req->method == RPC_PUT) {
		rc = res_put_drive(v->res, req->id, req->body, err, sizeof(err));
		dispatch_result(req, rc, err);
		return;
	}
	rc = res_patch_drive(v->res, req->id, req->body, &u, err, sizeof(err));
	if (!rc && vmm_find_blk(v, u.index)) {
		rc = blk_patch(vmm_find_blk(v, u.index), &u);
		if (rc)
			snprintf(err, sizeof(err), "Drive update error: %s", strerror(-rc));
	}
	if (!rc)
		res_drive_update_commit(v->res, &u);
	res_drive_update_free(&u);
	dispatch_result(req, rc, err);
}

static void network(struct vmm *v, struct rpc_request *req)
{
	struct res_net_update u;
	char err[RPC_FAULT_LEN];
	int rc;

	if (req->method == RPC_PUT) {
		rc = res_put_net(v->res, req->id, req->body, err, sizeof(err));
		dispatch_result(req, rc, err);
		return;
	}
	rc = res_patch_net(v->res, req->id, req->body, &u, err, sizeof(err));
	if (!rc && vmm_find_net(v, u.index)) {
		rc = net_patch(vmm_find_net(v, u.index), &u);
		if (rc)
			snprintf(err, sizeof(err), "Network config error: Unable to update the net "
				 "device: %s", strerror(-rc));
	}
	if (!rc)
		res_net_update_commit(v->res, &u);
	dispatch_result(req, rc, err);
}

static void pmem(struct vmm *v, struct rpc_request *req)
{
	struct res_pmem_update u;
	char err[RPC_FAULT_LEN];
	int rc;

	if (req->method == RPC_PUT) {
		rc = res_put_pmem(v->res, req->id, req->body, err, sizeof(err));
		dispatch_result(req, rc, err);
		return;
	}
	rc = res_patch_pmem(v->res, req->id, req->body, &u, err, sizeof(err));
	if (!rc)
		res_pmem_update_commit(v->res, &u);
	dispatch_result(req, rc, err);
}

static void reply_or(struct rpc_request *req, json_t *body, const char *fault)
{
	if (body)
		dispatch_ok(req, body);
	else
		rpc_fail(req, "%s", fault);
}

#define NO_BALLOON "Balloon config error: No balloon device found."

/* PATCH /balloon: a new target; the guest's driver follows it. */
static void balloon_target(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	uint32_t amount;

	if (res_parse_balloon_update(req->body, &amount, err, sizeof(err)))
		rpc_fail(req, "%s", err);
	else if (!v->dev.balloon)
		rpc_fail(req, NO_BALLOON);
	else if (balloon_set_target(v->dev.balloon, amount))
		rpc_fail(req, "Amount of pages requested is too large.");
	else {
		v->res->balloon.amount_mib = amount; /* GET /vm/config follows */
		dispatch_ok(req, NULL);
	}
}

/* PATCH /balloon/statistics: a new polling interval (not on/off). */
static void balloon_interval(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	uint16_t interval;

	if (res_parse_balloon_stats_update(req->body, &interval, err, sizeof(err)))
		rpc_fail(req, "%s", err);
	else if (!v->dev.balloon)
		rpc_fail(req, NO_BALLOON);
	else if (balloon_set_stats_interval(v->dev.balloon, interval))
		rpc_fail(req, "Cannot enable/disable statistics after boot.");
	else {
		v->res->balloon.stats_polling_interval_s = interval;
		dispatch_ok(req, NULL);
	}
}

static void balloon(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	struct balloon_dev *b = v->dev.balloon;

	if (req->route == ROUTE_BALLOON && req->method == RPC_PUT)
		dispatch_result(req, res_put_balloon(v->res, req->body, err, sizeof(err)), err);
	else if (!v->started) /* GET /balloon before boot: the configuration */
		reply_or(req, res_balloon_json(v->res), NO_BALLOON);
	else if (req->route == ROUTE_BALLOON && req->method == RPC_PATCH)
		balloon_target(v, req);
	else if (req->route == ROUTE_BALLOON_STATS && req->method == RPC_PATCH)
		balloon_interval(v, req);
	else if (!b)
		rpc_fail(req, NO_BALLOON);
	else if (req->route == ROUTE_BALLOON)
		reply_or(req, balloon_config_json(b), "Internal error: out of memory.");
	else if (req->route == ROUTE_BALLOON_STATS)
		reply_or(req, balloon_stats_json(b), "Statistics for the balloon device are not enabled");
	else
		rpc_fail(req, "Free page hinting is not supported by ember.");
}

void dispatch_devices(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	bool dep = false;

	switch (req->route) {
	case ROUTE_DRIVES:
		drives(v, req);
		break;
	case ROUTE_NETWORK:
		network(v, req);
		break;
	case ROUTE_PMEM:
		pmem(v, req);
		break;
	case ROUTE_VSOCK:
		dispatch_result(req, res_put_vsock(v->res, req->body, &dep, err, sizeof(err)), err);
		req->deprecated = dep;
		break;
	case ROUTE_ENTROPY:
		dispatch_result(req, res_put_entropy(v->res, req->body, err, sizeof(err)), err);
		break;
	case ROUTE_SERIAL:
		dispatch_result(req, res_put_serial(v->res, req->body, err, sizeof(err)), err);
		break;
	case ROUTE_HOTPLUG_MEMORY:
		if (req->method == RPC_PUT)
			dispatch_result(req, res_put_memory_hotplug(v->res, req->body, err,
								    sizeof(err)), err);
		else
			rpc_fail(req, "Memory hotplug is not configured on this microVM.");
		break;
	default: /* the balloon routes */
		balloon(v, req);
		break;
	}
}
