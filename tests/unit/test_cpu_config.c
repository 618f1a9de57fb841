/* Custom CPU templates: parsing (numbers, bitmaps, registers, capabilities,
 * shapes) with Firecracker's messages, application to a fake kvm_cpuid2,
 * MSR triples, capability list, JSON round trip and the config-file forms. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "ember/cpu_config.h"
#include "test_util.h"

#define DESER "An error occurred when deserializing the json body of a request: "
#define NUMERR "as a number for CPU template - ParseIntError { kind: "
#define ONES32 "11111111111111111111111111111111"
#define X32 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static char err[1024];

static int parse(struct cpu_config *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int parse(struct cpu_config *cc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *j = vJ(fmt, ap);
	va_end(ap);
	memset(err, 0, sizeof(err));
	int rc = cpu_config_parse(cc, j, err, sizeof(err));
	json_decref(j);
	return rc;
}

/* One leaf modifier with the given leaf/subleaf strings and eax bitmap. */
static int leaf(struct cpu_config *cc, const char *l, const char *sl, const char *bm)
{
	return parse(cc, "{\"cpuid_modifiers\": [{\"leaf\": \"%s\", \"subleaf\": \"%s\", "
		     "\"flags\": 0, \"modifiers\": [{\"register\": \"eax\", \"bitmap\": \"%s\"}]}]}",
		     l, sl, bm);
}

static void expect_err(int rc, const char *msg)
{
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, msg);
}

static void test_number_formats(void **state)
{
	struct cpu_config cc = { 0 };
	static const struct { const char *s; uint32_t v; } ok[] = {
		{ "0x1f", 0x1f }, { "0x8000001E", 0x8000001e }, { "0b101", 5 }, { "7", 7 },
		{ "0xffffffff", 0xffffffff }, { "0x+5", 5 }, { "4294967295", 0xffffffff },
		{ "0x0", 0 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (leaf(&cc, ok[i].s, "0x0", "0b0"))
			fail_msg("%s: %s", ok[i].s, err);
		assert_int_equal(cc.cpuid[0].leaf, ok[i].v);
	}
	expect_err(leaf(&cc, "0b", "0x0", "0b0"), DESER "Failed to parse string [0b] " NUMERR
		   "Empty }.");
	expect_err(leaf(&cc, "0x100000000", "0x0", "0b0"),
		   DESER "Failed to parse string [0x100000000] " NUMERR "PosOverflow }.");
	expect_err(leaf(&cc, "0x1g", "0x0", "0b0"),
		   DESER "Failed to parse string [0x1g] " NUMERR "InvalidDigit }.");
	expect_err(leaf(&cc, "0b102", "0x0", "0b0"),
		   DESER "Failed to parse string [0b102] " NUMERR "InvalidDigit }.");
	expect_err(leaf(&cc, "0x-1", "0x0", "0b0"),
		   DESER "Failed to parse string [0x-1] " NUMERR "InvalidDigit }.");
	expect_err(leaf(&cc, "0x+", "0x0", "0b0"),
		   DESER "Failed to parse string [0x+] " NUMERR "InvalidDigit }.");
	expect_err(leaf(&cc, "0x1", "abc", "0b0"),
		   DESER "No supported number system prefix found in value [abc]. Make sure to "
		   "prefix the number with '0x' for hexadecimal numbers or '0b' for binary numbers.");
	expect_err(leaf(&cc, "", "0x0", "0b0"),
		   DESER "No supported number system prefix found in value []. Make sure to "
		   "prefix the number with '0x' for hexadecimal numbers or '0b' for binary numbers.");
	expect_err(leaf(&cc, "99999999999", "0x0", "0b0"),
		   DESER "Failed to parse string [99999999999] " NUMERR "PosOverflow }.");
	assert_int_equal(cc.cpuid[0].leaf, 0); /* the last good parse ("0x0") is intact */
	cpu_config_free(&cc);
	(void)state;
}

static void test_bitmaps(void **state)
{
	struct cpu_config cc = { 0 };
	assert_int_equal(leaf(&cc, "0x1", "0x0", "0b" ONES32), 0);
	assert_int_equal(cc.cpuid[0].mods[0].mask, 0xffffffff);
	assert_int_equal(cc.cpuid[0].mods[0].value, 0xffffffff);
	/* x keeps, 0 clears, 1 sets; '_' separates; short maps keep high bits. */
	assert_int_equal(leaf(&cc, "0x1", "0x0", "0b1x0_1"), 0);
	assert_int_equal(cc.cpuid[0].mods[0].mask, 0xb);
	assert_int_equal(cc.cpuid[0].mods[0].value, 0x9);
	assert_int_equal(leaf(&cc, "0x1", "0x0", "10"), 0); /* the 0b prefix is optional */
	assert_int_equal(cc.cpuid[0].mods[0].mask, 3);
	assert_int_equal(leaf(&cc, "0x1", "0x0", "0b" X32 "_"), 0);
	assert_int_equal(cc.cpuid[0].mods[0].mask, 0);
	expect_err(leaf(&cc, "0x1", "0x0", "0b0" ONES32),
		   DESER "Failed to parse string [0b0" ONES32 "] as a bitmap - string is too long.");
	expect_err(leaf(&cc, "0x1", "0x0", "0b_" ONES32),
		   DESER "Failed to parse string [0b_" ONES32 "] as a bitmap - string is too long.");
	expect_err(leaf(&cc, "0x1", "0x0", "0b1y1"),
		   DESER "Failed to parse string [0b1y1] as a bitmap - unknown character: 121.");
	assert_int_equal(parse(&cc, "{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": "
			       "\"0b" X32 X32 "\"}, {\"addr\": \"0x10b\", \"bitmap\": \"0b1" X32
			       "0000000000000000000000000000000\"}]}"), 0);
	assert_int_equal(cc.n_msrs, 2);
	assert_int_equal(cc.msrs[0].index, 0x10a);
	assert_int_equal(cc.msrs[0].mask, 0);
	assert_int_equal(cc.msrs[1].mask, 0x800000007fffffffULL);
	assert_int_equal(cc.msrs[1].value, 0x8000000000000000ULL);
	expect_err(parse(&cc, "{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b1" X32 X32
			 "\"}]}"),
		   DESER "Failed to parse string [0b1" X32 X32 "] as a bitmap - string is too long.");
	cpu_config_free(&cc);
	(void)state;
}

static void test_shapes_and_registers(void **state)
{
	struct cpu_config cc = { 0 };
	static const char *const regs[] = { "eax", "ebx", "ecx", "edx" };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(parse(&cc, "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": "
				       "\"0x0\", \"flags\": 1, \"modifiers\": [{\"register\": \"%s\", "
				       "\"bitmap\": \"0b1\"}]}]}", regs[i]), 0);
		assert_int_equal(cc.cpuid[0].mods[0].reg, i);
		assert_int_equal(cc.cpuid[0].flags, 1);
	}
	static const char *const bad[][2] = {
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, "
		  "\"modifiers\": [{\"register\": \"EAX\", \"bitmap\": \"0b1\"}]}]}",
		  DESER "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]." },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": -1, "
		  "\"modifiers\": []}]}", DESER "invalid value: integer `-1`, expected u32." },
		{ "{\"cpuid_modifiers\": [{\"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		  DESER "missing field `leaf`." },
		{ "{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": \"0x0\", \"flags\": 0, "
		  "\"modifiers\": []}]}", DESER "invalid type: integer `1`, expected a string." },
		{ "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0}]}",
		  DESER "missing field `modifiers`." },
		{ "{\"msr_modifiers\": [{\"addr\": \"0x1\"}]}", DESER "missing field `bitmap`." },
		{ "{\"msr_modifiers\": {}}", DESER "invalid type: map, expected a sequence." },
		{ "{\"kvm_capabilities\": [121]}", DESER "invalid type: integer `121`, expected a string." },
		{ "{\"kvm_capabilities\": [\"abc\"]}", DESER "Failed to parse string [abc] as a kvm "
		  "capability - can not convert to numeric: invalid digit found in string." },
		{ "{\"kvm_capabilities\": [\"!\"]}", DESER "Failed to parse string [!] as a kvm "
		  "capability - can not convert to numeric: cannot parse integer from empty string." },
		{ "{\"kvm_capabilities\": [\"4294967296\"]}", DESER "Failed to parse string "
		  "[4294967296] as a kvm capability - can not convert to numeric: number too large "
		  "to fit in target type." },
		{ "{\"reg_modifiers\": []}", DESER "unknown field `reg_modifiers`, expected one of "
		  "`kvm_capabilities`, `cpuid_modifiers`, `msr_modifiers` (only aarch64 templates "
		  "have it)." },
		{ "{\"vcpu_features\": []}", DESER "unknown field `vcpu_features`, expected one of "
		  "`kvm_capabilities`, `cpuid_modifiers`, `msr_modifiers` (only aarch64 templates "
		  "have it)." },
		{ "{\"cpuid\": []}", DESER "unknown field `cpuid`, expected one of `kvm_capabilities`, "
		  "`cpuid_modifiers`, `msr_modifiers`." },
		{ "[]", DESER "invalid type: sequence, expected struct CustomCpuTemplate." },
		{ "\"T2\"", DESER "invalid type: string \"T2\", expected struct CustomCpuTemplate." },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(parse(&cc, "%s", bad[i][0]), bad[i][1]);
	assert_int_equal(cc.cpuid[0].mods[0].reg, CPU_REG_EDX); /* untouched by failures */
	assert_int_equal(cpu_config_parse(&cc, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(&cc, "{}"), 0); /* an empty template is valid */
	assert_true(cc.set);
	assert_int_equal(cc.n_cpuid + cc.n_msrs + cc.n_caps, 0);
	cpu_config_free(&cc);
	(void)state;
}

/* A fake KVM_GET_SUPPORTED_CPUID result. */
static struct kvm_cpuid2 *fake_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(struct kvm_cpuid_entry2));
	c->nent = 4;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x000906ea,
						   .ecx = 0xfffa3203, .edx = 0x0f8bfbff };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0, .flags = 1,
						   .ebx = 0xf0f0f0f0 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 7, .index = 1, .flags = 1,
						   .ebx = 0x12345678 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 1, .flags = 1,
						   .eax = 0xf };
	return c;
}

static void test_apply_cpuid(void **state)
{
	struct cpu_config cc = { 0 };
	struct kvm_cpuid2 *c = fake_cpuid();
	/* leaf 7.0 ebx: high byte set, next byte cleared, the rest kept; the
	 * same register twice composes; flags replace KVM's. */
	assert_int_equal(parse(&cc, "{\"cpuid_modifiers\": ["
			       "{\"leaf\": \"0x7\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": ["
			       "{\"register\": \"ebx\", \"bitmap\": \"0b11111111_00000000_xxxxxxxx_xxxxxxxx\"},"
			       "{\"register\": \"ebx\", \"bitmap\": \"0b1\"}]},"
			       "{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": ["
			       "{\"register\": \"edx\", \"bitmap\": \"0b0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},"
			       "{\"register\": \"ecx\", \"bitmap\": \"0bx1\"}]}]}"), 0);
	assert_int_equal(cpu_config_apply_cpuid(&cc, c, err, sizeof(err)), 0);
	assert_int_equal(c->entries[1].ebx, 0xff00f0f1);
	assert_int_equal(c->entries[1].flags, 0);
	assert_int_equal(c->entries[2].ebx, 0x12345678); /* subleaf 1 is another entry */
	assert_int_equal(c->entries[2].flags, 1);
	assert_int_equal(c->entries[0].edx, 0x0f8bfbff & 0x7fffffff);
	assert_int_equal(c->entries[0].ecx, 0xfffa3203 | 1);
	assert_int_equal(c->entries[0].eax, 0x000906ea);

	/* A leaf KVM does not report: error, and no entry changes. */
	struct kvm_cpuid2 *before = fake_cpuid();
	free(c);
	c = fake_cpuid();
	assert_int_equal(parse(&cc, "{\"cpuid_modifiers\": ["
			       "{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": ["
			       "{\"register\": \"eax\", \"bitmap\": \"0b" ONES32 "\"}]},"
			       "{\"leaf\": \"0x8000001e\", \"subleaf\": \"0x0\", \"flags\": 0, "
			       "\"modifiers\": []}]}"), 0);
	assert_int_equal(cpu_config_apply_cpuid(&cc, c, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "Template changes a CPUID entry not supported by KVM: Leaf: "
			    "8000001e, Subleaf: 0");
	assert_memory_equal(c, before, sizeof(*c) + 4 * sizeof(struct kvm_cpuid_entry2));
	/* Matching is exact on the subleaf, as Firecracker's (leaf, subleaf) key. */
	assert_int_equal(leaf(&cc, "0xd", "0x0", "0b1"), 0);
	assert_int_equal(cpu_config_apply_cpuid(&cc, c, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "Template changes a CPUID entry not supported by KVM: Leaf: d, "
			    "Subleaf: 0");
	/* No template: nothing to do. */
	struct cpu_config none = { 0 };
	assert_int_equal(cpu_config_apply_cpuid(&none, c, err, sizeof(err)), 0);
	assert_int_equal(cpu_config_apply_cpuid(NULL, c, err, sizeof(err)), 0);
	free(before);
	free(c);
	cpu_config_free(&cc);
	(void)state;
}

static void test_msrs_and_caps(void **state)
{
	struct cpu_config cc = { 0 };
	assert_int_equal(parse(&cc, "{\"kvm_capabilities\": [\"171\", \"!172\", \"!171\", \"+9\"],"
			       "\"msr_modifiers\": ["
			       "{\"addr\": \"0x10a\", \"bitmap\": \"0b1100\"},"
			       "{\"addr\": \"0x48\", \"bitmap\": \"0b1\"},"
			       "{\"addr\": \"0x10a\", \"bitmap\": \"0b0x1\"}]}"), 0);
	struct cpu_config_msr out[4];
	assert_int_equal(cpu_config_msrs(&cc, NULL, 0), 2);
	assert_int_equal(cpu_config_msrs(&cc, out, 1), 2);
	assert_int_equal(out[0].index, 0x10a);
	assert_int_equal(cpu_config_msrs(&cc, out, 4), 2);
	assert_int_equal(out[0].index, 0x10a);
	assert_int_equal(out[0].mask, 0xf);  /* 0b1100 then 0b0x1 */
	assert_int_equal(out[0].value, 0x9);
	assert_int_equal(out[1].index, 0x48);
	assert_int_equal(cpu_config_msr_value(&out[0], 0xf6), 0xf9);
	assert_int_equal(cpu_config_msr_value(&out[1], 0), 1);

	assert_false(cpu_config_cap_required(&cc, 171, false)); /* added, then removed */
	assert_false(cpu_config_cap_required(&cc, 172, true));
	assert_true(cpu_config_cap_required(&cc, 9, false));
	assert_true(cpu_config_cap_required(&cc, 5, true));
	assert_false(cpu_config_cap_required(NULL, 5, false));
	cpu_config_free(&cc);
	cpu_config_free(&cc);
	cpu_config_free(NULL);
	(void)state;
}

static void test_json_round_trip(void **state)
{
	struct cpu_config cc = { 0 }, again = { 0 };
	json_t *j = cpu_config_json(&cc);
	assert_true(json_is_null(j));
	json_decref(j);
	assert_int_equal(parse(&cc, "{\"kvm_capabilities\": [\"7\", \"!8\"], \"cpuid_modifiers\": ["
			       "{\"leaf\": \"0x0\", \"subleaf\": \"0b1\", \"flags\": 1, \"modifiers\": ["
			       "{\"register\": \"ecx\", \"bitmap\": \"0b1x0\"}]}],"
			       "\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b1\"}]}"), 0);
	j = cpu_config_json(&cc);
	json_t *m = json_array_get(json_object_get(j, "cpuid_modifiers"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "leaf")), "0x0");
	assert_string_equal(json_string_value(json_object_get(m, "subleaf")), "0x1");
	const char *bm = json_string_value(json_object_get(json_array_get(
		json_object_get(m, "modifiers"), 0), "bitmap"));
	assert_string_equal(bm, "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxx1x0");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "kvm_capabilities"),
							     1)), "!8");
	const char *msr = json_string_value(json_object_get(json_array_get(
		json_object_get(j, "msr_modifiers"), 0), "bitmap"));
	assert_int_equal(strlen(msr), 66);
	assert_int_equal(cpu_config_parse(&again, j, err, sizeof(err)), 0);
	json_t *k = cpu_config_json(&again);
	assert_true(json_equal(j, k));
	json_decref(j);
	json_decref(k);
	cpu_config_free(&cc);
	cpu_config_free(&again);
	(void)state;
}

static void test_config_file_forms(void **state)
{
	struct cpu_config cc = { 0 };
	char path[] = "/tmp/ember-cpu-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *tmpl = "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", "
			   "\"flags\": 0, \"modifiers\": [{\"register\": \"eax\", \"bitmap\": "
			   "\"0bxxxx000000000011xx00011011110010\"}]}]}";
	assert_int_equal(write(fd, tmpl, strlen(tmpl)), (ssize_t)strlen(tmpl));
	close(fd);

	json_t *v = json_string(path);
	assert_int_equal(cpu_config_load(&cc, v, err, sizeof(err)), 0);
	json_decref(v);
	assert_int_equal(cc.n_cpuid, 1);
	assert_int_equal(cc.cpuid[0].mods[0].mask, 0x0fff3fff);

	v = json_string("/nonexistent/template.json");
	assert_int_equal(cpu_config_load(&cc, v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "File operation error: No such file or directory (os error 2)");
	json_decref(v);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "{\"cpuid_modifiers\": [", 21), 21);
	close(fd);
	v = json_string(path);
	assert_int_equal(cpu_config_load(&cc, v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "Invalid JSON: "));
	json_decref(v);

	v = jparse("{\"msr_modifiers\": [{\"addr\": \"zz\", \"bitmap\": \"0b1\"}]}");
	assert_int_equal(cpu_config_load(&cc, v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Invalid JSON: No supported number system prefix found in value "
			    "[zz]. Make sure to prefix the number with '0x' for hexadecimal numbers "
			    "or '0b' for binary numbers.");
	json_decref(v);
	v = json_integer(3);
	assert_int_equal(cpu_config_load(&cc, v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Invalid JSON: data did not match any variant of untagged enum "
			    "CustomCpuTemplateOrPath");
	json_decref(v);
	assert_int_equal(cpu_config_load(&cc, NULL, err, sizeof(err)), 0);
	v = json_null();
	assert_int_equal(cpu_config_load(&cc, v, err, sizeof(err)), 0);
	assert_int_equal(cc.n_cpuid, 1); /* every failure above left it alone */
	v = jparse("{\"kvm_capabilities\": [\"1\"]}");
	assert_int_equal(cpu_config_load(&cc, v, err, sizeof(err)), 0);
	assert_int_equal(cc.n_cpuid, 0);
	assert_int_equal(cc.n_caps, 1);
	json_decref(v);
	unlink(path);
	cpu_config_free(&cc);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_formats),
		cmocka_unit_test(test_bitmaps),
		cmocka_unit_test(test_shapes_and_registers),
		cmocka_unit_test(test_apply_cpuid),
		cmocka_unit_test(test_msrs_and_caps),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_config_file_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
