/* PIO/MMIO range registry (design.md §8.2): a sorted array searched by
 * bisection. All registration happens before the vCPUs start and the table
 * never changes afterwards, so bus_access() reads it without a lock; each
 * handler serialises its own device state. */
#include "ember/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range whose base is > addr (0..nr). */
static int upper(const struct bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (bus->r[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn, void *ctx)
{
	uint64_t end;
	int i;

	/* A window ending exactly at 2^64 is refused too: `end` must be
	 * representable so that every comparison below stays exclusive. */
	if (!len || !fn || __builtin_add_overflow(base, len, &end))
		return -EINVAL;
	i = upper(bus, base);
	/* Ranges are sorted and disjoint, so only the neighbours can collide. */
	if (i > 0 && bus->r[i - 1].base + bus->r[i - 1].len > base)
		return -EEXIST;
	if (i < bus->nr && end > bus->r[i].base)
		return -EEXIST;
	if (bus->nr == BUS_MAX_RANGES)
		return -ENOSPC;
	memmove(&bus->r[i + 1], &bus->r[i], (size_t)(bus->nr - i) * sizeof(bus->r[0]));
	bus->r[i] = (struct bus_range){ .base = base, .len = len, .fn = fn, .ctx = ctx };
	bus->nr++;
	return 0;
}

int bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r;
	uint64_t end;
	int i;

	if (!len || __builtin_add_overflow(addr, (uint64_t)len, &end))
		return -ENOENT;
	i = upper(bus, addr);
	if (i == 0)
		return -ENOENT;
	r = &bus->r[i - 1];
	/* r->base + r->len cannot overflow: bus_register() refused that. */
	if (end > r->base + r->len)
		return -ENOENT;
	r->fn(r->ctx, addr - r->base, data, len, is_write);
	return 0;
}
