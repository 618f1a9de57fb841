/* One PIO/MMIO range registry (design.md §8.2). Ranges are registered before
 * the vCPUs start and never change afterwards, so lookups take no lock;
 * handlers do their own locking. Handlers see the offset inside their window. */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*bus_fn)(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#define BUS_MAX_RANGES 64

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_fn fn;
	void *ctx;
};

struct bus {
	struct bus_range r[BUS_MAX_RANGES]; /* sorted by base, non-overlapping */
	int nr;
};

void bus_init(struct bus *bus);
/* -EINVAL on zero length or base+len overflow, -EEXIST on overlap, -ENOSPC when full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn, void *ctx)
	__attribute__((warn_unused_result));
/* Dispatch an access that must lie inside one range; -ENOENT otherwise
 * (including len 0 or addr+len overflow). Reads that miss are left to the caller. */
int bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
