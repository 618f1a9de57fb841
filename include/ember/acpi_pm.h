/* ACPI hardware-reduced sleep registers (FADT SLEEP_CONTROL_REG and
 * SLEEP_STATUS_REG, ember/acpi.h): one 2-byte PIO window at
 * LAYOUT_ACPI_SLEEP_CTL, offset 0 = control, 1 = status. A control write
 * with SLP_EN set and SLP_TYP == ACPI_SLP_TYP_S5 is the guest's `poweroff`:
 * it calls off_cb. Other writes (other sleep states, clearing WAK_STS) are
 * ignored; both registers read 0. No state beyond the callback, no lock. */
#ifndef EMBER_ACPI_PM_H
#define EMBER_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*acpi_pm_off_fn)(void *ctx);

struct acpi_pm {
	acpi_pm_off_fn off_cb;
	void *ctx;
};

#define ACPI_PM_OFS_CTL 0
#define ACPI_PM_OFS_STS 1

void acpi_pm_init(struct acpi_pm *pm, acpi_pm_off_fn off_cb, void *ctx);
/* Bus handler for the window [LAYOUT_ACPI_SLEEP_CTL, +LAYOUT_ACPI_SLEEP_LEN). */
void acpi_pm_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#endif
