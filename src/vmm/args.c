/* ember's command line: getopt over Firecracker's flags and ember's own,
 * then the checks that span flags. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/args.h"
#include "ember/vmm.h"

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
		"                       (default " ARGS_DEFAULT_API_SOCK ")\n"
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

	if (n < 1 || n > ARGS_ID_MAX)
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

int args_parse(int argc, char **argv, struct args *a)
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
				return ARGS_EXIT_BAD_ARGS;
			break;
		case OPT_MMDS_LIMIT:
			if (parse_size("--mmds-size-limit", optarg, &a->mmds_limit))
				return ARGS_EXIT_BAD_ARGS;
			break;
		case OPT_METADATA: a->metadata = optarg; break;
		case OPT_VERSION: printf("ember v%s\n", VMM_VERSION); return 0;
		case OPT_HELP: usage(stdout); return 0;
		default:
			fprintf(stderr, "ember: invalid or incomplete argument '%s'; see --help\n",
				argv[optind - 1]);
			return ARGS_EXIT_BAD_ARGS;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ember: unexpected argument '%s'; see --help\n", argv[optind]);
		return ARGS_EXIT_BAD_ARGS;
	}
	return -1;
}

int args_check(const struct args *a)
{
	if (a->id && !valid_id(a->id)) {
		fprintf(stderr, "ember: invalid --id '%s': 1-64 characters of [A-Za-z0-9-]\n", a->id);
		return ARGS_EXIT_BAD_ARGS;
	}
	if (a->no_api && a->api_sock) {
		fprintf(stderr, "ember: --no-api and --api-sock exclude each other\n");
		return ARGS_EXIT_BAD_ARGS;
	}
	if (a->no_api && !a->config_file) {
		fprintf(stderr, "ember: --no-api requires --config-file\n");
		return ARGS_EXIT_BAD_ARGS;
	}
	return -1;
}
