/* ember: command line, configuration, then the VMM thread's loop. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/log.h"
#include "ember/resources.h"
#include "ember/vmm.h"

#define EMBER_VERSION "0.1.0"
#define EXIT_BAD_CONFIG 152
#define EXIT_BAD_ARGS 153
#define ID_MAX 64

struct args {
	const char *config_file;
	const char *api_sock;
	const char *id;
	const char *log_path;
	const char *level;
	bool no_api, boot_timer, show_level, show_origin;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember --no-api --config-file FILE [options]\n"
		"\n"
		"ember is a KVM microVM monitor that boots a Linux (or test) guest from a\n"
		"Firecracker-style JSON configuration.\n"
		"\n"
		"Options:\n"
		"  --config-file FILE   boot the VM described by FILE (Firecracker's config format)\n"
		"  --no-api             do not serve the REST API; requires --config-file\n"
		"  --api-sock PATH      REST API socket (not available in this build yet)\n"
		"  --id ID              instance id: 1-64 characters of [A-Za-z0-9-]\n"
		"                       (default anonymous-instance)\n"
		"  --log-path PATH      append log lines to PATH (file or FIFO) instead of stderr\n"
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
       OPT_SHOW_LEVEL, OPT_SHOW_ORIGIN, OPT_BOOT_TIMER, OPT_NO_SECCOMP, OPT_VERSION, OPT_HELP };

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
	{ NULL, 0, NULL, 0 },
};

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
		case OPT_VERSION: printf("ember v%s\n", EMBER_VERSION); return 0;
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
	if (!a->no_api) {
		fprintf(stderr, "ember: the REST API (--api-sock) is not in this build yet; "
				"run with --no-api --config-file FILE\n");
		return EXIT_BAD_ARGS;
	}
	if (!a->config_file) {
		fprintf(stderr, "ember: --no-api requires --config-file\n");
		return EXIT_BAD_ARGS;
	}
	return -1;
}

static int setup_logging(const struct args *a)
{
	enum log_level lvl;
	int rc;

	if (a->id)
		log_set_id(a->id);
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
	return -1;
}

static int run(const struct args *a)
{
	struct vm_resources res;
	struct vmm vmm;
	char err[RES_ERR_LEN] = "";
	int code = 1;

	res_init(&res);
	if (res_load_config_file(&res, a->config_file, err, sizeof(err))) {
		fprintf(stderr, "ember: bad configuration: %s\n", err);
		res_free(&res);
		return EXIT_BAD_CONFIG;
	}
	vmm_block_signals();
	if (vmm_init(&vmm, a->boot_timer) == 0) {
		if (vmm_start(&vmm, &res, err, sizeof(err), &code) == 0)
			code = vmm_run(&vmm);
		else
			fprintf(stderr, "ember: %s\n", err);
	}
	vmm_destroy(&vmm);
	res_free(&res);
	log_info("exiting with status %d", code);
	return code;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	int rc = parse_args(argc, argv, &a);

	if (rc < 0)
		rc = check_args(&a);
	if (rc < 0)
		rc = setup_logging(&a);
	if (rc >= 0)
		return rc;
	return run(&a);
}
