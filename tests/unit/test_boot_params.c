/* e820, zero page (boot_params), PVH start info and the command line. */
#include "test_boot_util.h"

#include <errno.h>

#include <asm/e820.h>

#include "../../src/boot/boot_internal.h"
#include "ember/boot.h"
#include "ember/layout.h"

#define RAM (128 * MiB)

BOOT_RAM_FIXTURES(RAM)

static void check_entry(const struct boot_e820_entry *e, uint64_t addr, uint64_t size,
			uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void check_low_map(const struct boot_e820_entry *t, uint64_t low_end)
{
	check_entry(&t[0], 0, LAYOUT_EBDA_START, E820_RAM);
	check_entry(&t[1], LAYOUT_EBDA_START, LAYOUT_SYSTEM_END - LAYOUT_EBDA_START, E820_RESERVED);
	check_entry(&t[2], LAYOUT_HIMEM, low_end - LAYOUT_HIMEM, E820_RAM);
}

static void e820_128m(void **state)
{
	struct boot_e820_entry t[BOOT_E820_MAX];

	assert_int_equal(boot_e820(*state, t, BOOT_E820_MAX), 3);
	check_low_map(t, RAM);
	assert_int_equal(boot_e820(*state, t, 2), -E2BIG);
}

static void e820_4g_split(void **state)
{
	struct guest_mem gm = { .nr = 2, .ram_size = 4 * GiB };
	struct boot_e820_entry t[BOOT_E820_MAX];

	/* gm_init's layout, without mapping anything: boot_e820 reads no RAM. */
	gm.r[0] = (struct gm_region){ .gpa = 0, .size = 3 * GiB };
	gm.r[1] = (struct gm_region){ .gpa = 4 * GiB, .size = 1 * GiB };
	assert_int_equal(boot_e820(&gm, t, BOOT_E820_MAX), 4);
	check_low_map(t, 3 * GiB);
	check_entry(&t[3], 4 * GiB, 1 * GiB, E820_RAM);
}

static void e820_tiny_ram(void **state)
{
	struct guest_mem gm = { .nr = 1, .ram_size = 512 * 1024 };
	struct boot_e820_entry t[BOOT_E820_MAX];

	gm.r[0] = (struct gm_region){ .gpa = 0, .size = 512 * 1024 };
	assert_int_equal(boot_e820(&gm, t, BOOT_E820_MAX), -EINVAL);
}

static struct boot_params read_zero_page(void **state)
{
	struct boot_params bp;

	assert_int_equal(gm_read(*state, LAYOUT_ZERO_PAGE, &bp, sizeof(bp)), 0);
	return bp;
}

static void zero_page_elf(void **state)
{
	struct boot_image img = { .format = BOOT_FMT_ELF, .proto = BOOT_PROTO_LINUX,
				  .entry = 0x1000000 };
	struct boot_initrd rd = { .addr = 0x7000000, .size = 0x1234 };
	struct boot_params bp;

	memset(((struct guest_mem *)*state)->r[0].host + LAYOUT_ZERO_PAGE, 0xee, 4096);
	assert_int_equal(boot_write_params(*state, &img, &rd, 42), 0);
	bp = read_zero_page(state);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	assert_int_equal(bp.ext_cmd_line_ptr, 0);
	assert_int_equal(bp.hdr.cmdline_size, 42);
	assert_int_equal(bp.hdr.ramdisk_image, 0x7000000);
	assert_int_equal(bp.hdr.ramdisk_size, 0x1234);
	assert_int_equal(bp.ext_ramdisk_image, 0);
	assert_int_equal(bp.ext_ramdisk_size, 0);
	assert_int_equal(bp.hdr.kernel_alignment, 0x1000000);
	assert_int_equal(bp.hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	assert_int_equal(bp.hdr.heap_end_ptr, 0xfe00);
	assert_int_equal(bp.acpi_rsdp_addr, LAYOUT_RSDP);
	assert_int_equal(bp.e820_entries, 3);
	check_low_map(bp.e820_table, RAM);
	assert_int_equal(bp.hdr.version, 0);   /* zeroed, no setup header to seed */
	assert_int_equal(bp.screen_info.orig_x, 0); /* stale 0xee bytes gone */
}

static void zero_page_bzimage(void **state)
{
	struct boot_image img = { .format = BOOT_FMT_BZIMAGE, .proto = BOOT_PROTO_LINUX,
				  .has_setup_header = true };
	struct boot_initrd rd = { .addr = 0x123456000ULL, .size = 0x100001000ULL };
	struct boot_params bp;

	img.hdr.setup_sects = 27;
	img.hdr.version = 0x020f;
	img.hdr.kernel_alignment = 0x200000;
	img.hdr.init_size = 0x1234567;
	img.hdr.loadflags = LOADED_HIGH | KEEP_SEGMENTS;
	img.hdr.xloadflags = XLF_KERNEL_64;
	img.hdr.cmdline_size = 10; /* smaller than ours: warned, not refused */
	assert_int_equal(boot_write_params(*state, &img, &rd, 42), 0);
	bp = read_zero_page(state);
	assert_int_equal(bp.hdr.setup_sects, 27);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.kernel_alignment, 0x200000);
	assert_int_equal(bp.hdr.init_size, 0x1234567);
	assert_int_equal(bp.hdr.xloadflags, XLF_KERNEL_64);
	assert_int_equal(bp.hdr.loadflags, LOADED_HIGH | KEEP_SEGMENTS | CAN_USE_HEAP);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.cmdline_size, 42);
	/* 64-bit initrd address/size split across the ext_ fields */
	assert_int_equal(bp.hdr.ramdisk_image, 0x23456000);
	assert_int_equal(bp.ext_ramdisk_image, 1);
	assert_int_equal(bp.hdr.ramdisk_size, 0x1000);
	assert_int_equal(bp.ext_ramdisk_size, 1);
}

static void zero_page_no_initrd(void **state)
{
	struct boot_image img = { .format = BOOT_FMT_ELF, .proto = BOOT_PROTO_LINUX };
	struct boot_initrd none = { 0 };
	struct boot_params bp;

	assert_int_equal(boot_write_params(*state, &img, NULL, 1), 0);
	bp = read_zero_page(state);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	assert_int_equal(boot_write_params(*state, &img, &none, 1), 0);
	img.proto = BOOT_PROTO_AUTO; /* unresolved */
	assert_int_equal(boot_write_params(*state, &img, &none, 1), -EINVAL);
}

static void pvh_start_info(void **state)
{
	struct boot_image img = { .format = BOOT_FMT_ELF, .proto = BOOT_PROTO_PVH };
	struct boot_initrd rd = { .addr = 0x7000000, .size = 0x1234 };
	struct hvm_memmap_table_entry map[3];
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;

	assert_int_equal(boot_write_params(*state, &img, &rd, 42), 0);
	assert_int_equal(gm_read(*state, LAYOUT_PVH_INFO, &si, sizeof(si)), 0);
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.flags, 0);
	assert_int_equal(si.cmdline_paddr, LAYOUT_CMDLINE);
	assert_int_equal(si.rsdp_paddr, LAYOUT_RSDP);
	assert_int_equal(si.memmap_paddr, LAYOUT_PVH_MEMMAP);
	assert_int_equal(si.memmap_entries, 3);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(si.modlist_paddr, LAYOUT_PVH_MODLIST);
	assert_int_equal(si.reserved, 0);
	assert_int_equal(gm_read(*state, LAYOUT_PVH_MODLIST, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 0x7000000);
	assert_int_equal(mod.size, 0x1234);
	assert_int_equal(mod.cmdline_paddr, 0);
	assert_int_equal(gm_read(*state, LAYOUT_PVH_MEMMAP, map, sizeof(map)), 0);
	assert_int_equal(map[0].addr, 0);
	assert_int_equal(map[0].size, LAYOUT_EBDA_START);
	assert_int_equal(map[0].type, E820_RAM);
	assert_int_equal(map[1].type, E820_RESERVED);
	assert_int_equal(map[2].addr, LAYOUT_HIMEM);
	assert_int_equal(map[2].size, RAM - LAYOUT_HIMEM);
	assert_int_equal(map[2].type, E820_RAM);
	assert_int_equal(map[2].reserved, 0);
	/* without an initrd there is no module list */
	assert_int_equal(boot_write_params(*state, &img, NULL, 42), 0);
	assert_int_equal(gm_read(*state, LAYOUT_PVH_INFO, &si, sizeof(si)), 0);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
}

static void pvh_memmap_4g(void **state)
{
	struct boot_image img = { .format = BOOT_FMT_ELF, .proto = BOOT_PROTO_PVH };
	struct hvm_memmap_table_entry map[4];
	struct hvm_start_info si;
	struct guest_mem gm;

	if (gm_init(&gm, 4 * GiB)) {
		skip(); /* no address space for the mapping here */
		return;
	}
	assert_int_equal(boot_write_params(&gm, &img, NULL, 1), 0);
	assert_int_equal(gm_read(&gm, LAYOUT_PVH_INFO, &si, sizeof(si)), 0);
	assert_int_equal(si.memmap_entries, 4);
	assert_int_equal(gm_read(&gm, LAYOUT_PVH_MEMMAP, map, sizeof(map)), 0);
	assert_int_equal(map[2].addr + map[2].size, LAYOUT_MMIO_GAP_START);
	assert_int_equal(map[3].addr, 4 * GiB);
	assert_int_equal(map[3].size, 1 * GiB);
	assert_int_equal(map[3].type, E820_RAM);
	gm_destroy(&gm);
}

static void cmdline(void **state)
{
	char buf[LAYOUT_CMDLINE_MAX + 1];
	char back[LAYOUT_CMDLINE_MAX];

	assert_int_equal(boot_write_cmdline(*state, "console=ttyS0 reboot=k"), 0);
	assert_int_equal(gm_read(*state, LAYOUT_CMDLINE, back, 23), 0);
	assert_string_equal(back, "console=ttyS0 reboot=k");
	memset(buf, 'a', sizeof(buf));
	buf[LAYOUT_CMDLINE_MAX - 1] = 0; /* 2047 chars + NUL: fits exactly */
	assert_int_equal(boot_write_cmdline(*state, buf), 0);
	assert_int_equal(gm_read(*state, LAYOUT_CMDLINE, back, sizeof(back)), 0);
	assert_int_equal(back[LAYOUT_CMDLINE_MAX - 1], 0);
	buf[LAYOUT_CMDLINE_MAX - 1] = 'a';
	buf[LAYOUT_CMDLINE_MAX] = 0; /* 2048 chars */
	assert_int_equal(boot_write_cmdline(*state, buf), -E2BIG);
	assert_int_equal(boot_write_cmdline(*state, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAM_TEST(e820_128m),
		cmocka_unit_test(e820_4g_split),
		cmocka_unit_test(e820_tiny_ram),
		RAM_TEST(zero_page_elf),
		RAM_TEST(zero_page_bzimage),
		RAM_TEST(zero_page_no_initrd),
		RAM_TEST(pvh_start_info),
		cmocka_unit_test(pvh_memmap_4g),
		RAM_TEST(cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
