/* Kernel format dispatch, the initrd, and the file-reading helpers the
 * loaders share. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_internal.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

#define BZ_MAGIC_OFF 0x202

int boot_pread_full(int fd, void *buf, uint64_t len, uint64_t off, const char *what)
{
	uint8_t *p = buf;

	while (len) {
		/* pread takes a signed off_t and returns at most ~2 GiB per call. */
		size_t chunk = len > (1ULL << 30) ? (1ULL << 30) : (size_t)len;
		ssize_t n;

		if (off > (uint64_t)INT64_MAX - chunk) {
			log_err("%s: file offset 0x%" PRIx64 " out of range", what, off);
			return -EINVAL;
		}
		n = pread(fd, p, chunk, (off_t)off);
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			log_err("%s: pread at 0x%" PRIx64 ": %s", what, off, strerror(e));
			return -e;
		}
		if (n == 0) {
			log_err("%s: file ends at 0x%" PRIx64 ", 0x%" PRIx64 " bytes short", what,
				off, len);
			return -EIO;
		}
		p += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int boot_file_size(int fd, uint64_t *size, const char *what)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		log_err("%s: fstat: %s", what, strerror(e));
		return -e;
	}
	/* Sizes drive every bounds check below, so only regular files qualify. */
	if (!S_ISREG(st.st_mode)) {
		log_err("%s: not a regular file", what);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

int boot_load_kernel(struct guest_mem *gm, int fd, enum boot_proto want, struct boot_image *img)
{
	uint8_t head[BZ_MAGIC_OFF + 4];
	uint64_t fsize, n;
	int rc;

	memset(img, 0, sizeof(*img));
	rc = boot_file_size(fd, &fsize, "kernel");
	if (rc)
		return rc;
	n = fsize < sizeof(head) ? fsize : sizeof(head);
	if (n < SELFMAG) {
		log_err("kernel: file of %" PRIu64 " bytes is neither ELF nor bzImage", fsize);
		return -EINVAL;
	}
	rc = boot_pread_full(fd, head, n, 0, "kernel");
	if (rc)
		return rc;
	if (!memcmp(head, ELFMAG, SELFMAG))
		return boot_load_elf(gm, fd, want, img);
	if (n == sizeof(head) && !memcmp(head + BZ_MAGIC_OFF, "HdrS", 4))
		return boot_load_bzimage(gm, fd, want, img);
	log_err("kernel: neither ELF (no \\x7fELF magic) nor bzImage (no HdrS at 0x202)");
	return -EINVAL;
}

/* Highest end (exclusive) the initrd may reach: low RAM, capped by the image. */
static uint64_t initrd_top(const struct guest_mem *gm, const struct boot_image *img)
{
	uint64_t top = gm_low_end(gm);
	uint64_t max = img->initrd_addr_max ? img->initrd_addr_max : UINT32_MAX;

	/* The 32-bit ramdisk_image field and the 4 GiB gap keep it low anyway. */
	if (max > UINT32_MAX)
		max = UINT32_MAX;
	if (top > max + 1)
		top = max + 1;
	return top;
}

int boot_load_initrd(struct guest_mem *gm, int fd, const struct boot_image *img,
		     struct boot_initrd *out)
{
	uint64_t size, top, floor, addr;
	void *dst;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = boot_file_size(fd, &size, "initrd");
	if (rc)
		return rc;
	if (!size) {
		log_err("initrd: file is empty");
		return -EINVAL;
	}
	top = initrd_top(gm, img);
	floor = img->kernel_end > LAYOUT_HIMEM ? img->kernel_end : LAYOUT_HIMEM;
	if (size > top || ((top - size) & ~(BOOT_PAGE_SIZE - 1)) < floor) {
		log_err("initrd: %" PRIu64 " bytes do not fit between the kernel end 0x%" PRIx64
			" and 0x%" PRIx64, size, floor, top);
		return -EFBIG;
	}
	addr = (top - size) & ~(BOOT_PAGE_SIZE - 1);
	dst = gm_ptr(gm, addr, size);
	if (!dst) {
		log_err("initrd: [0x%" PRIx64 ", +0x%" PRIx64 ") not in guest RAM", addr, size);
		return -EFAULT;
	}
	rc = boot_pread_full(fd, dst, size, 0, "initrd");
	if (rc)
		return rc;
	out->addr = addr;
	out->size = size;
	return 0;
}
