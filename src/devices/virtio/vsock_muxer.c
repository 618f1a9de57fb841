/* The host side of the hybrid vsock (Firecracker's docs/vsock.md): the
 * connection table (at most VSOCK_MAX_CONNS, host clients still sending
 * CONNECT included), the queue of connections owing packets to the guest,
 * and the guest's packets: connects to "<uds_path>_<port>", the state
 * machine's verdicts, stateless RST replies. The listening socket and the
 * timer are in vsock_listen.c, packets to the guest in vsock_mux_rx.c,
 * one socket's I/O in vsock_host.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ember/log.h"
#include "vsock_internal.h"

/* --- RX work queue (doubly linked: removal from the middle is O(1)) --- */

void vsock_mux_enqueue(struct vsock_muxer *m, struct vsock_hconn *hc)
{
	if (hc->queued)
		return;
	hc->queued = true;
	hc->q_next = NULL;
	hc->q_prev = m->q_tail;
	if (m->q_tail)
		m->q_tail->q_next = hc;
	else
		m->q_head = hc;
	m->q_tail = hc;
	m->q_len++;
}

void vsock_mux_dequeue(struct vsock_muxer *m, struct vsock_hconn *hc)
{
	if (!hc->queued)
		return;
	if (hc->q_prev)
		hc->q_prev->q_next = hc->q_next;
	else
		m->q_head = hc->q_next;
	if (hc->q_next)
		hc->q_next->q_prev = hc->q_prev;
	else
		m->q_tail = hc->q_prev;
	hc->queued = false;
	hc->q_prev = hc->q_next = NULL;
	m->q_len--;
}

/* --- connection table ------------------------------------------------- */

/* A free slot, handed out round the table so a slot a stale epoll event
 * may still name is reused as late as possible. NULL when full. */
struct vsock_hconn *vsock_mux_slot_alloc(struct vsock_muxer *m)
{
	if (m->n_live >= VSOCK_MAX_CONNS)
		return NULL;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_hconn *hc = &m->slot[(m->next_slot + i) % VSOCK_MAX_CONNS];

		if (hc->used)
			continue;
		m->next_slot = (unsigned)(hc - m->slot + 1) % VSOCK_MAX_CONNS;
		*hc = (struct vsock_hconn){ .m = m, .used = true, .live_idx = m->n_live,
					    .h = { .fd = -1, .fn = vsock_host_event, .ctx = hc } };
		m->live[m->n_live++] = hc;
		return hc;
	}
	return NULL;
}

void vsock_mux_remove(struct vsock_muxer *m, struct vsock_hconn *hc)
{
	unsigned i = hc->live_idx;

	vsock_host_close(hc);
	vsock_mux_dequeue(m, hc);
	m->live[i] = m->live[--m->n_live];
	m->live[i]->live_idx = i;
	if (!hc->line_mode)
		m->st->conns_removed++;
	hc->used = false;
}

static struct vsock_hconn *find(struct vsock_muxer *m, uint32_t local_port, uint32_t peer_port)
{
	for (unsigned i = 0; i < m->n_live; i++) {
		struct vsock_hconn *hc = m->live[i];

		if (!hc->line_mode && hc->c.local_port == local_port &&
		    hc->c.peer_port == peer_port)
			return hc;
	}
	return NULL;
}

static bool local_port_used(struct vsock_muxer *m, uint32_t port)
{
	for (unsigned i = 0; i < m->n_live; i++)
		if (!m->live[i]->line_mode && m->live[i]->c.local_port == port)
			return true;
	return false;
}

/* Host ports from 2^30 upwards, wrapping, skipping ports in use (at most
 * VSOCK_MAX_CONNS of them, so this ends). */
static uint32_t alloc_local_port(struct vsock_muxer *m)
{
	for (;;) {
		uint32_t p = m->next_port++;

		if (m->next_port < VSOCK_LOCAL_PORT_FIRST || m->next_port == UINT32_MAX)
			m->next_port = VSOCK_LOCAL_PORT_FIRST;
		if (!local_port_used(m, p))
			return p;
	}
}

/* Packets for the guest, or host data it has credit and a use for? */
bool vsock_mux_has_rx_work(const struct vsock_hconn *hc)
{
	const struct vsock_conn *c = &hc->c;

	if (!hc->used || hc->line_mode)
		return false;
	if (c->owe)
		return true;
	return hc->readable && vsock_conn_rx_open(c) &&
	       (vsock_conn_rx_credit(c) || !c->credit_asked);
}

void vsock_mux_settle(struct vsock_muxer *m, struct vsock_hconn *hc)
{
	struct vsock_conn *c = &hc->c;

	if (!hc->used || hc->line_mode)
		return;
	if (c->state == VSOCK_DEAD) {
		vsock_host_close(hc);
		if (!c->owe) {
			vsock_mux_remove(m, hc);
			return;
		}
	} else {
		if ((c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !hc->out.len && !hc->shut_wr &&
		    hc->h.fd >= 0) {
			shutdown(hc->h.fd, SHUT_WR);
			hc->shut_wr = true;
		}
		vsock_host_update(hc);
	}
	if (vsock_mux_has_rx_work(hc))
		vsock_mux_enqueue(m, hc);
}

void vsock_mux_kill(struct vsock_muxer *m, struct vsock_hconn *hc, const char *why)
{
	log_ratelimited(LOG_WARN, "vsock: connection %u<->%u reset: %s", hc->c.local_port,
			hc->c.peer_port, why);
	if (hc->c.state != VSOCK_DEAD)
		m->st->conns_killed++;
	vsock_conn_kill(&hc->c);
	vsock_mux_settle(m, hc);
}

void vsock_mux_start_local(struct vsock_muxer *m, struct vsock_hconn *hc, uint32_t port)
{
	hc->line_mode = false;
	vsock_conn_init_local(&hc->c, alloc_local_port(m), port, vsock_now_ns());
	m->st->conns_added++;
	vsock_mux_arm_timer(m, true);
	vsock_mux_settle(m, hc);
}

/* --- packets from the guest ------------------------------------------ */

static void queue_rst(struct vsock_muxer *m, const struct vsock_pkt *p)
{
	if (p->op == VIRTIO_VSOCK_OP_RST)
		return; /* never answer an RST */
	if (m->rst_len == VSOCK_RST_RING) {
		log_ratelimited(LOG_WARN, "vsock: RST replies backed up; dropping one");
		return;
	}
	m->rst[(m->rst_head + m->rst_len++) % VSOCK_RST_RING] =
		(struct vsock_rst){ p->dst_port, p->src_port, p->type };
}

/* Guest REQUEST to (host, P): connect to "<uds_path>_P". A UNIX stream
 * connect does not block: it succeeds, or fails (nobody listening, backlog
 * full), and either way the guest hears at once. */
static void guest_connect(struct vsock_muxer *m, const struct vsock_pkt *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_hconn *hc;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", m->path, p->dst_port);
	if (m->n_live >= VSOCK_MAX_CONNS || n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		queue_rst(m, p);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_debug("vsock: guest connect to %s: %s", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		queue_rst(m, p);
		return;
	}
	hc = vsock_mux_slot_alloc(m);
	vsock_conn_init_peer(&hc->c, p);
	if (vsock_host_register(hc, fd)) {
		m->st->conn_event_fails++;
		vsock_mux_remove(m, hc);
		queue_rst(m, p);
		return;
	}
	m->st->conns_added++;
	vsock_mux_settle(m, hc);
}

/* What vsock_conn_recv() asked for, in order: the OK line, the payload. */
static void apply(struct vsock_muxer *m, struct vsock_hconn *hc, unsigned fx,
		  const struct vsock_pkt *p, const struct virtq_chain *c)
{
	struct iovec iov[VIRTQ_MAX_SEGS];

	if ((fx & VSOCK_DO_CONNECTED) && vsock_host_send_ok(hc)) {
		m->st->tx_write_fails++;
		vsock_mux_kill(m, hc, "cannot write OK to the host client");
		return;
	}
	if (fx & VSOCK_DO_DATA) {
		unsigned n = vsock_pkt_iov(c, VSOCK_HDR_LEN, p->len, iov, VIRTQ_MAX_SEGS);
		int rc = vsock_host_send(hc, iov, n, p->len);

		if (rc) {
			m->st->tx_write_fails++;
			vsock_mux_kill(m, hc, strerror(-rc));
			return;
		}
	}
	vsock_mux_settle(m, hc);
}

void vsock_mux_recv(struct vsock_muxer *m, const struct vsock_pkt *p,
		    const struct virtq_chain *c)
{
	struct vsock_hconn *hc = find(m, p->dst_port, p->src_port);
	bool was_dead;
	unsigned fx;

	if (!hc) {
		if (p->op == VIRTIO_VSOCK_OP_REQUEST)
			guest_connect(m, p);
		else
			queue_rst(m, p);
		return;
	}
	was_dead = hc->c.state == VSOCK_DEAD;
	fx = vsock_conn_recv(&hc->c, p);
	if (fx & VSOCK_DO_CLOSE) {
		vsock_mux_remove(m, hc);
		return;
	}
	if (!was_dead && hc->c.killed) {
		m->st->conns_killed++;
		log_ratelimited(LOG_WARN, "vsock: connection %u<->%u reset: %s", hc->c.local_port,
				hc->c.peer_port, p->op == VIRTIO_VSOCK_OP_RW ?
				"data past the credit or after SHUTDOWN(SEND)" :
				"op not valid in this state");
	}
	apply(m, hc, fx, p, c);
}

void vsock_mux_reject(struct vsock_muxer *m, const struct vsock_pkt *p)
{
	struct vsock_hconn *hc = NULL;

	if (p->op == VIRTIO_VSOCK_OP_RST)
		return;
	/* another type is another socket space: the stream keeps going */
	if (p->type == VIRTIO_VSOCK_TYPE_STREAM)
		hc = find(m, p->dst_port, p->src_port);
	if (hc)
		vsock_mux_kill(m, hc, "malformed packet");
	else
		queue_rst(m, p);
}

void vsock_mux_reset(struct vsock_muxer *m)
{
	while (m->n_live)
		vsock_mux_remove(m, m->live[m->n_live - 1]);
	m->rst_head = m->rst_len = 0;
	vsock_mux_arm_timer(m, m->listen_paused);
}

unsigned vsock_mux_nr_conns(struct vsock_muxer *m)
{
	return m->n_live;
}
