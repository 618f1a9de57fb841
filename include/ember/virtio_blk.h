/* virtio-blk (device id 2) on the virtio-mmio transport, as Firecracker's:
 * one queue of VIRTQ_MAX_SIZE; VERSION_1 + RING_EVENT_IDX, BLK_F_FLUSH only
 * with cache_type Writeback, BLK_F_RO for read-only drives; config space is
 * struct virtio_blk_config with only `capacity` (file size / 512) non-zero.
 * Requests IN, OUT, FLUSH, GET_ID; anything else is UNSUPP. Engines: Sync
 * (preadv/pwritev on the VMM thread) and Async (io_uring, 128 entries).
 *
 * Call order (builder, VMM thread):
 *   blk_create()  -> register blk_virtio() on the MMIO bus (virtio_mmio_io,
 *                    ctx = the virtio_dev) and bind one ioeventfd (queue 0)
 *                    to it; the device itself adds to `loop` its rate
 *                    limiter's timerfd and, for Async, the io_uring
 *                    completion eventfd;
 *   blk_patch()   for PATCH /drives/{id} at runtime;
 *   blk_add_metrics() from the metrics collector;
 *   blk_destroy() after the vCPUs are gone.
 * Every entry point takes the virtio_dev's lock itself. */
#ifndef EMBER_VIRTIO_BLK_H
#define EMBER_VIRTIO_BLK_H

#include <stdint.h>

struct blk_dev;
struct evloop;
struct guest_mem;
struct metrics;
struct res_drive;
struct res_drive_update;
struct virtio_dev;

/* Running totals since creation; blk_add_metrics() adds them to a
 * collector's `struct metrics` (which turns totals into deltas). */
struct blk_stats {
	uint64_t read_bytes, write_bytes, read_count, write_count, flush_count;
	uint64_t invalid_reqs_count, execute_fails;
	uint64_t queue_event_count, rate_limiter_event_count;
	uint64_t rate_limiter_throttled_events, io_engine_throttled_events;
	uint64_t update_count, update_fails, event_fails;
};

/* A drive from its configuration. The device works on its own duplicate of
 * cfg->fd (the resources keep theirs). The queue kicks are the caller's
 * (ioeventfd -> virtio kick); irq_fd is the KVM_IRQFD eventfd of `irq`.
 * `loop` may be NULL (unit tests): nothing is registered then, and a blocked
 * rate limiter or Async completions need the caller to call the handlers.
 * 0 or -errno. */
int blk_create(struct blk_dev **out, const struct res_drive *cfg, struct guest_mem *gm,
	       struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd);
/* The transport object (for the bus and the ioeventfd). */
struct virtio_dev *blk_virtio(struct blk_dev *b);
/* PATCH /drives: with u->fd >= 0, switch to that file (taken: u->fd = -1),
 * re-read the capacity and the GET_ID serial, raise a config change; with
 * u->has_rl, update the rate limiter (KEEP/SET/DISABLE per bucket).
 * 0 or -errno (fstat / BLKGETSIZE64 of the new file failed: nothing changed,
 * u->fd stays the caller's). */
int blk_patch(struct blk_dev *b, struct res_drive_update *u);
void blk_get_stats(struct blk_dev *b, struct blk_stats *out);
/* Adds this drive's totals to m->block.* (VMM thread). */
void blk_add_metrics(struct blk_dev *b, struct metrics *m);
/* Waits for in-flight Async I/O, removes the loop handlers, frees. NULL ok. */
void blk_destroy(struct blk_dev *b);

#endif
