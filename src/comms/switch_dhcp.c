/* ember-switch's DHCPv4 server (RFC 2131 §4.3): one lease slot per pool
 * address. A client's address is stable: the first free address probing
 * from hash(MAC) (deterministic, so a restarted switch hands out the same
 * addresses again) and, once handed out, remembered for that MAC after
 * release or expiry. Only when no address was ever free does the server
 * take back the address idle the longest. Requests for an address the
 * server would not give this MAC are NAKed (INIT-REBOOT, RENEWING); a
 * client that picked another server's offer is left alone. */
#include "ember/switch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ember/log.h"

#define OFFER_HOLD_NS (60 * SW_NS)

static uint32_t mask_of(unsigned prefix) { return prefix ? ~0u << (32 - prefix) : 0; }

bool sw_router_ok(const struct sw_gw *gw, uint32_t ip)
{
	uint32_t mask;

	if (gw->prefix < 1 || gw->prefix > 30)
		return false;
	mask = mask_of(gw->prefix);
	return (ip & mask) == (gw->ip & mask) && (ip & ~mask) != 0 && (ip & ~mask) != ~mask;
}

static void reserve(struct sw_dhcp *d, uint32_t ip)
{
	if (ip >= d->start && ip - d->start < d->count)
		d->lease[ip - d->start].state = SW_LEASE_RESERVED;
}

int sw_dhcp_init(struct sw_dhcp *d, const struct sw_gw *gw, uint32_t router, uint32_t start,
		 uint32_t end, const uint32_t *dns, unsigned ndns, uint32_t lease_s)
{
	uint32_t mask, net, bcast;

	if (gw->prefix < 1 || gw->prefix > 30 || ndns > SW_DNS_MAX || !lease_s ||
	    (router && !sw_router_ok(gw, router)))
		return -EINVAL;
	mask = mask_of(gw->prefix);
	net = gw->ip & mask;
	bcast = net | ~mask;
	if (!start && !end) {
		start = net + 1;
		end = bcast - 1;
		if (end - start >= SW_DHCP_POOL_MAX)
			end = start + SW_DHCP_POOL_MAX - 1;
	}
	if ((start & mask) != net || (end & mask) != net || start > end || start == net ||
	    end == bcast || end - start >= SW_DHCP_POOL_MAX)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->lease = calloc(end - start + 1, sizeof(*d->lease));
	if (!d->lease)
		return -ENOMEM;
	d->gw = *gw;
	d->router = router;
	d->start = start;
	d->count = end - start + 1;
	if (ndns)
		memcpy(d->dns, dns, ndns * sizeof(*dns));
	d->ndns = ndns;
	d->lease_s = lease_s;
	/* Neither is ours to lease: a client there would clash with them. */
	reserve(d, gw->ip);
	if (router)
		reserve(d, router);
	return 0;
}

void sw_dhcp_free(struct sw_dhcp *d)
{
	free(d->lease);
	d->lease = NULL;
}

/* Apply the passing of time to slot i. */
static struct sw_lease *slot(struct sw_dhcp *d, uint32_t i, uint64_t now)
{
	struct sw_lease *l = &d->lease[i];

	if (l->expires > now)
		return l;
	if (l->state == SW_LEASE_BOUND || l->state == SW_LEASE_OFFERED)
		l->state = SW_LEASE_IDLE;
	else if (l->state == SW_LEASE_DECLINED)
		l->state = SW_LEASE_FREE;
	return l;
}

static bool holds_mac(const struct sw_lease *l, const uint8_t *mac)
{
	return (l->state == SW_LEASE_OFFERED || l->state == SW_LEASE_BOUND ||
		l->state == SW_LEASE_IDLE) && !memcmp(l->mac, mac, SW_ETH_ALEN);
}

static int find_mac(const struct sw_dhcp *d, const uint8_t *mac)
{
	for (uint32_t i = 0; i < d->count; i++)
		if (holds_mac(&d->lease[i], mac))
			return (int)i;
	return -1;
}

uint32_t sw_dhcp_addr_of(const struct sw_dhcp *d, const uint8_t mac[SW_ETH_ALEN])
{
	int i = find_mac(d, mac);

	return i < 0 ? 0 : d->start + (uint32_t)i;
}

static uint32_t fnv1a(const uint8_t *mac)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < SW_ETH_ALEN; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h;
}

/* The slot for `mac`: its own, a free one probing from its hash, or the one
 * idle the longest. -1 when every address is in use. */
static int allocate(struct sw_dhcp *d, const uint8_t *mac, uint64_t now)
{
	int i = find_mac(d, mac), oldest = -1;
	uint32_t h = fnv1a(mac) % d->count;

	if (i >= 0)
		return i;
	for (uint32_t k = 0; k < d->count; k++) {
		uint32_t j = (h + k) % d->count;
		struct sw_lease *l = slot(d, j, now);

		if (l->state == SW_LEASE_FREE) {
			i = (int)j;
			break;
		}
		if (l->state == SW_LEASE_IDLE &&
		    (oldest < 0 || l->expires < d->lease[oldest].expires))
			oldest = (int)j;
	}
	if (i < 0)
		i = oldest;
	if (i < 0)
		return -1;
	memcpy(d->lease[i].mac, mac, SW_ETH_ALEN);
	d->lease[i].state = SW_LEASE_IDLE;
	d->lease[i].expires = now;
	return i;
}

static uint32_t addr(const struct sw_dhcp *d, int i) { return d->start + (uint32_t)i; }

static size_t discover(struct sw_dhcp *d, const struct sw_dhcp_req *r, uint64_t now,
		       uint8_t *out, size_t outlen)
{
	int i = allocate(d, r->chaddr, now);
	struct sw_lease *l;

	if (i < 0) {
		d->st.exhausted++;
		log_ratelimited(LOG_WARN, "dhcp: pool exhausted");
		return 0;
	}
	l = slot(d, (uint32_t)i, now);
	if (l->state != SW_LEASE_BOUND) {
		l->state = SW_LEASE_OFFERED;
		l->expires = now + OFFER_HOLD_NS;
	}
	d->st.offer++;
	return sw_dhcp_build(d, r, SW_DHCPOFFER, addr(d, i), out, outlen);
}

static size_t ack(struct sw_dhcp *d, const struct sw_dhcp_req *r, int i, uint64_t now,
		  uint8_t *out, size_t outlen)
{
	d->lease[i].state = SW_LEASE_BOUND;
	d->lease[i].expires = now + (uint64_t)d->lease_s * SW_NS;
	d->st.ack++;
	return sw_dhcp_build(d, r, SW_DHCPACK, addr(d, i), out, outlen);
}

static size_t nak(struct sw_dhcp *d, const struct sw_dhcp_req *r, uint8_t *out, size_t outlen)
{
	d->st.nak++;
	return sw_dhcp_build(d, r, SW_DHCPNAK, 0, out, outlen);
}

/* SELECTING names a server; INIT-REBOOT asks for its old address in option
 * 50; RENEWING/REBINDING carries it in ciaddr. */
static size_t request(struct sw_dhcp *d, const struct sw_dhcp_req *r, uint64_t now,
		      uint8_t *out, size_t outlen)
{
	uint32_t want = r->has_req_ip ? r->req_ip : r->ciaddr;
	int i;

	if (r->has_server_id && r->server_id != d->gw.ip) {
		i = find_mac(d, r->chaddr);
		if (i >= 0 && slot(d, (uint32_t)i, now)->state == SW_LEASE_OFFERED)
			d->lease[i].state = SW_LEASE_IDLE; /* declined our offer */
		return 0;
	}
	if (!want || (r->has_server_id && !r->has_req_ip))
		return nak(d, r, out, outlen);
	i = r->has_server_id ? find_mac(d, r->chaddr) : allocate(d, r->chaddr, now);
	if (i < 0 || addr(d, i) != want)
		return nak(d, r, out, outlen);
	slot(d, (uint32_t)i, now);
	return ack(d, r, i, now, out, outlen);
}

/* RELEASE and DECLINE: no reply. */
static void give_back(struct sw_dhcp *d, const struct sw_dhcp_req *r, uint64_t now)
{
	uint32_t a = r->type == SW_DHCPRELEASE ? r->ciaddr : r->req_ip;
	int i = find_mac(d, r->chaddr);

	if (!r->has_server_id || r->server_id != d->gw.ip || i < 0 || addr(d, i) != a)
		return;
	if (r->type == SW_DHCPRELEASE) {
		d->lease[i].state = SW_LEASE_IDLE;
		d->lease[i].expires = now;
		return;
	}
	log_warn("dhcp: %u.%u.%u.%u declined: in use by someone else", a >> 24,
		 (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	memset(d->lease[i].mac, 0, SW_ETH_ALEN);
	d->lease[i].state = SW_LEASE_DECLINED;
	d->lease[i].expires = now + (uint64_t)d->lease_s * SW_NS;
}

static bool for_server(const uint8_t *in, size_t len)
{
	struct sw_ipv4 ip;

	return !sw_ipv4_parse(in, len, &ip) && ip.proto == 17 && ip.l4len >= 8 &&
	       ip.l4[2] == 0 && ip.l4[3] == 67;
}

size_t sw_dhcp_input(struct sw_dhcp *d, const uint8_t *in, size_t len, uint64_t now,
		     uint8_t *out, size_t outlen)
{
	struct sw_dhcp_req r;

	if (!for_server(in, len))
		return 0;
	/* The client's hardware address is the frame's source: a port cannot
	 * lease, release or decline addresses for MACs it does not own. No
	 * relay sits between a VM and its switch, so a giaddr is forged:
	 * honouring it would waive that rule. */
	if (sw_dhcp_parse(in, len, &r) || outlen < SW_GW_REPLY_MAX || r.giaddr ||
	    memcmp(r.chaddr, r.src_mac, SW_ETH_ALEN)) {
		d->st.ignored++;
		return 0;
	}
	switch (r.type) {
	case SW_DHCPDISCOVER:
		d->st.discover++;
		return discover(d, &r, now, out, outlen);
	case SW_DHCPREQUEST:
		d->st.request++;
		return request(d, &r, now, out, outlen);
	case SW_DHCPINFORM:
		d->st.inform++;
		if (!r.ciaddr)
			return 0;
		d->st.ack++;
		return sw_dhcp_build(d, &r, SW_DHCPACK, 0, out, outlen);
	default:
		if (r.type == SW_DHCPRELEASE)
			d->st.release++;
		else
			d->st.decline++;
		give_back(d, &r, now);
		return 0;
	}
}
