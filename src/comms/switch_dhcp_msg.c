/* DHCPv4 on the wire (RFC 2131 §2, §4.1; options RFC 2132): parsing a
 * client's BOOTREQUEST with every length checked, and building the
 * server's BOOTREPLY inside Ethernet/IPv4/UDP.
 *
 * BOOTP fixed part: 0 op 1 htype 2 hlen 3 hops 4 xid 8 secs 10 flags
 * 12 ciaddr 16 yiaddr 20 siaddr 24 giaddr 28 chaddr[16] 44 sname[64]
 * 108 file[128] 236 magic cookie, then options from 240. */
#include "ember/switch.h"

#include <errno.h>
#include <string.h>

#define BOOTP_MIN 300		/* RFC 951's message size; old clients insist */
#define OPT_PAD 0
#define OPT_MASK 1
#define OPT_ROUTER 3
#define OPT_DNS 6
#define OPT_BCAST 28
#define OPT_REQ_IP 50
#define OPT_LEASE 51
#define OPT_TYPE 53
#define OPT_SERVER 54
#define OPT_T1 58
#define OPT_T2 59
#define OPT_END 255

/* One option TLV; a 4-byte address option must be exactly 4 long. */
static int option(struct sw_dhcp_req *r, uint8_t code, const uint8_t *v, uint8_t len)
{
	switch (code) {
	case OPT_TYPE:
		if (len != 1)
			return -EINVAL;
		r->type = v[0];
		return 0;
	case OPT_REQ_IP:
	case OPT_SERVER:
		if (len != 4)
			return -EINVAL;
		if (code == OPT_REQ_IP) {
			r->has_req_ip = true;
			r->req_ip = sw_be32(v);
		} else {
			r->has_server_id = true;
			r->server_id = sw_be32(v);
		}
		return 0;
	default:
		return 0; /* not ours to interpret */
	}
}

/* TLVs from o[0] to o[len - 1]; each must stay inside, and END must come. */
static int options(struct sw_dhcp_req *r, const uint8_t *o, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = o[i], l;

		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END)
			return 0;
		if (len - i < 2 || (l = o[i + 1]) > len - i - 2)
			return -EINVAL;
		if (option(r, code, o + i + 2, l))
			return -EINVAL;
		i += 2 + (size_t)l;
	}
	return -EINVAL; /* ran out without END */
}

static bool client_type(uint8_t t)
{
	return t == SW_DHCPDISCOVER || t == SW_DHCPREQUEST || t == SW_DHCPDECLINE ||
	       t == SW_DHCPRELEASE || t == SW_DHCPINFORM;
}

int sw_dhcp_parse(const uint8_t *in, size_t len, struct sw_dhcp_req *r)
{
	struct sw_ipv4 ip;
	const uint8_t *b;
	size_t ulen, blen;

	if (sw_ipv4_parse(in, len, &ip) || ip.proto != 17 || ip.l4len < 8)
		return -EINVAL;
	ulen = sw_be16(ip.l4 + 4);
	if (sw_be16(ip.l4 + 2) != 67 || ulen < 8 || ulen > ip.l4len)
		return -EINVAL;
	b = ip.l4 + 8;
	blen = ulen - 8;
	if (blen < SW_BOOTP_FIXED + 4 || b[0] != 1 || b[1] != 1 || b[2] != SW_ETH_ALEN ||
	    sw_be32(b + SW_BOOTP_FIXED) != SW_DHCP_COOKIE)
		return -EINVAL;
	*r = (struct sw_dhcp_req){ .xid = sw_be32(b + 4), .flags = sw_be16(b + 10),
				   .ciaddr = sw_be32(b + 12), .giaddr = sw_be32(b + 24) };
	memcpy(r->chaddr, b + 28, SW_ETH_ALEN);
	memcpy(r->src_mac, in + 6, SW_ETH_ALEN);
	if (options(r, b + SW_BOOTP_FIXED + 4, blen - SW_BOOTP_FIXED - 4))
		return -EINVAL;
	return client_type(r->type) ? 0 : -EINVAL;
}

static uint8_t *opt_u32(uint8_t *o, uint8_t code, uint32_t v)
{
	o[0] = code;
	o[1] = 4;
	sw_put32(o + 2, v);
	return o + 6;
}

/* RFC 2131 table 3: NAK carries only type and server id; INFORM's ACK no
 * lease times; OFFER and ACK the lease and the network's parameters. */
static size_t put_options(const struct sw_dhcp *d, uint8_t type, bool inform, uint8_t *o)
{
	uint8_t *p = o;
	uint32_t mask = d->gw.prefix ? ~0u << (32 - d->gw.prefix) : 0;

	*p++ = OPT_TYPE;
	*p++ = 1;
	*p++ = type;
	p = opt_u32(p, OPT_SERVER, d->gw.ip);
	if (type != SW_DHCPNAK) {
		if (!inform) {
			p = opt_u32(p, OPT_LEASE, d->lease_s);
			p = opt_u32(p, OPT_T1, d->lease_s / 2);
			p = opt_u32(p, OPT_T2, (uint32_t)((uint64_t)d->lease_s * 7 / 8));
		}
		p = opt_u32(p, OPT_MASK, mask);
		if (d->router)
			p = opt_u32(p, OPT_ROUTER, d->router);
		if (d->ndns) {
			*p++ = OPT_DNS;
			*p++ = (uint8_t)(4 * d->ndns);
			for (unsigned i = 0; i < d->ndns; i++, p += 4)
				sw_put32(p, d->dns[i]);
		}
		p = opt_u32(p, OPT_BCAST, d->gw.ip | ~mask);
	}
	*p++ = OPT_END;
	return (size_t)(p - o);
}

/* RFC 2131 §4.1: to the relay; a NAK broadcast; to ciaddr; broadcast when
 * the client asks (flag bit 15); else unicast to yiaddr and chaddr. */
static void dest(const struct sw_dhcp_req *r, uint8_t type, uint32_t yiaddr, uint8_t *mac,
		 uint32_t *ip, uint16_t *port)
{
	*port = 68;
	memcpy(mac, r->src_mac, SW_ETH_ALEN);
	if (r->giaddr) {
		*ip = r->giaddr;
		*port = 67;
	} else if (type != SW_DHCPNAK && r->ciaddr) {
		*ip = r->ciaddr;
	} else if (type == SW_DHCPNAK || (r->flags & 0x8000)) {
		*ip = 0xffffffffu;
		memset(mac, 0xff, SW_ETH_ALEN);
	} else {
		*ip = yiaddr;
		memcpy(mac, r->chaddr, SW_ETH_ALEN);
	}
}

size_t sw_dhcp_build(const struct sw_dhcp *d, const struct sw_dhcp_req *r, uint8_t type,
		     uint32_t yiaddr, uint8_t *out, size_t outlen)
{
	uint8_t *b = out + SW_UDP_HLEN, mac[SW_ETH_ALEN];
	bool inform = r->type == SW_DHCPINFORM;
	size_t blen;
	uint32_t ip;
	uint16_t port;

	/* fixed part + cookie + options (<= 3 + 7 * 6 + 2 + 16 + 1) < 2 * BOOTP_MIN */
	if (outlen < SW_UDP_HLEN + 2 * BOOTP_MIN)
		return 0;
	memset(b, 0, 2 * BOOTP_MIN);
	b[0] = 2; /* BOOTREPLY */
	b[1] = 1;
	b[2] = SW_ETH_ALEN;
	sw_put32(b + 4, r->xid);
	b[10] = (uint8_t)(r->flags >> 8);
	b[11] = (uint8_t)r->flags;
	if (type == SW_DHCPACK)
		sw_put32(b + 12, r->ciaddr);
	if (type != SW_DHCPNAK)
		sw_put32(b + 16, yiaddr);
	sw_put32(b + 24, r->giaddr);
	memcpy(b + 28, r->chaddr, SW_ETH_ALEN);
	sw_put32(b + SW_BOOTP_FIXED, SW_DHCP_COOKIE);
	blen = SW_BOOTP_FIXED + 4 + put_options(d, type, inform, b + SW_BOOTP_FIXED + 4);
	if (blen < BOOTP_MIN)
		blen = BOOTP_MIN;
	dest(r, type, yiaddr, mac, &ip, &port);
	return sw_udp_frame(out, mac, d->gw.mac, d->gw.ip, ip, 67, port, blen);
}
