/* The ACPI contract between the tables ember writes (src/boot/acpi.c) and the
 * sleep-control device that acts on them (src/devices/legacy/acpi_pm.c).
 *
 * The FADT is hardware-reduced: there is no PM1 block, so the guest powers
 * off through the FADT's SLEEP_CONTROL_REG (ACPI 6.5, 4.8.3.7): it writes
 * SLP_TYPx << 2 | SLP_EN, with SLP_TYPx from the DSDT's \_S5_ package. Linux
 * does exactly that in acpi_hw_extended_sleep() on `poweroff`. */
#ifndef EMBER_ACPI_H
#define EMBER_ACPI_H

#define ACPI_SLP_TYP_S5 5U       /* \_S5_ package element 0: our S5 sleep type */
#define ACPI_SLP_TYP_SHIFT 2     /* SLEEP_CONTROL_REG bits 2-4: SLP_TYPx */
#define ACPI_SLP_TYP_MASK 0x1cU
#define ACPI_SLP_EN 0x20U        /* SLEEP_CONTROL_REG bit 5: enter the state */
#define ACPI_WAK_STS 0x80U       /* SLEEP_STATUS_REG bit 7: woken (write 1 to clear) */

#endif
