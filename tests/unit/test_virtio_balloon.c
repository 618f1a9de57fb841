/* virtio-balloon through the virtio-mmio transport over fake RAM made with
 * mmap (so madvise really drops pages): inflate (valid, invalid, straddling
 * PFNs; contiguous runs), deflate, target and `actual` in the config space,
 * the stats buffer protocol and parsing, the interval rules, free page
 * reporting, queue numbering by acked features, malformed rings. */
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
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "ember/evloop.h"
#include "ember/guest_mem.h"
#include "ember/metrics.h"
#include "ember/resources.h"
#include "ember/virtio.h"
#include "ember/virtio_balloon.h"
#include "test_virtio_util.h"

#define RAM (4u << 20)
#define QNUM 16
#define QBASE(q) (0x10000u + 0x4000u * (q)) /* desc, avail +0x1000, used +0x2000 */
#define BUF 0x80000u			    /* PFN arrays, stats buffers */
#define PG 4096u
#define F(bit) (1ull << (bit))

struct t {
	struct guest_mem gm;
	struct evloop loop;
	struct balloon_dev *b;
	struct virtio_dev *d;
	int irq_fd;
	struct vq_drv q[4]; /* inflate, deflate, stats, reporting (as numbered) */
};

static uint8_t *ram(struct t *t, uint64_t gpa) { return vt_ram(&t->gm, gpa); }

/* The Linux driver's init up to DRIVER_OK: ack (offered & mask), set up the
 * queues of the acked features, consecutively numbered as init_vqs() does. */
static void driver_queues(struct t *t, uint64_t mask)
{
	for (unsigned q = 0; q < 4; q++)
		t->q[q] = (struct vq_drv){ .d = t->d, .gm = &t->gm, .desc = QBASE(q),
					   .avail = QBASE(q) + 0x1000,
					   .used = QBASE(q) + 0x2000, .num = QNUM };

	uint64_t f = vt_negotiate(t->d, mask);
	unsigned nq = 2 + !!(f & F(VIRTIO_BALLOON_F_STATS_VQ)) +
		      !!(f & F(VIRTIO_BALLOON_F_REPORTING));

	for (unsigned q = 0; q < nq; q++)
		vt_queue_setup(&t->q[q], q, false);
}

static void driver_init(struct t *t, uint64_t mask)
{
	driver_queues(t, mask);
	vt_driver_ok(t->d);
}

/* The device, no driver yet. */
static struct t *create(const struct res_balloon *cfg, bool loop)
{
	struct t *t = calloc(1, sizeof(*t));
	void *m = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(m != MAP_FAILED);
	vt_ram_init(&t->gm, m, RAM);
	assert_int_equal(evloop_init(&t->loop), 0);
	t->irq_fd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(balloon_create(&t->b, cfg, &t->gm, loop ? &t->loop : NULL, 0xc0001000,
					5, t->irq_fd),
			 0);
	t->d = balloon_virtio(t->b);
	return t;
}

static struct t *setup_cfg(const struct res_balloon *cfg, uint64_t mask, bool loop)
{
	struct t *t = create(cfg, loop);

	driver_init(t, mask);
	return t;
}

static struct t *setup(void)
{
	struct res_balloon cfg = { .set = true, .amount_mib = 1 };
	return setup_cfg(&cfg, ~0ull, false);
}

static struct t *setup_full(void)
{
	struct res_balloon cfg = { .set = true, .amount_mib = 1, .deflate_on_oom = true,
				   .stats_polling_interval_s = 1, .free_page_reporting = true };
	return setup_cfg(&cfg, ~0ull, false);
}

static void teardown(struct t *t)
{
	balloon_destroy(t->b);
	evloop_destroy(&t->loop);
	close(t->irq_fd);
	munmap(t->gm.r[0].host, RAM);
	free(t);
}

static struct balloon_counters ctr(struct t *t)
{
	struct balloon_counters c;
	balloon_get_counters(t->b, &c);
	return c;
}

/* One PFN array on queue q, kicked. */
static void send_pfns(struct t *t, unsigned q, const uint32_t *pfns, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t le = htole32(pfns[i]);
		memcpy(ram(t, BUF + 4 * i), &le, 4);
	}
	vq_add_chain(&t->q[q], &(struct seg){ BUF, 4 * n, false }, 1);
	virtio_queue_kick(t->d, q);
}

static void fill(struct t *t, uint32_t pfn, unsigned pages, uint8_t v)
{
	memset(ram(t, (uint64_t)pfn * PG), v, pages * PG);
}

static bool page_is(struct t *t, uint32_t pfn, uint8_t v)
{
	for (unsigned i = 0; i < PG; i++)
		if (ram(t, (uint64_t)pfn * PG)[i] != v)
			return false;
	return true;
}

static void test_features_config(void **state)
{
	struct t *t = setup_full();
	struct res_balloon bad = { .set = true, .free_page_hinting = true };
	struct balloon_dev *b;
	uint64_t f = vt_features(t->d);

	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	assert_true(f & F(VIRTIO_F_VERSION_1));
	assert_true(f & F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	assert_true(f & F(VIRTIO_BALLOON_F_STATS_VQ));
	assert_true(f & F(VIRTIO_BALLOON_F_REPORTING));
	assert_false(f & F(VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	assert_false(f & F(VIRTIO_BALLOON_F_MUST_TELL_HOST));
	assert_int_equal(balloon_nr_queues(t->b), 4);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG), 256);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 4), 0);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 8), 0);
	/* hinting is refused, and so is a target above RAM */
	assert_int_equal(balloon_create(&b, &bad, &t->gm, NULL, 0, 5, t->irq_fd), -ENOTSUP);
	bad = (struct res_balloon){ .set = true, .amount_mib = RAM / (1 << 20) + 1 };
	assert_int_equal(balloon_create(&b, &bad, &t->gm, NULL, 0, 5, t->irq_fd), -EINVAL);
	teardown(t);

	t = setup();
	f = vt_features(t->d);
	assert_false(f & (F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) | F(VIRTIO_BALLOON_F_STATS_VQ) |
			  F(VIRTIO_BALLOON_F_REPORTING)));
	assert_int_equal(balloon_nr_queues(t->b), 2);
	assert_null(balloon_stats_json(t->b));
	teardown(t);
}

static void test_inflate(void **state)
{
	struct t *t = setup();
	uint32_t pfns[] = { 0x100, 0x101, 0x102, 0x105, 0x106, RAM / PG, 0x107, 0xffffffffu };
	uint64_t before;

	fill(t, 0x100, 8, 0xaa);
	vt_irqs(t->irq_fd);
	send_pfns(t, 0, pfns, 8);
	assert_int_equal(vq_used_idx(&t->q[0]), 1);
	assert_int_equal(vt_irqs(t->irq_fd), 1);
	for (uint32_t p = 0x100; p < 0x108; p++)
		assert_true(page_is(t, p, (p == 0x103 || p == 0x104) ? 0xaa : 0));
	/* runs 0x100-0x102 and 0x105-0x107 (the bad PFN between is skipped) */
	assert_int_equal(ctr(t).madvise_calls, 2);
	assert_int_equal(ctr(t).invalid_pfns, 2);
	assert_int_equal(ctr(t).inflated_pages, 8);
	assert_int_equal(ctr(t).inflate_count, 1);
	assert_false(t->d->broken);

	/* only bad PFNs: no madvise at all; a trailing partial PFN is ignored */
	before = ctr(t).madvise_calls;
	send_pfns(t, 0, (uint32_t[]){ RAM / PG + 5, 0x7fffffffu }, 2);
	assert_int_equal(ctr(t).madvise_calls, before);
	fill(t, 0x110, 1, 0xaa);
	uint32_t le = htole32(0x110);
	memcpy(ram(t, BUF + 0x100), &le, 4);
	vq_add_chain(&t->q[0], &(struct seg){ BUF + 0x100, 6, false }, 1);
	virtio_queue_kick(t->d, 0);
	assert_int_equal(vq_used_idx(&t->q[0]), 3);
	assert_int_equal(ctr(t).madvise_calls, before + 1);
	assert_true(page_is(t, 0x110, 0));

	/* Linux sends its batches in reverse allocation order: descending
	 * runs merge too, and a run may grow at either end. */
	before = ctr(t).madvise_calls;
	fill(t, 0x108, 0x20, 0xaa);
	send_pfns(t, 0, (uint32_t[]){ 0x10a, 0x109, 0x108, 0x120, 0x11f, 0x121 }, 6);
	assert_int_equal(ctr(t).madvise_calls, before + 2);
	for (uint32_t p = 0x108; p < 0x128; p++)
		assert_true(page_is(t, p, (p <= 0x10a || (p >= 0x11f && p <= 0x121)) ? 0 : 0xaa));
	assert_false(t->d->broken);
	teardown(t);
}

/* RAM whose end is not page aligned: the last PFN straddles it. */
static void test_inflate_straddle(void **state)
{
	struct res_balloon cfg = { .set = true };
	struct t *t = setup_cfg(&cfg, ~0ull, false);
	uint32_t last = RAM / PG - 1;

	t->gm.r[0].size = RAM - 0x800;
	fill(t, last, 1, 0x55);
	send_pfns(t, 0, &last, 1);
	assert_int_equal(vq_used_idx(&t->q[0]), 1);
	assert_int_equal(ctr(t).invalid_pfns, 1);
	assert_int_equal(ctr(t).madvise_calls, 0);
	assert_true(page_is(t, last, 0x55));
	t->gm.r[0].size = RAM;
	teardown(t);
}

static void test_deflate(void **state)
{
	struct t *t = setup();

	fill(t, 0x200, 1, 0x11);
	send_pfns(t, 1, (uint32_t[]){ 0x200, 0x201, 0x202 }, 3);
	assert_int_equal(vq_used_idx(&t->q[1]), 1);
	assert_int_equal(ctr(t).deflate_count, 1);
	assert_int_equal(ctr(t).deflated_pages, 3);
	assert_int_equal(ctr(t).madvise_calls, 0);
	assert_true(page_is(t, 0x200, 0x11)); /* nothing done on the host */
	teardown(t);
}

static void test_target_actual(void **state)
{
	struct t *t = setup();
	uint32_t gen = vt_rd32(t->d, VIRTIO_MMIO_CONFIG_GENERATION);
	json_t *j;

	vt_irqs(t->irq_fd);
	assert_int_equal(balloon_set_target(t->b, 3), 0);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG), 3 * 256);
	assert_int_not_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(vt_irqs(t->irq_fd), 1);
	assert_int_equal(balloon_set_target(t->b, RAM / (1 << 20) + 1), -EINVAL);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG), 3 * 256);

	/* the guest writes `actual`, and only that */
	vt_wr32(t->d, VIRTIO_MMIO_CONFIG + 4, 512);
	vt_wr32(t->d, VIRTIO_MMIO_CONFIG, 7);
	vt_wr32(t->d, VIRTIO_MMIO_CONFIG + 8, 7);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 4), 512);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG), 3 * 256);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 8), 0);
	uint16_t hi = htole16(1);
	virtio_mmio_io(t->d, VIRTIO_MMIO_CONFIG + 6, (uint8_t *)&hi, 2, true);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 4), 0x10000 + 512);

	j = balloon_config_json(t->b);
	assert_int_equal(json_integer_value(json_object_get(j, "amount_mib")), 3);
	assert_true(json_is_false(json_object_get(j, "deflate_on_oom")));
	assert_int_equal(json_integer_value(json_object_get(j, "stats_polling_interval_s")), 0);
	assert_true(json_is_false(json_object_get(j, "free_page_hinting")));
	assert_true(json_is_false(json_object_get(j, "free_page_reporting")));
	json_decref(j);
	/* a driver reset empties its balloon */
	vt_wr32(t->d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 4), 0);
	teardown(t);
}

/* {tag, val} entries at gpa. */
static uint32_t put_stats(struct t *t, uint64_t gpa, const uint16_t *tags,
			  const uint64_t *vals, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t tg = htole16(tags[i]);
		uint64_t v = htole64(vals[i]);
		memcpy(ram(t, gpa + 10 * i), &tg, 2);
		memcpy(ram(t, gpa + 10 * i + 2), &v, 8);
	}
	return 10 * n;
}

static json_int_t stat(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	assert_non_null(v);
	return json_integer_value(v);
}

static void test_stats(void **state)
{
	struct t *t = setup_full();
	uint16_t tags[] = { VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_MEMFREE, 99,
			    VIRTIO_BALLOON_S_MEMTOT, 15 };
	uint64_t vals[] = { 11, 4096, 5, 8192, 77 };
	uint32_t len = put_stats(t, BUF, tags, vals, 5);
	json_t *j;

	vt_wr32(t->d, VIRTIO_MMIO_CONFIG + 4, 256);
	vq_add_chain(&t->q[2], &(struct seg){ BUF, len, false }, 1);
	virtio_queue_kick(t->d, 2);
	assert_int_equal(vq_used_idx(&t->q[2]), 0); /* held until the next poll */
	j = balloon_stats_json(t->b);
	assert_int_equal(stat(j, "target_pages"), 256);
	assert_int_equal(stat(j, "actual_pages"), 256);
	assert_int_equal(stat(j, "target_mib"), 1);
	assert_int_equal(stat(j, "actual_mib"), 1);
	assert_int_equal(stat(j, "swap_in"), 11);
	assert_int_equal(stat(j, "free_memory"), 4096);
	assert_int_equal(stat(j, "total_memory"), 8192);
	assert_int_equal(stat(j, "direct_reclaim"), 77);
	assert_null(json_object_get(j, "swap_out"));
	assert_int_equal(json_object_size(j), 8);
	json_decref(j);

	vt_irqs(t->irq_fd);
	balloon_stats_tick(t->b);
	assert_int_equal(vq_used_idx(&t->q[2]), 1);
	assert_int_equal(vt_irqs(t->irq_fd), 1);
	balloon_stats_tick(t->b); /* nothing held: nothing to return */
	assert_int_equal(vq_used_idx(&t->q[2]), 1);

	/* truncated: two whole entries and 5 bytes of a third */
	vals[0] = 12;
	len = put_stats(t, BUF, tags, vals, 2) + 5;
	vq_add_chain(&t->q[2], &(struct seg){ BUF, len, false }, 1);
	virtio_queue_kick(t->d, 2);
	j = balloon_stats_json(t->b);
	assert_int_equal(stat(j, "swap_in"), 12);
	assert_int_equal(stat(j, "total_memory"), 8192); /* earlier values stay */
	json_decref(j);
	assert_int_equal(ctr(t).stats_updates_count, 2);
	assert_int_equal(ctr(t).stats_update_fails, 1);

	/* an extra buffer while one is held: the old one goes back */
	vq_add_chain(&t->q[2], &(struct seg){ BUF, 3, false }, 1);
	virtio_queue_kick(t->d, 2);
	assert_int_equal(vq_used_idx(&t->q[2]), 2);
	assert_false(t->d->broken);
	teardown(t);
}

/* Linux's init_vqs() primes the stats queue with its first buffer before
 * DRIVER_OK; the transport ignores that kick, so activation takes it. */
static void test_stats_primed_before_driver_ok(void **state)
{
	struct res_balloon cfg = { .set = true, .stats_polling_interval_s = 1 };
	struct t *t = create(&cfg, false);
	uint16_t tags[] = { VIRTIO_BALLOON_S_MEMFREE };
	uint64_t vals[] = { 12345 };
	json_t *j;

	driver_queues(t, ~0ull);
	vq_add_chain(&t->q[2], &(struct seg){ BUF, put_stats(t, BUF, tags, vals, 1), false }, 1);
	virtio_queue_kick(t->d, 2);
	assert_int_equal(ctr(t).stats_updates_count, 0);
	vt_driver_ok(t->d);
	assert_int_equal(ctr(t).stats_updates_count, 1);
	j = balloon_stats_json(t->b);
	assert_int_equal(stat(j, "free_memory"), 12345);
	json_decref(j);
	assert_int_equal(vq_used_idx(&t->q[2]), 0); /* held until the next poll */
	balloon_stats_tick(t->b);
	assert_int_equal(vq_used_idx(&t->q[2]), 1);
	assert_false(t->d->broken);
	teardown(t);
}

static void test_stats_interval(void **state)
{
	struct t *t = setup();
	json_t *j;

	assert_int_equal(balloon_set_stats_interval(t->b, 5), -EINVAL);
	assert_int_equal(balloon_set_stats_interval(t->b, 0), 0);
	teardown(t);

	t = setup_full();
	assert_int_equal(balloon_set_stats_interval(t->b, 0), -EINVAL);
	assert_int_equal(balloon_set_stats_interval(t->b, 3), 0);
	j = balloon_config_json(t->b);
	assert_int_equal(json_integer_value(json_object_get(j, "stats_polling_interval_s")), 3);
	assert_true(json_is_true(json_object_get(j, "free_page_reporting")));
	json_decref(j);
	teardown(t);
}

/* The real timer on the loop gives the buffer back after 1 s. */
static void test_stats_timer(void **state)
{
	struct res_balloon cfg = { .set = true, .stats_polling_interval_s = 1 };
	struct t *t = setup_cfg(&cfg, ~0ull, true);
	struct epoll_event ev;

	vq_add_chain(&t->q[2], &(struct seg){ BUF, 10, false }, 1);
	virtio_queue_kick(t->d, 2);
	assert_int_equal(vq_used_idx(&t->q[2]), 0);
	assert_int_equal(epoll_wait(t->loop.epfd, &ev, 1, 3000), 1);
	struct evloop_handler *h = ev.data.ptr;
	h->fn(h, ev.events);
	assert_int_equal(vq_used_idx(&t->q[2]), 1);
	teardown(t);
}

/* Reporting is queue 3 after stats, queue 2 without it. */
static void test_queue_numbering(void **state)
{
	struct res_balloon cfg = { .set = true, .stats_polling_interval_s = 1,
				   .free_page_reporting = true };
	struct t *t = setup_cfg(&cfg, ~F(VIRTIO_BALLOON_F_STATS_VQ), false);

	fill(t, 0x120, 1, 0x33);
	vq_add_chain(&t->q[2], &(struct seg){ 0x120000, PG, true }, 1);
	virtio_queue_kick(t->d, 2);
	assert_int_equal(vq_used_idx(&t->q[2]), 1);
	assert_true(page_is(t, 0x120, 0));
	assert_int_equal(ctr(t).free_page_report_count, 1);
	/* queue 3 does not exist for this driver */
	virtio_queue_kick(t->d, 3);
	assert_int_equal(ctr(t).event_fails, 0);
	teardown(t);
}

static void test_reporting(void **state)
{
	struct t *t = setup_full();
	struct seg s[3] = { { 0x120000, 2 * PG, true }, { 0x130800, PG, true },
			    { 0x140100, 2 * PG, true } };

	fill(t, 0x120, 0x30, 0x77);
	vq_add_chain(&t->q[3], s, 3);
	virtio_queue_kick(t->d, 3);
	assert_int_equal(vq_used_idx(&t->q[3]), 1);
	assert_true(page_is(t, 0x120, 0) && page_is(t, 0x121, 0));
	/* unaligned: only whole pages inside a range go */
	assert_true(page_is(t, 0x130, 0x77) && page_is(t, 0x131, 0x77));
	assert_true(page_is(t, 0x140, 0x77) && page_is(t, 0x141, 0));
	assert_true(page_is(t, 0x142, 0x77));
	assert_int_equal(ctr(t).free_page_report_freed, 3 * PG);

	/* a range past the end of RAM breaks the ring */
	vq_add_chain(&t->q[3], &(struct seg){ RAM - PG, 2 * PG, true }, 1);
	virtio_queue_kick(t->d, 3);
	assert_true(t->d->broken);
	assert_int_equal(vq_used_idx(&t->q[3]), 1);
	teardown(t);
}

static void test_malformed(void **state)
{
	struct t *t = setup_full();
	struct vring_avail *av = (struct vring_avail *)ram(t, QBASE(0) + 0x1000);
	struct vring_desc *tbl = (struct vring_desc *)ram(t, QBASE(1));

	/* avail.idx far ahead */
	av->idx = htole16(QNUM + 5);
	virtio_queue_kick(t->d, 0);
	assert_true(t->d->broken);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	teardown(t);

	/* a PFN buffer outside RAM */
	t = setup_full();
	vq_add_chain(&t->q[0], &(struct seg){ RAM - 2, 4, false }, 1);
	virtio_queue_kick(t->d, 0);
	assert_true(t->d->broken);
	teardown(t);

	/* a chain that loops */
	t = setup_full();
	tbl = (struct vring_desc *)ram(t, QBASE(1));
	vq_add_chain(&t->q[1], (struct seg[]){ { BUF, 4, false }, { BUF, 4, false } }, 2);
	tbl[1].next = htole16(0);
	tbl[1].flags = htole16(VRING_DESC_F_NEXT);
	virtio_queue_kick(t->d, 1);
	assert_true(t->d->broken);
	teardown(t);

	/* stats: descriptor index out of range */
	t = setup_full();
	av = (struct vring_avail *)ram(t, QBASE(2) + 0x1000);
	av->ring[0] = htole16(QNUM + 1);
	av->idx = htole16(1);
	virtio_queue_kick(t->d, 2);
	assert_true(t->d->broken);
	assert_int_equal(ctr(t).event_fails, 1);
	teardown(t);
}

static void test_metrics(void **state)
{
	struct t *t = setup_full();
	struct metrics m = { 0 };

	send_pfns(t, 0, (uint32_t[]){ 0x100 }, 1);
	send_pfns(t, 1, (uint32_t[]){ 0x100 }, 1);
	balloon_add_metrics(t->b, &m);
	assert_int_equal(m.balloon.inflate_count, 1);
	assert_int_equal(m.balloon.deflate_count, 1);
	teardown(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_config),
		cmocka_unit_test(test_inflate),
		cmocka_unit_test(test_inflate_straddle),
		cmocka_unit_test(test_deflate),
		cmocka_unit_test(test_target_actual),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_primed_before_driver_ok),
		cmocka_unit_test(test_stats_interval),
		cmocka_unit_test(test_stats_timer),
		cmocka_unit_test(test_queue_numbering),
		cmocka_unit_test(test_reporting),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
