/* ember-switch's command line and JSON config file. The file is applied
 * first, then the flags in order, both through sw_cfg_set(); a JSON key is
 * the flag's name with '_' for '-'. */
#include "ember/switch.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ember/vmm.h"

void sw_cfg_usage(FILE *f)
{
	fprintf(f,
		"Usage: ember-switch --socket PATH [options]\n"
		"\n"
		"A learning L2 switch for ember's virtio-net comms-ring backend: VMs attach\n"
		"through the control socket; optional TAP uplink to the host; optional\n"
		"gateway answering ARP, ICMP echo and DHCPv4 for one subnet.\n"
		"\n"
		"Options (JSON keys in --config are the names with '_' for '-'):\n"
		"  --socket PATH            control socket VMs connect to (required; a stale\n"
		"                           socket file is replaced; mode 0600)\n"
		"  --tap NAME               create TAP device NAME (IFF_VNET_HDR), bring it up and\n"
		"                           make it a port: the uplink to the host's stack\n"
		"  --gateway IP/PREFIX      the gateway's address and subnet (prefix 1-30): it\n"
		"                           answers ARP and ICMP echo for IP and serves DHCP;\n"
		"                           it does not route (see --router)\n"
		"  --gateway-mac MAC        the gateway's MAC (default 02:45:4d:00:00:01)\n"
		"  --no-dhcp                gateway without the DHCP server (JSON \"dhcp\": false)\n"
		"  --dhcp-range START-END   DHCP pool, inside the subnet, at most %u addresses\n"
		"                           (default: the subnet's first %u host addresses; the\n"
		"                           gateway's own address is never leased)\n"
		"  --router IP|none         the default router DHCP offers (option 3): an address\n"
		"                           in the subnet that forwards, e.g. the host's on the\n"
		"                           --tap uplink doing NAT; never leased. none: offer\n"
		"                           no router (default: the gateway's IP, which does\n"
		"                           not forward)\n"
		"  --dns IP[,IP...]         DNS servers for DHCP option 6 (up to %u; repeatable)\n"
		"  --lease-seconds N        DHCP lease time, 10-2147483647 (default %u);\n"
		"                           renewal T1 = N/2, rebinding T2 = 7N/8\n"
		"  --mac-aging-seconds N    forget a MAC not seen for N s; 0 never (default %u)\n"
		"  --spin-us N              after traffic, poll the rings N us before sleeping,\n"
		"                           0-%u (default %u; 0 sleeps at once)\n"
		"  --stats-file PATH        on SIGUSR1, also write the counters to PATH\n"
		"  --level LEVEL            log level: Error, Warning, Info (default), Debug,\n"
		"                           Trace or Off (logs go to stderr)\n"
		"  --config FILE            read settings from a JSON object first, e.g.\n"
		"                           {\"socket\": \"/run/sw.sock\", \"gateway\": \"10.0.0.1/24\",\n"
		"                            \"dns\": [\"10.0.0.1\"], \"lease_seconds\": 600}\n"
		"  --version                print the version and exit\n"
		"  --help                   print this help and exit\n"
		"\n"
		"Signals: SIGUSR1 prints one JSON line of counters to stdout (per port: rx/tx\n"
		"frames and bytes, drops, spoofed sources, offload drops; the MAC table; the\n"
		"DHCP server). SIGTERM or SIGINT: disconnect every port, remove the socket,\n"
		"exit 0.\n"
		"Exit status: 0 clean stop, 1 runtime failure, %d bad arguments or config.\n",
		SW_DHCP_POOL_MAX, SW_DHCP_POOL_MAX, SW_DNS_MAX, SW_DEF_LEASE_S, SW_DEF_AGING_S,
		SW_MAX_SPIN_US, SW_DEF_SPIN_US, SW_EXIT_BAD_ARGS);
}

/* A scalar JSON value as the text a flag would carry. */
static int json_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		return -EINVAL;
	return 0;
}

static int load_key(struct sw_cfg *c, const char *key, const json_t *v, char *err,
		    size_t errlen)
{
	char name[32], text[4096];
	size_t i;

	for (i = 0; key[i] && i < sizeof(name) - 1; i++)
		name[i] = key[i] == '_' ? '-' : key[i];
	name[i] = 0;
	if (key[i] || strchr(key, '-') || !strcmp(name, "config")) {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -EINVAL;
	}
	if (json_is_array(v) && !strcmp(name, "dns")) {
		size_t k;
		const json_t *e;

		c->ndns = 0;
		json_array_foreach(v, k, e) {
			if (json_text(e, text, sizeof(text)) ||
			    sw_cfg_set(c, name, text, err, errlen))
				return -EINVAL;
		}
		return 0;
	}
	if (json_text(v, text, sizeof(text))) {
		snprintf(err, errlen, "key '%s': expected a string, number or boolean", key);
		return -EINVAL;
	}
	if (!strcmp(name, "dns"))
		c->ndns = 0;
	return sw_cfg_set(c, name, text, err, errlen);
}

int sw_cfg_load(struct sw_cfg *c, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	const char *key;
	int rc = 0;

	if (!root) {
		snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: expected a JSON object", path);
		rc = -EINVAL;
	}
	json_object_foreach(root, key, v) {
		if (rc || (rc = load_key(c, key, v, err, errlen)))
			break;
	}
	json_decref(root);
	return rc;
}

enum { OPT_HELP = 1000, OPT_VERSION, OPT_NO_DHCP, OPT_CONFIG };

static const struct option opts[] = {
	{ "socket", required_argument, NULL, 0 },
	{ "tap", required_argument, NULL, 0 },
	{ "gateway", required_argument, NULL, 0 },
	{ "gateway-mac", required_argument, NULL, 0 },
	{ "dhcp-range", required_argument, NULL, 0 },
	{ "dns", required_argument, NULL, 0 },
	{ "router", required_argument, NULL, 0 },
	{ "lease-seconds", required_argument, NULL, 0 },
	{ "mac-aging-seconds", required_argument, NULL, 0 },
	{ "spin-us", required_argument, NULL, 0 },
	{ "stats-file", required_argument, NULL, 0 },
	{ "level", required_argument, NULL, 0 },
	{ "no-dhcp", no_argument, NULL, OPT_NO_DHCP },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *msg)
{
	fprintf(stderr, "ember-switch: %s; see --help\n", msg);
	return SW_EXIT_BAD_ARGS;
}

/* Flags after the file: the first --dns replaces the file's list. */
static int apply_flags(struct sw_cfg *c, int argc, char **argv, char *err, size_t errlen)
{
	bool dns_seen = false;
	int o, idx;

	optind = 0; /* glibc: a full rescan */
	while ((o = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		const char *key = opts[idx].name, *val = optarg;

		if (o == OPT_CONFIG)
			continue;
		if (o == OPT_NO_DHCP) {
			key = "dhcp";
			val = "false";
		}
		if (!strcmp(key, "dns") && !dns_seen) {
			dns_seen = true;
			c->ndns = 0;
		}
		if (sw_cfg_set(c, key, val, err, errlen))
			return -EINVAL;
	}
	return 0;
}

int sw_cfg_args(struct sw_cfg *c, int argc, char **argv)
{
	const char *config = NULL;
	char err[256];
	int o, idx;

	sw_cfg_defaults(c);
	opterr = 0;
	optind = 0;
	while ((o = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (o == OPT_HELP) {
			sw_cfg_usage(stdout);
			return 0;
		}
		if (o == OPT_VERSION) {
			printf("ember-switch v%s\n", VMM_VERSION);
			return 0;
		}
		if (o == '?') {
			char msg[160];

			snprintf(msg, sizeof(msg), "invalid or incomplete argument '%s'",
				 argv[optind - 1]);
			return bad(msg);
		}
		if (o == OPT_CONFIG)
			config = optarg;
	}
	if (optind < argc)
		return bad("unexpected argument");
	if ((config && sw_cfg_load(c, config, err, sizeof(err))) ||
	    apply_flags(c, argc, argv, err, sizeof(err)) || sw_cfg_finish(c, err, sizeof(err)))
		return bad(err);
	return -1;
}
