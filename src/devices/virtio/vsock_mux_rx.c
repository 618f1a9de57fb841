/* Packets from the vsock muxer to the guest, one per RX buffer: stateless
 * RST replies first, then the connections owing packets in round robin,
 * each giving its owed control packet or host data read straight into the
 * buffer (within the guest's credit). */
#include "vsock_internal.h"

bool vsock_mux_rx_pending(struct vsock_muxer *m)
{
	return m->rst_len || m->q_head;
}

static uint32_t put_hdr(struct vsock_muxer *m, const struct virtq_chain *c,
			const struct vsock_pkt *p)
{
	struct virtio_vsock_hdr raw;

	vsock_pkt_encode(p, &raw);
	vsock_pkt_write(c, 0, &raw, VSOCK_HDR_LEN);
	m->st->rx_packets_count++;
	return VSOCK_HDR_LEN;
}

/* The next owed control packet of hc; an RST ends the connection. */
static uint32_t ctrl(struct vsock_muxer *m, struct vsock_hconn *hc, const struct virtq_chain *c)
{
	struct vsock_pkt p;

	if (!vsock_conn_next_ctrl(&hc->c, m->cid, &p))
		return 0;
	put_hdr(m, c, &p);
	if (p.op == VIRTIO_VSOCK_OP_RST)
		vsock_mux_remove(m, hc);
	else
		vsock_host_update(hc); /* e.g. RESPONSE sent: start reading */
	return VSOCK_HDR_LEN;
}

static uint32_t conn_fill(struct vsock_muxer *m, struct vsock_hconn *hc,
			  const struct virtq_chain *c, uint32_t space)
{
	uint32_t len = ctrl(m, hc, c), credit;

	if (len || !hc->readable || !vsock_conn_rx_open(&hc->c))
		return len;
	credit = vsock_conn_rx_credit(&hc->c);
	if (!credit) {
		vsock_conn_credit_blocked(&hc->c);
		return ctrl(m, hc, c);
	}
	len = vsock_host_read(hc, c, space, credit);
	if (len) {
		struct vsock_pkt p;

		vsock_conn_fill_rw(&hc->c, m->cid, len, &p);
		put_hdr(m, c, &p);
		m->st->rx_bytes_count += len;
		return VSOCK_HDR_LEN + len;
	}
	/* EOF or an error left packets owed; a DEAD one loses its socket */
	vsock_mux_settle(m, hc);
	return hc->used ? ctrl(m, hc, c) : 0;
}

uint32_t vsock_mux_rx_fill(struct vsock_muxer *m, const struct virtq_chain *c, uint32_t space)
{
	if (m->rst_len) {
		const struct vsock_rst *r = &m->rst[m->rst_head];
		struct vsock_pkt p = { .src_cid = VSOCK_HOST_CID, .dst_cid = m->cid,
				       .src_port = r->local_port, .dst_port = r->peer_port,
				       .type = r->type, .op = VIRTIO_VSOCK_OP_RST,
				       .buf_alloc = VSOCK_CONN_BUF };

		m->rst_head = (m->rst_head + 1) % VSOCK_RST_RING;
		m->rst_len--;
		return put_hdr(m, c, &p);
	}
	/* round robin: each connection one packet per turn; each looked at
	 * once per call, so one that produces nothing cannot spin us */
	for (unsigned n = m->q_len; n && m->q_head; n--) {
		struct vsock_hconn *hc = m->q_head;
		uint32_t len;

		vsock_mux_dequeue(m, hc);
		len = conn_fill(m, hc, c, space);
		if (vsock_mux_has_rx_work(hc))
			vsock_mux_enqueue(m, hc);
		if (len)
			return len;
	}
	return 0;
}
