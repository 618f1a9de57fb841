/* Shared by net.c (device model, lifecycle), net_tx.c, net_rx.c and the
 * backends net_tap.c and net_comms.c. Everything here runs with
 * n->vdev.lock held (vCPU threads for MMIO, the VMM thread for kicks,
 * backend events and timers), except where a comment says otherwise. */
#ifndef EMBER_NET_INTERNAL_H
#define EMBER_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_net.h>

#include "ember/evloop.h"
#include "ember/rate_limiter.h"
#include "ember/resources.h"
#include "ember/virtio.h"
#include "ember/virtio_net.h"

#define NET_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr_v1)) /* 12 */
/* Largest frame after the header, either way: a 64 KiB GSO frame plus
 * Ethernet and VLAN headers, Firecracker's MAX_BUFFER_SIZE (65562) - 12. */
#define NET_MAX_FRAME 65550u
#define NET_ETH_HLEN 14u
#define NET_ETH_ALEN 6u

#define NET_F(bit) (1ull << (bit))

struct net_dev;

/* A received frame the backend holds until rx_consume. */
struct net_frame {
	uint32_t len; /* bytes after the header, 1..NET_MAX_FRAME */
	struct virtio_net_hdr_v1 hdr;
};

#define NET_RX_BUDGET 256 /* frames per net_rx_process call */

/* What net.c, net_tx.c and net_rx.c need from a backend. */
struct net_backend_ops {
	const char *name; /* "tap", "comms" */
	/* Checksum / TSO offloads the backend can carry (VIRTIO_NET_F_* bits
	 * among CSUM, GUEST_CSUM, GUEST_TSO4/6, HOST_TSO4/6). */
	uint64_t (*offloads)(struct net_dev *n);
	/* DRIVER_OK with the driver's features. 0 or -errno. */
	int (*activate)(struct net_dev *n, uint64_t acked);
	/* Device reset by the driver. Optional. */
	void (*reset)(struct net_dev *n);
	/* One guest frame: the header and `len` bytes in iov. 0 sent,
	 * -EAGAIN full: keep the chain and call tx_wait; any other -errno:
	 * dropped (the backend counted it). */
	int (*tx)(struct net_dev *n, const struct virtio_net_hdr_v1 *h, const struct iovec *iov,
		  int iovcnt, size_t len);
	/* After a batch of tx calls (publish, kick). Optional. */
	void (*tx_flush)(struct net_dev *n);
	/* tx said -EAGAIN: arrange for net_tx_resume() when there is room.
	 * true: room appeared already, retry now (only if may_retry; without
	 * it the backend must arrange a wake-up and return false). */
	bool (*tx_wait)(struct net_dev *n, bool may_retry);
	/* Drop frames with a spoofed source MAC (else only count them). */
	bool tx_drops_spoofed;
	/* The next received frame: 1 and *f, 0 none (the backend will call
	 * net_rx_resume() when more arrive), -errno failed (counted). The frame
	 * stays the same until rx_consume. */
	int (*rx_peek)(struct net_dev *n, struct net_frame *f);
	/* Copy frame bytes [off, off + len) to dst; the count copied. */
	size_t (*rx_copy)(struct net_dev *n, size_t off, void *dst, size_t len);
	void (*rx_consume)(struct net_dev *n);
	/* RX stopped: the guest has no buffers or the rate limiter said no.
	 * The backend needs no wake-up until net_rx_resume(). Optional. */
	void (*rx_stall)(struct net_dev *n);
	/* RX spent its per-call budget with frames maybe left: arrange for
	 * net_rx_resume() on a later loop round, so one peer cannot hold the
	 * VMM thread (and the device lock) for as long as it keeps sending. */
	void (*rx_more)(struct net_dev *n);
	/* Close everything; remove loop handlers. */
	void (*destroy)(struct net_dev *n);
};

/* Scratch for one RX frame spread over several chains (MRG_RXBUF), and
 * the unusable chains popped on the way (handed back with it). Popped
 * chains are fewer than the queue size, so head[]/used[] hold them all. */
struct net_rx_gather {
	unsigned nchains, niov, ndesc, nbad;
	uint32_t cap; /* writable bytes gathered */
	uint16_t head[VIRTQ_MAX_SIZE];
	uint32_t used[VIRTQ_MAX_SIZE];
	uint16_t bad[VIRTQ_MAX_SIZE];
	struct iovec iov[VIRTQ_MAX_SIZE];
	unsigned iov_chain[VIRTQ_MAX_SIZE]; /* which chain iov[i] belongs to */
};

struct net_dev {
	struct virtio_dev vdev;
	struct evloop *loop; /* NULL in unit tests */
	char *id;
	bool has_mac;
	uint8_t mac[NET_ETH_ALEN];
	uint16_t mtu;
	bool link_up;	     /* VIRTIO_NET_S_LINK_UP */
	const struct net_backend_ops *be;
	void *be_priv;
	struct rate_limiter rl[2]; /* [NET_RXQ], [NET_TXQ] */
	struct evloop_handler rl_h[2];
	bool rl_added;
	bool tx_full;	     /* this round's tx got -EAGAIN */
	bool tx_waiting;     /* the backend is full; it calls net_tx_resume */
	bool rx_waiting;     /* a frame waits for guest buffers */
	struct net_stats st;
	struct virtq_chain chain; /* scratch for virtq_pop */
	struct iovec tx_iov[VIRTQ_MAX_SEGS + 1]; /* [0] the Ethernet header */
	struct net_rx_gather rx;
};

/* net.c */
/* DRIVER_OK, not failed or broken, queue q ready. */
bool net_live(const struct net_dev *n, unsigned q);
/* The backend's link went down or came back: status + config interrupt. */
void net_set_link(struct net_dev *n, bool up);
/* Does the driver take this header on RX (GSO type, checksum flags and
 * position) for a frame of len bytes? */
bool net_rx_hdr_ok(const struct net_dev *n, const struct virtio_net_hdr_v1 *h, uint32_t len);

/* net_tx.c */
void net_tx_process(struct net_dev *n);
/* The backend has room again (tx_wait). */
void net_tx_resume(struct net_dev *n);
/* A guest frame's header against the negotiated features; `len` is the
 * frame after the header. */
bool net_tx_hdr_ok(const struct net_dev *n, const struct virtio_net_hdr_v1 *h, size_t len);

/* net_rx.c */
/* Move frames from the backend into the guest's RX buffers until the
 * backend is empty, the guest has no buffers, or the rate limiter says no. */
void net_rx_process(struct net_dev *n);
/* The backend has frames (TAP readable, doorbell). */
void net_rx_resume(struct net_dev *n);

/* net_tap.c / net_comms.c: open the backend, set n->be and n->be_priv.
 * 0 or -errno (logged with log_err, naming the interface). */
int net_tap_open(struct net_dev *n, const struct res_net *cfg);
int net_comms_open(struct net_dev *n, const struct res_net *cfg);

#endif
