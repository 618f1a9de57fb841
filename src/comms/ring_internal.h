/* The comms ring's shared-memory layout (docs/comms-ring.md, "Format").
 * Private to src/comms and its tests; users see only comms_ring.h.
 *
 *   0x0000  struct ring_hdr (header page, written once by the creator)
 *   0x1000  struct ring_ctl for ring 0 (C2S), 0x1200 for ring 1 (S2C)
 *   0x2000  ring 0's slots, then ring 1's: slots x slot_size each
 *
 * Shared words are in host byte order: both ends run on one host. */
#ifndef EMBER_COMMS_RING_INTERNAL_H
#define EMBER_COMMS_RING_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/comms_ring.h"

#define RING_HDR_SIZE 0x1000u
#define RING_CTL_OFF 0x1000u
#define RING_DATA_OFF 0x2000u
#define RING_N 2
/* Two 64-byte lines: x86's adjacent-line prefetcher fetches 128-byte pairs,
 * so words written by different sides never share a pair. */
#define RING_BLOCK 128

struct ring_hdr {
	uint64_t magic;		/* RING_MAGIC */
	uint16_t ver_major;	/* RING_VERSION */
	uint16_t ver_minor;	/* 0 */
	uint32_t hdr_size;	/* RING_HDR_SIZE */
	uint64_t region_size;
	uint64_t session_id;	/* random per session, also sent in REGION */
	uint32_t n_rings;	/* RING_N */
	uint32_t slots, slot_size;
	uint32_t slot_hdr;	/* RING_SLOT_HDR */
	uint32_t ctl_off[RING_N], data_off[RING_N];
};
_Static_assert(sizeof(struct ring_hdr) == 64, "ring_hdr layout");

/* One ring's control words. Each 128-byte block has exactly one writer;
 * the owner keeps the real value privately and never reads its shared copy
 * back (the peer could have scribbled on it). */
struct ring_ctl {
	/* [P] written only by the producer */
	alignas(RING_BLOCK) _Atomic uint32_t prod;	/* next slot it will fill */
	_Atomic uint32_t prod_wait_space;		/* 1: kick me when you free slots */
	/* [C] written only by the consumer */
	alignas(RING_BLOCK) _Atomic uint32_t cons;	/* next slot it will read */
	_Atomic uint32_t need_kick;			/* 1: I may sleep, kick me */
	/* reserved (zero) for later versions, e.g. an event index */
	alignas(RING_BLOCK) uint8_t reserved[2 * RING_BLOCK];
};
_Static_assert(sizeof(struct ring_ctl) == 4 * RING_BLOCK, "ring_ctl layout");
_Static_assert(offsetof(struct ring_ctl, cons) == RING_BLOCK, "ring_ctl layout");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && sizeof(_Atomic uint32_t) == 4,
	       "shared atomics must be lock-free plain words");

/* Slot header; the frame bytes follow at +RING_SLOT_HDR. */
struct ring_slot {
	uint32_t len;		/* payload bytes in this slot: 1..slot_size-32 */
	uint16_t flags;		/* RING_SLOT_MORE */
	uint16_t rsvd;		/* zero */
	struct ring_vnet_hdr hdr; /* meaningful in a frame's first slot only */
	uint8_t pad[12];
};
_Static_assert(sizeof(struct ring_vnet_hdr) == 12, "virtio_net_hdr_v1 is 12 bytes");
_Static_assert(sizeof(struct ring_slot) == RING_SLOT_HDR, "ring_slot layout");

static inline uint32_t ring_payload(const struct ring_geom *g)
{
	return g->slot_size - RING_SLOT_HDR;
}

/* The only place a slot address is formed: the index is masked, so any
 * value (even one a peer made up) lands on a slot of this ring. */
static inline struct ring_slot *ring_slot_at(uint8_t *data, const struct ring_geom *g,
					     uint32_t idx)
{
	return (struct ring_slot *)(data + (size_t)(idx & (g->slots - 1)) * g->slot_size);
}

static inline size_t ring_ctl_off(enum ring_dir dir)
{
	return RING_CTL_OFF + (size_t)dir * sizeof(struct ring_ctl);
}

static inline size_t ring_data_off(const struct ring_geom *g, enum ring_dir dir)
{
	return RING_DATA_OFF + (size_t)dir * g->slots * g->slot_size;
}

#endif
