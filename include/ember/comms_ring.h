/* The comms ring (docs/comms-ring.md): a shared-memory packet link between
 * two processes on one host, e.g. ember's virtio-net backend and
 * ember-switch. One link = one sealed memfd region holding two
 * single-producer/single-consumer rings (client->server and server->client)
 * plus one eventfd doorbell per side, all passed over a UNIX SOCK_SEQPACKET
 * control socket after a versioned handshake (comms_ctl.h).
 *
 * Frames are copied in and out (no pointers cross the boundary): a frame of
 * up to RING_MAX_FRAME bytes, with its virtio-net header, occupies one or
 * more consecutive slots; every slot but the last of a frame is full and
 * carries RING_SLOT_MORE.
 *
 * The peer is untrusted. Every index and length read from shared memory is
 * read once into a local, checked against the geometry this side negotiated
 * (never the copy in shared memory), and only then used. A violation
 * returns -EPROTO and marks the ring broken; the owner tears the link down.
 *
 * Threads: one producer thread per ring and one consumer thread per ring,
 * in different processes. Nothing here blocks or sleeps; waiting is the
 * owner's epoll on its doorbell (ring_rx_prepare_sleep() first). */
#ifndef EMBER_COMMS_RING_H
#define EMBER_COMMS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define RING_MAGIC 0x31474e49524d4345ull /* "ECMRING1" little-endian */
#define RING_VERSION 1
#define RING_SLOT_HDR 32		  /* struct ring_slot before the payload */
#define RING_MAX_FRAME (65536 + 64)	  /* 64 KiB GSO frame + L2 headers */
#define RING_MIN_SLOTS 64
#define RING_MAX_SLOTS 4096
#define RING_MIN_SLOT_SIZE 2048
#define RING_MAX_SLOT_SIZE 65536
#define RING_DEF_SLOTS 1024
#define RING_DEF_SLOT_SIZE 2048

#define RING_SLOT_MORE 0x1 /* the frame continues in the next slot */
#define RING_SLOT_FLAGS_KNOWN RING_SLOT_MORE

/* The virtio-net header (virtio_net_hdr_v1, 12 bytes) carried with every
 * frame so that checksum and segmentation offloads pass through untouched.
 * Layout equal to <linux/virtio_net.h>'s struct virtio_net_hdr_v1. */
struct ring_vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

/* A region's geometry, agreed in the handshake: slots a power of two in
 * [RING_MIN_SLOTS, RING_MAX_SLOTS], slot_size a power of two in
 * [RING_MIN_SLOT_SIZE, RING_MAX_SLOT_SIZE]. */
struct ring_geom {
	uint32_t slots, slot_size;
};

/* Bytes of the region for `g` (header page + 2 x (control + slots)). */
size_t ring_region_size(const struct ring_geom *g);
/* Is `g` within the limits above? */
bool ring_geom_valid(const struct ring_geom *g);

/* Server side: create the memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING), size it,
 * write the header (magic, version, geometry, session id), seal SHRINK |
 * GROW | SEAL. Returns the fd or -errno. */
int ring_region_create(const struct ring_geom *g, uint64_t session_id);
/* Either side: check the memfd's seals (SHRINK and GROW present) and size
 * (== ring_region_size(g)), map it shared, check the header's magic,
 * version, geometry and session id against the negotiated values.
 * *base / *len for ring_region_unmap. 0 or -errno (-EPROTO: bad header). */
int ring_region_map(int memfd, const struct ring_geom *g, uint64_t session_id, void **base,
		    size_t *len);
void ring_region_unmap(void *base, size_t len);

/* Which ring of the region: index 0 carries client->server frames, 1
 * server->client. A client produces on 0 and consumes 1; a server the
 * reverse. */
enum ring_dir { RING_C2S = 0, RING_S2C = 1 };

/* Producer end of one ring (private state; the shared words are in the
 * region). */
struct ring_tx {
	struct ring_ctl *ctl;	/* shared control block of this ring */
	uint8_t *data;		/* slot 0 */
	struct ring_geom g;	/* private copy */
	uint32_t prod;		/* next slot to fill (free-running) */
	uint32_t published;	/* prod last stored to shared memory */
	uint32_t cons_cache;	/* last consumer index seen */
	uint32_t want;		/* slots the last -ENOSPC frame needed */
	bool broken;
	uint64_t frames, bytes, kicks, full; /* counters */
};

/* Consumer end of one ring. */
struct ring_rx {
	struct ring_ctl *ctl;
	uint8_t *data;
	struct ring_geom g;
	uint32_t cons;		/* next slot to read (free-running) */
	uint32_t published;	/* cons last stored to shared memory */
	uint32_t prod_cache;	/* last producer index seen */
	bool broken;
	uint64_t frames, bytes, kicks, errors;
};

/* Attach to ring `dir` of a mapped region. */
void ring_tx_init(struct ring_tx *t, void *base, const struct ring_geom *g, enum ring_dir dir);
void ring_rx_init(struct ring_rx *r, void *base, const struct ring_geom *g, enum ring_dir dir);

/* --- producer --------------------------------------------------------- */
/* Copy one frame (`len` bytes gathered from iov, and *h) into the next
 * free slots. Not visible to the consumer until ring_tx_publish().
 * 0, -ENOSPC (not enough free slots: nothing written; the caller keeps the
 * frame and may ring_tx_want_space()), -EMSGSIZE (len 0 or > RING_MAX_FRAME),
 * -EPROTO (the consumer's index is impossible: ring broken). */
int ring_tx_frame(struct ring_tx *t, const struct ring_vnet_hdr *h, const struct iovec *iov,
		  int iovcnt, size_t len);
/* Free slots right now (refreshes the cached consumer index). */
uint32_t ring_tx_space(struct ring_tx *t);
/* Release-store the producer index. Returns true when the consumer asked to
 * be woken (its need_kick flag is set): the caller writes the peer's
 * doorbell. No-op (false) when nothing new was written. */
bool ring_tx_publish(struct ring_tx *t);
/* Full ring: say we wait for space (the consumer kicks our doorbell after
 * it frees slots), then re-check. Returns true if space appeared meanwhile
 * (enough for the frame that last got -ENOSPC; the flag is cleared again:
 * just retry), and also when frames are still unpublished (publish them
 * first: sleeping on them could deadlock) or the ring is broken. */
bool ring_tx_want_space(struct ring_tx *t);
/* Space arrived or we gave up waiting: clear the flag. */
void ring_tx_space_done(struct ring_tx *t);

/* --- consumer --------------------------------------------------------- */
/* The next frame, validated: header and total length. The slot lengths are
 * read once here; the frame's bytes are then reached through ring_rx_iov()
 * or ring_rx_copy(), which use only these validated values. */
struct ring_rx_frame {
	uint32_t first;		/* first slot (free-running) */
	uint32_t nslots;
	uint32_t len;		/* frame bytes, 1..RING_MAX_FRAME */
	struct ring_vnet_hdr hdr; /* copied as is: peer data, its user checks it */
};
/* 1 and *f filled, 0 when the ring is empty, -EPROTO (impossible producer
 * index, a zero or oversized slot length, a non-full slot with MORE, an
 * unknown flag, a frame longer than RING_MAX_FRAME or than the ring:
 * ring broken). */
int ring_rx_peek(struct ring_rx *r, struct ring_rx_frame *f);
/* iovecs over the frame's bytes in shared memory (read-only use; the peer
 * may still scribble on them, which only corrupts its own frame). Returns
 * the count, or -ENOBUFS when max < f->nslots (a frame needs at most
 * ring_rx_max_iov()). */
int ring_rx_iov(const struct ring_rx *r, const struct ring_rx_frame *f, struct iovec *iov,
		int max);
unsigned ring_rx_max_iov(const struct ring_geom *g);
/* Copy up to `len` bytes of the frame, from offset `off`, to dst. Returns
 * the count copied. */
size_t ring_rx_copy(const struct ring_rx *r, const struct ring_rx_frame *f, size_t off,
		    void *dst, size_t len);
/* Done with the frame returned by the last ring_rx_peek(): its slots become
 * free (privately; published by ring_rx_publish()). */
void ring_rx_consume(struct ring_rx *r, const struct ring_rx_frame *f);
/* Release-store the consumer index. Returns true when the producer waits
 * for space (ring_tx_want_space): the caller writes the peer's doorbell. */
bool ring_rx_publish(struct ring_rx *r);
/* About to sleep on our doorbell: set need_kick, full fence, re-check the
 * producer index. Returns false (flag cleared again) if frames arrived
 * meanwhile: do not sleep. Xen's FINAL_CHECK shape: no lost wake-up.
 * Also false while consumed slots are unpublished (ring_rx_publish() them
 * first, or a producer waiting for space would never be kicked) and when
 * the ring is broken (ring_rx_peek() then says -EPROTO). */
bool ring_rx_prepare_sleep(struct ring_rx *r);
/* Awake (or polling): clear need_kick so the producer skips the doorbell. */
void ring_rx_awake(struct ring_rx *r);
/* Any frame waiting (acquire-loads the producer index)? */
bool ring_rx_pending(struct ring_rx *r);

#endif
