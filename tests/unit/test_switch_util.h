/* Helpers for the ember-switch tests: big-endian field access, an Internet
 * checksum written independently of switch_ip.c (the plain RFC 1071 loop)
 * to verify the switch's IPv4/UDP/ICMP checksums, and frame builders. */
#ifndef TEST_SWITCH_UTIL_H
#define TEST_SWITCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t t_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline uint32_t t_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void t_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void t_put32(uint8_t *p, uint32_t v)
{
	t_put16(p, (uint16_t)(v >> 16));
	t_put16(p + 2, (uint16_t)v);
}

#define T_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* Sum of 16-bit words, carries folded at the end: RFC 1071 §4.1. */
static inline uint32_t t_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	while (n > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static inline uint16_t t_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IPv4 header checksum of the packet at ip verifies (sums to ~0). */
static inline bool t_ip_csum_ok(const uint8_t *ip)
{
	return t_fold(t_sum(0, ip, (size_t)(ip[0] & 15) * 4)) == 0;
}

/* The UDP (17) or TCP (6) checksum with its pseudo header verifies. */
static inline bool t_l4_csum_ok(const uint8_t *ip)
{
	size_t hl = (size_t)(ip[0] & 15) * 4, l4 = t_be16(ip + 2) - hl;
	uint32_t s = t_sum(0, ip + 12, 8) + ip[9] + (uint32_t)l4;

	return t_fold(t_sum(s, ip + hl, l4)) == 0;
}

/* Ethernet header. */
static inline void t_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	t_put16(f + 12, type);
}

/* IPv4 header (20 bytes) with a correct checksum. */
static inline void t_ipv4(uint8_t *ip, uint8_t proto, uint32_t src, uint32_t dst, size_t l4len)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	t_put16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = proto;
	t_put32(ip + 12, src);
	t_put32(ip + 16, dst);
	t_put16(ip + 10, t_fold(t_sum(0, ip, 20)));
}

#endif
