/* ember-switch's counters on demand (SIGUSR1): one JSON object on one
 * line to stdout and, with --stats-file, the same object written to that
 * file through a temporary file and rename(), so a reader never sees half.
 *
 * {"ports": [{"port", "id", "kind": "link"|"tap", "mac", "rx_frames",
 *   "rx_bytes", "tx_frames", "tx_bytes", "rx_drops", "tx_drops", "tx_held", "spoofed",
 *   "offload_drops", "gw_replies", "features"}, ...],
 *  "ports_added", "ports_removed",
 *  "fdb": {"entries", "learned", "moved", "aged", "refused"},
 *  "dhcp": {"discover", "offer", "request", "ack", "nak", "release",
 *           "decline", "inform", "ignored", "exhausted"}}   (with DHCP on) */
#include "switch_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ember/log.h"

static json_t *port_json(const struct sw_port *p, unsigned i)
{
	const struct sw_port_stats *st = &p->st;
	char mac[18] = "";

	if (p->has_mac)
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", p->mac[0], p->mac[1],
			 p->mac[2], p->mac[3], p->mac[4], p->mac[5]);
	return json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			 "s:I}",
			 "port", (json_int_t)i, "id", (json_int_t)p->id,
			 "kind", p->kind == SW_PORT_TAP ? "tap" : "link", "mac", mac,
			 "rx_frames", (json_int_t)st->rx_frames, "rx_bytes", (json_int_t)st->rx_bytes,
			 "tx_frames", (json_int_t)st->tx_frames, "tx_bytes", (json_int_t)st->tx_bytes,
			 "rx_drops", (json_int_t)st->rx_drops, "tx_drops", (json_int_t)st->tx_drops,
			 "tx_held", (json_int_t)st->tx_held,
			 "spoofed", (json_int_t)st->spoofed,
			 "offload_drops", (json_int_t)st->offload_drops,
			 "gw_replies", (json_int_t)st->gw_replies, "features", (json_int_t)p->features);
}

static json_t *dhcp_json(const struct sw_dhcp_stats *d)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "discover", (json_int_t)d->discover, "offer", (json_int_t)d->offer,
			 "request", (json_int_t)d->request, "ack", (json_int_t)d->ack,
			 "nak", (json_int_t)d->nak, "release", (json_int_t)d->release,
			 "decline", (json_int_t)d->decline, "inform", (json_int_t)d->inform,
			 "ignored", (json_int_t)d->ignored, "exhausted", (json_int_t)d->exhausted);
}

static json_t *build(const struct sw *s)
{
	json_t *ports = json_array(), *o;

	for (unsigned i = 0; ports && i < SW_MAX_PORTS; i++)
		if (s->active >> i & 1)
			json_array_append_new(ports, port_json(&s->port[i], i));
	o = json_pack("{s:o, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}", "ports", ports,
		      "ports_added", (json_int_t)s->ports_added,
		      "ports_removed", (json_int_t)s->ports_removed, "fdb",
		      "entries", (json_int_t)s->fdb.count, "learned", (json_int_t)s->fdb.learned,
		      "moved", (json_int_t)s->fdb.moved, "aged", (json_int_t)s->fdb.aged,
		      "refused", (json_int_t)s->fdb.refused);
	if (o && s->dhcp_on)
		json_object_set_new(o, "dhcp", dhcp_json(&s->dhcp.st));
	return o;
}

static void to_file(const char *path, const char *text)
{
	char tmp[sizeof(((struct sw_cfg *)0)->stats_file) + 8];
	FILE *f;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		log_warn("switch: stats file %s: %s", tmp, strerror(errno));
		return;
	}
	ok = fprintf(f, "%s\n", text) >= 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		log_warn("switch: stats file %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

void sw_stats_dump(struct sw *s)
{
	json_t *o = build(s);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (!text) {
		log_err("switch: stats: out of memory");
		json_decref(o);
		return;
	}
	printf("%s\n", text);
	fflush(stdout);
	if (s->cfg->stats_file[0])
		to_file(s->cfg->stats_file, text);
	free(text);
	json_decref(o);
}
