/* The comms ring's control channel and links (docs/comms-ring.md).
 *
 * A server (ember-switch) listens on an AF_UNIX SOCK_SEQPACKET socket; a
 * client (ember's virtio-net backend, or any appliance) connects. Messages
 * are fixed 128-byte structs {magic, type, len, payload}:
 *
 *   server HELLO   {version min/max, max slots, max slot size, features}
 *   client INIT    {version, wanted geometry, MAC, MTU, features wanted}
 *   server REGION  {version, geometry, session id, MAC, MTU, features}
 *                  + SCM_RIGHTS [memfd, server doorbell eventfd]
 *   client READY   + SCM_RIGHTS [client doorbell eventfd]
 *   ... link up; either side may send DISCONNECT {code, reason} and close.
 *
 * Receivers use MSG_CMSG_CLOEXEC, drop the connection on MSG_CTRUNC, a short
 * or oversized message, a wrong magic/type/len, or an fd count other than
 * the type's (closing every received fd), and wait at most
 * COMMS_STEP_TIMEOUT_MS per step. The memfd's seals and size are checked
 * before it is mapped (ring_region_map). Peer death = EPOLLHUP/EPOLLRDHUP or
 * read() == 0 on the control socket; the owner then calls
 * comms_link_close() and may reconnect (a new region and session id). */
#ifndef EMBER_COMMS_CTL_H
#define EMBER_COMMS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/comms_ring.h"

#define COMMS_MSG_SIZE 128
#define COMMS_MSG_MAGIC 0x43524d45u /* "EMRC" */
#define COMMS_VERSION_MIN 1
#define COMMS_VERSION_MAX 1
#define COMMS_STEP_TIMEOUT_MS 1000

enum comms_msg_type {
	COMMS_HELLO = 1,
	COMMS_INIT = 2,
	COMMS_REGION = 3,
	COMMS_READY = 4,
	COMMS_DISCONNECT = 5,
};

/* Feature bits: which virtio-net offloads the frames may carry (the
 * vnet header is always present). A link gets the AND of both sides. */
#define COMMS_F_CSUM 0x1u /* frames may be partially checksummed (NEEDS_CSUM) */
#define COMMS_F_GSO 0x2u  /* frames may be GSO (TSO4/TSO6) up to RING_MAX_FRAME */
#define COMMS_F_KNOWN (COMMS_F_CSUM | COMMS_F_GSO)

/* What one side offers or asks for. */
struct comms_params {
	struct ring_geom geom;	/* client: wanted; server: maximum */
	uint8_t mac[6];		/* client: the guest's MAC (all zero: none) */
	uint16_t mtu;		/* 0: not set */
	uint32_t features;	/* COMMS_F_* */
};

/* One established link, owned by one thread. */
struct comms_link {
	int ctl_fd;		/* control socket: epoll it for HUP */
	int doorbell_rx;	/* ours: the peer kicks it; we epoll/read it */
	int doorbell_tx;	/* the peer's: we write 1 to kick it */
	void *base;		/* the mapped region */
	size_t len;
	bool server;
	uint64_t session_id;
	uint32_t version;
	struct comms_params p;	/* negotiated: geometry, features, MAC, MTU */
	struct ring_tx tx;	/* client: RING_C2S; server: RING_S2C */
	struct ring_rx rx;
};

/* Message encode/decode, exposed for the unit tests. decode returns 0 and
 * fills *p and *version, or -EPROTO for a bad magic/type/len/version/geometry. */
struct comms_msg {
	uint32_t magic;
	uint16_t type, len; /* len: payload bytes used */
	uint8_t payload[COMMS_MSG_SIZE - 8];
};
_Static_assert(sizeof(struct comms_msg) == COMMS_MSG_SIZE, "control message size");

/* Client: connect to `path`, handshake, map. On failure returns -errno and
 * writes a one-line reason to err. Blocks at most a few step timeouts. */
int comms_connect(const char *path, const struct comms_params *want, struct comms_link *out,
		  char *err, size_t errlen);
/* Server: listening socket at `path` (a stale socket file is replaced),
 * mode 0600. Returns the fd or -errno. */
int comms_listen(const char *path);
/* Server: complete the handshake on an accepted connection `fd` (taken:
 * closed on failure), creating a fresh region with a random session id.
 * `offer` gives the maximum geometry and the features offered. */
int comms_accept(int fd, const struct comms_params *offer, struct comms_link *out, char *err,
		 size_t errlen);
/* Kick the peer (write 1 to doorbell_tx; EAGAIN = counter full = already
 * kicked, ignored). */
void comms_kick(struct comms_link *l);
/* Drain our doorbell (non-blocking read). */
void comms_drain(struct comms_link *l);
/* Send DISCONNECT (best effort), unmap, close every fd; *l zeroed with fds
 * -1. Safe on a zeroed or closed link. */
void comms_link_close(struct comms_link *l, const char *reason);

/* Encoders/decoders for the handshake (comms_ctl_msg.c). */
void comms_msg_hello(struct comms_msg *m, const struct comms_params *offer);
void comms_msg_init(struct comms_msg *m, uint32_t version, const struct comms_params *want);
void comms_msg_region(struct comms_msg *m, uint32_t version, uint64_t session_id,
		      const struct comms_params *p);
void comms_msg_ready(struct comms_msg *m);
void comms_msg_disconnect(struct comms_msg *m, uint32_t code, const char *reason);
int comms_parse_hello(const struct comms_msg *m, size_t n, uint32_t *vmin, uint32_t *vmax,
		      struct comms_params *offer);
int comms_parse_init(const struct comms_msg *m, size_t n, uint32_t *version,
		     struct comms_params *want);
int comms_parse_region(const struct comms_msg *m, size_t n, uint32_t *version,
		       uint64_t *session_id, struct comms_params *p);
int comms_parse_ready(const struct comms_msg *m, size_t n);
/* DISCONNECT: *code and the NUL-terminated reason (truncated to rlen). */
int comms_parse_disconnect(const struct comms_msg *m, size_t n, uint32_t *code, char *reason,
			   size_t rlen);
/* Negotiate: the server's answer to `want` within `offer` (geometry clamped
 * to the offer, features ANDed). -EPROTO if no common version. */
int comms_negotiate(const struct comms_params *offer, const struct comms_params *want,
		    struct comms_params *out);

#endif
