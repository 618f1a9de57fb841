/* Initial BSP register state for the two entry protocols. Pure functions on
 * the KVM structs; the segment caches are derived from the same GDT entries
 * boot_write_pagetables() puts in guest memory, so a reload changes nothing. */
#include <string.h>

#include <linux/kvm.h>

#include "boot_internal.h"

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define RFLAGS_RESERVED 0x2 /* bit 1 always reads as 1 */

static struct kvm_segment seg_from_gdt(uint64_t e, uint16_t index)
{
	uint32_t limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000));
	struct kvm_segment s = {
		.base = ((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24),
		.selector = (uint16_t)(index * 8),
		.type = (e >> 40) & 0xf,
		.s = (e >> 44) & 1,
		.dpl = (e >> 45) & 3,
		.present = (e >> 47) & 1,
		.avl = (e >> 52) & 1,
		.l = (e >> 53) & 1,
		.db = (e >> 54) & 1,
		.g = (e >> 55) & 1,
	};

	s.limit = s.g ? (limit << 12) | 0xfff : limit;
	s.unusable = !s.present;
	return s;
}

void boot_init_sregs(struct kvm_sregs *sregs, const struct boot_image *img)
{
	bool pvh = img->proto == BOOT_PROTO_PVH;
	uint64_t gdt[BOOT_GDT_ENTRIES];
	struct kvm_segment data;

	boot_gdt_table(img->proto, gdt);
	sregs->gdt.base = pvh ? BOOT_GDT_PVH : LAYOUT_GDT;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = LAYOUT_IDT;
	sregs->idt.limit = BOOT_IDT_LIMIT;
	sregs->cs = seg_from_gdt(gdt[1], 1);
	data = seg_from_gdt(gdt[2], 2);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = seg_from_gdt(gdt[3], 3);
	/* Assigned rather than OR-ed into the reset value so CD/NW (set at
	 * reset) do not leave the guest running with caches disabled. */
	if (pvh) {
		/* PVH: 32-bit protected mode, paging off. */
		sregs->cr0 = CR0_PE | CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
	} else {
		sregs->cr0 = CR0_PE | CR0_ET | CR0_PG;
		sregs->cr3 = LAYOUT_PML4;
		sregs->cr4 = CR4_PAE;
		sregs->efer = EFER_LME | EFER_LMA;
	}
}

void boot_init_regs(struct kvm_regs *regs, const struct boot_image *img)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = RFLAGS_RESERVED;
	regs->rip = img->entry;
	if (img->proto == BOOT_PROTO_PVH) {
		regs->rbx = LAYOUT_PVH_INFO;
	} else {
		regs->rsp = LAYOUT_STACK;
		regs->rbp = LAYOUT_STACK;
		regs->rsi = LAYOUT_ZERO_PAGE;
	}
}
