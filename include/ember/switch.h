/* ember-switch's pure parts (docs/comms-ring.md, "ember-switch"): the MAC
 * learning table, the forwarding decision, the gateway's ARP, ICMP echo and
 * DHCPv4 responders, and the configuration. Nothing here does I/O; times are
 * CLOCK_MONOTONIC nanoseconds passed in by the caller, so the tests drive a
 * fake clock. Frames are plain Ethernet II (no FCS); IPv4 addresses are held
 * in host byte order. Every length and field of an input frame is checked;
 * a malformed frame yields "no reply", never a fault. */
#ifndef EMBER_SWITCH_H
#define EMBER_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Network byte order in packet buffers (frames are byte arrays of any
 * alignment). */
static inline uint16_t sw_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t sw_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void sw_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void sw_put32(uint8_t *p, uint32_t v)
{
	sw_put16(p, (uint16_t)(v >> 16));
	sw_put16(p + 2, (uint16_t)v);
}

#define SW_ETH_ALEN 6
#define SW_ETH_HLEN 14
#define SW_ETH_ZLEN 60		/* shortest Ethernet frame without FCS */
#define SW_ETHERTYPE_IPV4 0x0800
#define SW_ETHERTYPE_ARP 0x0806

#define SW_MAX_PORTS 64		/* port numbers 0..63: one bit each in a u64 */
#define SW_NS 1000000000ull

/* --- MAC learning table (switch_fdb.c) -------------------------------- */
#define SW_FDB_SLOTS 8192	/* open addressing, power of two */
#define SW_FDB_MAX 4096		/* entries at most: load factor <= 1/2 */
#define SW_FDB_PORT_MAX 1024	/* entries one port may own (MAC flooding) */

struct sw_fdb_entry {
	uint8_t mac[SW_ETH_ALEN];
	uint8_t port;
	bool used;
	uint64_t seen;		/* last frame from this MAC */
};

struct sw_fdb {
	struct sw_fdb_entry *slot;	/* SW_FDB_SLOTS */
	uint64_t seed;			/* keyed hash: remote MACs cannot aim at a chain */
	uint64_t aging_ns;
	uint32_t count;
	uint32_t per_port[SW_MAX_PORTS];
	uint64_t learned, moved, aged, refused;	/* counters */
};

/* 0 or -ENOMEM. aging_ns 0: entries never age. */
int sw_fdb_init(struct sw_fdb *f, uint64_t aging_ns, uint64_t seed);
void sw_fdb_free(struct sw_fdb *f);
/* `mac` was seen as a source on `port` at `now`: add it, refresh it, or
 * move it from another port. 0, -EINVAL (port out of range), -ENOSPC (the
 * table or the port's share is full: not learned, its frames are flooded). */
int sw_fdb_learn(struct sw_fdb *f, const uint8_t mac[SW_ETH_ALEN], unsigned port, uint64_t now);
/* The port `mac` was last seen on, or -ENOENT (unknown or aged out). */
int sw_fdb_lookup(const struct sw_fdb *f, const uint8_t mac[SW_ETH_ALEN], uint64_t now);
/* Drop every entry not refreshed within the aging time; returns how many. */
unsigned sw_fdb_age(struct sw_fdb *f, uint64_t now);
/* The port went away: drop its entries; returns how many. */
unsigned sw_fdb_flush_port(struct sw_fdb *f, unsigned port);

/* --- forwarding decision (switch_fwd.c) ------------------------------- */
#define SW_FWD_FLOOD (-1)	/* broadcast, multicast, unknown unicast */
#define SW_FWD_FILTER (-2)	/* the destination lives on the ingress port */

bool sw_mac_is_multicast(const uint8_t mac[SW_ETH_ALEN]); /* incl. broadcast */
bool sw_mac_is_broadcast(const uint8_t mac[SW_ETH_ALEN]);
bool sw_mac_is_zero(const uint8_t mac[SW_ETH_ALEN]);
/* May a frame from this source enter the switch? Not multicast, not zero,
 * not the gateway's MAC, and equal to `port_mac` when the port has one. */
bool sw_fwd_src_ok(const uint8_t src[SW_ETH_ALEN], const uint8_t *port_mac,
		   const uint8_t *gw_mac);
/* Where a frame from port `in` to `dst` goes: a port number (never `in`),
 * SW_FWD_FLOOD or SW_FWD_FILTER. */
int sw_fwd_decide(const struct sw_fdb *f, unsigned in, const uint8_t dst[SW_ETH_ALEN],
		  uint64_t now);
/* The ports a flooded frame from `in` goes to: every active port but `in`. */
uint64_t sw_fwd_flood_mask(uint64_t active, unsigned in);

/* --- the gateway: ARP and ICMP echo (switch_arp.c, switch_ip.c) ------- */
struct sw_gw {
	uint32_t ip;		/* host order */
	unsigned prefix;	/* 1..30 */
	uint8_t mac[SW_ETH_ALEN];
};
#define SW_GW_REPLY_MAX 1514	/* largest frame the gateway sends */

/* An ARP request (RFC 826: htype 1, ptype 0x0800, hlen 6, plen 4, op 1)
 * whose target is gw->ip: writes the reply (op 2, sender = the gateway,
 * target = the requester; padded to SW_ETH_ZLEN) and returns its length;
 * 0 for anything else, including gratuitous ARP. */
size_t sw_arp_reply(const struct sw_gw *gw, const uint8_t *in, size_t len, uint8_t *out,
		    size_t outlen);

/* Internet checksum (RFC 1071) pieces. */
uint32_t sw_csum_add(uint32_t sum, const void *p, size_t len);
uint16_t sw_csum_fold(uint32_t sum); /* folded and complemented */
/* A checked IPv4 packet inside an Ethernet frame. */
struct sw_ipv4 {
	const uint8_t *ip;	/* IPv4 header */
	size_t hlen;		/* header bytes (IHL * 4) */
	uint8_t proto;
	uint32_t src, dst;	/* host order */
	const uint8_t *l4;	/* payload */
	size_t l4len;		/* from the total length field, checked */
};
/* Ethertype 0x0800, version 4, IHL >= 5, total length within the frame,
 * header checksum correct, not a fragment. 0 or -EINVAL. */
int sw_ipv4_parse(const uint8_t *frame, size_t len, struct sw_ipv4 *p);
/* Write Ethernet + IPv4 (TTL 64, DF) + UDP headers in front of the `paylen`
 * payload bytes already at out + SW_UDP_HLEN, with both checksums. Returns
 * the frame length (padded to SW_ETH_ZLEN). */
#define SW_UDP_HLEN (SW_ETH_HLEN + 20 + 8)
size_t sw_udp_frame(uint8_t *out, const uint8_t dmac[SW_ETH_ALEN],
		    const uint8_t smac[SW_ETH_ALEN], uint32_t sip, uint32_t dip,
		    uint16_t sport, uint16_t dport, size_t paylen);
/* An ICMP echo request to gw->ip: writes the echo reply, returns its length;
 * 0 for anything else. */
size_t sw_icmp_echo_reply(const struct sw_gw *gw, const uint8_t *in, size_t len,
			  uint8_t *out, size_t outlen);
/* Finish a VIRTIO_NET_HDR_F_NEEDS_CSUM frame for a port that cannot take
 * partial checksums: sum from csum_start to the end, store at csum_start +
 * csum_offset. 0 or -EINVAL (offsets outside the frame). */
int sw_csum_complete(uint8_t *frame, size_t len, unsigned csum_start, unsigned csum_offset);

/* --- DHCPv4 server (switch_dhcp.c, switch_dhcp_msg.c) ----------------- */
#define SW_DNS_MAX 4
#define SW_DHCP_POOL_MAX 4096

enum sw_lease_state {
	SW_LEASE_FREE = 0,	/* never handed out */
	SW_LEASE_OFFERED,	/* offered, not yet requested */
	SW_LEASE_BOUND,		/* acknowledged until `expires` */
	SW_LEASE_IDLE,		/* released or expired: still remembered for its MAC */
	SW_LEASE_DECLINED,	/* a client found it in use: skipped until `expires` */
	SW_LEASE_RESERVED,	/* the gateway's or the router's address */
};

struct sw_lease {
	uint8_t mac[SW_ETH_ALEN];
	uint8_t state;		/* enum sw_lease_state */
	uint64_t expires;	/* ns: end of the lease, the offer or the decline */
};

struct sw_dhcp_stats {
	uint64_t discover, offer, request, ack, nak, release, decline, inform;
	uint64_t ignored;	/* malformed or not for us */
	uint64_t exhausted;	/* no address left */
};

struct sw_dhcp {
	struct sw_gw gw;
	uint32_t router;	/* option 3; 0: not sent */
	uint32_t start, count;	/* the pool: count addresses from start */
	uint32_t dns[SW_DNS_MAX];
	unsigned ndns;
	uint32_t lease_s;
	struct sw_lease *lease;	/* [count] */
	struct sw_dhcp_stats st;
};

/* Pool [start, end] inside gw's subnet, excluding the network and broadcast
 * addresses, at most SW_DHCP_POOL_MAX addresses; start = end = 0: the
 * subnet's first host addresses. `router` (option 3) is 0 for none, else a
 * host address of the subnet (sw_router_ok). The gateway's and the router's
 * addresses are reserved if inside the pool. 0, -EINVAL or -ENOMEM. */
int sw_dhcp_init(struct sw_dhcp *d, const struct sw_gw *gw, uint32_t router, uint32_t start,
		 uint32_t end, const uint32_t *dns, unsigned ndns, uint32_t lease_s);
/* `ip` is an address of gw's subnet other than its network and broadcast
 * addresses. */
bool sw_router_ok(const struct sw_gw *gw, uint32_t ip);
void sw_dhcp_free(struct sw_dhcp *d);
/* A frame from a client (UDP to port 67 carrying a BOOTREQUEST): the reply
 * frame (OFFER, ACK or NAK, RFC 2131 §4.3, §4.1 addressing) in out and its
 * length, or 0 when there is nothing to send. outlen >= SW_GW_REPLY_MAX. */
size_t sw_dhcp_input(struct sw_dhcp *d, const uint8_t *in, size_t len, uint64_t now,
		     uint8_t *out, size_t outlen);
/* The address the server holds for `mac` (any state but FREE), 0 if none. */
uint32_t sw_dhcp_addr_of(const struct sw_dhcp *d, const uint8_t mac[SW_ETH_ALEN]);

/* The DHCP wire format (switch_dhcp_msg.c). */
enum {
	SW_DHCPDISCOVER = 1, SW_DHCPOFFER, SW_DHCPREQUEST, SW_DHCPDECLINE,
	SW_DHCPACK, SW_DHCPNAK, SW_DHCPRELEASE, SW_DHCPINFORM,
};
#define SW_BOOTP_FIXED 236	/* op .. file */
#define SW_DHCP_COOKIE 0x63825363u

/* A request after every check: BOOTREQUEST, htype 1 / hlen 6, the magic
 * cookie, option TLVs that stay inside the UDP payload and end with END,
 * option 53 present and known, lengths of 50 and 54 exactly 4. */
struct sw_dhcp_req {
	uint8_t type;
	uint32_t xid;
	uint16_t flags;		/* host order; bit 15 = BROADCAST */
	uint32_t ciaddr, giaddr;
	uint8_t chaddr[SW_ETH_ALEN];
	uint8_t src_mac[SW_ETH_ALEN];
	bool has_req_ip, has_server_id;
	uint32_t req_ip, server_id;
};
int sw_dhcp_parse(const uint8_t *in, size_t len, struct sw_dhcp_req *r);
/* Write the reply of `type` to `r` (yiaddr 0 for NAK and INFORM) with the
 * server's options; returns the frame length. */
size_t sw_dhcp_build(const struct sw_dhcp *d, const struct sw_dhcp_req *r, uint8_t type,
		     uint32_t yiaddr, uint8_t *out, size_t outlen);

/* --- configuration (switch_cfg.c, switch_cfg_args.c) ------------------ */
#define SW_PATH_MAX 108		/* sun_path */
#define SW_IFNAME_MAX 16	/* IFNAMSIZ */

struct sw_cfg {
	char socket[SW_PATH_MAX];
	char tap[SW_IFNAME_MAX];	/* "" = no uplink */
	char stats_file[4096];		/* "" = stdout only */
	bool gateway;			/* gw set */
	struct sw_gw gw;
	bool dhcp;			/* off with --no-dhcp */
	bool router_set;		/* --router given: router, 0 = none */
	uint32_t router;		/* else DHCP names the gateway (sw_cfg_router) */
	uint32_t pool_start, pool_end;	/* 0: the whole subnet */
	uint32_t dns[SW_DNS_MAX];
	unsigned ndns;
	uint32_t lease_s;
	uint32_t aging_s;
	uint32_t spin_us;
	char level[16];
};

#define SW_DEF_LEASE_S 3600
#define SW_DEF_AGING_S 300
#define SW_DEF_SPIN_US 30
#define SW_MAX_SPIN_US 1000
#define SW_EXIT_BAD_ARGS 153

void sw_cfg_defaults(struct sw_cfg *c);
/* One setting by its flag name without the dashes ("lease-seconds"; JSON
 * keys use '_' for '-'): 0 or -EINVAL with a message. "dns" appends. */
int sw_cfg_set(struct sw_cfg *c, const char *key, const char *val, char *err, size_t errlen);
/* Apply a JSON config file (an object of the keys above). */
int sw_cfg_load(struct sw_cfg *c, const char *path, char *err, size_t errlen);
/* Cross-field checks (the pool and the router inside the subnet). */
int sw_cfg_finish(struct sw_cfg *c, char *err, size_t errlen);
/* The address DHCP advertises as router: --router's, 0 for "none", else
 * the gateway's. */
uint32_t sw_cfg_router(const struct sw_cfg *c);
/* main()'s parser: file first, then flags. -1 to run, else the exit
 * status (0 after --help/--version, SW_EXIT_BAD_ARGS). */
int sw_cfg_args(struct sw_cfg *c, int argc, char **argv);
void sw_cfg_usage(FILE *out);

int sw_parse_ipv4(const char *s, uint32_t *ip);
int sw_parse_mac(const char *s, uint8_t mac[SW_ETH_ALEN]);

#endif
