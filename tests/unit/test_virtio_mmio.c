/* mmio.c + mmio_status.c: the virtio-mmio v2 register file and status state
 * machine, driven through virtio_mmio_io() with a fake device that counts
 * its callbacks, interrupts counted on a real eventfd. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "test_util.h"
#include "ember/guest_mem.h"
#include "ember/virtio.h"

#define RAM 0x10000ull
#define F_V1 (1ull << VIRTIO_F_VERSION_1)
#define F_EVT (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_DEV (1ull << 5)    /* a device feature the fake accepts */
#define F_REFUSED (1ull << 6) /* offered, but features_ok says no to it */
#define NQ 2

enum { ACK = 1, DRV = 2, DOK = 4, FOK = 8, NR = 0x40, FAIL = 0x80 };

struct fx {
	struct guest_mem gm;
	struct virtio_dev d;
	int efd;
	unsigned activates, resets, notifies[NQ];
	int activate_rc;
	uint8_t cfg[8];
};

static struct fx *F(struct virtio_dev *d) { return d->priv; }

static uint64_t o_features(struct virtio_dev *d)
{
	/* INDIRECT and PACKED are transport bits the transport must strip */
	return F_DEV | F_REFUSED | F_EVT | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	       (1ull << VIRTIO_F_RING_PACKED);
}
static uint32_t o_config_size(struct virtio_dev *d) { return 8; }
static void o_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	assert_true(off + len <= 8);
	memcpy(data, F(d)->cfg + off, len);
}
static void o_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	assert_true(off + len <= 8);
	memcpy(F(d)->cfg + off, data, len);
}
static bool o_features_ok(struct virtio_dev *d, uint64_t acked) { return !(acked & F_REFUSED); }
static int o_activate(struct virtio_dev *d) { F(d)->activates++; return F(d)->activate_rc; }
static void o_reset(struct virtio_dev *d) { F(d)->resets++; }
static void o_notify(struct virtio_dev *d, unsigned q)
{
	assert_true(q < NQ);
	F(d)->notifies[q]++;
}

static const struct virtio_dev_ops ops = {
	.name = "fake", .device_id = 2, .nr_queues = NQ, .features = o_features,
	.config_size = o_config_size, .config_read = o_config_read,
	.config_write = o_config_write, .features_ok = o_features_ok,
	.activate = o_activate, .reset = o_reset, .notify = o_notify,
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->gm.r[0] = (struct gm_region){ 0, RAM, calloc(1, RAM) };
	f->gm.nr = 1;
	f->gm.ram_size = RAM;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!f->gm.r[0].host || f->efd < 0 ||
	    virtio_dev_init(&f->d, &ops, f, &f->gm, 0xc0001000, 5, f->efd))
		return -1;
	memcpy(f->cfg, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_dev_destroy(&f->d);
	close(f->efd);
	free(f->gm.r[0].host);
	free(f);
	return 0;
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	uint32_t v = 0x5a5a5a5a;

	virtio_mmio_io(&f->d, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct fx *f, uint64_t off, uint32_t v)
{
	virtio_mmio_io(&f->d, off, (uint8_t *)&v, 4, true);
}

static void feat(struct fx *f, uint64_t acked)
{
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)acked);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(acked >> 32));
}

/* Queue q: size num, rings at 0x1000 + q * 0x2000 (desc, +0x1000 avail,
 * +0x1800 used), or the descriptor table at `desc` if that is not 0. */
static void setup_queue_at(struct fx *f, uint32_t q, uint32_t num, uint32_t desc)
{
	uint64_t base = 0x1000 + q * 0x2000ull;

	wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, desc ? desc : (uint32_t)base);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)base + 0x1000);
	wr(f, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)base + 0x1800);
	wr(f, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void setup_queue(struct fx *f, uint32_t q, uint32_t num)
{
	setup_queue_at(f, q, num, 0);
}

/* The Linux driver's order (style-anchors §6): reset, ACK, DRIVER,
 * features, FEATURES_OK + re-read, queues, DRIVER_OK. */
static void init_dev(struct fx *f, uint64_t acked)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, ACK);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV);
	feat(f, acked);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK);
	for (uint32_t q = 0; q < NQ; q++) {
		setup_queue(f, q, 8);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK);
}

static void test_ids(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_VENDOR_ID), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_SHM_LEN_LOW), UINT32_MAX); /* no regions */
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM), 0);	      /* write-only */
	wr(f, VIRTIO_MMIO_MAGIC_VALUE, 0);			      /* read-only */
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
}

static void test_device_features(void **state)
{
	struct fx *f = *state;

	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), F_DEV | F_REFUSED | F_EVT);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1, no PACKED */
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

/* Status values: the driver's chain, FAILED and NEEDS_RESET combinations,
 * and values no driver may write. */
static const uint32_t froms[] = { 0, 1, 3, 0xb, 0xf, 0x80, 0x81, 0x83, 0x8b, 0x8f,
				  0x4b, 0x4f, 0xcb, 0xcf };
static const uint32_t tos[] = { 0, 1, 2, 3, 4, 7, 8, 0xb, 0xf, 0x40, 0x80, 0x81, 0x83,
				0x8b, 0x8f, 0x4b, 0x4f, 0xcb, 0xcf, 0x100, 0x10f };
/* Every allowed (from, to) with to != 0; to == 0 is always allowed. */
static const uint32_t allowed[][2] = {
	{ 0, 1 }, { 0, 0x80 },
	{ 1, 1 }, { 1, 3 }, { 1, 0x81 },
	{ 3, 3 }, { 3, 0xb }, { 3, 0x83 },
	{ 0xb, 0xb }, { 0xb, 0xf }, { 0xb, 0x8b },
	{ 0xf, 0xf }, { 0xf, 0x8f },
	{ 0x80, 0x80 }, { 0x81, 0x81 }, { 0x83, 0x83 }, { 0x8b, 0x8b }, { 0x8f, 0x8f },
	/* NEEDS_RESET is kept when the driver leaves it out */
	{ 0x4b, 0x4b }, { 0x4b, 0xb }, { 0x4b, 0xcb }, { 0x4b, 0x8b },
	{ 0x4f, 0x4f }, { 0x4f, 0xf }, { 0x4f, 0xcf }, { 0x4f, 0x8f },
	{ 0xcb, 0xcb }, { 0xcb, 0x8b }, { 0xcf, 0xcf }, { 0xcf, 0x8f },
};

static bool expect(uint32_t from, uint32_t to)
{
	if (to == 0)
		return true;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i][0] == from && allowed[i][1] == to)
			return true;
	return false;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_status_table(void **state)
{
	for (size_t i = 0; i < N(froms); i++)
		for (size_t j = 0; j < N(tos); j++)
			if (virtio_status_allowed(froms[i], tos[j]) != expect(froms[i], tos[j]))
				fail_msg("status %#x -> %#x: expected %s", froms[i], tos[j],
					 expect(froms[i], tos[j]) ? "allowed" : "refused");
}

/* The same table through the Status register: the state is planted (as
 * the earlier writes would have left it), the write goes through MMIO. */
static void test_status_register(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < N(froms); i++)
		for (size_t j = 0; j < N(tos); j++) {
			uint32_t from = froms[i], to = tos[j], want;
			bool ok = expect(from, to);

			wr(f, VIRTIO_MMIO_STATUS, 0);
			f->activates = f->resets = 0;
			f->d.status = from;
			f->d.broken = from & NR;
			f->d.acked = F_V1;
			wr(f, VIRTIO_MMIO_STATUS, to);
			want = !to ? 0 : ok ? to | (from & NR) : from;
			if (rd(f, VIRTIO_MMIO_STATUS) != want)
				fail_msg("%#x -> %#x: status %#x, want %#x", from, to,
					 rd(f, VIRTIO_MMIO_STATUS), want);
			assert_int_equal(f->resets, to == 0);
			assert_int_equal(f->activates, ok && (to & ~from & DOK));
		}
	efd_take(f->efd);
}

static void test_init_sequence(void **state)
{
	struct fx *f = *state;

	init_dev(f, F_V1 | F_DEV | F_EVT);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK | DOK);
	assert_int_equal(f->activates, 1);
	assert_int_equal(f->d.acked, F_V1 | F_DEV | F_EVT);
	assert_true(f->d.vq[0].ready && f->d.vq[1].ready);
	assert_true(f->d.vq[0].event_idx);
	assert_int_equal(f->d.vq[1].num, 8);
	assert_int_equal(f->d.vq[1].desc_gpa, 0x3000);
	assert_int_equal(f->d.vq[1].avail_gpa, 0x4000);
	assert_int_equal(f->d.vq[1].used_gpa, 0x4800);
	/* a kick that no ioeventfd caught */
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(f->notifies[1], 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, NQ);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	assert_int_equal(f->notifies[0] + f->notifies[1], 1);
	/* without EVENT_IDX the queues use the flags */
	init_dev(f, F_V1);
	assert_false(f->d.vq[0].event_idx);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK | DOK);
	assert_int_equal(efd_take(f->efd), 0); /* init raised nothing */
}

static void test_features_refused(void **state)
{
	struct fx *f = *state;
	static const uint64_t bad[] = {
		F_DEV,				     /* no VERSION_1 */
		F_V1 | F_REFUSED,		     /* the device says no */
		F_V1 | (1ull << VIRTIO_RING_F_INDIRECT_DESC), /* not offered */
		F_V1 | (1ull << 40),
	};

	for (size_t i = 0; i < N(bad); i++) {
		wr(f, VIRTIO_MMIO_STATUS, 0);
		wr(f, VIRTIO_MMIO_STATUS, ACK);
		wr(f, VIRTIO_MMIO_STATUS, ACK | DRV);
		feat(f, bad[i]);
		wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
		assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV);
		/* the driver may try again with a better set */
		feat(f, F_V1);
		wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
		assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK);
	}
}

static void test_features_out_of_phase(void **state)
{
	struct fx *f = *state;

	wr(f, VIRTIO_MMIO_STATUS, 0);
	feat(f, F_V1);				/* status 0 */
	wr(f, VIRTIO_MMIO_STATUS, ACK);
	feat(f, F_V1);				/* ACK only */
	assert_int_equal(f->d.acked, 0);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV);
	feat(f, F_V1 | F_DEV);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	feat(f, F_V1 | F_EVT);			/* after FEATURES_OK */
	assert_int_equal(f->d.acked, F_V1 | F_DEV);
	assert_int_equal(f->d.drv_feat_sel, 1);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK | FAIL);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	assert_int_equal(f->d.drv_feat_sel, 1);
}

static void test_queue_sel_out_of_range(void **state)
{
	struct fx *f = *state;
	static const uint32_t sels[] = { NQ, VIRTIO_MAX_QUEUES - 1, VIRTIO_MAX_QUEUES,
					 0x10000, 0xffffffff };

	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, ACK);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV);
	feat(f, F_V1);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	for (size_t i = 0; i < N(sels); i++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, sels[i]);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
		wr(f, VIRTIO_MMIO_QUEUE_NUM, 8);
		wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
		wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
		wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, sels[i]);
	}
	for (unsigned q = NQ; q < VIRTIO_MAX_QUEUES; q++)
		assert_int_equal(f->d.vq[q].num, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK);
	assert_int_equal(f->notifies[0] + f->notifies[1], 0);
}

/* A bad queue: QueueReady fails, the device needs a reset. */
static void bad_queue(struct fx *f, uint32_t num, uint32_t desc)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	efd_take(f->efd);
	wr(f, VIRTIO_MMIO_STATUS, ACK);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV);
	feat(f, F_V1);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	setup_queue_at(f, 0, num, desc);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK | NR);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(efd_take(f->efd), 1);
	assert_true(f->d.broken);
	/* no way forward but reset */
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK | NR);
	assert_int_equal(f->activates, 0);
}

static void test_bad_queue_num(void **state)
{
	struct fx *f = *state;

	bad_queue(f, 3, 0x1000);
	bad_queue(f, 0, 0x1000);
	bad_queue(f, 512, 0x1000);
	bad_queue(f, 0x10008, 0x1000); /* must not truncate to 8 */
	bad_queue(f, 8, 0x1008);       /* desc misaligned */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_false(f->d.broken);
}

static void test_queue_writes_out_of_phase(void **state)
{
	struct fx *f = *state;

	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, ACK);
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 8); /* before FEATURES_OK */
	assert_int_equal(f->d.vq[0].num, 0);
	init_dev(f, F_V1);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 4);	       /* after DRIVER_OK */
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(f->d.vq[0].num, 8);
	assert_int_equal(f->d.vq[0].desc_gpa, 0x1000);
	assert_true(f->d.vq[0].ready);
}

static void test_access_width(void **state)
{
	struct fx *f = *state;
	uint8_t b[8];
	uint32_t st = ACK;

	memset(b, 0x5a, sizeof(b));
	virtio_mmio_io(&f->d, VIRTIO_MMIO_MAGIC_VALUE, b, 1, false);
	assert_int_equal(b[0], 0);
	memset(b, 0x5a, sizeof(b));
	virtio_mmio_io(&f->d, VIRTIO_MMIO_MAGIC_VALUE, b, 2, false);
	assert_int_equal(b[0] | b[1], 0);
	memset(b, 0x5a, sizeof(b));
	virtio_mmio_io(&f->d, VIRTIO_MMIO_MAGIC_VALUE, b, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE + 2), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE + 1), 0);
	wr(f, VIRTIO_MMIO_STATUS, 0);
	virtio_mmio_io(&f->d, VIRTIO_MMIO_STATUS, (uint8_t *)&st, 1, true);
	virtio_mmio_io(&f->d, VIRTIO_MMIO_STATUS, (uint8_t *)&st, 2, true);
	wr(f, VIRTIO_MMIO_STATUS + 1, ACK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	virtio_mmio_io(&f->d, VIRTIO_MMIO_STATUS, (uint8_t *)&st, 4, true);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK);
}

static uint32_t cfg_rd(struct fx *f, uint64_t off, uint32_t len)
{
	uint32_t v = 0x5a5a5a5a;

	virtio_mmio_io(&f->d, VIRTIO_MMIO_CONFIG + off, (uint8_t *)&v, len, false);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint64_t big = 0x5a5a5a5a5a5a5a5aull;
	uint16_t w = 0xbeef;

	assert_int_equal(cfg_rd(f, 0, 4), 0x04030201);
	assert_int_equal(cfg_rd(f, 4, 4), 0x08070605);
	assert_int_equal(cfg_rd(f, 6, 2), 0x0807);
	assert_int_equal(cfg_rd(f, 7, 1), 0x08);
	assert_int_equal(cfg_rd(f, 5, 4), 0);	/* size-3 with len 4 */
	assert_int_equal(cfg_rd(f, 7, 4), 0);	/* size-1 with len 4 */
	assert_int_equal(cfg_rd(f, 7, 2), 0);
	assert_int_equal(cfg_rd(f, 8, 1), 0);
	assert_int_equal(cfg_rd(f, 0xeff, 1), 0);
	assert_int_equal(cfg_rd(f, 3, 3), 0);	/* no 24-bit accesses */
	virtio_mmio_io(&f->d, VIRTIO_MMIO_CONFIG, (uint8_t *)&big, 8, false);
	assert_int_equal(big, 0);		/* no 64-bit accesses */
	/* huge offsets: past the window, and ones that would wrap */
	assert_int_equal(rd(f, VIRTIO_MMIO_SIZE), 0);
	assert_int_equal(rd(f, 0xffffffff00ull), 0);
	assert_int_equal(rd(f, UINT64_MAX - 3), 0);
	assert_int_equal(rd(f, UINT64_MAX - VIRTIO_MMIO_CONFIG + 1), 0);
	/* writes: inside go through, outside change nothing */
	virtio_mmio_io(&f->d, VIRTIO_MMIO_CONFIG + 2, (uint8_t *)&w, 2, true);
	assert_int_equal(cfg_rd(f, 0, 4), 0xbeef0201);
	virtio_mmio_io(&f->d, VIRTIO_MMIO_CONFIG + 7, (uint8_t *)&w, 2, true);
	wr(f, VIRTIO_MMIO_CONFIG + 8, 0xffffffff);
	wr(f, UINT64_MAX - 1, 0xffffffff);
	assert_int_equal(cfg_rd(f, 4, 4), 0x08070605);
}

static uint32_t huge_size(struct virtio_dev *d) { return UINT32_MAX; }
static void huge_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	assert_true(off + len <= VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG);
	memset(data, 0xab, len);
}

/* A device claiming a config space larger than the window is capped to it. */
static void test_config_cap(void **state)
{
	struct fx *f = *state;
	static struct virtio_dev_ops big;

	big = ops;
	big.config_size = huge_size;
	big.config_read = huge_read;
	virtio_dev_destroy(&f->d);
	assert_int_equal(virtio_dev_init(&f->d, &big, f, &f->gm, 0, 5, -1), 0);
	assert_int_equal(cfg_rd(f, 0xefc, 4), 0xabababab);
	assert_int_equal(cfg_rd(f, 0xefd, 4), 0);
	assert_int_equal(cfg_rd(f, 0xeff, 1), 0xab);
	assert_int_equal(cfg_rd(f, 0xf00, 1), 0);
	assert_int_equal(cfg_rd(f, 0xfffffff0ull, 4), 0);
}

static void test_isr_and_interrupts(void **state)
{
	struct fx *f = *state;
	uint32_t gen = rd(f, VIRTIO_MMIO_CONFIG_GENERATION);

	init_dev(f, F_V1);
	efd_take(f->efd);
	pthread_mutex_lock(&f->d.lock);
	virtio_config_changed(&f->d);
	pthread_mutex_unlock(&f->d.lock);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(efd_take(f->efd), 1);
	/* a used buffer on queue 0 (avail.flags 0: the driver wants it) */
	pthread_mutex_lock(&f->d.lock);
	assert_int_equal(virtq_push(&f->d.vq[0], &f->gm, 0, 1), 0);
	virtio_notify_queue(&f->d, 0);
	virtio_notify_queue(&f->d, NQ);	       /* no such queue */
	virtio_notify_queue(&f->d, 0xffffffff);
	pthread_mutex_unlock(&f->d.lock);
	assert_int_equal(efd_take(f->efd), 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* NO_INTERRUPT: no interrupt */
	((uint16_t *)(f->gm.r[0].host + 0x2000))[0] = VRING_AVAIL_F_NO_INTERRUPT;
	pthread_mutex_lock(&f->d.lock);
	assert_int_equal(virtq_push(&f->d.vq[0], &f->gm, 0, 1), 0);
	virtio_notify_queue(&f->d, 0);
	pthread_mutex_unlock(&f->d.lock);
	assert_int_equal(efd_take(f->efd), 0);
	((uint16_t *)(f->gm.r[0].host + 0x2000))[0] = 0;
}

static void test_activate_fails(void **state)
{
	struct fx *f = *state;

	f->activate_rc = -EIO;
	efd_take(f->efd);
	init_dev(f, F_V1);
	f->activate_rc = 0;
	assert_int_equal(f->activates, 1);
	assert_int_equal(f->d.status, ACK | DRV | FOK | DOK | NR);
	assert_int_equal(efd_take(f->efd), 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->notifies[0], 0);
}

static void test_reset_clears(void **state)
{
	struct fx *f = *state;

	init_dev(f, F_V1 | F_EVT);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	pthread_mutex_lock(&f->d.lock);
	virtio_dev_fail(&f->d, "test");
	pthread_mutex_unlock(&f->d.lock);
	f->resets = 0;
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->resets, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(f->d.acked, 0);
	assert_int_equal(f->d.queue_sel, 0);
	assert_int_equal(f->d.dev_feat_sel, 0);
	assert_int_equal(f->d.drv_feat_sel, 0);
	assert_false(f->d.broken);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		assert_false(f->d.vq[q].ready);
		assert_int_equal(f->d.vq[q].num, 0);
		assert_int_equal(f->d.vq[q].desc_gpa, 0);
		assert_int_equal(f->d.vq[q].last_avail, 0);
		assert_false(f->d.vq[q].event_idx);
	}
	efd_take(f->efd);
}

static void test_broken_ignores_notify(void **state)
{
	struct fx *f = *state;
	int kfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t one = 1;

	assert_true(kfd >= 0);
	init_dev(f, F_V1);
	f->d.kick[1].fd = kfd;
	/* the ioeventfd path */
	assert_int_equal(write(kfd, &one, 8), 8);
	f->d.kick[1].fn(&f->d.kick[1], 1);
	assert_int_equal(f->notifies[1], 1);
	assert_int_equal(efd_take(kfd), 0); /* drained */
	efd_take(f->efd);
	pthread_mutex_lock(&f->d.lock);
	virtio_dev_fail(&f->d, "bad chain");
	virtio_dev_fail(&f->d, "again"); /* one interrupt, not two */
	pthread_mutex_unlock(&f->d.lock);
	assert_int_equal(efd_take(f->efd), 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), ACK | DRV | FOK | DOK | NR);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(write(kfd, &one, 8), 8);
	virtio_kick_handler(&f->d.kick[1], 1);
	virtio_queue_kick(&f->d, 0);
	pthread_mutex_lock(&f->d.lock);
	virtio_notify_queue(&f->d, 0);	/* no used interrupt either */
	pthread_mutex_unlock(&f->d.lock);
	assert_int_equal(efd_take(f->efd), 0);
	assert_int_equal(f->notifies[0], 0);
	assert_int_equal(f->notifies[1], 1);
	/* reset and set up again: alive */
	init_dev(f, F_V1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	virtio_queue_kick(&f->d, 0);
	assert_int_equal(f->notifies[1], 2);
	assert_int_equal(f->notifies[0], 1);
	/* FAILED from the driver stops kicks too */
	wr(f, VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK | FAIL);
	virtio_queue_kick(&f->d, 0);
	assert_int_equal(f->notifies[0], 1);
	close(kfd);
}

static void test_init_args(void **state)
{
	struct fx *f = *state;
	struct virtio_dev d;
	struct virtio_dev_ops many = ops;

	many.nr_queues = VIRTIO_MAX_QUEUES + 1;
	assert_int_equal(virtio_dev_init(&d, &many, NULL, &f->gm, 0, 5, -1), -EINVAL);
	assert_int_equal(virtio_dev_init(&d, NULL, NULL, &f->gm, 0, 5, -1), -EINVAL);
	assert_int_equal(virtio_dev_init(&d, &ops, NULL, &f->gm, 0, 5, -1), 0);
	assert_int_equal(d.kick[3].fd, -1);
	assert_ptr_equal(d.kick[3].ctx, &d);
	virtio_dev_destroy(&d);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ids),
		T(test_device_features),
		cmocka_unit_test(test_status_table),
		T(test_status_register),
		T(test_init_sequence),
		T(test_features_refused),
		T(test_features_out_of_phase),
		T(test_queue_sel_out_of_range),
		T(test_bad_queue_num),
		T(test_queue_writes_out_of_phase),
		T(test_access_width),
		T(test_config),
		T(test_config_cap),
		T(test_isr_and_interrupts),
		T(test_activate_fails),
		T(test_reset_clears),
		T(test_broken_ignores_notify),
		T(test_init_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
