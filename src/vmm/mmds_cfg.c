/* PUT /mmds/config and the config file's "mmds-config": Firecracker's
 * MmdsConfig checked like serde, then validated like set_mmds_config(). */
#include "ember/mmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/json_util.h"
#include "mmds_internal.h"

#define CFG_ERR "MMMDS config error: " /* (sic) Firecracker's VmmActionError text */

static const char *const versions[] = { "V1", "V2", NULL };

/* Declaration order is serde's; ipv4_address (Option<Ipv4Addr>) is typed
 * by check_ip(). */
static const struct jx_field fields[] = {
	{ .name = "version", .kind = JX_ENUM, .variants = versions },
	{ .name = "network_interfaces", .kind = JX_SEQ, .flags = JX_REQ, .elem = JX_STR },
	{ .name = "ipv4_address", .kind = JX_ANY, .flags = JX_NULL },
	{ .name = "imds_compat", .kind = JX_BOOL },
};
static const struct jx_struct spec = { "MmdsConfig", fields, JX_NFIELDS(fields) };

static struct mmds_cfg cfg;

/* Rust's Ipv4Addr::from_str: exactly four decimal octets of 1-3 digits,
 * no leading zeros, each <= 255. */
static int parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t addr = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		if (part && (i >= len || s[i++] != '.'))
			return -EINVAL;
		while (i < len && digits < 3 && s[i] >= '0' && s[i] <= '9') {
			if (digits && v == 0)
				return -EINVAL; /* leading zero */
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (!digits || v > 255)
			return -EINVAL;
		addr = addr << 8 | v;
	}
	*out = addr;
	return i == len ? 0 : -EINVAL;
}

static int check_ip(const json_t *v, uint32_t *out, char *err, size_t errlen)
{
	char what[128];

	*out = MMDS_DEFAULT_IPV4;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		jx_describe(v, what, sizeof(what));
		return jx_err(err, errlen, "invalid type: %s, expected IPv4 address", what);
	}
	if (parse_ipv4(json_string_value(v), json_string_length(v), out))
		return jx_err(err, errlen, "invalid IPv4 address syntax");
	return 0;
}

int mmds_cfg_check(const json_t *body, char *err, size_t errlen)
{
	uint32_t ip;

	if (jx_check(body, &spec, err, errlen))
		return -EINVAL;
	return check_ip(json_object_get(body, "ipv4_address"), &ip, err, errlen);
}

/* Firecracker's is_link_local_valid(): 169.254.0.0/16 minus the first and
 * last /24, which RFC 3927 reserves. */
static bool link_local(uint32_t ip)
{
	unsigned third = ip >> 8 & 0xff;

	return (ip >> 16) == 0xa9fe && third != 0 && third != 255;
}

static void free_ifaces(char **ifaces, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ifaces[i]);
	free(ifaces);
}

/* The ids in request order without repeats; NULL when out of memory. */
static char **copy_ifaces(const json_t *list, size_t *n)
{
	char **out = calloc(json_array_size(list) + 1, sizeof(*out));
	size_t i, j;

	*n = 0;
	for (i = 0; out && i < json_array_size(list); i++) {
		const char *id = json_string_value(json_array_get(list, i));

		for (j = 0; j < *n && strcmp(out[j], id); j++)
			;
		if (j < *n)
			continue;
		if (!(out[(*n)++] = strdup(id))) {
			free_ifaces(out, *n);
			return NULL;
		}
	}
	return out;
}

static int check_ifaces(const json_t *list, mmds_iface_exists_fn exists, void *ctx, char *err,
			size_t errlen)
{
	if (!json_array_size(list))
		return jx_err(err, errlen, CFG_ERR "The list of network interface IDs that allow "
			      "forwarding MMDS requests is empty.");
	for (size_t i = 0; i < json_array_size(list); i++) {
		if (!exists || !exists(ctx, json_string_value(json_array_get(list, i))))
			return jx_err(err, errlen, CFG_ERR "The list of network interface IDs "
				      "provided contains at least one ID that does not correspond "
				      "to any existing network interface.");
	}
	return 0;
}

int mmds_cfg_apply(const json_t *body, mmds_iface_exists_fn iface_exists, void *ctx, char *err,
		   size_t errlen)
{
	const json_t *list = json_object_get(body, "network_interfaces");
	uint32_t ip;
	size_t n;
	char **ifaces;

	if (jx_check(body, &spec, err, errlen) ||
	    check_ip(json_object_get(body, "ipv4_address"), &ip, err, errlen)) {
		jx_wrap(err, errlen, JX_DESER_PREFIX, ".");
		return -EINVAL;
	}
	/* Firecracker's order: address, then the list, then the ids. */
	if (!link_local(ip))
		return jx_err(err, errlen, CFG_ERR "The MMDS IPv4 address is not link local.");
	if (check_ifaces(list, iface_exists, ctx, err, errlen))
		return -EINVAL;
	if (!(ifaces = copy_ifaces(list, &n)))
		return jx_err(err, errlen, CFG_ERR "out of memory");
	free_ifaces(cfg.ifaces, cfg.n_ifaces);
	cfg = (struct mmds_cfg){
		.set = true,
		.version = (enum mmds_version)jx_get_enum(body, "version", versions, MMDS_V1),
		.ipv4 = ip,
		.imds_compat = jx_get_bool(body, "imds_compat", false),
		.n_ifaces = n,
		.ifaces = ifaces,
	};
	mmds_store_create();
	return 0;
}

const struct mmds_cfg *mmds_cfg_get(void)
{
	return cfg.set ? &cfg : NULL;
}

json_t *mmds_cfg_json(void)
{
	char ip[16];
	json_t *list;

	if (!cfg.set)
		return json_null();
	snprintf(ip, sizeof(ip), "%u.%u.%u.%u", cfg.ipv4 >> 24, cfg.ipv4 >> 16 & 0xff,
		 cfg.ipv4 >> 8 & 0xff, cfg.ipv4 & 0xff);
	list = json_array();
	for (size_t i = 0; list && i < cfg.n_ifaces; i++) {
		if (json_array_append_new(list, json_string(cfg.ifaces[i]))) {
			json_decref(list);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o, s:s, s:b}", "version", versions[cfg.version],
			 "network_interfaces", list, "ipv4_address", ip, "imds_compat",
			 cfg.imds_compat);
}

void mmds_cfg_reset(void)
{
	free_ifaces(cfg.ifaces, cfg.n_ifaces);
	memset(&cfg, 0, sizeof(cfg));
}
