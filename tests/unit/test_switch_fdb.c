/* switch_fdb.c: learning, a MAC moving between ports, aging on a fake
 * clock, flushing a removed port, the per-port and table limits, and a
 * model check of the probing table under heavy insert/delete churn. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ember/switch.h"

#define S SW_NS

static void mac_of(uint32_t n, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x11;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static void test_learn_lookup(void **state)
{
	struct sw_fdb f;
	uint8_t a[6], b[6];

	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(sw_fdb_init(&f, 300 * S, 0x1234), 0);
	assert_int_equal(sw_fdb_lookup(&f, a, 0), -ENOENT);
	assert_int_equal(sw_fdb_learn(&f, a, 3, 10), 0);
	assert_int_equal(sw_fdb_lookup(&f, a, 10), 3);
	assert_int_equal(sw_fdb_lookup(&f, b, 10), -ENOENT);
	/* relearning on the same port refreshes, nothing else */
	assert_int_equal(sw_fdb_learn(&f, a, 3, 20), 0);
	assert_int_equal(f.count, 1);
	assert_int_equal(f.learned, 1);
	assert_int_equal(f.moved, 0);
	assert_int_equal(f.per_port[3], 1);
	assert_int_equal(sw_fdb_learn(&f, a, SW_MAX_PORTS, 20), -EINVAL);
	sw_fdb_free(&f);
}

static void test_move(void **state)
{
	struct sw_fdb f;
	uint8_t a[6];

	mac_of(7, a);
	assert_int_equal(sw_fdb_init(&f, 300 * S, 99), 0);
	assert_int_equal(sw_fdb_learn(&f, a, 1, 0), 0);
	assert_int_equal(sw_fdb_learn(&f, a, 5, 1), 0);
	assert_int_equal(sw_fdb_lookup(&f, a, 2), 5);
	assert_int_equal(f.moved, 1);
	assert_int_equal(f.count, 1);
	assert_int_equal(f.per_port[1], 0);
	assert_int_equal(f.per_port[5], 1);
	/* flushing the old port no longer touches it */
	assert_int_equal(sw_fdb_flush_port(&f, 1), 0);
	assert_int_equal(sw_fdb_lookup(&f, a, 2), 5);
	sw_fdb_free(&f);
}

static void test_aging(void **state)
{
	struct sw_fdb f;
	uint8_t a[6], b[6];
	uint64_t t0 = 1000 * S;

	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(sw_fdb_init(&f, 300 * S, 5), 0);
	assert_int_equal(sw_fdb_learn(&f, a, 0, t0), 0);
	assert_int_equal(sw_fdb_learn(&f, b, 1, t0), 0);
	assert_int_equal(sw_fdb_learn(&f, b, 1, t0 + 200 * S), 0); /* b keeps talking */
	assert_int_equal(sw_fdb_lookup(&f, a, t0 + 300 * S), 0);	 /* exactly the limit */
	assert_int_equal(sw_fdb_lookup(&f, a, t0 + 300 * S + 1), -ENOENT);
	assert_int_equal(sw_fdb_lookup(&f, b, t0 + 301 * S), 1);
	assert_int_equal(sw_fdb_age(&f, t0 + 301 * S), 1);
	assert_int_equal(f.count, 1);
	assert_int_equal(f.aged, 1);
	assert_int_equal(f.per_port[0], 0);
	assert_int_equal(sw_fdb_age(&f, t0 + 501 * S), 1);
	assert_int_equal(f.count, 0);
	/* an aged-out MAC is learned afresh */
	assert_int_equal(sw_fdb_learn(&f, a, 2, t0 + 600 * S), 0);
	assert_int_equal(sw_fdb_lookup(&f, a, t0 + 600 * S), 2);
	sw_fdb_free(&f);
}

static void test_no_aging(void **state)
{
	struct sw_fdb f;
	uint8_t a[6];

	mac_of(1, a);
	assert_int_equal(sw_fdb_init(&f, 0, 5), 0);
	assert_int_equal(sw_fdb_learn(&f, a, 4, 0), 0);
	assert_int_equal(sw_fdb_age(&f, UINT64_MAX), 0);
	assert_int_equal(sw_fdb_lookup(&f, a, UINT64_MAX), 4);
	sw_fdb_free(&f);
}

static void test_flush_port(void **state)
{
	struct sw_fdb f;
	uint8_t m[6];

	assert_int_equal(sw_fdb_init(&f, 300 * S, 42), 0);
	for (uint32_t i = 0; i < 2000; i++) {
		mac_of(i, m);
		assert_int_equal(sw_fdb_learn(&f, m, i % 4, 0), 0);
	}
	assert_int_equal(sw_fdb_flush_port(&f, 2), 500);
	assert_int_equal(f.count, 1500);
	assert_int_equal(f.per_port[2], 0);
	for (uint32_t i = 0; i < 2000; i++) {
		mac_of(i, m);
		assert_int_equal(sw_fdb_lookup(&f, m, 1), i % 4 == 2 ? -ENOENT : (int)(i % 4));
	}
	assert_int_equal(sw_fdb_flush_port(&f, 2), 0);
	sw_fdb_free(&f);
}

static void test_limits(void **state)
{
	struct sw_fdb f;
	uint8_t m[6];
	uint32_t n = 0;

	assert_int_equal(sw_fdb_init(&f, 300 * S, 3), 0);
	/* one port cannot take more than its share */
	for (; n < SW_FDB_PORT_MAX; n++) {
		mac_of(n, m);
		assert_int_equal(sw_fdb_learn(&f, m, 0, 0), 0);
	}
	mac_of(n++, m);
	assert_int_equal(sw_fdb_learn(&f, m, 0, 0), -ENOSPC);
	assert_int_equal(f.refused, 1);
	assert_int_equal(sw_fdb_lookup(&f, m, 0), -ENOENT);
	/* nor steal a MAC from another port beyond it */
	mac_of(SW_FDB_MAX + 100, m);
	assert_int_equal(sw_fdb_learn(&f, m, 1, 0), 0);
	assert_int_equal(sw_fdb_learn(&f, m, 0, 0), -ENOSPC);
	assert_int_equal(sw_fdb_lookup(&f, m, 0), 1);
	/* fill the table through other ports: SW_FDB_MAX entries in all */
	for (unsigned p = 1; f.count < SW_FDB_MAX; n++) {
		mac_of(n, m);
		if (sw_fdb_learn(&f, m, p, 0) == -ENOSPC)
			p++;
	}
	mac_of(n, m);
	assert_int_equal(sw_fdb_learn(&f, m, 10, 0), -ENOSPC);
	assert_int_equal(f.count, SW_FDB_MAX);
	sw_fdb_free(&f);
}

/* Random learn / move / age / flush against a plain array: every MAC the
 * model holds is found on its port, every other one is not. */
static void test_model(void **state)
{
	enum { N = 6000 };
	static int model[N];	/* port, or -1 */
	static uint64_t seen[N];
	struct sw_fdb f;
	uint8_t m[6];
	uint64_t now = 0;

	srandom(7);
	for (int i = 0; i < N; i++)
		model[i] = -1;
	assert_int_equal(sw_fdb_init(&f, 50, 0xdeadbeef), 0);
	for (int round = 0; round < 200000; round++) {
		int i = (int)(random() % N), op = (int)(random() % 100);

		now++;
		mac_of((uint32_t)i, m);
		if (op < 90) {
			int p = (int)(random() % 8);

			if (sw_fdb_learn(&f, m, (unsigned)p, now) == 0) {
				model[i] = p;
				seen[i] = now;
			}
		} else if (op < 99) {
			sw_fdb_age(&f, now);
			for (int k = 0; k < N; k++)
				if (model[k] >= 0 && now - seen[k] > 50)
					model[k] = -1;
		} else {
			unsigned p = (unsigned)(random() % 8);

			sw_fdb_flush_port(&f, p);
			for (int k = 0; k < N; k++)
				if (model[k] == (int)p)
					model[k] = -1;
		}
		if (round % 5000)
			continue;
		for (int k = 0; k < N; k++) {
			mac_of((uint32_t)k, m);
			bool live = model[k] >= 0 && now - seen[k] <= 50;

			assert_int_equal(sw_fdb_lookup(&f, m, now), live ? model[k] : -ENOENT);
		}
	}
	sw_fdb_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_lookup), cmocka_unit_test(test_move),
		cmocka_unit_test(test_aging),	     cmocka_unit_test(test_no_aging),
		cmocka_unit_test(test_flush_port),   cmocka_unit_test(test_limits),
		cmocka_unit_test(test_model),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
