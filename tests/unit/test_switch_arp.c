/* The gateway's ARP responder (RFC 826 reply format, field by field), its
 * ICMP echo reply (RFC 792, checksums verified independently), malformed
 * and truncated inputs (no reply), and checksum completion for frames
 * that arrive with VIRTIO_NET_HDR_F_NEEDS_CSUM. */
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

static const struct sw_gw GWC = { .ip = T_IP(10, 0, 0, 1), .prefix = 24,
				  .mac = { 0x02, 0x45, 0x4d, 0, 0, 1 } };
static const uint8_t HOST[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
#define HOST_IP T_IP(10, 0, 0, 7)

/* A 42-byte ARP request from HOST/HOST_IP for `tpa`. */
static size_t arp_req(uint8_t *f, uint16_t op, uint32_t spa, uint32_t tpa)
{
	uint8_t *a = f + 14;

	t_eth(f, BCAST, HOST, 0x0806);
	t_put16(a, 1);
	t_put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	t_put16(a + 6, op);
	memcpy(a + 8, HOST, 6);
	t_put32(a + 14, spa);
	memset(a + 18, 0, 6);
	t_put32(a + 24, tpa);
	return 42;
}

static void test_arp_reply(void **state)
{
	uint8_t in[64], out[SW_GW_REPLY_MAX];
	size_t n = arp_req(in, 1, HOST_IP, GWC.ip);
	const uint8_t *a = out + 14;

	memset(out, 0xee, sizeof(out));
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 60);
	assert_memory_equal(out, HOST, 6);		/* to the requester */
	assert_memory_equal(out + 6, GWC.mac, 6);
	assert_int_equal(t_be16(out + 12), 0x0806);
	assert_int_equal(t_be16(a), 1);			/* ar$hrd Ethernet */
	assert_int_equal(t_be16(a + 2), 0x0800);	/* ar$pro IPv4 */
	assert_int_equal(a[4], 6);			/* ar$hln */
	assert_int_equal(a[5], 4);			/* ar$pln */
	assert_int_equal(t_be16(a + 6), 2);		/* ar$op reply */
	assert_memory_equal(a + 8, GWC.mac, 6);		/* ar$sha */
	assert_int_equal(t_be32(a + 14), GWC.ip);	/* ar$spa */
	assert_memory_equal(a + 18, HOST, 6);		/* ar$tha */
	assert_int_equal(t_be32(a + 24), HOST_IP);	/* ar$tpa */
	for (int i = 42; i < 60; i++)
		assert_int_equal(out[i], 0);		/* padding */
	/* a longer (padded) request is answered the same way */
	memset(in + 42, 0xaa, 18);
	assert_int_equal(sw_arp_reply(&GWC, in, 60, out, sizeof(out)), 60);
	/* an RFC 5227 probe for our address is answered (we defend it) */
	arp_req(in, 1, 0, GWC.ip);
	assert_int_equal(sw_arp_reply(&GWC, in, 42, out, sizeof(out)), 60);
	assert_int_equal(t_be32(out + 14 + 24), 0);
}

static void test_arp_ignored(void **state)
{
	uint8_t in[64], out[SW_GW_REPLY_MAX];
	size_t n;

	n = arp_req(in, 1, HOST_IP, T_IP(10, 0, 0, 9));
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* not ours */
	arp_req(in, 2, HOST_IP, GWC.ip);
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* a reply */
	arp_req(in, 1, GWC.ip, GWC.ip);
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* gratuitous */
	arp_req(in, 1, HOST_IP, GWC.ip);
	for (size_t l = 0; l < n; l++)
		assert_int_equal(sw_arp_reply(&GWC, in, l, out, sizeof(out)), 0); /* short */
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, 59), 0); /* no room */
	in[14 + 4] = 8;
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* hlen */
	arp_req(in, 1, HOST_IP, GWC.ip);
	in[14 + 5] = 16;
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* plen */
	arp_req(in, 1, HOST_IP, GWC.ip);
	t_put16(in + 14 + 2, 0x86dd);
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* ptype */
	arp_req(in, 1, HOST_IP, GWC.ip);
	t_put16(in + 14, 6);
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* htype */
	arp_req(in, 1, HOST_IP, GWC.ip);
	t_put16(in + 12, 0x0800);
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* ethertype */
	arp_req(in, 1, HOST_IP, GWC.ip);
	in[14 + 8] = 0x01;
	assert_int_equal(sw_arp_reply(&GWC, in, n, out, sizeof(out)), 0); /* group sha */
}

/* An echo request of `dlen` data bytes from HOST_IP to `dst`. */
static size_t echo_req(uint8_t *f, uint32_t dst, size_t dlen)
{
	uint8_t *icmp = f + 34;

	t_eth(f, GWC.mac, HOST, 0x0800);
	t_ipv4(f + 14, 1, HOST_IP, dst, 8 + dlen);
	icmp[0] = 8;
	icmp[1] = 0;
	t_put16(icmp + 2, 0);
	t_put16(icmp + 4, 0x1234); /* identifier */
	t_put16(icmp + 6, 7);	   /* sequence */
	for (size_t i = 0; i < dlen; i++)
		icmp[8 + i] = (uint8_t)(i * 7);
	t_put16(icmp + 2, t_fold(t_sum(0, icmp, 8 + dlen)));
	return 34 + 8 + dlen;
}

static void test_icmp_echo(void **state)
{
	uint8_t in[2048], out[SW_GW_REPLY_MAX];
	size_t n = echo_req(in, GWC.ip, 56), r;
	const uint8_t *ip = out + 14, *icmp = out + 34;

	r = sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out));
	assert_int_equal(r, n);
	assert_memory_equal(out, HOST, 6);
	assert_memory_equal(out + 6, GWC.mac, 6);
	assert_int_equal(t_be16(out + 12), 0x0800);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(t_be16(ip + 2), 20 + 8 + 56);
	assert_int_equal(ip[9], 1);
	assert_true(ip[8] > 0);
	assert_int_equal(t_be32(ip + 12), GWC.ip);
	assert_int_equal(t_be32(ip + 16), HOST_IP);
	assert_true(t_ip_csum_ok(ip));
	assert_int_equal(icmp[0], 0); /* echo reply */
	assert_int_equal(icmp[1], 0);
	assert_int_equal(t_fold(t_sum(0, icmp, 64)), 0);
	assert_memory_equal(icmp + 4, in + 34 + 4, 4 + 56); /* id, seq, data echoed */
	/* a tiny echo is padded to the Ethernet minimum */
	n = echo_req(in, GWC.ip, 0);
	assert_int_equal(sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out)), 60);
	assert_int_equal(t_be16(ip + 2), 28);
}

static void test_icmp_ignored(void **state)
{
	uint8_t in[2048], out[SW_GW_REPLY_MAX];
	size_t n = echo_req(in, T_IP(10, 0, 0, 2), 56);

	assert_int_equal(sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out)), 0); /* not ours */
	n = echo_req(in, GWC.ip, 56);
	for (size_t l = 0; l < n; l++)
		assert_int_equal(sw_icmp_echo_reply(&GWC, in, l, out, sizeof(out)), 0);
	in[14 + 10] ^= 1; /* IP header checksum */
	assert_int_equal(sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out)), 0);
	n = echo_req(in, GWC.ip, 56);
	in[34] = 0; /* an echo reply is not answered */
	assert_int_equal(sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out)), 0);
	n = echo_req(in, GWC.ip, 1600); /* the reply would exceed the MTU */
	assert_int_equal(sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out)), 0);
	n = echo_req(in, GWC.ip, 56);
	t_put16(in + 14 + 6, 0x2000); /* a fragment */
	t_put16(in + 14 + 10, 0);
	t_put16(in + 14 + 10, t_fold(t_sum(0, in + 14, 20)));
	assert_int_equal(sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out)), 0);
	n = echo_req(in, GWC.ip, 56);
	t_put16(in + 14 + 2, 20 + 8 + 57); /* total length beyond the frame */
	t_put16(in + 14 + 10, 0);
	t_put16(in + 14 + 10, t_fold(t_sum(0, in + 14, 20)));
	assert_int_equal(sw_icmp_echo_reply(&GWC, in, n, out, sizeof(out)), 0);
}

/* A UDP frame with a partial checksum (pseudo header only) as a guest with
 * checksum offload sends it: completing it gives a checksum that verifies. */
static void test_csum_complete(void **state)
{
	uint8_t f[600];
	uint8_t *ip = f + 14, *udp = f + 34;
	size_t plen = 301, ulen = 8 + plen;
	uint32_t ps;

	t_eth(f, HOST, GWC.mac, 0x0800);
	t_ipv4(ip, 17, HOST_IP, T_IP(10, 0, 0, 9), ulen);
	t_put16(udp, 1000);
	t_put16(udp + 2, 2000);
	t_put16(udp + 4, (uint16_t)ulen);
	for (size_t i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(i * 13 + 1);
	ps = t_sum(0, ip + 12, 8) + 17 + (uint32_t)ulen;
	t_put16(udp + 6, (uint16_t)~t_fold(ps)); /* the folded, uncomplemented pseudo sum */
	assert_false(t_l4_csum_ok(ip));
	assert_int_equal(sw_csum_complete(f, 34 + ulen, 34, 6), 0);
	assert_true(t_l4_csum_ok(ip));
	/* offsets the peer controls are checked */
	assert_int_equal(sw_csum_complete(f, 34 + ulen, 34 + (unsigned)ulen, 0), -EINVAL);
	assert_int_equal(sw_csum_complete(f, 34 + ulen, 34, (unsigned)ulen - 1), -EINVAL);
	assert_int_equal(sw_csum_complete(f, 34 + ulen, 34, 0xffffffffu), -EINVAL);
	assert_int_equal(sw_csum_complete(f, 34 + ulen, 0xffffffffu, 6), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_reply),    cmocka_unit_test(test_arp_ignored),
		cmocka_unit_test(test_icmp_echo),    cmocka_unit_test(test_icmp_ignored),
		cmocka_unit_test(test_csum_complete),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
