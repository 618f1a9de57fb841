/* Shared by the comms ring backend's data path (net_comms.c) and its link
 * management (net_comms_link.c: connect, events, reconnect). Everything
 * runs with the device lock held unless a comment says otherwise. */
#ifndef EMBER_NET_COMMS_INTERNAL_H
#define EMBER_NET_COMMS_INTERNAL_H

#include "ember/comms_ctl.h"
#include "net_internal.h"

#define RECONNECT_NS (500 * 1000000L) /* retry period while the link is down */

struct comms {
	char *path;
	struct comms_params want; /* what connects ask for (features follow the driver) */
	uint32_t created_feat;	  /* link features when the device was made */
	struct comms_link link;
	bool up;
	bool held;		  /* cur is peeked and not consumed */
	bool tx_sleeping;	  /* want_space set (or remaking): we get resumed */
	bool remaking;		  /* down for a renegotiation the guest does not see */
	unsigned unpublished;	  /* frames consumed, index not yet published */
	struct ring_rx_frame cur;
	int timer_fd;		  /* reconnect timer */
	long backoff_ns;	  /* retry period after slow failed handshakes, or 0 */
	struct evloop_handler bell_h, ctl_h, timer_h;
	bool bell_added, ctl_added, timer_added;
	struct comms_attempt *try; /* a reconnect handshake in flight, or NULL */
};

/* One reconnect handshake on its own thread: a peer that accepts and then
 * stalls must not hold the VMM thread (the API, the other devices). The
 * thread touches only this struct; done_fd (on the loop) says it ended. */
struct comms_attempt {
	pthread_t th;
	const char *path;
	struct comms_params want;
	struct comms_link link;	  /* the result when rc == 0 */
	int rc;
	long took_ms;
	char err[256];
	int done_fd;
	struct evloop_handler done_h;
};

static inline struct comms *co(struct net_dev *n)
{
	return n->be_priv;
}

extern const struct net_backend_ops net_comms_ops;

/* net_comms.c */
/* Take the link down (peer gone, ring corrupted): LINK_UP cleared, link
 * closed, reconnect after first_ns then every RECONNECT_NS. quiet (an
 * offload renegotiation): LINK_UP stays and TX waits for the new link;
 * if that first attempt fails, the link goes down for real. */
void net_comms_link_lost(struct net_dev *n, const char *why, long first_ns, bool quiet);
/* first_ns 0 disarms. */
void net_comms_arm_timer(struct comms *c, long first_ns, long period_ns);
void net_comms_del_handlers(struct net_dev *n);
/* net_comms_link.c: join a reconnect attempt in flight and free it. */
void net_comms_attempt_end(struct net_dev *n, bool keep_link);

#endif
