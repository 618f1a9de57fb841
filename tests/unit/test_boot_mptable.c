/* MP table: checksums, entry counts and contents for 1..32 vCPUs. */
#include "test_boot_util.h"

#include <errno.h>

#include "../../src/boot/boot_internal.h"
#include "ember/boot.h"
#include "ember/layout.h"

#define RAM (4 * MiB)

BOOT_RAM_FIXTURES(RAM)

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

struct counts {
	int procs, bsps, buses, ioapics, ioints, lints;
};

/* Walks the entries after the header, checking each one as it goes. */
static struct counts walk(const uint8_t *p, const uint8_t *end, int ncpus)
{
	struct counts c = { 0 };

	while (p < end) {
		if (*p == MP_PROC) {
			struct mp_proc e;

			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.apic_id, c.procs);
			assert_int_equal(e.apic_version, 0x14);
			assert_true(e.flags & 1);
			c.bsps += !!(e.flags & 2);
			assert_int_equal(!!(e.flags & 2), c.procs == 0);
			c.procs++;
			p += sizeof(e);
			continue;
		}
		if (*p == MP_BUS) {
			assert_memory_equal(((const struct mp_bus *)p)->bus_type, "ISA   ", 6);
			c.buses++;
		} else if (*p == MP_IOAPIC) {
			struct mp_ioapic e;

			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.apic_id, ncpus);
			assert_int_equal(e.apic_version, 0x11);
			assert_int_equal(e.flags, 1);
			assert_int_equal(e.addr, LAYOUT_IOAPIC);
			c.ioapics++;
		} else if (*p == MP_IOINT) {
			const struct mp_irq *e = (const void *)p;

			assert_int_equal(e->irq_type, 0);
			assert_int_equal(e->src_irq, c.ioints);
			assert_int_equal(e->dst_pin, c.ioints);
			assert_int_equal(e->dst_apic, ncpus);
			c.ioints++;
		} else {
			const struct mp_irq *e = (const void *)p;

			assert_int_equal(*p, MP_LINT);
			/* LINT0 ExtINT, LINT1 NMI */
			assert_int_equal(e->irq_type, c.lints == 0 ? 3 : 1);
			assert_int_equal(e->dst_pin, c.lints);
			c.lints++;
		}
		p += 8;
	}
	assert_ptr_equal(p, end);
	return c;
}

static void check_table(void **state, int ncpus)
{
	const uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;
	const uint8_t *mpf_p = ram + LAYOUT_EBDA_START;
	struct mp_floating mpf;
	struct mp_config cfg;
	struct counts c;

	memcpy(&mpf, mpf_p, sizeof(mpf));
	assert_memory_equal(mpf.signature, "_MP_", 4);
	assert_int_equal(mpf.length, 1);
	assert_int_equal(mpf.spec_rev, 4);
	assert_int_equal(sum(mpf_p, sizeof(mpf)), 0);
	assert_int_equal(mpf.physptr, LAYOUT_EBDA_START + 16);
	memcpy(&cfg, ram + mpf.physptr, sizeof(cfg));
	assert_memory_equal(cfg.signature, "PCMP", 4);
	assert_int_equal(cfg.spec_rev, 4);
	assert_int_equal(sum(ram + mpf.physptr, cfg.length), 0);
	assert_int_equal(cfg.lapic_addr, LAYOUT_LAPIC);
	assert_int_equal(cfg.entry_count, ncpus + 1 + 1 + 24 + 2);
	assert_int_equal(cfg.length, BOOT_MPTABLE_SIZE(ncpus) - 16);
	assert_true(16ULL + cfg.length <= BOOT_MPTABLE_MAX);
	c = walk(ram + mpf.physptr + sizeof(cfg), ram + mpf.physptr + cfg.length, ncpus);
	assert_int_equal(c.procs, ncpus);
	assert_int_equal(c.bsps, 1);
	assert_int_equal(c.buses, 1);
	assert_int_equal(c.ioapics, 1);
	assert_int_equal(c.ioints, 24);
	assert_int_equal(c.lints, 2);
	assert_int_equal(c.procs + c.buses + c.ioapics + c.ioints + c.lints, cfg.entry_count);
}

static void one_cpu(void **state)
{
	assert_int_equal(boot_write_mptable(*state, 1), 0);
	check_table(state, 1);
}

static void two_cpus(void **state)
{
	assert_int_equal(boot_write_mptable(*state, 2), 0);
	check_table(state, 2);
}

static void max_cpus_stay_in_slot(void **state)
{
	uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;
	uint8_t *after = ram + LAYOUT_EBDA_START + BOOT_MPTABLE_MAX;

	memset(after, 0xa5, 0x100); /* where ACPI tables will live */
	assert_int_equal(boot_write_mptable(*state, 32), 0);
	check_table(state, 32);
	assert_int_equal(BOOT_MPTABLE_SIZE(32), 924);
	for (int i = 0; i < 0x100; i++)
		assert_int_equal(after[i], 0xa5);
}

static void bad_counts(void **state)
{
	assert_int_equal(boot_write_mptable(*state, 0), -EINVAL);
	assert_int_equal(boot_write_mptable(*state, -1), -EINVAL);
	assert_int_equal(boot_write_mptable(*state, 33), -EINVAL);
}

static void ram_too_small(void **state)
{
	struct guest_mem gm;

	fake_ram(&gm, LAYOUT_EBDA_START + 0x100);
	assert_int_equal(boot_write_mptable(&gm, 1), -EFAULT);
	fake_ram_free(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAM_TEST(one_cpu),
		RAM_TEST(two_cpus),
		RAM_TEST(max_cpus_stay_in_slot),
		RAM_TEST(bad_counts),
		cmocka_unit_test(ram_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
