/* Shared between mmio.c (register file) and mmio_status.c (status machine,
 * reset, interrupts). Everything here runs with d->lock held. */
#ifndef EMBER_VIRTIO_MMIO_INTERNAL_H
#define EMBER_VIRTIO_MMIO_INTERNAL_H

#include <stdint.h>

#include "ember/virtio.h"

/* Feature bits the device offers through the transport: the device's own,
 * without the transport features ember does not implement, plus VERSION_1. */
uint64_t virtio_offered(struct virtio_dev *d);
/* A driver write to Status: the transition table, FEATURES_OK negotiation,
 * DRIVER_OK activation, 0 = reset. */
void virtio_set_status(struct virtio_dev *d, uint32_t v);
/* Set InterruptStatus bit(s) and signal irq_fd. */
void virtio_irq(struct virtio_dev *d, uint32_t bits);
/* A notification for queue q (QueueNotify or ioeventfd): ops->notify if
 * the device is live and the queue ready. */
void virtio_kick_locked(struct virtio_dev *d, uint64_t q);

#endif
