/* Guest RAM and the one checked guest-address accessor (design.md §8.3). */
#include "ember/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ember/layout.h"
#include "ember/log.h"

static int map_region(struct gm_region *r, uint64_t gpa, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		int e = errno;
		log_err("mmap of %llu MiB guest RAM: %s", (unsigned long long)(size >> 20),
			strerror(e));
		return -e;
	}
	/* Guest RAM must not be copied into a forked child (jailer, helpers). */
	madvise(p, size, MADV_DONTFORK);
	*r = (struct gm_region){ .gpa = gpa, .size = size, .host = p };
	return 0;
}

int gm_init(struct guest_mem *gm, uint64_t size)
{
	const uint64_t low_max = LAYOUT_MMIO_GAP_START;
	uint64_t low = size < low_max ? size : low_max;
	int rc;

	memset(gm, 0, sizeof(*gm));
	if (!size || (size & 0xfff))
		return -EINVAL;
	rc = map_region(&gm->r[0], 0, low);
	if (rc)
		return rc;
	gm->nr = 1;
	if (size > low) {
		rc = map_region(&gm->r[1], LAYOUT_MMIO_GAP_END, size - low);
		if (rc) {
			gm_destroy(gm);
			return rc;
		}
		gm->nr = 2;
	}
	gm->ram_size = size;
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	for (int i = 0; i < gm->nr; i++)
		munmap(gm->r[i].host, gm->r[i].size);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (!len || __builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (int i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->r[i];

		/* end <= r->gpa + r->size cannot overflow: regions end below 2^64. */
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->nr ? gm->r[0].gpa + gm->r[0].size : 0;
}
