/* ember-switch's runtime (not part of the pure modules in ember/switch.h):
 * ports, the data path, the worker loop and the acceptor thread.
 *
 * Threads: the worker (main thread) owns struct sw and everything in it;
 * the acceptor thread only runs comms handshakes and hands finished links
 * over through a mutex-protected queue plus an eventfd, so a slow or
 * hostile client can stall its own handshake, never the data path. */
#ifndef EMBER_SWITCH_INTERNAL_H
#define EMBER_SWITCH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ember/comms_ctl.h"
#include "ember/switch.h"

#define SW_BURST 32			/* frames per port per round */
#define SW_MAX_IOV 64			/* >= ring_rx_max_iov() of any accepted geometry, + 1 */
#define SW_VNET_HDR 12			/* sizeof(struct virtio_net_hdr_v1) */
#define SW_STALL_NS (10 * 1000000ull)	/* a unicast frame waits this long for a full port */
#define SW_SAFETY_MS 50			/* longest sleep: aging, missed kicks */
#define SW_AGE_EVERY_NS SW_NS
#define SW_ACCEPT_QUEUE 8
/* The largest ring the switch offers: 2 x 2048 x 4 KiB = 16 MiB per link. */
#define SW_OFFER_SLOTS 2048
#define SW_OFFER_SLOT_SIZE 4096

enum sw_port_kind { SW_PORT_FREE = 0, SW_PORT_LINK, SW_PORT_TAP };

struct sw_port_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_drops;	/* shorter than an Ethernet header, unreadable */
	uint64_t tx_drops;	/* the port was full past the stall budget, or a write failed */
	uint64_t tx_held;	/* frames held at their sender because this port was full */
	uint64_t spoofed;	/* source MAC not the port's own, a group or the gateway's */
	uint64_t offload_drops;	/* GSO frame for a port without GSO, bad checksum offsets */
	uint64_t gw_replies;	/* ARP, ICMP and DHCP answers the gateway sent it */
};

struct sw_port {
	enum sw_port_kind kind;
	bool dead;		/* torn down at the end of the round */
	bool dirty;		/* frames written to its ring, not yet published */
	bool want_space;	/* waiting for the peer to free slots (kick expected) */
	bool congested;		/* a stall timed out: drop at once until it drains */
	bool has_mac;
	uint32_t id;		/* unique for the switch's life */
	uint32_t features;	/* COMMS_F_* frames to this port may carry */
	uint8_t mac[SW_ETH_ALEN];
	uint64_t stall_since;	/* its head frame waits for a full port since (ns) */
	struct comms_link link;	/* SW_PORT_LINK */
	int tap_fd;		/* SW_PORT_TAP */
	uint8_t *tap_buf;	/* vnet header + frame read from the TAP */
	size_t tap_len;		/* bytes held in tap_buf, 0: none */
	struct sw_port_stats st;
};

struct sw_acceptor {
	int listen_fd, stop_fd, notify_fd;
	bool started;
	pthread_t thr;
	pthread_mutex_t lock;
	struct comms_link q[SW_ACCEPT_QUEUE];
	unsigned n;
	struct comms_params offer;
};

struct sw {
	const struct sw_cfg *cfg;
	struct sw_port port[SW_MAX_PORTS];
	uint64_t active;		/* bit per live port */
	uint32_t next_id;
	uint64_t ports_added, ports_removed;
	struct sw_fdb fdb;
	struct sw_dhcp dhcp;
	bool dhcp_on;
	int ep, sig_fd, tap_port;	/* tap_port -1: no uplink */
	struct sw_acceptor acc;
	uint8_t *scratch;		/* RING_MAX_FRAME: gateway input, checksum completion */
	uint8_t reply[SW_GW_REPLY_MAX];
	struct iovec iov[SW_MAX_IOV];
	uint64_t now, last_work, last_age;
	bool stop;
};

/* epoll data: kind << 32 | port */
enum { SW_EV_ACCEPT = 1, SW_EV_SIGNAL, SW_EV_TAP, SW_EV_CTL, SW_EV_BELL };

uint64_t sw_now_ns(void);

/* switch_port.c */
int sw_port_add_link(struct sw *s, struct comms_link *l);
int sw_port_add_tap(struct sw *s, int fd);
void sw_port_kill(struct sw *s, unsigned i, const char *why);
void sw_port_reap(struct sw *s);
void sw_port_close_all(struct sw *s);
/* Copy one frame to port i: 0 (sent, or dropped and counted), -ENOSPC
 * (its ring is full: nothing written, nothing counted). */
int sw_port_send(struct sw *s, unsigned i, const struct ring_vnet_hdr *h,
		 const struct iovec *iov, int iovcnt, size_t len);
void sw_port_publish(struct sw *s, unsigned i);
void sw_port_publish_all(struct sw *s);

/* switch_path.c: one frame from port `in`; 0 consumed, -EAGAIN keep it. */
int sw_input(struct sw *s, unsigned in, const struct ring_vnet_hdr *h, const struct iovec *iov,
	     int iovcnt, size_t len);

/* switch_uplink.c */
int sw_tap_open(const char *name, int *fd);
int sw_tap_offload(int fd, uint32_t comms_features);
int sw_tap_write(int fd, const struct ring_vnet_hdr *h, const struct iovec *iov, int iovcnt,
		 size_t len);
/* Read one frame into buf (vnet header first): bytes, 0 none, -errno. */
ssize_t sw_tap_read(int fd, uint8_t *buf, size_t size);

/* switch_accept.c */
int sw_acc_start(struct sw_acceptor *a, const char *path, int notify_fd);
bool sw_acc_take(struct sw_acceptor *a, struct comms_link *out);
void sw_acc_stop(struct sw_acceptor *a);

/* switch_stats.c: one JSON line to stdout (and the stats file). */
void sw_stats_dump(struct sw *s);

/* switch_loop.c */
int sw_init(struct sw *s, const struct sw_cfg *c);
int sw_run(struct sw *s);
void sw_fini(struct sw *s);

#endif
