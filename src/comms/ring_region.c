/* The comms ring's shared region: a sealed memfd created by the server and
 * checked by whoever maps it (docs/comms-ring.md, "Region"). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ember/comms_ring.h"
#include "ember/log.h"
#include "ring_internal.h"

#define SEALS_REQUIRED (F_SEAL_SHRINK | F_SEAL_GROW)

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

bool ring_geom_valid(const struct ring_geom *g)
{
	return g && pow2_in(g->slots, RING_MIN_SLOTS, RING_MAX_SLOTS) &&
	       pow2_in(g->slot_size, RING_MIN_SLOT_SIZE, RING_MAX_SLOT_SIZE);
}

size_t ring_region_size(const struct ring_geom *g)
{
	if (!ring_geom_valid(g))
		return 0;
	return ring_data_off(g, RING_N);
}

static void fill_hdr(struct ring_hdr *h, const struct ring_geom *g, uint64_t session_id)
{
	memset(h, 0, sizeof(*h));
	h->magic = RING_MAGIC;
	h->ver_major = RING_VERSION;
	h->hdr_size = RING_HDR_SIZE;
	h->region_size = ring_region_size(g);
	h->session_id = session_id;
	h->n_rings = RING_N;
	h->slots = g->slots;
	h->slot_size = g->slot_size;
	h->slot_hdr = RING_SLOT_HDR;
	for (int r = 0; r < RING_N; r++) {
		h->ctl_off[r] = (uint32_t)ring_ctl_off((enum ring_dir)r);
		h->data_off[r] = (uint32_t)ring_data_off(g, (enum ring_dir)r);
	}
}

int ring_region_create(const struct ring_geom *g, uint64_t session_id)
{
	struct ring_hdr h;
	int fd, rc;

	if (!ring_geom_valid(g))
		return -EINVAL;
	fill_hdr(&h, g, session_id);
	fd = memfd_create("ember-comms-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		rc = -errno;
		log_err("comms ring: memfd_create: %s", strerror(errno));
		return rc;
	}
	/* ftruncate zero-fills: every index and flag starts at 0. */
	errno = 0;
	if (ftruncate(fd, (off_t)h.region_size) < 0 ||
	    pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		rc = errno ? -errno : -EIO;
		log_err("comms ring: sizing/sealing the region: %s", strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

/* The fd must be a sealed memfd of exactly the negotiated size: without
 * SHRINK the peer could truncate it under our mapping (SIGBUS), without
 * GROW the size check below would mean nothing. */
static int check_fd(int memfd, size_t want)
{
	struct stat st;
	int seals = fcntl(memfd, F_GET_SEALS);

	if (seals < 0) {
		log_warn("comms ring: region fd has no seals (not a memfd?): %s", strerror(errno));
		return -EINVAL;
	}
	if ((seals & SEALS_REQUIRED) != SEALS_REQUIRED) {
		log_warn("comms ring: region memfd seals 0x%x lack SHRINK|GROW", seals);
		return -EPERM;
	}
	if (fstat(memfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size != want) {
		log_warn("comms ring: region size %lld, expected %zu", (long long)st.st_size, want);
		return -EINVAL;
	}
	return 0;
}

/* Compare the creator's header with what we negotiated; the header is read
 * into a local once and never again (the geometry in use is ours). */
static int check_hdr(const void *base, const struct ring_geom *g, uint64_t session_id)
{
	struct ring_hdr got, want;

	memcpy(&got, base, sizeof(got));
	fill_hdr(&want, g, session_id);
	if (memcmp(&got, &want, sizeof(got)) != 0) {
		log_warn("comms ring: region header mismatch (magic %#llx version %u session %#llx)",
			 (unsigned long long)got.magic, got.ver_major,
			 (unsigned long long)got.session_id);
		return -EPROTO;
	}
	return 0;
}

int ring_region_map(int memfd, const struct ring_geom *g, uint64_t session_id, void **base,
		    size_t *len)
{
	size_t size = ring_region_size(g);
	void *p;
	int rc;

	if (!size)
		return -EINVAL;
	rc = check_fd(memfd, size);
	if (rc)
		return rc;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		log_err("comms ring: mmap region (%zu bytes): %s", size, strerror(errno));
		return rc;
	}
	rc = check_hdr(p, g, session_id);
	if (rc) {
		munmap(p, size);
		return rc;
	}
	*base = p;
	*len = size;
	return 0;
}

void ring_region_unmap(void *base, size_t len)
{
	if (base && len)
		munmap(base, len);
}
