/* x86_64 guest physical layout (design.md §4, Firecracker >= 1.13). */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_IDT 0x520ULL
#define LAYOUT_PVH_INFO 0x6000ULL
#define LAYOUT_PVH_MODLIST 0x6040ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_PVH_MEMMAP 0x7000ULL
#define LAYOUT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 2048U
#define LAYOUT_EBDA_START 0x9fc00ULL /* MP table + ACPI tables live here */
#define LAYOUT_ACPI_START 0xa0000ULL /* ACPI tables: after the MP table's 1 KiB slot */
#define LAYOUT_RSDP 0xe0000ULL
#define LAYOUT_SYSTEM_END 0xe0000ULL
#define LAYOUT_HIMEM 0x100000ULL /* kernel load floor */
#define LAYOUT_MMIO_GAP_START 0xc0000000ULL
#define LAYOUT_MMIO_GAP_END 0x100000000ULL
#define LAYOUT_BOOT_TIMER 0xc0000000ULL
#define LAYOUT_VIRTIO_MMIO_START 0xc0001000ULL
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
#define LAYOUT_IRQ_VIRTIO_FIRST 5U
#define LAYOUT_IRQ_LAST 23U
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_TSS 0xfffbd000ULL

#define LAYOUT_COM1_PORT 0x3f8U
#define LAYOUT_COM1_IRQ 4U
#define LAYOUT_I8042_PORT 0x60U /* data 0x60, command/status 0x64 */
#define LAYOUT_I8042_IRQ 1U
/* ACPI hardware-reduced sleep registers (FADT SLEEP_CONTROL_REG and
 * SLEEP_STATUS_REG, 8-bit, System I/O). 0x600 is free on our machine: clear
 * of the PIC (0x20, 0xa0, ELCR 0x4d0), PIT (0x40-0x43), speaker (0x61),
 * i8042 (0x60, 0x64), RTC (0x70), COM1 (0x3f8-0x3ff) and PCI config
 * (0xcf8-0xcff), and of ACPICA's list of ports AML may not touch. */
#define LAYOUT_ACPI_SLEEP_CTL 0x600U
#define LAYOUT_ACPI_SLEEP_STS 0x601U
#define LAYOUT_ACPI_SLEEP_LEN 2U

#define LAYOUT_MAX_VCPUS 32

#endif
