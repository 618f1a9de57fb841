/* ember-switch's IPv4 pieces: the Internet checksum (RFC 1071), a checked
 * view of an IPv4 packet in an Ethernet frame, the UDP frame the DHCP
 * server sends, the gateway's ICMP echo reply (RFC 792), and checksum
 * completion for ports that cannot take partially checksummed frames. */
#include "ember/switch.h"

#include <errno.h>
#include <string.h>

/* Big-endian 16-bit words; an odd last byte is padded with zero, so only the
 * last piece of a multi-part sum may have an odd length. The end-around
 * carry is folded at 32 bits, which keeps the 16-bit one's complement sum. */
uint32_t sw_csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t s = sum;

	for (; len >= 2; b += 2, len -= 2)
		s += sw_be16(b);
	if (len)
		s += (uint32_t)b[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t sw_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int sw_ipv4_parse(const uint8_t *frame, size_t len, struct sw_ipv4 *p)
{
	const uint8_t *ip = frame + SW_ETH_HLEN;
	size_t hlen, total;

	if (len < SW_ETH_HLEN + 20 || sw_be16(frame + 12) != SW_ETHERTYPE_IPV4)
		return -EINVAL;
	hlen = (size_t)(ip[0] & 0xf) * 4;
	total = sw_be16(ip + 2);
	if (ip[0] >> 4 != 4 || hlen < 20 || total < hlen || total > len - SW_ETH_HLEN)
		return -EINVAL;
	if (sw_be16(ip + 6) & 0x3fff) /* MF or a fragment offset */
		return -EINVAL;
	if (sw_csum_fold(sw_csum_add(0, ip, hlen)) != 0)
		return -EINVAL;
	*p = (struct sw_ipv4){ .ip = ip, .hlen = hlen, .proto = ip[9], .src = sw_be32(ip + 12),
			       .dst = sw_be32(ip + 16), .l4 = ip + hlen, .l4len = total - hlen };
	return 0;
}

static void eth_hdr(uint8_t *out, const uint8_t *dmac, const uint8_t *smac, uint16_t type)
{
	memcpy(out, dmac, SW_ETH_ALEN);
	memcpy(out + 6, smac, SW_ETH_ALEN);
	sw_put16(out + 12, type);
}

/* A 20-byte header, no options, DF set, TTL 64, checksum filled. */
static void ip_hdr(uint8_t *ip, uint8_t proto, uint32_t sip, uint32_t dip, size_t paylen)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	sw_put16(ip + 2, (uint16_t)(20 + paylen));
	sw_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = proto;
	sw_put32(ip + 12, sip);
	sw_put32(ip + 16, dip);
	sw_put16(ip + 10, sw_csum_fold(sw_csum_add(0, ip, 20)));
}

/* Zero the tail up to the Ethernet minimum; returns the padded length. */
static size_t pad(uint8_t *out, size_t len)
{
	if (len >= SW_ETH_ZLEN)
		return len;
	memset(out + len, 0, SW_ETH_ZLEN - len);
	return SW_ETH_ZLEN;
}

size_t sw_udp_frame(uint8_t *out, const uint8_t dmac[SW_ETH_ALEN],
		    const uint8_t smac[SW_ETH_ALEN], uint32_t sip, uint32_t dip,
		    uint16_t sport, uint16_t dport, size_t paylen)
{
	uint8_t *udp = out + SW_ETH_HLEN + 20, pseudo[12];
	uint16_t ulen = (uint16_t)(8 + paylen), sum;

	eth_hdr(out, dmac, smac, SW_ETHERTYPE_IPV4);
	ip_hdr(out + SW_ETH_HLEN, 17, sip, dip, 8 + paylen);
	sw_put16(udp, sport);
	sw_put16(udp + 2, dport);
	sw_put16(udp + 4, ulen);
	sw_put16(udp + 6, 0);
	sw_put32(pseudo, sip);
	sw_put32(pseudo + 4, dip);
	sw_put16(pseudo + 8, 17);
	sw_put16(pseudo + 10, ulen);
	sum = sw_csum_fold(sw_csum_add(sw_csum_add(0, pseudo, sizeof(pseudo)), udp, ulen));
	sw_put16(udp + 6, sum ? sum : 0xffff); /* RFC 768: 0 means "no checksum" */
	return pad(out, SW_UDP_HLEN + paylen);
}

size_t sw_icmp_echo_reply(const struct sw_gw *gw, const uint8_t *in, size_t len,
			  uint8_t *out, size_t outlen)
{
	struct sw_ipv4 p;
	size_t n;
	uint8_t *icmp;

	if (sw_ipv4_parse(in, len, &p) || p.proto != 1 || p.dst != gw->ip || p.l4len < 8)
		return 0;
	if (p.l4[0] != 8 || p.l4[1] != 0 || p.src == 0 || p.src == 0xffffffffu)
		return 0;
	n = SW_ETH_HLEN + 20 + p.l4len;
	if (n > outlen || n > SW_GW_REPLY_MAX)
		return 0;
	eth_hdr(out, in + 6, gw->mac, SW_ETHERTYPE_IPV4);
	ip_hdr(out + SW_ETH_HLEN, 1, gw->ip, p.src, p.l4len);
	icmp = out + SW_ETH_HLEN + 20;
	memcpy(icmp, p.l4, p.l4len); /* identifier, sequence and data echoed */
	icmp[0] = 0;
	sw_put16(icmp + 2, 0);
	sw_put16(icmp + 2, sw_csum_fold(sw_csum_add(0, icmp, p.l4len)));
	return pad(out, n);
}

int sw_csum_complete(uint8_t *frame, size_t len, unsigned csum_start, unsigned csum_offset)
{
	uint16_t sum;

	if (csum_start >= len || csum_offset > len - csum_start ||
	    len - csum_start - csum_offset < 2)
		return -EINVAL;
	/* The field holds the pseudo-header sum the sender prepared. */
	sum = sw_csum_fold(sw_csum_add(0, frame + csum_start, len - csum_start));
	sw_put16(frame + csum_start + csum_offset, sum ? sum : 0xffff);
	return 0;
}
