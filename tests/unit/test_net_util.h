/* Driver-side helpers for the virtio-net tests (test_virtio_net.c with a
 * real TAP, test_virtio_net_comms.c with a comms ring peer): fake RAM, the
 * device behind the virtio-mmio transport, RX (queue 0) and TX (queue 1)
 * rings built as a driver builds them, frames and their checks. */
#ifndef TEST_NET_UTIL_H
#define TEST_NET_UTIL_H

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include <linux/virtio_net.h>

#include "ember/resources.h"
#include "ember/virtio_net.h"
#include "test_virtio_util.h"

#define RAM (8u << 20)
#define QNUM 256
#define RXD 0x1000
#define RXA 0x3000
#define RXU 0x4000
#define TXD 0x6000
#define TXA 0x8000
#define TXU 0x9000
#define TXBUF 0x10000 /* .. 0xf0000: TX frames, handed out round */
#define TXBUF_END 0xf0000
#define RXBUF 0x100000 /* .. RAM: RX buffers */
#define HDR 12
#define MS 1000000ULL
#define ETYPE 0x88b5 /* IEEE local experimental: nobody else sends it */

#define F(b) (1ull << (b))
#define ALL_FEATURES (~0ull)

struct nt {
	struct guest_mem gm;
	struct evloop loop;
	struct net_dev *n;
	struct virtio_dev *d;
	int irq_fd;
	struct vq_drv rx, tx;
	uint64_t acked;
	uint64_t tx_next;
};

static const uint8_t GUEST_MAC[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };
static const uint8_t PEER_MAC[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x01 };

static inline uint8_t *ram(struct nt *t, uint64_t gpa) { return vt_ram(&t->gm, gpa); }

/* The device from cfg; rc is net_create's result (the struct is freed and
 * NULL returned when it fails). */
static inline struct nt *nt_new_rc(const struct res_net *cfg, int *rc)
{
	struct nt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	vt_ram_init(&t->gm, calloc(1, RAM), RAM);
	assert_int_equal(evloop_init(&t->loop), 0);
	t->irq_fd = eventfd(0, EFD_NONBLOCK);
	*rc = net_create(&t->n, cfg, &t->gm, &t->loop, 0xc0001000, 5, t->irq_fd);
	if (*rc) {
		evloop_destroy(&t->loop);
		close(t->irq_fd);
		free(t->gm.r[0].host);
		free(t);
		return NULL;
	}
	t->d = net_virtio(t->n);
	t->rx = (struct vq_drv){ .d = t->d, .gm = &t->gm, .desc = RXD, .avail = RXA, .used = RXU,
				 .num = QNUM, .used_event = true };
	t->tx = (struct vq_drv){ .d = t->d, .gm = &t->gm, .desc = TXD, .avail = TXA, .used = TXU,
				 .num = QNUM, .used_event = true };
	t->tx_next = TXBUF;
	return t;
}

static inline struct nt *nt_new(const struct res_net *cfg)
{
	int rc;
	struct nt *t = nt_new_rc(cfg, &rc);

	assert_int_equal(rc, 0);
	return t;
}

/* The Linux driver's bring-up: features (offered & mask), both queues,
 * DRIVER_OK. */
static inline void nt_init(struct nt *t, uint64_t mask)
{
	t->acked = vt_negotiate(t->d, mask);
	vt_queue_setup(&t->rx, 0, true);
	vt_queue_setup(&t->tx, 1, true);
	vt_driver_ok(t->d);
}

static inline void nt_free(struct nt *t)
{
	net_destroy(t->n);
	evloop_destroy(&t->loop);
	close(t->irq_fd);
	free(t->gm.r[0].host);
	free(t);
}

static inline struct net_stats nt_stats(struct nt *t)
{
	struct net_stats s;

	net_get_stats(t->n, &s);
	return s;
}

/* Config space bytes [off, off+len) through the transport. */
static inline uint32_t nt_cfg(struct nt *t, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	virtio_mmio_io(t->d, VIRTIO_MMIO_CONFIG + off, (uint8_t *)&v, len, false);
	return le32toh(v);
}

static inline bool nt_link_up(struct nt *t)
{
	return nt_cfg(t, offsetof(struct virtio_net_config, status), 2) & VIRTIO_NET_S_LINK_UP;
}

/* An Ethernet frame of `len` bytes: dst, src, ETYPE, a 32-bit sequence
 * number, then bytes derived from it. */
static inline void mk_frame(uint8_t *p, size_t len, const uint8_t *dst, const uint8_t *src,
			    uint32_t seq)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = ETYPE >> 8;
	p[13] = ETYPE & 0xff;
	memcpy(p + 14, &seq, 4);
	for (size_t i = 18; i < len; i++)
		p[i] = (uint8_t)(seq * 7 + i);
}

/* A TX buffer of `len` bytes in guest RAM. */
static inline uint64_t nt_txbuf(struct nt *t, size_t len)
{
	if (t->tx_next + len > TXBUF_END)
		t->tx_next = TXBUF;
	uint64_t gpa = t->tx_next;

	t->tx_next += (len + 15) & ~15ull;
	return gpa;
}

/* Queue hdr + frame on TX as `nseg` descriptors (header alone in the
 * first when nseg > 1, the frame split evenly over the rest). */
static inline uint16_t nt_queue_tx(struct nt *t, const struct virtio_net_hdr_v1 *h,
				   const uint8_t *frame, size_t len, unsigned nseg)
{
	struct seg s[8];
	uint64_t gpa = nt_txbuf(t, HDR + len);
	size_t off = 0;

	assert_true(nseg >= 1 && nseg <= 8);
	memcpy(ram(t, gpa), h, HDR);
	memcpy(ram(t, gpa + HDR), frame, len);
	if (nseg == 1) {
		s[0] = (struct seg){ gpa, (uint32_t)(HDR + len), false };
	} else {
		s[0] = (struct seg){ gpa, HDR, false };
		for (unsigned i = 1; i < nseg; i++) {
			size_t k = i + 1 == nseg ? len - off : len / (nseg - 1);
			s[i] = (struct seg){ gpa + HDR + off, (uint32_t)k, false };
			off += k;
		}
	}
	return vq_add_chain(&t->tx, s, nseg);
}

static inline void nt_send(struct nt *t, const uint8_t *frame, size_t len, unsigned nseg)
{
	struct virtio_net_hdr_v1 h = { 0 };

	nt_queue_tx(t, &h, frame, len, nseg);
	virtio_queue_kick(t->d, NET_TXQ);
}

/* One device-writable RX buffer. */
static inline uint16_t nt_post_rx(struct nt *t, uint64_t gpa, uint32_t len)
{
	return vq_add_chain(&t->rx, (struct seg[]){ { gpa, len, true } }, 1);
}

/* Run the loop until the RX used index reaches idx (up to ~3 s). */
static inline void nt_wait_rx(struct nt *t, uint16_t idx)
{
	vq_wait_used(&t->rx, &t->loop, idx);
}

/* Run the loop for about ms milliseconds, or until cond() holds. */
static inline bool nt_run_until(struct nt *t, int ms, bool (*cond)(struct nt *))
{
	for (int i = 0; i < ms / 10; i++) {
		if (cond && cond(t))
			return true;
		vt_run_loop(&t->loop, 10);
	}
	return cond && cond(t);
}

static inline uint32_t nt_isr(struct nt *t)
{
	return vt_rd32(t->d, VIRTIO_MMIO_INTERRUPT_STATUS);
}

static inline void nt_ack_isr(struct nt *t)
{
	vt_wr32(t->d, VIRTIO_MMIO_INTERRUPT_ACK, nt_isr(t));
}

#endif
