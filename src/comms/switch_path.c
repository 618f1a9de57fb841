/* ember-switch's data path for one frame: check and learn the source,
 * let the gateway answer, then unicast, filter or flood.
 *
 * A ring frame lives in shared memory its sender may still rewrite. The
 * Ethernet header is therefore copied once; every decision uses the copy
 * and the copy is what goes out, spliced in front of the remaining bytes,
 * so a racing sender cannot slip a different source MAC past the check. */
#include "switch_internal.h"

#include <errno.h>
#include <string.h>

#define GW_IN_MAX 2048 /* bytes of a frame the gateway looks at */

static size_t gather(uint8_t *dst, const struct iovec *iov, int n, size_t len)
{
	size_t off = 0;

	for (int k = 0; k < n && off < len; k++) {
		size_t c = iov[k].iov_len < len - off ? iov[k].iov_len : len - off;

		memcpy(dst + off, iov[k].iov_base, c);
		off += c;
	}
	return off;
}

/* out = [head][the frame after its first hlen bytes]; out has n + 1 slots. */
static int splice(const struct iovec *in, int n, const uint8_t *head, size_t hlen,
		  struct iovec *out)
{
	size_t skip = hlen;
	int k = 0;

	out[k++] = (struct iovec){ .iov_base = (void *)head, .iov_len = hlen };
	for (int i = 0; i < n; i++) {
		if (in[i].iov_len <= skip) {
			skip -= in[i].iov_len;
			continue;
		}
		out[k++] = (struct iovec){ .iov_base = (uint8_t *)in[i].iov_base + skip,
					   .iov_len = in[i].iov_len - skip };
		skip = 0;
	}
	return k;
}

static bool for_gateway(const struct sw *s, const uint8_t *eth)
{
	uint16_t type = (uint16_t)(eth[12] << 8 | eth[13]);

	if (!s->cfg->gateway || (type != SW_ETHERTYPE_ARP && type != SW_ETHERTYPE_IPV4))
		return false;
	return sw_mac_is_broadcast(eth) || !memcmp(eth, s->cfg->gw.mac, SW_ETH_ALEN);
}

/* ARP, ICMP echo or DHCP answered back out of the ingress port. */
static void gateway(struct sw *s, unsigned in, const uint8_t *eth, const struct iovec *iov,
		    int n, size_t len)
{
	static const struct ring_vnet_hdr none;
	const struct sw_gw *gw = &s->cfg->gw;
	size_t c = gather(s->scratch, iov, n, len < GW_IN_MAX ? len : GW_IN_MAX), r;
	struct iovec out;

	memcpy(s->scratch, eth, SW_ETH_HLEN);
	r = sw_arp_reply(gw, s->scratch, c, s->reply, sizeof(s->reply));
	if (!r && !sw_mac_is_broadcast(eth))
		r = sw_icmp_echo_reply(gw, s->scratch, c, s->reply, sizeof(s->reply));
	if (!r && s->dhcp_on)
		r = sw_dhcp_input(&s->dhcp, s->scratch, c, s->now, s->reply, sizeof(s->reply));
	if (!r)
		return;
	out = (struct iovec){ .iov_base = s->reply, .iov_len = r };
	if (sw_port_send(s, in, &none, &out, 1, r) == -ENOSPC)
		s->port[in].st.tx_drops++;
	else
		s->port[in].st.gw_replies++;
}

/* To one port. A full ring holds the frame at the sender's head for up to
 * SW_STALL_NS (back-pressure, no loss between a fast and a slow VM), then
 * it is dropped and that port marked congested: further frames to it are
 * dropped at once when its ring is full, until half of it drains, so one
 * stuck or slow VM cannot slow a sender's traffic to everyone else. */
static int unicast(struct sw *s, unsigned in, unsigned out, const struct ring_vnet_hdr *h,
		   const struct iovec *iov, int n, size_t len)
{
	struct sw_port *src = &s->port[in], *dst = &s->port[out];

	if (sw_port_send(s, out, h, iov, n, len) != -ENOSPC)
		return 0;
	if (!dst->congested) {
		if (!src->stall_since) {
			src->stall_since = s->now;
			dst->st.tx_held++;
		}
		if (s->now - src->stall_since <= SW_STALL_NS) {
			sw_port_publish(s, out); /* want_space refuses while unpublished */
			if (!ring_tx_want_space(&dst->link.tx)) {
				dst->want_space = true; /* its consumer kicks us after freeing */
				return -EAGAIN;
			}
			/* space appeared meanwhile */
			if (sw_port_send(s, out, h, iov, n, len) != -ENOSPC)
				return 0;
			return -EAGAIN;
		}
		dst->congested = true;
	}
	dst->st.tx_drops++;
	return 0;
}

static void flood(struct sw *s, unsigned in, const struct ring_vnet_hdr *h,
		  const struct iovec *iov, int n, size_t len)
{
	uint64_t mask = sw_fwd_flood_mask(s->active, in);

	for (unsigned i = 0; mask; i++, mask >>= 1)
		if ((mask & 1) && sw_port_send(s, i, h, iov, n, len) == -ENOSPC)
			s->port[i].st.tx_drops++; /* no back-pressure for floods */
}

/* A port without a declared MAC (the TAP, a VM without guest_mac) may
 * send from any source but one another live port declared: learning would
 * move that MAC to it and steal the other port's traffic. */
static bool claimed_elsewhere(const struct sw *s, unsigned in, const uint8_t *src)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		const struct sw_port *o = &s->port[i];

		if (i != in && (s->active >> i & 1) && o->has_mac &&
		    !memcmp(o->mac, src, SW_ETH_ALEN))
			return true;
	}
	return false;
}

/* Check, learn, answer, forward. `again`: this frame was held before (it
 * was counted and shown to the gateway then). */
static int route(struct sw *s, unsigned in, bool again, const struct ring_vnet_hdr *h,
		 const struct iovec *iov, int iovcnt, size_t len)
{
	struct sw_port *p = &s->port[in];
	struct iovec io[SW_MAX_IOV + 1];
	uint8_t eth[SW_ETH_HLEN];
	int n, d;

	if (len < SW_ETH_HLEN || iovcnt > SW_MAX_IOV) {
		p->st.rx_drops++;
		return 0;
	}
	gather(eth, iov, iovcnt, SW_ETH_HLEN);
	if (!sw_fwd_src_ok(eth + 6, p->has_mac ? p->mac : NULL,
			   s->cfg->gateway ? s->cfg->gw.mac : NULL) ||
	    (!p->has_mac && claimed_elsewhere(s, in, eth + 6))) {
		p->st.spoofed++;
		return 0;
	}
	sw_fdb_learn(&s->fdb, eth + 6, in, s->now); /* -ENOSPC: its frames flood */
	if (!again && for_gateway(s, eth))
		gateway(s, in, eth, iov, iovcnt, len);
	if (s->cfg->gateway && !memcmp(eth, s->cfg->gw.mac, SW_ETH_ALEN))
		return 0; /* addressed to the gateway alone (it is never learned: no flood) */
	n = splice(iov, iovcnt, eth, SW_ETH_HLEN, io);
	d = sw_fwd_decide(&s->fdb, in, eth, s->now);
	if (d == SW_FWD_FILTER)
		return 0;
	if (d >= 0)
		return unicast(s, in, (unsigned)d, h, io, n, len);
	flood(s, in, h, io, n, len);
	return 0;
}

int sw_input(struct sw *s, unsigned in, const struct ring_vnet_hdr *h, const struct iovec *iov,
	     int iovcnt, size_t len)
{
	struct sw_port *p = &s->port[in];
	bool again = p->stall_since != 0;
	int rc;

	if (!again) {
		p->st.rx_frames++;
		p->st.rx_bytes += len;
	}
	/* A held frame is read again from shared memory and may have changed:
	 * whatever it became, unless it waits again its stall is over. */
	rc = route(s, in, again, h, iov, iovcnt, len);
	if (rc != -EAGAIN)
		p->stall_since = 0;
	return rc;
}
