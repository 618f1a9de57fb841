/* MMDS: the data store (PUT/PATCH/GET, RFC 7396 merge patch, size limit,
 * key order, runtime rules) and PUT /mmds/config validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "ember/mmds.h"

#define DESER "An error occurred when deserializing the json body of a request: "
#define NOT_INIT "MMDS error: The MMDS data store is not initialized."
#define TOO_BIG "MMDS limit exceeded error: The MMDS patch request doesn't fit."
#define CFG "MMMDS config error: "
#define NOT_LL CFG "The MMDS IPv4 address is not link local."
#define BAD_ID CFG "The list of network interface IDs provided contains at least one ID that " \
		   "does not correspond to any existing network interface."

static char err[512];

static int put(const char *s)
{
	json_t *j = jparse(s);
	memset(err, 0, sizeof(err));
	int rc = mmds_put(j, err, sizeof(err));
	json_decref(j);
	return rc;
}

static int patch(const char *s)
{
	json_t *j = jparse(s);
	memset(err, 0, sizeof(err));
	int rc = mmds_patch(j, err, sizeof(err));
	json_decref(j);
	return rc;
}

/* The store serialized compactly, keys in stored order. */
static void expect_store(const char *want)
{
	char *got = json_dumps(mmds_data(), JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_rfc7396_appendix_a(void **state)
{
	/* Every example of RFC 7396 Appendix A: original, patch, result. */
	static const char *const cases[][3] = {
		{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
		{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
		{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
		{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
		{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
		{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
		{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
		{ "{\"a\":\"foo\"}", "null", "null" },
		{ "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
		{ "{\"e\":null}", "{\"a\":1}", "{\"a\":1,\"e\":null}" },
		{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
		{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mmds_reset();
		assert_int_equal(put(cases[i][0]), 0);
		if (patch(cases[i][1]))
			fail_msg("case %zu: %s", i, err);
		expect_store(cases[i][2]);
	}
	(void)state;
}

static void test_rfc7396_section3_example(void **state)
{
	mmds_reset();
	assert_int_equal(put("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\","
			     "\"familyName\":\"Doe\"},\"tags\":[\"example\",\"sample\"],"
			     "\"content\":\"This will be unchanged\"}"), 0);
	assert_int_equal(patch("{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
			       "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}"), 0);
	/* Keys in byte order, as Firecracker's serde_json maps. */
	expect_store("{\"author\":{\"givenName\":\"John\"},\"content\":\"This will be "
		     "unchanged\",\"phoneNumber\":\"+01-123-456-7890\",\"tags\":[\"example\"],"
		     "\"title\":\"Hello!\"}");
	(void)state;
}

static void test_get_put_any_value(void **state)
{
	mmds_reset();
	json_t *g = mmds_get(err, sizeof(err));
	assert_true(json_is_object(g) && json_object_size(g) == 0); /* {} when empty */
	json_decref(g);
	/* Firecracker's PUT takes any JSON value, whatever the swagger says. */
	static const char *const bodies[] = { "5", "\"text\"", "[1,{\"b\":2,\"a\":1}]", "true" };
	static const char *const stored[] = { "5", "\"text\"", "[1,{\"a\":1,\"b\":2}]", "true" };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(put(bodies[i]), 0);
		expect_store(stored[i]);
		g = mmds_get(err, sizeof(err));
		char *s = json_dumps(g, JSON_COMPACT | JSON_ENCODE_ANY);
		assert_string_equal(s, stored[i]);
		free(s);
		json_decref(g);
	}
	assert_int_equal(put("null"), 0);
	g = mmds_get(err, sizeof(err));
	assert_true(json_is_object(g) && json_object_size(g) == 0); /* null reads as {} */
	json_decref(g);
	/* The copy is the caller's: changing it leaves the store alone. */
	assert_int_equal(put("{\"k\":\"v\"}"), 0);
	g = mmds_get(err, sizeof(err));
	json_object_set_new(g, "k", json_string("changed"));
	json_decref(g);
	expect_store("{\"k\":\"v\"}");
	assert_int_equal(mmds_put(NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Empty PUT request.");
	assert_int_equal(mmds_patch(NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Empty PATCH request.");
	(void)state;
}

static void test_patch_needs_put(void **state)
{
	mmds_reset();
	assert_int_equal(patch("{\"a\":1}"), -EINVAL);
	assert_string_equal(err, NOT_INIT);
	assert_null(mmds_data());
	assert_int_equal(put("{}"), 0);
	assert_int_equal(patch("{\"a\":1}"), 0);
	expect_store("{\"a\":1}");
	(void)state;
}

static void test_size_limit(void **state)
{
	mmds_reset();
	mmds_set_limit(20);
	assert_int_equal(put("{\"a\":\"012345678901\"}"), 0); /* exactly 20 bytes */
	assert_int_equal(put("{\"a\":\"0123456789012\"}"), -EFBIG);
	assert_string_equal(err, TOO_BIG);
	expect_store("{\"a\":\"012345678901\"}");
	assert_int_equal(patch("{\"b\":1}"), -EFBIG);
	assert_string_equal(err, TOO_BIG);
	expect_store("{\"a\":\"012345678901\"}");
	assert_int_equal(patch("{\"a\":null,\"b\":1}"), 0); /* shrinking fits */
	expect_store("{\"b\":1}");

	mmds_reset(); /* default: the API payload limit, 51200 */
	char *big = malloc(MMDS_DEFAULT_LIMIT + 16);
	memset(big, 'x', MMDS_DEFAULT_LIMIT);
	big[0] = '"';
	big[MMDS_DEFAULT_LIMIT - 1] = '"';
	big[MMDS_DEFAULT_LIMIT] = 0;
	assert_int_equal(put(big), 0);
	big[MMDS_DEFAULT_LIMIT - 1] = 'x';
	big[MMDS_DEFAULT_LIMIT] = '"';
	big[MMDS_DEFAULT_LIMIT + 1] = 0;
	assert_int_equal(put(big), -EFBIG);
	free(big);
	(void)state;
}

/* jansson's parser refuses NUL in keys, but a tree built in code may have
 * them: keys compare by their full length. */
static void test_keys_with_nul(void **state)
{
	json_t *j = json_object();
	json_object_setn_new(j, "a\0b", 3, json_integer(1));
	json_object_set_new(j, "a", json_integer(2));
	mmds_reset();
	assert_int_equal(mmds_put(j, err, sizeof(err)), 0);
	json_decref(j);
	expect_store("{\"a\":2,\"a\\u0000b\":1}");
	j = json_object();
	json_object_setn_new(j, "a\0b", 3, json_null());
	assert_int_equal(mmds_patch(j, err, sizeof(err)), 0);
	json_decref(j);
	expect_store("{\"a\":2}");
	(void)state;
}

static void test_runtime_rules(void **state)
{
	mmds_reset();
	mmds_seal(); /* booted without ever touching MMDS: there is no store */
	assert_null(mmds_get(err, sizeof(err)));
	assert_string_equal(err, NOT_INIT);
	assert_int_equal(put("{}"), -EINVAL);
	assert_string_equal(err, NOT_INIT);
	assert_int_equal(patch("{}"), -EINVAL);

	mmds_reset();
	json_t *g = mmds_get(err, sizeof(err)); /* a pre-boot GET creates it */
	json_decref(g);
	mmds_seal();
	assert_int_equal(put("{\"x\":1}"), 0);
	assert_int_equal(patch("{\"y\":2}"), 0);
	expect_store("{\"x\":1,\"y\":2}");
	(void)state;
}

static bool ifaces(void *ctx, const char *id)
{
	(void)ctx;
	return !strcmp(id, "eth0") || !strcmp(id, "eth1");
}

static int cfg(const char *s)
{
	json_t *j = jparse(s);
	memset(err, 0, sizeof(err));
	int rc = mmds_cfg_apply(j, ifaces, NULL, err, sizeof(err));
	json_decref(j);
	return rc;
}

static void expect_cfg_json(const char *want)
{
	json_t *j = mmds_cfg_json();
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_string_equal(s, want);
	free(s);
	json_decref(j);
}

static void test_cfg_valid(void **state)
{
	mmds_reset();
	assert_null(mmds_cfg_get());
	expect_cfg_json("null");
	assert_int_equal(cfg("{\"network_interfaces\":[\"eth0\"]}"), 0);
	const struct mmds_cfg *c = mmds_cfg_get();
	assert_non_null(c);
	assert_int_equal(c->version, MMDS_V1);
	assert_int_equal(c->ipv4, MMDS_DEFAULT_IPV4);
	expect_cfg_json("{\"version\":\"V1\",\"network_interfaces\":[\"eth0\"],"
			"\"ipv4_address\":\"169.254.169.254\",\"imds_compat\":false}");
	assert_int_equal(cfg("{\"version\":\"V2\",\"network_interfaces\":[\"eth1\",\"eth0\","
			     "\"eth1\"],\"ipv4_address\":\"169.254.1.0\",\"imds_compat\":true}"), 0);
	expect_cfg_json("{\"version\":\"V2\",\"network_interfaces\":[\"eth1\",\"eth0\"],"
			"\"ipv4_address\":\"169.254.1.0\",\"imds_compat\":true}");
	assert_int_equal(cfg("{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":"
			     "\"169.254.254.255\"}"), 0);
	assert_int_equal(cfg("{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":null}"), 0);
	/* The configuration creates the store: it survives boot. */
	mmds_seal();
	json_t *g = mmds_get(err, sizeof(err));
	assert_non_null(g);
	json_decref(g);
	(void)state;
}

static void test_cfg_errors(void **state)
{
	static const char *const cases[][2] = {
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"169.254.0.1\"}", NOT_LL },
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"169.254.255.9\"}", NOT_LL },
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"10.0.0.1\"}", NOT_LL },
		{ "{\"network_interfaces\":[\"eth9\"],\"ipv4_address\":\"169.253.1.1\"}", NOT_LL },
		{ "{\"network_interfaces\":[],\"ipv4_address\":\"10.0.0.1\"}", NOT_LL },
		{ "{\"network_interfaces\":[]}", CFG "The list of network interface IDs that allow "
		  "forwarding MMDS requests is empty." },
		{ "{\"network_interfaces\":[\"eth0\",\"eth9\"]}", BAD_ID },
		{ "{\"ipv4_address\":\"169.254.01.1\",\"network_interfaces\":[\"eth0\"]}",
		  DESER "invalid IPv4 address syntax." },
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"169.254.1\"}",
		  DESER "invalid IPv4 address syntax." },
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"169.254.1.256\"}",
		  DESER "invalid IPv4 address syntax." },
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"169.254.1.1 \"}",
		  DESER "invalid IPv4 address syntax." },
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":\"+169.254.1.1\"}",
		  DESER "invalid IPv4 address syntax." },
		{ "{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":5}",
		  DESER "invalid type: integer `5`, expected IPv4 address." },
		{ "{}", DESER "missing field `network_interfaces`." },
		{ "{\"network_interfaces\":\"eth0\"}",
		  DESER "invalid type: string \"eth0\", expected a sequence." },
		{ "{\"network_interfaces\":[1]}", DESER "invalid type: integer `1`, expected a string." },
		{ "{\"network_interfaces\":[\"eth0\"],\"version\":\"V3\"}",
		  DESER "unknown variant `V3`, expected `V1` or `V2`." },
		{ "{\"network_interfaces\":[\"eth0\"],\"port\":80}",
		  DESER "unknown field `port`, expected one of `version`, `network_interfaces`, "
		  "`ipv4_address`, `imds_compat`." },
		{ "[]", DESER "invalid type: sequence, expected struct MmdsConfig." },
	};
	mmds_reset();
	assert_int_equal(cfg("{\"version\":\"V2\",\"network_interfaces\":[\"eth1\"]}"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cfg(cases[i][0]) != -EINVAL)
			fail_msg("accepted: %s", cases[i][0]);
		assert_string_equal(err, cases[i][1]);
	}
	/* Nothing changed. */
	expect_cfg_json("{\"version\":\"V2\",\"network_interfaces\":[\"eth1\"],"
			"\"ipv4_address\":\"169.254.169.254\",\"imds_compat\":false}");
	/* Without a way to look interfaces up, none exists. */
	json_t *j = jparse("{\"network_interfaces\":[\"eth0\"]}");
	assert_int_equal(mmds_cfg_apply(j, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, BAD_ID);
	json_decref(j);
	j = jparse("{\"network_interfaces\":[\"eth0\"],\"ipv4_address\":true}");
	assert_int_equal(mmds_cfg_check(j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "invalid type: boolean `true`, expected IPv4 address");
	json_decref(j);
	mmds_reset();
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7396_appendix_a),
		cmocka_unit_test(test_rfc7396_section3_example),
		cmocka_unit_test(test_get_put_any_value),
		cmocka_unit_test(test_patch_needs_put),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_keys_with_nul),
		cmocka_unit_test(test_runtime_rules),
		cmocka_unit_test(test_cfg_valid),
		cmocka_unit_test(test_cfg_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
