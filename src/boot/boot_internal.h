/* Helpers and guest-visible structures shared by the src/boot files (not a
 * public API: the builder uses ember/boot.h only; the unit tests peek here). */
#ifndef EMBER_BOOT_INTERNAL_H
#define EMBER_BOOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>
#include <elf.h>

#include "ember/boot.h"
#include "ember/layout.h"

struct guest_mem;

#define BOOT_PAGE_SIZE 0x1000ULL
#define BOOT_HDRS_MAGIC 0x53726448U /* "HdrS", little-endian */
#define BOOT_E820_MAX 8             /* our maps have at most 5 entries */

/* --- file input (kernel.c) -------------------------------------------------- */

/* Read exactly `len` bytes at `off`, retrying EINTR and short reads; a file
 * that ends early is -EIO. `what` names the file in the log line. */
int boot_pread_full(int fd, void *buf, uint64_t len, uint64_t off, const char *what);
/* Size of the regular file `fd`; anything else is -EINVAL. */
int boot_file_size(int fd, uint64_t *size, const char *what);

/* --- ELF notes (elf_note.c) ------------------------------------------------- */

#define BOOT_XEN_ELFNOTE_PHYS32_ENTRY 18 /* Xen public/elfnote.h */

/* Walk the PT_NOTE segments in `ph` for the Xen PHYS32_ENTRY note; sets
 * img->has_pvh_note / img->pvh_entry. Malformed notes are -EINVAL. */
int boot_elf_find_pvh(int fd, const Elf64_Phdr *ph, int phnum, uint64_t fsize,
		      struct boot_image *img);

/* --- PVH (pvh.c) ------------------------------------------------------------ */

/* Xen PVH start-of-day structures. No UAPI header carries them, so they are
 * written here from Xen's public header
 * xen/include/public/arch-x86/hvm/start_info.h (structure version 1). */
#define BOOT_HVM_START_MAGIC 0x336ec578U
#define BOOT_HVM_START_VERSION 1U

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820_* values */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");
_Static_assert(LAYOUT_PVH_INFO + sizeof(struct hvm_start_info) <= LAYOUT_PVH_MODLIST,
	       "start info runs into the module list");

int boot_write_pvh(struct guest_mem *gm, const struct boot_initrd *initrd);

/* --- GDT (pagetables.c, regs.c) ---------------------------------------------- */

/* The 64-bit GDT lives at LAYOUT_GDT as Firecracker's; the PVH one (32-bit
 * code segment) sits next to it so one boot_write_pagetables() call serves
 * both protocols and memory always matches the cached segments in sregs. */
#define BOOT_GDT_PVH 0x540ULL
#define BOOT_GDT_ENTRIES 4
#define BOOT_IDT_LIMIT 7 /* one zeroed 8-byte gate: any exception shuts down */

uint64_t boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
void boot_gdt_table(enum boot_proto proto, uint64_t gdt[BOOT_GDT_ENTRIES]);

/* --- MP table 1.4 (mptable.c) ---------------------------------------------- */

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* config table */
	uint8_t length;    /* in 16-byte units: 1 */
	uint8_t spec_rev;  /* 4 = 1.4 */
	uint8_t checksum;
	uint8_t feature1; /* 0: a config table is present */
	uint8_t feature2; /* bit 7 IMCRP: 0 = virtual wire mode */
	uint8_t feature3[3];
} __attribute__((packed));

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_proc {
	uint8_t type; /* 0 */
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags; /* bit 0 enabled, bit 1 bootstrap processor */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type; /* 1 */
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type; /* 2 */
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags; /* bit 0 enabled */
	uint32_t addr;
} __attribute__((packed));

/* I/O (type 3) and local (type 4) interrupt assignment entries share a layout. */
struct mp_irq {
	uint8_t type;
	uint8_t irq_type; /* 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
	uint16_t flags;   /* polarity/trigger, 0 = conforms to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic; /* 0xff: every local APIC */
	uint8_t dst_pin;  /* IOAPIC INTIN# or LINTIN# */
} __attribute__((packed));

enum { MP_PROC = 0, MP_BUS, MP_IOAPIC, MP_IOINT, MP_LINT };
#define MP_NR_IRQS ((int)LAYOUT_IRQ_LAST + 1)

#define BOOT_MPTABLE_SIZE(n)                                                          \
	(sizeof(struct mp_floating) + sizeof(struct mp_config) +                      \
	 (n) * sizeof(struct mp_proc) + sizeof(struct mp_bus) + sizeof(struct mp_ioapic) + \
	 (MP_NR_IRQS + 2) * sizeof(struct mp_irq))

_Static_assert(sizeof(struct mp_floating) == 16 && sizeof(struct mp_config) == 44 &&
		       sizeof(struct mp_proc) == 20 && sizeof(struct mp_bus) == 8 &&
		       sizeof(struct mp_ioapic) == 8 && sizeof(struct mp_irq) == 8,
	       "MP spec 1.4 structure sizes");
_Static_assert(BOOT_MPTABLE_SIZE(LAYOUT_MAX_VCPUS) <= BOOT_MPTABLE_MAX,
	       "MP table outgrows its slot below the ACPI tables");

#endif
