/* Driver-side helpers the virtio device tests share: fake RAM in one region,
 * 32-bit register access through virtio_mmio_io(), feature negotiation and
 * queue setup as the Linux driver does them, and split rings built in fake
 * RAM (descriptor chains made available, used.idx and used elements read
 * back). A queue is a struct vq_drv naming its ring addresses, so a device
 * with several queues keeps one per queue. */
#ifndef TEST_VIRTIO_UTIL_H
#define TEST_VIRTIO_UTIL_H

#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "ember/evloop.h"
#include "ember/guest_mem.h"
#include "ember/virtio.h"

#define S_FEAT (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)

/* One buffer of a chain: device-writable if `write`. */
struct seg { uint64_t gpa; uint32_t len; bool write; };

/* The driver's view of one split virtqueue. used_event: publish used_event
 * (avail->ring[num]) as Linux does with callbacks enabled under EVENT_IDX. */
struct vq_drv {
	struct virtio_dev *d;
	struct guest_mem *gm;
	uint64_t desc, avail, used;
	uint16_t num, avail_idx, next_desc;
	bool used_event;
};

/* Fake RAM: one region of `size` bytes at gpa 0, host memory `host`. */
static inline void vt_ram_init(struct guest_mem *gm, void *host, uint64_t size)
{
	gm->r[0] = (struct gm_region){ 0, size, host };
	gm->nr = 1;
	gm->ram_size = size;
}

static inline uint8_t *vt_ram(const struct guest_mem *gm, uint64_t gpa)
{
	return (uint8_t *)gm->r[0].host + gpa;
}

static inline void vt_wr32(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	uint32_t le = htole32(v);
	virtio_mmio_io(d, off, (uint8_t *)&le, 4, true);
}

static inline uint32_t vt_rd32(struct virtio_dev *d, uint64_t off)
{
	uint32_t v;
	virtio_mmio_io(d, off, (uint8_t *)&v, 4, false);
	return le32toh(v);
}

static inline uint64_t vt_features(struct virtio_dev *d)
{
	vt_wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = vt_rd32(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vt_wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)vt_rd32(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* The Linux driver's init up to FEATURES_OK, acking (offered & mask); the
 * features acked. */
static inline uint64_t vt_negotiate(struct virtio_dev *d, uint64_t mask)
{
	uint64_t f = vt_features(d) & mask;

	vt_wr32(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vt_wr32(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vt_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	vt_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vt_wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	vt_wr32(d, VIRTIO_MMIO_STATUS, S_FEAT);
	assert_true(vt_rd32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	return f;
}

/* Select queue `sel`, give it q's size and rings, make it ready; if
 * check_max, QUEUE_NUM_MAX must be q's size. */
static inline void vt_queue_setup(const struct vq_drv *q, unsigned sel, bool check_max)
{
	vt_wr32(q->d, VIRTIO_MMIO_QUEUE_SEL, sel);
	if (check_max)
		assert_int_equal(vt_rd32(q->d, VIRTIO_MMIO_QUEUE_NUM_MAX), q->num);
	vt_wr32(q->d, VIRTIO_MMIO_QUEUE_NUM, q->num);
	vt_wr32(q->d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
	vt_wr32(q->d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
	vt_wr32(q->d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
	vt_wr32(q->d, VIRTIO_MMIO_QUEUE_READY, 1);
}

static inline void vt_driver_ok(struct virtio_dev *d)
{
	vt_wr32(d, VIRTIO_MMIO_STATUS, S_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(vt_rd32(d, VIRTIO_MMIO_STATUS), S_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* A single-queue device: ack everything offered, queue 0 (its size the
 * device's maximum), DRIVER_OK. */
static inline void vt_driver_init(const struct vq_drv *q)
{
	vt_negotiate(q->d, ~0ull);
	vt_queue_setup(q, 0, true);
	vt_driver_ok(q->d);
}

/* Driver reset (status 0), the first `clear` bytes from q's descriptor
 * table zeroed, and a fresh single-queue init with empty rings. */
static inline void vt_reinit(struct vq_drv *q, uint64_t clear)
{
	vt_wr32(q->d, VIRTIO_MMIO_STATUS, 0);
	memset(vt_ram(q->gm, q->desc), 0, clear);
	q->avail_idx = q->next_desc = 0;
	vt_driver_init(q);
}

/* Make a chain available (descriptors handed out round the table); its head. */
static inline uint16_t vq_add_chain(struct vq_drv *q, const struct seg *s, unsigned n)
{
	struct vring_desc *tbl = (struct vring_desc *)vt_ram(q->gm, q->desc);
	struct vring_avail *av = (struct vring_avail *)vt_ram(q->gm, q->avail);
	uint16_t head = q->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t id = (uint16_t)((head + i) % q->num);
		tbl[id].addr = htole64(s[i].gpa);
		tbl[id].len = htole32(s[i].len);
		tbl[id].flags = htole16((s[i].write ? VRING_DESC_F_WRITE : 0) |
					(i + 1 < n ? VRING_DESC_F_NEXT : 0));
		tbl[id].next = htole16((uint16_t)((id + 1) % q->num));
	}
	q->next_desc = (uint16_t)((head + n) % q->num);
	av->ring[q->avail_idx % q->num] = htole16(head);
	/* used_event: interrupt on the next used entry */
	if (q->used_event)
		av->ring[q->num] = ((struct vring_used *)vt_ram(q->gm, q->used))->idx;
	av->idx = htole16(++q->avail_idx);
	return head;
}

static inline uint16_t vq_used_idx(const struct vq_drv *q)
{
	return le16toh(((struct vring_used *)vt_ram(q->gm, q->used))->idx);
}

/* Used element i (mod the ring size), in host byte order. */
static inline struct vring_used_elem vq_used_elem(const struct vq_drv *q, uint16_t i)
{
	struct vring_used_elem e = ((struct vring_used *)vt_ram(q->gm, q->used))->ring[i % q->num];

	e.id = le32toh(e.id);
	e.len = le32toh(e.len);
	return e;
}

/* One epoll_wait on the loop, dispatching what fired. */
static inline void vt_run_loop(struct evloop *loop, int timeout_ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(loop->epfd, ev, 8, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct evloop_handler *h = ev[i].data.ptr;
		h->fn(h, ev[i].events);
	}
}

/* Run the loop (up to ~3 s) until used.idx reaches idx; it must equal idx. */
static inline void vq_wait_used(const struct vq_drv *q, struct evloop *loop, uint16_t idx)
{
	for (int i = 0; i < 300 && (int16_t)(vq_used_idx(q) - idx) < 0; i++)
		vt_run_loop(loop, 10);
	assert_int_equal(vq_used_idx(q), idx);
}

/* Interrupt edges signalled on a non-blocking eventfd since the last call. */
static inline uint64_t vt_irqs(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) < 0)
		n = 0;
	return n;
}

#endif
