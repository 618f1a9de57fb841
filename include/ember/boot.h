/* x86_64 boot: kernel loaders and the boot-time data structures the guest
 * reads (boot_params/e820, PVH start info, page tables + GDT, MP table,
 * ACPI tables).
 *
 * Call order (builder): boot_load_kernel -> boot_load_initrd ->
 * boot_write_cmdline -> boot_write_params -> boot_write_mptable ->
 * boot_write_acpi -> boot_write_pagetables; then per vCPU
 * boot_init_regs/boot_init_sregs.
 * Every function returns 0 or -errno and writes guest memory only through
 * gm_ptr(). Malformed images are rejected with a log line naming the defect. */
#ifndef EMBER_BOOT_H
#define EMBER_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include <asm/bootparam.h>

struct guest_mem;
struct kvm_regs;
struct kvm_sregs;

enum boot_proto {
	BOOT_PROTO_AUTO = 0, /* PVH when the ELF has the note, else Linux 64-bit */
	BOOT_PROTO_LINUX,    /* Linux 64-bit boot protocol, boot_params in RSI */
	BOOT_PROTO_PVH,      /* Xen PVH 32-bit entry, hvm_start_info in RBX */
};

enum boot_format { BOOT_FMT_ELF = 1, BOOT_FMT_BZIMAGE };

struct boot_image {
	enum boot_format format;
	enum boot_proto proto;  /* resolved: LINUX or PVH */
	uint64_t entry;         /* RIP (64-bit entry) or EIP (PVH) */
	uint64_t kernel_start;  /* lowest loaded gpa */
	uint64_t kernel_end;    /* one past the highest loaded byte (incl. bss / init_size) */
	bool has_pvh_note;
	uint64_t pvh_entry;
	/* bzImage only: the setup header copied from the image, seeded into boot_params. */
	bool has_setup_header;
	struct setup_header hdr;
	uint64_t initrd_addr_max; /* highest address the initrd may end at, inclusive */
};

struct boot_initrd {
	uint64_t addr; /* 0 when none */
	uint64_t size;
};

/* Detect ELF vmlinux or bzImage from `fd` and load it into guest memory.
 * `want` selects the entry (AUTO, LINUX or PVH; PVH without the note is -EINVAL). */
int boot_load_kernel(struct guest_mem *gm, int fd, enum boot_proto want, struct boot_image *img);
/* Individual loaders (boot_load_kernel dispatches on the magic). */
int boot_load_elf(struct guest_mem *gm, int fd, enum boot_proto want, struct boot_image *img);
int boot_load_bzimage(struct guest_mem *gm, int fd, enum boot_proto want, struct boot_image *img);

/* Place the initrd at the top of low RAM (page aligned, below the image's
 * initrd_addr_max, above the kernel). */
int boot_load_initrd(struct guest_mem *gm, int fd, const struct boot_image *img,
		     struct boot_initrd *out);

/* Copy the NUL-terminated command line to LAYOUT_CMDLINE; -E2BIG if it does
 * not fit LAYOUT_CMDLINE_MAX including the NUL. */
int boot_write_cmdline(struct guest_mem *gm, const char *cmdline);

/* e820 map of `gm` into `tab` (at most `max` entries); returns the count or -errno. */
int boot_e820(const struct guest_mem *gm, struct boot_e820_entry *tab, int max);

/* Zero page at LAYOUT_ZERO_PAGE (Linux proto) or hvm_start_info at
 * LAYOUT_PVH_INFO + memmap + modlist (PVH), per img->proto. */
int boot_write_params(struct guest_mem *gm, const struct boot_image *img,
		      const struct boot_initrd *initrd, uint32_t cmdline_size);

/* MP table (spec 1.4) for `ncpus` (1..LAYOUT_MAX_VCPUS) at LAYOUT_EBDA_START.
 * It takes at most BOOT_MPTABLE_MAX bytes (924 for 32 vCPUs); the ACPI tables
 * go in [LAYOUT_EBDA_START + BOOT_MPTABLE_MAX, LAYOUT_SYSTEM_END). */
#define BOOT_MPTABLE_MAX 0x400ULL
int boot_write_mptable(struct guest_mem *gm, int ncpus);

/* ACPI tables for `ncpus` (1..LAYOUT_MAX_VCPUS) vCPUs: RSDP (v2) at
 * LAYOUT_RSDP, then XSDT, FADT (hardware-reduced, sleep registers at
 * LAYOUT_ACPI_SLEEP_CTL/STS), MADT and DSDT (COM1, PS/2 keyboard, \_S5_) in
 * [LAYOUT_ACPI_START, LAYOUT_SYSTEM_END). boot_write_params points the
 * kernel (zero page or PVH start info) at LAYOUT_RSDP. */
int boot_write_acpi(struct guest_mem *gm, int ncpus);
/* The same with one DSDT LNRO0005 device per virtio-mmio window. */
#define BOOT_MAX_MMIO_DEVS 19 /* GSIs 5..23 */
struct boot_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t irq;
};
int boot_write_acpi_devs(struct guest_mem *gm, int ncpus, const struct boot_mmio_dev *devs,
			 int ndevs);

/* Identity page tables (first 1 GiB, 2 MiB pages) and the boot GDT/IDT: the
 * 64-bit GDT at LAYOUT_GDT and a 32-bit one for PVH at 0x540, so the call
 * needs no boot_image and its order relative to boot_write_params is free. */
int boot_write_pagetables(struct guest_mem *gm);

/* Boot register state for the BSP. `sregs` must come from KVM_GET_SREGS:
 * only the fields the boot protocol defines are changed. */
void boot_init_regs(struct kvm_regs *regs, const struct boot_image *img);
void boot_init_sregs(struct kvm_sregs *sregs, const struct boot_image *img);

#endif
