/* bus.c: range registry ordering, rejection rules and dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ember/bus.h"

struct hit { int calls; uint64_t off; uint32_t len; bool is_write; uint8_t first; };

static void handler(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct hit *h = ctx;

	h->calls++;
	h->off = off;
	h->len = len;
	h->is_write = is_write;
	h->first = data[0];
	if (!is_write)
		memset(data, 0xab, len);
}

static void test_insert_lookup(void **state)
{
	struct bus bus;
	struct hit a = { 0 }, b = { 0 };
	uint8_t d[4] = { 7, 0, 0, 0 };

	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, handler, &a), 0);
	assert_int_equal(bus_register(&bus, 0x60, 5, handler, &b), 0);
	assert_int_equal(bus_access(&bus, 0x3fd, d, 1, true), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.off, 5);
	assert_int_equal(a.len, 1);
	assert_true(a.is_write);
	assert_int_equal(a.first, 7);
	assert_int_equal(bus_access(&bus, 0x60, d, 4, false), 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.off, 0);
	assert_false(b.is_write);
	assert_int_equal(d[3], 0xab);
	/* last byte of a window ok, one past it not */
	assert_int_equal(bus_access(&bus, 0x3ff, d, 1, false), 0);
	assert_int_equal(a.off, 7);
	assert_int_equal(bus_access(&bus, 0x400, d, 1, false), -ENOENT);
	assert_int_equal(bus_access(&bus, 0x3fe, d, 4, false), -ENOENT);
	assert_int_equal(bus_access(&bus, 0x3f7, d, 1, false), -ENOENT);
	assert_int_equal(bus_access(&bus, 0, d, 1, false), -ENOENT);
	assert_int_equal(bus_access(&bus, 0x3f8, d, 0, false), -ENOENT);
	assert_int_equal(a.calls, 2);
}

static void test_overlap(void **state)
{
	struct bus bus;
	struct hit h;

	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x1000, 0x100, handler, &h), 0);
	assert_int_equal(bus_register(&bus, 0x1000, 0x100, handler, &h), -EEXIST); /* same */
	assert_int_equal(bus_register(&bus, 0x1010, 0x10, handler, &h), -EEXIST);  /* inside */
	assert_int_equal(bus_register(&bus, 0x0f00, 0x400, handler, &h), -EEXIST); /* covers */
	assert_int_equal(bus_register(&bus, 0x0ff0, 0x11, handler, &h), -EEXIST);  /* low end */
	assert_int_equal(bus_register(&bus, 0x10ff, 0x10, handler, &h), -EEXIST);  /* high end */
	assert_int_equal(bus.nr, 1);
}

static void test_zero_and_overflow(void **state)
{
	struct bus bus;
	struct hit h = { 0 };
	uint8_t d[8] = { 0 };

	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x1000, 0, handler, &h), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX - 1, 4, handler, &h), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 1, handler, &h), -EINVAL); /* ends at 2^64 */
	assert_int_equal(bus_register(&bus, UINT64_MAX - 8, 8, handler, &h), 0);   /* ends at 2^64-1 */
	assert_int_equal(bus_access(&bus, UINT64_MAX - 1, d, 4, false), -ENOENT);
	assert_int_equal(bus_access(&bus, UINT64_MAX - 1, d, 1, false), 0);
	assert_int_equal(h.off, 7);
	assert_int_equal(bus_access(&bus, UINT64_MAX, d, 1, false), -ENOENT);
	assert_int_equal(bus_access(&bus, UINT64_MAX - 8, d, 8, false), 0);
	assert_int_equal(h.calls, 2);
}

static void test_adjacent_and_straddle(void **state)
{
	struct bus bus;
	struct hit a = { 0 }, b = { 0 };
	uint8_t d[4] = { 0 };

	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x2000, 0x1000, handler, &b), 0);
	assert_int_equal(bus_register(&bus, 0x1000, 0x1000, handler, &a), 0);
	assert_int_equal(bus_register(&bus, 0x3000, 0x1000, handler, &a), 0);
	assert_int_equal(bus_access(&bus, 0x1ffe, d, 4, true), -ENOENT); /* a|b */
	assert_int_equal(bus_access(&bus, 0x2ffc, d, 4, true), 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.off, 0xffc);
	assert_int_equal(a.calls, 0);
	assert_int_equal(bus_access(&bus, 0x2000, d, 1, true), 0);
	assert_int_equal(b.off, 0);
}

static void test_ordering(void **state)
{
	static const uint64_t bases[] = { 0x50, 0x10, 0x90, 0x30, 0x70, 0x00, 0x80, 0x20 };
	struct hit h[8];
	struct bus bus;
	uint8_t d = 0;

	memset(h, 0, sizeof(h));
	bus_init(&bus);
	for (int i = 0; i < 8; i++)
		assert_int_equal(bus_register(&bus, bases[i], 0x10, handler, &h[i]), 0);
	for (int i = 1; i < bus.nr; i++)
		assert_true(bus.r[i - 1].base < bus.r[i].base);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(bus_access(&bus, bases[i] + 0xf, &d, 1, false), 0);
		assert_int_equal(h[i].calls, 1);
		assert_int_equal(h[i].off, 0xf);
	}
	assert_int_equal(bus_access(&bus, 0x40, &d, 1, false), -ENOENT); /* hole */
	assert_int_equal(bus_access(&bus, 0xa0, &d, 1, false), -ENOENT);
}

static void test_full(void **state)
{
	struct bus bus;
	struct hit h = { 0 };

	bus_init(&bus);
	for (int i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&bus, (uint64_t)(BUS_MAX_RANGES - i) * 0x100, 0x10,
					      handler, &h), 0);
	assert_int_equal(bus_register(&bus, 0x100000, 1, handler, &h), -ENOSPC);
	assert_int_equal(bus_register(&bus, 0x100, 1, handler, &h), -EEXIST);
	assert_int_equal(bus.nr, BUS_MAX_RANGES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_zero_and_overflow),
		cmocka_unit_test(test_adjacent_and_straddle),
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
