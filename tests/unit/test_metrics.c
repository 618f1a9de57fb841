/* Metrics: PUT /metrics checks, the flushed line (parsed back with jansson),
 * counter deltas vs gauges, collector totals, API counts, a FIFO that no
 * one reads or that is full, and the once-only configuration. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"
#include "ember/log.h"
#include "ember/metrics.h"

#define DESER "An error occurred when deserializing the json body of a request: "
#define INIT "Metrics error: Cannot initialize the metrics system due to bad user input: "

static char err[512];
static char dir[64], mfile[128], mfile2[128], fifo[128];

/* Firecracker's group order. */
static const char *const groups[] = {
	"api_server", "balloon", "block", "deprecated_api", "get_api_requests", "i8042", "uart",
	"latencies_us", "logger", "mmds", "net", "patch_api_requests", "put_api_requests",
	"seccomp", "vcpu", "vmm", "signals", "vsock", "entropy", "pmem", "interrupts",
	"memory_hotplug",
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static int apply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int apply(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vcall_body(metrics_cfg_apply, err, sizeof(err), fmt, ap);
	va_end(ap);
	return rc;
}

static void expect_err(const char *body, const char *msg)
{
	assert_int_equal(apply("%s", body), -EINVAL);
	assert_string_equal(err, msg);
}

/* Every complete line readable so far, parsed; returns how many (max 8).
 * A line's unfinished tail is carried over to the next call. */
static char carry[1 << 18];
static size_t carry_len;

static int read_lines(int fd, json_t **out)
{
	ssize_t n;
	int count = 0;
	char *p = carry, *nl;

	while ((n = read(fd, carry + carry_len, sizeof(carry) - 1 - carry_len)) > 0)
		carry_len += (size_t)n;
	carry[carry_len] = 0;
	for (; count < 8 && (nl = strchr(p, '\n')); p = nl + 1) {
		json_error_t e;
		*nl = 0;
		out[count] = json_loads(p, 0, &e);
		if (!out[count])
			fail_msg("torn or bad metrics line: %s (%s)", e.text, p);
		count++;
	}
	carry_len -= (size_t)(p - carry);
	memmove(carry, p, carry_len);
	return count;
}

static json_int_t val(json_t *line, const char *group, const char *name)
{
	json_t *v = json_object_get(json_object_get(line, group), name);
	if (!json_is_integer(v))
		fail_msg("%s.%s missing", group, name);
	return json_integer_value(v);
}

static json_t *flush_and_read(int fd)
{
	json_t *lines[8];
	carry_len = 0;
	assert_int_equal(metrics_flush(), 0);
	assert_int_equal(read_lines(fd, lines), 1);
	return lines[0];
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/ember-metrics-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(mfile, sizeof(mfile), "%s/metrics", dir);
	snprintf(mfile2, sizeof(mfile2), "%s/metrics2", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	(void)state;
	return mkfifo(fifo, 0600);
}

static int teardown(void **state)
{
	metrics_close();
	unlink(mfile);
	unlink(mfile2);
	unlink(fifo);
	rmdir(dir);
	(void)state;
	return 0;
}

static void test_unconfigured(void **state)
{
	assert_false(metrics_configured());
	assert_int_equal(metrics_flush(), -ENOTCONN);
	json_t *j = metrics_cfg_json();
	assert_true(json_is_null(j));
	json_decref(j);
	(void)state;
}

static void test_shape_errors(void **state)
{
	expect_err("{}", DESER "missing field `metrics_path`.");
	expect_err("{\"metrics_path\": 5}", DESER "invalid type: integer `5`, expected path string.");
	expect_err("{\"metrics_path\": null}", DESER "invalid type: null, expected path string.");
	expect_err("{\"metrics_path\": \"x\", \"emit_id\": null}",
		   DESER "invalid type: null, expected a boolean.");
	expect_err("{\"metrics_path\": \"x\", \"properties\": []}",
		   DESER "invalid type: sequence, expected a map.");
	expect_err("{\"metrics_path\": \"x\", \"properties\": {\"a\": 1}}",
		   DESER "invalid type: integer `1`, expected a string.");
	expect_err("{\"metrics_path\": \"x\", \"flush\": 1}",
		   DESER "unknown field `flush`, expected one of `metrics_path`, `emit_id`, "
		   "`properties`.");
	expect_err("7", DESER "invalid type: integer `7`, expected struct MetricsConfig.");
	expect_err("{\"metrics_path\": \"/nonexistent/m\"}",
		   INIT "No such file or directory (os error 2)");
	expect_err("{\"metrics_path\": \"a\\u0000b\"}",
		   INIT "file name contained an unexpected NUL byte");
	json_t *j = json_pack("{s:i}", "metrics_path", 3);
	assert_int_equal(metrics_cfg_check(j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "invalid type: integer `3`, expected path string");
	json_decref(j);
	assert_false(metrics_configured());
	(void)state;
}

static void test_line_format(void **state)
{
	metrics_set_id("vm-7");
	assert_int_equal(apply("{\"metrics_path\": \"%s\", \"emit_id\": true, \"properties\":"
			       " {\"zone\": \"b\", \"az\": \"a\", \"a\": \"\"}}", mfile), 0);
	assert_true(metrics_configured());
	int fd = open(mfile, O_RDONLY);
	assert_true(fd >= 0);
	json_t *line = flush_and_read(fd);

	/* utc_timestamp_ms, id, properties, then every group in order. */
	void *it = json_object_iter(line);
	assert_string_equal(json_object_iter_key(it), "utc_timestamp_ms");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_int_t now = (json_int_t)ts.tv_sec * 1000, t = json_integer_value(json_object_iter_value(it));
	assert_true(t <= now + 1000 && t > now - 10000);
	it = json_object_iter_next(line, it);
	assert_string_equal(json_object_iter_key(it), "id");
	assert_string_equal(json_string_value(json_object_iter_value(it)), "vm-7");
	it = json_object_iter_next(line, it);
	assert_string_equal(json_object_iter_key(it), "properties");
	json_t *props = json_object_iter_value(it);
	const char *want[] = { "a", "az", "zone" }; /* BTreeMap order */
	void *pit = json_object_iter(props);
	for (int i = 0; i < 3; i++, pit = json_object_iter_next(props, pit))
		assert_string_equal(json_object_iter_key(pit), want[i]);
	for (size_t g = 0; g < NGROUPS; g++) {
		it = json_object_iter_next(line, it);
		assert_non_null(it);
		assert_string_equal(json_object_iter_key(it), groups[g]);
		assert_true(json_is_object(json_object_iter_value(it)));
	}
	assert_null(json_object_iter_next(line, it));

	/* Spot checks of Firecracker's field names and nested aggregates. */
	json_t *agg = json_object_get(json_object_get(line, "vcpu"), "exit_io_in_agg");
	assert_int_equal(json_object_size(agg), 3);
	assert_true(json_is_integer(json_object_get(agg, "min_us")));
	assert_int_equal(val(line, "uart", "missed_write_count"), 0);
	assert_int_equal(val(line, "i8042", "reset_count"), 0);
	assert_int_equal(val(line, "block", "read_bytes"), 0);
	assert_int_equal(val(line, "put_api_requests", "cpu_cfg_fails"), 0);
	assert_int_equal(val(line, "logger", "missed_metrics_count"), 0);
	assert_int_equal(val(line, "signals", "sigpipe"), 0);
	assert_true(json_is_object(json_object_get(json_object_get(line, "memory_hotplug"),
						   "unplug_all_agg")));
	json_decref(line);
	close(fd);

	json_t *j = metrics_cfg_json();
	assert_string_equal(json_string_value(json_object_get(j, "metrics_path")), mfile);
	assert_true(json_is_true(json_object_get(j, "emit_id")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "properties"),
							      "zone")), "b");
	json_decref(j);
	(void)state;
}

static void test_reinit_refused(void **state)
{
	expect_err("{\"metrics_path\": \"x\", \"emit_id\": true}",
		   INIT "Reinitialization of metrics not allowed.");
	expect_err("{\"metrics_path\": \"/nonexistent/y\"}",
		   INIT "Reinitialization of metrics not allowed.");
	expect_err("{}", DESER "missing field `metrics_path`.");
	(void)state;
}

static void test_reinit_creates_nothing(void **state)
{
	struct stat st;
	expect_err("{\"metrics_path\": \"x\"}", INIT "Reinitialization of metrics not allowed.");
	assert_int_equal(apply("{\"metrics_path\": \"%s\"}", mfile2), -EINVAL);
	assert_int_equal(stat(mfile2, &st), -1);
	(void)state;
}

static void test_deltas_and_gauges(void **state)
{
	int fd = open(mfile, O_RDONLY);
	assert_true(fd >= 0);
	lseek(fd, 0, SEEK_END);
	metrics_g.block.read_bytes += 5;
	metrics_g.vcpu.exit_io_in_agg.sum_us += 9;
	metrics_g.vcpu.exit_io_in_agg.max_us = 4;
	metrics_g.latencies_us.pause_vm = 7;
	metrics_g.api_server.process_startup_time_us = 1234;
	json_t *line = flush_and_read(fd);
	assert_int_equal(val(line, "block", "read_bytes"), 5);
	assert_int_equal(val(line, "latencies_us", "pause_vm"), 7);
	json_t *agg = json_object_get(json_object_get(line, "vcpu"), "exit_io_in_agg");
	assert_int_equal(json_integer_value(json_object_get(agg, "sum_us")), 9);
	assert_int_equal(json_integer_value(json_object_get(agg, "max_us")), 4);
	json_decref(line);

	line = flush_and_read(fd); /* counters reset, gauges kept */
	assert_int_equal(val(line, "block", "read_bytes"), 0);
	assert_int_equal(val(line, "latencies_us", "pause_vm"), 7);
	assert_int_equal(val(line, "api_server", "process_startup_time_us"), 1234);
	agg = json_object_get(json_object_get(line, "vcpu"), "exit_io_in_agg");
	assert_int_equal(json_integer_value(json_object_get(agg, "sum_us")), 0);
	assert_int_equal(json_integer_value(json_object_get(agg, "max_us")), 4);
	assert_int_equal(metrics_g.block.read_bytes, 0);
	json_decref(line);
	close(fd);
	(void)state;
}

/* A stand-in for the VMM's collector: running totals owned elsewhere. */
static uint64_t fake_exits, fake_tx, fake_resets, fake_faults;

static void collect(struct metrics *m, void *ctx)
{
	int *calls = ctx;
	(*calls)++;
	m->vcpu.exit_io_out += fake_exits;
	m->uart.write_count = fake_tx;
	m->i8042.reset_count = fake_resets;
	m->seccomp.num_faults = fake_faults;
}

static void test_collector_totals(void **state)
{
	int calls = 0, fd = open(mfile, O_RDONLY);
	assert_true(fd >= 0);
	lseek(fd, 0, SEEK_END);
	metrics_set_source(collect, &calls);
	fake_exits = 10, fake_tx = 100, fake_resets = 1, fake_faults = 2;
	json_t *line = flush_and_read(fd);
	assert_int_equal(calls, 1);
	assert_int_equal(val(line, "vcpu", "exit_io_out"), 10);
	assert_int_equal(val(line, "uart", "write_count"), 100);
	assert_int_equal(val(line, "i8042", "reset_count"), 1);
	assert_int_equal(val(line, "seccomp", "num_faults"), 2);
	json_decref(line);

	fake_exits = 15, fake_tx = 100;
	metrics_g.vcpu.exit_io_out += 1; /* VMM-thread bumps add to the collected deltas */
	line = flush_and_read(fd);
	assert_int_equal(val(line, "vcpu", "exit_io_out"), 6);
	assert_int_equal(val(line, "uart", "write_count"), 0);
	assert_int_equal(val(line, "seccomp", "num_faults"), 2);
	json_decref(line);

	fake_exits = 3; /* the source restarted (VM rebuilt): count from zero */
	line = flush_and_read(fd);
	assert_int_equal(val(line, "vcpu", "exit_io_out"), 3);
	json_decref(line);
	metrics_set_source(NULL, NULL);
	close(fd);
	(void)state;
}

static void test_api_counts(void **state)
{
	int fd = open(mfile, O_RDONLY);
	assert_true(fd >= 0);
	lseek(fd, 0, SEEK_END);
	metrics_count_api(1, "drives", true);
	metrics_count_api(1, "drive", false);
	metrics_count_api(0, "machine_config", false);
	metrics_count_api(2, "machine-config", true);
	metrics_count_api(2, "network_interfaces", false);
	metrics_count_api(0, "root", false);
	metrics_count_api(0, "version", false);
	metrics_count_api(1, "boot-source", false);
	metrics_count_api(1, "cpu_config", true);
	metrics_count_api(1, "mmds_config", false);
	metrics_count_api(0, "hotplug/memory", false);
	/* Not counted by Firecracker, or nonsense: ignored without harm. */
	metrics_count_api(1, "balloon", true);
	metrics_count_api(0, "logger", true);
	metrics_count_api(3, "drives", true);
	metrics_count_api(-1, "drives", true);
	metrics_count_api(1, NULL, true);
	metrics_count_api(1, "an_absurdly_long_resource_name_that_does_not_fit_in_the_buffer_x",
			  true);
	json_t *line = flush_and_read(fd);
	assert_int_equal(val(line, "put_api_requests", "drive_count"), 2);
	assert_int_equal(val(line, "put_api_requests", "drive_fails"), 1);
	assert_int_equal(val(line, "get_api_requests", "machine_cfg_count"), 1);
	assert_int_equal(val(line, "patch_api_requests", "machine_cfg_count"), 1);
	assert_int_equal(val(line, "patch_api_requests", "machine_cfg_fails"), 1);
	assert_int_equal(val(line, "patch_api_requests", "network_count"), 1);
	assert_int_equal(val(line, "get_api_requests", "instance_info_count"), 1);
	assert_int_equal(val(line, "get_api_requests", "vmm_version_count"), 1);
	assert_int_equal(val(line, "put_api_requests", "boot_source_count"), 1);
	assert_int_equal(val(line, "put_api_requests", "cpu_cfg_fails"), 1);
	assert_int_equal(val(line, "put_api_requests", "mmds_count"), 1);
	assert_int_equal(val(line, "get_api_requests", "hotplug_memory_count"), 1);
	assert_null(json_object_get(json_object_get(line, "put_api_requests"), "balloon_count"));
	json_decref(line);
	close(fd);
	(void)state;
}

/* Nobody reads the FIFO: flushes fill the pipe, then are dropped and
 * counted, never blocking; a reader then gets only whole lines and the
 * next line reports the misses. */
static void test_fifo_full_never_blocks(void **state)
{
	metrics_close();
	assert_false(metrics_configured());
	log_set_level(LOG_OFF); /* the drops are logged: keep the test output quiet */
	assert_int_equal(apply("{\"metrics_path\": \"%s\"}", fifo), 0);
	int written = 0, dropped = 0;
	for (int i = 0; i < 64; i++) {
		int rc = metrics_flush();
		if (rc == 0)
			written++;
		else if (rc == -EAGAIN)
			dropped++;
		else
			fail_msg("flush: %d", rc);
	}
	assert_true(written > 0);
	assert_true(dropped > 0);
	assert_int_equal(metrics_g.logger.missed_metrics_count, (uint64_t)dropped);

	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	carry_len = 0;
	json_t *lines[8];
	int n, total = 0;
	json_int_t missed = 0;
	/* Drain, let the next flush finish a cut line, drain again. */
	for (int round = 0; round < 3; round++) {
		while ((n = read_lines(rd, lines)) > 0) {
			total += n;
			while (n--) {
				missed += val(lines[n], "logger", "missed_metrics_count");
				assert_int_equal(val(lines[n], "logger", "metrics_fails"), 0);
				json_decref(lines[n]);
			}
		}
		if (round < 2)
			assert_int_equal(metrics_flush(), 0);
	}
	assert_int_equal(carry_len, 0);
	assert_int_equal(total, written + 2);
	assert_int_equal(missed, dropped); /* reported once, on the line after the drops */
	close(rd);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconfigured),
		cmocka_unit_test(test_shape_errors),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_reinit_refused),
		cmocka_unit_test(test_reinit_creates_nothing),
		cmocka_unit_test(test_deltas_and_gauges),
		cmocka_unit_test(test_collector_totals),
		cmocka_unit_test(test_api_counts),
		cmocka_unit_test(test_fifo_full_never_blocks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
