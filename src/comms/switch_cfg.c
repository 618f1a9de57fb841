/* ember-switch's settings: one setter per key shared by the flags and the
 * JSON file (switch_cfg_args.c), then the checks across keys. */
#include "ember/switch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/log.h"

void sw_cfg_defaults(struct sw_cfg *c)
{
	static const uint8_t gw_mac[SW_ETH_ALEN] = { 0x02, 0x45, 0x4d, 0x00, 0x00, 0x01 };

	memset(c, 0, sizeof(*c));
	memcpy(c->gw.mac, gw_mac, SW_ETH_ALEN);
	c->dhcp = true;
	c->lease_s = SW_DEF_LEASE_S;
	c->aging_s = SW_DEF_AGING_S;
	c->spin_us = SW_DEF_SPIN_US;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int sw_parse_ipv4(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

int sw_parse_mac(const char *s, uint8_t mac[SW_ETH_ALEN])
{
	unsigned b[SW_ETH_ALEN];
	int n = 0;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &n) != 6 || n != 17)
		return -EINVAL;
	for (int i = 0; i < SW_ETH_ALEN; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int copy_str(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= size)
		return -EINVAL;
	memcpy(dst, s, n + 1);
	return 0;
}

/* "a.b.c.d/p", p in 1..30, not the subnet's network or broadcast address. */
static int set_gateway(struct sw_cfg *c, const char *v)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	uint32_t mask, prefix;

	if (!slash || (size_t)(slash - v) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, v, (size_t)(slash - v));
	ip[slash - v] = 0;
	if (sw_parse_ipv4(ip, &c->gw.ip) || parse_u32(slash + 1, 1, 30, &prefix))
		return -EINVAL;
	mask = ~0u << (32 - prefix);
	if ((c->gw.ip & ~mask) == 0 || (c->gw.ip & ~mask) == ~mask)
		return -EINVAL;
	c->gw.prefix = prefix;
	c->gateway = true;
	return 0;
}

static int set_range(struct sw_cfg *c, const char *v)
{
	char a[INET_ADDRSTRLEN];
	const char *dash = strchr(v, '-');

	if (!dash || (size_t)(dash - v) >= sizeof(a))
		return -EINVAL;
	memcpy(a, v, (size_t)(dash - v));
	a[dash - v] = 0;
	if (sw_parse_ipv4(a, &c->pool_start) || sw_parse_ipv4(dash + 1, &c->pool_end) ||
	    !c->pool_start || c->pool_start > c->pool_end)
		return -EINVAL;
	return 0;
}

/* One or more addresses separated by commas, appended. */
static int add_dns(struct sw_cfg *c, const char *v)
{
	char buf[INET_ADDRSTRLEN];

	while (*v) {
		size_t n = strcspn(v, ",");

		if (!n || n >= sizeof(buf) || c->ndns >= SW_DNS_MAX)
			return -EINVAL;
		memcpy(buf, v, n);
		buf[n] = 0;
		if (sw_parse_ipv4(buf, &c->dns[c->ndns]))
			return -EINVAL;
		c->ndns++;
		v += n + (v[n] == ',');
	}
	return 0;
}

/* "none" or an address; whether it lies in the subnet is sw_cfg_finish's
 * question, since --gateway may come later. 0.0.0.0 would read as "none". */
static int set_router(struct sw_cfg *c, const char *v)
{
	uint32_t ip = 0;

	if (strcmp(v, "none") && (sw_parse_ipv4(v, &ip) || !ip))
		return -EINVAL;
	c->router = ip;
	c->router_set = true;
	return 0;
}

static int set_bool(bool *b, const char *v)
{
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		*b = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*b = false;
	else
		return -EINVAL;
	return 0;
}

static int set_level(struct sw_cfg *c, const char *v)
{
	enum log_level lvl;

	if (log_parse_level(v, &lvl))
		return -EINVAL;
	return copy_str(c->level, sizeof(c->level), v);
}

int sw_cfg_set(struct sw_cfg *c, const char *key, const char *val, char *err, size_t errlen)
{
	int rc;

	if (!strcmp(key, "socket"))
		rc = copy_str(c->socket, sizeof(c->socket), val);
	else if (!strcmp(key, "tap"))
		rc = copy_str(c->tap, sizeof(c->tap), val);
	else if (!strcmp(key, "stats-file"))
		rc = copy_str(c->stats_file, sizeof(c->stats_file), val);
	else if (!strcmp(key, "gateway"))
		rc = set_gateway(c, val);
	else if (!strcmp(key, "gateway-mac"))
		rc = sw_parse_mac(val, c->gw.mac) ||
		     sw_mac_is_multicast(c->gw.mac) || sw_mac_is_zero(c->gw.mac) ? -EINVAL : 0;
	else if (!strcmp(key, "dhcp"))
		rc = set_bool(&c->dhcp, val);
	else if (!strcmp(key, "dhcp-range"))
		rc = set_range(c, val);
	else if (!strcmp(key, "dns"))
		rc = add_dns(c, val);
	else if (!strcmp(key, "router"))
		rc = set_router(c, val);
	else if (!strcmp(key, "lease-seconds"))
		rc = parse_u32(val, 10, 0x7fffffff, &c->lease_s);
	else if (!strcmp(key, "mac-aging-seconds"))
		rc = parse_u32(val, 0, 1000000, &c->aging_s);
	else if (!strcmp(key, "spin-us"))
		rc = parse_u32(val, 0, SW_MAX_SPIN_US, &c->spin_us);
	else if (!strcmp(key, "level"))
		rc = set_level(c, val);
	else
		return fail(err, errlen, "unknown setting '%s'", key);
	if (rc)
		return fail(err, errlen, "invalid %s '%s'", key, val);
	return 0;
}

uint32_t sw_cfg_router(const struct sw_cfg *c)
{
	return c->router_set ? c->router : c->gw.ip;
}

static void fmt_ip(char *buf, uint32_t ip)
{
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static int check_router(const struct sw_cfg *c, char *err, size_t errlen)
{
	char ip[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN];

	if (!c->router || sw_router_ok(&c->gw, c->router))
		return 0;
	fmt_ip(ip, c->router);
	fmt_ip(net, c->gw.ip & ~0u << (32 - c->gw.prefix));
	return fail(err, errlen,
		    "--router %s must lie inside the gateway's subnet %s/%u and be neither "
		    "its network nor its broadcast address", ip, net, c->gw.prefix);
}

int sw_cfg_finish(struct sw_cfg *c, char *err, size_t errlen)
{
	struct sw_dhcp d;
	int rc;

	if (!c->socket[0])
		return fail(err, errlen, "--socket is required");
	if (!c->gateway && (c->pool_start || c->ndns || c->router_set))
		return fail(err, errlen, "--dhcp-range, --dns and --router need --gateway");
	if (!c->gateway)
		return 0;
	if ((rc = check_router(c, err, errlen)) || !c->dhcp)
		return rc;
	/* The DHCP server's own checks: the pool inside the subnet, not too big. */
	rc = sw_dhcp_init(&d, &c->gw, sw_cfg_router(c), c->pool_start, c->pool_end, c->dns,
			  c->ndns, c->lease_s);
	if (rc == -ENOMEM)
		return fail(err, errlen, "%s", strerror(ENOMEM));
	if (rc)
		return fail(err, errlen,
			    "--dhcp-range must lie inside the gateway's subnet, exclude its "
			    "network and broadcast addresses and hold at most %u addresses",
			    SW_DHCP_POOL_MAX);
	sw_dhcp_free(&d);
	return 0;
}
