/* ember's command line: the flags (Firecracker's, plus ember's own), their
 * syntax checks and the combinations they exclude. Used by main() only,
 * before anything else runs; messages go to stderr, --help and --version to
 * stdout. */
#ifndef EMBER_ARGS_H
#define EMBER_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define ARGS_DEFAULT_API_SOCK "/run/ember.socket"
#define ARGS_EXIT_BAD_CONFIG 152
#define ARGS_EXIT_BAD_ARGS 153
#define ARGS_ID_MAX 64

/* Pointers into argv; NULL/0/false when the flag was not given, except
 * max_payload, which the caller sets to its default first. */
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

/* Parse argv with getopt_long_only (one call per process unless the caller
 * resets optind). -1 to continue, else the exit status for main: 0 after
 * --help or --version, ARGS_EXIT_BAD_ARGS for an unknown flag, a missing
 * value, a bad size or a stray argument. */
int args_parse(int argc, char **argv, struct args *a);
/* The checks across flags (--id syntax, --no-api's partners): -1 or
 * ARGS_EXIT_BAD_ARGS. */
int args_check(const struct args *a);

#endif
