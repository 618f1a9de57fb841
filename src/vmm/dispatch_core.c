/* Dispatcher: instance info, version, full config, actions, VM state,
 * machine config and boot source. */
#include <errno.h>
#include <string.h>

#include "dispatch_internal.h"
#include "ember/i8042.h"
#include "ember/json_util.h"
#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/mmds.h"
#include "ember/resources.h"
#include "ember/vcpu.h"

static const char *const action_names[] = { "FlushMetrics", "InstanceStart", "SendCtrlAltDel",
					    NULL };
enum { ACT_FLUSH, ACT_START, ACT_CAD };
static const struct jx_field action_fields[] = {
	{ .name = "action_type", .kind = JX_ENUM, .flags = JX_REQ, .variants = action_names },
};
static const struct jx_struct action_spec = { "ActionBody", action_fields,
					      JX_NFIELDS(action_fields) };

static const char *const vm_state_names[] = { "Paused", "Resumed", NULL };
static const struct jx_field vm_fields[] = {
	{ .name = "state", .kind = JX_ENUM, .flags = JX_REQ, .variants = vm_state_names },
};
static const struct jx_struct vm_spec = { "Vm", vm_fields, JX_NFIELDS(vm_fields) };

/* Shape errors read like Firecracker's: prefix + serde message + ".". */
static int check_body(struct rpc_request *req, const struct jx_struct *spec)
{
	char err[RPC_FAULT_LEN];

	if (jx_check(req->body, spec, err, sizeof(err)) == 0)
		return 0;
	rpc_fail(req, "%s%s.", JX_DESER_PREFIX, err);
	return -EINVAL;
}

static json_t *instance_info(struct vmm *v)
{
	const char *state = !v->started ? "Not started" : v->paused ? "Paused" : "Running";

	return json_pack("{s:s, s:s, s:s, s:s}", "id", v->id, "state", state, "vmm_version",
			 VMM_VERSION, "app_name", "ember");
}

static void instance_start(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	int code;

	if (vmm_start(v, v->res, err, sizeof(err), &code)) {
		rpc_fail(req, "%s", err);
		return;
	}
	/* The guest sees only an MMDS store that existed before boot. */
	mmds_seal();
	/* Firecracker flushes metrics at boot so start-up figures are out early. */
	if (metrics_configured())
		metrics_flush();
	dispatch_ok(req, NULL);
}

/* Like Firecracker, flushing unconfigured metrics is a no-op success. */
static void flush_metrics(struct rpc_request *req)
{
	int rc = metrics_flush();

	if (rc && rc != -ENOTCONN)
		rpc_fail(req, "Failed to flush metrics: %s", strerror(-rc));
	else
		dispatch_ok(req, NULL);
}

static void actions(struct vmm *v, struct rpc_request *req)
{
	unsigned allowed[] = { [ACT_FLUSH] = 2, [ACT_START] = 1, [ACT_CAD] = 2 };
	int act;

	if (check_body(req, &action_spec))
		return;
	act = jx_get_enum(req->body, "action_type", action_names, -1);
	if (dispatch_check_phase(req, allowed[act], v->started))
		return;
	switch (act) {
	case ACT_START:
		instance_start(v, req);
		break;
	case ACT_FLUSH:
		flush_metrics(req);
		break;
	default:
		if (i8042_send_ctrl_alt_del(v->kbd))
			rpc_fail(req, "Failed to send CTRL+ALT+DEL: the i8042 buffer is full.");
		else
			dispatch_ok(req, NULL);
		break;
	}
}

static void vm_state(struct vmm *v, struct rpc_request *req)
{
	bool pause;

	if (check_body(req, &vm_spec))
		return;
	pause = jx_get_enum(req->body, "state", vm_state_names, 0) == 0;
	if (pause)
		vmm_pause(v);
	else
		vmm_resume(v);
	dispatch_ok(req, NULL);
}

/* A GET whose body could not be built (out of memory) must not become a 204. */
static void reply_json(struct rpc_request *req, json_t *body)
{
	if (body)
		dispatch_ok(req, body);
	else
		rpc_fail(req, "Internal error: out of memory.");
}

static void machine_config(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	int rc;

	if (req->method == RPC_GET) {
		reply_json(req, res_machine_config_json(v->res));
		return;
	}
	rc = res_set_machine_config(v->res, req->body, req->method == RPC_PATCH, err, sizeof(err));
	dispatch_result(req, rc, err);
	/* Static CPU templates are deprecated in Firecracker; flag their use. */
	if (!rc && jx_has(req->body, "cpu_template"))
		req->deprecated = true;
}

void dispatch_core(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];

	switch (req->route) {
	case ROUTE_ROOT:
		reply_json(req, instance_info(v));
		break;
	case ROUTE_VERSION:
		reply_json(req, json_pack("{s:s}", "firecracker_version", VMM_API_VERSION));
		break;
	case ROUTE_VM_CONFIG:
		reply_json(req, vmm_config_json(v));
		break;
	case ROUTE_ACTIONS:
		actions(v, req);
		break;
	case ROUTE_VM:
		vm_state(v, req);
		break;
	case ROUTE_MACHINE_CONFIG:
		machine_config(v, req);
		break;
	default: /* ROUTE_BOOT_SOURCE */
		dispatch_result(req, res_set_boot_source(v->res, req->body, err, sizeof(err)), err);
		break;
	}
}
