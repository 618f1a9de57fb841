/* ACPI sleep control/status registers: the hardware-reduced replacement of
 * PM1a_CNT. Only S5 (soft off) is implemented; sleeping states would need a
 * wake path we do not have, so those writes are ignored and the guest,
 * which polls WAK_STS afterwards, simply carries on. */
#include "ember/acpi_pm.h"

#include <string.h>

#include "ember/acpi.h"
#include "ember/log.h"

void acpi_pm_init(struct acpi_pm *pm, acpi_pm_off_fn off_cb, void *ctx)
{
	pm->off_cb = off_cb;
	pm->ctx = ctx;
}

void acpi_pm_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	const struct acpi_pm *pm = ctx;
	uint8_t v, typ;

	if (!is_write) {
		memset(data, 0, len); /* WAK_STS never set: we never sleep */
		return;
	}
	/* The registers are 8 bits wide (FADT GAS): a wider access counts by
	 * its first byte, as a byte write to the same port would. */
	if (off != ACPI_PM_OFS_CTL || len == 0)
		return;
	v = data[0];
	typ = (uint8_t)((v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT);
	if (!(v & ACPI_SLP_EN))
		return;
	if (typ != ACPI_SLP_TYP_S5) {
		log_ratelimited(LOG_WARN, "acpi: guest asked for sleep type %u: only S5 (%u) is "
				"supported, ignored", typ, ACPI_SLP_TYP_S5);
		return;
	}
	if (pm->off_cb)
		pm->off_cb(pm->ctx);
}
