/* virtio-mmio (virtio 1.x §4.2, Version 2) transport and the device model
 * interface. The transport (src/devices/virtio/mmio.c) owns the register
 * file, the status state machine, feature negotiation, queue setup and the
 * interrupt status; a device (block.c, net.c, ...) sees only its ops table
 * and never a register offset (design.md §8.1).
 *
 * Threads: MMIO accesses arrive on vCPU threads (under dev->lock); queue
 * notifications arrive on the VMM thread through KVM_IOEVENTFD (one eventfd
 * per queue, datamatch = queue index), where ops->notify runs, also under
 * dev->lock. Interrupts go out through an eventfd bound with KVM_IRQFD.
 *
 * A guest that breaks the protocol (bad ring, bad chain, a write outside
 * its phase) is logged rate-limited; ring corruption marks the device
 * broken: DEVICE_NEEDS_RESET + a config interrupt; ember keeps running. */
#ifndef EMBER_VIRTIO_H
#define EMBER_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ember/evloop.h"
#include "ember/virtq.h"

struct guest_mem;
struct virtio_dev;

#define VIRTIO_MMIO_SIZE 0x1000
#define VIRTIO_MAX_QUEUES 8

struct virtio_dev_ops {
	const char *name;       /* "block", "net": for logs */
	uint32_t device_id;     /* VIRTIO_ID_BLOCK ... */
	unsigned nr_queues;
	/* Feature bits offered (VIRTIO_F_VERSION_1 is added by the transport). */
	uint64_t (*features)(struct virtio_dev *d);
	/* Device config space (read at offset 0x100+off; the transport checks
	 * off + len <= config_size). */
	uint32_t (*config_size)(struct virtio_dev *d);
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			     uint32_t len); /* optional */
	/* FEATURES_OK: may the driver have these? (optional; default yes) */
	bool (*features_ok)(struct virtio_dev *d, uint64_t acked);
	/* DRIVER_OK: queues are ready and checked; start serving. 0 or -errno
	 * (failure: DEVICE_NEEDS_RESET). */
	int (*activate)(struct virtio_dev *d);
	/* Status written 0: drop all in-flight state. */
	void (*reset)(struct virtio_dev *d);
	/* Queue `q` was kicked (VMM thread). */
	void (*notify)(struct virtio_dev *d, unsigned q);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;		       /* the device's own state */
	struct guest_mem *gm;
	pthread_mutex_t lock;	       /* all transport and device state */
	uint64_t base;		       /* MMIO window */
	unsigned irq;		       /* GSI */
	int irq_fd;		       /* KVM_IRQFD eventfd */
	/* transport registers */
	uint32_t status, dev_feat_sel, drv_feat_sel, queue_sel, config_gen;
	uint64_t acked;		       /* driver features */
	uint32_t isr;		       /* InterruptStatus: bit 0 used buffer, bit 1 config */
	bool broken;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	struct evloop_handler kick[VIRTIO_MAX_QUEUES]; /* ioeventfds */
};

/* Initialise the transport state of `d` (ops, priv, gm, base, irq, irq_fd).
 * 0 or -errno. */
int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		    struct guest_mem *gm, uint64_t base, unsigned irq, int irq_fd);
void virtio_dev_destroy(struct virtio_dev *d);
/* Bus handler for the 4 KiB window (ctx = the virtio_dev). */
void virtio_mmio_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* The three calls below are made WITH d->lock held: from inside an ops
 * callback (which the transport always calls under the lock), or by device
 * code on another thread that took d->lock itself. */
/* Raise the used-buffer interrupt for queue q if the driver wants one. */
void virtio_notify_queue(struct virtio_dev *d, unsigned q);
/* The config space changed (e.g. a new capacity): bump ConfigGeneration and
 * raise the config interrupt. */
void virtio_config_changed(struct virtio_dev *d);
/* Mark broken: DEVICE_NEEDS_RESET + config interrupt; logs `why` rate-limited.
 * A broken device gets no more ops->notify calls until the driver resets it. */
void virtio_dev_fail(struct virtio_dev *d, const char *why);
/* Queue q was kicked: takes d->lock and calls ops->notify unless q is out of
 * range or not ready, the device is not DRIVER_OK, or it is broken. */
void virtio_queue_kick(struct virtio_dev *d, unsigned q);
/* evloop callback for d->kick[q] (virtio_dev_init sets .fn and .ctx = d and
 * .fd = -1; the builder sets .fd to the ioeventfd and adds it to the loop):
 * drains the eventfd, then virtio_queue_kick(d, q). */
void virtio_kick_handler(struct evloop_handler *h, uint32_t events);
/* What a device's chain handler tells virtio_serve_queue. */
enum virtio_verdict {
	VIRTIO_NEXT,  /* chain taken: go on with the next one */
	VIRTIO_RETRY, /* cannot take it now (throttled, backend full): put it back, stop */
	VIRTIO_STOP,  /* stop here */
};
typedef int (*virtio_chain_fn)(void *ctx, struct virtq_chain *c);
typedef bool (*virtio_can_pop_fn)(void *ctx);
/* Serve queue `q` (caller holds d->lock): while can_pop (NULL: always),
 * pop a chain into *c and pass it to handle; an empty ring re-enables
 * notifications and looks once more; a malformed ring fails the device.
 * Returns how many chains were handled with VIRTIO_NEXT; the caller
 * interrupts the driver (virtio_notify_queue) if it used any. */
unsigned virtio_serve_queue(struct virtio_dev *d, unsigned q, struct virtq_chain *c,
			    virtio_can_pop_fn can_pop, virtio_chain_fn handle, void *ctx);
/* The status state machine as a pure table, for the unit tests: may the
 * driver write `to` when the status is `from`? */
bool virtio_status_allowed(uint32_t from, uint32_t to);

#endif
