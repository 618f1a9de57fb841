/* Split virtqueues (virtio 1.x §2.7) as the device side sees them, with
 * every guest-controlled value checked (design.md §8.4): ring placement and
 * alignment inside RAM, queue size, descriptor indices, chain length (loops),
 * avail.idx running ahead, and every buffer inside RAM. No INDIRECT.
 * EVENT_IDX is supported. A violation returns -EPROTO (the caller marks the
 * device broken); nothing here ever touches memory outside gm_ptr(). */
#ifndef EMBER_VIRTQ_H
#define EMBER_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;

#define VIRTQ_MAX_SIZE 256 /* ember's QueueNumMax for every queue */

struct virtq {
	/* driver-programmed (transport registers) */
	uint16_t num;	       /* QueueNum: power of two, 1..VIRTQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	/* device state */
	bool event_idx;	       /* VIRTIO_F_RING_EVENT_IDX negotiated */
	uint16_t last_avail;   /* next avail ring slot to consume */
	uint16_t next_used;    /* used.idx the device will publish next */
	uint16_t signalled_used; /* used.idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
};

/* One segment of a descriptor chain: guest address and length, already
 * checked to lie inside RAM; `host` is gm_ptr() of it. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
	void *host;
};

#define VIRTQ_MAX_SEGS VIRTQ_MAX_SIZE

struct virtq_chain {
	uint16_t head;
	unsigned n;
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

/* No locking here: the owner (the transport's dev->lock) serialises calls.
 * virtq_pop() returns 0 for a queue that is not ready; push/notify calls on
 * one return -EINVAL / false. */

/* Reset to the state after device reset (all zero, not ready). */
void virtq_reset(struct virtq *q);
/* Called when the driver sets QueueReady=1: num a power of two <= max, rings
 * aligned (16/2/4) and wholly inside RAM. 0 or -EINVAL. */
int virtq_check(const struct virtq *q, const struct guest_mem *gm, uint16_t max);
/* Next available chain: 1 and *c filled, 0 when the ring is empty, -EPROTO
 * for a malformed ring or chain (index out of range, loop / chain longer
 * than num, buffer outside RAM, avail.idx more than num ahead, INDIRECT,
 * a readable descriptor after a writable one). */
int virtq_pop(struct virtq *q, const struct guest_mem *gm, struct virtq_chain *c);
/* Put the chain back (the device could not process it yet). */
void virtq_unpop(struct virtq *q);
/* Publish a used element {head, len} (len = bytes written to the chain). */
int virtq_push(struct virtq *q, const struct guest_mem *gm, uint16_t head, uint32_t len);
/* Publish n used elements {head[i], len[i]} with one used.idx store, so the
 * driver sees all of them or none (a mergeable RX frame spanning several
 * chains). 0 or -EINVAL (queue not ready, a head out of range, n > num). */
int virtq_push_n(struct virtq *q, const struct guest_mem *gm, const uint16_t *head,
		 const uint32_t *len, unsigned n);
/* After pushes: does the driver want an interrupt (EVENT_IDX or flags)? */
bool virtq_should_notify(struct virtq *q, const struct guest_mem *gm);
/* While the device drains a queue: ask the driver not to kick (sets
 * VRING_USED_F_NO_NOTIFY; with EVENT_IDX, avail_event is simply not advanced). */
void virtq_disable_notify(struct virtq *q, const struct guest_mem *gm);
/* Ask the driver to kick again (EVENT_IDX: avail_event = last_avail; else
 * clear VRING_USED_F_NO_NOTIFY), then recheck for entries that arrived
 * meanwhile (returns true if the ring is non-empty: pop again). */
bool virtq_enable_notify(struct virtq *q, const struct guest_mem *gm);

#endif
