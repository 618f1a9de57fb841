/* ACPI table layouts (ACPI 6.5, chapter 5), written by hand from the spec:
 * no ACPICA headers in the tree. All fields little-endian, all structures
 * packed; the sizes are asserted below. Not a public API: acpi.c writes
 * these, the unit tests and tests/host/acpi_dump.c read them. */
#ifndef EMBER_ACPI_INTERNAL_H
#define EMBER_ACPI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ember/boot.h"
#include "ember/layout.h"

#define ACPI_OEM_ID "EMBER "      /* 6 bytes */
#define ACPI_OEM_TABLE_ID "EMBERVM " /* 8 bytes */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "EMBR"
#define ACPI_CREATOR_REVISION 1
#define ACPI_HYPERVISOR_ID "EMBERKVM"

/* Root System Description Pointer, revision 2 (5.2.5.3). */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* first 20 bytes sum to 0 */
	char oem_id[6];
	uint8_t revision;  /* 2 */
	uint32_t rsdt_addr; /* 0: we give only the XSDT */
	uint32_t length;   /* 36 */
	uint64_t xsdt_addr;
	uint8_t ext_checksum; /* all 36 bytes sum to 0 */
	uint8_t reserved[3];
} __attribute__((packed));

#define ACPI_RSDP_V1_LEN 20

/* System Description Table header (5.2.6). */
struct acpi_header {
	char signature[4];
	uint32_t length; /* whole table, header included */
	uint8_t revision;
	uint8_t checksum; /* whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure (5.2.3.2). */
struct acpi_gas {
	uint8_t space_id; /* 1: System I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1: byte access */
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* Fixed ACPI Description Table, revision 6 (5.2.9). In hardware-reduced mode
 * everything from sci_int to century and x_pm1a_evt_blk to x_gpe1_blk is
 * ignored; we leave it zero. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control;
	struct acpi_gas sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

#define ACPI_FADT_REVISION 6
#define ACPI_FADT_MINOR 5 /* ACPI 6.5 */
/* FADT flags (table 5.10). */
#define ACPI_FADT_PWR_BUTTON (1U << 4) /* no fixed power button */
#define ACPI_FADT_SLP_BUTTON (1U << 5) /* no fixed sleep button */
#define ACPI_FADT_HW_REDUCED (1U << 20)
/* IAPC_BOOT_ARCH (table 5.11). */
#define ACPI_IAPC_8042 (1U << 1)
#define ACPI_IAPC_NO_VGA (1U << 2)
#define ACPI_IAPC_NO_MSI (1U << 3)
#define ACPI_IAPC_NO_ASPM (1U << 4)
#define ACPI_IAPC_NO_CMOS_RTC (1U << 5)

/* Multiple APIC Description Table (5.2.12) and the entries we use. */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags; /* bit 0 PCAT_COMPAT: dual 8259s present */
} __attribute__((packed));

#define ACPI_MADT_REVISION 5
#define ACPI_MADT_PCAT_COMPAT 1U

enum { ACPI_MADT_LAPIC = 0, ACPI_MADT_IOAPIC = 1, ACPI_MADT_ISO = 2, ACPI_MADT_LAPIC_NMI = 4 };

struct acpi_madt_lapic {
	uint8_t type, length; /* 0, 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* bit 0 enabled */
} __attribute__((packed));

struct acpi_madt_ioapic {
	uint8_t type, length; /* 1, 12 */
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));

/* Interrupt Source Override: ISA `source` is wired to `gsi`. */
struct acpi_madt_iso {
	uint8_t type, length; /* 2, 10 */
	uint8_t bus;          /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags; 0 = conforms to the bus */
} __attribute__((packed));

struct acpi_madt_lapic_nmi {
	uint8_t type, length;  /* 4, 6 */
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

#define ACPI_MADT_SIZE(n)                                                                 \
	(sizeof(struct acpi_madt) + (n) * sizeof(struct acpi_madt_lapic) +               \
	 sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) +                  \
	 sizeof(struct acpi_madt_lapic_nmi))

#define ACPI_XSDT_ENTRIES 2 /* FADT, MADT */
#define ACPI_XSDT_SIZE (sizeof(struct acpi_header) + ACPI_XSDT_ENTRIES * sizeof(uint64_t))
#define ACPI_DSDT_REVISION 2 /* 64-bit AML integers */
#define ACPI_TABLE_ALIGN 16

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP v2 is 36 bytes");
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112 &&
		       offsetof(struct acpi_fadt, x_dsdt) == 140 &&
		       offsetof(struct acpi_fadt, sleep_control) == 244 &&
		       offsetof(struct acpi_fadt, hypervisor_id) == 268,
	       "FADT field offsets (table 5.9)");
_Static_assert(sizeof(struct acpi_madt) == 44 && sizeof(struct acpi_madt_lapic) == 8 &&
		       sizeof(struct acpi_madt_ioapic) == 12 && sizeof(struct acpi_madt_iso) == 10 &&
		       sizeof(struct acpi_madt_lapic_nmi) == 6,
	       "MADT structure sizes");
_Static_assert(LAYOUT_EBDA_START + BOOT_MPTABLE_MAX == LAYOUT_ACPI_START,
	       "ACPI tables start right after the MP table's slot");

#endif
