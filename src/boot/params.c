/* Linux boot protocol data: command line, e820 map and the zero page
 * (struct boot_params) at LAYOUT_ZERO_PAGE. PVH's equivalent is in pvh.c. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <asm/e820.h>

#include "boot_internal.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

#define ELF_KERNEL_ALIGN 0x1000000U /* Firecracker's value for vmlinux */
#define LOADER_UNDEFINED 0xff       /* type_of_loader: no registered id */
#define HEAP_END 0xfe00             /* setup heap end, relative to the real-mode code */

int boot_write_cmdline(struct guest_mem *gm, const char *cmdline)
{
	size_t len;

	if (!cmdline)
		return -EINVAL;
	len = strlen(cmdline);
	if (len + 1 > LAYOUT_CMDLINE_MAX) {
		log_err("cmdline: %zu characters plus the NUL exceed the %u-byte limit", len,
			LAYOUT_CMDLINE_MAX);
		return -E2BIG;
	}
	if (gm_write(gm, LAYOUT_CMDLINE, cmdline, len + 1)) {
		log_err("cmdline: 0x%llx not in guest RAM", LAYOUT_CMDLINE);
		return -EFAULT;
	}
	return 0;
}

static int add(struct boot_e820_entry *tab, int max, int *n, uint64_t addr, uint64_t size,
	       uint32_t type)
{
	if (*n >= max) {
		log_err("e820: more than %d entries", max);
		return -E2BIG;
	}
	tab[*n] = (struct boot_e820_entry){ .addr = addr, .size = size, .type = type };
	(*n)++;
	return 0;
}

int boot_e820(const struct guest_mem *gm, struct boot_e820_entry *tab, int max)
{
	int n = 0, rc;

	/* The kernel, boot data and MP/ACPI area all assume RAM from 0 past 1 MiB. */
	if (gm->nr < 1 || gm->r[0].gpa != 0 || gm_low_end(gm) <= LAYOUT_HIMEM) {
		log_err("e820: guest RAM must start at 0 and extend past 1 MiB");
		return -EINVAL;
	}
	rc = add(tab, max, &n, 0, LAYOUT_EBDA_START, E820_RAM);
	if (!rc)
		rc = add(tab, max, &n, LAYOUT_EBDA_START, LAYOUT_SYSTEM_END - LAYOUT_EBDA_START,
			 E820_RESERVED);
	/* [LAYOUT_SYSTEM_END, 1 MiB) stays a hole, as on PCs (BIOS ROM area). */
	for (int i = 0; !rc && i < gm->nr; i++) {
		uint64_t start = gm->r[i].gpa > LAYOUT_HIMEM ? gm->r[i].gpa : LAYOUT_HIMEM;
		uint64_t end = gm->r[i].gpa + gm->r[i].size;

		if (end > start)
			rc = add(tab, max, &n, start, end - start, E820_RAM);
	}
	return rc ? rc : n;
}

static void set_initrd(struct boot_params *bp, const struct boot_initrd *initrd)
{
	if (!initrd || !initrd->size)
		return;
	bp->hdr.ramdisk_image = (uint32_t)initrd->addr;
	bp->ext_ramdisk_image = (uint32_t)(initrd->addr >> 32);
	bp->hdr.ramdisk_size = (uint32_t)initrd->size;
	bp->ext_ramdisk_size = (uint32_t)(initrd->size >> 32);
}

static int write_zero_page(struct guest_mem *gm, const struct boot_image *img,
			   const struct boot_initrd *initrd, uint32_t cmdline_size)
{
	struct boot_params bp;
	int n;

	memset(&bp, 0, sizeof(bp));
	if (img->has_setup_header) {
		bp.hdr = img->hdr; /* the kernel's own fields: alignment, init_size, ... */
		if (img->hdr.cmdline_size && cmdline_size > img->hdr.cmdline_size + 1)
			log_warn("cmdline: %u bytes, the kernel keeps only %u", cmdline_size,
				 img->hdr.cmdline_size);
	} else {
		bp.hdr.kernel_alignment = ELF_KERNEL_ALIGN;
	}
	bp.hdr.type_of_loader = LOADER_UNDEFINED;
	bp.hdr.boot_flag = 0xaa55;
	bp.hdr.header = BOOT_HDRS_MAGIC;
	bp.hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = HEAP_END;
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp.ext_cmd_line_ptr = (uint32_t)(LAYOUT_CMDLINE >> 32);
	bp.hdr.cmdline_size = cmdline_size;
	set_initrd(&bp, initrd);
	/* boot_write_acpi puts the RSDP there (kernels before boot protocol
	 * 2.14 ignore this field and find it by scanning 0xe0000-0xfffff). */
	bp.acpi_rsdp_addr = LAYOUT_RSDP;
	n = boot_e820(gm, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return n;
	bp.e820_entries = (uint8_t)n;
	if (gm_write(gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp))) {
		log_err("boot_params: zero page at 0x%llx not in guest RAM", LAYOUT_ZERO_PAGE);
		return -EFAULT;
	}
	return 0;
}

int boot_write_params(struct guest_mem *gm, const struct boot_image *img,
		      const struct boot_initrd *initrd, uint32_t cmdline_size)
{
	switch (img->proto) {
	case BOOT_PROTO_LINUX:
		return write_zero_page(gm, img, initrd, cmdline_size);
	case BOOT_PROTO_PVH:
		return boot_write_pvh(gm, initrd);
	default:
		log_err("boot_params: image has no resolved boot protocol (%d)", (int)img->proto);
		return -EINVAL;
	}
}
