/* ember-switch's ports: comms links and the TAP uplink, their epoll
 * registration, teardown (deferred to the end of a round, so no port
 * disappears under a frame being forwarded), and sending one frame with
 * the offloads the port can take. */
#include "switch_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "ember/log.h"

static int free_slot(const struct sw *s)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (s->port[i].kind == SW_PORT_FREE)
			return (int)i;
	return -1;
}

static int watch(struct sw *s, int fd, uint32_t events, uint64_t kind, unsigned i)
{
	struct epoll_event ev = { .events = events, .data.u64 = kind << 32 | i };

	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_err("switch: epoll_ctl: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Closing our fd does not take it out of epoll when the peer holds a
 * copy of the same file (we sent it our doorbell): the stale entry would
 * stay ready forever and spin the worker. Remove it explicitly. */
static void unwatch_link(struct sw *s, const struct comms_link *l)
{
	if (l->ctl_fd >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, l->ctl_fd, NULL);
	if (l->doorbell_rx >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, l->doorbell_rx, NULL);
}

/* What the TAP may hand us: only offloads every link can take, so the
 * kernel segments and checksums for the weakest port instead of us. */
static void tap_offload(struct sw *s)
{
	uint32_t f = COMMS_F_KNOWN;

	if (s->tap_port < 0)
		return;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if ((s->active >> i & 1) && s->port[i].kind == SW_PORT_LINK)
			f &= s->port[i].features;
	sw_tap_offload(s->port[s->tap_port].tap_fd, f);
}

/* A live port already declared this MAC: a second claim would pass the
 * source check and steal the first port's traffic through learning. A
 * client that closed its old link and reconnects at once (ember does to
 * renegotiate offloads) finds that port hung up, not yet reaped: it goes. */
static bool mac_taken(struct sw *s, const uint8_t *mac)
{
	if (sw_mac_is_zero(mac))
		return false;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = &s->port[i];
		struct pollfd pf = { .fd = p->link.ctl_fd, .events = POLLRDHUP };

		if (p->kind != SW_PORT_LINK || p->dead || !p->has_mac ||
		    memcmp(p->mac, mac, SW_ETH_ALEN))
			continue;
		if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			sw_port_kill(s, i, "peer hung up");
			continue;
		}
		return true;
	}
	return false;
}

int sw_port_add_link(struct sw *s, struct comms_link *l)
{
	int i = free_slot(s);
	struct sw_port *p;
	const char *why = i < 0 ? "switch full"
		: ring_rx_max_iov(&l->p.geom) + 1 > SW_MAX_IOV ? "geometry"
		: mac_taken(s, l->p.mac) ? "MAC address already attached" : NULL;

	if (why) {
		log_warn("switch: refusing a link: %s", why);
		comms_link_close(l, why);
		return i < 0 ? -ENOSPC : -EINVAL;
	}
	p = &s->port[i];
	*p = (struct sw_port){ .kind = SW_PORT_LINK, .id = ++s->next_id, .link = *l,
			       .features = l->p.features, .tap_fd = -1 };
	memcpy(p->mac, l->p.mac, SW_ETH_ALEN);
	p->has_mac = !sw_mac_is_zero(p->mac);
	if (watch(s, l->ctl_fd, EPOLLIN | EPOLLRDHUP, SW_EV_CTL, (unsigned)i) ||
	    watch(s, l->doorbell_rx, EPOLLIN, SW_EV_BELL, (unsigned)i)) {
		unwatch_link(s, &p->link);
		comms_link_close(&p->link, "switch error");
		p->kind = SW_PORT_FREE;
		return -EIO;
	}
	s->active |= 1ull << i;
	s->ports_added++;
	tap_offload(s);
	log_info("switch: port %d (id %u) up: mac %02x:%02x:%02x:%02x:%02x:%02x, %u x %u B, "
		 "features %#x", i, p->id, p->mac[0], p->mac[1], p->mac[2], p->mac[3], p->mac[4],
		 p->mac[5], l->p.geom.slots, l->p.geom.slot_size, p->features);
	return i;
}

int sw_port_add_tap(struct sw *s, int fd)
{
	int i = free_slot(s);
	struct sw_port *p;

	if (i < 0)
		return -ENOSPC;
	p = &s->port[i];
	*p = (struct sw_port){ .kind = SW_PORT_TAP, .id = ++s->next_id, .tap_fd = fd,
			       .features = COMMS_F_KNOWN };
	p->tap_buf = malloc(SW_VNET_HDR + RING_MAX_FRAME);
	if (!p->tap_buf || watch(s, fd, EPOLLIN, SW_EV_TAP, (unsigned)i)) {
		free(p->tap_buf);
		p->kind = SW_PORT_FREE;
		return -ENOMEM;
	}
	s->active |= 1ull << i;
	s->tap_port = i;
	s->ports_added++;
	tap_offload(s);
	return i;
}

void sw_port_kill(struct sw *s, unsigned i, const char *why)
{
	struct sw_port *p = &s->port[i];

	if (p->kind == SW_PORT_FREE || p->dead)
		return;
	log_warn("switch: port %u (id %u) down: %s", i, p->id, why);
	p->dead = true;
	s->active &= ~(1ull << i);
}

static void release(struct sw *s, unsigned i, const char *why)
{
	struct sw_port *p = &s->port[i];

	if (p->kind == SW_PORT_LINK) {
		unwatch_link(s, &p->link);
		comms_link_close(&p->link, why);
	} else {
		close(p->tap_fd);
		free(p->tap_buf);
		s->tap_port = -1;
	}
	sw_fdb_flush_port(&s->fdb, i);
	/* a port whose head frame waited for this one stops waiting */
	for (unsigned k = 0; k < SW_MAX_PORTS; k++)
		s->port[k].stall_since = 0;
	memset(p, 0, sizeof(*p));
	p->tap_fd = -1;
	s->ports_removed++;
}

void sw_port_reap(struct sw *s)
{
	bool any = false;

	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		if (s->port[i].dead) {
			release(s, i, "port removed");
			any = true;
		}
	}
	if (any)
		tap_offload(s);
}

void sw_port_close_all(struct sw *s)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (s->port[i].kind != SW_PORT_FREE)
			release(s, i, "switch stopping");
	s->active = 0;
}

/* A partially checksummed frame for a port without COMMS_F_CSUM: finish
 * the checksum in a private copy. 0 with iov and h replaced, or -EINVAL. */
static int finish_csum(struct sw *s, struct ring_vnet_hdr *h, const struct iovec **iov,
		       int *iovcnt, size_t len, struct iovec *one)
{
	size_t off = 0;

	for (int k = 0; k < *iovcnt; k++) {
		memcpy(s->scratch + off, (*iov)[k].iov_base, (*iov)[k].iov_len);
		off += (*iov)[k].iov_len;
	}
	if (sw_csum_complete(s->scratch, len, h->csum_start, h->csum_offset))
		return -EINVAL;
	h->flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
	*one = (struct iovec){ .iov_base = s->scratch, .iov_len = len };
	*iov = one;
	*iovcnt = 1;
	return 0;
}

static int send_link(struct sw_port *p, const struct ring_vnet_hdr *h, const struct iovec *iov,
		     int iovcnt, size_t len, struct sw *s, unsigned i)
{
	int rc = ring_tx_frame(&p->link.tx, h, iov, iovcnt, len);

	if (rc == -ENOSPC)
		return rc;
	if (rc == -EPROTO) {
		sw_port_kill(s, i, "ring violation on its receive ring");
		return 0;
	}
	if (rc) {
		p->st.tx_drops++;
		return 0;
	}
	p->dirty = true;
	return 1;
}

int sw_port_send(struct sw *s, unsigned i, const struct ring_vnet_hdr *hdr,
		 const struct iovec *iov, int iovcnt, size_t len)
{
	struct sw_port *p = &s->port[i];
	struct ring_vnet_hdr h = *hdr;
	struct iovec one;
	int rc;

	if (p->kind == SW_PORT_FREE || p->dead)
		return 0;
	if ((h.gso_type != VIRTIO_NET_HDR_GSO_NONE && !(p->features & COMMS_F_GSO)) ||
	    ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(p->features & COMMS_F_CSUM) &&
	     finish_csum(s, &h, &iov, &iovcnt, len, &one))) {
		p->st.offload_drops++;
		return 0;
	}
	if (p->kind == SW_PORT_TAP)
		rc = sw_tap_write(p->tap_fd, &h, iov, iovcnt, len) ? 0 : 1;
	else
		rc = send_link(p, &h, iov, iovcnt, len, s, i);
	if (rc == -ENOSPC)
		return rc;
	if (rc == 0) {
		if (p->kind == SW_PORT_TAP)
			p->st.tx_drops++;
		return 0;
	}
	p->st.tx_frames++;
	p->st.tx_bytes += len;
	/* Congested until half its ring is free: a peer freeing one slot at a
	 * time must not earn every sender another SW_STALL_NS hold per frame. */
	if (p->congested &&
	    (p->kind == SW_PORT_TAP || ring_tx_space(&p->link.tx) >= p->link.p.geom.slots / 2))
		p->congested = false;
	if (p->want_space) {
		p->want_space = false;
		ring_tx_space_done(&p->link.tx);
	}
	return 0;
}

void sw_port_publish(struct sw *s, unsigned i)
{
	struct sw_port *p = &s->port[i];

	if (!p->dirty)
		return;
	p->dirty = false;
	if (ring_tx_publish(&p->link.tx))
		comms_kick(&p->link);
}

void sw_port_publish_all(struct sw *s)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (s->port[i].kind == SW_PORT_LINK)
			sw_port_publish(s, i);
}
