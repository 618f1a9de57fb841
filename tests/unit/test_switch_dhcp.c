/* The gateway's DHCPv4 server: replies checked field by field against RFC
 * 2131's message format (§2, table 3) and RFC 2132's options, with the IP
 * and UDP checksums verified by the test's own RFC 1071 code; §4.1
 * addressing (broadcast flag, ciaddr, relay, NAK); addresses stable per
 * MAC, NAK for a foreign address, pool exhaustion and reclaim, release,
 * decline, inform; the router option (the gateway, another address that
 * is then never leased, or none); and malformed requests that must get
 * nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ember/switch.h"
#include "test_switch_util.h"

#define S SW_NS
#define GW_IP T_IP(10, 0, 0, 1)
#define POOL_LO T_IP(10, 0, 0, 100)
#define POOL_HI T_IP(10, 0, 0, 199)

static const struct sw_gw GWC = { .ip = GW_IP, .prefix = 24,
				  .mac = { 0x02, 0x45, 0x4d, 0, 0, 1 } };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t M1[6] = { 0x52, 0x54, 0, 0, 0, 1 };
static const uint8_t M2[6] = { 0x52, 0x54, 0, 0, 0, 2 };
static const uint8_t M3[6] = { 0x52, 0x54, 0, 0, 0, 3 };
static const uint8_t M4[6] = { 0x52, 0x54, 0, 0, 0, 4 };
static const uint32_t DNS[2] = { T_IP(10, 0, 0, 53), T_IP(9, 9, 9, 9) };

struct req {
	uint8_t type;
	const uint8_t *mac;
	uint16_t flags;
	uint32_t ciaddr, giaddr;
	uint32_t req_ip, server; /* options 50 and 54 when non-zero */
};

/* Ethernet/IPv4/UDP 68->67 BOOTREQUEST with options 53 [50] [54] + extra
 * [+ END], zero padded to 300 bytes, checksums right. */
static size_t build(uint8_t *f, const struct req *q, const uint8_t *extra, size_t nextra,
		    bool end)
{
	uint8_t *udp = f + 34, *b = f + 42, *o = b + 240;
	size_t blen;

	memset(f, 0, 42 + 600);
	t_eth(f, BCAST, q->mac, 0x0800);
	b[0] = 1;
	b[1] = 1;
	b[2] = 6;
	t_put32(b + 4, 0xcafe0000u | q->type);
	t_put16(b + 10, q->flags);
	t_put32(b + 12, q->ciaddr);
	t_put32(b + 24, q->giaddr);
	memcpy(b + 28, q->mac, 6);
	t_put32(b + 236, 0x63825363);
	*o++ = 53, *o++ = 1, *o++ = q->type;
	if (q->req_ip)
		*o++ = 50, *o++ = 4, t_put32(o, q->req_ip), o += 4;
	if (q->server)
		*o++ = 54, *o++ = 4, t_put32(o, q->server), o += 4;
	if (nextra)
		memcpy(o, extra, nextra);
	o += nextra;
	if (end)
		*o++ = 255;
	blen = (size_t)(o - b) < 300 ? 300 : (size_t)(o - b);
	t_ipv4(f + 14, 17, q->ciaddr, 0xffffffffu, 8 + blen);
	t_put16(udp, 68);
	t_put16(udp + 2, 67);
	t_put16(udp + 4, (uint16_t)(8 + blen));
	t_put16(udp + 6, t_fold(t_sum(t_sum(0, f + 26, 8) + 17 + (uint32_t)(8 + blen), udp,
				       8 + blen)));
	return 42 + blen;
}

struct reply {
	uint8_t type;
	uint8_t eth_dst[6];
	uint32_t ip_dst, ciaddr, yiaddr;
	uint16_t dport;
	bool has[256];
	uint8_t len[256];
	uint8_t val[256][64];
};

static uint32_t opt32(const struct reply *r, int code)
{
	assert_true(r->has[code]);
	assert_int_equal(r->len[code], 4);
	return t_be32(r->val[code]);
}

/* Everything every reply must satisfy; the rest is returned in *r. */
static void check(const uint8_t *f, size_t n, const struct req *q, struct reply *r)
{
	const uint8_t *ip = f + 14, *udp = f + 34, *b = f + 42;
	size_t ulen, blen, i;
	static const uint8_t zero[192];

	memset(r, 0, sizeof(*r));
	assert_true(n >= 42 + 300);
	memcpy(r->eth_dst, f, 6);
	assert_memory_equal(f + 6, GWC.mac, 6);
	assert_int_equal(t_be16(f + 12), 0x0800);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(t_be16(ip + 2), n - 14);
	assert_int_equal(t_be16(ip + 6) & 0x3fff, 0); /* not fragmented */
	assert_true(ip[8] > 0);
	assert_int_equal(ip[9], 17);
	assert_int_equal(t_be32(ip + 12), GW_IP);
	r->ip_dst = t_be32(ip + 16);
	assert_true(t_ip_csum_ok(ip));
	assert_int_equal(t_be16(udp), 67);
	r->dport = t_be16(udp + 2);
	ulen = t_be16(udp + 4);
	assert_int_equal(ulen, n - 34);
	assert_int_not_equal(t_be16(udp + 6), 0);
	assert_true(t_l4_csum_ok(ip));
	blen = ulen - 8;
	assert_true(blen >= 300); /* RFC 951's minimum BOOTP message */
	assert_int_equal(b[0], 2); /* op BOOTREPLY */
	assert_int_equal(b[1], 1); /* htype Ethernet */
	assert_int_equal(b[2], 6); /* hlen */
	assert_int_equal(b[3], 0); /* hops */
	assert_int_equal(t_be32(b + 4), 0xcafe0000u | q->type); /* xid */
	assert_int_equal(t_be16(b + 8), 0);			/* secs */
	assert_int_equal(t_be16(b + 10), q->flags);		/* flags */
	r->ciaddr = t_be32(b + 12);
	r->yiaddr = t_be32(b + 16);
	assert_int_equal(t_be32(b + 20), 0); /* siaddr: no next server */
	assert_int_equal(t_be32(b + 24), q->giaddr);
	assert_memory_equal(b + 28, q->mac, 6);
	assert_memory_equal(b + 34, zero, 10);	/* chaddr padding */
	assert_memory_equal(b + 44, zero, 192); /* sname, file */
	assert_int_equal(t_be32(b + 236), 0x63825363);
	for (i = 240; i < blen && b[i] != 255;) {
		if (b[i] == 0) {
			i++;
			continue;
		}
		assert_true(i + 2 <= blen && i + 2 + b[i + 1] <= blen);
		assert_false(r->has[b[i]]); /* each option once */
		r->has[b[i]] = true;
		r->len[b[i]] = b[i + 1];
		memcpy(r->val[b[i]], b + i + 2, b[i + 1]);
		i += 2 + (size_t)b[i + 1];
	}
	assert_true(i < blen); /* END present */
	assert_true(r->has[53]);
	assert_int_equal(r->len[53], 1);
	r->type = r->val[53][0];
	assert_int_equal(opt32(r, 54), GW_IP); /* server identifier */
}

/* OFFER/ACK carry the lease and the network: RFC 2132 codes 51 58 59 1 3 6
 * 28; option 3 only with a router. */
static void check_params(const struct reply *r, uint32_t lease, uint32_t router)
{
	assert_int_equal(opt32(r, 51), lease);
	assert_int_equal(opt32(r, 58), lease / 2);
	assert_int_equal(opt32(r, 59), lease * 7 / 8);
	assert_int_equal(opt32(r, 1), 0xffffff00u);
	if (router)
		assert_int_equal(opt32(r, 3), router);
	else
		assert_false(r->has[3]);
	assert_int_equal(opt32(r, 28), T_IP(10, 0, 0, 255));
	assert_true(r->has[6]);
	assert_int_equal(r->len[6], 8);
	assert_int_equal(t_be32(r->val[6]), DNS[0]);
	assert_int_equal(t_be32(r->val[6] + 4), DNS[1]);
}

struct t {
	struct sw_dhcp d;
	uint8_t in[1024], out[SW_GW_REPLY_MAX];
	uint64_t now;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_int_equal(sw_dhcp_init(&t->d, &GWC, GW_IP, POOL_LO, POOL_HI, DNS, 2, 3600), 0);
	t->now = 1000 * S;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	sw_dhcp_free(&t->d);
	free(t);
	return 0;
}

/* Send q; returns the reply length (0: none), checked and parsed into *r. */
static size_t xchg(struct t *t, const struct req *q, struct reply *r)
{
	size_t n = build(t->in, q, NULL, 0, true);
	size_t m = sw_dhcp_input(&t->d, t->in, n, t->now, t->out, sizeof(t->out));

	if (m)
		check(t->out, m, q, r);
	return m;
}

/* DISCOVER + REQUEST(selecting): the bound address. */
static uint32_t lease(struct t *t, const uint8_t *mac)
{
	struct req q = { .type = SW_DHCPDISCOVER, .mac = mac };
	struct reply r;
	uint32_t ip;

	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPOFFER);
	ip = r.yiaddr;
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = mac, .req_ip = ip, .server = GW_IP };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
	assert_int_equal(r.yiaddr, ip);
	return ip;
}

static void test_offer_ack(void **state)
{
	struct t *t = *state;
	struct req q = { .type = SW_DHCPDISCOVER, .mac = M1 };
	struct reply r;
	uint32_t ip;

	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPOFFER);
	ip = r.yiaddr;
	assert_true(ip >= POOL_LO && ip <= POOL_HI);
	assert_int_equal(r.ciaddr, 0);
	check_params(&r, 3600, GW_IP);
	/* no broadcast flag: unicast to yiaddr and chaddr, port 68 */
	assert_memory_equal(r.eth_dst, M1, 6);
	assert_int_equal(r.ip_dst, ip);
	assert_int_equal(r.dport, 68);
	assert_int_equal(t->d.st.discover, 1);
	assert_int_equal(t->d.st.offer, 1);

	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M1, .req_ip = ip, .server = GW_IP };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
	assert_int_equal(r.yiaddr, ip);
	check_params(&r, 3600, GW_IP);
	assert_int_equal(t->d.lease[ip - POOL_LO].state, SW_LEASE_BOUND);
	assert_true(t->d.lease[ip - POOL_LO].expires == t->now + 3600 * S);
	assert_int_equal(sw_dhcp_addr_of(&t->d, M1), ip);
}

static void test_broadcast_flag(void **state)
{
	struct t *t = *state;
	struct req q = { .type = SW_DHCPDISCOVER, .mac = M1, .flags = 0x8000 };
	struct reply r;

	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPOFFER);
	assert_memory_equal(r.eth_dst, BCAST, 6);
	assert_int_equal(r.ip_dst, 0xffffffffu);
	assert_int_equal(r.dport, 68);
}

static void test_stable_per_mac(void **state)
{
	struct t *t = *state;
	struct sw_dhcp fresh;
	uint32_t a1 = lease(t, M1), a2 = lease(t, M2);
	struct req q = { .type = SW_DHCPRELEASE, .mac = M1, .ciaddr = a1, .server = GW_IP };
	struct reply r;

	assert_int_not_equal(a1, a2);
	assert_int_equal(lease(t, M1), a1); /* asking again */
	assert_int_equal(xchg(t, &q, &r), 0);
	assert_int_equal(t->d.st.release, 1);
	assert_int_equal(t->d.lease[a1 - POOL_LO].state, SW_LEASE_IDLE);
	assert_int_equal(lease(t, M3), lease(t, M3));
	assert_int_equal(lease(t, M1), a1); /* after release */
	t->now += 7200 * S;
	assert_int_equal(lease(t, M2), a2); /* after expiry */
	/* deterministic: a restarted server gives the same addresses */
	assert_int_equal(sw_dhcp_init(&fresh, &GWC, GW_IP, POOL_LO, POOL_HI, DNS, 2, 3600), 0);
	sw_dhcp_free(&t->d);
	t->d = fresh;
	assert_int_equal(lease(t, M2), a2);
	assert_int_equal(lease(t, M1), a1);
}

static void test_nak(void **state)
{
	struct t *t = *state;
	uint32_t a1 = lease(t, M1), a2 = lease(t, M2);
	struct req q = { .type = SW_DHCPREQUEST, .mac = M1, .req_ip = T_IP(192, 168, 1, 50) };
	struct reply r;

	/* INIT-REBOOT with an address from another network */
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPNAK);
	assert_int_equal(r.yiaddr, 0);
	assert_int_equal(r.ciaddr, 0);
	assert_memory_equal(r.eth_dst, BCAST, 6); /* §4.1: NAK broadcast */
	assert_int_equal(r.ip_dst, 0xffffffffu);
	for (int c = 1; c < 255; c++) /* table 3: only 53 and 54 */
		assert_true(r.has[c] == (c == 53 || c == 54));
	/* ... with the address another client holds */
	q.req_ip = a2;
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPNAK);
	/* ... with its own: ACK */
	q.req_ip = a1;
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
	assert_int_equal(r.yiaddr, a1);
	/* SELECTING us with an address we did not offer */
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M1, .req_ip = a1 + 1, .server = GW_IP };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPNAK);
	/* RENEWING an address that is not its own */
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M1, .ciaddr = a2 };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPNAK);
	assert_int_equal(t->d.st.nak, 4);
	assert_int_equal(sw_dhcp_addr_of(&t->d, M2), a2); /* untouched */
}

static void test_renew_inform_relay(void **state)
{
	struct t *t = *state;
	uint32_t a1 = lease(t, M1);
	struct req q = { .type = SW_DHCPREQUEST, .mac = M1, .ciaddr = a1 };
	struct reply r;

	t->now += 1800 * S;
	assert_true(xchg(t, &q, &r) > 0); /* RENEWING: unicast to ciaddr */
	assert_int_equal(r.type, SW_DHCPACK);
	assert_int_equal(r.ciaddr, a1);
	assert_int_equal(r.yiaddr, a1);
	assert_int_equal(r.ip_dst, a1);
	assert_memory_equal(r.eth_dst, M1, 6);
	assert_true(t->d.lease[a1 - POOL_LO].expires == t->now + 3600 * S);

	q = (struct req){ .type = SW_DHCPINFORM, .mac = M1, .ciaddr = a1 };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
	assert_int_equal(r.yiaddr, 0);
	assert_int_equal(r.ciaddr, a1);
	assert_int_equal(r.ip_dst, a1);
	assert_false(r.has[51] || r.has[58] || r.has[59]); /* table 3: no lease */
	assert_int_equal(opt32(&r, 3), GW_IP);

	/* No relay sits between a port and the switch: a giaddr is forged
	 * and the request is ignored, whatever it asks. */
	uint64_t ignored = t->d.st.ignored;
	q = (struct req){ .type = SW_DHCPDISCOVER, .mac = M2, .giaddr = T_IP(10, 0, 0, 2),
			  .flags = 0x8000 };
	assert_int_equal(xchg(t, &q, &r), 0);
	q = (struct req){ .type = SW_DHCPDECLINE, .mac = M1, .giaddr = T_IP(1, 2, 3, 4),
			  .req_ip = a1, .server = GW_IP };
	assert_int_equal(xchg(t, &q, &r), 0);
	assert_int_equal(t->d.st.ignored, ignored + 2);
	assert_int_equal(sw_dhcp_addr_of(&t->d, M1), a1); /* the lease stands */
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M1, .ciaddr = a1 };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
}

static void test_other_server(void **state)
{
	struct t *t = *state;
	struct req q = { .type = SW_DHCPDISCOVER, .mac = M1 };
	struct reply r;
	uint32_t ip;

	assert_true(xchg(t, &q, &r) > 0);
	ip = r.yiaddr;
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M1, .req_ip = T_IP(10, 0, 0, 77),
			  .server = T_IP(10, 0, 0, 254) };
	assert_int_equal(xchg(t, &q, &r), 0); /* it chose someone else */
	assert_int_equal(t->d.lease[ip - POOL_LO].state, SW_LEASE_IDLE);
}

static void test_exhaustion(void **state)
{
	struct t *t = *state;
	struct req q = { .type = SW_DHCPDISCOVER, .mac = M4 };
	struct reply r;
	uint32_t a[3];

	/* a pool of three with the gateway's own address inside: two to lease */
	sw_dhcp_free(&t->d);
	assert_int_equal(sw_dhcp_init(&t->d, &GWC, GW_IP, GW_IP, GW_IP + 2, DNS, 2, 60), 0);
	a[0] = lease(t, M1);
	a[1] = lease(t, M2);
	assert_int_not_equal(a[0], GW_IP);
	assert_int_not_equal(a[1], GW_IP);
	q.mac = M3;
	assert_int_equal(xchg(t, &q, &r), 0);
	assert_int_equal(t->d.st.exhausted, 1);
	/* M1's lease runs out first (M2 renews): M3 gets M1's address */
	t->now += 40 * S;
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M2, .ciaddr = a[1] };
	assert_true(xchg(t, &q, &r) > 0);
	t->now += 30 * S;
	a[2] = lease(t, M3);
	assert_int_equal(a[2], a[0]);
	assert_int_equal(sw_dhcp_addr_of(&t->d, M1), 0);
	/* and M1 is now the one left without */
	q = (struct req){ .type = SW_DHCPDISCOVER, .mac = M1 };
	assert_int_equal(xchg(t, &q, &r), 0);
	assert_int_equal(t->d.st.exhausted, 2);
}

static void test_decline(void **state)
{
	struct t *t = *state;
	uint32_t a1 = lease(t, M1), a2;
	struct req q = { .type = SW_DHCPDECLINE, .mac = M1, .req_ip = a1, .server = GW_IP };
	struct reply r;

	assert_int_equal(xchg(t, &q, &r), 0);
	assert_int_equal(t->d.st.decline, 1);
	assert_int_equal(t->d.lease[a1 - POOL_LO].state, SW_LEASE_DECLINED);
	a2 = lease(t, M1);
	assert_int_not_equal(a2, a1);
	assert_int_equal(lease(t, M2) == a1, false);
}

/* --router: option 3 names it in every OFFER and ACK, and its address is
 * never leased: not from the pool, not on request, not when reclaiming. */
static void test_router(void **state)
{
	struct t *t = *state;
	const uint32_t rt = T_IP(10, 0, 0, 2);
	struct req q = { .type = SW_DHCPDISCOVER, .mac = M1 };
	struct reply r;
	uint32_t a1;

	/* a pool of three holding the gateway and the router: one to lease */
	sw_dhcp_free(&t->d);
	assert_int_equal(sw_dhcp_init(&t->d, &GWC, rt, GW_IP, GW_IP + 2, DNS, 2, 60), 0);
	assert_int_equal(t->d.lease[1].state, SW_LEASE_RESERVED);
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPOFFER);
	check_params(&r, 60, rt);
	a1 = lease(t, M1);
	assert_int_equal(a1, T_IP(10, 0, 0, 3));
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M1, .ciaddr = a1 };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
	check_params(&r, 60, rt);
	q = (struct req){ .type = SW_DHCPINFORM, .mac = M1, .ciaddr = a1 };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(opt32(&r, 3), rt);
	/* another client: nothing left, and asking for the router's address
	 * (INIT-REBOOT, or SELECTING an offer never made) gets a NAK */
	q = (struct req){ .type = SW_DHCPDISCOVER, .mac = M2 };
	assert_int_equal(xchg(t, &q, &r), 0);
	assert_int_equal(t->d.st.exhausted, 1);
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M2, .req_ip = rt };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPNAK);
	q.server = GW_IP;
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPNAK);
	/* M1's lease runs out: reclaiming takes its address, not the router's */
	t->now += 120 * S;
	assert_int_equal(lease(t, M2), a1);
	q = (struct req){ .type = SW_DHCPDISCOVER, .mac = M3 };
	assert_int_equal(xchg(t, &q, &r), 0);
	assert_int_equal(t->d.lease[1].state, SW_LEASE_RESERVED);
	assert_int_equal(t->d.lease[0].state, SW_LEASE_RESERVED);
}

/* --router none: no option 3 anywhere, everything else as before. */
static void test_no_router(void **state)
{
	struct t *t = *state;
	struct req q = { .type = SW_DHCPDISCOVER, .mac = M1 };
	struct reply r;
	uint32_t a1;

	sw_dhcp_free(&t->d);
	assert_int_equal(sw_dhcp_init(&t->d, &GWC, 0, POOL_LO, POOL_HI, DNS, 2, 3600), 0);
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPOFFER);
	check_params(&r, 3600, 0);
	a1 = r.yiaddr;
	q = (struct req){ .type = SW_DHCPREQUEST, .mac = M1, .req_ip = a1, .server = GW_IP };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
	assert_int_equal(r.yiaddr, a1);
	check_params(&r, 3600, 0);
	q = (struct req){ .type = SW_DHCPINFORM, .mac = M1, .ciaddr = a1 };
	assert_true(xchg(t, &q, &r) > 0);
	assert_int_equal(r.type, SW_DHCPACK);
	assert_false(r.has[3]);
	assert_int_equal(opt32(&r, 1), 0xffffff00u);
}

/* Mutations of a valid DISCOVER that must each get no reply. */
static void test_malformed(void **state)
{
	struct t *t = *state;
	struct req q = { .type = SW_DHCPDISCOVER, .mac = M1 };
	static const uint8_t overrun[] = { 12, 200, 'h', 'o', 's', 't' };
	static const uint8_t bad50[] = { 50, 3, 10, 0, 0 };
	uint8_t *in = t->in, *b = in + 42;
	size_t n = build(in, &q, NULL, 0, true), m;

	for (size_t l = 0; l < n; l++) /* every truncation */
		assert_int_equal(sw_dhcp_input(&t->d, in, l, t->now, t->out, sizeof(t->out)), 0);
	/* an option running off the end of the message, and no END at all */
	n = build(in, &q, overrun, sizeof(overrun), false);
	memset(b + 240 + 3 + 2, 'x', 300 - 245);
	assert_int_equal(sw_dhcp_input(&t->d, in, n, t->now, t->out, sizeof(t->out)), 0);
	n = build(in, &q, NULL, 0, false);
	assert_int_equal(sw_dhcp_input(&t->d, in, n, t->now, t->out, sizeof(t->out)), 0);
	/* option 50 cut short by the end of the frame, in a buffer of exactly
	 * the frame's size (ASan sees any read past it) */
	uint8_t tail[57] = { [54] = 50, [55] = 4, [56] = 10 };
	n = build(in, &q, tail, sizeof(tail), false);
	assert_int_equal(n, 342);
	uint8_t *exact = malloc(n);
	memcpy(exact, in, n);
	assert_int_equal(sw_dhcp_input(&t->d, exact, n, t->now, t->out, sizeof(t->out)), 0);
	free(exact);
	n = build(in, &q, bad50, sizeof(bad50), true); /* option 50 of length 3 */
	assert_int_equal(sw_dhcp_input(&t->d, in, n, t->now, t->out, sizeof(t->out)), 0);
	struct { size_t off; uint8_t val; } flips[] = {
		{ 42 + 0, 2 },	      /* op BOOTREPLY */
		{ 42 + 1, 6 },	      /* htype */
		{ 42 + 2, 16 },	      /* hlen */
		{ 42 + 236, 0x64 },   /* magic cookie */
		{ 42 + 241, 2 },      /* option 53 length 2 */
		{ 42 + 242, 9 },      /* unknown message type */
		{ 42 + 242, 2 },      /* a server's message type */
		{ 42 + 28, 0x66 },    /* chaddr is not the sender's MAC */
		{ 14 + 10, 0 },	      /* IP header checksum */
		{ 14 + 2, 0x7f },     /* IP total length beyond the frame */
		{ 14 + 0, 0x46 },     /* IHL 6 without options */
		{ 34 + 4, 0x7f },     /* UDP length beyond the packet */
		{ 14 + 6, 0x20 },     /* MF: a fragment */
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		n = build(in, &q, NULL, 0, true);
		in[flips[i].off] = flips[i].val;
		if (flips[i].off != 14 + 10 && flips[i].off < 34) { /* keep the IP checksum right */
			t_put16(in + 24, 0);
			t_put16(in + 24, t_fold(t_sum(0, in + 14, 20)));
		}
		m = sw_dhcp_input(&t->d, in, n, t->now, t->out, sizeof(t->out));
		assert_int_equal(m, 0);
	}
	assert_int_equal(t->d.st.offer, 0);
	/* no option 53 at all */
	n = build(in, &q, NULL, 0, true);
	b[240] = 0, b[241] = 0, b[242] = 0;
	assert_int_equal(sw_dhcp_input(&t->d, in, n, t->now, t->out, sizeof(t->out)), 0);
	/* garbage of every length from a fixed seed */
	srandom(3);
	for (int i = 0; i < 20000; i++) {
		size_t l = (size_t)random() % sizeof(t->in);

		n = build(in, &q, NULL, 0, true);
		for (int k = 0; k < 4; k++)
			in[(size_t)random() % (l + 1)] = (uint8_t)random();
		sw_dhcp_input(&t->d, in, l, t->now, t->out, sizeof(t->out));
	}
	/* and the server still works */
	n = build(in, &q, NULL, 0, true);
	assert_true(sw_dhcp_input(&t->d, in, n, t->now, t->out, sizeof(t->out)) > 0);
}

static void test_init_checks(void **state)
{
	struct sw_dhcp d;
	struct sw_gw g = GWC;

	/* default pool: the whole subnet but network, broadcast, gateway */
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, 0, 0, NULL, 0, 60), 0);
	assert_int_equal(d.start, T_IP(10, 0, 0, 1));
	assert_int_equal(d.count, 254);
	assert_int_equal(d.lease[0].state, SW_LEASE_RESERVED);
	sw_dhcp_free(&d);
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, T_IP(10, 0, 0, 0), POOL_HI, NULL, 0, 60),
			 -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, POOL_LO, T_IP(10, 0, 0, 255), NULL, 0, 60),
			 -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, POOL_LO, T_IP(10, 0, 1, 5), NULL, 0, 60),
			 -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, POOL_HI, POOL_LO, NULL, 0, 60), -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, POOL_LO, POOL_HI, DNS, SW_DNS_MAX + 1, 60),
			 -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, POOL_LO, POOL_HI, NULL, 0, 0), -EINVAL);
	/* the router: a host address of the subnet, or 0 for none */
	assert_int_equal(sw_dhcp_init(&d, &g, T_IP(10, 0, 1, 1), POOL_LO, POOL_HI, NULL, 0, 60),
			 -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, T_IP(10, 0, 0, 0), POOL_LO, POOL_HI, NULL, 0, 60),
			 -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, T_IP(10, 0, 0, 255), POOL_LO, POOL_HI, NULL, 0, 60),
			 -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, 0, POOL_LO, POOL_HI, NULL, 0, 60), 0);
	assert_int_equal(d.router, 0);
	sw_dhcp_free(&d);
	/* default pool with a router: both it and the gateway are reserved */
	assert_int_equal(sw_dhcp_init(&d, &g, T_IP(10, 0, 0, 2), 0, 0, NULL, 0, 60), 0);
	assert_int_equal(d.lease[0].state, SW_LEASE_RESERVED);
	assert_int_equal(d.lease[1].state, SW_LEASE_RESERVED);
	assert_int_equal(d.lease[2].state, SW_LEASE_FREE);
	sw_dhcp_free(&d);
	g.prefix = 16; /* pools are capped */
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, T_IP(10, 0, 0, 2), T_IP(10, 0, 255, 2), NULL,
				      0, 60), -EINVAL);
	assert_int_equal(sw_dhcp_init(&d, &g, GW_IP, 0, 0, NULL, 0, 60), 0);
	assert_int_equal(d.count, SW_DHCP_POOL_MAX);
	sw_dhcp_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offer_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stable_per_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renew_inform_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_router, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_router, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test(test_init_checks),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
