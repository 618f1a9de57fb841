/* VmResources as a whole: the --config-file with every device key and the
 * caller's hooks, GET /vm/config (exact output and a round trip through the
 * config parser), the InstanceStart gate, and a robustness sweep. */
#include "test_res_util.h"

static char bs[256]; /* "boot-source": {...} with a real file as the kernel */

static int cfg(struct vm_resources *r, const struct res_hooks *h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cfg(struct vm_resources *r, const struct res_hooks *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *j = vJ(fmt, ap);
	va_end(ap);
	memset(err, 0, sizeof(err));
	int rc = res_set_config_hooks(r, j, h, err, sizeof(err));
	json_decref(j);
	return rc;
}

static char *dump(json_t *j)
{
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static void test_config_devices(void **state)
{
	struct vm_resources r;
	res_init(&r);
	snprintf(bs, sizeof(bs), "\"boot-source\": {\"kernel_image_path\": \"%s\"}", disk[3]);
	int fds = count_fds();
	EXPECT(cfg(&r, NULL, "{%s, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 256}, "
		   "\"drives\": [{\"drive_id\": \"data\", \"is_root_device\": false, \"path_on_host\": "
		   "\"%s\"}, {\"drive_id\": \"rootfs\", \"is_root_device\": true, \"path_on_host\": "
		   "\"%s\"}], \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
		   "\"tap0\", \"guest_mac\": \"06:00:00:00:00:01\"}], \"vsock\": {\"guest_cid\": 3, "
		   "\"uds_path\": \"/v\"}, \"balloon\": {\"amount_mib\": 200, \"deflate_on_oom\": true}, "
		   "\"entropy\": {}, \"pmem\": [{\"id\": \"pm\", \"path_on_host\": \"/pm\"}], "
		   "\"memory-hotplug\": {\"total_size_mib\": 256}}", bs, disk[0], disk[1]), 0, NULL);
	assert_int_equal(r.n_drives, 2);
	assert_string_equal(r.drives[0].id, "rootfs");
	assert_int_equal(r.n_nets, 1);
	assert_true(r.vsock.set && r.balloon.set && r.entropy.set && r.mem_hotplug.set);
	assert_int_equal(r.n_pmems, 1);
	assert_int_equal(count_fds(), fds + 3);

	/* each failure names its object the way Firecracker's ResourcesError does,
	 * and leaves the previous configuration in place */
	static const char *const bad[][2] = {
		{ "\"drives\": [{\"drive_id\": \"a\", \"is_root_device\": true, \"path_on_host\": "
		  "\"/nonexistent\"}]", "Block device error: Unable to create the virtio block device: "
		  "Virtio backend error: Error manipulating the backing file: No such file or "
		  "directory (os error 2) /nonexistent" },
		{ "\"drives\": [{\"drive_id\": \"a\", \"is_root_device\": true, \"socket\": \"/s\"}]",
		  "Block device error: Unable to create the virtio block device: vhost-user block "
		  "devices (`socket`) are not supported by ember." },
		{ "\"network-interfaces\": [{\"iface_id\": \"a\", \"host_dev_name\": \"t\", "
		  "\"guest_mac\": \"06:00:00:00:00:01\"}, {\"iface_id\": \"b\", \"host_dev_name\": "
		  "\"u\", \"guest_mac\": \"06:00:00:00:00:01\"}]",
		  "Network device error: The MAC address is already in use: 06:00:00:00:00:01" },
		{ "\"network-interfaces\": [{\"iface_id\": \"a\", \"host_dev_name\": \"t\", "
		  "\"guest_mac\": \"06:00:00:00:00\"}]",
		  "Invalid JSON: The provided MAC address is invalid." },
		{ "\"vsock\": {\"guest_cid\": 1, \"uds_path\": \"/v\"}", "Vsock device error: Cannot "
		  "create vsock device: guest_cid 1 is reserved; use a CID from 3 to 4294967294." },
		{ "\"balloon\": {\"amount_mib\": 129, \"deflate_on_oom\": true}",
		  "Balloon device error: Amount of pages requested is too large." },
		{ "\"pmem\": [{\"id\": \"a\", \"path_on_host\": \"/a\", \"root_device\": true}, "
		  "{\"id\": \"b\", \"path_on_host\": \"/b\", \"root_device\": true}]",
		  "Pmem device error: A root pmem device already exist" },
		{ "\"memory-hotplug\": {\"total_size_mib\": 100}",
		  "Memory hotplug config error: Total size must not be lower than slot size (128 MiB)" },
		{ "\"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": 1}}}",
		  "Invalid JSON: missing field `refill_time`" },
		{ "\"pmem\": {}", "Invalid JSON: invalid type: map, expected a sequence" },
		{ "\"vsock\": []", "Invalid JSON: invalid type: sequence, expected struct "
		  "VsockDeviceConfig" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT(cfg(&r, NULL, "{%s, %s}", bs, bad[i][0]), i ? -EINVAL : -ENOENT, bad[i][1]);
		assert_int_equal(r.n_drives, 2);
		assert_int_equal(r.machine.mem_size_mib, 256);
	}
	assert_int_equal(count_fds(), fds + 3);
	/* a shape error anywhere wins over a semantic one earlier in the order */
	EXPECT(cfg(&r, NULL, "{%s, \"drives\": [{\"drive_id\": \"a\", \"is_root_device\": true, "
		   "\"path_on_host\": \"/nonexistent\"}], \"memory-hotplug\": {\"x\": 1}}", bs),
	       -EINVAL, "Invalid JSON: unknown field `x`, expected one of `total_size_mib`, "
	       "`block_size_mib`, `slot_size_mib`");
	/* ids in the file are not path segments: Firecracker does not check them */
	EXPECT(cfg(&r, NULL, "{%s, \"drives\": [{\"drive_id\": \"root-fs.1\", \"is_root_device\": "
		   "true, \"path_on_host\": \"%s\"}], \"drives-typo\": 5}", bs, disk[2]), 0, NULL);
	assert_int_equal(r.n_drives, 1);
	assert_false(r.balloon.set);
	assert_int_equal(count_fds(), fds + 2);
	res_free(&r);
	assert_int_equal(count_fds(), fds);
	(void)state;
}

static char calls[128];
static int hook_rc;

static int hook(void *ctx, const struct vm_resources *staged, const json_t *obj, char *e,
		size_t elen)
{
	strcat(calls, (const char *)ctx);
	strcat(calls, json_is_string(obj) ? "(s)" : "");
	if (hook_rc)
		snprintf(e, elen, "hook failed");
	return hook_rc;
}

static int mmds_hook(void *ctx, const struct vm_resources *staged, const json_t *obj, char *e,
		     size_t elen)
{
	json_t *ifaces = json_object_get(obj, "network_interfaces");
	strcat(calls, "mmds");
	/* the staged configuration already holds the interfaces */
	if (!res_has_net(staged, json_string_value(json_array_get(ifaces, 0)))) {
		snprintf(e, elen, "no such iface");
		return -EINVAL;
	}
	return 0;
}

static void test_config_hooks(void **state)
{
	struct res_hooks h = { .logger = hook, .metrics = hook, .cpu_config = hook,
			       .mmds_config = mmds_hook, .ctx = (void *)"+" };
	struct vm_resources r;
	res_init(&r);
	snprintf(bs, sizeof(bs), "\"boot-source\": {\"kernel_image_path\": \"%s\"}", disk[3]);
	calls[0] = '\0';
	hook_rc = 0;
	EXPECT(cfg(&r, &h, "{\"mmds-config\": {\"network_interfaces\": [\"eth0\"]}, \"cpu-config\": "
		   "\"t.json\", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
		   "\"tap0\"}], \"logger\": {}, %s, \"metrics\": {}}", bs), 0, NULL);
	/* Firecracker's order: logger, metrics, cpu-config, ..., mmds-config */
	assert_string_equal(calls, "+++(s)mmds");
	assert_int_equal(r.n_nets, 1);

	calls[0] = '\0';
	EXPECT(cfg(&r, &h, "{%s, \"logger\": null, \"mmds-config\": {\"network_interfaces\": "
		   "[\"eth1\"]}}", bs), -EINVAL, "no such iface");
	assert_string_equal(calls, "mmds");
	assert_int_equal(r.n_nets, 1); /* untouched */

	hook_rc = -EINVAL;
	calls[0] = '\0';
	EXPECT(cfg(&r, &h, "{%s, \"metrics\": {\"metrics_path\": \"/m\"}}", bs), -EINVAL,
	       "hook failed");
	assert_int_equal(r.n_nets, 1);
	hook_rc = 0;
	h.metrics = NULL;
	EXPECT(cfg(&r, &h, "{%s, \"metrics\": {\"metrics_path\": \"/m\"}}", bs), -EINVAL,
	       "metrics is not supported by this build yet");
	EXPECT(cfg(&r, &h, "{%s, \"metrics\": null}", bs), 0, NULL);
	assert_int_equal(r.n_nets, 0);
	res_free(&r);
	(void)state;
}

#define EMPTY_VM_CONFIG                                                                       \
	"{\"balloon\":null,\"drives\":[],\"boot-source\":{\"kernel_image_path\":\"\","           \
	"\"initrd_path\":null,\"boot_args\":null},\"cpu-config\":null,\"logger\":null,"          \
	"\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"             \
	"\"track_dirty_pages\":false,\"huge_pages\":\"None\"},\"metrics\":null,"               \
	"\"mmds-config\":null,\"network-interfaces\":[],\"vsock\":null,\"entropy\":null,"      \
	"\"pmem\":[],\"memory-hotplug\":null}"

static void fill(struct vm_resources *r)
{
	snprintf(bs, sizeof(bs), "\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
		 "\"console=ttyS0\"}", disk[3]);
	EXPECT(cfg(r, NULL, "{%s, \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 512}, "
		   "\"drives\": [{\"drive_id\": \"rootfs\", \"is_root_device\": true, \"partuuid\": "
		   "\"ab-01\", \"path_on_host\": \"%s\", \"is_read_only\": true, \"cache_type\": "
		   "\"Writeback\", \"io_engine\": \"Async\", \"rate_limiter\": {\"bandwidth\": "
		   "{\"size\": 10, \"one_time_burst\": 20, \"refill_time\": 30}}}, {\"drive_id\": "
		   "\"d2\", \"is_root_device\": false, \"path_on_host\": \"%s\"}], "
		   "\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
		   "\"guest_mac\": \"AA:bb:00:00:00:01\", \"mtu\": 1500, \"tx_rate_limiter\": "
		   "{\"ops\": {\"size\": 5, \"refill_time\": 6}}}, {\"iface_id\": \"eth1\", "
		   "\"comms_socket\": \"/run/sw\"}], \"vsock\": {\"vsock_id\": \"x\", \"guest_cid\": 7, "
		   "\"uds_path\": \"/v\"}, \"balloon\": {\"amount_mib\": 64, \"deflate_on_oom\": true, "
		   "\"stats_polling_interval_s\": 1}, \"entropy\": {\"rate_limiter\": {\"ops\": "
		   "{\"size\": 1, \"refill_time\": 0}}}, \"pmem\": [{\"id\": \"pm\", \"path_on_host\": "
		   "\"/pm\", \"read_only\": true}], \"memory-hotplug\": {\"total_size_mib\": 512, "
		   "\"slot_size_mib\": 256}}", bs, ro_img, disk[1]), 0, NULL);
}

static void test_vm_config_json(void **state)
{
	struct vm_resources r, r2;
	char want[4096];
	res_init(&r);
	res_init(&r2);
	char *s = dump(res_vm_config_json(&r));
	assert_string_equal(s, EMPTY_VM_CONFIG);
	free(s);
	assert_null(res_vm_config_json(NULL));

	fill(&r);
	s = dump(res_vm_config_json(&r));
	snprintf(want, sizeof(want), "{\"balloon\":{\"amount_mib\":64,\"deflate_on_oom\":true,"
		 "\"stats_polling_interval_s\":1,\"free_page_hinting\":false,"
		 "\"free_page_reporting\":false},\"drives\":[{\"drive_id\":\"rootfs\",\"partuuid\":"
		 "\"ab-01\",\"is_root_device\":true,\"cache_type\":\"Writeback\",\"is_read_only\":true,"
		 "\"path_on_host\":\"%s\",\"rate_limiter\":{\"bandwidth\":{\"size\":10,"
		 "\"one_time_burst\":20,\"refill_time\":30},\"ops\":null},\"io_engine\":\"Async\","
		 "\"socket\":null},{\"drive_id\":\"d2\",\"partuuid\":null,\"is_root_device\":false,"
		 "\"cache_type\":\"Unsafe\",\"is_read_only\":false,\"path_on_host\":\"%s\","
		 "\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null}],\"boot-source\":"
		 "{\"kernel_image_path\":\"%s\",\"initrd_path\":null,\"boot_args\":\"console=ttyS0\"},"
		 "\"cpu-config\":null,\"logger\":null,\"machine-config\":{\"vcpu_count\":2,"
		 "\"mem_size_mib\":512,\"smt\":false,\"track_dirty_pages\":false,\"huge_pages\":"
		 "\"None\"},\"metrics\":null,\"mmds-config\":null,\"network-interfaces\":[{"
		 "\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"aa:bb:00:00:00:01\","
		 "\"mtu\":1500,\"rx_rate_limiter\":null,\"tx_rate_limiter\":{\"bandwidth\":null,"
		 "\"ops\":{\"size\":5,\"one_time_burst\":null,\"refill_time\":6}}},{\"iface_id\":"
		 "\"eth1\",\"comms_socket\":\"/run/sw\",\"guest_mac\":null,\"mtu\":null,"
		 "\"rx_rate_limiter\":null,\"tx_rate_limiter\":null}],\"vsock\":{\"guest_cid\":7,"
		 "\"uds_path\":\"/v\"},\"entropy\":{\"rate_limiter\":null},\"pmem\":[{\"id\":\"pm\","
		 "\"path_on_host\":\"/pm\",\"root_device\":false,\"read_only\":true,\"rate_limiter\":"
		 "null}],\"memory-hotplug\":{\"total_size_mib\":512,\"block_size_mib\":2,"
		 "\"slot_size_mib\":256}}", ro_img, disk[1], disk[3]);
	assert_string_equal(s, want);

	/* round trip: the output is a valid config file describing the same VM */
	json_t *j = J("%s", s);
	EXPECT(res_set_config(&r2, j, err, sizeof(err)), 0, NULL);
	json_decref(j);
	char *s2 = dump(res_vm_config_json(&r2));
	assert_string_equal(s, s2);
	free(s2);
	free(s);
	res_free(&r);
	res_free(&r2);
	(void)state;
}

static void test_unsupported_devices(void **state)
{
	char msg[256];
	struct vm_resources r;
	res_init(&r);
	assert_int_equal(res_unsupported_devices(&r, msg, sizeof(msg)), 0);
	assert_int_equal(res_unsupported_devices(NULL, msg, sizeof(msg)), 0);
	json_t *j = J("{\"serial_out_path\": \"/dev/null\"}");
	assert_int_equal(res_put_serial(&r, j, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(res_unsupported_devices(&r, msg, sizeof(msg)), 0); /* serial is built in */

	/* attach order; each round drops the kind the previous one named */
	static const char *const frag[] = {
		"\"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": false}",
		"\"drives\": [{\"drive_id\": \"rootfs\", \"is_root_device\": false, "
		"\"path_on_host\": \"/dev/null\"}]",
		"\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"}]",
		"\"pmem\": [{\"id\": \"pm\", \"path_on_host\": \"/p\"}]",
		"\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v\"}",
		"\"entropy\": {}",
		"\"memory-hotplug\": {\"total_size_mib\": 128}",
	};
	/* NULL: a device this build has (the next refused one is named) */
	static const char *const want[] = {
		NULL, /* balloon */
		NULL, /* drives */
		NULL, /* network-interfaces */
		"pmem device 'pm' is not supported by this build yet",
		NULL, /* vsock */
		NULL, /* entropy */
		"memory hotplug (virtio-mem) device is not supported by this build yet",
	};
	char body[2048];
	snprintf(bs, sizeof(bs), "\"boot-source\": {\"kernel_image_path\": \"%s\"}", disk[3]);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(body, sizeof(body), "{%s", bs);
		for (size_t k = i; k < sizeof(frag) / sizeof(frag[0]); k++) {
			strcat(body, ", ");
			strcat(body, frag[k]);
		}
		strcat(body, "}");
		EXPECT(cfg(&r, NULL, "%s", body), 0, NULL);
		size_t k = i;
		while (k < sizeof(want) / sizeof(want[0]) && !want[k])
			k++;
		assert_int_equal(res_unsupported_devices(&r, msg, sizeof(msg)), -ENOTSUP);
		assert_string_equal(msg, want[k]); /* the last kind is never supported yet */
	}
	EXPECT(cfg(&r, NULL, "{%s}", bs), 0, NULL);
	assert_int_equal(res_unsupported_devices(&r, NULL, 0), 0);
	res_free(&r);
	(void)state;
}

/* Every field of every device object given every kind of value, through
 * the API and the config file: nothing may crash, leak or overflow (ASan). */
static void test_robustness(void **state)
{
	static const char *const vals[] = {
		"null", "true", "0", "-1", "3", "65536", "9223372036854775807", "0.5", "\"\"",
		"\"06:00:00:00:00:01\"", "\"/tmp\"", "\"\\u0000\"", "[]", "[{}]", "{}",
		"{\"ops\": {\"size\": 1, \"refill_time\": 1}}", "{\"size\": 1, \"refill_time\": 1}",
	};
	static const char *const fields[] = {
		"drive_id", "is_root_device", "path_on_host", "partuuid", "cache_type", "io_engine",
		"rate_limiter", "socket", "iface_id", "host_dev_name", "guest_mac", "mtu",
		"comms_socket", "rx_rate_limiter", "guest_cid", "uds_path", "amount_mib",
		"deflate_on_oom", "total_size_mib", "id", "serial_out_path", "",
	};
	static const char *const keys[] = { "drives", "network-interfaces", "pmem", "vsock",
					    "balloon", "entropy", "memory-hotplug" };
	char small[8];
	struct vm_resources r;
	struct res_drive_update du;
	struct res_net_update nu;
	struct res_pmem_update pu;
	uint32_t u32;
	uint16_t u16;
	res_init(&r);
	fill(&r);
	int fds = count_fds();
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			json_t *j = J("{\"%s\": %s, \"drive_id\": \"rootfs\", \"iface_id\": \"eth0\", "
				      "\"id\": \"pm\"}", fields[f], vals[v]);
			res_put_drive(&r, "rootfs", j, err, sizeof(err));
			res_put_net(&r, "eth0", j, small, sizeof(small));
			res_put_pmem(&r, "pm", j, NULL, 0);
			res_put_vsock(&r, j, NULL, err, sizeof(err));
			res_put_balloon(&r, j, err, sizeof(err));
			res_put_entropy(&r, j, err, sizeof(err));
			res_put_serial(&r, j, err, sizeof(err));
			res_put_memory_hotplug(&r, j, err, sizeof(err));
			if (!res_patch_drive(&r, "rootfs", j, &du, err, sizeof(err)))
				res_drive_update_commit(&r, &du);
			res_drive_update_free(&du);
			if (!res_patch_net(&r, "eth0", j, &nu, err, sizeof(err)))
				res_net_update_commit(&r, &nu);
			if (!res_patch_pmem(&r, "pm", j, &pu, err, sizeof(err)))
				res_pmem_update_commit(&r, &pu);
			res_parse_balloon_update(j, &u32, err, sizeof(err));
			res_parse_balloon_stats_update(j, &u16, err, sizeof(err));
			json_decref(j);
		}
	}
	json_decref(res_vm_config_json(&r));
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			struct vm_resources t;
			res_init(&t);
			cfg(&t, NULL, "{%s, \"%s\": %s}", bs, keys[k], vals[v]);
			cfg(&t, NULL, "{%s, \"%s\": [%s]}", bs, keys[k], vals[v]);
			res_free(&t);
		}
	}
	assert_int_equal(count_fds(), fds);
	res_free(&r);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_devices),
		cmocka_unit_test(test_config_hooks),
		cmocka_unit_test(test_vm_config_json),
		cmocka_unit_test(test_unsupported_devices),
		cmocka_unit_test(test_robustness),
	};
	return cmocka_run_group_tests(tests, res_setup, res_teardown);
}
