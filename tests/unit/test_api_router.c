/* api_route: every swagger path x method, every other method refused, ids. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ember/api_router.h"

static char err[RPC_FAULT_LEN];
static struct api_route rt;

/* The swagger's paths and methods (firecracker-swagger.yaml), ids as "x1". */
static const struct {
	const char *path;
	enum rpc_route route;
	const char *methods; /* space-separated */
	const char *id;
} swagger[] = {
	{ "/", ROUTE_ROOT, "GET", "" },
	{ "/actions", ROUTE_ACTIONS, "PUT", "" },
	{ "/balloon", ROUTE_BALLOON, "GET PUT PATCH", "" },
	{ "/balloon/statistics", ROUTE_BALLOON_STATS, "GET PATCH", "" },
	{ "/balloon/hinting/start", ROUTE_BALLOON_HINT_START, "PATCH", "" },
	{ "/balloon/hinting/status", ROUTE_BALLOON_HINT_STATUS, "GET", "" },
	{ "/balloon/hinting/stop", ROUTE_BALLOON_HINT_STOP, "PATCH", "" },
	{ "/boot-source", ROUTE_BOOT_SOURCE, "PUT", "" },
	{ "/cpu-config", ROUTE_CPU_CONFIG, "PUT", "" },
	{ "/drives/x1", ROUTE_DRIVES, "PUT PATCH", "x1" },
	{ "/pmem/x1", ROUTE_PMEM, "PUT PATCH", "x1" },
	{ "/logger", ROUTE_LOGGER, "PUT", "" },
	{ "/machine-config", ROUTE_MACHINE_CONFIG, "GET PUT PATCH", "" },
	{ "/metrics", ROUTE_METRICS, "PUT", "" },
	{ "/mmds", ROUTE_MMDS, "GET PUT PATCH", "" },
	{ "/mmds/config", ROUTE_MMDS_CONFIG, "PUT", "" },
	{ "/entropy", ROUTE_ENTROPY, "PUT", "" },
	{ "/serial", ROUTE_SERIAL, "PUT", "" },
	{ "/hotplug/memory", ROUTE_HOTPLUG_MEMORY, "GET PUT PATCH", "" },
	{ "/network-interfaces/x1", ROUTE_NETWORK, "PUT PATCH", "x1" },
	{ "/snapshot/create", ROUTE_SNAPSHOT_CREATE, "PUT", "" },
	{ "/snapshot/load", ROUTE_SNAPSHOT_LOAD, "PUT", "" },
	{ "/version", ROUTE_VERSION, "GET", "" },
	{ "/vm", ROUTE_VM, "PATCH", "" },
	{ "/vm/config", ROUTE_VM_CONFIG, "GET", "" },
	{ "/vsock", ROUTE_VSOCK, "PUT", "" },
};
#define NSWAGGER (sizeof(swagger) / sizeof(swagger[0]))

static const char *const all_methods[] = { "GET", "PUT", "PATCH", "DELETE", "POST", "HEAD",
					   "OPTIONS", "get", "Put", "" };

static bool listed(const char *methods, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = methods; *p; p += strcspn(p, " "), p += *p == ' ') {
		if (n && strncmp(p, m, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
	}
	return false;
}

static void expect_bad_path(const char *method, const char *target)
{
	char want[RPC_FAULT_LEN];

	snprintf(want, sizeof(want), "Invalid request method and/or path: %s %s.", method, target);
	memset(err, 0, sizeof(err));
	assert_int_equal(api_route(method, target, &rt, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
}

static void expect_route(const char *method, const char *target, enum rpc_route r,
			 const char *id)
{
	memset(&rt, 0xa5, sizeof(rt));
	if (api_route(method, target, &rt, err, sizeof(err)))
		fail_msg("%s %s: %s", method, target, err);
	assert_int_equal(rt.route, r);
	assert_string_equal(api_method_name(rt.method), method);
	assert_string_equal(rt.id, id);
}

static void test_every_swagger_route(void **state)
{
	for (size_t i = 0; i < NSWAGGER; i++) {
		for (size_t m = 0; m < sizeof(all_methods) / sizeof(all_methods[0]); m++) {
			const char *meth = all_methods[m];
			if (listed(swagger[i].methods, meth))
				expect_route(meth, swagger[i].path, swagger[i].route, swagger[i].id);
			else
				expect_bad_path(meth, swagger[i].path);
		}
	}
}

/* Firecracker trims leading slashes and one trailing slash. */
static void test_slashes(void **state)
{
	expect_route("GET", "/machine-config/", ROUTE_MACHINE_CONFIG, "");
	expect_route("GET", "//machine-config", ROUTE_MACHINE_CONFIG, "");
	expect_route("GET", "//", ROUTE_ROOT, "");
	expect_route("PATCH", "/balloon/hinting/stop/", ROUTE_BALLOON_HINT_STOP, "");
	expect_route("PUT", "/drives/rootfs/", ROUTE_DRIVES, "rootfs");
	expect_route("GET", "http://localhost/vm/config", ROUTE_VM_CONFIG, "");
	expect_route("GET", "http://localhost/", ROUTE_ROOT, "");
	expect_bad_path("GET", "/machine-config//");
	expect_bad_path("GET", "/balloon//statistics");
	expect_bad_path("GET", "http://localhost");
	expect_bad_path("GET", "machine-config");
	expect_bad_path("GET", "*");
	expect_bad_path("GET", "");
}

static void test_unknown_paths(void **state)
{
	static const char *const bad[] = {
		"/machine-config/extra", "/machine-configx", "/Machine-Config", "/balloon/hinting",
		"/balloon/hinting/", "/balloon/hinting/x", "/balloon/stats", "/snapshot",
		"/snapshot/", "/snapshot/delete", "/mmds/x", "/vm/x", "/hotplug", "/hotplug/cpu",
		"/actions/x", "/version/1", "/drive/x", "/networkinterfaces/x", "/foo",
		"/%2e%2e/machine-config", "/../machine-config", "/./version",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t m = 0; m < 3; m++)
			expect_bad_path(all_methods[m], bad[i]);
}

/* The target is routed raw: a query string is part of the path, as in
 * Firecracker, so it is consistently refused. */
static void test_query_refused(void **state)
{
	expect_bad_path("GET", "/machine-config?x=1");
	expect_bad_path("GET", "/?");
	expect_bad_path("GET", "/vm/config#frag");
	assert_int_equal(api_route("PUT", "/drives/a?x=1", &rt, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "API Resource IDs can only contain alphanumeric characters "
				 "and underscores.");
}

static void expect_bad_id(const char *prefix, const char *id, const char *msg)
{
	char target[512];

	snprintf(target, sizeof(target), "%s%s", prefix, id);
	memset(err, 0, sizeof(err));
	if (api_route("PUT", target, &rt, err, sizeof(err)) != -EINVAL)
		fail_msg("PUT %s was accepted", target);
	assert_string_equal(err, msg);
	if (api_route("PATCH", target, &rt, err, sizeof(err)) != -EINVAL)
		fail_msg("PATCH %s was accepted", target);
	assert_string_equal(err, msg);
}

static void test_ids(void **state)
{
	static const char *const prefixes[] = { "/drives/", "/pmem/", "/network-interfaces/" };
	static const enum rpc_route routes[] = { ROUTE_DRIVES, ROUTE_PMEM, ROUTE_NETWORK };
	static const char *const bad[] = {
		"../x", "a/b", "..", ".", "%2e%2e", "%2E%2e%2fx", "a-b", "a.b", "a b", "a%20b",
		"\xc3\xa9t\xc3\xa9", "\xe2\x82\xac", "a\tb", "a\\b", "a:b", "/x", "x//",
	};
	const char *chars = "API Resource IDs can only contain alphanumeric characters and "
			    "underscores.";
	char id64[65], id65[66];

	memset(id64, 'a', 64);
	id64[64] = '\0';
	memset(id65, 'Z', 65);
	id65[65] = '\0';
	for (size_t p = 0; p < 3; p++) {
		char ok[128];
		snprintf(ok, sizeof(ok), "%s%s", prefixes[p], "Root_fs9");
		expect_route("PATCH", ok, routes[p], "Root_fs9");
		snprintf(ok, sizeof(ok), "%s%s", prefixes[p], id64);
		expect_route("PUT", ok, routes[p], id64);
		snprintf(ok, sizeof(ok), "%s%s", prefixes[p], "_");
		expect_route("PUT", ok, routes[p], "_");
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			expect_bad_id(prefixes[p], bad[i], chars);
		expect_bad_id(prefixes[p], id65, "API Resource IDs can be at most 64 characters long.");
		expect_bad_id(prefixes[p], "", "The ID cannot be empty.");
		expect_bad_id(prefixes[p], "/", "The ID cannot be empty.");
		/* "/drives" without the slash: the id is missing, as in Firecracker */
		char bare[64];
		snprintf(bare, sizeof(bare), "%.*s", (int)strlen(prefixes[p]) - 1, prefixes[p]);
		expect_bad_id(bare, "", "The ID cannot be empty.");
	}
}

static void test_optional_bodies(void **state)
{
	for (int r = 0; r < ROUTE__COUNT; r++) {
		for (int m = RPC_GET; m <= RPC_PATCH; m++) {
			bool opt = m == RPC_PATCH && (r == ROUTE_BALLOON_HINT_START ||
						      r == ROUTE_BALLOON_HINT_STOP);
			assert_int_equal(api_body_optional(r, m), opt);
			assert_int_equal(api_body_ignored(r, m),
					 m == RPC_PATCH && r == ROUTE_BALLOON_HINT_STOP);
		}
	}
}

/* A long target is truncated in the message, never overflowing. */
static void test_long_target(void **state)
{
	char target[4096], small[32];

	memset(target, 'a', sizeof(target) - 1);
	target[0] = '/';
	target[sizeof(target) - 1] = '\0';
	assert_int_equal(api_route("GET", target, &rt, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(api_route("GET", "/nope", &rt, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "Invalid request method and/or p");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_swagger_route),
		cmocka_unit_test(test_slashes),
		cmocka_unit_test(test_unknown_paths),
		cmocka_unit_test(test_query_refused),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_optional_bodies),
		cmocka_unit_test(test_long_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
