/* Network interfaces: PUT /network-interfaces/{id} (and the config file's
 * "network-interfaces"), PATCH validation, GET /vm/config form.
 *
 * ember extension (additive, design.md §6): `comms_socket`, the path of a
 * comms ring peer's UNIX socket (e.g. ember-switch), as the backend instead
 * of a TAP. An interface names exactly one of `host_dev_name` and
 * `comms_socket`; without comms_socket, host_dev_name is required exactly as
 * in Firecracker's schema. The TAP itself is opened by the net device at
 * boot; here its name is checked the way TUNSETIFF would judge it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "resources_internal.h"

static const struct jx_field net_fields[] = {
	{ .name = "iface_id", .kind = JX_STR, .flags = JX_REQ },
	/* Required unless comms_socket is given: judged after the shape check. */
	{ .name = "host_dev_name", .kind = JX_STR },
	{ .name = "guest_mac", .kind = JX_STR, .flags = JX_NULL },
	{ .name = "mtu", .kind = JX_U16, .flags = JX_NULL },
	{ .name = "rx_rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
	{ .name = "tx_rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
	{ .name = "comms_socket", .kind = JX_STR, .flags = JX_NULL },
};
static const struct jx_struct net_spec = { "NetworkInterfaceConfig", net_fields,
					   JX_NFIELDS(net_fields) };

static const struct jx_field update_fields[] = {
	{ .name = "iface_id", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "rx_rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
	{ .name = "tx_rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
};
static const struct jx_struct update_spec = { "NetworkInterfaceUpdateConfig", update_fields,
					      JX_NFIELDS(update_fields) };

#define CREATE "Could not create the network device: "
#define IFNAME_MAX 16 /* IFNAMSIZ, including the NUL */
#define IFREQ_FMT "Error while creating ifreq structure: %s (os error %d). Invalid TUN/TAP " \
		  "Backend provided by %s. Check our documentation on setting up the network " \
		  "devices."

void res_net_clear(struct res_net *n)
{
	free(n->id);
	free(n->host_dev_name);
	free(n->comms_socket);
	*n = (struct res_net){ 0 };
}

static int find(const struct vm_resources *res, const char *id)
{
	for (size_t i = 0; i < res->n_nets; i++)
		if (!strcmp(res->nets[i].id, id))
			return (int)i;
	return -1;
}

/* Firecracker's MacAddr::from_str: six colon-separated pairs of hex digits. */
static bool parse_mac(const char *s, uint8_t mac[RES_MAC_LEN])
{
	for (int i = 0; i < RES_MAC_LEN; i++, s += 3) {
		char hex[3] = { s[0], s[0] ? s[1] : 0, 0 };
		if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
			return false;
		if (s[2] != (i == RES_MAC_LEN - 1 ? '\0' : ':'))
			return false;
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	return true;
}

static int net_check(const json_t *obj, char *err, size_t errlen)
{
	uint8_t mac[RES_MAC_LEN];
	int rc = jx_check(obj, &net_spec, err, errlen);
	if (rc)
		return rc;
	const char *m = jx_get_str(obj, "guest_mac", NULL);
	if (m && !parse_mac(m, mac))
		return jx_err(err, errlen, "The provided MAC address is invalid.");
	bool tap = jx_has(obj, "host_dev_name"), comms = jx_has(obj, "comms_socket");
	if (!tap && !comms)
		return jx_err(err, errlen, "missing field `host_dev_name`");
	if (tap && comms)
		return jx_err(err, errlen, "`host_dev_name` and `comms_socket` are mutually "
			      "exclusive: give exactly one");
	return 0;
}

/* What TUNSETIFF would say: too long is Firecracker's own check; the
 * kernel's dev_valid_name() refuses the rest with EINVAL. An empty name or
 * a '%' template would make the kernel invent a name: refused too. */
static int ifname_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n >= IFNAME_MAX)
		return jx_err(err, errlen, CREATE "Open tap device failed: Invalid interface name");
	bool bad = !n || !strcmp(name, ".") || !strcmp(name, "..");
	for (const char *p = name; *p; p++)
		bad |= *p == '/' || *p == ':' || *p == '%' || (unsigned char)*p <= ' ' || *p == 0x7f;
	if (!bad)
		return 0;
	return jx_err(err, errlen, CREATE "Open tap device failed: " IFREQ_FMT, strerror(EINVAL),
		      EINVAL, name);
}

/* Another interface (not the one being replaced) holding the same guest
 * MAC, or the same TAP, which TUNSETIFF would refuse with EBUSY. */
static const struct res_net *clash(const struct vm_resources *res, const struct res_net *n,
				   bool tap)
{
	for (size_t i = 0; i < res->n_nets; i++) {
		const struct res_net *o = &res->nets[i];
		if (!strcmp(o->id, n->id))
			continue;
		if (!tap && n->has_mac && o->has_mac && !memcmp(o->mac, n->mac, RES_MAC_LEN))
			return o;
		if (tap && n->host_dev_name && o->host_dev_name &&
		    !strcmp(o->host_dev_name, n->host_dev_name))
			return o;
	}
	return NULL;
}

/* In Firecracker's order: MAC conflict (NetBuilder::build), then the TAP
 * (Tap::open_named), then the MTU (Net::new_with_tap); ember's own checks last. */
static int values_check(const struct vm_resources *res, const struct res_net *n, bool has_mtu,
			char *err, size_t errlen)
{
	const size_t sun_max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int rc;

	if (clash(res, n, false))
		return jx_err(err, errlen, "The MAC address is already in use: "
			      "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
			      n->mac[3], n->mac[4], n->mac[5]);
	if (n->host_dev_name && (rc = ifname_check(n->host_dev_name, err, errlen)))
		return rc;
	if (clash(res, n, true))
		return jx_err(err, errlen, CREATE "Open tap device failed: " IFREQ_FMT,
			      strerror(EBUSY), EBUSY, n->host_dev_name);
	if (has_mtu && n->mtu < 68)
		return jx_err(err, errlen, CREATE "MTU %u is out of range [68, 65535]", n->mtu);
	if (n->comms_socket && (!*n->comms_socket || strlen(n->comms_socket) >= sun_max))
		return jx_err(err, errlen, CREATE "comms_socket must be a non-empty path shorter "
			      "than %zu bytes (sockaddr_un).", sun_max);
	return find(res, n->id) < 0 ? res_virtio_room(res, err, errlen) : 0;
}

static int net_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	bool ok = true;
	struct res_net n = { .mtu = (uint16_t)jx_get_uint(obj, "mtu", 0) };
	const char *mac = jx_get_str(obj, "guest_mac", NULL);
	n.has_mac = mac && parse_mac(mac, n.mac);
	res_rl_from_json(jx_get(obj, "rx_rate_limiter"), &n.rx);
	res_rl_from_json(jx_get(obj, "tx_rate_limiter"), &n.tx);
	n.id = res_dup(jx_get_str(obj, "iface_id", ""), &ok);
	n.host_dev_name = res_dup(jx_get_str(obj, "host_dev_name", NULL), &ok);
	n.comms_socket = res_dup(jx_get_str(obj, "comms_socket", NULL), &ok);
	int rc = ok ? values_check(res, &n, jx_has(obj, "mtu"), err, errlen) : res_oom(err, errlen);
	if (rc) {
		res_net_clear(&n);
		return rc;
	}
	/* NetBuilder::build: a replaced interface is swap_remove'd and the new
	 * one appended, so ordering (guest ethN names) matches Firecracker. */
	int pos = find(res, n.id);
	if (pos >= 0) {
		res_net_clear(&res->nets[pos]);
		res->nets[pos] = res->nets[--res->n_nets];
	}
	res->nets[res->n_nets++] = n;
	return 0;
}

const struct res_kind res_net_kind = {
	.key = "network-interfaces", .api_prefix = "Network config error: ",
	.file_prefix = "Network device error: ", .id_field = "iface_id", .name_ids = true,
	.check = net_check, .apply = net_apply,
};

int res_put_net(struct vm_resources *res, const char *path_id, const json_t *body, char *err,
		size_t errlen)
{
	return res_api_put(res, &res_net_kind, path_id, body, err, errlen);
}

int res_patch_net(struct vm_resources *res, const char *path_id, const json_t *body,
		  struct res_net_update *out, char *err, size_t errlen)
{
	if (!res || !out)
		return jx_err(err, errlen, "no resources");
	*out = (struct res_net_update){ 0 };
	int rc = res_api_patch_check(&res_net_kind, &update_spec, path_id, body, err, errlen);
	if (rc)
		return rc;
	int pos = find(res, path_id);
	if (pos < 0)
		return jx_err(err, errlen, "Network config error: Unable to update the net device: "
			      "Failed perform action on device: Device not found");
	out->index = (size_t)pos;
	res_rl_update_from_json(jx_get(body, "rx_rate_limiter"), &out->rx);
	res_rl_update_from_json(jx_get(body, "tx_rate_limiter"), &out->tx);
	return 0;
}

void res_net_update_commit(struct vm_resources *res, const struct res_net_update *u)
{
	if (!res || !u || u->index >= res->n_nets)
		return;
	res_rl_update_apply(&res->nets[u->index].rx, &u->rx);
	res_rl_update_apply(&res->nets[u->index].tx, &u->tx);
}

/* NetworkInterfaceConfig as Firecracker serializes it; a comms ring
 * interface shows comms_socket instead of host_dev_name. */
static json_t *net_json(const struct res_net *n)
{
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
		 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	json_t *o = json_pack("{s:s}", "iface_id", n->id);
	if (o && (n->host_dev_name ? json_object_set_new(o, "host_dev_name",
							 json_string(n->host_dev_name))
				   : json_object_set_new(o, "comms_socket",
							 json_string(n->comms_socket))))
		goto err;
	if (o && (json_object_set_new(o, "guest_mac", n->has_mac ? json_string(mac) : json_null()) ||
		  json_object_set_new(o, "mtu", n->mtu ? json_integer(n->mtu) : json_null()) ||
		  json_object_set_new(o, "rx_rate_limiter", res_rl_json(&n->rx)) ||
		  json_object_set_new(o, "tx_rate_limiter", res_rl_json(&n->tx))))
		goto err;
	return o;
err:
	json_decref(o);
	return NULL;
}

json_t *res_nets_json(const struct vm_resources *res)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < res->n_nets; i++) {
		if (json_array_append_new(a, net_json(&res->nets[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
