/* args.c: ember's flags, their syntax (--id, sizes), the combinations they
 * exclude, stray arguments, and --help/--version. */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/api.h"
#include "ember/args.h"

#define BAD ARGS_EXIT_BAD_ARGS

static char out[8192]; /* what the last call printed, stdout and stderr */
static struct args a;

/* args_parse, then args_check when parsing says continue, on
 * {"ember", argv..., NULL}, with stdout and stderr captured in out[]. */
static int call(const char *const *argv)
{
	char *v[32] = { (char *)"ember" };
	int n = 1;
	for (; argv[n - 1]; n++)
		v[n] = (char *)argv[n - 1];
	int fd = memfd_create("args-out", MFD_CLOEXEC);
	int o = dup(1), e = dup(2);
	assert_true(fd >= 0 && o >= 0 && e >= 0);
	fflush(stdout);
	fflush(stderr);
	dup2(fd, 1);
	dup2(fd, 2);

	a = (struct args){ .max_payload = API_DEFAULT_MAX_PAYLOAD };
	optind = 0; /* GNU: start getopt afresh */
	int rc = args_parse(n, v, &a);
	if (rc < 0)
		rc = args_check(&a);

	fflush(stdout);
	fflush(stderr);
	dup2(o, 1);
	dup2(e, 2);
	close(o);
	close(e);
	ssize_t len = pread(fd, out, sizeof(out) - 1, 0);
	out[len > 0 ? len : 0] = 0;
	close(fd);
	return rc;
}

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The call fails with 153 and says `msg` on stderr. */
static void expect_bad(const char *const *argv, const char *msg)
{
	assert_int_equal(call(argv), BAD);
	if (!strstr(out, msg))
		fail_msg("want \"%s\" in \"%s\"", msg, out);
}

static void test_defaults(void **state)
{
	assert_int_equal(call((const char *const[]){ NULL }), -1);
	assert_null(a.config_file);
	assert_null(a.api_sock);
	assert_null(a.id);
	assert_false(a.no_api);
	assert_int_equal(a.max_payload, API_DEFAULT_MAX_PAYLOAD);
	assert_int_equal(a.mmds_limit, 0);
	assert_string_equal(out, "");
	(void)state;
}

static void test_valid_combinations(void **state)
{
	assert_int_equal(call(ARGV("--api-sock", "/tmp/s", "--config-file", "vm.json")), -1);
	assert_string_equal(a.api_sock, "/tmp/s");
	assert_string_equal(a.config_file, "vm.json");
	assert_false(a.no_api);

	assert_int_equal(call(ARGV("--no-api", "--config-file=vm.json")), -1);
	assert_true(a.no_api);
	assert_string_equal(a.config_file, "vm.json");

	/* getopt_long_only: one dash works as well (Firecracker's style). */
	assert_int_equal(call(ARGV("-no-api", "-config-file", "f", "-id", "x")), -1);
	assert_true(a.no_api);
	assert_string_equal(a.id, "x");

	assert_int_equal(call(ARGV("--id", "abc-DEF-123", "--log-path", "l", "--level", "Debug",
				   "--show-level", "--show-log-origin", "--boot-timer",
				   "--no-seccomp", "--metrics-path", "m", "--metadata", "d",
				   "--http-api-max-payload-size", "1024", "--mmds-size-limit",
				   "1073741824")),
			 -1);
	assert_string_equal(a.id, "abc-DEF-123");
	assert_string_equal(a.log_path, "l");
	assert_string_equal(a.level, "Debug");
	assert_string_equal(a.metrics_path, "m");
	assert_string_equal(a.metadata, "d");
	assert_true(a.show_level && a.show_origin && a.boot_timer);
	assert_int_equal(a.max_payload, 1024);
	assert_int_equal(a.mmds_limit, 1ULL << 30);
	assert_string_equal(out, "");
	(void)state;
}

static void test_no_api(void **state)
{
	expect_bad(ARGV("--no-api"), "--no-api requires --config-file");
	expect_bad(ARGV("--no-api", "--config-file", "f", "--api-sock", "s"),
		   "--no-api and --api-sock exclude each other");
	(void)state;
}

static void test_bad_id(void **state)
{
	char id64[ARGS_ID_MAX + 1], id65[ARGS_ID_MAX + 2];

	memset(id64, 'a', ARGS_ID_MAX);
	id64[ARGS_ID_MAX] = 0;
	memset(id65, 'b', ARGS_ID_MAX + 1);
	id65[ARGS_ID_MAX + 1] = 0;
	assert_int_equal(call(ARGV("--id", id64)), -1);
	assert_string_equal(a.id, id64);
	expect_bad(ARGV("--id", id65), "invalid --id");
	expect_bad(ARGV("--id", ""), "invalid --id ''");
	expect_bad(ARGV("--id", "a_b"), "invalid --id 'a_b'");
	expect_bad(ARGV("--id", "a b"), "invalid --id");
	expect_bad(ARGV("--id", "a/b"), "invalid --id");
	expect_bad(ARGV("--id", "caf\xc3\xa9"), "invalid --id");
	(void)state;
}

static void test_sizes(void **state)
{
	static const char *const bad[] = { "0", "abc", "", "-1", "-0", "12k", "1 ",
					   "1073741825", "18446744073709551616",
					   "99999999999999999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_bad(ARGV("--http-api-max-payload-size", bad[i]),
			   "invalid --http-api-max-payload-size");
		expect_bad(ARGV("--mmds-size-limit", bad[i]), "invalid --mmds-size-limit");
	}
	assert_int_equal(call(ARGV("--mmds-size-limit", "1")), -1);
	assert_int_equal(a.mmds_limit, 1);
	(void)state;
}

static void test_unknown_and_stray(void **state)
{
	expect_bad(ARGV("--bogus"), "invalid or incomplete argument '--bogus'");
	expect_bad(ARGV("-x"), "invalid or incomplete argument '-x'");
	expect_bad(ARGV("--config-file"), "invalid or incomplete argument '--config-file'");
	expect_bad(ARGV("--help=yes"), "invalid or incomplete argument");
	expect_bad(ARGV("vm.json"), "unexpected argument 'vm.json'");
	expect_bad(ARGV("--no-api", "--config-file", "f", "extra"), "unexpected argument 'extra'");
	expect_bad(ARGV("--", "--no-api"), "unexpected argument '--no-api'");
	(void)state;
}

static void test_help_version(void **state)
{
	assert_int_equal(call(ARGV("--help")), 0);
	assert_true(!strncmp(out, "Usage: ember [--api-sock PATH]", 30));
	assert_non_null(strstr(out, "(default " ARGS_DEFAULT_API_SOCK ")"));
	assert_non_null(strstr(out, "153 bad arguments.\n"));
	/* --help wins over what follows it, even a bad flag. */
	assert_int_equal(call(ARGV("--help", "--bogus")), 0);
	assert_int_equal(call(ARGV("--version")), 0);
	assert_true(!strncmp(out, "ember v", 7));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_valid_combinations),
		cmocka_unit_test(test_no_api),
		cmocka_unit_test(test_bad_id),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_unknown_and_stray),
		cmocka_unit_test(test_help_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
