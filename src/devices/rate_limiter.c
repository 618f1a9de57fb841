/* Token buckets with a retry timerfd (see include/ember/rate_limiter.h). */
#include "ember/rate_limiter.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/resources.h"

#define NS_PER_MS 1000000ULL
#define RETRY_MIN_NS NS_PER_MS
#define RETRY_MAX_NS (100 * NS_PER_MS) /* Firecracker's REFILL_TIMER_DURATION */

typedef unsigned __int128 u128;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t (*rl_now_ns)(void) = mono_ns;

static uint64_t gcd(uint64_t x, uint64_t y)
{
	while (y) {
		uint64_t t = x % y;

		x = y;
		y = t;
	}
	return x;
}

/* A fresh, full bucket; disabled like Firecracker's TokenBucket::new()
 * returning None (size or refill 0, refill time not representable in ns). */
static void bucket_set(struct rl_bucket *b, const struct res_bucket *rb)
{
	memset(b, 0, sizeof(*b));
	if (!rb || !rb->set || !rb->size || !rb->refill_time_ms ||
	    rb->refill_time_ms > UINT64_MAX / NS_PER_MS)
		return;
	uint64_t refill_ns = rb->refill_time_ms * NS_PER_MS;
	uint64_t g = gcd(rb->size, refill_ns);

	b->on = true;
	b->size = rb->size;
	b->refill_ms = rb->refill_time_ms;
	b->initial_burst = b->burst = rb->one_time_burst;
	b->budget = rb->size;
	b->last_ns = rl_now_ns();
	/* Reduced fraction so that dt * cap cannot overflow 128 bits. */
	b->cap = rb->size / g;
	b->period = refill_ns / g;
}

/* Credit the tokens earned since last_ns. last_ns advances only by the time
 * those whole tokens took (rounded up), so the fraction of a token earned
 * carries over to the next refill instead of being lost. */
static void refill(struct rl_bucket *b, uint64_t now)
{
	if (now <= b->last_ns)
		return;
	uint64_t dt = now - b->last_ns;

	if (dt >= b->refill_ms * NS_PER_MS) {
		b->budget = b->size;
		b->last_ns = now;
		return;
	}
	u128 tokens = (u128)dt * b->cap / b->period; /* < size: dt < refill time */
	u128 spent = ((u128)tokens * b->period + b->cap - 1) / b->cap;

	b->last_ns += (uint64_t)spent;
	b->budget = b->size - b->budget <= (uint64_t)tokens ? b->size
							 : b->budget + (uint64_t)tokens;
}

/* Time for `tokens` tokens to refill, saturating. */
static uint64_t refill_ns(const struct rl_bucket *b, uint64_t tokens)
{
	u128 ns = ((u128)tokens * b->period + b->cap - 1) / b->cap;

	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static void block_for(struct rate_limiter *rl, uint64_t ns)
{
	struct itimerspec its = { 0 };

	/* A zero it_value would disarm the timer and leave us blocked forever. */
	if (ns == 0)
		ns = 1;
	its.it_value.tv_sec = (time_t)(ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(ns % 1000000000ULL);
	if (timerfd_settime(rl->timer_fd, 0, &its, NULL) < 0) {
		/* Without a timer nobody would unblock us: stay unblocked. */
		log_ratelimited(LOG_ERROR, "rate limiter: timerfd_settime: %s", strerror(errno));
		return;
	}
	rl->blocked = true;
}

int rl_init(struct rate_limiter *rl, const struct res_rate_limiter *cfg)
{
	memset(rl, 0, sizeof(*rl));
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rl->timer_fd < 0) {
		int e = errno;

		log_err("rate limiter: timerfd_create: %s", strerror(e));
		return -e;
	}
	rl_set(rl, cfg);
	return 0;
}

void rl_destroy(struct rate_limiter *rl)
{
	if (rl->timer_fd >= 0)
		close(rl->timer_fd);
	rl->timer_fd = -1;
	rl->blocked = false;
}

bool rl_consume(struct rate_limiter *rl, uint64_t tokens, enum rl_kind kind)
{
	struct rl_bucket *b = &rl->b[kind];

	if (rl->blocked)
		return false;
	if (!b->on)
		return true;
	if (b->burst >= tokens) {
		b->burst -= tokens;
		return true;
	}
	uint64_t need = tokens - b->burst;

	refill(b, rl_now_ns());
	if (need > b->size) {
		/* Over-consumption: let it through, then hold everything back
		 * for as long as the bucket needs to earn the excess. */
		uint64_t excess = need - b->budget;

		b->burst = 0;
		b->budget = 0;
		block_for(rl, refill_ns(b, excess));
		return true;
	}
	if (need > b->budget) {
		uint64_t ns = refill_ns(b, need - b->budget);

		block_for(rl, ns < RETRY_MIN_NS ? RETRY_MIN_NS : ns > RETRY_MAX_NS ? RETRY_MAX_NS : ns);
		return false;
	}
	b->burst = 0;
	b->budget -= need;
	return true;
}

void rl_manual_replenish(struct rate_limiter *rl, uint64_t tokens, enum rl_kind kind)
{
	struct rl_bucket *b = &rl->b[kind];

	if (!b->on)
		return;
	/* Still in the burst: credit it back there (Firecracker does the same;
	 * a consume that also took budget tokens is rare and harmless). */
	if (b->burst > 0) {
		b->burst = b->initial_burst - b->burst <= tokens ? b->initial_burst
								  : b->burst + tokens;
		return;
	}
	b->budget = b->size - b->budget <= tokens ? b->size : b->budget + tokens;
}

int rl_timer_fd(const struct rate_limiter *rl)
{
	return rl->timer_fd;
}

bool rl_is_blocked(const struct rate_limiter *rl)
{
	return rl->blocked;
}

bool rl_active(const struct rate_limiter *rl)
{
	return rl->b[RL_BYTES].on || rl->b[RL_OPS].on;
}

bool rl_timer_event(struct rate_limiter *rl)
{
	uint64_t n = 0;
	ssize_t r;

	do
		r = read(rl->timer_fd, &n, sizeof(n));
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(n) || n == 0) {
		if (r < 0 && errno != EAGAIN)
			log_ratelimited(LOG_WARN, "rate limiter: read timerfd: %s", strerror(errno));
		return false;
	}
	rl->blocked = false;
	return true;
}

static void bucket_update(struct rl_bucket *b, const struct res_bucket_update *u)
{
	switch (u->op) {
	case RES_BUCKET_KEEP:
		break;
	case RES_BUCKET_SET:
		bucket_set(b, &u->b);
		break;
	case RES_BUCKET_DISABLE:
		bucket_set(b, NULL);
		break;
	}
}

int rl_update(struct rate_limiter *rl, const struct res_rl_update *u)
{
	bucket_update(&rl->b[RL_BYTES], &u->bandwidth);
	bucket_update(&rl->b[RL_OPS], &u->ops);
	return 0;
}

void rl_set(struct rate_limiter *rl, const struct res_rate_limiter *cfg)
{
	bucket_set(&rl->b[RL_BYTES], cfg ? &cfg->bandwidth : NULL);
	bucket_set(&rl->b[RL_OPS], cfg ? &cfg->ops : NULL);
}

bool rl_consume_req(struct rate_limiter *rl, uint64_t bytes)
{
	if (!rl_consume(rl, 1, RL_OPS))
		return false;
	if (bytes && !rl_consume(rl, bytes, RL_BYTES)) {
		rl_manual_replenish(rl, 1, RL_OPS);
		return false;
	}
	return true;
}

void rl_refund_req(struct rate_limiter *rl, uint64_t bytes)
{
	rl_manual_replenish(rl, 1, RL_OPS);
	if (bytes)
		rl_manual_replenish(rl, bytes, RL_BYTES);
}
