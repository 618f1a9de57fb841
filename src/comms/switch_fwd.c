/* ember-switch's forwarding decision, an 802.1D learning bridge without
 * spanning tree: a known unicast destination goes to the one port it was
 * learned on, everything else (broadcast, multicast, unknown unicast) to
 * every port but the one it came from; a frame whose destination sits
 * behind its own ingress port is filtered. */
#include "ember/switch.h"

#include <string.h>

bool sw_mac_is_multicast(const uint8_t mac[SW_ETH_ALEN])
{
	return mac[0] & 1; /* the I/G bit; broadcast is all ones */
}

bool sw_mac_is_broadcast(const uint8_t mac[SW_ETH_ALEN])
{
	static const uint8_t bc[SW_ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return !memcmp(mac, bc, SW_ETH_ALEN);
}

bool sw_mac_is_zero(const uint8_t mac[SW_ETH_ALEN])
{
	static const uint8_t zero[SW_ETH_ALEN];

	return !memcmp(mac, zero, SW_ETH_ALEN);
}

bool sw_fwd_src_ok(const uint8_t src[SW_ETH_ALEN], const uint8_t *port_mac,
		   const uint8_t *gw_mac)
{
	if (sw_mac_is_multicast(src) || sw_mac_is_zero(src))
		return false;
	if (gw_mac && !memcmp(src, gw_mac, SW_ETH_ALEN))
		return false;
	return !port_mac || !memcmp(src, port_mac, SW_ETH_ALEN);
}

int sw_fwd_decide(const struct sw_fdb *f, unsigned in, const uint8_t dst[SW_ETH_ALEN],
		  uint64_t now)
{
	int port;

	if (sw_mac_is_multicast(dst))
		return SW_FWD_FLOOD;
	port = sw_fdb_lookup(f, dst, now);
	if (port < 0)
		return SW_FWD_FLOOD;
	return (unsigned)port == in ? SW_FWD_FILTER : port;
}

uint64_t sw_fwd_flood_mask(uint64_t active, unsigned in)
{
	return in < SW_MAX_PORTS ? active & ~(1ull << in) : active;
}
