/* Identity page tables, boot GDT/IDT in memory, and the BSP register state. */
#include "test_boot_util.h"

#include <errno.h>

#include <linux/kvm.h>

#include "../../src/boot/boot_internal.h"
#include "ember/boot.h"
#include "ember/layout.h"

#define RAM (4 * MiB)

BOOT_RAM_FIXTURES(RAM)

static uint64_t q(void **state, uint64_t gpa)
{
	uint64_t v;

	assert_int_equal(gm_read(*state, gpa, &v, sizeof(v)), 0);
	return v;
}

static void page_tables(void **state)
{
	uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;

	memset(ram + LAYOUT_PML4, 0xff, 3 * 4096); /* stale entries must be cleared */
	assert_int_equal(boot_write_pagetables(*state), 0);
	assert_int_equal(q(state, LAYOUT_PML4), LAYOUT_PDPT | 0x3);
	assert_int_equal(q(state, LAYOUT_PDPT), LAYOUT_PD | 0x3);
	for (uint64_t i = 1; i < 512; i++) {
		assert_int_equal(q(state, LAYOUT_PML4 + i * 8), 0);
		assert_int_equal(q(state, LAYOUT_PDPT + i * 8), 0);
	}
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(q(state, LAYOUT_PD + i * 8), (i << 21) | 0x83);
}

static void descriptor_tables(void **state)
{
	uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;

	memset(ram + LAYOUT_GDT, 0xff, 0x60);
	assert_int_equal(boot_write_pagetables(*state), 0);
	/* 64-bit GDT: the values Firecracker writes */
	assert_int_equal(q(state, LAYOUT_GDT), 0);
	assert_int_equal(q(state, LAYOUT_GDT + 8), 0x00af9b000000ffffULL);
	assert_int_equal(q(state, LAYOUT_GDT + 16), 0x00cf93000000ffffULL);
	assert_int_equal(q(state, LAYOUT_GDT + 24), 0x008f8b000000ffffULL);
	assert_int_equal(q(state, LAYOUT_IDT), 0);
	/* PVH GDT: flat 32-bit code/data, byte-granular TSS */
	assert_int_equal(q(state, BOOT_GDT_PVH), 0);
	assert_int_equal(q(state, BOOT_GDT_PVH + 8), 0x00cf9b000000ffffULL);
	assert_int_equal(q(state, BOOT_GDT_PVH + 16), 0x00cf93000000ffffULL);
	assert_int_equal(q(state, BOOT_GDT_PVH + 24), 0x00008b0000000067ULL);
}

static void gdt_entry_encoding(void **state)
{
	(void)state;
	assert_int_equal(boot_gdt_entry(0xc093, 0x12345678, 0xabcde),
			 0x12ca93345678bcdeULL);
}

static void pagetables_need_ram(void **state)
{
	struct guest_mem gm;

	(void)state;
	fake_ram(&gm, LAYOUT_PD); /* ends where the PD would start */
	assert_int_equal(boot_write_pagetables(&gm), -EFAULT);
	fake_ram_free(&gm);
}

static void regs_linux(void **state)
{
	struct boot_image img = { .proto = BOOT_PROTO_LINUX, .entry = 0x1000200 };
	struct kvm_regs r;

	(void)state;
	memset(&r, 0xff, sizeof(r));
	boot_init_regs(&r, &img);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rip, 0x1000200);
	assert_int_equal(r.rsp, LAYOUT_STACK);
	assert_int_equal(r.rbp, LAYOUT_STACK);
	assert_int_equal(r.rsi, LAYOUT_ZERO_PAGE);
	assert_int_equal(r.rbx, 0);
	assert_int_equal(r.rax, 0);
}

static void regs_pvh(void **state)
{
	struct boot_image img = { .proto = BOOT_PROTO_PVH, .entry = 0x1000123 };
	struct kvm_regs r;

	(void)state;
	memset(&r, 0xff, sizeof(r));
	boot_init_regs(&r, &img);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rip, 0x1000123);
	assert_int_equal(r.rbx, LAYOUT_PVH_INFO);
	assert_int_equal(r.rsi, 0);
}

static struct kvm_sregs reset_sregs(void)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010; /* KVM's reset value: CD | NW | ET */
	s.apic_base = 0xfee00900;
	return s;
}

static void check_seg(const struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l,
		      uint8_t db, uint32_t limit)
{
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, limit);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->l, l);
	assert_int_equal(s->db, db);
	assert_int_equal(s->unusable, 0);
}

static void sregs_linux(void **state)
{
	struct boot_image img = { .proto = BOOT_PROTO_LINUX };
	struct kvm_sregs s = reset_sregs();

	(void)state;
	boot_init_sregs(&s, &img);
	assert_int_equal(s.cr0, 0x80000011); /* PG | ET | PE, caches on */
	assert_int_equal(s.cr3, LAYOUT_PML4);
	assert_int_equal(s.cr4, 0x20);   /* PAE */
	assert_int_equal(s.efer, 0x500); /* LMA | LME */
	assert_int_equal(s.apic_base, 0xfee00900);
	check_seg(&s.cs, 0x08, 0xb, 1, 0, 0xffffffff);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.g, 1);
	check_seg(&s.ds, 0x10, 0x3, 0, 1, 0xffffffff);
	check_seg(&s.es, 0x10, 0x3, 0, 1, 0xffffffff);
	check_seg(&s.fs, 0x10, 0x3, 0, 1, 0xffffffff);
	check_seg(&s.gs, 0x10, 0x3, 0, 1, 0xffffffff);
	check_seg(&s.ss, 0x10, 0x3, 0, 1, 0xffffffff);
	check_seg(&s.tr, 0x18, 0xb, 0, 0, 0xffffffff);
	assert_int_equal(s.tr.s, 0);
	assert_int_equal(s.gdt.base, LAYOUT_GDT);
	assert_int_equal(s.gdt.limit, 31);
	assert_int_equal(s.idt.base, LAYOUT_IDT);
	assert_int_equal(s.idt.limit, 7);
}

static void sregs_pvh(void **state)
{
	struct boot_image img = { .proto = BOOT_PROTO_PVH };
	struct kvm_sregs s = reset_sregs();

	(void)state;
	s.cr4 = 0x20;
	s.efer = 0x500;
	boot_init_sregs(&s, &img);
	assert_int_equal(s.cr0, 0x11);
	assert_int_equal(s.cr3, 0);
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	check_seg(&s.cs, 0x08, 0xb, 0, 1, 0xffffffff);
	check_seg(&s.ds, 0x10, 0x3, 0, 1, 0xffffffff);
	check_seg(&s.ss, 0x10, 0x3, 0, 1, 0xffffffff);
	check_seg(&s.tr, 0x18, 0xb, 0, 0, 0x67);
	assert_int_equal(s.tr.g, 0);
	assert_int_equal(s.gdt.base, BOOT_GDT_PVH);
	assert_int_equal(s.gdt.limit, 31);
	assert_int_equal(s.idt.base, LAYOUT_IDT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAM_TEST(page_tables),
		RAM_TEST(descriptor_tables),
		cmocka_unit_test(gdt_entry_encoding),
		cmocka_unit_test(pagetables_need_ram),
		cmocka_unit_test(regs_linux),
		cmocka_unit_test(regs_pvh),
		cmocka_unit_test(sregs_linux),
		cmocka_unit_test(sregs_pvh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
