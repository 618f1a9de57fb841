/* The comms ring library in one process, both ends on one mapped region:
 * geometry and region checks (seals, size, header), single frames, full
 * and empty, bursts, multi-slot frames up to RING_MAX_FRAME, free-running
 * indices across UINT32_MAX, notification suppression, and a hostile peer
 * scribbling indices, lengths and flags (table cases plus a random fuzz).
 * The region sits in an exact-size mapping between PROT_NONE guard pages,
 * and the ring under test is the region's last one, so any read past it
 * faults; every iovec handed out is also checked to lie inside its ring. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "ember/comms_ring.h"
#include "../../src/comms/ring_internal.h"

#define SID 0x1122334455667788ull

struct fx {
	struct ring_geom g;
	int memfd;
	uint8_t *resv, *base;
	size_t resv_len, len;
	struct ring_tx tx;
	struct ring_rx rx;
	struct ring_ctl *ctl;
	uint8_t *data;
	uint32_t pay;
};

static uint8_t big_in[RING_MAX_FRAME + 64], big_out[RING_MAX_FRAME + 64];

static struct fx *fx_new_dir(uint32_t slots, uint32_t slot_size, enum ring_dir dir)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	assert_non_null(f);
	f->g = (struct ring_geom){ slots, slot_size };
	f->memfd = ring_region_create(&f->g, SID);
	assert_true(f->memfd >= 0);
	f->len = ring_region_size(&f->g);
	f->resv_len = f->len + 2 * pg;
	f->resv = mmap(NULL, f->resv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	assert_true(f->resv != MAP_FAILED);
	f->base = mmap(f->resv + pg, f->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       f->memfd, 0);
	assert_ptr_equal(f->base, f->resv + pg);
	ring_tx_init(&f->tx, f->base, &f->g, dir);
	ring_rx_init(&f->rx, f->base, &f->g, dir);
	f->ctl = (struct ring_ctl *)(f->base + ring_ctl_off(dir));
	f->data = f->base + ring_data_off(&f->g, dir);
	f->pay = slot_size - RING_SLOT_HDR;
	return f;
}

/* Ring 1 (S2C) ends at the region's end: the guard page follows it. */
static struct fx *fx_new(uint32_t slots, uint32_t slot_size)
{
	return fx_new_dir(slots, slot_size, RING_S2C);
}

static void fx_free(struct fx *f)
{
	munmap(f->resv, f->resv_len);
	close(f->memfd);
	free(f);
}

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

static struct ring_vnet_hdr hdr_for(uint32_t seed)
{
	return (struct ring_vnet_hdr){ .flags = 1, .gso_type = (uint8_t)seed,
				       .hdr_len = (uint16_t)(seed + 1), .gso_size = 1448,
				       .csum_start = 34, .csum_offset = 16,
				       .num_buffers = (uint16_t)seed };
}

static int send_frame(struct fx *f, size_t len, uint32_t seed)
{
	struct ring_vnet_hdr h = hdr_for(seed);
	/* three pieces of odd sizes, to exercise the gather */
	size_t a = len / 3, b = len / 5;
	struct iovec iov[3] = { { big_in, a }, { big_in + a, b }, { big_in + a + b, len - a - b } };

	pattern(big_in, len, seed);
	return ring_tx_frame(&f->tx, &h, iov, 3, len);
}

static bool iov_inside(const struct fx *f, const struct iovec *v)
{
	uintptr_t lo = (uintptr_t)f->data, hi = lo + (size_t)f->g.slots * f->g.slot_size;
	uintptr_t b = (uintptr_t)v->iov_base;

	return b >= lo && v->iov_len <= hi - b;
}

/* Receive one frame and check its length, header and bytes (through both
 * ring_rx_iov and ring_rx_copy). */
static void recv_frame(struct fx *f, size_t len, uint32_t seed)
{
	struct ring_vnet_hdr h = hdr_for(seed);
	struct ring_rx_frame fr;
	struct iovec iov[64];
	size_t off = 0;
	int n;

	assert_int_equal(ring_rx_peek(&f->rx, &fr), 1);
	assert_int_equal(fr.len, len);
	assert_int_equal(fr.nslots, (len + f->pay - 1) / f->pay);
	assert_memory_equal(&fr.hdr, &h, sizeof(h));
	pattern(big_in, len, seed);
	n = ring_rx_iov(&f->rx, &fr, iov, 64);
	assert_int_equal(n, fr.nslots);
	for (int i = 0; i < n; i++) {
		assert_true(iov_inside(f, &iov[i]));
		assert_memory_equal(iov[i].iov_base, big_in + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	assert_int_equal(off, len);
	memset(big_out, 0, len);
	assert_int_equal(ring_rx_copy(&f->rx, &fr, 0, big_out, len + 10), len);
	assert_memory_equal(big_out, big_in, len);
	ring_rx_consume(&f->rx, &fr);
}

static void test_geometry(void **state)
{
	struct ring_geom g = { 1024, 2048 };

	assert_true(ring_geom_valid(&g));
	assert_int_equal(ring_region_size(&g), 0x2000 + 2 * 1024 * 2048);
	assert_int_equal(ring_rx_max_iov(&g), 33);
	g = (struct ring_geom){ RING_MAX_SLOTS, RING_MAX_SLOT_SIZE };
	assert_true(ring_geom_valid(&g));
	assert_int_equal(ring_rx_max_iov(&g), 2);
	struct ring_geom bad[] = { { 32, 2048 }, { 8192, 2048 }, { 1000, 2048 }, { 1024, 1024 },
				   { 1024, 131072 }, { 1024, 3000 }, { 0, 0 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(ring_geom_valid(&bad[i]));
		assert_int_equal(ring_region_size(&bad[i]), 0);
		assert_int_equal(ring_region_create(&bad[i], 1), -EINVAL);
	}
}

static void test_region_map(void **state)
{
	struct ring_geom g = { 64, 2048 }, g2 = { 128, 2048 };
	void *base;
	size_t len;
	int fd = ring_region_create(&g, SID), bad;
	uint64_t junk = 0;

	assert_true(fd >= 0);
	assert_int_equal(ring_region_map(fd, &g, SID, &base, &len), 0);
	assert_int_equal(len, ring_region_size(&g));
	assert_int_equal(((struct ring_hdr *)base)->magic, RING_MAGIC);
	ring_region_unmap(base, len);
	assert_int_equal(ring_region_map(fd, &g, SID + 1, &base, &len), -EPROTO);
	assert_int_equal(ring_region_map(fd, &g2, SID, &base, &len), -EINVAL); /* size */
	assert_int_equal(ftruncate(fd, 4096), -1); /* sealed */
	/* a corrupt header is refused */
	assert_int_equal(pwrite(fd, &junk, sizeof(junk), 0), sizeof(junk));
	assert_int_equal(ring_region_map(fd, &g, SID, &base, &len), -EPROTO);
	close(fd);
	/* unsealed memfd of the right size */
	bad = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(bad, (off_t)ring_region_size(&g)), 0);
	assert_int_equal(ring_region_map(bad, &g, SID, &base, &len), -EPERM);
	close(bad);
	/* not a memfd at all */
	bad = memfd_create("t", MFD_CLOEXEC); /* sealing not allowed: F_SEAL_SEAL only */
	assert_int_equal(ftruncate(bad, (off_t)ring_region_size(&g)), 0);
	assert_int_equal(ring_region_map(bad, &g, SID, &base, &len), -EPERM);
	close(bad);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ring_region_map(p[0], &g, SID, &base, &len), -EINVAL);
	close(p[0]);
	close(p[1]);
}

static void test_single_frame(void **state)
{
	struct fx *f = fx_new(64, 2048);
	struct ring_rx_frame fr;

	assert_int_equal(ring_rx_peek(&f->rx, &fr), 0);
	assert_false(ring_rx_pending(&f->rx));
	assert_int_equal(send_frame(f, 100, 7), 0);
	/* not visible before the publish */
	assert_int_equal(ring_rx_peek(&f->rx, &fr), 0);
	assert_false(ring_tx_publish(&f->tx)); /* nobody asked for a kick */
	assert_true(ring_rx_pending(&f->rx));
	recv_frame(f, 100, 7);
	assert_int_equal(ring_rx_peek(&f->rx, &fr), 0);
	assert_false(ring_rx_publish(&f->rx));
	assert_int_equal(atomic_load(&f->ctl->cons), 1);
	assert_int_equal(f->tx.frames, 1);
	assert_int_equal(f->rx.frames, 1);
	assert_int_equal(f->rx.bytes, 100);
	/* a NULL header is sent as zeros */
	struct iovec v = { big_in, 60 };
	struct ring_vnet_hdr zero = { 0 };
	assert_int_equal(ring_tx_frame(&f->tx, NULL, &v, 1, 60), 0);
	ring_tx_publish(&f->tx);
	assert_int_equal(ring_rx_peek(&f->rx, &fr), 1);
	assert_memory_equal(&fr.hdr, &zero, sizeof(zero));
	fx_free(f);
}

static void test_full_empty(void **state)
{
	struct fx *f = fx_new(64, 2048);
	struct ring_rx_frame fr;

	for (uint32_t i = 0; i < 64; i++)
		assert_int_equal(send_frame(f, 64, i), 0);
	assert_int_equal(send_frame(f, 64, 99), -ENOSPC);
	assert_int_equal(f->tx.full, 1);
	assert_int_equal(f->tx.want, 1);
	assert_int_equal(ring_tx_space(&f->tx), 0);
	ring_tx_publish(&f->tx);
	recv_frame(f, 64, 0);
	/* consumed but not published: still full for the producer */
	assert_int_equal(ring_tx_space(&f->tx), 0);
	ring_rx_publish(&f->rx);
	assert_int_equal(ring_tx_space(&f->tx), 1);
	/* a 3-slot frame does not fit in 1 slot: nothing is written */
	assert_int_equal(send_frame(f, 2 * f->pay + 1, 5), -ENOSPC);
	assert_int_equal(f->tx.want, 3);
	assert_int_equal(send_frame(f, 64, 64), 0);
	ring_tx_publish(&f->tx);
	for (uint32_t i = 1; i <= 64; i++)
		recv_frame(f, 64, i);
	assert_int_equal(ring_rx_peek(&f->rx, &fr), 0);
	ring_rx_publish(&f->rx);
	assert_int_equal(ring_tx_space(&f->tx), 64);
	fx_free(f);
}

/* Start every index a little below UINT32_MAX. */
static void set_indices(struct fx *f, uint32_t x)
{
	f->tx.prod = f->tx.published = f->tx.cons_cache = x;
	f->rx.cons = f->rx.published = f->rx.prod_cache = x;
	atomic_store(&f->ctl->prod, x);
	atomic_store(&f->ctl->cons, x);
}

static void test_wrap_around(void **state)
{
	struct fx *f = fx_new(64, 2048);
	uint32_t seq_tx = 0, seq_rx = 0;
	size_t sizes[] = { 1, 60, 1514, 2016, 2017, 9000, 40000, RING_MAX_FRAME };
	const uint32_t n = 600, start = UINT32_MAX - 37;

	set_indices(f, start);
	srand(1);
	while (seq_rx < n) {
		/* push what fits, then drain a random amount */
		while (seq_tx < n && send_frame(f, sizes[seq_tx % 8], seq_tx) == 0)
			seq_tx++;
		ring_tx_publish(&f->tx);
		for (int k = rand() % 8 + 1; k > 0 && seq_rx < seq_tx; k--, seq_rx++)
			recv_frame(f, sizes[seq_rx % 8], seq_rx);
		ring_rx_publish(&f->rx);
	}
	/* the indices crossed 2^32 and the slot mask many times */
	assert_true(f->tx.prod < start && f->tx.prod > 1000);
	assert_int_equal(f->tx.prod, f->rx.cons);
	assert_int_equal(f->rx.frames, n);
	fx_free(f);
}

static void test_burst(void **state)
{
	struct fx *f = fx_new(1024, 2048);
	uint32_t before = atomic_load(&f->ctl->prod);

	for (uint32_t i = 0; i < 32; i++)
		assert_int_equal(send_frame(f, 64 + i, i), 0);
	/* one release store for the whole burst */
	assert_int_equal(atomic_load(&f->ctl->prod), before);
	assert_false(ring_rx_pending(&f->rx));
	ring_tx_publish(&f->tx);
	assert_int_equal(atomic_load(&f->ctl->prod), before + 32);
	for (uint32_t i = 0; i < 32; i++)
		recv_frame(f, 64 + i, i);
	assert_int_equal(atomic_load(&f->ctl->cons), 0);
	ring_rx_publish(&f->rx);
	assert_int_equal(atomic_load(&f->ctl->cons), 32);
	fx_free(f);
}

static void test_multislot(void **state)
{
	struct fx *f = fx_new(64, 2048);
	const size_t p = f->pay;
	size_t sizes[] = { 1, p - 1, p, p + 1, 2 * p, 3 * p + 5, RING_MAX_FRAME };
	struct ring_rx_frame fr;
	struct iovec iov[40], one = { big_in, 10 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(send_frame(f, sizes[i], (uint32_t)i), 0);
		ring_tx_publish(&f->tx);
		if (sizes[i] > p) {
			/* a copy from the middle that spans a slot boundary */
			assert_int_equal(ring_rx_peek(&f->rx, &fr), 1);
			pattern(big_in, sizes[i], (uint32_t)i);
			size_t want = sizes[i] - (p - 3) < 10 ? sizes[i] - (p - 3) : 10;
			assert_int_equal(ring_rx_copy(&f->rx, &fr, p - 3, big_out, 10), want);
			assert_memory_equal(big_out, big_in + p - 3, want);
			assert_int_equal(ring_rx_copy(&f->rx, &fr, sizes[i], big_out, 10), 0);
			assert_int_equal(ring_rx_copy(&f->rx, &fr, 0, NULL, 0), 0);
			assert_int_equal(ring_rx_iov(&f->rx, &fr, iov, (int)fr.nslots - 1),
					 -ENOBUFS);
		}
		recv_frame(f, sizes[i], (uint32_t)i);
		ring_rx_publish(&f->rx);
	}
	assert_int_equal(send_frame(f, RING_MAX_FRAME + 1, 0), -EMSGSIZE);
	assert_int_equal(ring_tx_frame(&f->tx, NULL, &one, 1, 0), -EMSGSIZE);
	/* an iovec shorter than len: refused, nothing advanced */
	uint32_t prod = f->tx.prod;
	assert_int_equal(ring_tx_frame(&f->tx, NULL, &one, 1, 11), -EINVAL);
	assert_int_equal(ring_tx_frame(&f->tx, NULL, &one, 1, 3000), -EINVAL);
	assert_int_equal(f->tx.prod, prod);
	assert_false(ring_tx_publish(&f->tx));
	fx_free(f);
}

static void test_suppression(void **state)
{
	struct fx *f = fx_new(64, 2048);
	struct ring_rx_frame fr;

	/* consumer goes to sleep on an empty ring: the next publish kicks */
	assert_true(ring_rx_prepare_sleep(&f->rx));
	assert_int_equal(atomic_load(&f->ctl->need_kick), 1);
	assert_false(ring_tx_publish(&f->tx)); /* nothing new: no kick */
	assert_int_equal(send_frame(f, 64, 1), 0);
	assert_true(ring_tx_publish(&f->tx));
	assert_int_equal(f->tx.kicks, 1);
	ring_rx_awake(&f->rx);
	assert_int_equal(atomic_load(&f->ctl->need_kick), 0);
	/* data raced in before the re-check: do not sleep, flag cleared */
	assert_false(ring_rx_prepare_sleep(&f->rx));
	assert_int_equal(atomic_load(&f->ctl->need_kick), 0);
	recv_frame(f, 64, 1);
	/* consumed but unpublished: refuse to sleep */
	assert_false(ring_rx_prepare_sleep(&f->rx));
	ring_rx_publish(&f->rx);
	/* awake consumer: publishes do not kick */
	assert_true(ring_rx_prepare_sleep(&f->rx));
	ring_rx_awake(&f->rx);
	assert_int_equal(send_frame(f, 64, 2), 0);
	assert_false(ring_tx_publish(&f->tx));
	/* published but not yet seen (stale prod_cache): the re-check sees it */
	assert_int_equal(f->rx.prod_cache, 1);
	assert_false(ring_rx_prepare_sleep(&f->rx));
	recv_frame(f, 64, 2);
	ring_rx_publish(&f->rx);

	/* producer waits for space */
	for (uint32_t i = 0; i < 64; i++)
		assert_int_equal(send_frame(f, 64, i), 0);
	assert_int_equal(send_frame(f, 64, 99), -ENOSPC);
	assert_true(ring_tx_want_space(&f->tx)); /* unpublished frames: publish first */
	assert_int_equal(atomic_load(&f->ctl->prod_wait_space), 0);
	ring_tx_publish(&f->tx);
	assert_false(ring_tx_want_space(&f->tx));
	assert_int_equal(atomic_load(&f->ctl->prod_wait_space), 1);
	assert_int_equal(ring_rx_peek(&f->rx, &fr), 1);
	ring_rx_consume(&f->rx, &fr);
	assert_true(ring_rx_publish(&f->rx)); /* the producer asked: kick */
	assert_int_equal(f->rx.kicks, 1);
	assert_true(ring_tx_want_space(&f->tx)); /* space appeared: do not sleep */
	assert_int_equal(atomic_load(&f->ctl->prod_wait_space), 0);
	assert_false(ring_rx_publish(&f->rx)); /* nothing new */
	/* a 2-slot frame with one slot free: still waiting */
	assert_int_equal(send_frame(f, f->pay + 1, 3), -ENOSPC);
	assert_false(ring_tx_want_space(&f->tx));
	assert_int_equal(ring_rx_peek(&f->rx, &fr), 1);
	ring_rx_consume(&f->rx, &fr);
	assert_true(ring_rx_publish(&f->rx));
	assert_true(ring_tx_want_space(&f->tx));
	ring_tx_space_done(&f->tx);
	assert_int_equal(atomic_load(&f->ctl->prod_wait_space), 0);
	assert_int_equal(send_frame(f, f->pay + 1, 3), 0);
	fx_free(f);
}

/* --- hostile producer: the consumer must refuse, never read outside ---- */

static struct ring_slot *slot(struct fx *f, uint32_t i)
{
	return ring_slot_at(f->data, &f->g, i);
}

static void expect_broken(struct fx *f)
{
	struct ring_rx_frame fr;

	assert_int_equal(ring_rx_peek(&f->rx, &fr), -EPROTO);
	assert_true(f->rx.broken);
	assert_int_equal(ring_rx_peek(&f->rx, &fr), -EPROTO); /* sticky */
	assert_true(ring_rx_pending(&f->rx));
	assert_false(ring_rx_prepare_sleep(&f->rx));
	assert_false(ring_rx_publish(&f->rx));
}

/* Publish n valid one-slot frames, then let `bad` scribble. */
static struct fx *hostile(uint32_t n)
{
	struct fx *f = fx_new(64, 2048);

	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(send_frame(f, 100, i), 0);
	ring_tx_publish(&f->tx);
	return f;
}

/* A full ring's worth of valid frames, all consumed: every slot still
 * holds a well-formed old frame, so only the index check stands between a
 * lying producer and frames delivered twice. */
static struct fx *drained(void)
{
	struct fx *f = hostile(64);

	for (uint32_t i = 0; i < 64; i++)
		recv_frame(f, 100, i);
	ring_rx_publish(&f->rx);
	return f;
}

static void test_hostile_indices(void **state)
{
	static const uint32_t bad[] = {
		64 + 65,	 /* more than the ring holds */
		64 + 0x1000,
		63,		 /* behind the consumer */
		0,
		64 + 0x80000000u,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fx *f = drained();
		atomic_store(&f->ctl->prod, bad[i]);
		expect_broken(f);
		fx_free(f);
	}
	/* exactly a full ring ahead is legal: the old frames come again */
	struct fx *f = drained();
	atomic_store(&f->ctl->prod, 128);
	recv_frame(f, 100, 0);
	fx_free(f);

	/* prod moves backwards after the consumer saw a larger one */
	f = hostile(10);
	for (uint32_t i = 0; i < 5; i++)
		recv_frame(f, 100, i);
	atomic_store(&f->ctl->prod, 7);
	for (uint32_t i = 5; i < 10; i++)
		recv_frame(f, 100, i); /* still within what was validly published */
	expect_broken(f);
	fx_free(f);

	/* hostile consumer: cons ahead of what was published, or backwards */
	f = hostile(4);
	atomic_store(&f->ctl->cons, 5);
	assert_int_equal(ring_tx_space(&f->tx), 0);
	assert_true(f->tx.broken);
	assert_int_equal(send_frame(f, 10, 0), -EPROTO);
	assert_false(ring_tx_publish(&f->tx));
	fx_free(f);

	f = hostile(4);
	atomic_store(&f->ctl->cons, 3);
	assert_int_equal(ring_tx_space(&f->tx), 63);
	atomic_store(&f->ctl->cons, 2);
	assert_int_equal(ring_tx_space(&f->tx), 0);
	assert_true(f->tx.broken);
	fx_free(f);

	f = hostile(0);
	for (uint32_t i = 0; i < 64; i++)
		assert_int_equal(send_frame(f, 100, i), 0);
	ring_tx_publish(&f->tx);
	atomic_store(&f->ctl->cons, 0x80000000u);
	assert_int_equal(send_frame(f, 10, 0), -EPROTO); /* full: refresh sees it */
	fx_free(f);
}

static void test_hostile_slots(void **state)
{
	struct {
		uint32_t len;
		uint16_t flags;
		bool second_ok; /* slot 1 holds a valid last slot */
	} cases[] = {
		{ 0, 0, false },	  /* zero length */
		{ 2017, 0, false },	  /* one past the payload */
		{ UINT32_MAX, 0, false }, /* huge */
		{ 10, RING_SLOT_MORE, true }, /* MORE on a short slot */
		{ 100, 0x2, false },	  /* unknown flag */
		{ 100, 0x8000, false },
		{ 2016, RING_SLOT_MORE, false }, /* frame cut at prod (1 slot published) */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = hostile(cases[i].second_ok ? 2 : 1);
		slot(f, 0)->len = cases[i].len;
		slot(f, 0)->flags = cases[i].flags;
		expect_broken(f);
		assert_int_equal(f->rx.errors, 1);
		fx_free(f);
	}
	/* a chain of full MORE slots longer than RING_MAX_FRAME */
	struct fx *f = hostile(0);
	for (uint32_t i = 0; i < 40; i++) {
		slot(f, i)->len = f->pay;
		slot(f, i)->flags = i < 39 ? RING_SLOT_MORE : 0;
	}
	atomic_store(&f->ctl->prod, 40);
	expect_broken(f);
	fx_free(f);
	/* ... but exactly RING_MAX_FRAME built by hand is fine */
	f = hostile(0);
	uint32_t n = (RING_MAX_FRAME + f->pay - 1) / f->pay;
	for (uint32_t i = 0; i < n; i++) {
		slot(f, i)->len = i + 1 < n ? f->pay : RING_MAX_FRAME - (n - 1) * f->pay;
		slot(f, i)->flags = i + 1 < n ? RING_SLOT_MORE : 0;
	}
	atomic_store(&f->ctl->prod, n);
	struct ring_rx_frame fr;
	assert_int_equal(ring_rx_peek(&f->rx, &fr), 1);
	assert_int_equal(fr.len, RING_MAX_FRAME);
	fx_free(f);
}

/* Random garbage in prod and the slot headers, rounds of peek/iov/copy/
 * consume: every outcome is a valid frame inside the ring or -EPROTO. */
static void fuzz_ring(struct fx *f, unsigned rounds)
{
	static const uint32_t lens[] = { 0, 1, 2015, 2016, 2017, 4096, 65536, UINT32_MAX };
	struct iovec iov[64];
	unsigned frames = 0, breaks = 0;

	for (unsigned r = 0; r < rounds; r++) {
		struct ring_rx_frame fr;
		uint32_t base = f->rx.cons;
		for (uint32_t i = 0; i < 48; i++) {
			struct ring_slot *s = slot(f, base + i);
			s->len = rand() % 4 ? (uint32_t)(rand() % (int)f->pay + 1) : lens[rand() % 8];
			s->flags = rand() % 3 ? (uint16_t)(rand() % 2) : (uint16_t)rand();
			if (s->flags == RING_SLOT_MORE && rand() % 2)
				s->len = f->pay;
		}
		atomic_store(&f->ctl->prod, rand() % 4 ? base + (uint32_t)(rand() % 65)
						       : (uint32_t)rand() * 2654435761u);
		int rc;
		while ((rc = ring_rx_peek(&f->rx, &fr)) == 1) {
			int n = ring_rx_iov(&f->rx, &fr, iov, 64);
			assert_int_equal(n, fr.nslots);
			for (int i = 0; i < n; i++)
				assert_true(iov_inside(f, &iov[i]));
			assert_int_equal(ring_rx_copy(&f->rx, &fr, 0, big_out, sizeof(big_out)),
					 fr.len);
			assert_true(fr.len >= 1 && fr.len <= RING_MAX_FRAME);
			ring_rx_consume(&f->rx, &fr);
			frames++;
		}
		ring_rx_publish(&f->rx);
		if (rc == -EPROTO) {
			breaks++;
			uint32_t c = f->rx.cons;
			ring_rx_init(&f->rx, f->base, &f->g, RING_S2C);
			f->rx.cons = f->rx.published = f->rx.prod_cache = c;
			atomic_store(&f->ctl->prod, c);
		}
	}
	assert_true(frames > rounds / 10);
	assert_true(breaks > rounds / 10);
}

static void test_hostile_fuzz(void **state)
{
	struct fx *f = fx_new(64, 2048);

	srand(12345);
	fuzz_ring(f, 20000);
	fx_free(f);
	f = fx_new(256, 4096);
	fuzz_ring(f, 5000);
	fx_free(f);
}

/* Both rings of one region are independent; ring 0 works too. */
static void test_ring0(void **state)
{
	struct fx *f = fx_new_dir(64, 2048, RING_C2S);

	assert_int_equal(send_frame(f, 5000, 3), 0);
	ring_tx_publish(&f->tx);
	recv_frame(f, 5000, 3);
	assert_ptr_equal(f->data, f->base + RING_DATA_OFF);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_region_map),
		cmocka_unit_test(test_single_frame),
		cmocka_unit_test(test_full_empty),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_multislot),
		cmocka_unit_test(test_suppression),
		cmocka_unit_test(test_hostile_indices),
		cmocka_unit_test(test_hostile_slots),
		cmocka_unit_test(test_hostile_fuzz),
		cmocka_unit_test(test_ring0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
