/* Guest physical memory: anonymous mappings registered as KVM memslots.
 * The ONLY place a guest physical address becomes a host pointer is gm_ptr()
 * (design.md §8.3): it checks the whole [gpa, gpa+len) range, overflow-safe,
 * against one region; a range spanning two regions or the MMIO gap is refused. */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 2

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gm_region r[GM_MAX_REGIONS];
	int nr;
	uint64_t ram_size; /* total bytes of RAM over all regions */
};

/* Lay out `size` bytes of RAM: [0, min(size, 3 GiB)) then the rest from 4 GiB
 * (design.md §4) and mmap each region anonymously. 0 or -errno. */
int gm_init(struct guest_mem *gm, uint64_t size);
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) or NULL if any byte is outside one RAM region
 * or the sum overflows. len 0 is refused too. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
	__attribute__((warn_unused_result));

/* Copy helpers on top of gm_ptr(); 0 or -EFAULT. */
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
	__attribute__((warn_unused_result));
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
	__attribute__((warn_unused_result));

/* End (exclusive) of the RAM region below 4 GiB. */
uint64_t gm_low_end(const struct guest_mem *gm);

#endif
