/* ember: command line, configuration, then the VMM thread's loop. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/api.h"
#include "ember/cpu_config.h"
#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/logger_cfg.h"
#include "ember/mmds.h"
#include "ember/resources.h"
#include "ember/rpc.h"
#include "ember/vmm.h"

#define DEFAULT_API_SOCK "/run/ember.socket"
#define EXIT_BAD_CONFIG 152
#define EXIT_BAD_ARGS 153
#define ID_MAX 64

struct args {
	const char *config_file;
	const char *api_sock;
	const char *id;
	const char *log_path;
	const char *level;
	const char *metrics_path;
	const char *metadata;
	size_t max_payload, mmds_limit;
	bool no_api, boot_timer, show_level, show_origin;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember [--api-sock PATH] [--config-file FILE] [options]\n"
		"       ember --no-api --config-file FILE [options]\n"
		"\n"
		"ember is a KVM microVM monitor that boots a Linux (or test) guest configured\n"
		"through Firecracker's REST API or its JSON configuration file.\n"
		"\n"
		"Options:\n"
		"  --api-sock PATH      serve Firecracker's REST API on the UNIX socket PATH\n"
		"                       (default " DEFAULT_API_SOCK ")\n"
		"  --config-file FILE   boot the VM described by FILE (Firecracker's config\n"
		"                       format); with the API, it then serves runtime requests\n"
		"  --no-api             do not serve the REST API; requires --config-file\n"
		"  --http-api-max-payload-size BYTES\n"
		"                       largest request body the API accepts (default 51200)\n"
		"  --id ID              instance id: 1-64 characters of [A-Za-z0-9-]\n"
		"                       (default anonymous-instance)\n"
		"  --log-path PATH      append log lines to PATH (file or FIFO) instead of stderr\n"
		"  --mmds-size-limit BYTES\n"
		"                       largest MMDS data store (default: the payload limit)\n"
		"  --metadata FILE      preload the MMDS data store from a JSON file\n"
		"  --metrics-path PATH  write metrics (JSON lines) to PATH (file or FIFO)\n"
		"  --level LEVEL        Error, Warning, Info (default), Debug, Trace or Off\n"
		"  --show-level         include the level in log lines (default on)\n"
		"  --show-log-origin    include file:line in log lines\n"
		"  --boot-timer         log Guest-boot-time when the guest writes 123 to 0xc0000000\n"
		"  --no-seccomp         accepted for Firecracker compatibility (no filters yet)\n"
		"  --version            print the version and exit\n"
		"  --help               print this help and exit\n"
		"\n"
		"Exit status: 0 clean stop (guest reset, SIGTERM/SIGINT), 1 VM or host\n"
		"failure (including a guest crash), 152 bad configuration, 153 bad arguments.\n");
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n < 1 || n > ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

enum { OPT_CONFIG = 256, OPT_NO_API, OPT_API_SOCK, OPT_ID, OPT_LOG_PATH, OPT_LEVEL,
       OPT_SHOW_LEVEL, OPT_SHOW_ORIGIN, OPT_BOOT_TIMER, OPT_NO_SECCOMP, OPT_VERSION, OPT_HELP,
       OPT_METRICS, OPT_MAX_PAYLOAD, OPT_MMDS_LIMIT, OPT_METADATA };

static const struct option long_opts[] = {
	{ "config-file", required_argument, NULL, OPT_CONFIG },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "id", required_argument, NULL, OPT_ID },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "show-level", no_argument, NULL, OPT_SHOW_LEVEL },
	{ "show-log-origin", no_argument, NULL, OPT_SHOW_ORIGIN },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "metrics-path", required_argument, NULL, OPT_METRICS },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "mmds-size-limit", required_argument, NULL, OPT_MMDS_LIMIT },
	{ "metadata", required_argument, NULL, OPT_METADATA },
	{ NULL, 0, NULL, 0 },
};

static int parse_size(const char *flag, const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v == 0 || v > (1ULL << 30)) {
		fprintf(stderr, "ember: invalid %s '%s'\n", flag, s);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

/* Returns -1 to continue, or the exit code for main. */
static int parse_args(int argc, char **argv, struct args *a)
{
	int c;

	opterr = 0;
	while ((c = getopt_long_only(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG: a->config_file = optarg; break;
		case OPT_NO_API: a->no_api = true; break;
		case OPT_API_SOCK: a->api_sock = optarg; break;
		case OPT_ID: a->id = optarg; break;
		case OPT_LOG_PATH: a->log_path = optarg; break;
		case OPT_LEVEL: a->level = optarg; break;
		case OPT_SHOW_LEVEL: a->show_level = true; break;
		case OPT_SHOW_ORIGIN: a->show_origin = true; break;
		case OPT_BOOT_TIMER: a->boot_timer = true; break;
		case OPT_NO_SECCOMP: break;
		case OPT_METRICS: a->metrics_path = optarg; break;
		case OPT_MAX_PAYLOAD:
			if (parse_size("--http-api-max-payload-size", optarg, &a->max_payload))
				return EXIT_BAD_ARGS;
			break;
		case OPT_MMDS_LIMIT:
			if (parse_size("--mmds-size-limit", optarg, &a->mmds_limit))
				return EXIT_BAD_ARGS;
			break;
		case OPT_METADATA: a->metadata = optarg; break;
		case OPT_VERSION: printf("ember v%s\n", VMM_VERSION); return 0;
		case OPT_HELP: usage(stdout); return 0;
		default:
			fprintf(stderr, "ember: invalid or incomplete argument '%s'; see --help\n",
				argv[optind - 1]);
			return EXIT_BAD_ARGS;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ember: unexpected argument '%s'; see --help\n", argv[optind]);
		return EXIT_BAD_ARGS;
	}
	return -1;
}

static int check_args(const struct args *a)
{
	if (a->id && !valid_id(a->id)) {
		fprintf(stderr, "ember: invalid --id '%s': 1-64 characters of [A-Za-z0-9-]\n", a->id);
		return EXIT_BAD_ARGS;
	}
	if (a->no_api && a->api_sock) {
		fprintf(stderr, "ember: --no-api and --api-sock exclude each other\n");
		return EXIT_BAD_ARGS;
	}
	if (a->no_api && !a->config_file) {
		fprintf(stderr, "ember: --no-api requires --config-file\n");
		return EXIT_BAD_ARGS;
	}
	return -1;
}

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
			return EXIT_BAD_ARGS;
		}
		log_set_level(lvl);
	}
	log_set_options(true, a->show_origin);
	if (a->log_path && (rc = log_set_path(a->log_path)) < 0) {
		fprintf(stderr, "ember: cannot open --log-path %s: %s\n", a->log_path, strerror(-rc));
		return EXIT_BAD_ARGS;
	}
	if (a->metrics_path) {
		char err[RES_ERR_LEN];
		json_t *body = json_pack("{s:s}", "metrics_path", a->metrics_path);

		rc = body ? metrics_cfg_apply(body, err, sizeof(err)) : -ENOMEM;
		json_decref(body);
		if (rc) {
			fprintf(stderr, "ember: --metrics-path %s: %s\n", a->metrics_path,
				rc == -ENOMEM ? strerror(ENOMEM) : err);
			return EXIT_BAD_ARGS;
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
		return EXIT_BAD_CONFIG;
	}
	rc = mmds_put(data, err, sizeof(err));
	json_decref(data);
	if (rc) {
		fprintf(stderr, "ember: --metadata %s: %s\n", a->metadata, err);
		return EXIT_BAD_CONFIG;
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
	return EXIT_BAD_CONFIG;
}

/* The VMM thread: optional boot from the file, then events until the VM stops. */
static int serve(const struct args *a, struct vmm *vmm, struct rpc_channel *ch)
{
	struct api_server *api = NULL;
	char err[RES_ERR_LEN] = "";
	const char *sock = a->api_sock ? a->api_sock : DEFAULT_API_SOCK;
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
	int rc = parse_args(argc, argv, &a);

	if (rc < 0)
		rc = check_args(&a);
	if (rc < 0)
		rc = setup_logging(&a);
	if (rc >= 0)
		return rc;
	return run(&a);
}
