/* cpuid_for_vcpu: APIC ids and topology leaves per vCPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <linux/kvm.h>

#include "ember/cpuid.h"

static struct kvm_cpuid2 *make(void)
{
	static const struct { uint32_t fn, idx; } leaves[] = {
		{ 0x1, 0 }, { 0x4, 0 }, { 0xb, 0 }, { 0xb, 1 }, { 0xb, 2 },
		{ 0x80000008, 0 }, { 0x8000001e, 0 }, { 0x7, 0 },
	};
	size_t n = sizeof(leaves) / sizeof(leaves[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	c->nent = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		c->entries[i].function = leaves[i].fn;
		c->entries[i].index = leaves[i].idx;
		c->entries[i].ebx = 0xdeadbeef;
		c->entries[i].ecx = 0xffffff00;
		c->entries[i].edx = 0x12345678;
	}
	return c;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void leaf1_apic_id_and_count(void **state)
{
	struct kvm_cpuid2 *c = make();

	cpuid_for_vcpu(c, 3, 4, false);
	struct kvm_cpuid_entry2 *e = find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 3);
	assert_int_equal((e->ebx >> 16) & 0xff, 4);
	assert_int_equal(e->ebx & 0xffff, 0xbeef); /* other fields kept */
	assert_true(e->ecx & (1U << 31));	   /* hypervisor bit */
	assert_true(e->edx & (1U << 28));	   /* HTT with > 1 CPU */
	free(c);
}

static void single_cpu_has_no_htt(void **state)
{
	struct kvm_cpuid2 *c = make();

	cpuid_for_vcpu(c, 0, 1, false);
	assert_false(find(c, 1, 0)->edx & (1U << 28));
	assert_int_equal(find(c, 0x80000008, 0)->ecx & 0xff, 0);
	free(c);
}

/* EAX[31:26] of leaf 4 is cores per package - 1. */
static void leaf_4_cores(void **state)
{
	struct kvm_cpuid2 *c = make();

	cpuid_for_vcpu(c, 0, 6, true);
	assert_int_equal(find(c, 4, 0)->eax >> 26, 2);
	cpuid_for_vcpu(c, 0, 6, false);
	assert_int_equal(find(c, 4, 0)->eax >> 26, 5);
	cpuid_for_vcpu(c, 0, 1, true); /* one vCPU with SMT: one core, not 64 */
	assert_int_equal(find(c, 4, 0)->eax >> 26, 0);
	cpuid_for_vcpu(c, 0, 1, false);
	assert_int_equal(find(c, 4, 0)->eax >> 26, 0);
	free(c);
}

static void leaf_b_levels(void **state)
{
	struct kvm_cpuid2 *c = make();

	cpuid_for_vcpu(c, 5, 6, true);
	struct kvm_cpuid_entry2 *l0 = find(c, 0xb, 0), *l1 = find(c, 0xb, 1), *l2 = find(c, 0xb, 2);
	assert_int_equal(l0->eax, 1); /* 2 threads: 1 bit */
	assert_int_equal(l0->ebx, 2);
	assert_int_equal(l0->ecx, (1 << 8) | 0);
	assert_int_equal(l0->edx, 5);
	assert_int_equal(l1->eax, 3); /* 6 CPUs: 3 bits */
	assert_int_equal(l1->ebx, 6);
	assert_int_equal(l1->ecx, (2 << 8) | 1);
	assert_int_equal(l1->edx, 5);
	assert_int_equal(l2->ecx, 2); /* level type 0 ends the enumeration */
	assert_int_equal(l2->ebx, 0);
	free(c);
}

static void amd_leaves(void **state)
{
	struct kvm_cpuid2 *c = make();

	cpuid_for_vcpu(c, 7, 32, false);
	assert_int_equal(find(c, 0x80000008, 0)->ecx, 0xffffff00 | 31);
	assert_int_equal(find(c, 0x8000001e, 0)->eax, 7);
	assert_int_equal(find(c, 0x8000001e, 0)->ebx, 7);
	assert_int_equal(find(c, 4, 0)->eax >> 26, 31);
	assert_int_equal(find(c, 7, 0)->ebx, 0xdeadbeef); /* untouched leaf */
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leaf1_apic_id_and_count),
		cmocka_unit_test(single_cpu_has_no_htt),
		cmocka_unit_test(leaf_4_cores),
		cmocka_unit_test(leaf_b_levels),
		cmocka_unit_test(amd_leaves),
	};
	return cmocka_run_group_tests_name("cpuid", tests, NULL, NULL);
}
