/* ACPI tables: found from the RSDP as a guest finds them; every checksum,
 * length and header; the MADT for 1, 2 and 32 vCPUs; the FADT's flags and
 * sleep registers; the DSDT's \_S5_; nothing written outside the area. */
#include "test_boot_util.h"

#include <errno.h>

#include "../../src/boot/acpi_internal.h"
#include "../../src/boot/boot_internal.h"
#include "ember/acpi.h"
#include "ember/boot.h"
#include "ember/layout.h"

#define RAM (2 * MiB)

BOOT_RAM_FIXTURES(RAM)

struct tables {
	const uint8_t *ram;
	struct acpi_rsdp rsdp;
	uint64_t xsdt, fadt, madt, dsdt;
};

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

static struct acpi_header hdr_at(const uint8_t *ram, uint64_t gpa)
{
	struct acpi_header h;

	memcpy(&h, ram + gpa, sizeof(h));
	return h;
}

/* Common header checks; returns the table's length. */
static uint32_t check_header(const uint8_t *ram, uint64_t gpa, const char *sig, uint8_t rev)
{
	struct acpi_header h = hdr_at(ram, gpa);

	assert_memory_equal(h.signature, sig, 4);
	assert_int_equal(h.revision, rev);
	assert_memory_equal(h.oem_id, "EMBER ", 6);
	assert_memory_equal(h.oem_table_id, "EMBERVM ", 8);
	assert_int_equal(h.oem_revision, 1);
	assert_memory_equal(h.creator_id, "EMBR", 4);
	assert_int_equal(h.creator_revision, 1);
	assert_true(h.length >= sizeof(h));
	assert_true(gpa >= LAYOUT_ACPI_START);
	assert_true(gpa + h.length <= LAYOUT_SYSTEM_END);
	assert_int_equal(sum(ram + gpa, h.length), 0);
	return h.length;
}

static struct tables find(void **state)
{
	struct tables t = { .ram = ((struct guest_mem *)*state)->r[0].host };
	struct acpi_fadt f;
	uint64_t e[ACPI_XSDT_ENTRIES];

	memcpy(&t.rsdp, t.ram + LAYOUT_RSDP, sizeof(t.rsdp));
	assert_memory_equal(t.rsdp.signature, "RSD PTR ", 8);
	assert_memory_equal(t.rsdp.oem_id, "EMBER ", 6);
	assert_int_equal(t.rsdp.revision, 2);
	assert_int_equal(t.rsdp.length, 36);
	assert_int_equal(t.rsdp.rsdt_addr, 0);
	assert_int_equal(sum(t.ram + LAYOUT_RSDP, 20), 0);
	assert_int_equal(sum(t.ram + LAYOUT_RSDP, 36), 0);
	t.xsdt = t.rsdp.xsdt_addr;
	assert_int_equal(check_header(t.ram, t.xsdt, "XSDT", 1), 36 + 2 * 8);
	memcpy(e, t.ram + t.xsdt + 36, sizeof(e));
	t.fadt = e[0];
	t.madt = e[1];
	assert_int_equal(check_header(t.ram, t.fadt, "FACP", 6), 276);
	memcpy(&f, t.ram + t.fadt, sizeof(f));
	assert_int_equal(f.x_dsdt, f.dsdt); /* both set, equal */
	t.dsdt = f.x_dsdt;
	check_header(t.ram, t.dsdt, "DSDT", 2);
	return t;
}

static void fadt_fields(void **state)
{
	struct tables t;
	struct acpi_fadt f;
	uint64_t id;

	assert_int_equal(boot_write_acpi(*state, 1), 0);
	t = find(state);
	memcpy(&f, t.ram + t.fadt, sizeof(f));
	assert_int_equal(f.flags, (1U << 20) | (1U << 4) | (1U << 5));
	/* 8042, no VGA, no MSI, no ASPM, no CMOS RTC */
	assert_int_equal(f.iapc_boot_arch, (1U << 1) | (1U << 2) | (1U << 3) | (1U << 4) | (1U << 5));
	assert_int_equal(f.minor_version, 5);
	assert_int_equal(f.firmware_ctrl, 0);
	assert_int_equal(f.x_firmware_ctrl, 0);
	assert_int_equal(f.sleep_control.space_id, 1);
	assert_int_equal(f.sleep_control.bit_width, 8);
	assert_int_equal(f.sleep_control.bit_offset, 0);
	assert_int_equal(f.sleep_control.access_size, 1);
	assert_int_equal(f.sleep_control.address, LAYOUT_ACPI_SLEEP_CTL);
	assert_int_equal(f.sleep_status.space_id, 1);
	assert_int_equal(f.sleep_status.bit_width, 8);
	assert_int_equal(f.sleep_status.access_size, 1);
	assert_int_equal(f.sleep_status.address, LAYOUT_ACPI_SLEEP_STS);
	assert_int_equal(f.pm1a_cnt_blk, 0); /* hardware-reduced: no PM1 */
	memcpy(&id, "EMBERKVM", 8);
	assert_int_equal(f.hypervisor_id, id);
}

static void check_madt(void **state, int ncpus)
{
	struct tables t;
	struct acpi_madt m;
	const uint8_t *p, *end;
	int lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	assert_int_equal(boot_write_acpi(*state, ncpus), 0);
	t = find(state);
	assert_int_equal(check_header(t.ram, t.madt, "APIC", 5), ACPI_MADT_SIZE(ncpus));
	memcpy(&m, t.ram + t.madt, sizeof(m));
	assert_int_equal(m.lapic_addr, LAYOUT_LAPIC);
	assert_int_equal(m.flags, 1);
	p = t.ram + t.madt + sizeof(m);
	end = t.ram + t.madt + m.h.length;
	while (p < end) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		if (p[0] == ACPI_MADT_LAPIC) {
			struct acpi_madt_lapic l;

			memcpy(&l, p, sizeof(l));
			assert_int_equal(l.length, 8);
			assert_int_equal(l.processor_uid, lapics);
			assert_int_equal(l.apic_id, lapics);
			assert_int_equal(l.flags, 1);
			lapics++;
		} else if (p[0] == ACPI_MADT_IOAPIC) {
			struct acpi_madt_ioapic io;

			memcpy(&io, p, sizeof(io));
			assert_int_equal(io.length, 12);
			assert_int_equal(io.id, ncpus);
			assert_int_equal(io.addr, LAYOUT_IOAPIC);
			assert_int_equal(io.gsi_base, 0);
			ioapics++;
		} else if (p[0] == ACPI_MADT_ISO) {
			struct acpi_madt_iso iso;

			memcpy(&iso, p, sizeof(iso));
			assert_int_equal(iso.length, 10);
			assert_int_equal(iso.bus, 0);
			assert_int_equal(iso.source, 0);
			assert_int_equal(iso.gsi, 0); /* KVM's default routing: GSI n on pin n */
			assert_int_equal(iso.flags, 0);
			isos++;
		} else {
			assert_int_equal(p[0], ACPI_MADT_LAPIC_NMI);
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff); /* every processor */
			assert_int_equal(p[3] | p[4] << 8, 0);
			assert_int_equal(p[5], 1); /* LINT1 */
			nmis++;
		}
		p += p[1];
	}
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
	assert_int_equal(nmis, 1);
}

static void madt_1(void **state) { check_madt(state, 1); }
static void madt_2(void **state) { check_madt(state, 2); }
static void madt_32(void **state) { check_madt(state, 32); }

/* \_S5_ at the root: Name(_S5_, Package(2) {5, Zero}), and both devices. */
static void dsdt_contents(void **state)
{
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a,
				      ACPI_SLP_TYP_S5, 0x00 };
	static const uint8_t com1_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t kbd_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03 };
	struct tables t;
	struct acpi_header h;
	const uint8_t *aml;

	assert_int_equal(boot_write_acpi(*state, 2), 0);
	t = find(state);
	h = hdr_at(t.ram, t.dsdt);
	aml = t.ram + t.dsdt + sizeof(h);
	assert_int_equal(aml[0], 0x10); /* Scope(\_SB_) first */
	assert_non_null(memmem(aml, h.length - sizeof(h), "COM1", 4));
	assert_non_null(memmem(aml, h.length - sizeof(h), "PS2K", 4));
	assert_non_null(memmem(aml, h.length - sizeof(h), com1_hid, sizeof(com1_hid)));
	assert_non_null(memmem(aml, h.length - sizeof(h), kbd_hid, sizeof(kbd_hid)));
	/* Last in the table, at the root scope. */
	assert_memory_equal(t.ram + t.dsdt + h.length - sizeof(s5), s5, sizeof(s5));
}

/* 32 vCPUs: the tables are disjoint, inside the area, and every other byte
 * of RAM (the MP table's slot included) is as it was. */
static void stays_in_area(void **state)
{
	struct guest_mem *gm = *state;
	uint8_t *ram = gm->r[0].host;
	struct tables t;
	uint64_t at[4], len[4];

	memset(ram, 0xa5, RAM);
	assert_int_equal(boot_write_acpi(gm, 32), 0);
	t = find(state);
	at[0] = t.dsdt, at[1] = t.fadt, at[2] = t.madt, at[3] = t.xsdt;
	for (int i = 0; i < 4; i++)
		len[i] = hdr_at(ram, at[i]).length;
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			assert_true(at[i] + len[i] <= at[j] || at[j] + len[j] <= at[i]);
	for (uint64_t a = 0; a < RAM; a++) {
		bool table = a >= LAYOUT_RSDP && a < LAYOUT_RSDP + sizeof(struct acpi_rsdp);

		for (int i = 0; i < 4; i++)
			table |= a >= at[i] && a < at[i] + len[i];
		if (!table && ram[a] != 0xa5)
			fail_msg("byte at 0x%llx written outside the tables", (unsigned long long)a);
	}
}

/* Both tables coexist: the MP table stays valid after the ACPI tables. */
static void mptable_intact(void **state)
{
	const uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;
	struct mp_config cfg;

	assert_int_equal(boot_write_mptable(*state, 32), 0);
	assert_int_equal(boot_write_acpi(*state, 32), 0);
	assert_int_equal(sum(ram + LAYOUT_EBDA_START, sizeof(struct mp_floating)), 0);
	memcpy(&cfg, ram + LAYOUT_EBDA_START + sizeof(struct mp_floating), sizeof(cfg));
	assert_int_equal(sum(ram + LAYOUT_EBDA_START + sizeof(struct mp_floating), cfg.length), 0);
	find(state);
}

static void bad_counts(void **state)
{
	assert_int_equal(boot_write_acpi(*state, 0), -EINVAL);
	assert_int_equal(boot_write_acpi(*state, -1), -EINVAL);
	assert_int_equal(boot_write_acpi(*state, LAYOUT_MAX_VCPUS + 1), -EINVAL);
}

static void ram_too_small(void **state)
{
	struct guest_mem gm;

	fake_ram(&gm, LAYOUT_ACPI_START + 0x1000); /* area cut short */
	assert_int_equal(boot_write_acpi(&gm, 1), -EFAULT);
	fake_ram_free(&gm);
	fake_ram(&gm, LAYOUT_RSDP + 16); /* area whole, RSDP cut short */
	assert_int_equal(boot_write_acpi(&gm, 1), -EFAULT);
	fake_ram_free(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAM_TEST(fadt_fields),
		RAM_TEST(madt_1),
		RAM_TEST(madt_2),
		RAM_TEST(madt_32),
		RAM_TEST(dsdt_contents),
		RAM_TEST(stays_in_area),
		RAM_TEST(mptable_intact),
		RAM_TEST(bad_counts),
		cmocka_unit_test(ram_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
