/* VmResources singleton devices: vsock, balloon (and its PATCH bodies),
 * entropy, serial, memory hotplug, plus the RateLimiter normalisation and
 * the machine-config / balloon interplay. */
#include <sys/un.h>

#include "test_res_util.h"

static int put_vsock(struct vm_resources *r, const char *body, bool *depr)
{
	json_t *j = J("%s", body);
	memset(err, 0, sizeof(err));
	int rc = res_put_vsock(r, j, depr, err, sizeof(err));
	json_decref(j);
	return rc;
}

static void test_vsock(void **state)
{
	char body[512], path[200];
	bool depr = true;
	struct vm_resources r;
	res_init(&r);
	EXPECT(put_vsock(&r, "{\"guest_cid\": 3, \"uds_path\": \"/v.sock\"}", &depr), 0, NULL);
	assert_false(depr);
	assert_true(r.vsock.set);
	assert_int_equal(r.vsock.guest_cid, 3);
	assert_string_equal(r.vsock.uds_path, "/v.sock");
	EXPECT(put_vsock(&r, "{\"vsock_id\": \"vsock0\", \"guest_cid\": 4294967294, \"uds_path\": "
			 "\"/w\"}", &depr), 0, NULL);
	assert_true(depr);
	assert_int_equal(r.vsock.guest_cid, 4294967294u);
	assert_string_equal(r.vsock.uds_path, "/w");
	EXPECT(put_vsock(&r, "{\"vsock_id\": null, \"guest_cid\": 5, \"uds_path\": \"/x\"}", NULL),
	       0, NULL);
	static const char *const bad[][2] = {
		{ "{\"guest_cid\": 2, \"uds_path\": \"/v\"}", "Vsock config error: Cannot create "
		  "vsock device: guest_cid 2 is reserved; use a CID from 3 to 4294967294." },
		{ "{\"guest_cid\": 0, \"uds_path\": \"/v\"}", NULL },
		{ "{\"guest_cid\": 4294967295, \"uds_path\": \"/v\"}", NULL },
		{ "{\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}",
		  DESER "invalid value: integer `4294967296`, expected u32." },
		{ "{\"guest_cid\": -3, \"uds_path\": \"/v\"}",
		  DESER "invalid value: integer `-3`, expected u32." },
		{ "{\"guest_cid\": 3}", DESER "missing field `uds_path`." },
		{ "{\"uds_path\": \"/v\"}", DESER "missing field `guest_cid`." },
		{ "{\"guest_cid\": 3, \"uds_path\": null}", DESER "invalid type: null, expected a "
		  "string." },
		{ "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"id\": 1}", DESER "unknown field `id`, "
		  "expected one of `vsock_id`, `guest_cid`, `uds_path`." },
		{ "{\"guest_cid\": 3, \"uds_path\": \"/nonexistent-dir/v.sock\"}", "Vsock config "
		  "error: Cannot create backend for vsock device: Error binding to the host-side "
		  "Unix socket: No such file or directory (os error 2)" },
		{ "{\"guest_cid\": 3, \"uds_path\": \"/dev/null/v.sock\"}", "Vsock config "
		  "error: Cannot create backend for vsock device: Error binding to the host-side "
		  "Unix socket: Not a directory (os error 20)" },
		{ "{\"guest_cid\": 3, \"uds_path\": \"\"}", "Vsock config error: Cannot create backend "
		  "for vsock device: Error binding to the host-side Unix socket: No such file or "
		  "directory (os error 2)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT(put_vsock(&r, bad[i][0], &depr), -EINVAL, bad[i][1]);
		assert_false(depr);
	}
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0'; /* 108 chars: no room for NUL */
	snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", path);
	EXPECT(put_vsock(&r, body, NULL), -EINVAL, "Vsock config error: Cannot create backend for "
	       "vsock device: Error binding to the host-side Unix socket: path must be shorter "
	       "than SUN_LEN");
	path[107] = '\0';
	snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", path);
	EXPECT(put_vsock(&r, body, NULL), 0, NULL);
	res_free(&r);
	assert_false(r.vsock.set);
	(void)state;
}

static void test_balloon(void **state)
{
	struct vm_resources r;
	res_init(&r);
	assert_null(res_balloon_json(&r));
	EXPECT(put_body(res_put_balloon, &r, "{\"amount_mib\": 129, \"deflate_on_oom\": true}"),
	       -EINVAL, "Balloon config error: Amount of pages requested is too large.");
	assert_false(r.balloon.set);
	EXPECT(put_body(res_put_balloon, &r, "{\"amount_mib\": 128, \"deflate_on_oom\": true, "
			"\"stats_polling_interval_s\": 65535, \"free_page_hinting\": true, "
			"\"free_page_reporting\": true}"), 0, NULL);
	assert_true(r.balloon.set && r.balloon.deflate_on_oom && r.balloon.free_page_hinting &&
		    r.balloon.free_page_reporting);
	assert_int_equal(r.balloon.amount_mib, 128);
	assert_int_equal(r.balloon.stats_polling_interval_s, 65535);
	json_t *j = res_balloon_json(&r);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"amount_mib\":128,\"deflate_on_oom\":true,"
			    "\"stats_polling_interval_s\":65535,\"free_page_hinting\":true,"
			    "\"free_page_reporting\":true}");
	free(s);
	json_decref(j);
	/* a PUT replaces: omitted optionals go back to their defaults */
	EXPECT(put_body(res_put_balloon, &r, "{\"amount_mib\": 0, \"deflate_on_oom\": false}"), 0,
	       NULL);
	assert_false(r.balloon.free_page_hinting);
	assert_int_equal(r.balloon.stats_polling_interval_s, 0);
	static const char *const bad[][2] = {
		{ "{\"amount_mib\": 1}", "missing field `deflate_on_oom`." },
		{ "{\"deflate_on_oom\": true}", "missing field `amount_mib`." },
		{ "{\"amount_mib\": 4294967296, \"deflate_on_oom\": true}",
		  "invalid value: integer `4294967296`, expected u32." },
		{ "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 65536}",
		  "invalid value: integer `65536`, expected u16." },
		{ "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": null}",
		  "invalid type: null, expected u16." },
		{ "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"free_page_hinting\": null}",
		  "invalid type: null, expected a boolean." },
		{ "{\"amount_mib\": 1, \"deflate_on_oom\": 1}",
		  "invalid type: integer `1`, expected a boolean." },
		{ "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"must_tell_host\": true}",
		  "unknown field `must_tell_host`, expected one of `amount_mib`, `deflate_on_oom`, "
		  "`stats_polling_interval_s`, `free_page_hinting`, `free_page_reporting`." },
	};
	char msg[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), DESER "%s", bad[i][1]);
		EXPECT(put_body(res_put_balloon, &r, bad[i][0]), -EINVAL, msg);
	}
	assert_int_equal(r.balloon.amount_mib, 0);
	res_free(&r);
	(void)state;
}

static void test_balloon_vs_machine(void **state)
{
	struct vm_resources r;
	res_init(&r);
	EXPECT(put_body(res_put_balloon, &r, "{\"amount_mib\": 100, \"deflate_on_oom\": true}"), 0,
	       NULL);
	json_t *j = J("{\"vcpu_count\": 1, \"mem_size_mib\": 99}");
	EXPECT(res_set_machine_config(&r, j, false, err, sizeof(err)), -EINVAL,
	       "Machine config error: The memory size (MiB) is smaller than the previously set "
	       "balloon device target size.");
	json_decref(j);
	assert_int_equal(r.machine.mem_size_mib, 128);
	j = J("{\"mem_size_mib\": 100, \"vcpu_count\": 2}");
	EXPECT(res_set_machine_config(&r, j, true, err, sizeof(err)), 0, NULL);
	json_decref(j);
	assert_int_equal(r.machine.mem_size_mib, 100);
	assert_int_equal(r.machine.vcpu_count, 2);
	/* validation errors come first, as in MachineConfig::update */
	j = J("{\"mem_size_mib\": 0}");
	EXPECT(res_set_machine_config(&r, j, true, err, sizeof(err)), -EINVAL,
	       "Machine config error: The memory size (MiB) is either 0, or not a multiple of the "
	       "configured page size.");
	json_decref(j);
	res_free(&r);
	(void)state;
}

static void test_balloon_patch_bodies(void **state)
{
	uint32_t amount = 7;
	uint16_t interval = 7;
	json_t *j = J("{\"amount_mib\": 4294967295}");
	EXPECT(res_parse_balloon_update(j, &amount, err, sizeof(err)), 0, NULL);
	assert_int_equal(amount, 4294967295u);
	json_decref(j);
	j = J("{\"amount_mib\": 1, \"deflate_on_oom\": true}");
	EXPECT(res_parse_balloon_update(j, &amount, err, sizeof(err)), -EINVAL,
	       DESER "unknown field `deflate_on_oom`, expected `amount_mib`.");
	json_decref(j);
	j = J("{}");
	EXPECT(res_parse_balloon_update(j, &amount, err, sizeof(err)), -EINVAL,
	       DESER "missing field `amount_mib`.");
	EXPECT(res_parse_balloon_stats_update(j, &interval, err, sizeof(err)), -EINVAL,
	       DESER "missing field `stats_polling_interval_s`.");
	json_decref(j);
	j = J("{\"stats_polling_interval_s\": 0}");
	EXPECT(res_parse_balloon_stats_update(j, &interval, err, sizeof(err)), 0, NULL);
	assert_int_equal(interval, 0);
	json_decref(j);
	j = J("{\"stats_polling_interval_s\": 70000}");
	EXPECT(res_parse_balloon_stats_update(j, &interval, err, sizeof(err)), -EINVAL,
	       DESER "invalid value: integer `70000`, expected u16.");
	json_decref(j);
	EXPECT(res_parse_balloon_update(NULL, &amount, err, sizeof(err)), -EINVAL,
	       DESER "invalid type: null, expected struct BalloonUpdateConfig.");
	assert_int_equal(amount, 4294967295u);
	(void)state;
}

static void test_entropy(void **state)
{
	struct vm_resources r;
	res_init(&r);
	EXPECT(put_body(res_put_entropy, &r, "{}"), 0, NULL);
	assert_true(r.entropy.set);
	assert_false(r.entropy.rl.bandwidth.set);
	EXPECT(put_body(res_put_entropy, &r, "{\"rate_limiter\": {\"bandwidth\": {\"size\": 64, "
			"\"refill_time\": 1000}}}"), 0, NULL);
	assert_true(r.entropy.rl.bandwidth.set);
	EXPECT(put_body(res_put_entropy, &r, "{\"rate_limiter\": null}"), 0, NULL);
	assert_false(r.entropy.rl.bandwidth.set);
	EXPECT(put_body(res_put_entropy, &r, "{\"rate\": 1}"), -EINVAL,
	       DESER "unknown field `rate`, expected `rate_limiter`.");
	EXPECT(put_body(res_put_entropy, &r, "[]"), -EINVAL,
	       DESER "invalid type: sequence, expected struct EntropyDeviceConfig.");
	res_free(&r);
	assert_false(r.entropy.set);
	(void)state;
}

/* TokenBucket::new: size 0 or refill_time 0 (or ms that overflow in ns) = no limit. */
static void test_rate_limiter_normalisation(void **state)
{
	static const struct { const char *tb; bool set; } cases[] = {
		{ "{\"size\": 0, \"refill_time\": 100}", false },
		{ "{\"size\": 100, \"refill_time\": 0}", false },
		{ "{\"size\": 1, \"refill_time\": 1}", true },
		{ "{\"size\": 9223372036854775807, \"refill_time\": 18446744073709}", true },
		{ "{\"size\": 1, \"refill_time\": 18446744073710}", false },
		{ "{\"size\": 1, \"refill_time\": 9223372036854775807, \"one_time_burst\": 3}", false },
		{ "{\"size\": 1, \"refill_time\": 1, \"one_time_burst\": null}", true },
	};
	struct vm_resources r;
	res_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = J("{\"rate_limiter\": {\"ops\": %s}}", cases[i].tb);
		EXPECT(res_put_entropy(&r, j, err, sizeof(err)), 0, NULL);
		json_decref(j);
		if (r.entropy.rl.ops.set != cases[i].set)
			fail_msg("%s: set %d", cases[i].tb, r.entropy.rl.ops.set);
		json_t *o = res_vm_config_json(&r);
		json_t *e = json_object_get(json_object_get(o, "entropy"), "rate_limiter");
		assert_true(cases[i].set ? json_is_object(e) : json_is_null(e));
		json_decref(o);
	}
	res_free(&r);
	(void)state;
}

static void test_serial(void **state)
{
	char path[256], fifo[128];
	int fd = 5;
	struct vm_resources r;
	res_init(&r);
	assert_int_equal(res_serial_open(&r, &fd), 0);
	assert_int_equal(fd, -1); /* stdout */
	snprintf(path, sizeof(path), "{\"serial_out_path\": \"%s/console.log\", \"rate_limiter\": "
		 "{\"size\": 100, \"refill_time\": 10}}", dir);
	EXPECT(put_body(res_put_serial, &r, path), 0, NULL);
	assert_true(r.serial.rl.set);
	assert_int_equal(r.serial.rl.size, 100);
	assert_int_equal(res_serial_open(&r, &fd), 0);
	assert_true(fd >= 0);
	int fl = fcntl(fd, F_GETFL);
	assert_true((fl & O_APPEND) && (fl & O_NONBLOCK));
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* a FIFO without a reader opens at once */
	snprintf(fifo, sizeof(fifo), "%s/serial.fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(path, sizeof(path), "{\"serial_out_path\": \"%s\"}", fifo);
	EXPECT(put_body(res_put_serial, &r, path), 0, NULL);
	assert_false(r.serial.rl.set); /* PUT replaces */
	assert_int_equal(res_serial_open(&r, &fd), 0);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "{\"serial_out_path\": \"%s/no/such/dir/x\"}", dir);
	EXPECT(put_body(res_put_serial, &r, path), 0, NULL);
	assert_int_equal(res_serial_open(&r, &fd), -ENOENT);
	assert_int_equal(fd, -1);
	EXPECT(put_body(res_put_serial, &r, "{\"serial_out_path\": null, \"rate_limiter\": null}"),
	       0, NULL);
	assert_null(r.serial.out_path);
	EXPECT(put_body(res_put_serial, &r, "{}"), 0, NULL);
	EXPECT(put_body(res_put_serial, &r, "{\"rate_limiter\": {\"bandwidth\": {}}}"), -EINVAL,
	       DESER "unknown field `bandwidth`, expected " TB_FIELDS ".");
	EXPECT(put_body(res_put_serial, &r, "{\"path\": \"/x\"}"), -EINVAL,
	       DESER "unknown field `path`, expected `serial_out_path` or `rate_limiter`.");
	EXPECT(put_body(res_put_serial, NULL, "{}"), -EINVAL, NULL);
	res_free(&r);
	(void)state;
}

static void test_memory_hotplug(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"total_size_mib\": 128, \"block_size_mib\": 1}", "Block size must not be lower "
		  "than 2 MiB" },
		{ "{\"total_size_mib\": 128, \"block_size_mib\": 6}", "Block size must be a power of 2" },
		{ "{\"total_size_mib\": 128, \"slot_size_mib\": 64}", "Slot size must not be lower "
		  "than 128 MiB" },
		{ "{\"total_size_mib\": 256, \"slot_size_mib\": 130, \"block_size_mib\": 4}",
		  "Slot size must be a multiple of block size (4 MiB)" },
		{ "{\"total_size_mib\": 0}", "Total size must not be lower than slot size (128 MiB)" },
		{ "{\"total_size_mib\": 200}", "Total size must be a multiple of slot size (128 MiB)" },
	};
	char msg[256];
	struct vm_resources r;
	res_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "Memory hotplug config error: %s", bad[i][1]);
		EXPECT(put_body(res_put_memory_hotplug, &r, bad[i][0]), -EINVAL, msg);
	}
	assert_false(r.mem_hotplug.set);
	EXPECT(put_body(res_put_memory_hotplug, &r, "{\"total_size_mib\": 1024}"), 0, NULL);
	assert_true(r.mem_hotplug.set);
	assert_int_equal(r.mem_hotplug.slot_size_mib, 128);
	assert_int_equal(r.mem_hotplug.block_size_mib, 2);
	EXPECT(put_body(res_put_memory_hotplug, &r, "{\"total_size_mib\": 4294967040, "
			"\"slot_size_mib\": 256, \"block_size_mib\": 256}"), 0, NULL);
	assert_int_equal(r.mem_hotplug.total_size_mib, 4294967040u);
	EXPECT(put_body(res_put_memory_hotplug, &r, "{}"), -EINVAL,
	       DESER "missing field `total_size_mib`.");
	EXPECT(put_body(res_put_memory_hotplug, &r, "{\"total_size_mib\": 4294967296}"), -EINVAL,
	       DESER "invalid value: integer `4294967296`, expected u32.");
	EXPECT(put_body(res_put_memory_hotplug, &r, "{\"total_size_mib\": 128, \"requested_size_mib\""
			": 0}"), -EINVAL, DESER "unknown field `requested_size_mib`, expected one of "
	       "`total_size_mib`, `block_size_mib`, `slot_size_mib`.");
	assert_int_equal(r.mem_hotplug.slot_size_mib, 256);
	res_free(&r);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsock),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_balloon_vs_machine),
		cmocka_unit_test(test_balloon_patch_bodies),
		cmocka_unit_test(test_entropy),
		cmocka_unit_test(test_rate_limiter_normalisation),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_memory_hotplug),
	};
	return cmocka_run_group_tests(tests, res_setup, res_teardown);
}
