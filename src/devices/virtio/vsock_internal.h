/* Shared by vsock.c (the virtio device), vsock_pkt.c (wire formats),
 * vsock_conn.c (one connection's protocol state, no I/O) and the host
 * side: vsock_muxer.c (connection table, guest packets), vsock_mux_rx.c
 * (packets to the guest), vsock_listen.c (listener, timer, lifecycle) and
 * vsock_host.c (one host socket's I/O). Naming: "rx" is
 * towards the guest (its RX queue), "tx" comes from the guest; "local" is
 * ember's end (host CID 2), "peer" the guest's. Everything here runs on the
 * VMM thread with the device's lock held. */
#ifndef EMBER_VSOCK_INTERNAL_H
#define EMBER_VSOCK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_vsock.h>

#include "ember/evloop.h"
#include "ember/virtio_vsock.h"
#include "ember/virtq.h"

#define VSOCK_HOST_CID 2
#define VSOCK_HDR_LEN ((uint32_t)sizeof(struct virtio_vsock_hdr)) /* 44 */
/* Largest payload either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD (64u * 1024)
/* Tell the guest our fwd_cnt once its view of our free space is below
 * this: half the window, so a fast sender gets the update while it still
 * has the other half to send (no stall of a round trip per window). */
#define VSOCK_CREDIT_LOW (VSOCK_CONN_BUF / 2)
/* First host port of host-initiated connections (as Firecracker). */
#define VSOCK_LOCAL_PORT_FIRST (1u << 30)
#define VSOCK_LINE_MAX 32 /* "CONNECT <port>\n", with room to spare */
#define VSOCK_MS 1000000ull
#define VSOCK_LINE_TIMEOUT_NS (5000 * VSOCK_MS)	 /* CONNECT line */
#define VSOCK_REQUEST_TIMEOUT_NS (2000 * VSOCK_MS) /* guest answering REQUEST */
#define VSOCK_RST_RING 64 /* stateless RST replies waiting for RX buffers */

/* --- vsock_pkt.c: the virtio header and the host's CONNECT line -------- */

/* A header in host byte order. */
struct vsock_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

enum vsock_verdict {
	VSOCK_PKT_OK,
	VSOCK_PKT_DROP, /* not for us or not answerable: ignore */
	VSOCK_PKT_RST,	/* answer RST (never to an RST) */
};

void vsock_pkt_decode(const struct virtio_vsock_hdr *raw, struct vsock_pkt *p);
void vsock_pkt_encode(const struct vsock_pkt *p, struct virtio_vsock_hdr *raw);
/* Every field of a guest packet against the rules (src_cid the guest's,
 * dst_cid the host, type STREAM, op known, len within data_len and
 * VSOCK_MAX_PAYLOAD and 0 for control ops, flags only on SHUTDOWN and only
 * RCV|SEND). *why (may be NULL) names the first broken rule. */
enum vsock_verdict vsock_pkt_check(const struct vsock_pkt *p, uint32_t data_len,
				   uint64_t guest_cid, const char **why);
/* A TX chain: the header gathered from its first VSOCK_HDR_LEN bytes
 * (which may span descriptors) and *data_len = the readable bytes after it.
 * -EINVAL: a device-writable descriptor, or fewer bytes than a header. */
int vsock_pkt_read_hdr(const struct virtq_chain *c, struct virtio_vsock_hdr *raw,
		       uint32_t *data_len);
/* An RX chain: *space = its writable bytes. -EINVAL: a readable
 * descriptor, or less room than a header. */
int vsock_pkt_rx_space(const struct virtq_chain *c, uint32_t *space);
/* iovecs for bytes [skip, skip + len) of the chain (at most `max`; fewer
 * when the chain is shorter); the count. */
unsigned vsock_pkt_iov(const struct virtq_chain *c, uint32_t skip, uint32_t len,
		       struct iovec *iov, unsigned max);
/* Copy `len` bytes to the chain at offset `off` (the caller checked room). */
void vsock_pkt_write(const struct virtq_chain *c, uint32_t off, const void *src, uint32_t len);
/* A complete CONNECT line (up to and including '\n'): "CONNECT <port>"
 * (keyword in any case, spaces/tabs between, an optional '\r' before the
 * newline, port a decimal u32 without sign). 0 or -EINVAL. */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port);

/* --- vsock_conn.c: one connection's protocol state, no I/O -------------- */

enum vsock_state {
	VSOCK_LOCAL_INIT,  /* host-initiated: REQUEST owed or sent, no answer yet */
	VSOCK_PEER_INIT,   /* guest-initiated: host connected, RESPONSE owed */
	VSOCK_ESTABLISHED,
	VSOCK_DEAD,	   /* finished: only its RST (if owed) is left to send */
};

/* Packets owed to the guest, sent in this order. */
enum {
	VSOCK_OWE_REQUEST = 1u << 0,
	VSOCK_OWE_RESPONSE = 1u << 1,
	VSOCK_OWE_CREDIT_UPDATE = 1u << 2,
	VSOCK_OWE_CREDIT_REQUEST = 1u << 3,
	VSOCK_OWE_SHUTDOWN = 1u << 4,
	VSOCK_OWE_RST = 1u << 5,
};

/* What vsock_conn_recv() asks the host side to do. */
enum {
	VSOCK_DO_CONNECTED = 1u << 0, /* host-initiated: write "OK <port>\n" */
	VSOCK_DO_DATA = 1u << 1,      /* forward the payload (already counted in held) */
	VSOCK_DO_SHUT_WR = 1u << 2,   /* the guest sends no more: shutdown(SHUT_WR) once flushed */
	VSOCK_DO_CREDIT = 1u << 3,    /* the guest's credit changed: maybe read the host again */
	VSOCK_DO_CLOSE = 1u << 4,     /* remove the connection now, nothing to send */
};

struct vsock_conn {
	uint32_t local_port, peer_port;
	enum vsock_state state;
	uint32_t owe;			/* VSOCK_OWE_* */
	uint32_t peer_shut, local_shut;	/* SHUTDOWN flags received / sent or owed */
	uint32_t shut_flags;		/* flags of the owed SHUTDOWN */
	/* host -> guest: the guest's credit (virtio 1.x §5.10.6.3) */
	uint32_t peer_buf_alloc, peer_fwd_cnt, rx_cnt;
	bool credit_asked;		/* CREDIT_REQUEST sent for the current credit */
	/* guest -> host: the credit ember gives */
	uint32_t fwd_cnt;		/* bytes delivered to the host socket */
	uint32_t fwd_told;		/* fwd_cnt in our last packet to the guest */
	uint32_t held;			/* bytes received, not yet delivered */
	uint64_t deadline_ns;		/* LOCAL_INIT: give up then; 0: none */
	bool killed;			/* reset by us: violation or error */
};

/* Host-initiated: REQUEST owed, deadline now + VSOCK_REQUEST_TIMEOUT_NS. */
void vsock_conn_init_local(struct vsock_conn *c, uint32_t local_port, uint32_t peer_port,
			   uint64_t now_ns);
/* Guest-initiated, the host socket connected: RESPONSE owed; the guest's
 * credit from its REQUEST. */
void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_pkt *req);
/* A checked guest packet addressed to this connection: VSOCK_DO_* bits;
 * packets owed in reply are added to c->owe (a protocol violation leaves
 * the connection DEAD with an RST owed). */
unsigned vsock_conn_recv(struct vsock_conn *c, const struct vsock_pkt *p);
/* Payload bytes the guest can take now (0 unless ESTABLISHED and the
 * host-to-guest direction is open), at most VSOCK_MAX_PAYLOAD. */
uint32_t vsock_conn_rx_credit(const struct vsock_conn *c);
/* May host data flow to the guest at all (credit aside)? */
bool vsock_conn_rx_open(const struct vsock_conn *c);
/* Host data waits and the guest gave no credit: owe one CREDIT_REQUEST
 * (once per credit value, so an unchanged answer does not ping-pong). */
void vsock_conn_credit_blocked(struct vsock_conn *c);
/* Next owed control packet into *p (header only, len 0): true, with the
 * state advanced (RESPONSE sent -> ESTABLISHED); false if nothing is owed. */
bool vsock_conn_next_ctrl(struct vsock_conn *c, uint64_t guest_cid, struct vsock_pkt *p);
/* An RW header for `len` payload bytes (len <= vsock_conn_rx_credit()). */
void vsock_conn_fill_rw(struct vsock_conn *c, uint64_t guest_cid, uint32_t len,
			struct vsock_pkt *p);
/* `n` held bytes reached the host socket: may owe a CREDIT_UPDATE, or the
 * final RST once the last byte of a closed connection is out. */
void vsock_conn_flushed(struct vsock_conn *c, uint32_t n);
/* The host socket hit end-of-file; `hup`: it is gone both ways. Owes
 * SHUTDOWN (SEND, or RCV|SEND on hup), and RST after it when nothing can
 * flow any more. */
void vsock_conn_host_eof(struct vsock_conn *c, bool hup);
/* Fatal host-side error or timeout: DEAD. Returns true when an RST is owed,
 * false when the guest never heard of the connection (remove it at once). */
bool vsock_conn_kill(struct vsock_conn *c);
/* Has the deadline passed? */
bool vsock_conn_expired(const struct vsock_conn *c, uint64_t now_ns);

/* --- the host side (the muxer) ------------------------------------------ */

/* Guest bytes the host socket had no room for: a ring of VSOCK_CONN_BUF
 * bytes, allocated while non-empty. Never holds more than conn.held. */
struct vsock_buf {
	uint8_t *data;
	uint32_t head, len;
};

/* One host socket: a client still sending its CONNECT line, or a
 * connection. Slots are never freed while the muxer lives, so an epoll
 * event that was already fetched for a socket closed meanwhile lands on a
 * slot that ignores it or takes it as a hint (every event is re-checked
 * with a non-blocking call). */
struct vsock_hconn {
	struct vsock_conn c;
	struct vsock_muxer *m;
	struct evloop_handler h;       /* h.fd: the socket, -1 when closed */
	uint32_t events;	       /* epoll interest while registered */
	unsigned live_idx;	       /* index in m->live */
	bool used, registered;
	bool line_mode;		       /* still reading "CONNECT <port>\n" */
	bool readable;		       /* the socket may have data or EOF for the guest */
	bool hup;		       /* the host peer is gone both ways */
	bool shut_wr;		       /* shutdown(SHUT_WR) done */
	bool queued;		       /* on the RX work queue */
	uint8_t line_len;
	char line[VSOCK_LINE_MAX];
	uint64_t line_deadline_ns;
	struct vsock_hconn *q_prev, *q_next;
	struct vsock_buf out;
};

struct vsock_rst { uint32_t local_port, peer_port; uint16_t type; };

struct vsock_muxer {
	struct evloop *loop;
	char path[108];		       /* uds_path (sizeof sun_path) */
	uint64_t cid;
	struct vsock_stats *st;
	pthread_mutex_t *lock;
	void (*rx_kick)(void *ctx);
	void *ctx;
	struct evloop_handler listen_h, timer_h;
	bool timer_armed;
	bool listen_paused;	       /* out of fds: accept again at the next tick */
	uint32_t next_port;
	unsigned next_slot;
	struct vsock_hconn slot[VSOCK_MAX_CONNS];
	struct vsock_hconn *live[VSOCK_MAX_CONNS];
	unsigned n_live;
	struct vsock_hconn *q_head, *q_tail; /* connections with packets for the guest */
	unsigned q_len;
	struct vsock_rst rst[VSOCK_RST_RING]; /* stateless RST replies */
	unsigned rst_head, rst_len;
};

/* vsock_muxer.c, for the other muxer files */
/* A free slot (round the table, so one a stale epoll event may name is
 * reused late), registered in m->live; NULL when full. */
struct vsock_hconn *vsock_mux_slot_alloc(struct vsock_muxer *m);
/* The RX work queue: idempotent add at the tail / removal. */
void vsock_mux_enqueue(struct vsock_muxer *m, struct vsock_hconn *hc);
void vsock_mux_dequeue(struct vsock_muxer *m, struct vsock_hconn *hc);
/* Packets owed, or host data the guest has credit (or an ask) for? */
bool vsock_mux_has_rx_work(const struct vsock_hconn *hc);
/* vsock_listen.c: the 250 ms tick, while anything has a deadline. */
void vsock_mux_arm_timer(struct vsock_muxer *m, bool on);
/* After any change to hc: close the socket of a DEAD connection (removing
 * it when nothing is owed), shutdown(SHUT_WR) once the guest's SEND is
 * flushed, epoll interest, RX work queue. */
void vsock_mux_settle(struct vsock_muxer *m, struct vsock_hconn *hc);
/* Fatal error or timeout: RST owed (or removed if the guest never knew). */
void vsock_mux_kill(struct vsock_muxer *m, struct vsock_hconn *hc, const char *why);
void vsock_mux_remove(struct vsock_muxer *m, struct vsock_hconn *hc);
/* The CONNECT line named `port`: start a host-initiated connection. */
void vsock_mux_start_local(struct vsock_muxer *m, struct vsock_hconn *hc, uint32_t port);

/* vsock_host.c: one host socket's I/O */
void vsock_host_event(struct evloop_handler *h, uint32_t events);
/* Register a new socket (fd) with the interest its state wants. 0 or -errno. */
int vsock_host_register(struct vsock_hconn *hc, int fd);
/* Close the socket and free the buffer (idempotent). */
void vsock_host_close(struct vsock_hconn *hc);
/* Epoll interest for the current state. */
void vsock_host_update(struct vsock_hconn *hc);
/* Guest payload (`len` bytes in iov) to the host socket, the rest into
 * the buffer. 0 or -errno (the socket failed: kill). */
int vsock_host_send(struct vsock_hconn *hc, const struct iovec *iov, unsigned n, uint32_t len);
/* "OK <local port>\n" to a host-initiated client. 0 or -errno. */
int vsock_host_send_ok(struct vsock_hconn *hc);
/* Read host data into an RX chain after the header, at most `credit`
 * bytes: the payload length (0: nothing now; EOF and errors leave packets
 * owed in hc->c instead). */
uint32_t vsock_host_read(struct vsock_hconn *hc, const struct virtq_chain *c, uint32_t space,
			 uint32_t credit);

/* rx_kick(ctx) runs (under *lock) after socket events that may have made
 * packets for the guest. */
int vsock_mux_create(struct vsock_muxer **out, const char *uds_path, uint64_t guest_cid,
		     struct evloop *loop, struct vsock_stats *st, pthread_mutex_t *lock,
		     void (*rx_kick)(void *ctx), void *ctx);
void vsock_mux_destroy(struct vsock_muxer *m);
/* A checked guest packet (verdict OK); its payload is at VSOCK_HDR_LEN in c. */
void vsock_mux_recv(struct vsock_muxer *m, const struct vsock_pkt *p,
		    const struct virtq_chain *c);
/* A guest packet that earned an RST: kill the connection it names, if
 * any, else queue a stateless RST (never for an RST). */
void vsock_mux_reject(struct vsock_muxer *m, const struct vsock_pkt *p);
bool vsock_mux_rx_pending(struct vsock_muxer *m);
/* Write the next packet for the guest into an RX chain with `space`
 * writable bytes: its length, or 0 when nothing is to be sent after all. */
uint32_t vsock_mux_rx_fill(struct vsock_muxer *m, const struct virtq_chain *c, uint32_t space);
/* Device reset: drop every connection (no packets: the guest forgot them). */
void vsock_mux_reset(struct vsock_muxer *m);
unsigned vsock_mux_nr_conns(struct vsock_muxer *m);
/* Monotonic clock, replaceable by the unit tests. */
extern uint64_t (*vsock_now_ns)(void);

#endif
