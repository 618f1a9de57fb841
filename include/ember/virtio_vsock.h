/* virtio-vsock (device id 19), Firecracker's hybrid vsock, on the
 * virtio-mmio transport: queues RX (0), TX (1) and event (2) of
 * VIRTQ_MAX_SIZE; VERSION_1 + RING_EVENT_IDX; config space struct
 * virtio_vsock_config (guest_cid, le64). Stream sockets only; the host is
 * CID 2 and every guest packet is checked field by field.
 *
 * Host side (the muxer): ember listens on uds_path (a stale socket file is
 * replaced). A host process connects and writes "CONNECT <port>\n"; ember
 * sends REQUEST to guest port <port> from a host port counting up from
 * 2^30 and answers "OK <host port>\n" once the guest sends RESPONSE, or
 * closes the socket on RST or when the guest does not answer within 2 s
 * (a client that sends no complete line within 5 s is dropped).
 * A guest REQUEST to (CID 2, port P) makes ember connect to "<uds_path>_P":
 * RESPONSE on success, RST on failure. At most VSOCK_MAX_CONNS connections
 * (host clients still sending their CONNECT line included). Data flows
 * with credit-based flow control both ways; ember holds at most
 * VSOCK_CONN_BUF bytes per connection for a host peer that reads slowly
 * (that is the buf_alloc it advertises), and reads the host socket only
 * when the guest has credit and RX buffers. SHUTDOWN flags map to
 * shutdown(2) half-closes; a connection ends on RST or when neither
 * direction can carry data any more. A device reset drops every connection.
 *
 * Call order (builder, VMM thread):
 *   vsock_create()      -> register vsock_virtio() on the MMIO bus
 *                          (virtio_mmio_io, ctx = the virtio_dev) and bind
 *                          one ioeventfd per queue (0..2) to it; the device
 *                          itself adds the listening socket, its timer and
 *                          each connection's socket to `loop`;
 *   vsock_add_metrics() from the metrics collector;
 *   vsock_destroy()     after the vCPUs are gone (closes every socket and
 *                       unlinks uds_path).
 * Every entry point takes the virtio_dev's lock itself. */
#ifndef EMBER_VIRTIO_VSOCK_H
#define EMBER_VIRTIO_VSOCK_H

#include <stdint.h>

struct evloop;
struct guest_mem;
struct metrics;
struct res_vsock;
struct virtio_dev;
struct vsock_dev;

#define VSOCK_MAX_CONNS 1023
#define VSOCK_CONN_BUF (256u * 1024) /* per-connection hold for the host = buf_alloc */

/* Running totals since creation, Firecracker's "vsock" group. ember counts:
 * rx_/tx_queue_event_count: kicks of the RX/TX queue;
 * rx_queue_event_fails: RX buffers readable or too small for a header
 * (handed back empty); tx_queue_event_fails: TX packets the header checks
 * dropped or answered with RST; cfg_fails: config writes (read-only);
 * muxer_event_fails: accept errors and host clients dropped for a bad,
 * long or late CONNECT line; conn_event_fails: host socket errors;
 * rx_/tx_packets_count and rx_/tx_bytes_count: packets and payload bytes
 * to / from the guest; conns_added / conns_removed; conns_killed:
 * connections ember reset (protocol violation, credit overrun, host socket
 * error, unanswered REQUEST); tx_write_fails / tx_flush_fails: writes of
 * guest data to the host socket that failed (direct / from the buffer);
 * rx_read_fails: failed reads of the host socket. activate_fails,
 * ev_queue_event_fails and killq_resync have no cause in ember: 0. */
struct vsock_stats {
	uint64_t activate_fails, cfg_fails;
	uint64_t rx_queue_event_fails, tx_queue_event_fails, ev_queue_event_fails;
	uint64_t muxer_event_fails, conn_event_fails;
	uint64_t rx_queue_event_count, tx_queue_event_count;
	uint64_t rx_bytes_count, tx_bytes_count, rx_packets_count, tx_packets_count;
	uint64_t conns_added, conns_killed, conns_removed, killq_resync;
	uint64_t tx_flush_fails, tx_write_fails, rx_read_fails;
};

/* Binds and listens on cfg->uds_path (failure logged with the path and the
 * reason, e.g. a missing directory). 0 or -errno. */
int vsock_create(struct vsock_dev **out, const struct res_vsock *cfg, struct guest_mem *gm,
		 struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd);
struct virtio_dev *vsock_virtio(struct vsock_dev *v);
void vsock_get_stats(struct vsock_dev *v, struct vsock_stats *out);
/* Live connections (host clients still sending CONNECT included). */
unsigned vsock_nr_conns(struct vsock_dev *v);
/* Adds the totals to m->vsock.* (VMM thread). */
void vsock_add_metrics(struct vsock_dev *v, struct metrics *m);
/* NULL ok. */
void vsock_destroy(struct vsock_dev *v);

#endif
