/* guest_mem.c: gm_init layout and gm_ptr's edge cases (design.md §8.3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ember/guest_mem.h"
#include "ember/layout.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void test_init_rejects(void **state)
{
	struct guest_mem gm;

	assert_int_equal(gm_init(&gm, 0), -EINVAL);
	assert_int_equal(gm_init(&gm, 4096 + 1), -EINVAL);
	assert_int_equal(gm_init(&gm, 2 * MIB - 512), -EINVAL);
}

static void test_single_region_edges(void **state)
{
	struct guest_mem gm;
	uint64_t end = 2 * MIB;
	uint8_t *p;

	assert_int_equal(gm_init(&gm, end), 0);
	assert_int_equal(gm.nr, 1);
	assert_int_equal(gm.ram_size, end);
	assert_int_equal(gm_low_end(&gm), end);
	assert_ptr_equal(gm_ptr(&gm, 0, end), gm.r[0].host);
	p = gm_ptr(&gm, end - 1, 1);
	assert_ptr_equal(p, gm.r[0].host + end - 1);
	assert_null(gm_ptr(&gm, end - 1, 2));
	assert_null(gm_ptr(&gm, end, 1));
	assert_null(gm_ptr(&gm, 0, end + 1));
	assert_null(gm_ptr(&gm, 0x1000, 0));
	assert_null(gm_ptr(&gm, UINT64_MAX - 1, 4));
	assert_null(gm_ptr(&gm, 1, UINT64_MAX));
	gm_destroy(&gm);
	assert_int_equal(gm.nr, 0);
}

static void test_copy_helpers(void **state)
{
	struct guest_mem gm;
	uint32_t v = 0xdeadbeef, r = 0;

	assert_int_equal(gm_init(&gm, MIB), 0);
	assert_int_equal(gm_write(&gm, 0x1000, &v, sizeof(v)), 0);
	assert_int_equal(gm_read(&gm, 0x1000, &r, sizeof(r)), 0);
	assert_int_equal(r, v);
	assert_int_equal(gm_write(&gm, MIB - 2, &v, sizeof(v)), -EFAULT);
	assert_int_equal(gm_read(&gm, MIB - 2, &r, sizeof(r)), -EFAULT);
	gm_destroy(&gm);
}

/* Two regions laid out like a >3 GiB guest but backed by small buffers. */
static void fake_two(struct guest_mem *gm, uint8_t **lo, uint8_t **hi)
{
	*lo = calloc(1, 0x1000);
	*hi = calloc(1, 0x2000);
	assert_non_null(*lo);
	assert_non_null(*hi);
	memset(gm, 0, sizeof(*gm));
	gm->r[0] = (struct gm_region){ .gpa = LAYOUT_MMIO_GAP_START - 0x1000, .size = 0x1000,
				       .host = *lo };
	gm->r[1] = (struct gm_region){ .gpa = LAYOUT_MMIO_GAP_END, .size = 0x2000, .host = *hi };
	gm->nr = 2;
}

static void test_two_regions(void **state)
{
	const uint64_t lo_end = LAYOUT_MMIO_GAP_START, hi = LAYOUT_MMIO_GAP_END;
	struct guest_mem gm;
	uint8_t *lo_buf, *hi_buf;

	fake_two(&gm, &lo_buf, &hi_buf);
	assert_ptr_equal(gm_ptr(&gm, lo_end - 1, 1), lo_buf + 0xfff);
	assert_null(gm_ptr(&gm, lo_end - 1, 2));            /* into the gap */
	assert_null(gm_ptr(&gm, lo_end - 8, hi - lo_end + 16)); /* across the gap */
	assert_null(gm_ptr(&gm, lo_end, 1));                /* in the gap */
	assert_null(gm_ptr(&gm, hi - 1, 2));                /* gap into high RAM */
	assert_ptr_equal(gm_ptr(&gm, hi, 0x2000), hi_buf);
	assert_ptr_equal(gm_ptr(&gm, hi + 0x1fff, 1), hi_buf + 0x1fff);
	assert_null(gm_ptr(&gm, hi + 0x1fff, 2));
	assert_null(gm_ptr(&gm, hi + 0x2000, 1));
	assert_null(gm_ptr(&gm, UINT64_MAX - 1, 4));
	free(lo_buf);
	free(hi_buf);
}

static void test_init_splits_above_3g(void **state)
{
	struct guest_mem gm;
	uint8_t *p;

	/* 3 GiB of MAP_NORESERVE address space; nothing is touched but two bytes. */
	assert_int_equal(gm_init(&gm, 3 * GIB + 8 * MIB), 0);
	assert_int_equal(gm.nr, 2);
	assert_int_equal(gm.r[0].gpa, 0);
	assert_int_equal(gm.r[0].size, LAYOUT_MMIO_GAP_START);
	assert_int_equal(gm.r[1].gpa, LAYOUT_MMIO_GAP_END);
	assert_int_equal(gm.r[1].size, 8 * MIB);
	assert_int_equal(gm.ram_size, 3 * GIB + 8 * MIB);
	assert_int_equal(gm_low_end(&gm), LAYOUT_MMIO_GAP_START);
	assert_null(gm_ptr(&gm, LAYOUT_MMIO_GAP_START - 1, 2));
	assert_null(gm_ptr(&gm, LAYOUT_MMIO_GAP_END - 1, 2));
	p = gm_ptr(&gm, LAYOUT_MMIO_GAP_END + 8 * MIB - 1, 1);
	assert_ptr_equal(p, gm.r[1].host + 8 * MIB - 1);
	*p = 1;
	assert_null(gm_ptr(&gm, LAYOUT_MMIO_GAP_END + 8 * MIB - 1, 2));
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_single_region_edges),
		cmocka_unit_test(test_copy_helpers),
		cmocka_unit_test(test_two_regions),
		cmocka_unit_test(test_init_splits_above_3g),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
