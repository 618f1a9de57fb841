/* ember-switch's ARP responder for the gateway address (RFC 826, Ethernet
 * and IPv4 only). Packet after the Ethernet header:
 *   0 htype(2) 2 ptype(2) 4 hlen(1) 5 plen(1) 6 op(2)
 *   8 sha(6) 14 spa(4) 18 tha(6) 24 tpa(4)             = 28 bytes */
#include "ember/switch.h"

#include <string.h>

#define ARP_LEN 28

/* Only a well-formed request for the gateway's address from a real station
 * (a gratuitous announcement, spa == tpa, needs no answer). A probe (spa 0,
 * RFC 5227) for our address is answered: that is how the gateway defends it. */
static bool wanted(const struct sw_gw *gw, const uint8_t *a)
{
	if (sw_be16(a) != 1 || sw_be16(a + 2) != SW_ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
		return false;
	if (sw_be16(a + 6) != 1 || sw_be32(a + 24) != gw->ip)
		return false;
	if (sw_be32(a + 14) == gw->ip)
		return false;
	return !sw_mac_is_multicast(a + 8) && !sw_mac_is_zero(a + 8);
}

size_t sw_arp_reply(const struct sw_gw *gw, const uint8_t *in, size_t len, uint8_t *out,
		    size_t outlen)
{
	const uint8_t *a = in + SW_ETH_HLEN;
	uint8_t *r = out + SW_ETH_HLEN;

	if (len < SW_ETH_HLEN + ARP_LEN || outlen < SW_ETH_ZLEN ||
	    sw_be16(in + 12) != SW_ETHERTYPE_ARP || !wanted(gw, a))
		return 0;
	memset(out, 0, SW_ETH_ZLEN);
	memcpy(out, a + 8, SW_ETH_ALEN); /* to the requester's hardware address */
	memcpy(out + 6, gw->mac, SW_ETH_ALEN);
	out[12] = SW_ETHERTYPE_ARP >> 8;
	out[13] = SW_ETHERTYPE_ARP & 0xff;
	r[1] = 1;			/* htype Ethernet */
	r[2] = SW_ETHERTYPE_IPV4 >> 8;	/* ptype IPv4 */
	r[4] = 6;
	r[5] = 4;
	r[7] = 2;			/* op reply */
	memcpy(r + 8, gw->mac, SW_ETH_ALEN);
	sw_put32(r + 14, gw->ip);
	memcpy(r + 18, a + 8, SW_ETH_ALEN + 4); /* tha, tpa = the request's sha, spa */
	return SW_ETH_ZLEN;
}
