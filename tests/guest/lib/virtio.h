/* Minimal virtio-mmio (Version 2) driver for the test guests: device
 * discovery, the status/feature/queue-setup handshake, split virtqueues
 * (queue 0 on the device's struct vdev, any other through a view of it,
 * vdev_queue_view) driven by polling (optionally by the device's interrupt
 * through the IOAPIC), and raw register/ring access for guests that
 * misbehave on purpose (tests/guest/hostile.c).
 *
 * Discovery: every `virtio_mmio.device=<size>@<addr>:<irq>` on the command
 * line (ember/Firecracker append one per device); with none, the QEMU
 * microvm windows 0xfeb00000 + n * 0x200 (n < 24) are probed for the magic.
 * Rings and buffers live in guest RAM handed out by vdma_alloc() (identity
 * mapped, so a pointer is its guest-physical address). */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include "guest.h"

/* Registers (virtio 1.x §4.2.2). */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW 0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MAGIC 0x74726976u /* "virt" */

#define VIRTIO_STATUS_ACK 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_EVENT_IDX (1ULL << 29)
#define VIRTIO_F_VERSION_1 (1ULL << 32)

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

/* virtio-blk (§5.2). */
#define VIRTIO_BLK_F_SIZE_MAX (1ULL << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ULL << 2)
#define VIRTIO_BLK_F_RO (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH (1ULL << 9)
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then le16 used_event (EVENT_IDX) */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* then le16 avail_event (EVENT_IDX) */
};

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

#define VQ_MAX_SIZE 256

struct vdev {
	uint64_t base;	       /* MMIO window */
	uint32_t size;	       /* window size (from the command line; 0x200 probed) */
	int irq;	       /* GSI / IOAPIC pin; -1 if unknown */
	uint32_t device_id, vendor_id, version;
	uint64_t dev_features, drv_features;
	/* the queue this struct drives: 0, or another one through a view
	 * (vdev_queue_view) */
	uint16_t qidx;
	uint16_t qsize;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;    /* driver's shadow of avail->idx */
	uint16_t kicked_idx;   /* avail_idx at the last kick (EVENT_IDX) */
	uint16_t last_used;    /* next used slot the driver will consume */
	uint16_t free_head, num_free;
	uint16_t chain_len[VQ_MAX_SIZE]; /* descriptors per chain, by head */
	void *ring_mem;	       /* 3 pages: desc | avail | used */
	/* statistics */
	uint64_t kicks, kicks_suppressed;
	/* interrupts (vdev_enable_irq) */
	int vector;
	volatile uint32_t irqs, irq_isr_or; /* count, OR of InterruptStatus seen */
};

/* One buffer of a chain. */
struct vbuf {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

#define VIRTIO_MAX_DEVS 16

/* Find virtio-mmio devices (any id) into devs[]; returns how many. */
int virtio_discover(const struct boot_info *bi, struct vdev *devs, int max);
/* The first (index 0), second ... device with the given id, or NULL. */
struct vdev *virtio_find(struct vdev *devs, int n, uint32_t device_id, int index);

/* RAM: highest end of an E820_RAM region; a bump allocator above the
 * guest image (page-aligned chunks, NOT zeroed). vdma_init() once. */
void vdma_init(const struct boot_info *bi);
uint64_t vdma_ram_end(void);
void *vdma_alloc(size_t size, size_t align);
/* dst[0..bytes) = v repeated (rep stosq; the cheap way to fill on PVM). */
void vfill64(void *dst, uint64_t v, size_t bytes);

/* TSC calibrated against the LAPIC timer (lapic_delay_us); 0 on failure. */
uint64_t tsc_khz(void);
uint64_t tsc_us(uint64_t ticks);

/* Raw register access. */
static inline uint32_t vreg_read(const struct vdev *d, uint32_t off) { return mmio_read32(d->base + off); }
static inline void vreg_write(const struct vdev *d, uint32_t off, uint32_t v) { mmio_write32(d->base + off, v); }
static inline uint32_t vstatus(const struct vdev *d) { return vreg_read(d, VIRTIO_MMIO_STATUS); }
uint8_t vcfg_read8(const struct vdev *d, uint32_t off);
uint32_t vcfg_read32(const struct vdev *d, uint32_t off);
uint64_t vcfg_read64(const struct vdev *d, uint32_t off); /* generation-checked */

/* Full handshake (reset .. DRIVER_OK) accepting `want` & offered (VERSION_1
 * is required); queue 0 of min(NumMax, qsize) entries. 0 on success, else
 * a negative step number; `why` (if non-NULL) names the failing step. */
int vdev_init(struct vdev *d, uint64_t want, uint16_t qsize, const char **why);
/* The steps of vdev_init, for guests that deviate on purpose or drive more
 * than one queue: vdev_negotiate (magic .. FEATURES_OK; 0 or the negative
 * step of vdev_init), the queues, then vdev_driver_ok. */
int vdev_negotiate(struct vdev *d, uint64_t want, const char **why);
int vdev_driver_ok(struct vdev *d, const char **why);
void vdev_reset(struct vdev *d);	  /* Status = 0, waits until it reads 0 */
uint64_t vdev_read_features(struct vdev *d);
void vdev_write_features(struct vdev *d, uint64_t f);
/* Ring memory + QueueSel/Num/addresses/Ready for queue 0 (desc/avail/used
 * addresses may be overridden afterwards through the raw registers). */
int vdev_setup_queue(struct vdev *d, uint16_t qsize);
void vdev_set_queue_addrs(struct vdev *d, uint64_t desc, uint64_t avail, uint64_t used);
/* A view of device d that drives queue q (QueueSel and QueueNotify value q)
 * with its own ring: same window, features and interrupt vector, no ring yet
 * (vdev_setup_queue(view, ..) next). All vq_* calls work on a view. */
void vdev_queue_view(struct vdev *view, const struct vdev *d, uint16_t q);
/* Wait up to `us` (< 4 s) for anything: with the device interrupt enabled, sti;hlt
 * bounded by the LAPIC timer (an interrupt ends it early); else a busy wait. */
void vdev_idle(const struct vdev *d, uint32_t us);

/* Queue 0. vq_add returns the chain head or -1 if not enough descriptors. */
int vq_add(struct vdev *d, const struct vbuf *bufs, int n);
/* avail.idx++ publish (after a write barrier); vq_kick notifies (honouring
 * avail_event under EVENT_IDX unless force). */
void vq_publish(struct vdev *d, uint16_t head);
void vq_kick(struct vdev *d, bool force);
/* Consume one used element; false if none. Frees the chain. */
bool vq_get(struct vdev *d, uint32_t *id, uint32_t *len);
/* Poll (or sti;hlt with interrupts enabled) until one used element or the
 * timeout; false on timeout. */
bool vq_wait(struct vdev *d, uint32_t *id, uint32_t *len, uint32_t timeout_us);
/* Used elements not yet consumed by the driver. */
static inline uint16_t vq_pending_used(const struct vdev *d)
{
	return (uint16_t)(__atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE) - d->last_used);
}

/* Route the device's interrupt (GSI d->irq: IOAPIC pin, edge, to APIC 0) to
 * `vector`; the handler reads InterruptStatus and acks it. The caller runs
 * with interrupts off except in vq_wait. false if the irq is unknown. */
bool vdev_enable_irq(struct vdev *d, int vector);

/* virtio-blk helpers on queue 0: one request (header, data, status),
 * synchronous. Returns the status byte, or -1 on timeout, -2 if the chain
 * did not fit; *written = used.len. */
int blk_rw(struct vdev *d, uint32_t type, uint64_t sector, void *buf, uint32_t len,
	   uint32_t *written, uint32_t timeout_us);
uint64_t blk_capacity(const struct vdev *d);

#endif
