/* virtio-net (device id 1) on the virtio-mmio transport: queues RX = 0 and
 * TX = 1 (VIRTQ_MAX_SIZE each, no control queue), the 12-byte
 * virtio_net_hdr_v1 on every frame. Features offered, as Firecracker's
 * minus UFO, plus STATUS: CSUM, GUEST_CSUM, GUEST_TSO4/6, HOST_TSO4/6,
 * MRG_RXBUF, RING_EVENT_IDX, VERSION_1, MAC when guest_mac is set, MTU when
 * mtu is set. A comms ring backend offers the checksum and TSO bits only
 * when the peer agreed to carry them (COMMS_F_CSUM / COMMS_F_GSO).
 *
 * Backends (src/devices/virtio/net_tap.c, net_comms.c; net.c does not know
 * which it has):
 *   host_dev_name: a TAP from /dev/net/tun (IFF_TAP | IFF_NO_PI |
 *     IFF_VNET_HDR, vnet header size 12, offloads from the guest's features);
 *   comms_socket: a comms ring link (comms_ctl.h), connected at create time
 *     (net_create fails if nobody answers), whose loss clears
 *     VIRTIO_NET_S_LINK_UP (config interrupt) and is retried every 500 ms.
 *
 * Guest frames whose source MAC differs from guest_mac are counted in
 * tx_spoofed_mac_count; the comms backend also drops them.
 *
 * Call order (builder, VMM thread):
 *   net_create()  -> register net_virtio() on the MMIO bus (virtio_mmio_io,
 *                    ctx = the virtio_dev) and bind one ioeventfd per queue
 *                    (RX = 0, TX = 1); the device itself adds to `loop` its
 *                    backend's fds (TAP fd, or the link's doorbell and control
 *                    socket and the reconnect timerfd) and its two rate
 *                    limiters' timerfds;
 *   net_patch()   for PATCH /network-interfaces/{id} at runtime;
 *   net_add_metrics() / net_get_stats() from the metrics collector;
 *   net_destroy() after the vCPUs are gone.
 * Every entry point takes the virtio_dev's lock itself. */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include <stdint.h>

struct evloop;
struct guest_mem;
struct metrics;
struct net_dev;
struct res_net;
struct res_net_update;
struct virtio_dev;

#define NET_RXQ 0
#define NET_TXQ 1

/* Running totals since creation, named after Firecracker's NetDeviceMetrics
 * (the "net" group and the per-interface "net_<iface_id>" groups). */
#define NET_STATS(X) X(activate_fails) X(cfg_fails) X(no_rx_avail_buffer) \
	X(no_tx_avail_buffer) X(event_fails) X(rx_queue_event_count) \
	X(rx_event_rate_limiter_count) X(rx_rate_limiter_throttled) X(rx_tap_event_count) \
	X(rx_bytes_count) X(rx_packets_count) X(rx_fails) X(rx_count) X(tap_read_fails) \
	X(tap_write_fails) X(tx_bytes_count) X(tx_malformed_frames) X(tx_fails) X(tx_count) \
	X(tx_packets_count) X(tx_queue_event_count) X(tx_rate_limiter_event_count) \
	X(tx_rate_limiter_throttled) X(tx_spoofed_mac_count) X(tx_remaining_reqs_count)
#define NET_STATS_FIELD_(f) uint64_t f;
struct net_stats {
	NET_STATS(NET_STATS_FIELD_)
	/* ember's own, not in Firecracker's group: comms link transitions */
	uint64_t link_down_count, link_up_count;
};

/* An interface from its configuration. A comms_socket interface connects
 * now: with nobody listening (or a failed handshake) this fails with
 * -errno and a log_err() line naming the interface, the path and why.
 * The queue kicks are the caller's (ioeventfd -> virtio kick); irq_fd is
 * the KVM_IRQFD eventfd of `irq`. `loop` may be NULL (unit tests): nothing
 * is registered, and the caller runs the handlers itself. 0 or -errno. */
int net_create(struct net_dev **out, const struct res_net *cfg, struct guest_mem *gm,
	       struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd);
/* The transport object (for the bus and the ioeventfds). */
struct virtio_dev *net_virtio(struct net_dev *n);
/* PATCH: rate limiter updates (KEEP/SET/DISABLE per bucket). 0 or -errno. */
int net_patch(struct net_dev *n, const struct res_net_update *u);
void net_get_stats(struct net_dev *n, struct net_stats *out);
/* Adds this interface's totals to m->net.* (VMM thread). */
void net_add_metrics(struct net_dev *n, struct metrics *m);
/* Removes the loop handlers, closes the backend, frees. NULL ok. */
void net_destroy(struct net_dev *n);

#endif
