/* switch_cfg*.c: every setting's syntax and range, the JSON file (keys,
 * types, unknown keys), flags over the file (--dns replaces the file's
 * list), and the checks across settings, --router's among them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ember/switch.h"
#include "test_switch_util.h"

static int set(struct sw_cfg *c, const char *k, const char *v)
{
	char err[256];

	return sw_cfg_set(c, k, v, err, sizeof(err));
}

static void test_setters(void **state)
{
	struct sw_cfg c;
	static const uint8_t mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

	sw_cfg_defaults(&c);
	assert_int_equal(c.lease_s, SW_DEF_LEASE_S);
	assert_int_equal(c.aging_s, SW_DEF_AGING_S);
	assert_int_equal(c.spin_us, SW_DEF_SPIN_US);
	assert_true(c.dhcp);
	assert_int_equal(set(&c, "gateway", "192.168.7.1/24"), 0);
	assert_int_equal(c.gw.ip, T_IP(192, 168, 7, 1));
	assert_int_equal(c.gw.prefix, 24);
	assert_int_equal(set(&c, "gateway", "192.168.7.0/24"), -EINVAL); /* network */
	assert_int_equal(set(&c, "gateway", "192.168.7.255/24"), -EINVAL); /* broadcast */
	assert_int_equal(set(&c, "gateway", "192.168.7.1/31"), -EINVAL);
	assert_int_equal(set(&c, "gateway", "192.168.7.1"), -EINVAL);
	assert_int_equal(set(&c, "gateway", "192.168.7/24"), -EINVAL);
	assert_int_equal(set(&c, "gateway-mac", "02:aa:bb:cc:dd:ee"), 0);
	assert_memory_equal(c.gw.mac, mac, 6);
	assert_int_equal(set(&c, "gateway-mac", "01:aa:bb:cc:dd:ee"), -EINVAL); /* group */
	assert_int_equal(set(&c, "gateway-mac", "02:aa:bb:cc:dd"), -EINVAL);
	assert_int_equal(set(&c, "gateway-mac", "02:aa:bb:cc:dd:ee:ff"), -EINVAL);
	assert_int_equal(set(&c, "dhcp-range", "192.168.7.10-192.168.7.20"), 0);
	assert_int_equal(c.pool_start, T_IP(192, 168, 7, 10));
	assert_int_equal(c.pool_end, T_IP(192, 168, 7, 20));
	assert_int_equal(set(&c, "dhcp-range", "192.168.7.20-192.168.7.10"), -EINVAL);
	assert_int_equal(set(&c, "dns", "1.1.1.1,8.8.8.8"), 0);
	assert_int_equal(set(&c, "dns", "9.9.9.9"), 0);
	assert_int_equal(c.ndns, 3);
	assert_int_equal(c.dns[2], T_IP(9, 9, 9, 9));
	assert_int_equal(set(&c, "dns", "1.2.3.4,5.6.7.8"), -EINVAL); /* a fifth */
	assert_int_equal(set(&c, "dns", "1.2.3"), -EINVAL);
	assert_false(c.router_set);
	assert_int_equal(sw_cfg_router(&c), T_IP(192, 168, 7, 1)); /* the gateway's */
	assert_int_equal(set(&c, "router", "192.168.7.2"), 0);
	assert_true(c.router_set);
	assert_int_equal(sw_cfg_router(&c), T_IP(192, 168, 7, 2));
	assert_int_equal(set(&c, "router", "none"), 0);
	assert_true(c.router_set);
	assert_int_equal(sw_cfg_router(&c), 0);
	assert_int_equal(set(&c, "router", "0.0.0.0"), -EINVAL); /* "none" is spelled out */
	assert_int_equal(set(&c, "router", "None"), -EINVAL);
	assert_int_equal(set(&c, "router", "192.168.7"), -EINVAL);
	assert_int_equal(set(&c, "router", "192.168.7.2/24"), -EINVAL);
	assert_int_equal(set(&c, "router", ""), -EINVAL);
	assert_int_equal(sw_cfg_router(&c), 0); /* failed sets changed nothing */
	assert_int_equal(set(&c, "lease-seconds", "600"), 0);
	assert_int_equal(c.lease_s, 600);
	assert_int_equal(set(&c, "lease-seconds", "9"), -EINVAL);
	assert_int_equal(set(&c, "lease-seconds", "-5"), -EINVAL);
	assert_int_equal(set(&c, "lease-seconds", "60s"), -EINVAL);
	assert_int_equal(set(&c, "mac-aging-seconds", "0"), 0);
	assert_int_equal(set(&c, "spin-us", "1001"), -EINVAL);
	assert_int_equal(set(&c, "spin-us", "0"), 0);
	assert_int_equal(set(&c, "dhcp", "false"), 0);
	assert_false(c.dhcp);
	assert_int_equal(set(&c, "dhcp", "maybe"), -EINVAL);
	assert_int_equal(set(&c, "level", "Debug"), 0);
	assert_int_equal(set(&c, "level", "Loud"), -EINVAL);
	assert_int_equal(set(&c, "tap", "0123456789abcdef"), -EINVAL); /* > IFNAMSIZ - 1 */
	assert_int_equal(set(&c, "tap", ""), -EINVAL);
	assert_int_equal(set(&c, "frobnicate", "1"), -EINVAL);
}

static void test_finish(void **state)
{
	struct sw_cfg c;
	char err[256];

	sw_cfg_defaults(&c);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--socket"));
	assert_int_equal(set(&c, "socket", "/tmp/x.sock"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(set(&c, "dns", "1.1.1.1"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL); /* no gateway */
	assert_int_equal(set(&c, "gateway", "10.1.0.1/16"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(set(&c, "dhcp-range", "10.1.0.2-10.1.200.2"), 0); /* too big */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
	assert_int_equal(set(&c, "dhcp-range", "10.2.0.2-10.2.0.9"), 0); /* elsewhere */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
	assert_int_equal(set(&c, "dhcp", "false"), 0); /* no DHCP: no pool to check */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
}

/* --router must be a host address of the gateway's subnet, whichever of
 * the two came first; it needs a gateway; "none" always passes. */
static void test_finish_router(void **state)
{
	struct sw_cfg c;
	char err[256];

	sw_cfg_defaults(&c);
	assert_int_equal(set(&c, "socket", "/tmp/x.sock"), 0);
	assert_int_equal(set(&c, "router", "10.0.7.2"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL); /* no gateway */
	assert_non_null(strstr(err, "--router"));
	assert_int_equal(set(&c, "gateway", "10.0.7.1/24"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(sw_cfg_router(&c), T_IP(10, 0, 7, 2));
	assert_int_equal(set(&c, "router", "10.0.8.2"), 0); /* another subnet */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--router 10.0.8.2"));
	assert_non_null(strstr(err, "10.0.7.0/24"));
	assert_int_equal(set(&c, "router", "10.0.7.0"), 0); /* network */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
	assert_int_equal(set(&c, "router", "10.0.7.255"), 0); /* broadcast */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
	assert_int_equal(set(&c, "dhcp", "false"), 0); /* still a mistake without DHCP */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
	assert_int_equal(set(&c, "dhcp", "true"), 0);
	assert_int_equal(set(&c, "router", "10.0.7.254"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(set(&c, "router", "10.0.7.1"), 0); /* the gateway itself: allowed */
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(set(&c, "router", "none"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(sw_cfg_router(&c), 0);
	assert_int_equal(set(&c, "gateway", "10.9.0.1/30"), 0); /* .0-.3: only .1 and .2 */
	assert_int_equal(set(&c, "router", "10.9.0.2"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(set(&c, "router", "10.9.0.3"), 0);
	assert_int_equal(sw_cfg_finish(&c, err, sizeof(err)), -EINVAL);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/sw-cfg-test.%d.json", getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_json(void **state)
{
	struct sw_cfg c;
	char err[256];
	char *p;

	sw_cfg_defaults(&c);
	p = write_tmp("{\"socket\": \"/run/s\", \"tap\": \"up0\", \"gateway\": \"10.0.0.1/24\","
		      " \"dns\": [\"10.0.0.53\", \"1.1.1.1\"], \"lease_seconds\": 120,"
		      " \"mac_aging_seconds\": 30, \"dhcp\": true, \"spin_us\": \"5\"}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), 0);
	assert_string_equal(c.socket, "/run/s");
	assert_string_equal(c.tap, "up0");
	assert_int_equal(c.ndns, 2);
	assert_int_equal(c.lease_s, 120);
	assert_int_equal(c.aging_s, 30);
	assert_int_equal(c.spin_us, 5);
	assert_false(c.router_set);
	p = write_tmp("{\"router\": \"10.0.0.2\"}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), 0);
	assert_int_equal(sw_cfg_router(&c), T_IP(10, 0, 0, 2));
	p = write_tmp("{\"router\": \"none\"}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), 0);
	assert_true(c.router_set);
	assert_int_equal(sw_cfg_router(&c), 0);
	p = write_tmp("{\"router\": null}"); /* "none" is the one spelling */
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "router"));
	p = write_tmp("{\"router\": false}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	p = write_tmp("{\"socket\": \"/run/s\", \"lease-seconds\": 120}"); /* flag spelling */
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	p = write_tmp("{\"sockets\": \"/run/s\"}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sockets"));
	p = write_tmp("{\"lease_seconds\": 1.5}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	p = write_tmp("{\"gateway\": [\"10.0.0.1/24\"]}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	p = write_tmp("[1, 2]");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	p = write_tmp("{\"socket\": \"a\", \"socket\": \"b\"}");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	p = write_tmp("{\"socket\": ");
	assert_int_equal(sw_cfg_load(&c, p, err, sizeof(err)), -EINVAL);
	unlink(p);
}

/* A writable argv (getopt may permute it). */
static char **mk(const char *const *in)
{
	size_t n = 0;
	char **out;

	while (in[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = strdup(in[i]);
	return out;
}

static void rm(char **v)
{
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

static void test_args(void **state)
{
	struct sw_cfg c;
	char *p = write_tmp("{\"socket\": \"/run/file\", \"gateway\": \"10.0.0.1/24\","
			    " \"dns\": [\"10.0.0.53\"], \"lease_seconds\": 120}");
	const char *okv[] = { "ember-switch", "--config", p, "--dns", "1.1.1.1", "--dns", "8.8.8.8",
			      "--socket", "/run/flag", "--no-dhcp", NULL };
	const char *b1[] = { "ember-switch", "--socket", "/x", "--bogus", NULL };
	const char *b2[] = { "ember-switch", "--socket", "/x", "stray", NULL };
	const char *b3[] = { "ember-switch", "--socket", NULL };
	const char *rv[] = { "ember-switch", "--config", p, "--router", "10.0.0.2", NULL };
	const char *b4[] = { "ember-switch", "--config", p, "--router", "10.0.1.2", NULL };
	const char *b5[] = { "ember-switch", "--socket", "/x", "--router", "10.0.0.2", NULL };
	char **ok = mk(okv), **bad1 = mk(b1), **bad2 = mk(b2), **bad3 = mk(b3);
	char **rok = mk(rv), **bad4 = mk(b4), **bad5 = mk(b5);

	assert_int_equal(sw_cfg_args(&c, 10, ok), -1);
	assert_string_equal(c.socket, "/run/flag"); /* the flag wins */
	assert_int_equal(c.lease_s, 120);	     /* the file's */
	assert_int_equal(c.ndns, 2);		     /* --dns replaced the file's list */
	assert_int_equal(c.dns[0], T_IP(1, 1, 1, 1));
	assert_int_equal(c.dns[1], T_IP(8, 8, 8, 8));
	assert_false(c.dhcp);
	assert_int_equal(sw_cfg_args(&c, 4, bad1), SW_EXIT_BAD_ARGS);
	assert_int_equal(sw_cfg_args(&c, 4, bad2), SW_EXIT_BAD_ARGS);
	assert_int_equal(sw_cfg_args(&c, 2, bad3), SW_EXIT_BAD_ARGS);
	assert_int_equal(sw_cfg_args(&c, 5, rok), -1);
	assert_true(c.dhcp);
	assert_int_equal(sw_cfg_router(&c), T_IP(10, 0, 0, 2));
	assert_int_equal(sw_cfg_args(&c, 5, bad4), SW_EXIT_BAD_ARGS); /* outside 10.0.0.0/24 */
	assert_int_equal(sw_cfg_args(&c, 5, bad5), SW_EXIT_BAD_ARGS); /* no gateway */
	unlink(p);
	rm(ok), rm(bad1), rm(bad2), rm(bad3), rm(rok), rm(bad4), rm(bad5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_finish_router),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_args),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
