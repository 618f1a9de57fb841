/* virtio-blk through the virtio-mmio transport over a fake RAM buffer and a
 * temp file, with rings built here as a driver builds them: IN/OUT round
 * trips (Sync and Async), split headers, FLUSH, GET_ID, the error statuses,
 * malformed chains, PATCH (capacity, config generation), throttling by the
 * rate limiter (injected clock) and by a full io_uring. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/virtio_blk.h>
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
#include "ember/virtio_blk.h"
#include "test_virtio_util.h"

#define RAM (1u << 20)
#define QNUM 256
#define DESC 0x1000
#define AVAIL 0x3000
#define USED 0x4000
#define HDR 0x8000   /* request headers, 16 bytes apart */
#define STATUS 0xa000 /* status bytes, one per request */
#define DATA 0x10000
#define SECTORS 128 /* the temp file: 64 KiB */
#define MS 1000000ULL

struct t {
	struct guest_mem gm;
	struct evloop loop;
	struct blk_dev *b;
	struct virtio_dev *d;
	int irq_fd, fd;
	char path[64];
	struct res_drive cfg;
	struct vq_drv q;
	uint16_t nreq;
};

static uint64_t fake_ns = 5000 * MS;
static uint64_t fake_now(void) { return fake_ns; }

static uint8_t *ram(struct t *t, uint64_t gpa) { return vt_ram(&t->gm, gpa); }

static uint64_t capacity(struct t *t)
{
	return vt_rd32(t->d, VIRTIO_MMIO_CONFIG) | (uint64_t)vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 4) << 32;
}

static void make_file(char *path, int *fd, unsigned sectors)
{
	uint8_t buf[512];

	strcpy(path, "/tmp/ember-blk-XXXXXX");
	*fd = mkstemp(path);
	assert_true(*fd >= 0);
	for (unsigned s = 0; s < sectors; s++) {
		memset(buf, (int)(s & 0xff), sizeof(buf));
		assert_int_equal(pwrite(*fd, buf, sizeof(buf), s * 512), 512);
	}
}

static struct t *setup_drive(bool ro, enum res_cache_type cache, enum res_io_engine eng,
			     const struct res_rate_limiter *rl)
{
	struct t *t = calloc(1, sizeof(*t));

	vt_ram_init(&t->gm, calloc(1, RAM), RAM);
	assert_int_equal(evloop_init(&t->loop), 0);
	t->irq_fd = eventfd(0, EFD_NONBLOCK);
	make_file(t->path, &t->fd, SECTORS);
	static char id[] = "rootfs";

	t->cfg = (struct res_drive){ .id = id, .path = t->path, .read_only = ro,
				     .cache = cache, .engine = eng, .fd = t->fd };
	if (rl)
		t->cfg.rl = *rl;
	assert_int_equal(blk_create(&t->b, &t->cfg, &t->gm, &t->loop, 0xc0001000, 5, t->irq_fd),
			 0);
	t->d = blk_virtio(t->b);
	t->q = (struct vq_drv){ .d = t->d, .gm = &t->gm, .desc = DESC, .avail = AVAIL,
				.used = USED, .num = QNUM, .used_event = true };
	vt_driver_init(&t->q);
	return t;
}

static struct t *setup_sync(void) { return setup_drive(false, RES_CACHE_UNSAFE, RES_IO_SYNC, NULL); }

static void teardown(struct t *t)
{
	blk_destroy(t->b);
	evloop_destroy(&t->loop);
	close(t->irq_fd);
	close(t->fd);
	unlink(t->path);
	free(t->gm.r[0].host);
	free(t);
}

/* Header + data + status as three descriptors; returns the status gpa. */
static uint64_t queue_req(struct t *t, uint32_t type, uint64_t sector, uint64_t data,
			  uint32_t len)
{
	uint64_t hdr = HDR + 16 * (t->nreq % 512), st = STATUS + t->nreq % 4096;
	struct virtio_blk_outhdr h = { htole32(type), 0, htole64(sector) };
	bool w = type != VIRTIO_BLK_T_OUT;
	struct seg s[3] = { { hdr, 16, false }, { data, len, w }, { st, 1, true } };

	t->nreq++;
	memcpy(ram(t, hdr), &h, sizeof(h));
	*ram(t, st) = 0xee;
	if (len)
		vq_add_chain(&t->q, s, 3);
	else
		vq_add_chain(&t->q, (struct seg[]){ s[0], s[2] }, 2);
	return st;
}

static void kick(struct t *t)
{
	virtio_queue_kick(t->d, 0);
}

/* One request, run to completion: its status; *used_len if asked. */
static uint8_t req(struct t *t, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
		   uint32_t *used_len)
{
	uint16_t before = vq_used_idx(&t->q);
	uint64_t st = queue_req(t, type, sector, data, len);

	kick(t);
	vq_wait_used(&t->q, &t->loop, (uint16_t)(before + 1));
	if (used_len)
		*used_len = vq_used_elem(&t->q, before).len;
	return *ram(t, st);
}

static struct blk_stats stats(struct t *t)
{
	struct blk_stats s;
	blk_get_stats(t->b, &s);
	return s;
}

/* Driver reset (status 0) and a fresh init with empty rings. */
static void reinit(struct t *t) { vt_reinit(&t->q, HDR - DESC); }

static void assert_file(struct t *t, uint64_t off, uint8_t v, size_t len)
{
	uint8_t buf[4096];

	assert_true(len <= sizeof(buf));
	assert_int_equal(pread(t->fd, buf, len, (off_t)off), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], v);
}

static void assert_ram(struct t *t, uint64_t gpa, uint8_t v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		assert_int_equal(*ram(t, gpa + i), v);
}

static void test_features_config(void **state)
{
	struct t *t = setup_sync();
	uint64_t f = vt_features(t->d);

	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_true(f & 1ull << VIRTIO_F_VERSION_1);
	assert_true(f & 1ull << VIRTIO_RING_F_EVENT_IDX);
	assert_false(f & 1ull << VIRTIO_BLK_F_FLUSH);
	assert_false(f & 1ull << VIRTIO_BLK_F_RO);
	assert_int_equal(capacity(t), SECTORS);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG + 8), 0); /* size_max: not offered */
	teardown(t);

	t = setup_drive(true, RES_CACHE_WRITEBACK, RES_IO_SYNC, NULL);
	f = vt_features(t->d);
	assert_true(f & 1ull << VIRTIO_BLK_F_FLUSH);
	assert_true(f & 1ull << VIRTIO_BLK_F_RO);
	teardown(t);
}

static void test_in_out_sync(void **state)
{
	static struct metrics m;
	struct t *t = setup_sync();
	uint32_t ulen;

	memset(ram(t, DATA), 0xab, 1024);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 2, DATA, 1024, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 1);
	assert_true(vt_irqs(t->irq_fd) > 0);
	assert_file(t, 1024, 0xab, 1024);
	assert_file(t, 4 * 512, 4, 512); /* the next sector is untouched */
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 5, DATA + 0x1000, 512, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 513);
	assert_ram(t, DATA + 0x1000, 5, 512);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 2, DATA + 0x2000, 1024, &ulen), VIRTIO_BLK_S_OK);
	assert_ram(t, DATA + 0x2000, 0xab, 1024);
	/* the last sector of the disk is in range */
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, SECTORS - 1, DATA, 512, NULL), VIRTIO_BLK_S_OK);

	struct blk_stats s = stats(t);
	assert_int_equal(s.write_count, 1);
	assert_int_equal(s.write_bytes, 1024);
	assert_int_equal(s.read_count, 3);
	assert_int_equal(s.read_bytes, 2048);
	assert_int_equal(s.queue_event_count, 4);
	assert_int_equal(s.invalid_reqs_count, 0);
	blk_add_metrics(t->b, &m);
	blk_add_metrics(t->b, &m);
	assert_int_equal(m.block.read_bytes, 4096);
	assert_int_equal(m.block.write_count, 2);
	teardown(t);
}

/* The header split over two descriptors, data over three, status alone;
 * data and status in one descriptor; header and data in one. */
static void test_chain_layouts(void **state)
{
	struct t *t = setup_sync();
	struct virtio_blk_outhdr h = { htole32(VIRTIO_BLK_T_IN), 0, htole64(3) };
	uint16_t u = vq_used_idx(&t->q);

	memcpy(ram(t, HDR), &h, sizeof(h));
	vq_add_chain(&t->q, (struct seg[]){ { HDR, 10, false }, { HDR + 10, 6, false },
				     { DATA, 512, true }, { DATA + 0x1000, 256, true },
				     { DATA + 0x2000, 256, true }, { STATUS, 1, true } }, 6);
	kick(t);
	vq_wait_used(&t->q, &t->loop, ++u);
	assert_int_equal(*ram(t, STATUS), VIRTIO_BLK_S_OK);
	assert_int_equal(vq_used_elem(&t->q, u - 1).len, 1025);
	assert_ram(t, DATA, 3, 512);
	assert_ram(t, DATA + 0x1000, 4, 256);
	assert_ram(t, DATA + 0x2000, 4, 256);

	h.sector = htole64(7);
	memcpy(ram(t, HDR + 16), &h, sizeof(h));
	*ram(t, DATA + 0x3000 + 512) = 0xee;
	vq_add_chain(&t->q, (struct seg[]){ { HDR + 16, 16, false }, { DATA + 0x3000, 513, true } }, 2);
	kick(t);
	vq_wait_used(&t->q, &t->loop, ++u);
	assert_ram(t, DATA + 0x3000, 7, 512);
	assert_int_equal(*ram(t, DATA + 0x3000 + 512), VIRTIO_BLK_S_OK);

	h = (struct virtio_blk_outhdr){ htole32(VIRTIO_BLK_T_OUT), 0, htole64(9) };
	memcpy(ram(t, DATA + 0x4000), &h, sizeof(h));
	memset(ram(t, DATA + 0x4000 + 16), 0x5a, 512);
	vq_add_chain(&t->q, (struct seg[]){ { DATA + 0x4000, 528, false }, { STATUS, 1, true } }, 2);
	kick(t);
	vq_wait_used(&t->q, &t->loop, ++u);
	assert_int_equal(*ram(t, STATUS), VIRTIO_BLK_S_OK);
	assert_file(t, 9 * 512, 0x5a, 512);
	teardown(t);
}

static void test_flush(void **state)
{
	struct t *t = setup_drive(false, RES_CACHE_WRITEBACK, RES_IO_SYNC, NULL);
	uint32_t ulen;

	assert_int_equal(req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 1);
	assert_int_equal(stats(t).flush_count, 1);
	teardown(t);
	/* Unsafe does not offer FLUSH; a stray one is an OK no-op */
	t = setup_sync();
	assert_int_equal(req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(stats(t).flush_count, 1);
	teardown(t);
}

static void test_get_id(void **state)
{
	struct t *t = setup_sync();
	struct stat st;
	char want[64];
	uint32_t ulen;

	assert_int_equal(fstat(t->fd, &st), 0);
	snprintf(want, sizeof(want), "%llu%llu%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_rdev, (unsigned long long)st.st_ino);
	size_t n = strlen(want) < 20 ? strlen(want) : 20;

	memset(ram(t, DATA), 0xff, 64);
	assert_int_equal(req(t, VIRTIO_BLK_T_GET_ID, 0, DATA, 20, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 21);
	assert_memory_equal(ram(t, DATA), want, n);
	assert_ram(t, DATA + n, 0, 20 - n);
	assert_int_equal(*ram(t, DATA + 20), 0xff);
	/* a short buffer gets what fits */
	assert_int_equal(req(t, VIRTIO_BLK_T_GET_ID, 0, DATA + 32, 8, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 9);
	assert_memory_equal(ram(t, DATA + 32), want, 8);
	assert_int_equal(*ram(t, DATA + 40), 0xff);
	teardown(t);
}

static void test_error_statuses(void **state)
{
	struct t *t = setup_sync();
	uint32_t ulen;

	assert_int_equal(req(t, 99, 0, DATA, 512, &ulen), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(ulen, 1);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, SECTORS - 1, DATA, 1024, &ulen),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(ulen, 1);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, SECTORS, DATA, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, UINT64_MAX, DATA, 512, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, UINT64_MAX >> 9, DATA, 512, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 0, DATA, 100, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 0, DATA, 513, NULL), VIRTIO_BLK_S_IOERR);
	assert_file(t, 0, 0, 512);
	assert_int_equal(stats(t).invalid_reqs_count, 7);
	assert_int_equal(stats(t).read_count + stats(t).write_count, 0);
	assert_false(t->d->broken);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 1, DATA, 512, NULL), VIRTIO_BLK_S_OK);
	teardown(t);
}

static void test_read_only(void **state)
{
	struct t *t = setup_drive(true, RES_CACHE_UNSAFE, RES_IO_SYNC, NULL);

	memset(ram(t, DATA), 0x77, 512);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 3, DATA, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_file(t, 3 * 512, 3, 512);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 3, DATA, 512, NULL), VIRTIO_BLK_S_OK);
	assert_ram(t, DATA, 3, 512);
	teardown(t);
}

static void test_malformed(void **state)
{
	struct t *t = setup_sync();
	struct vring_desc *tbl = (struct vring_desc *)ram(t, DESC);
	uint16_t u = vq_used_idx(&t->q);

	struct virtio_blk_outhdr h = { htole32(VIRTIO_BLK_T_IN), 0, 0 };

	memcpy(ram(t, HDR), &h, sizeof(h));
	/* no writable status: handed back untouched */
	vq_add_chain(&t->q, (struct seg[]){ { HDR, 16, false }, { DATA, 512, false } }, 2);
	/* header too short: IOERR */
	vq_add_chain(&t->q, (struct seg[]){ { HDR, 8, false }, { STATUS, 1, true } }, 2);
	/* no header at all */
	vq_add_chain(&t->q, (struct seg[]){ { STATUS + 1, 1, true } }, 1);
	/* a zero-length status descriptor */
	vq_add_chain(&t->q, (struct seg[]){ { HDR, 16, false }, { STATUS + 2, 0, true } }, 2);
	kick(t);
	vq_wait_used(&t->q, &t->loop, (uint16_t)(u + 4));
	assert_int_equal(vq_used_elem(&t->q, u).len, 0);
	assert_int_equal(vq_used_elem(&t->q, u + 1).len, 1);
	assert_int_equal(*ram(t, STATUS), VIRTIO_BLK_S_IOERR);
	assert_int_equal(vq_used_elem(&t->q, u + 2).len, 1);
	assert_int_equal(*ram(t, STATUS + 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(vq_used_elem(&t->q, u + 3).len, 0);
	assert_int_equal(stats(t).invalid_reqs_count, 4);
	assert_false(t->d->broken);

	/* a descriptor pointing past the table breaks the device */
	uint16_t head = vq_add_chain(&t->q, (struct seg[]){ { HDR, 16, false }, { STATUS, 1, true } }, 2);
	tbl[head].next = htole16(QNUM + 3);
	vt_irqs(t->irq_fd);
	kick(t);
	assert_true(t->d->broken);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_true(vt_irqs(t->irq_fd) > 0);
	/* reset brings it back */
	reinit(t);
	assert_false(t->d->broken);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 1, DATA, 512, NULL), VIRTIO_BLK_S_OK);
	teardown(t);
}

static void test_patch(void **state)
{
	struct t *t = setup_sync();
	char path2[64];
	int fd2;
	uint32_t gen = vt_rd32(t->d, VIRTIO_MMIO_CONFIG_GENERATION);

	make_file(path2, &fd2, 2 * SECTORS);
	vt_irqs(t->irq_fd);
	struct res_drive_update u = { .fd = fd2 };
	assert_int_equal(blk_patch(t->b, &u), 0);
	assert_int_equal(u.fd, -1);
	unlink(path2);
	assert_int_equal(capacity(t), 2 * SECTORS);
	assert_int_equal(vt_rd32(t->d, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_true(vt_rd32(t->d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_true(vt_irqs(t->irq_fd) > 0);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 200, DATA, 512, NULL), VIRTIO_BLK_S_OK);
	assert_ram(t, DATA, 200, 512);
	assert_int_equal(stats(t).update_count, 1);

	/* a bad descriptor: nothing changes, the fd stays the caller's */
	u.fd = 10000;
	assert_int_equal(blk_patch(t->b, &u), -EBADF);
	assert_int_equal(u.fd, 10000);
	assert_int_equal(capacity(t), 2 * SECTORS);
	assert_int_equal(stats(t).update_fails, 1);
	teardown(t);
}

static void test_async(void **state)
{
	struct t *t = setup_drive(false, RES_CACHE_WRITEBACK, RES_IO_ASYNC, NULL);
	uint32_t ulen;

	memset(ram(t, DATA), 0xc3, 2048);
	assert_int_equal(req(t, VIRTIO_BLK_T_OUT, 10, DATA, 2048, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 1);
	assert_file(t, 10 * 512, 0xc3, 2048);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 11, DATA + 0x1000, 1024, &ulen),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 1025);
	assert_ram(t, DATA + 0x1000, 0xc3, 1024);
	assert_int_equal(req(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(req(t, VIRTIO_BLK_T_GET_ID, 0, DATA, 20, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 21);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, SECTORS, DATA, 512, NULL), VIRTIO_BLK_S_IOERR);

	/* several in flight at once, over a multi-segment chain too */
	uint16_t u = vq_used_idx(&t->q);
	for (unsigned i = 0; i < 20; i++)
		queue_req(t, VIRTIO_BLK_T_IN, i, DATA + 0x2000 + i * 512, 512);
	kick(t);
	vq_wait_used(&t->q, &t->loop, (uint16_t)(u + 20));
	for (unsigned i = 0; i < 20; i++)
		assert_ram(t, DATA + 0x2000 + i * 512, i >= 10 && i < 14 ? 0xc3 : i, 512);

	/* more segments than a slot holds inline */
	struct virtio_blk_outhdr h = { htole32(VIRTIO_BLK_T_IN), 0, htole64(20) };
	struct seg sg[8] = { { HDR + 0x1000, 16, false } };

	memcpy(ram(t, HDR + 0x1000), &h, sizeof(h));
	for (unsigned i = 0; i < 6; i++)
		sg[1 + i] = (struct seg){ DATA + 0x8000 + i * 0x400, 512, true };
	sg[7] = (struct seg){ STATUS + 0x800, 1, true };
	vq_add_chain(&t->q, sg, 8);
	kick(t);
	vq_wait_used(&t->q, &t->loop, (uint16_t)(u + 21));
	assert_int_equal(*ram(t, STATUS + 0x800), VIRTIO_BLK_S_OK);
	assert_int_equal(vq_used_elem(&t->q, u + 20).len, 6 * 512 + 1);
	for (unsigned i = 0; i < 6; i++)
		assert_ram(t, DATA + 0x8000 + i * 0x400, 20 + i, 512);

	struct blk_stats s = stats(t);
	assert_int_equal(s.write_bytes, 2048);
	assert_int_equal(s.read_count, 22);
	assert_int_equal(s.flush_count, 1);
	assert_int_equal(s.invalid_reqs_count, 1);
	teardown(t);
}

/* Reset with reads in flight: they are waited for and never published. */
static void test_async_reset(void **state)
{
	struct t *t = setup_drive(false, RES_CACHE_UNSAFE, RES_IO_ASYNC, NULL);

	for (unsigned i = 0; i < 8; i++)
		queue_req(t, VIRTIO_BLK_T_IN, i, DATA + i * 512, 512);
	kick(t);
	reinit(t);
	vt_run_loop(&t->loop, 50);
	assert_int_equal(vq_used_idx(&t->q), 0);
	assert_int_equal(req(t, VIRTIO_BLK_T_IN, 5, DATA, 512, NULL), VIRTIO_BLK_S_OK);
	assert_ram(t, DATA, 5, 512);
	teardown(t);
}

/* A driver that makes a head available again while it is in flight. */
static void test_async_dup_head(void **state)
{
	struct t *t = setup_drive(false, RES_CACHE_UNSAFE, RES_IO_ASYNC, NULL);
	struct vring_avail *av = (struct vring_avail *)ram(t, AVAIL);

	queue_req(t, VIRTIO_BLK_T_IN, 1, DATA, 512);
	av->ring[t->q.avail_idx % QNUM] = av->ring[(t->q.avail_idx - 1) % QNUM];
	av->idx = htole16(++t->q.avail_idx);
	kick(t);
	assert_true(t->d->broken);
	teardown(t); /* waits for the read in flight */
}

extern unsigned blk_aio_depth;

static void test_async_ring_full(void **state)
{
	struct t *t = setup_drive(false, RES_CACHE_UNSAFE, RES_IO_ASYNC, NULL);

	blk_aio_depth = 4;
	for (unsigned i = 0; i < 10; i++)
		queue_req(t, VIRTIO_BLK_T_IN, i, DATA + i * 512, 512);
	kick(t);
	assert_int_equal(stats(t).io_engine_throttled_events, 1);
	kick(t); /* while throttled: counted, nothing popped */
	assert_int_equal(stats(t).io_engine_throttled_events, 2);
	vq_wait_used(&t->q, &t->loop, 10);
	for (unsigned i = 0; i < 10; i++)
		assert_ram(t, DATA + i * 512, i, 512);
	blk_aio_depth = 128;
	teardown(t);
}

static void test_rate_limited(void **state)
{
	struct res_rate_limiter rl = {
		.ops = { .set = true, .size = 2, .refill_time_ms = 1000 },
		.bandwidth = { .set = true, .size = 4096, .refill_time_ms = 1000 },
	};
	struct t *t = setup_drive(false, RES_CACHE_UNSAFE, RES_IO_SYNC, &rl);

	for (unsigned i = 0; i < 3; i++)
		queue_req(t, VIRTIO_BLK_T_IN, i, DATA + i * 512, 512);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 2);
	assert_int_equal(stats(t).rate_limiter_throttled_events, 1);
	kick(t);
	assert_int_equal(stats(t).rate_limiter_throttled_events, 2);
	assert_int_equal(vq_used_idx(&t->q), 2);
	/* half a second later one op has refilled: the timer retries */
	fake_ns += 500 * MS;
	vq_wait_used(&t->q, &t->loop, 3);
	assert_ram(t, DATA + 2 * 512, 2, 512);
	assert_true(stats(t).rate_limiter_event_count >= 1);

	/* bandwidth: 4096 bytes per second (ops refilled first) */
	fake_ns += 1000 * MS;
	queue_req(t, VIRTIO_BLK_T_IN, 0, DATA, 4096);
	queue_req(t, VIRTIO_BLK_T_IN, 0, DATA, 512);
	kick(t);
	assert_int_equal(vq_used_idx(&t->q), 4);
	/* PATCH: bandwidth off; the pending request goes at the next retry */
	struct res_drive_update u = { .fd = -1, .has_rl = true };
	u.rl.bandwidth.op = RES_BUCKET_DISABLE;
	assert_int_equal(blk_patch(t->b, &u), 0);
	vq_wait_used(&t->q, &t->loop, 5);
	assert_int_equal(stats(t).invalid_reqs_count, 0);
	teardown(t);
}

static int group_setup(void **state)
{
	rl_now_ns = fake_now;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_config),
		cmocka_unit_test(test_in_out_sync),
		cmocka_unit_test(test_chain_layouts),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_error_statuses),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_async_reset),
		cmocka_unit_test(test_async_dup_head),
		cmocka_unit_test(test_async_ring_full),
		cmocka_unit_test(test_rate_limited),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
