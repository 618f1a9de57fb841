/* Token-bucket rate limiter shared by block, net and entropy, with
 * Firecracker's semantics (src/vmm/src/rate_limiter/mod.rs):
 *
 * - two independent buckets, bandwidth (bytes) and ops; a disabled bucket
 *   (size 0, refill_time 0, or refill time overflowing in ns) never limits;
 * - a bucket starts full; tokens refill continuously at size/refill_time,
 *   capped at size; fractional tokens carry over between refills;
 * - one_time_burst is extra credit spent first and never refilled;
 * - a request bigger than the bucket size ("over-consumption") succeeds
 *   whenever the limiter is not blocked: it empties the bucket and blocks the
 *   limiter for the time the missing tokens (request - budget) take to
 *   refill, so the long-run rate still holds;
 * - a failed consume arms a one-shot timerfd and blocks the limiter: every
 *   consume fails until the owner sees the timer fire and calls
 *   rl_timer_event().
 *
 * Unlike Firecracker, a failed consume takes nothing (Firecracker loses the
 * remaining one-time burst), and the retry timer is the time the missing
 * tokens take to refill, clamped to [1 ms, 100 ms] instead of a flat 100 ms.
 *
 * Owner's call order: rl_init(); evloop_add() a handler on rl_timer_fd()
 * (EPOLLIN) whose callback calls rl_timer_event() and, if that returns true,
 * retries the queued work; rl_consume() / rl_manual_replenish() per request;
 * rl_update() for PATCH; rl_destroy(). Not thread-safe: the owner's lock. */
#ifndef EMBER_RATE_LIMITER_H
#define EMBER_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

struct res_rate_limiter;
struct res_bucket;
struct res_rl_update;

enum rl_kind { RL_BYTES = 0, RL_OPS = 1 };

struct rl_bucket {
	bool on;
	uint64_t size, refill_ms, initial_burst;
	uint64_t burst;		/* remaining one-time burst */
	uint64_t budget;	/* tokens available, <= size */
	uint64_t last_ns;	/* time up to which refill was credited */
	uint64_t cap, period;	/* size and refill_ns divided by their gcd */
};

struct rate_limiter {
	struct rl_bucket b[2]; /* indexed by enum rl_kind */
	int timer_fd;
	bool blocked;
};

/* Clock (CLOCK_MONOTONIC in ns). Tests replace it to drive refills. */
extern uint64_t (*rl_now_ns)(void);

/* Buckets from `cfg` (NULL: no limits); the timerfd is created even then,
 * because rl_update() may enable limits later when seccomp no longer allows
 * timerfd_create. 0 or -errno. */
int rl_init(struct rate_limiter *rl, const struct res_rate_limiter *cfg);
void rl_destroy(struct rate_limiter *rl);

/* Take `tokens` from the bucket of `kind`, all or nothing. true: go ahead
 * (also when that bucket is disabled); false: blocked, retry after the timer. */
bool rl_consume(struct rate_limiter *rl, uint64_t tokens, enum rl_kind kind);
/* Give tokens back (e.g. undo the ops token when the bytes bucket said no). */
void rl_manual_replenish(struct rate_limiter *rl, uint64_t tokens, enum rl_kind kind);
/* One device request: an ops token and `bytes` bandwidth tokens (none
 * when 0), both or neither (the ops token is given back when the bytes
 * say no). rl_refund_req gives back what rl_consume_req took. */
bool rl_consume_req(struct rate_limiter *rl, uint64_t bytes);
void rl_refund_req(struct rate_limiter *rl, uint64_t bytes);

int rl_timer_fd(const struct rate_limiter *rl);
bool rl_is_blocked(const struct rate_limiter *rl);
/* Any bucket enabled? */
bool rl_active(const struct rate_limiter *rl);
/* The timerfd is readable: unblock. false for a spurious event (the timer
 * had not expired), in which case the limiter stays as it was. */
bool rl_timer_event(struct rate_limiter *rl);

/* PATCH: per bucket KEEP (unchanged, state kept), SET (new bucket, full) or
 * DISABLE. 0 (kept an int for future validation). */
int rl_update(struct rate_limiter *rl, const struct res_rl_update *u);
/* Replace both buckets from a full configuration (fresh, full buckets). */
void rl_set(struct rate_limiter *rl, const struct res_rate_limiter *cfg);

#endif
