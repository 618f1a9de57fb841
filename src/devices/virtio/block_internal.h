/* Shared by block.c (device model, lifecycle), block_req.c (request
 * parsing and the queue loop) and block_io.c (Sync and Async engines).
 * Everything here runs on the VMM thread or a vCPU thread with
 * b->vdev.lock held. */
#ifndef EMBER_BLOCK_INTERNAL_H
#define EMBER_BLOCK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_blk.h>

#include "ember/evloop.h"
#include "ember/rate_limiter.h"
#include "ember/resources.h"
#include "ember/virtio.h"
#include "ember/virtio_blk.h"

#define BLK_SECTOR_SHIFT 9
#define BLK_SECTOR_SIZE (1u << BLK_SECTOR_SHIFT)
#define BLK_RING_DEPTH 128 /* io_uring entries, as Firecracker */
/* In-flight cap of the Async engine (<= BLK_RING_DEPTH); a knob for the
 * unit tests, since a 256-entry queue of >= 2-descriptor chains cannot
 * fill 128 slots. */
extern unsigned blk_aio_depth;
/* Data bytes per request: used.len (data + status byte) is 32 bits. */
#define BLK_MAX_DATA ((uint64_t)UINT32_MAX - 1)
/* A type no driver sends: a chain too broken to say what it asked for. */
#define BLK_T_MALFORMED UINT32_MAX

/* What completing a request needs, kept while Async I/O is in flight. */
struct blk_io {
	uint32_t type;	 /* VIRTIO_BLK_T_* */
	uint64_t len;	 /* data bytes */
	uint8_t *status; /* the chain's last writable byte, NULL if none */
};

/* A request parsed from the chain (scratch, one per device). */
struct blk_req {
	struct blk_io io;
	uint64_t sector;
	unsigned niov;
	struct iovec iov[VIRTQ_MAX_SEGS + 1]; /* the data, in guest RAM */
};

struct blk_aio; /* block_io.c */

struct blk_dev {
	struct virtio_dev vdev;
	struct evloop *loop; /* NULL in unit tests */
	int fd;
	bool read_only, writeback;
	enum res_io_engine engine;
	uint64_t nsectors;
	uint8_t id[VIRTIO_BLK_ID_BYTES];
	struct rate_limiter rl;
	struct evloop_handler rl_h;
	bool rl_added;
	bool io_throttled; /* Async: out of ring slots; retried on completions */
	struct blk_stats st;
	struct blk_aio *aio;
	struct virtq_chain chain; /* scratch for virtq_pop */
	struct blk_req req;
};

/* block_req.c */
/* Drain queue 0 until empty or throttled; submits an Async batch and
 * interrupts the driver if anything was used. */
void blk_process_queue(struct blk_dev *b);
/* Status byte, accounting and the used element {head, to_mem + 1}. */
void blk_complete(struct blk_dev *b, uint16_t head, const struct blk_io *io, uint8_t code,
		  uint32_t to_mem);
/* DRIVER_OK, not failed or broken, queue ready: may we touch the rings? */
bool blk_live(const struct blk_dev *b);

/* block_io.c: Sync engine. 0 or -errno (-EIO for a short transfer at EOF). */
int blk_sync_rw(int fd, struct iovec *iov, unsigned niov, uint64_t off, bool write);
/* Async engine. */
int blk_aio_init(struct blk_dev *b);
void blk_aio_destroy(struct blk_dev *b);
/* Queue r (IN, OUT or FLUSH) under the chain head; it goes to the kernel at
 * the next blk_aio_kick(). 0, -EBUSY (ring full: retry after completions),
 * -EEXIST (that head is already in flight: a broken driver), -ENOMEM. */
int blk_aio_submit(struct blk_dev *b, const struct blk_req *r, uint16_t head);
/* Hand the queued SQEs to the kernel. */
void blk_aio_kick(struct blk_dev *b);
/* Device reset: wait for everything in flight and forget it. */
void blk_aio_drain(struct blk_dev *b);

#endif
