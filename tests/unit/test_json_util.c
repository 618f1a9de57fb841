/* jx_*: serde-compatible strict checking of JSON objects. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "ember/json_util.h"

static char err[512];

static const char *const colors[] = { "Red", "Green", "2M", NULL };

static const struct jx_field inner_fields[] = {
	{ .name = "size", .kind = JX_U64, .flags = JX_REQ },
	{ .name = "refill_time", .kind = JX_U64, .flags = JX_REQ },
};
static const struct jx_struct inner = { "TokenBucket", inner_fields, JX_NFIELDS(inner_fields) };

static const struct jx_field all_fields[] = {
	{ .name = "id", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "flag", .kind = JX_BOOL },
	{ .name = "u8", .kind = JX_U8 },
	{ .name = "u16", .kind = JX_U16 },
	{ .name = "u32", .kind = JX_U32 },
	{ .name = "u64", .kind = JX_U64, .flags = JX_NULL },
	{ .name = "i32", .kind = JX_I32 },
	{ .name = "i64", .kind = JX_I64 },
	{ .name = "color", .kind = JX_ENUM, .flags = JX_NULL, .variants = colors },
	{ .name = "bucket", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &inner },
	{ .name = "buckets", .kind = JX_SEQ, .sub = &inner },
	{ .name = "names", .kind = JX_SEQ, .elem = JX_STR },
	{ .name = "any", .kind = JX_ANY },
	{ .name = "raw", .kind = JX_STR, .flags = JX_NUL_OK },
};
static const struct jx_struct all = { "Thing", all_fields, JX_NFIELDS(all_fields) };

/* Check `body` against `all` and compare the message ("" = must pass). */
static void expect(const char *body, const char *msg)
{
	json_t *j = jparse(body);
	memset(err, 'X', sizeof(err));
	int rc = jx_check(j, &all, err, sizeof(err));
	json_decref(j);
	if (!*msg) {
		if (rc)
			fail_msg("%s: unexpected error: %s", body, err);
		return;
	}
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, msg);
}

static void test_describe(void **state)
{
	static const struct { const char *json, *want; } t[] = {
		{ "null", "null" },
		{ "true", "boolean `true`" },
		{ "false", "boolean `false`" },
		{ "5", "integer `5`" },
		{ "-9223372036854775808", "integer `-9223372036854775808`" },
		{ "2.5", "floating point `2.5`" },
		{ "2.0", "floating point `2.0`" },
		{ "0.1", "floating point `0.1`" },
		{ "-3.0", "floating point `-3.0`" },
		{ "1e20", "floating point `1e20`" },
		{ "1e-7", "floating point `1e-7`" },
		{ "\"x\"", "string \"x\"" },
		{ "\"a\\\"b\\\\c\\n\\t\\u0001\"", "string \"a\\\"b\\\\c\\n\\t\\u{1}\"" },
		{ "\"caf\\u00e9\"", "string \"caf\xc3\xa9\"" },
		{ "[1]", "sequence" },
		{ "{}", "map" },
	};
	char buf[128];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *j = jparse(t[i].json);
		jx_describe(j, buf, sizeof(buf));
		assert_string_equal(buf, t[i].want);
		json_decref(j);
	}
	jx_describe(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "null");
	json_t *j = jparse("\"abcdefgh\"");
	jx_describe(j, buf, 6); /* truncates, never overflows */
	assert_string_equal(buf, "strin");
	jx_describe(j, NULL, 0);
	json_decref(j);
	(void)state;
}

static void test_types(void **state)
{
	expect("{\"id\": \"a\"}", "");
	expect("{\"id\": 5}", "invalid type: integer `5`, expected a string");
	expect("{\"id\": null}", "invalid type: null, expected a string");
	expect("{\"id\": \"a\", \"flag\": 1}", "invalid type: integer `1`, expected a boolean");
	expect("{\"id\": \"a\", \"flag\": \"true\"}", "invalid type: string \"true\", expected a boolean");
	expect("{\"id\": \"a\", \"flag\": null}", "invalid type: null, expected a boolean");
	expect("{\"id\": \"a\", \"u8\": true}", "invalid type: boolean `true`, expected u8");
	expect("{\"id\": \"a\", \"u8\": 1.5}", "invalid type: floating point `1.5`, expected u8");
	expect("{\"id\": \"a\", \"u8\": [1]}", "invalid type: sequence, expected u8");
	expect("{\"id\": \"a\", \"u8\": {}}", "invalid type: map, expected u8");
	expect("{\"id\": \"a\", \"u64\": null}", "");
	expect("{\"id\": \"a\", \"any\": [{}, null]}", "");
	expect("{}", "missing field `id`");
	(void)state;
}

static void test_ranges(void **state)
{
	expect("{\"id\": \"a\", \"u8\": 255, \"u16\": 65535, \"u32\": 4294967295}", "");
	expect("{\"id\": \"a\", \"u8\": 256}", "invalid value: integer `256`, expected u8");
	expect("{\"id\": \"a\", \"u8\": -1}", "invalid value: integer `-1`, expected u8");
	expect("{\"id\": \"a\", \"u16\": 65536}", "invalid value: integer `65536`, expected u16");
	expect("{\"id\": \"a\", \"u32\": 4294967296}",
	       "invalid value: integer `4294967296`, expected u32");
	expect("{\"id\": \"a\", \"u64\": 9223372036854775807}", "");
	expect("{\"id\": \"a\", \"u64\": -5}", "invalid value: integer `-5`, expected u64");
	expect("{\"id\": \"a\", \"i32\": -2147483648, \"i64\": -1}", "");
	expect("{\"id\": \"a\", \"i32\": 2147483648}",
	       "invalid value: integer `2147483648`, expected i32");
	expect("{\"id\": \"a\", \"i64\": 1e3}", "invalid type: floating point `1000.0`, expected i64");
	(void)state;
}

static void test_unknown_and_order(void **state)
{
	expect("{\"id\": \"a\", \"nope\": 1}",
	       "unknown field `nope`, expected one of `id`, `flag`, `u8`, `u16`, `u32`, `u64`, "
	       "`i32`, `i64`, `color`, `bucket`, `buckets`, `names`, `any`, `raw`");
	/* document order decides which error wins; missing fields come last */
	expect("{\"nope\": 1, \"u8\": 300}", "unknown field `nope`, expected one of `id`, `flag`, "
	       "`u8`, `u16`, `u32`, `u64`, `i32`, `i64`, `color`, `bucket`, `buckets`, `names`, "
	       "`any`, `raw`");
	expect("{\"u8\": 300, \"nope\": 1}", "invalid value: integer `300`, expected u8");
	expect("{\"u8\": 3}", "missing field `id`");
	/* a key with an embedded NUL is not a known field, and is printed escaped */
	json_t *j = jparse("{\"id\": \"a\"}");
	json_object_setn_new(j, "id\0x", 4, json_true());
	assert_int_equal(jx_check(j, &all, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown field `id\\0x`"));
	json_decref(j);
	(void)state;
}

static void test_enum_struct_seq(void **state)
{
	expect("{\"id\": \"a\", \"color\": \"2M\"}", "");
	expect("{\"id\": \"a\", \"color\": null}", "");
	expect("{\"id\": \"a\", \"color\": \"red\"}",
	       "unknown variant `red`, expected one of `Red`, `Green`, `2M`");
	expect("{\"id\": \"a\", \"color\": 2}",
	       "invalid type: integer `2`, expected one of `Red`, `Green`, `2M`");
	expect("{\"id\": \"a\", \"color\": \"Red\\u0000\"}",
	       "unknown variant `Red\\0`, expected one of `Red`, `Green`, `2M`");
	expect("{\"id\": \"a\", \"bucket\": {\"size\": 1, \"refill_time\": 2}}", "");
	expect("{\"id\": \"a\", \"bucket\": {\"size\": 1}}", "missing field `refill_time`");
	expect("{\"id\": \"a\", \"bucket\": {\"size\": 1, \"x\": 2}}",
	       "unknown field `x`, expected `size` or `refill_time`");
	expect("{\"id\": \"a\", \"bucket\": 3}", "invalid type: integer `3`, expected struct TokenBucket");
	expect("{\"id\": \"a\", \"buckets\": [{\"size\": 1, \"refill_time\": 2}, {\"size\": -1}]}",
	       "invalid value: integer `-1`, expected u64");
	expect("{\"id\": \"a\", \"buckets\": {}}", "invalid type: map, expected a sequence");
	expect("{\"id\": \"a\", \"names\": [\"x\", \"y\"]}", "");
	expect("{\"id\": \"a\", \"names\": [\"x\", 1]}", "invalid type: integer `1`, expected a string");
	(void)state;
}

static void test_nul_strings(void **state)
{
	expect("{\"id\": \"a\\u0000b\"}",
	       "invalid value: string \"a\\0b\", expected a string without NUL characters");
	expect("{\"id\": \"a\", \"raw\": \"a\\u0000b\"}", "");
	(void)state;
}

static void test_small_struct_messages(void **state)
{
	static const struct jx_field one[] = { { .name = "only", .kind = JX_BOOL } };
	static const struct jx_struct s1 = { "One", one, 1 }, s0 = { "Zero", NULL, 0 };
	json_t *j = jparse("{\"x\": 1}");
	assert_int_equal(jx_check(j, &s1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown field `x`, expected `only`");
	assert_int_equal(jx_check(j, &s0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown field `x`, there are no fields");
	assert_int_equal(jx_check(NULL, &s1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "invalid type: null, expected struct One");
	assert_int_equal(jx_check(j, &s1, NULL, 0), -EINVAL); /* no buffer: still safe */
	char tiny[8];
	assert_int_equal(jx_check(j, &s1, tiny, sizeof(tiny)), -EINVAL);
	assert_string_equal(tiny, "unknown");
	json_decref(j);
	(void)state;
}

static void test_getters(void **state)
{
	json_t *j = jparse("{\"s\": \"v\", \"n\": null, \"b\": true, \"u\": 7, \"i\": -7, "
			   "\"e\": \"Green\", \"z\": \"Red\\u0000x\"}");
	assert_string_equal(jx_get_str(j, "s", "d"), "v");
	assert_string_equal(jx_get_str(j, "n", "d"), "d");
	assert_string_equal(jx_get_str(j, "missing", "d"), "d");
	assert_null(jx_get(j, "n"));
	assert_false(jx_has(j, "n"));
	assert_true(jx_has(j, "s"));
	assert_true(jx_get_bool(j, "b", false));
	assert_false(jx_get_bool(j, "n", false));
	assert_int_equal(jx_get_uint(j, "u", 1), 7);
	assert_int_equal(jx_get_uint(j, "i", 1), 1);
	assert_int_equal(jx_get_int(j, "i", 1), -7);
	assert_int_equal(jx_get_enum(j, "e", colors, -1), 1);
	assert_int_equal(jx_get_enum(j, "z", colors, -1), -1);
	assert_int_equal(jx_get_enum(j, "s", colors, -1), -1);
	assert_null(jx_get(NULL, "s"));
	json_decref(j);
	(void)state;
}

static void test_err_and_wrap(void **state)
{
	char buf[32];
	assert_int_equal(jx_err(NULL, 0, "x %d", 1), -EINVAL);
	assert_int_equal(jx_err(buf, sizeof(buf), "n=%d", 5), -EINVAL);
	assert_string_equal(buf, "n=5");
	jx_wrap(buf, sizeof(buf), "pre: ", ".");
	assert_string_equal(buf, "pre: n=5.");
	strcpy(buf, "0123456789");
	jx_wrap(buf, 16, "abcdefgh", "!!!");
	assert_string_equal(buf, "abcdefgh0123456");
	strcpy(buf, "msg");
	jx_wrap(buf, 4, "long prefix", "");
	assert_string_equal(buf, "lon");
	jx_wrap(NULL, 0, "p", "s");
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_unknown_and_order),
		cmocka_unit_test(test_enum_struct_seq),
		cmocka_unit_test(test_nul_strings),
		cmocka_unit_test(test_small_struct_messages),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_err_and_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
