/* ember-switch's MAC learning table: open addressing with linear probing
 * and backward-shift deletion (no tombstones, so chains never rot under the
 * churn of aging). The hash is keyed with a random seed and each port may
 * own at most SW_FDB_PORT_MAX entries, so a port inventing source MACs
 * neither builds long chains nor crowds the other ports out: beyond its
 * share its frames are simply flooded, as for any unknown address. */
#include "ember/switch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MASK (SW_FDB_SLOTS - 1)

int sw_fdb_init(struct sw_fdb *f, uint64_t aging_ns, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	f->slot = calloc(SW_FDB_SLOTS, sizeof(*f->slot));
	if (!f->slot)
		return -ENOMEM;
	f->aging_ns = aging_ns;
	f->seed = seed;
	return 0;
}

void sw_fdb_free(struct sw_fdb *f)
{
	free(f->slot);
	f->slot = NULL;
}

static uint32_t home(const struct sw_fdb *f, const uint8_t *mac)
{
	uint64_t k = 0;

	for (int i = 0; i < SW_ETH_ALEN; i++)
		k = k << 8 | mac[i];
	/* splitmix64's finalizer over key ^ seed */
	k ^= f->seed;
	k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ull;
	k = (k ^ (k >> 27)) * 0x94d049bb133111ebull;
	k ^= k >> 31;
	return (uint32_t)k & MASK;
}

/* The slot holding `mac`, or -1 with *free_slot set to where it would go. */
static int find(const struct sw_fdb *f, const uint8_t *mac, uint32_t *free_slot)
{
	uint32_t i = home(f, mac);

	/* count <= SW_FDB_MAX < SW_FDB_SLOTS: an empty slot always ends the probe */
	while (f->slot[i].used) {
		if (!memcmp(f->slot[i].mac, mac, SW_ETH_ALEN))
			return (int)i;
		i = (i + 1) & MASK;
	}
	if (free_slot)
		*free_slot = i;
	return -1;
}

static bool expired(const struct sw_fdb *f, const struct sw_fdb_entry *e, uint64_t now)
{
	return f->aging_ns && now > e->seen && now - e->seen > f->aging_ns;
}

/* Knuth's algorithm R: pull later members of the cluster back into the hole
 * unless their home lies cyclically in (hole, their slot]. */
static void del(struct sw_fdb *f, uint32_t i)
{
	uint32_t j = i;

	f->per_port[f->slot[i].port]--;
	f->count--;
	for (;;) {
		uint32_t k;

		f->slot[i].used = false;
		for (;;) {
			j = (j + 1) & MASK;
			if (!f->slot[j].used)
				return;
			k = home(f, f->slot[j].mac);
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		f->slot[i] = f->slot[j];
		i = j;
	}
}

int sw_fdb_learn(struct sw_fdb *f, const uint8_t mac[SW_ETH_ALEN], unsigned port, uint64_t now)
{
	uint32_t fs = 0;
	int i;

	if (port >= SW_MAX_PORTS)
		return -EINVAL;
	i = find(f, mac, &fs);
	if (i >= 0) {
		struct sw_fdb_entry *e = &f->slot[i];

		if (e->port != port) {
			if (f->per_port[port] >= SW_FDB_PORT_MAX) {
				f->refused++;
				return -ENOSPC;
			}
			f->per_port[e->port]--;
			f->per_port[port]++;
			e->port = (uint8_t)port;
			f->moved++;
		}
		e->seen = now;
		return 0;
	}
	if (f->count >= SW_FDB_MAX || f->per_port[port] >= SW_FDB_PORT_MAX) {
		f->refused++;
		return -ENOSPC;
	}
	f->slot[fs] = (struct sw_fdb_entry){ .port = (uint8_t)port, .used = true, .seen = now };
	memcpy(f->slot[fs].mac, mac, SW_ETH_ALEN);
	f->count++;
	f->per_port[port]++;
	f->learned++;
	return 0;
}

int sw_fdb_lookup(const struct sw_fdb *f, const uint8_t mac[SW_ETH_ALEN], uint64_t now)
{
	int i = find(f, mac, NULL);

	if (i < 0 || expired(f, &f->slot[i], now))
		return -ENOENT;
	return f->slot[i].port;
}

/* Delete every entry matching `match`; after a delete the same slot is
 * looked at again, since a later entry may have shifted into it. */
static unsigned sweep(struct sw_fdb *f, bool (*match)(const struct sw_fdb *,
						      const struct sw_fdb_entry *, uint64_t),
		      uint64_t arg)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < SW_FDB_SLOTS;) {
		if (f->slot[i].used && match(f, &f->slot[i], arg)) {
			del(f, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static bool match_old(const struct sw_fdb *f, const struct sw_fdb_entry *e, uint64_t now)
{
	return expired(f, e, now);
}

static bool match_port(const struct sw_fdb *f, const struct sw_fdb_entry *e, uint64_t port)
{
	return e->port == port;
}

unsigned sw_fdb_age(struct sw_fdb *f, uint64_t now)
{
	unsigned n = f->aging_ns ? sweep(f, match_old, now) : 0;

	f->aged += n;
	return n;
}

unsigned sw_fdb_flush_port(struct sw_fdb *f, unsigned port)
{
	if (port >= SW_MAX_PORTS || !f->per_port[port])
		return 0;
	return sweep(f, match_port, port);
}
