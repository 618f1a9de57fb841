/* PUT /logger: Firecracker's LoggerConfig shape, level parsing, target
 * opening (file and reader-less FIFO), module filter, all-or-nothing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"
#include "ember/log.h"
#include "ember/logger_cfg.h"

#define DESER "An error occurred when deserializing the json body of a request: "
#define FIELDS "`log_path`, `level`, `show_level`, `show_log_origin`, `module`"

static char err[512];
static char dir[64], logfile[128], fifo[128];

static int apply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int apply(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vcall_body(logger_cfg_apply, err, sizeof(err), fmt, ap);
	va_end(ap);
	return rc;
}

static void expect_err(const char *body, const char *msg)
{
	enum log_level before = log_get_level();
	assert_int_equal(apply("%s", body), -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(log_get_level(), before);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/ember-logcfg-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(logfile, sizeof(logfile), "%s/log", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	(void)state;
	return mkfifo(fifo, 0600);
}

static int teardown(void **state)
{
	unlink(logfile);
	unlink(fifo);
	rmdir(dir);
	(void)state;
	return 0;
}

static void test_unconfigured_json(void **state)
{
	json_t *j = logger_cfg_json();
	assert_true(json_is_null(j));
	json_decref(j);
	(void)state;
}

static void test_levels(void **state)
{
	static const struct { const char *name; enum log_level lvl; } cases[] = {
		{ "Error", LOG_ERROR }, { "warning", LOG_WARN }, { "WARN", LOG_WARN },
		{ "Info", LOG_INFO },   { "dEbUg", LOG_DEBUG },  { "TRACE", LOG_TRACE },
		{ "off", LOG_OFF },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(apply("{\"level\": \"%s\"}", cases[i].name), 0);
		assert_int_equal(log_get_level(), cases[i].lvl);
	}
	/* An absent level resets to Info (Firecracker's update()). */
	assert_int_equal(apply("{\"level\": \"Debug\"}"), 0);
	assert_int_equal(apply("{}"), 0);
	assert_int_equal(log_get_level(), LOG_INFO);
	assert_int_equal(apply("{\"level\": null, \"module\": null}"), 0);
	(void)state;
}

static void test_shape_errors(void **state)
{
	assert_int_equal(apply("{\"level\": \"Debug\"}"), 0);
	expect_err("{\"level\": \"verbose\"}", DESER "Invalid LevelFilter.");
	expect_err("{\"level\": \"info\\u0000\"}", DESER "Invalid LevelFilter.");
	expect_err("{\"level\": 5}", DESER "invalid type: integer `5`, expected a string.");
	expect_err("{\"log_path\": 1}", DESER "invalid type: integer `1`, expected path string.");
	expect_err("{\"show_level\": \"yes\"}",
		   DESER "invalid type: string \"yes\", expected a boolean.");
	expect_err("{\"module\": []}", DESER "invalid type: sequence, expected a string.");
	expect_err("{\"colour\": true}", DESER "unknown field `colour`, expected one of " FIELDS ".");
	expect_err("[]", DESER "invalid type: sequence, expected struct LoggerConfig.");
	expect_err("\"x\"", DESER "invalid type: string \"x\", expected struct LoggerConfig.");
	assert_int_equal(logger_cfg_apply(NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "invalid type: null, expected struct LoggerConfig.");
	/* The config-file loader gets the bare message. */
	json_t *j = json_pack("{s:s}", "level", "loud");
	assert_int_equal(logger_cfg_check(j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Invalid LevelFilter");
	json_decref(j);
	assert_int_equal(log_get_level(), LOG_DEBUG);
	(void)state;
}

static void test_open_failure_changes_nothing(void **state)
{
	bool lvl, origin;
	assert_int_equal(apply("{\"level\": \"Warn\", \"show_level\": true}"), 0);
	expect_err("{\"log_path\": \"/nonexistent/dir/log\", \"level\": \"Trace\", "
		   "\"show_level\": false}",
		   "Logger error: Failed to open target file: No such file or directory "
		   "(os error 2)");
	log_get_options(&lvl, &origin);
	assert_true(lvl);
	expect_err("{\"log_path\": \"a\\u0000b\"}",
		   "Logger error: Failed to open target file: file name contained an "
		   "unexpected NUL byte");
	assert_int_equal(log_get_level(), LOG_WARN);
	(void)state;
}

static void test_file_target_and_format(void **state)
{
	assert_int_equal(apply("{\"log_path\": \"%s\", \"level\": \"Info\", \"show_level\": true,"
			       " \"show_log_origin\": true}", logfile), 0);
	log_info("hello %d", 42);
	log_debug("not shown");
	char *text = slurp(logfile);
	assert_non_null(strstr(text, ":INFO:tests/unit/test_logger_cfg.c:"));
	assert_non_null(strstr(text, "] hello 42\n"));
	assert_null(strstr(text, "not shown"));

	assert_int_equal(apply("{\"show_level\": false, \"show_log_origin\": false}"), 0);
	log_info("plain");
	text = slurp(logfile);
	assert_non_null(strstr(text, ":main] plain\n"));

	json_t *j = logger_cfg_json();
	assert_string_equal(json_string_value(json_object_get(j, "log_path")), logfile);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "Info");
	assert_true(json_is_false(json_object_get(j, "show_level")));
	assert_true(json_is_false(json_object_get(j, "show_log_origin")));
	assert_true(json_is_null(json_object_get(j, "module")));
	json_decref(j);
	(void)state;
}

static void test_module_filter(void **state)
{
	assert_int_equal(apply("{\"log_path\": \"%s\", \"module\": \"src/devices/\"}", logfile), 0);
	log_info("filtered-out line");
	assert_null(strstr(slurp(logfile), "filtered-out"));
	assert_int_equal(apply("{\"module\": \"tests/unit/\"}"), 0);
	log_info("kept line");
	assert_non_null(strstr(slurp(logfile), "kept line"));
	json_t *j = logger_cfg_json();
	assert_string_equal(json_string_value(json_object_get(j, "module")), "tests/unit/");
	json_decref(j);
	/* "" clears the filter, as an empty Rust prefix matches everything. */
	assert_int_equal(apply("{\"module\": \"\"}"), 0);
	log_info("all again");
	assert_non_null(strstr(slurp(logfile), "all again"));
	(void)state;
}

/* A FIFO nobody reads yet opens (O_RDWR) and never blocks the writer:
 * lines beyond the pipe's capacity are dropped and counted. */
static void test_fifo_without_reader(void **state)
{
	assert_int_equal(apply("{\"log_path\": \"%s\", \"level\": \"Info\"}", fifo), 0);
	uint64_t missed = log_missed_count();
	char big[900];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (int i = 0; i < 200; i++) /* ~180 KiB > the 64 KiB pipe */
		log_info("%s", big);
	assert_true(log_missed_count() > missed);
	/* Back to a file so later output does not pile up in the pipe. */
	assert_int_equal(apply("{\"log_path\": \"%s\"}", logfile), 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconfigured_json),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_shape_errors),
		cmocka_unit_test(test_open_failure_changes_nothing),
		cmocka_unit_test(test_file_target_and_format),
		cmocka_unit_test(test_module_filter),
		cmocka_unit_test(test_fifo_without_reader),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
