/* Dispatcher: logger, metrics, MMDS, CPU templates, snapshots, and the
 * full-configuration view that gathers them. */
#include <errno.h>

#include "dispatch_internal.h"
#include "ember/cpu_config.h"
#include "ember/logger_cfg.h"
#include "ember/metrics.h"
#include "ember/mmds.h"
#include "ember/resources.h"

static bool iface_exists(void *ctx, const char *iface_id)
{
	return res_has_net(ctx, iface_id);
}

static void mmds(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	json_t *data;

	switch (req->method) {
	case RPC_GET:
		data = mmds_get(err, sizeof(err));
		if (data)
			dispatch_ok(req, data);
		else
			dispatch_result(req, -EINVAL, err);
		break;
	case RPC_PUT:
		dispatch_result(req, mmds_put(req->body, err, sizeof(err)), err);
		break;
	default:
		dispatch_result(req, mmds_patch(req->body, err, sizeof(err)), err);
		break;
	}
}

json_t *vmm_config_json(struct vmm *v)
{
	json_t *cfg = res_vm_config_json(v->res);

	if (!cfg)
		return NULL;
	json_object_set_new(cfg, "logger", logger_cfg_json());
	json_object_set_new(cfg, "metrics", metrics_cfg_json());
	json_object_set_new(cfg, "mmds-config", mmds_cfg_json());
	json_object_set_new(cfg, "cpu-config", cpu_config_json(&v->cpu_cfg));
	return cfg;
}

void dispatch_misc(struct vmm *v, struct rpc_request *req)
{
	char err[RPC_FAULT_LEN];
	int rc;

	switch (req->route) {
	case ROUTE_LOGGER:
		dispatch_result(req, logger_cfg_apply(req->body, err, sizeof(err)), err);
		break;
	case ROUTE_METRICS:
		dispatch_result(req, metrics_cfg_apply(req->body, err, sizeof(err)), err);
		break;
	case ROUTE_MMDS:
		mmds(v, req);
		break;
	case ROUTE_MMDS_CONFIG:
		rc = mmds_cfg_apply(req->body, iface_exists, v->res, err, sizeof(err));
		dispatch_result(req, rc, err);
		/* MMDS V1 works but is deprecated: say so, as Firecracker does. */
		if (!rc && mmds_cfg_get() && mmds_cfg_get()->version == MMDS_V1)
			req->deprecated = true;
		break;
	case ROUTE_CPU_CONFIG:
		dispatch_result(req, cpu_config_parse(&v->cpu_cfg, req->body, err, sizeof(err)), err);
		break;
	default: /* ROUTE_SNAPSHOT_CREATE, ROUTE_SNAPSHOT_LOAD */
		rpc_fail(req, "Snapshots are not supported by ember.");
		break;
	}
}
