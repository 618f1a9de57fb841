/* switch_fwd.c: flood vs unicast vs filter decisions as the table learns,
 * ages and loses a port; the flood set; which sources may enter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ember/switch.h"

#define S SW_NS

static const uint8_t A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t B[6] = { 0x02, 0, 0, 0, 0, 0xb };
static const uint8_t C[6] = { 0x02, 0, 0, 0, 0, 0xc };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST4[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
static const uint8_t MCAST6[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t GW[6] = { 0x02, 0x45, 0x4d, 0, 0, 1 };

static void test_decide(void **state)
{
	struct sw_fdb f;

	assert_int_equal(sw_fdb_init(&f, 300 * S, 1), 0);
	/* nothing learned: everything floods */
	assert_int_equal(sw_fwd_decide(&f, 0, B, 0), SW_FWD_FLOOD);
	assert_int_equal(sw_fwd_decide(&f, 0, BCAST, 0), SW_FWD_FLOOD);
	/* A on port 0 and B on port 1 talk */
	assert_int_equal(sw_fdb_learn(&f, A, 0, 0), 0);
	assert_int_equal(sw_fdb_learn(&f, B, 1, 0), 0);
	assert_int_equal(sw_fwd_decide(&f, 0, B, 1), 1);
	assert_int_equal(sw_fwd_decide(&f, 1, A, 1), 0);
	assert_int_equal(sw_fwd_decide(&f, 2, A, 1), 0);
	/* unknown unicast, broadcast and multicast flood even when learned
	 * addresses exist */
	assert_int_equal(sw_fwd_decide(&f, 0, C, 1), SW_FWD_FLOOD);
	assert_int_equal(sw_fwd_decide(&f, 0, BCAST, 1), SW_FWD_FLOOD);
	assert_int_equal(sw_fwd_decide(&f, 0, MCAST4, 1), SW_FWD_FLOOD);
	assert_int_equal(sw_fwd_decide(&f, 0, MCAST6, 1), SW_FWD_FLOOD);
	/* never back out of the ingress port */
	assert_int_equal(sw_fwd_decide(&f, 1, B, 1), SW_FWD_FILTER);
	/* B moves to port 3 */
	assert_int_equal(sw_fdb_learn(&f, B, 3, 2), 0);
	assert_int_equal(sw_fwd_decide(&f, 0, B, 2), 3);
	assert_int_equal(sw_fwd_decide(&f, 1, B, 2), 3);
	/* aged out: floods again */
	assert_int_equal(sw_fwd_decide(&f, 0, B, 2 + 301 * S), SW_FWD_FLOOD);
	/* port 0 removed: A floods */
	assert_int_equal(sw_fdb_flush_port(&f, 0), 1);
	assert_int_equal(sw_fwd_decide(&f, 1, A, 3), SW_FWD_FLOOD);
	sw_fdb_free(&f);
}

static void test_flood_mask(void **state)
{
	assert_int_equal(sw_fwd_flood_mask(0xb, 1), 0x9);
	assert_int_equal(sw_fwd_flood_mask(0xb, 2), 0xb);
	assert_int_equal(sw_fwd_flood_mask(0x1, 0), 0);
	assert_true(sw_fwd_flood_mask(~0ull, 63) == ~0ull >> 1);
	assert_true(sw_fwd_flood_mask(~0ull, SW_MAX_PORTS) == ~0ull);
}

static void test_src_ok(void **state)
{
	static const uint8_t zero[6];

	assert_true(sw_fwd_src_ok(A, NULL, NULL));
	assert_true(sw_fwd_src_ok(A, A, GW));
	assert_false(sw_fwd_src_ok(A, B, GW));	/* not the port's own MAC */
	assert_false(sw_fwd_src_ok(GW, NULL, GW));	/* posing as the gateway */
	assert_false(sw_fwd_src_ok(BCAST, NULL, NULL));
	assert_false(sw_fwd_src_ok(MCAST4, NULL, NULL));
	assert_false(sw_fwd_src_ok(zero, NULL, NULL));
	assert_true(sw_mac_is_broadcast(BCAST));
	assert_false(sw_mac_is_broadcast(MCAST4));
	assert_true(sw_mac_is_multicast(MCAST6));
	assert_false(sw_mac_is_multicast(A));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_flood_mask),
		cmocka_unit_test(test_src_ok),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
