/* Control messages of the comms ring handshake: fixed 128-byte records,
 * every field packed little-endian at a fixed offset (byte tables in
 * docs/comms-ring.md, "Control messages"), and the negotiation. Parsers
 * check everything a peer controls; a message that fails any check is
 * -EPROTO and the connection is dropped by the caller. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "ember/comms_ctl.h"

#define HELLO_LEN 24
#define INIT_LEN 24
#define REGION_LEN 32
#define DISC_MIN 5 /* code + at least the NUL */
#define MTU_MIN 68 /* IPv4's minimum */

static void put16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

static uint8_t *start(struct comms_msg *m, uint16_t type, uint16_t len)
{
	memset(m, 0, sizeof(*m));
	m->magic = htole32(COMMS_MSG_MAGIC);
	m->type = htole16(type);
	m->len = htole16(len);
	return m->payload;
}

/* Common header checks: the whole record, our magic, the type asked for and
 * a payload length in [lo, hi]. */
static int check(const struct comms_msg *m, size_t n, uint16_t type, uint16_t lo, uint16_t hi)
{
	uint16_t len;

	if (!m || n != COMMS_MSG_SIZE || le32toh(m->magic) != COMMS_MSG_MAGIC ||
	    le16toh(m->type) != type)
		return -EPROTO;
	len = le16toh(m->len);
	return len < lo || len > hi ? -EPROTO : 0;
}

static bool version_ok(uint32_t v)
{
	return v >= COMMS_VERSION_MIN && v <= COMMS_VERSION_MAX;
}

/* A MAC is optional (all zero) but never multicast; an MTU optional (0). */
static bool params_ok(const struct comms_params *p)
{
	return ring_geom_valid(&p->geom) && !(p->mac[0] & 1) && (p->mtu == 0 || p->mtu >= MTU_MIN);
}

/* INIT and REGION share bytes 0-15 (version, slots, slot_size, features);
 * the MAC and MTU follow at mac_off (16 in INIT, 24 in REGION). */
static void put_params(uint8_t *pl, const struct comms_params *p, size_t mac_off)
{
	put32(pl + 4, p->geom.slots);
	put32(pl + 8, p->geom.slot_size);
	put32(pl + 12, p->features);
	memcpy(pl + mac_off, p->mac, 6);
	put16(pl + mac_off + 6, p->mtu);
}

static void get_params(const uint8_t *pl, struct comms_params *p, size_t mac_off)
{
	memset(p, 0, sizeof(*p));
	p->geom.slots = get32(pl + 4);
	p->geom.slot_size = get32(pl + 8);
	p->features = get32(pl + 12);
	memcpy(p->mac, pl + mac_off, 6);
	p->mtu = get16(pl + mac_off + 6);
}

void comms_msg_hello(struct comms_msg *m, const struct comms_params *offer)
{
	uint8_t *pl = start(m, COMMS_HELLO, HELLO_LEN);

	put32(pl, COMMS_VERSION_MIN);
	put32(pl + 4, COMMS_VERSION_MAX);
	put32(pl + 8, offer->geom.slots);
	put32(pl + 12, offer->geom.slot_size);
	put32(pl + 16, offer->features);
	put16(pl + 20, offer->mtu);
}

void comms_msg_init(struct comms_msg *m, uint32_t version, const struct comms_params *want)
{
	uint8_t *pl = start(m, COMMS_INIT, INIT_LEN);

	put32(pl, version);
	put_params(pl, want, 16);
}

void comms_msg_region(struct comms_msg *m, uint32_t version, uint64_t session_id,
		      const struct comms_params *p)
{
	uint8_t *pl = start(m, COMMS_REGION, REGION_LEN);

	put32(pl, version);
	put_params(pl, p, 24);
	put64(pl + 16, session_id);
}

void comms_msg_ready(struct comms_msg *m)
{
	start(m, COMMS_READY, 0);
}

void comms_msg_disconnect(struct comms_msg *m, uint32_t code, const char *reason)
{
	size_t max = sizeof(m->payload) - 5, n = reason ? strnlen(reason, max) : 0;
	uint8_t *pl = start(m, COMMS_DISCONNECT, (uint16_t)(4 + n + 1));

	put32(pl, code);
	if (n)
		memcpy(pl + 4, reason, n); /* NUL: start() zeroed the record */
}

/* HELLO may grow in later versions (it is read before a version is agreed):
 * a longer payload is accepted and its tail ignored; unknown feature bits
 * are masked off. */
int comms_parse_hello(const struct comms_msg *m, size_t n, uint32_t *vmin, uint32_t *vmax,
		      struct comms_params *offer)
{
	const uint8_t *pl = m ? m->payload : NULL;

	if (check(m, n, COMMS_HELLO, HELLO_LEN, sizeof(m->payload)))
		return -EPROTO;
	*vmin = get32(pl);
	*vmax = get32(pl + 4);
	memset(offer, 0, sizeof(*offer));
	offer->geom.slots = get32(pl + 8);
	offer->geom.slot_size = get32(pl + 12);
	offer->features = get32(pl + 16) & COMMS_F_KNOWN;
	offer->mtu = get16(pl + 20);
	if (*vmin == 0 || *vmin > *vmax || !params_ok(offer))
		return -EPROTO;
	return 0;
}

int comms_parse_init(const struct comms_msg *m, size_t n, uint32_t *version,
		     struct comms_params *want)
{
	if (check(m, n, COMMS_INIT, INIT_LEN, INIT_LEN))
		return -EPROTO;
	*version = get32(m->payload);
	get_params(m->payload, want, 16);
	if (!version_ok(*version) || (want->features & ~COMMS_F_KNOWN) || !params_ok(want))
		return -EPROTO;
	return 0;
}

int comms_parse_region(const struct comms_msg *m, size_t n, uint32_t *version,
		       uint64_t *session_id, struct comms_params *p)
{
	if (check(m, n, COMMS_REGION, REGION_LEN, REGION_LEN))
		return -EPROTO;
	*version = get32(m->payload);
	get_params(m->payload, p, 24);
	*session_id = get64(m->payload + 16);
	if (!version_ok(*version) || (p->features & ~COMMS_F_KNOWN) || !params_ok(p))
		return -EPROTO;
	return 0;
}

int comms_parse_ready(const struct comms_msg *m, size_t n)
{
	return check(m, n, COMMS_READY, 0, 0);
}

int comms_parse_disconnect(const struct comms_msg *m, size_t n, uint32_t *code, char *reason,
			   size_t rlen)
{
	size_t len, text;

	if (check(m, n, COMMS_DISCONNECT, DISC_MIN, sizeof(m->payload)))
		return -EPROTO;
	len = le16toh(m->len);
	text = strnlen((const char *)m->payload + 4, len - 4);
	if (text != len - 5) /* exactly one NUL, at the end */
		return -EPROTO;
	*code = get32(m->payload);
	if (reason && rlen) {
		if (text >= rlen)
			text = rlen - 1;
		memcpy(reason, m->payload + 4, text);
		reason[text] = '\0';
	}
	return 0;
}

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

int comms_negotiate(const struct comms_params *offer, const struct comms_params *want,
		    struct comms_params *out)
{
	if (!params_ok(offer) || !params_ok(want))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->geom.slots = min32(offer->geom.slots, want->geom.slots);
	out->geom.slot_size = min32(offer->geom.slot_size, want->geom.slot_size);
	out->features = offer->features & want->features & COMMS_F_KNOWN;
	memcpy(out->mac, want->mac, sizeof(out->mac));
	out->mtu = want->mtu;
	if (offer->mtu && (!want->mtu || want->mtu > offer->mtu))
		out->mtu = offer->mtu;
	return 0;
}
