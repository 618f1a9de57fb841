/* ember: command line (args.c), configuration, then the VMM thread's loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/api.h"
#include "ember/args.h"
#include "ember/cpu_config.h"
#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/logger_cfg.h"
#include "ember/mmds.h"
#include "ember/resources.h"
#include "ember/rpc.h"
#include "ember/vmm.h"

static int setup_logging(const struct args *a)
{
	enum log_level lvl;
	int rc;

	if (a->id) {
		log_set_id(a->id);
		metrics_set_id(a->id);
	}
	if (a->level) {
		if (log_parse_level(a->level, &lvl)) {
			fprintf(stderr, "ember: invalid --level '%s'\n", a->level);
			return ARGS_EXIT_BAD_ARGS;
		}
		log_set_level(lvl);
	}
	log_set_options(true, a->show_origin);
	if (a->log_path && (rc = log_set_path(a->log_path)) < 0) {
		fprintf(stderr, "ember: cannot open --log-path %s: %s\n", a->log_path, strerror(-rc));
		return ARGS_EXIT_BAD_ARGS;
	}
	if (a->metrics_path) {
		char err[RES_ERR_LEN];
		json_t *body = json_pack("{s:s}", "metrics_path", a->metrics_path);

		rc = body ? metrics_cfg_apply(body, err, sizeof(err)) : -ENOMEM;
		json_decref(body);
		if (rc) {
			fprintf(stderr, "ember: --metrics-path %s: %s\n", a->metrics_path,
				rc == -ENOMEM ? strerror(ENOMEM) : err);
			return ARGS_EXIT_BAD_ARGS;
		}
	}
	return -1;
}

/* --config-file objects that live outside VmResources. */
static int hook_logger(void *ctx, const struct vm_resources *staged, const json_t *obj,
		       char *err, size_t errlen)
{
	return logger_cfg_apply(obj, err, errlen);
}

static int hook_metrics(void *ctx, const struct vm_resources *staged, const json_t *obj,
			char *err, size_t errlen)
{
	return metrics_cfg_apply(obj, err, errlen);
}

static bool staged_has_net(void *ctx, const char *iface_id)
{
	return res_has_net(ctx, iface_id);
}

static int hook_mmds(void *ctx, const struct vm_resources *staged, const json_t *obj,
		     char *err, size_t errlen)
{
	return mmds_cfg_apply(obj, staged_has_net, (void *)staged, err, errlen);
}

static int hook_cpu(void *ctx, const struct vm_resources *staged, const json_t *obj,
		    char *err, size_t errlen)
{
	return cpu_config_load(ctx, obj, err, errlen);
}

/* --metadata: the MMDS store's initial content (Firecracker's flag). */
static int load_metadata(const struct args *a)
{
	char err[RES_ERR_LEN];
	json_error_t jerr;
	json_t *data;
	int rc;

	mmds_set_limit(a->mmds_limit ? a->mmds_limit : a->max_payload);
	if (!a->metadata)
		return 0;
	data = json_load_file(a->metadata, JSON_REJECT_DUPLICATES, &jerr);
	if (!data) {
		fprintf(stderr, "ember: --metadata %s: %s (line %d)\n", a->metadata, jerr.text,
			jerr.line);
		return ARGS_EXIT_BAD_CONFIG;
	}
	rc = mmds_put(data, err, sizeof(err));
	json_decref(data);
	if (rc) {
		fprintf(stderr, "ember: --metadata %s: %s\n", a->metadata, err);
		return ARGS_EXIT_BAD_CONFIG;
	}
	return 0;
}

static int load_config(const struct args *a, struct vm_resources *res, struct cpu_config *cpu)
{
	const struct res_hooks hooks = { .logger = hook_logger, .metrics = hook_metrics,
					 .mmds_config = hook_mmds, .cpu_config = hook_cpu,
					 .ctx = cpu };
	char err[RES_ERR_LEN] = "";

	if (!a->config_file ||
	    !res_load_config_file_hooks(res, a->config_file, &hooks, err, sizeof(err)))
		return 0;
	fprintf(stderr, "ember: Configuration for VMM from one single json failed: %s\n", err);
	return ARGS_EXIT_BAD_CONFIG;
}

/* The VMM thread: optional boot from the file, then events until the VM stops. */
static int serve(const struct args *a, struct vmm *vmm, struct rpc_channel *ch)
{
	struct api_server *api = NULL;
	char err[RES_ERR_LEN] = "";
	const char *sock = a->api_sock ? a->api_sock : ARGS_DEFAULT_API_SOCK;
	int code = 1, rc;

	if (a->config_file && vmm_start(vmm, vmm->res, err, sizeof(err), &code)) {
		fprintf(stderr, "ember: %s\n", err);
		return code;
	}
	if (!a->no_api) {
		rc = vmm_attach_rpc(vmm, ch);
		if (!rc)
			rc = api_start(&api, sock, a->max_payload, ch);
		if (rc) {
			fprintf(stderr, "ember: cannot serve the API on %s: %s\n", sock, strerror(-rc));
			return 1;
		}
	}
	code = vmm_run(vmm);
	rpc_close(ch);
	api_stop(api);
	return code;
}

static int run(const struct args *a)
{
	struct vm_resources res;
	struct cpu_config cpu = { 0 };
	struct rpc_channel ch;
	struct vmm vmm;
	int code;

	res_init(&res);
	code = load_metadata(a);
	if (!code)
		code = load_config(a, &res, &cpu);
	if (code) {
		cpu_config_free(&cpu);
		res_free(&res);
		return code;
	}
	vmm_block_signals();
	code = 1;
	if (rpc_channel_init(&ch) == 0) {
		if (vmm_init(&vmm, a->boot_timer) == 0) {
			vmm.res = &res;
			vmm.cpu_cfg = cpu; /* ownership moves to the VMM */
			cpu = (struct cpu_config){ 0 };
			if (a->id)
				snprintf(vmm.id, sizeof(vmm.id), "%s", a->id);
			code = serve(a, &vmm, &ch);
		}
		vmm_destroy(&vmm);
		rpc_channel_destroy(&ch);
	}
	cpu_config_free(&cpu);
	res_free(&res);
	log_info("exiting with status %d", code);
	return code;
}

int main(int argc, char **argv)
{
	struct args a = { .max_payload = API_DEFAULT_MAX_PAYLOAD };
	int rc = args_parse(argc, argv, &a);

	if (rc < 0)
		rc = args_check(&a);
	if (rc < 0)
		rc = setup_logging(&a);
	if (rc >= 0)
		return rc;
	return run(&a);
}
