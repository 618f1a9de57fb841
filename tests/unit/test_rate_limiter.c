/* rate_limiter.c: refill math on an injected clock, one-time burst,
 * over-consumption, the retry timerfd, PATCH updates. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/timerfd.h>
#include <cmocka.h>

#include "ember/rate_limiter.h"
#include "ember/resources.h"

#define MS 1000000ULL

static uint64_t fake_ns = 1000 * MS;
static uint64_t fake_now(void)
{
	return fake_ns;
}

static struct res_bucket bucket(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct res_bucket){ .set = true, .size = size, .one_time_burst = burst,
				    .refill_time_ms = refill_ms };
}

static void init_bw(struct rate_limiter *rl, struct res_bucket bw)
{
	struct res_rate_limiter cfg = { .bandwidth = bw };

	assert_int_equal(rl_init(rl, &cfg), 0);
}

/* Remaining time on the retry timer, in ms (0: disarmed). */
static uint64_t timer_ms(const struct rate_limiter *rl)
{
	struct itimerspec its;

	assert_int_equal(timerfd_gettime(rl_timer_fd(rl), &its), 0);
	return (uint64_t)its.it_value.tv_sec * 1000 + (uint64_t)its.it_value.tv_nsec / MS;
}

/* Wait (really) for the timer and unblock. */
static void wait_unblock(struct rate_limiter *rl)
{
	struct pollfd p = { .fd = rl_timer_fd(rl), .events = POLLIN };

	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_true(rl_timer_event(rl));
	assert_false(rl_is_blocked(rl));
}

static int setup(void **state)
{
	rl_now_ns = fake_now;
	return 0;
}

static void test_disabled(void **state)
{
	struct rate_limiter rl;
	struct res_rate_limiter cfg = { .bandwidth = bucket(0, 0, 100), .ops = bucket(10, 0, 0) };

	assert_int_equal(rl_init(&rl, NULL), 0);
	assert_true(rl_timer_fd(&rl) >= 0);
	assert_false(rl_active(&rl));
	assert_true(rl_consume(&rl, UINT64_MAX, RL_BYTES));
	assert_true(rl_consume(&rl, UINT64_MAX, RL_OPS));
	assert_false(rl_is_blocked(&rl));
	rl_destroy(&rl);

	/* size 0, refill 0, refill time overflowing u64 ns: all disabled */
	assert_int_equal(rl_init(&rl, &cfg), 0);
	assert_false(rl_active(&rl));
	rl_destroy(&rl);
	init_bw(&rl, bucket(10, 0, UINT64_MAX / 1000));
	assert_false(rl_active(&rl));
	rl_destroy(&rl);
}

static void test_refill_math(void **state)
{
	struct rate_limiter rl;

	init_bw(&rl, bucket(1000, 0, 1000)); /* 1 token per ms */
	assert_true(rl_active(&rl));
	assert_true(rl_consume(&rl, 1000, RL_BYTES));
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	assert_true(rl_is_blocked(&rl));
	/* deficit of 1 token = 1 ms: clamped to the 1 ms floor */
	assert_true(timer_ms(&rl) <= 1);
	/* blocked: fails even with tokens available until the timer fires */
	fake_ns += 500 * MS;
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	wait_unblock(&rl);
	assert_true(rl_consume(&rl, 500, RL_BYTES));
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	wait_unblock(&rl);
	/* refill is capped at size */
	fake_ns += 10000 * MS;
	assert_true(rl_consume(&rl, 1, RL_BYTES));
	assert_int_equal(rl.b[RL_BYTES].budget, 999);
	rl_destroy(&rl);

	init_bw(&rl, bucket(1000, 0, 1000));
	fake_ns += 10000 * MS;
	assert_true(rl_consume(&rl, 1000, RL_BYTES));
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	wait_unblock(&rl);
	fake_ns += 40 * MS;
	/* 40 tokens earned, 100 asked: retry when the other 60 are in */
	assert_false(rl_consume(&rl, 100, RL_BYTES));
	uint64_t t = timer_ms(&rl);
	assert_true(t >= 58 && t <= 60);
	rl_destroy(&rl);
}

/* 3 tokens per 10 ms: fractions of a token carry over between refills. */
static void test_fraction_carry(void **state)
{
	struct rate_limiter rl;

	init_bw(&rl, bucket(3, 0, 10));
	assert_true(rl_consume(&rl, 3, RL_BYTES));
	fake_ns += 5 * MS; /* 1.5 tokens earned */
	assert_true(rl_consume(&rl, 1, RL_BYTES));
	assert_int_equal(rl.b[RL_BYTES].budget, 0);
	fake_ns += 6 * MS; /* 1.8 more: the 0.5 carried makes 2.3 */
	assert_true(rl_consume(&rl, 2, RL_BYTES));
	assert_int_equal(rl.b[RL_BYTES].budget, 0);
	rl_destroy(&rl);
}

static void test_burst(void **state)
{
	struct rate_limiter rl;

	init_bw(&rl, bucket(100, 50, 1000));
	assert_true(rl_consume(&rl, 30, RL_BYTES)); /* burst only */
	assert_int_equal(rl.b[RL_BYTES].burst, 20);
	assert_int_equal(rl.b[RL_BYTES].budget, 100);
	assert_true(rl_consume(&rl, 120, RL_BYTES)); /* 20 burst + 100 budget */
	assert_int_equal(rl.b[RL_BYTES].burst, 0);
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	wait_unblock(&rl);
	/* the burst never comes back */
	fake_ns += 100000 * MS;
	assert_true(rl_consume(&rl, 100, RL_BYTES));
	assert_int_equal(rl.b[RL_BYTES].burst, 0);
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	rl_destroy(&rl);
}

static void test_oversized(void **state)
{
	struct rate_limiter rl;

	init_bw(&rl, bucket(100, 0, 100)); /* 1 token per ms */
	assert_true(rl_consume(&rl, 250, RL_BYTES));
	assert_true(rl_is_blocked(&rl));
	assert_int_equal(rl.b[RL_BYTES].budget, 0);
	uint64_t t = timer_ms(&rl); /* 150 tokens missing = 150 ms */
	assert_true(t >= 140 && t <= 150);
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	/* a spurious event (timer not expired) does not unblock */
	assert_false(rl_timer_event(&rl));
	assert_true(rl_is_blocked(&rl));
	wait_unblock(&rl);
	/* with a partly filled bucket, only the missing part is charged */
	fake_ns += 50 * MS;
	assert_true(rl_consume(&rl, 120, RL_BYTES));
	t = timer_ms(&rl);
	assert_true(t >= 60 && t <= 70);
	rl_destroy(&rl);
}

static void test_kinds_and_replenish(void **state)
{
	struct rate_limiter rl;
	struct res_rate_limiter cfg = { .bandwidth = bucket(1000, 0, 1000),
					.ops = bucket(2, 0, 1000) };

	assert_int_equal(rl_init(&rl, &cfg), 0);
	assert_true(rl_consume(&rl, 2, RL_OPS));
	assert_true(rl_consume(&rl, 1000, RL_BYTES));
	rl_manual_replenish(&rl, 1, RL_OPS);
	rl_manual_replenish(&rl, 5000, RL_BYTES); /* capped at size */
	assert_int_equal(rl.b[RL_BYTES].budget, 1000);
	assert_true(rl_consume(&rl, 1, RL_OPS));
	assert_false(rl_consume(&rl, 1, RL_OPS));
	/* blocking is per limiter: the bytes bucket is held back too */
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	rl_destroy(&rl);

	/* replenish during the burst refills the burst, up to its initial size */
	init_bw(&rl, bucket(10, 5, 1000));
	assert_true(rl_consume(&rl, 3, RL_BYTES));
	rl_manual_replenish(&rl, 10, RL_BYTES);
	assert_int_equal(rl.b[RL_BYTES].burst, 5);
	rl_destroy(&rl);
}

static void test_update(void **state)
{
	struct rate_limiter rl;
	struct res_rate_limiter cfg = { .bandwidth = bucket(1000, 0, 1000),
					.ops = bucket(10, 0, 1000) };
	struct res_rl_update u = { 0 };

	assert_int_equal(rl_init(&rl, &cfg), 0);
	assert_true(rl_consume(&rl, 600, RL_BYTES));
	assert_true(rl_consume(&rl, 4, RL_OPS));
	/* KEEP + DISABLE: bandwidth state untouched, ops unlimited */
	u.ops.op = RES_BUCKET_DISABLE;
	assert_int_equal(rl_update(&rl, &u), 0);
	assert_int_equal(rl.b[RL_BYTES].budget, 400);
	assert_true(rl_consume(&rl, 1000000, RL_OPS));
	assert_false(rl_is_blocked(&rl));
	/* SET: a new, full bucket */
	u.bandwidth.op = RES_BUCKET_SET;
	u.bandwidth.b = bucket(2000, 100, 500);
	u.ops.op = RES_BUCKET_KEEP;
	assert_int_equal(rl_update(&rl, &u), 0);
	assert_int_equal(rl.b[RL_BYTES].budget, 2000);
	assert_int_equal(rl.b[RL_BYTES].burst, 100);
	assert_int_equal(rl.b[RL_BYTES].refill_ms, 500);
	assert_false(rl.b[RL_OPS].on);
	/* SET with a disabling bucket (size 0) disables */
	u.bandwidth.b = bucket(0, 0, 500);
	assert_int_equal(rl_update(&rl, &u), 0);
	assert_false(rl_active(&rl));
	/* rl_set replaces both */
	rl_set(&rl, &cfg);
	assert_int_equal(rl.b[RL_OPS].budget, 10);
	assert_int_equal(rl.b[RL_BYTES].budget, 1000);
	rl_destroy(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_refill_math),
		cmocka_unit_test(test_fraction_carry),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_kinds_and_replenish),
		cmocka_unit_test(test_update),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
