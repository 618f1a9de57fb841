/* Boot page tables and descriptor tables. The Linux 64-bit entry needs long
 * mode, hence paging: the first 1 GiB is identity-mapped with 2 MiB pages,
 * which covers the kernel, zero page, command line and stack. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

#define PTE_PRESENT (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7) /* 2 MiB page in a PD entry */
#define PT_ENTRIES 512
#define HUGE_PAGE_SHIFT 21

/* Descriptor flags: access byte (bits 0-7) and G/DB/L/AVL nibble (12-15). */
#define SEG_CODE64 0xa09b /* G, L, present, code exec/read accessed */
#define SEG_CODE32 0xc09b /* G, DB: flat 32-bit code for PVH */
#define SEG_DATA 0xc093   /* G, DB, present, data read/write accessed */
#define SEG_TSS64 0x808b  /* G, present, busy TSS */
#define SEG_TSS32 0x008b  /* present, busy TSS, byte granular */
#define TSS_LIMIT 0x67    /* the smallest valid 32-bit TSS */

uint64_t boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000U) << 32) | ((uint64_t)(flags & 0xf0ffU) << 40) |
	       ((uint64_t)(limit & 0x000f0000U) << 32) | ((uint64_t)(base & 0x00ffffffU) << 16) |
	       (uint64_t)(limit & 0xffffU);
}

void boot_gdt_table(enum boot_proto proto, uint64_t gdt[BOOT_GDT_ENTRIES])
{
	/* Same selectors for both: 0x08 code, 0x10 data, 0x18 TSS. */
	gdt[0] = 0;
	if (proto == BOOT_PROTO_PVH) {
		gdt[1] = boot_gdt_entry(SEG_CODE32, 0, 0xffffffffU);
		gdt[2] = boot_gdt_entry(SEG_DATA, 0, 0xffffffffU);
		gdt[3] = boot_gdt_entry(SEG_TSS32, 0, TSS_LIMIT);
	} else {
		gdt[1] = boot_gdt_entry(SEG_CODE64, 0, 0xfffff);
		gdt[2] = boot_gdt_entry(SEG_DATA, 0, 0xfffff);
		gdt[3] = boot_gdt_entry(SEG_TSS64, 0, 0xfffff);
	}
}

static int put(struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len,
	       const char *what)
{
	if (gm_write(gm, gpa, src, len)) {
		log_err("boot: %s at 0x%llx not in guest RAM", what, (unsigned long long)gpa);
		return -EFAULT;
	}
	return 0;
}

static int write_descriptor_tables(struct guest_mem *gm)
{
	uint64_t gdt[BOOT_GDT_ENTRIES], idt = 0;
	int rc;

	boot_gdt_table(BOOT_PROTO_LINUX, gdt);
	rc = put(gm, LAYOUT_GDT, gdt, sizeof(gdt), "GDT");
	if (rc)
		return rc;
	boot_gdt_table(BOOT_PROTO_PVH, gdt);
	rc = put(gm, BOOT_GDT_PVH, gdt, sizeof(gdt), "PVH GDT");
	if (rc)
		return rc;
	return put(gm, LAYOUT_IDT, &idt, sizeof(idt), "IDT");
}

int boot_write_pagetables(struct guest_mem *gm)
{
	uint64_t t[PT_ENTRIES];
	int rc;

	memset(t, 0, sizeof(t));
	t[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_RW;
	rc = put(gm, LAYOUT_PML4, t, sizeof(t), "PML4");
	if (rc)
		return rc;
	t[0] = LAYOUT_PD | PTE_PRESENT | PTE_RW;
	rc = put(gm, LAYOUT_PDPT, t, sizeof(t), "PDPT");
	if (rc)
		return rc;
	for (uint64_t i = 0; i < PT_ENTRIES; i++)
		t[i] = (i << HUGE_PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_PS;
	rc = put(gm, LAYOUT_PD, t, sizeof(t), "PD");
	if (rc)
		return rc;
	return write_descriptor_tables(gm);
}
