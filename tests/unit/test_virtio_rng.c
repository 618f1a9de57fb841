/* virtio-rng through the virtio-mmio transport over a fake RAM buffer, with
 * rings built here as a driver builds them: identity and features, single
 * and multi-segment chains filled with random bytes, zero-length and
 * readable descriptors (Firecracker: used.len 0, entropy_event_fails),
 * malformed rings (device broken, reset recovers), the rate limiter
 * (injected clock, the real timerfd retries) and the metrics. */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "ember/evloop.h"
#include "ember/guest_mem.h"
#include "ember/metrics.h"
#include "ember/rate_limiter.h"
#include "ember/resources.h"
#include "ember/virtio.h"
#include "ember/virtio_rng.h"
#include "test_virtio_util.h"

#define RAM (1u << 20)
#define QNUM 256
#define DESC 0x1000
#define AVAIL 0x3000
#define USED 0x4000
#define DATA 0x10000
#define MS 1000000ULL

struct t {
	struct guest_mem gm;
	struct evloop loop;
	struct rng_dev *r;
	struct virtio_dev *d;
	int irq_fd;
	struct vq_drv q;
};

static uint64_t fake_ns = 5000 * MS;
static uint64_t fake_now(void) { return fake_ns; }

static uint8_t *ram(struct t *t, uint64_t gpa) { return vt_ram(&t->gm, gpa); }

static struct t *setup_rl(const struct res_rate_limiter *rl)
{
	struct t *t = calloc(1, sizeof(*t));
	struct res_entropy cfg = { .set = true };

	assert_non_null(t);
	vt_ram_init(&t->gm, calloc(1, RAM), RAM);
	assert_int_equal(evloop_init(&t->loop), 0);
	t->irq_fd = eventfd(0, EFD_NONBLOCK);
	if (rl)
		cfg.rl = *rl;
	assert_int_equal(rng_create(&t->r, &cfg, &t->gm, &t->loop, 0xc0001000, 5, t->irq_fd), 0);
	t->d = rng_virtio(t->r);
	t->q = (struct vq_drv){ .d = t->d, .gm = &t->gm, .desc = DESC, .avail = AVAIL,
				.used = USED, .num = QNUM, .used_event = true };
	vt_driver_init(&t->q);
	return t;
}

static struct t *setup(void) { return setup_rl(NULL); }

static void teardown(struct t *t)
{
	rng_destroy(t->r);
	evloop_destroy(&t->loop);
	close(t->irq_fd);
	free(t->gm.r[0].host);
	free(t);
}

static void kick(struct t *t) { virtio_queue_kick(t->d, 0); }

static struct rng_stats stats(struct t *t)
{
	struct rng_stats s;
	rng_get_stats(t->r, &s);
	return s;
}

/* Driver reset (status 0) and a fresh init with empty rings. */
static void reinit(struct t *t) { vt_reinit(&t->q, DATA - DESC); }

static bool all_zero(struct t *t, uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (*ram(t, gpa + i))
			return false;
	return true;
}

static void test_identity(void **state)
{
	struct t *t = setup();

	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(vt_features(t->d), 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX);
	/* no config space: reads see nothing, writes change nothing */
	vt_wr32(t->d, VIRTIO_MMIO_CONFIG, 0xdeadbeef);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG), 0);
	assert_false(t->d->broken);
	teardown(t);
}

static void test_one_segment(void **state)
{
	struct t *t = setup();
	const uint32_t n = 64;

	vq_add_chain(&t->q, (struct seg[]){ { DATA, n, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 1);
	assert_int_equal(vq_used_elem(&t->q, 0).id, 0);
	assert_int_equal(vq_used_elem(&t->q, 0).len, n);
	assert_false(all_zero(t, DATA, n));
	assert_true(all_zero(t, DATA + n, 64)); /* nothing past the buffer */
	assert_true(vt_irqs(t->irq_fd) > 0);

	/* a second request gets different bytes */
	vq_add_chain(&t->q, (struct seg[]){ { DATA + 0x1000, n, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 2);
	assert_int_equal(vq_used_elem(&t->q, 1).len, n);
	assert_memory_not_equal(ram(t, DATA), ram(t, DATA + 0x1000), n);

	struct rng_stats s = stats(t);
	assert_int_equal(s.entropy_event_count, 2);
	assert_int_equal(s.entropy_bytes, 2 * n);
	assert_int_equal(s.entropy_event_fails, 0);
	teardown(t);
}

static void test_segments(void **state)
{
	struct t *t = setup();
	/* odd sizes, out of order in RAM, one page-crossing */
	const struct seg s[] = {
		{ DATA + 0x3000, 100, true },
		{ DATA + 0x0ff0, 4096, true },
		{ DATA + 0x5000, 1, true },
		{ DATA + 0x6000, 33, true },
	};
	uint16_t head;

	head = vq_add_chain(&t->q, s, 4);
	vq_add_chain(&t->q, s, 4); /* the same buffers again: new bytes */
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 2);
	assert_int_equal(vq_used_elem(&t->q, 0).id, head);
	assert_int_equal(vq_used_elem(&t->q, 0).len, 100 + 4096 + 1 + 33);
	assert_int_equal(vq_used_elem(&t->q, 1).len, 100 + 4096 + 1 + 33);
	assert_false(all_zero(t, s[0].gpa, s[0].len));
	assert_false(all_zero(t, s[1].gpa, s[1].len));
	assert_false(all_zero(t, s[3].gpa, s[3].len));
	assert_true(all_zero(t, DATA + 0x3000 + 100, 16));
	assert_int_equal(stats(t).entropy_bytes, 2 * (100 + 4096 + 1 + 33));
	teardown(t);
}

static void test_zero_length(void **state)
{
	struct t *t = setup();

	/* Firecracker: an empty writable buffer is fine, used.len 0 */
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 0, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 1);
	assert_int_equal(vq_used_elem(&t->q, 0).len, 0);
	assert_int_equal(stats(t).entropy_event_fails, 0);
	assert_int_equal(stats(t).entropy_event_count, 1);
	assert_false(t->d->broken);
	teardown(t);
}

static void test_readable(void **state)
{
	struct t *t = setup();

	memset(ram(t, DATA), 0xab, 256);
	/* all readable, and readable before writable: handed back untouched */
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 64, false } }, 1);
	vq_add_chain(&t->q, (struct seg[]){ { DATA + 64, 64, false }, { DATA + 128, 64, true } }, 2);
	vq_add_chain(&t->q, (struct seg[]){ { DATA + 0x1000, 32, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 3);
	assert_int_equal(vq_used_elem(&t->q, 0).len, 0);
	assert_int_equal(vq_used_elem(&t->q, 1).len, 0);
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(*ram(t, DATA + i), 0xab);
	/* the device still serves */
	assert_int_equal(vq_used_elem(&t->q, 2).len, 32);
	assert_false(all_zero(t, DATA + 0x1000, 32));
	assert_false(t->d->broken);

	struct rng_stats s = stats(t);
	assert_int_equal(s.entropy_event_fails, 2);
	assert_int_equal(s.entropy_event_count, 3);
	assert_int_equal(s.entropy_bytes, 32);
	assert_int_equal(s.host_rng_fails, 0);
	teardown(t);
}

static void test_malformed(void **state)
{
	struct t *t = setup();
	struct vring_desc *tbl = (struct vring_desc *)ram(t, DESC);
	uint16_t head;

	/* a descriptor pointing past the table */
	head = vq_add_chain(&t->q, (struct seg[]){ { DATA, 16, true }, { DATA + 16, 16, true } }, 2);
	tbl[head].next = htole16(QNUM + 3);
	vt_irqs(t->irq_fd);
	kick(t);
	assert_true(t->d->broken);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_true(vt_irqs(t->irq_fd) > 0);
	assert_int_equal(vq_used_idx(&t->q), 0);
	/* broken: further kicks are ignored */
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 16, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 0);

	/* reset brings it back */
	reinit(t);
	assert_false(t->d->broken);
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 16, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 1);
	assert_int_equal(vq_used_elem(&t->q, 0).len, 16);

	/* a buffer beyond RAM */
	vq_add_chain(&t->q, (struct seg[]){ { RAM - 8, 16, true } }, 1);
	kick(t);
	assert_true(t->d->broken);

	/* readable after writable (virtio 1.x §2.7.4.2) */
	reinit(t);
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 16, true }, { DATA + 16, 16, false } }, 2);
	kick(t);
	assert_true(t->d->broken);

	/* avail.idx running more than a ring ahead */
	reinit(t);
	((struct vring_avail *)ram(t, AVAIL))->idx = htole16(QNUM + 1);
	kick(t);
	assert_true(t->d->broken);
	teardown(t);
}

static void test_rate_limited(void **state)
{
	struct res_rate_limiter rl = {
		.bandwidth = { .set = true, .size = 1024, .refill_time_ms = 1000 },
	};
	struct t *t = setup_rl(&rl);

	/* a full bucket's worth goes, the next chain waits */
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 1024, true } }, 1);
	vq_add_chain(&t->q, (struct seg[]){ { DATA + 0x1000, 512, true } }, 1);
	vq_add_chain(&t->q, (struct seg[]){ { DATA + 0x2000, 256, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 1);
	assert_int_equal(vq_used_elem(&t->q, 0).len, 1024);
	assert_true(all_zero(t, DATA + 0x1000, 512)); /* nothing written before tokens */
	assert_int_equal(stats(t).entropy_rate_limiter_throttled, 1);
	/* a kick while throttled pops nothing (Firecracker counts it as a
	 * rate limiter event) */
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 1);
	assert_int_equal(stats(t).entropy_rate_limiter_throttled, 1);
	assert_int_equal(stats(t).rate_limiter_event_count, 1);

	/* half a second later 512 bytes have refilled: the timer retries and
	 * the 512-byte chain goes, the 256-byte one waits again */
	fake_ns += 500 * MS;
	vq_wait_used(&t->q, &t->loop, 2);
	assert_int_equal(vq_used_elem(&t->q, 1).len, 512);
	assert_false(all_zero(t, DATA + 0x1000, 512));
	assert_true(all_zero(t, DATA + 0x2000, 256));
	for (int i = 0; i < 20 && vq_used_idx(&t->q) == 2; i++)
		vt_run_loop(&t->loop, 10);
	assert_int_equal(vq_used_idx(&t->q), 2);
	fake_ns += 250 * MS;
	vq_wait_used(&t->q, &t->loop, 3);
	assert_int_equal(vq_used_elem(&t->q, 2).len, 256);

	struct rng_stats s = stats(t);
	assert_int_equal(s.entropy_bytes, 1024 + 512 + 256);
	assert_true(s.entropy_rate_limiter_throttled >= 2);
	assert_true(s.rate_limiter_event_count >= 2);
	assert_int_equal(s.entropy_event_fails, 0);
	teardown(t);
}

static void test_ops_limited(void **state)
{
	struct res_rate_limiter rl = {
		.ops = { .set = true, .size = 2, .refill_time_ms = 1000 },
	};
	struct t *t = setup_rl(&rl);

	for (unsigned i = 0; i < 3; i++)
		vq_add_chain(&t->q, (struct seg[]){ { DATA + i * 0x100, 16, true } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 2);
	fake_ns += 500 * MS;
	vq_wait_used(&t->q, &t->loop, 3);
	/* readable chains are not charged (Firecracker checks them first) */
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 16, false } }, 1);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 4);
	assert_int_equal(vq_used_elem(&t->q, 3).len, 0);
	teardown(t);
}

static void test_metrics(void **state)
{
	struct t *t = setup();
	struct metrics m;

	memset(&m, 0, sizeof(m));
	m.entropy.entropy_bytes = 7;
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 100, true } }, 1);
	vq_add_chain(&t->q, (struct seg[]){ { DATA, 100, false } }, 1);
	kick(t);
	rng_add_metrics(t->r, &m);
	assert_int_equal(m.entropy.entropy_bytes, 107);
	assert_int_equal(m.entropy.entropy_event_count, 2);
	assert_int_equal(m.entropy.entropy_event_fails, 1);
	assert_int_equal(m.entropy.host_rng_fails, 0);
	assert_int_equal(m.entropy.entropy_rate_limiter_throttled, 0);
	teardown(t);
}

static void test_no_config(void **state)
{
	struct res_entropy cfg = { .set = true };
	struct guest_mem gm = { .nr = 1, .ram_size = RAM };
	struct rng_dev *r;

	gm.r[0] = (struct gm_region){ 0, RAM, calloc(1, RAM) };
	/* NULL config (no limiter) and no loop: both allowed */
	assert_int_equal(rng_create(&r, NULL, &gm, NULL, 0xc0001000, 5, -1), 0);
	rng_destroy(r);
	assert_int_equal(rng_create(&r, &cfg, &gm, NULL, 0xc0001000, 5, -1), 0);
	rng_destroy(r);
	rng_destroy(NULL);
	free(gm.r[0].host);
}

static int group_setup(void **state)
{
	rl_now_ns = fake_now;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_one_segment),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_readable),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_ops_limited),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_no_config),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
