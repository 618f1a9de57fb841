/* acpi_pm.c: the power-off callback fires for SLP_EN + SLP_TYP S5 on the
 * control register and nothing else; both registers read 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"
#include "ember/acpi.h"
#include "ember/acpi_pm.h"
#include "ember/log.h"

static int offs;

static void on_off(void *ctx)
{
	assert_ptr_equal(ctx, &offs);
	offs++;
}

static struct acpi_pm dev(void)
{
	struct acpi_pm pm;

	offs = 0;
	acpi_pm_init(&pm, on_off, &offs);
	return pm;
}

/* What Linux's acpi_hw_extended_sleep() writes for S5. */
static void linux_poweroff(void **state)
{
	struct acpi_pm pm = dev();

	io_wr(acpi_pm_io, &pm, ACPI_PM_OFS_STS, ACPI_WAK_STS); /* it clears WAK_STS first */
	assert_int_equal(offs, 0);
	io_wr(acpi_pm_io, &pm, ACPI_PM_OFS_CTL, (5 << 2) | (1 << 5));
	assert_int_equal(offs, 1);
}

/* All 256 byte values: fires iff SLP_EN and SLP_TYP == 5 (reserved bits ignored). */
static void only_slp_en_with_s5(void **state)
{
	struct acpi_pm pm = dev();
	int want = 0;

	for (unsigned v = 0; v < 256; v++) {
		io_wr(acpi_pm_io, &pm, ACPI_PM_OFS_CTL, (uint8_t)v);
		want += (v & ACPI_SLP_EN) && ((v >> 2) & 7) == ACPI_SLP_TYP_S5;
		assert_int_equal(offs, want);
	}
	assert_int_equal(want, 16); /* bits 0, 1, 6, 7 free: 2^4 values */
	io_wr(acpi_pm_io, &pm, ACPI_PM_OFS_CTL, (3 << 2) | ACPI_SLP_EN); /* S3: ignored */
	io_wr(acpi_pm_io, &pm, ACPI_PM_OFS_CTL, 5 << 2);                /* no SLP_EN */
	assert_int_equal(offs, want);
}

static void status_register_never_fires(void **state)
{
	struct acpi_pm pm = dev();

	for (unsigned v = 0; v < 256; v++)
		io_wr(acpi_pm_io, &pm, ACPI_PM_OFS_STS, (uint8_t)v);
	assert_int_equal(offs, 0);
}

static void reads_zero(void **state)
{
	struct acpi_pm pm = dev();
	uint8_t wide[4] = { 0x5a, 0x5a, 0x5a, 0x5a };

	assert_int_equal(io_rd(acpi_pm_io, &pm, ACPI_PM_OFS_CTL), 0);
	assert_int_equal(io_rd(acpi_pm_io, &pm, ACPI_PM_OFS_STS), 0);
	acpi_pm_io(&pm, 0, wide, sizeof(wide), false);
	assert_memory_equal(wide, "\0\0\0\0", 4);
	assert_int_equal(offs, 0);
}

/* A 16-bit write counts by its low byte (the register is 8 bits); empty
 * writes and a device without a callback do nothing. */
static void odd_accesses(void **state)
{
	struct acpi_pm pm = dev();
	uint8_t w[2] = { (5 << 2) | ACPI_SLP_EN, 0xff };

	acpi_pm_io(&pm, ACPI_PM_OFS_CTL, w, 2, true);
	assert_int_equal(offs, 1);
	acpi_pm_io(&pm, ACPI_PM_OFS_CTL, w, 0, true);
	assert_int_equal(offs, 1);
	acpi_pm_init(&pm, NULL, NULL);
	io_wr(acpi_pm_io, &pm, ACPI_PM_OFS_CTL, (5 << 2) | ACPI_SLP_EN);
	assert_int_equal(offs, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(linux_poweroff),
		cmocka_unit_test(only_slp_en_with_s5),
		cmocka_unit_test(status_register_never_fires),
		cmocka_unit_test(reads_zero),
		cmocka_unit_test(odd_accesses),
	};

	log_set_level(LOG_ERROR); /* the ignored sleep types warn */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
