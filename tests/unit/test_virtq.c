/* queue.c: the split-virtqueue walker over a fake RAM buffer, playing the
 * driver by hand: good chains, every malformed ring and chain, used ring
 * contents, EVENT_IDX / NO_INTERRUPT decisions, notify enable + recheck. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/virtio_ring.h>

#include "ember/guest_mem.h"
#include "ember/virtq.h"

#define RAM 0x10000ull
#define DESC 0x1000ull
#define AVAIL 0x3000ull
#define USED 0x4000ull
#define BUF 0x8000ull

/* The driver's side: fake RAM, the queue under test, the next avail idx. */
struct drv {
	struct guest_mem gm;
	uint8_t *ram;
	struct virtq q;
	struct virtq_chain c;
	uint16_t avail_idx;
};

static struct drv *mk(uint16_t num)
{
	struct drv *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = calloc(1, RAM);
	assert_non_null(f->ram);
	f->gm.r[0] = (struct gm_region){ 0, RAM, f->ram };
	f->gm.nr = 1;
	f->gm.ram_size = RAM;
	f->q = (struct virtq){ .num = num, .desc_gpa = DESC, .avail_gpa = AVAIL,
			       .used_gpa = USED };
	assert_int_equal(virtq_check(&f->q, &f->gm, VIRTQ_MAX_SIZE), 0);
	f->q.ready = true;
	return f;
}

static void rm(struct drv *f)
{
	free(f->ram);
	free(f);
}

static struct vring_desc *D(struct drv *f) { return (struct vring_desc *)(f->ram + DESC); }
static struct vring_avail *A(struct drv *f) { return (struct vring_avail *)(f->ram + AVAIL); }
static struct vring_used *U(struct drv *f) { return (struct vring_used *)(f->ram + USED); }
static uint16_t *used_event(struct drv *f) { return &A(f)->ring[f->q.num]; }
static uint16_t *avail_event(struct drv *f) { return (uint16_t *)&U(f)->ring[f->q.num]; }

static void set_desc(struct drv *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	D(f)[i] = (struct vring_desc){ addr, len, flags, next };
}

/* n descriptors from `first` (consecutive), the last `nw` device-writable,
 * each a 0x100-byte buffer; returns the head. */
static uint16_t chain(struct drv *f, uint16_t first, unsigned n, unsigned nw)
{
	for (unsigned k = 0; k < n; k++) {
		uint16_t i = (uint16_t)(first + k);
		uint16_t fl = (k + 1 < n ? VRING_DESC_F_NEXT : 0) |
			      (k >= n - nw ? VRING_DESC_F_WRITE : 0);

		set_desc(f, i, BUF + 0x100ull * i, 0x100, fl, (uint16_t)(i + 1));
	}
	return first;
}

static void publish(struct drv *f, uint16_t head)
{
	A(f)->ring[f->avail_idx & (f->q.num - 1)] = head;
	f->avail_idx++;
	A(f)->idx = f->avail_idx;
}

static int pop(struct drv *f)
{
	return virtq_pop(&f->q, &f->gm, &f->c);
}

static void test_single(void **state)
{
	struct drv *f = mk(8);

	assert_int_equal(pop(f), 0);
	publish(f, chain(f, 2, 1, 0));
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 2);
	assert_int_equal(f->c.n, 1);
	assert_int_equal(f->c.seg[0].gpa, BUF + 0x200);
	assert_int_equal(f->c.seg[0].len, 0x100);
	assert_false(f->c.seg[0].write);
	assert_ptr_equal(f->c.seg[0].host, f->ram + BUF + 0x200);
	assert_int_equal(f->q.last_avail, 1);
	assert_int_equal(pop(f), 0);
	rm(f);
}

static void test_multi(void **state)
{
	struct drv *f = mk(8);

	publish(f, chain(f, 0, 5, 2));
	publish(f, chain(f, 5, 3, 3));
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.n, 5);
	for (unsigned k = 0; k < 5; k++) {
		assert_int_equal(f->c.seg[k].gpa, BUF + 0x100 * k);
		assert_int_equal(f->c.seg[k].write, k >= 3);
	}
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 5);
	assert_int_equal(f->c.n, 3);
	assert_true(f->c.seg[0].write);
	assert_int_equal(pop(f), 0);
	/* a chain of exactly num descriptors is fine */
	publish(f, chain(f, 0, 8, 0));
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.n, 8);
	rm(f);
}

static void test_zero_len(void **state)
{
	struct drv *f = mk(4);

	/* len 0 never gets a pointer, wherever it points */
	set_desc(f, 0, UINT64_MAX, 0, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 16, 0, 0);
	publish(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.n, 2);
	assert_null(f->c.seg[0].host);
	assert_int_equal(f->c.seg[0].len, 0);
	assert_non_null(f->c.seg[1].host);
	rm(f);
}

static void test_unpop_and_wrap(void **state)
{
	struct drv *f = mk(4);

	f->q.last_avail = f->avail_idx = 0xfffe;
	publish(f, chain(f, 0, 1, 0));
	publish(f, chain(f, 1, 1, 0));
	publish(f, chain(f, 2, 1, 0)); /* avail.idx wraps to 1 */
	assert_int_equal(A(f)->idx, 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 0);
	virtq_unpop(&f->q);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 2);
	assert_int_equal(f->q.last_avail, 1);
	assert_int_equal(pop(f), 0);
	rm(f);
}

/* One malformed ring per case, set up by `fn` on a fresh 8-entry queue. */
struct bad { const char *name; void (*fn)(struct drv *f); };

static void b_head(struct drv *f) { chain(f, 0, 1, 0); publish(f, 8); }
static void b_head_huge(struct drv *f) { publish(f, 0xffff); }
static void b_next(struct drv *f) { set_desc(f, 0, BUF, 1, VRING_DESC_F_NEXT, 8); publish(f, 0); }
static void b_self(struct drv *f) { set_desc(f, 3, BUF, 1, VRING_DESC_F_NEXT, 3); publish(f, 3); }
static void b_loop(struct drv *f)
{
	chain(f, 0, 8, 0);
	D(f)[7].flags = VRING_DESC_F_NEXT;
	D(f)[7].next = 2; /* 0..7 then back to 2: longer than num */
	publish(f, 0);
}
static void b_ahead(struct drv *f) { chain(f, 0, 1, 0); publish(f, 0); A(f)->idx = 9; }
static void b_behind(struct drv *f) { A(f)->idx = 0xffff; } /* 65535 "ahead" */
static void b_indirect(struct drv *f) { set_desc(f, 0, BUF, 32, VRING_DESC_F_INDIRECT, 0); publish(f, 0); }
static void b_rw(struct drv *f) { chain(f, 0, 3, 2); D(f)[2].flags = 0; publish(f, 0); }
static void b_outside(struct drv *f) { set_desc(f, 0, RAM, 1, 0, 0); publish(f, 0); }
static void b_straddle(struct drv *f) { set_desc(f, 0, RAM - 1, 2, 0, 0); publish(f, 0); }
static void b_overflow(struct drv *f) { set_desc(f, 0, UINT64_MAX - 10, 100, 0, 0); publish(f, 0); }
static void b_bigger_than_ram(struct drv *f) { set_desc(f, 0, 0, 0xffffffff, 0, 0); publish(f, 0); }
static void b_late(struct drv *f)
{
	/* a bad segment at the end of an otherwise good chain */
	chain(f, 0, 4, 1);
	D(f)[3].addr = RAM - 0x80;
	publish(f, 0);
}

static const struct bad bads[] = {
	{ "head >= num", b_head }, { "head 0xffff", b_head_huge },
	{ "next >= num", b_next }, { "self loop", b_self }, { "loop", b_loop },
	{ "avail.idx > num ahead", b_ahead }, { "avail.idx behind", b_behind },
	{ "INDIRECT", b_indirect }, { "read after write", b_rw },
	{ "buffer outside RAM", b_outside }, { "straddles RAM end", b_straddle },
	{ "addr+len overflow", b_overflow }, { "len > RAM", b_bigger_than_ram },
	{ "last segment outside", b_late },
};

static void test_malformed(void **state)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct drv *f = mk(8);

		bads[i].fn(f);
		if (pop(f) != -EPROTO)
			fail_msg("%s: not refused", bads[i].name);
		assert_int_equal(f->q.last_avail, 0); /* nothing consumed */
		rm(f);
	}
}

static void test_ahead_exactly_num(void **state)
{
	struct drv *f = mk(4);

	for (uint16_t i = 0; i < 4; i++)
		publish(f, chain(f, i, 1, 0));
	for (int i = 0; i < 4; i++)
		assert_int_equal(pop(f), 1);
	assert_int_equal(pop(f), 0);
	rm(f);
}

static int check(uint16_t num, uint64_t desc, uint64_t avail, uint64_t used, uint16_t max)
{
	struct drv *f = mk(1);
	struct virtq q = { .num = num, .desc_gpa = desc, .avail_gpa = avail, .used_gpa = used };
	int rc = virtq_check(&q, &f->gm, max);

	rm(f);
	return rc;
}

static void test_check(void **state)
{
	const uint16_t M = VIRTQ_MAX_SIZE;

	assert_int_equal(check(1, DESC, AVAIL, USED, M), 0);
	assert_int_equal(check(256, DESC, AVAIL, USED, M), 0);
	assert_int_equal(check(0, DESC, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(3, DESC, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(255, DESC, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(512, DESC, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(512, DESC, AVAIL, USED, 1024), -EINVAL); /* capped */
	assert_int_equal(check(256, DESC, AVAIL, USED, 128), -EINVAL);
	assert_int_equal(check(0x8000, DESC, AVAIL, USED, 0xffff), -EINVAL);
	/* alignment */
	assert_int_equal(check(8, DESC + 8, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(8, DESC, AVAIL + 1, USED, M), -EINVAL);
	assert_int_equal(check(8, DESC, AVAIL, USED + 2, M), -EINVAL);
	assert_int_equal(check(8, DESC, AVAIL + 2, USED + 4, M), 0);
	/* each ring wholly inside RAM, event words included */
	assert_int_equal(check(8, RAM - 128, AVAIL, USED, M), 0);
	assert_int_equal(check(8, RAM - 112, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(8, DESC, RAM - 22, USED, M), 0);
	assert_int_equal(check(8, DESC, RAM - 20, USED, M), -EINVAL); /* used_event out */
	assert_int_equal(check(8, DESC, AVAIL, RAM - 72, M), 0);
	assert_int_equal(check(8, DESC, AVAIL, RAM - 68, M), -EINVAL); /* avail_event out */
	assert_int_equal(check(8, RAM, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(8, UINT64_MAX - 15, AVAIL, USED, M), -EINVAL);
	assert_int_equal(check(8, DESC, UINT64_MAX - 1, USED, M), -EINVAL);
	assert_int_equal(check(8, DESC, AVAIL, UINT64_MAX - 3, M), -EINVAL);
}

static void test_not_ready(void **state)
{
	struct drv *f = mk(4);

	publish(f, chain(f, 0, 1, 0));
	f->q.ready = false;
	assert_int_equal(pop(f), 0);
	assert_int_equal(virtq_push(&f->q, &f->gm, 0, 1), -EINVAL);
	assert_false(virtq_should_notify(&f->q, &f->gm));
	assert_false(virtq_enable_notify(&f->q, &f->gm));
	/* ready, but the rings moved out of RAM behind virtq_check's back */
	f->q.ready = true;
	f->q.used_gpa = RAM;
	assert_int_equal(pop(f), -EPROTO);
	assert_int_equal(virtq_push(&f->q, &f->gm, 0, 1), -EINVAL);
	rm(f);
}

static void test_push(void **state)
{
	struct drv *f = mk(4);

	assert_int_equal(virtq_push(&f->q, &f->gm, 3, 77), 0);
	assert_int_equal(U(f)->idx, 1);
	assert_int_equal(U(f)->ring[0].id, 3);
	assert_int_equal(U(f)->ring[0].len, 77);
	assert_int_equal(virtq_push(&f->q, &f->gm, 4, 1), -EINVAL);
	assert_int_equal(U(f)->idx, 1);
	/* used.idx wraps; the slot is idx mod num */
	f->q.next_used = 0xffff;
	assert_int_equal(virtq_push(&f->q, &f->gm, 1, 9), 0);
	assert_int_equal(U(f)->idx, 0);
	assert_int_equal(U(f)->ring[3].id, 1);
	assert_int_equal(U(f)->ring[3].len, 9);
	/* the avail_event word after the ring is not touched by a push */
	assert_int_equal(*avail_event(f), 0);
	rm(f);
}

static bool push_notify(struct drv *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(virtq_push(&f->q, &f->gm, 0, 0), 0);
	return virtq_should_notify(&f->q, &f->gm);
}

static void test_event_idx(void **state)
{
	struct drv *f = mk(8);

	f->q.event_idx = true;
	*used_event(f) = 100;
	assert_true(push_notify(f, 1));	  /* first time: always */
	*used_event(f) = 1;		  /* "interrupt me once used.idx passes 1" */
	assert_true(push_notify(f, 1));	  /* 1 -> 2 crosses it */
	assert_false(push_notify(f, 1));  /* 2 -> 3 does not */
	assert_false(push_notify(f, 0));  /* nothing new */
	*used_event(f) = 4;
	assert_true(push_notify(f, 3));	  /* 3 -> 6 crosses 4 */
	*used_event(f) = 7;
	assert_false(push_notify(f, 1));  /* 6 -> 7: not yet */
	assert_true(push_notify(f, 1));	  /* 7 -> 8 */
	/* wrap at 65535 */
	f->q.next_used = f->q.signalled_used = 0xfffe;
	*used_event(f) = 0xffff;
	assert_true(push_notify(f, 2));	  /* 0xfffe -> 0 crosses 0xffff */
	assert_int_equal(U(f)->idx, 0);
	*used_event(f) = 0xfffe;
	assert_false(push_notify(f, 1));  /* 0 -> 1: event was behind */
	*used_event(f) = 1;
	assert_true(push_notify(f, 1));	  /* 1 -> 2 */
	rm(f);
}

static void test_no_interrupt(void **state)
{
	struct drv *f = mk(4);

	A(f)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(push_notify(f, 1));
	A(f)->flags = 0;
	assert_true(push_notify(f, 1));
	*used_event(f) = 0xffff; /* ignored without EVENT_IDX */
	assert_true(push_notify(f, 1));
	rm(f);
}

static void test_enable_notify(void **state)
{
	struct drv *f = mk(4);

	/* flags: disable sets NO_NOTIFY, enable clears it and rechecks */
	virtq_disable_notify(&f->q, &f->gm);
	assert_int_equal(U(f)->flags, VRING_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&f->q, &f->gm));
	assert_int_equal(U(f)->flags, 0);
	/* an entry that raced in before the recheck is seen */
	virtq_disable_notify(&f->q, &f->gm);
	publish(f, chain(f, 0, 1, 0));
	assert_true(virtq_enable_notify(&f->q, &f->gm));
	assert_int_equal(pop(f), 1);
	assert_false(virtq_enable_notify(&f->q, &f->gm));

	/* EVENT_IDX: avail_event = last_avail, flags untouched */
	f->q.event_idx = true;
	*avail_event(f) = 0x1234;
	virtq_disable_notify(&f->q, &f->gm);
	assert_int_equal(*avail_event(f), 0x1234);
	assert_int_equal(U(f)->flags, 0);
	assert_false(virtq_enable_notify(&f->q, &f->gm));
	assert_int_equal(*avail_event(f), 1);
	publish(f, chain(f, 1, 1, 0));
	assert_true(virtq_enable_notify(&f->q, &f->gm));
	assert_int_equal(*avail_event(f), 1);
	assert_int_equal(pop(f), 1);
	assert_false(virtq_enable_notify(&f->q, &f->gm));
	assert_int_equal(*avail_event(f), 2);
	/* the driver's kick test against it: kick when avail moves past 2 */
	assert_true(vring_need_event(*avail_event(f), 3, 2));
	assert_false(vring_need_event(*avail_event(f), 2, 1));
	rm(f);
}

static void test_reset(void **state)
{
	struct drv *f = mk(4);

	f->q.last_avail = 3;
	virtq_reset(&f->q);
	assert_false(f->q.ready);
	assert_int_equal(f->q.num, 0);
	assert_int_equal(f->q.last_avail, 0);
	assert_int_equal(f->q.desc_gpa, 0);
	rm(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_zero_len),
		cmocka_unit_test(test_unpop_and_wrap),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ahead_exactly_num),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_not_ready),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_no_interrupt),
		cmocka_unit_test(test_enable_notify),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
