/* VmResources network interfaces: PUT/PATCH bodies, MAC parsing, TAP name
 * and conflict rules with Firecracker's messages, the comms_socket
 * extension, replace order. */
#include "test_res_util.h"

#define NCE "Network config error: "
#define CREATE NCE "Could not create the network device: "
#define NET_FIELDS "one of `iface_id`, `host_dev_name`, `guest_mac`, `mtu`, `rx_rate_limiter`, " \
		   "`tx_rate_limiter`, `comms_socket`"
#define MAC_BAD DESER "The provided MAC address is invalid."
#define IFREQ(e, name) CREATE "Open tap device failed: Error while creating ifreq structure: " e \
		       ". Invalid TUN/TAP Backend provided by " name ". Check our documentation " \
		       "on setting up the network devices."

static int put_net(struct vm_resources *r, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int put_net(struct vm_resources *r, const char *id, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return put_id(res_put_net, r, id, buf);
}

static void test_net_valid(void **state)
{
	struct vm_resources r;
	res_init(&r);
	EXPECT(put_net(&r, "eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"), 0,
	       NULL);
	assert_int_equal(r.n_nets, 1);
	assert_string_equal(r.nets[0].id, "eth0");
	assert_string_equal(r.nets[0].host_dev_name, "tap0");
	assert_null(r.nets[0].comms_socket);
	assert_false(r.nets[0].has_mac);
	assert_int_equal(r.nets[0].mtu, 0);
	EXPECT(put_net(&r, "eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", "
		       "\"guest_mac\": \"06:00:AC:10:00:fF\", \"mtu\": 9000, \"rx_rate_limiter\": "
		       "{\"bandwidth\": {\"size\": 1, \"refill_time\": 2}}, \"tx_rate_limiter\": "
		       "{\"ops\": {\"size\": 3, \"one_time_burst\": 4, \"refill_time\": 5}}}"), 0, NULL);
	const struct res_net *n = &r.nets[1];
	static const uint8_t mac[] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0xff };
	assert_true(n->has_mac);
	assert_memory_equal(n->mac, mac, 6);
	assert_int_equal(n->mtu, 9000);
	assert_true(n->rx.bandwidth.set && !n->rx.ops.set);
	assert_true(n->tx.ops.set && n->tx.ops.one_time_burst == 4);
	EXPECT(put_net(&r, "e2", "{\"iface_id\": \"e2\", \"host_dev_name\": \"tap2\", \"guest_mac\": "
		       "null, \"mtu\": null, \"rx_rate_limiter\": null, \"tx_rate_limiter\": null, "
		       "\"comms_socket\": null}"), 0, NULL);
	assert_true(res_has_net(&r, "e2"));
	assert_false(res_has_net(&r, "e3"));
	assert_false(res_has_net(NULL, "e2"));
	res_free(&r);
	assert_int_equal(r.n_nets, 0);
	(void)state;
}

static void test_net_shape(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"x\": 1}",
		  "unknown field `x`, expected " NET_FIELDS "." },
		{ "{\"host_dev_name\": \"t\"}", "missing field `iface_id`." },
		{ "{\"iface_id\": \"e\"}", "missing field `host_dev_name`." },
		{ "{\"iface_id\": \"e\", \"host_dev_name\": null}",
		  "invalid type: null, expected a string." },
		{ "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": 65536}",
		  "invalid value: integer `65536`, expected u16." },
		{ "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": -1}",
		  "invalid value: integer `-1`, expected u16." },
		{ "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": 6}",
		  "invalid type: integer `6`, expected a string." },
		{ "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"rx_rate_limiter\": {\"ops\": 1}}",
		  "invalid type: integer `1`, expected struct TokenBucketConfig." },
		{ "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"comms_socket\": \"/s\"}",
		  "`host_dev_name` and `comms_socket` are mutually exclusive: give exactly one." },
		{ "true", "invalid type: boolean `true`, expected struct NetworkInterfaceConfig." },
	};
	static const char *const macs[] = {
		"", "06:00:00:00:00", "06:00:00:00:00:00:00", "06:00:00:00:00:0", "06:00:00:00:00:000",
		"06:00:00:00:00:0g", "06-00-00-00-00-00", "06:00:00:00:00:00 ", " 06:00:00:00:00:00",
		"+6:00:00:00:00:00", "0600:00:00:00:00:", "06:00:00:00:00:00:", "::::::",
	};
	char msg[512];
	struct vm_resources r;
	res_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), DESER "%s", bad[i][1]);
		EXPECT(put_net(&r, "e", "%s", bad[i][0]), -EINVAL, msg);
	}
	for (size_t i = 0; i < sizeof(macs) / sizeof(macs[0]); i++)
		EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": "
			       "\"%s\"}", macs[i]), -EINVAL, MAC_BAD);
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": "
		       "\"06:00:00:00:00\\u000000\"}"), -EINVAL, NULL);
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"f\", \"host_dev_name\": \"t\"}"), -EINVAL,
	       "The id from the path [e] does not match the id from the body [f]!");
	EXPECT(put_net(&r, "", "{\"iface_id\": \"\", \"host_dev_name\": \"t\"}"), -EINVAL,
	       "The ID cannot be empty.");
	assert_int_equal(r.n_nets, 0);
	res_free(&r);
	(void)state;
}

static void test_net_values(void **state)
{
	struct vm_resources r;
	res_init(&r);
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"0123456789abcdef\"}"),
	       -EINVAL, CREATE "Open tap device failed: Invalid interface name");
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"a/b\"}"), -EINVAL,
	       IFREQ("Invalid argument (os error 22)", "a/b"));
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"\"}"), -EINVAL,
	       IFREQ("Invalid argument (os error 22)", ""));
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"tap%%d\"}"), -EINVAL,
	       IFREQ("Invalid argument (os error 22)", "tap%d"));
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"a b\"}"), -EINVAL, NULL);
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"..\"}"), -EINVAL, NULL);
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": 67}"),
	       -EINVAL, CREATE "MTU 67 is out of range [68, 65535]");
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": 0}"),
	       -EINVAL, CREATE "MTU 0 is out of range [68, 65535]");
	assert_int_equal(r.n_nets, 0);
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"0123456789abcde\", "
		       "\"mtu\": 68}"), 0, NULL);
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": 65535}"),
	       0, NULL);
	assert_int_equal(r.nets[0].mtu, 65535);
	assert_int_equal(r.n_nets, 1);
	res_free(&r);
	(void)state;
}

static void test_net_conflicts(void **state)
{
	struct vm_resources r;
	res_init(&r);
	EXPECT(put_net(&r, "a", "{\"iface_id\": \"a\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
		       "\"06:00:00:00:00:01\"}"), 0, NULL);
	EXPECT(put_net(&r, "b", "{\"iface_id\": \"b\", \"host_dev_name\": \"tap1\", \"guest_mac\": "
		       "\"06:00:00:00:00:01\"}"), -EINVAL,
	       NCE "The MAC address is already in use: 06:00:00:00:00:01");
	EXPECT(put_net(&r, "b", "{\"iface_id\": \"b\", \"host_dev_name\": \"tap0\"}"), -EINVAL,
	       IFREQ("Device or resource busy (os error 16)", "tap0"));
	/* the MAC is judged before the TAP, as in Firecracker */
	EXPECT(put_net(&r, "b", "{\"iface_id\": \"b\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
		       "\"06:00:00:00:00:01\"}"), -EINVAL,
	       NCE "The MAC address is already in use: 06:00:00:00:00:01");
	assert_int_equal(r.n_nets, 1);
	/* the same interface may keep its own MAC and TAP when replaced */
	EXPECT(put_net(&r, "a", "{\"iface_id\": \"a\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
		       "\"06:00:00:00:00:01\", \"mtu\": 1500}"), 0, NULL);
	assert_int_equal(r.nets[0].mtu, 1500);
	EXPECT(put_net(&r, "b", "{\"iface_id\": \"b\", \"host_dev_name\": \"tap1\", \"guest_mac\": "
		       "\"06:00:00:00:00:02\"}"), 0, NULL);
	/* untouched on error */
	struct res_net before = r.nets[1];
	EXPECT(put_net(&r, "b", "{\"iface_id\": \"b\", \"host_dev_name\": \"tap0\"}"), -EINVAL, NULL);
	assert_memory_equal(&before, &r.nets[1], sizeof(before));
	res_free(&r);
	(void)state;
}

static void test_net_comms_socket(void **state)
{
	char longp[200];
	struct vm_resources r;
	res_init(&r);
	EXPECT(put_net(&r, "c", "{\"iface_id\": \"c\", \"comms_socket\": \"/run/sw.sock\"}"), 0, NULL);
	assert_null(r.nets[0].host_dev_name);
	assert_string_equal(r.nets[0].comms_socket, "/run/sw.sock");
	EXPECT(put_net(&r, "d", "{\"iface_id\": \"d\", \"host_dev_name\": null, \"comms_socket\": "
		       "\"/s\"}"), -EINVAL, DESER "invalid type: null, expected a string.");
	EXPECT(put_net(&r, "d", "{\"iface_id\": \"d\", \"comms_socket\": null}"), -EINVAL,
	       DESER "missing field `host_dev_name`.");
	EXPECT(put_net(&r, "d", "{\"iface_id\": \"d\", \"comms_socket\": \"\"}"), -EINVAL,
	       CREATE "comms_socket must be a non-empty path shorter than 108 bytes (sockaddr_un).");
	memset(longp, 'x', 108);
	longp[0] = '/';
	longp[108] = '\0';
	EXPECT(put_net(&r, "d", "{\"iface_id\": \"d\", \"comms_socket\": \"%s\"}", longp), -EINVAL,
	       NULL);
	longp[107] = '\0';
	EXPECT(put_net(&r, "d", "{\"iface_id\": \"d\", \"comms_socket\": \"%s\"}", longp), 0, NULL);
	/* two interfaces on the same peer are fine: each gets its own ring */
	EXPECT(put_net(&r, "e", "{\"iface_id\": \"e\", \"comms_socket\": \"/run/sw.sock\"}"), 0, NULL);
	/* a comms interface can turn into a TAP one and back */
	EXPECT(put_net(&r, "c", "{\"iface_id\": \"c\", \"host_dev_name\": \"tap9\"}"), 0, NULL);
	assert_int_equal(r.n_nets, 3);
	res_free(&r);
	(void)state;
}

static void expect_ids(const struct vm_resources *r, const char *ids)
{
	char got[128] = "";
	for (size_t i = 0; i < r->n_nets; i++) {
		strcat(got, r->nets[i].id);
		strcat(got, i + 1 < r->n_nets ? "," : "");
	}
	assert_string_equal(got, ids);
}

static void test_net_replace_order(void **state)
{
	struct vm_resources r;
	res_init(&r);
	const char *ids[] = { "a", "b", "c" };
	for (int i = 0; i < 3; i++)
		EXPECT(put_net(&r, ids[i], "{\"iface_id\": \"%s\", \"host_dev_name\": \"t%s\"}", ids[i],
			       ids[i]), 0, NULL);
	/* Firecracker swap_removes the old entry and appends the new one */
	EXPECT(put_net(&r, "a", "{\"iface_id\": \"a\", \"host_dev_name\": \"ta\"}"), 0, NULL);
	expect_ids(&r, "c,b,a");
	EXPECT(put_net(&r, "a", "{\"iface_id\": \"a\", \"host_dev_name\": \"ta\"}"), 0, NULL);
	expect_ids(&r, "c,b,a");
	res_free(&r);
	(void)state;
}

static void test_net_patch(void **state)
{
	struct vm_resources r;
	struct res_net_update u;
	res_init(&r);
	EXPECT(put_net(&r, "a", "{\"iface_id\": \"a\", \"host_dev_name\": \"ta\", \"rx_rate_limiter\": "
		       "{\"ops\": {\"size\": 1, \"refill_time\": 1}}}"), 0, NULL);
	json_t *j = J("{\"iface_id\": \"a\", \"rx_rate_limiter\": {\"ops\": {\"size\": 0, "
		      "\"refill_time\": 1}}, \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 8, "
		      "\"refill_time\": 9}}}");
	EXPECT(res_patch_net(&r, "a", j, &u, err, sizeof(err)), 0, NULL);
	assert_true(r.nets[0].rx.ops.set); /* not applied yet */
	assert_int_equal(u.rx.ops.op, RES_BUCKET_DISABLE);
	assert_int_equal(u.rx.bandwidth.op, RES_BUCKET_KEEP);
	assert_int_equal(u.tx.bandwidth.op, RES_BUCKET_SET);
	res_net_update_commit(&r, &u);
	assert_false(r.nets[0].rx.ops.set);
	assert_true(r.nets[0].tx.bandwidth.set);
	assert_int_equal(r.nets[0].tx.bandwidth.size, 8);
	EXPECT(res_patch_net(&r, "b", j, &u, err, sizeof(err)), -EINVAL,
	       "The id from the path [b] does not match the id from the body [a]!");
	json_decref(j);
	j = J("{\"iface_id\": \"b\"}");
	EXPECT(res_patch_net(&r, "b", j, &u, err, sizeof(err)), -EINVAL,
	       NCE "Unable to update the net device: Failed perform action on device: Device not "
	       "found");
	json_decref(j);
	j = J("{\"iface_id\": \"a\", \"host_dev_name\": \"x\"}");
	EXPECT(res_patch_net(&r, "a", j, &u, err, sizeof(err)), -EINVAL,
	       DESER "unknown field `host_dev_name`, expected one of `iface_id`, "
	       "`rx_rate_limiter`, `tx_rate_limiter`.");
	json_decref(j);
	j = J("{\"iface_id\": \"a\"}");
	EXPECT(res_patch_net(&r, "a", j, &u, err, sizeof(err)), 0, NULL);
	EXPECT(res_patch_net(&r, "a", j, NULL, err, sizeof(err)), -EINVAL, NULL);
	EXPECT(res_patch_net(&r, "a-", j, &u, err, sizeof(err)), -EINVAL, NULL);
	json_decref(j);
	res_free(&r);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_valid),
		cmocka_unit_test(test_net_shape),
		cmocka_unit_test(test_net_values),
		cmocka_unit_test(test_net_conflicts),
		cmocka_unit_test(test_net_comms_socket),
		cmocka_unit_test(test_net_replace_order),
		cmocka_unit_test(test_net_patch),
	};
	return cmocka_run_group_tests(tests, res_setup, res_teardown);
}
