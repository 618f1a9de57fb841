/* bzImage loader (Linux/x86 boot protocol, Documentation/arch/x86/boot.rst):
 * only the protected-mode kernel is loaded and entered through its 64-bit
 * entry at load address + 0x200; the setup header is kept for boot_params. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "boot_internal.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

#define HDR_OFF 0x1f1
#define JUMP_DISP_OFF 0x201 /* header ends at 0x202 + this byte */
#define HDR_BUF_MAX (0x202 + 0xff)
#define MIN_VERSION 0x020c /* 2.12: xloadflags, XLF_KERNEL_64 */
#define ENTRY64_OFF 0x200
#define MIN_ALIGN 0x200000ULL    /* 2 MiB: what the 64-bit kernel needs at least */
#define MAX_ALIGN 0x40000000ULL  /* 1 GiB: beyond is not a real kernel */
#define DEFAULT_LOAD 0x1000000ULL /* 16 MiB, LOAD_PHYSICAL_ADDR of distro kernels */

static int read_header(int fd, uint64_t fsize, struct setup_header *hdr)
{
	uint8_t buf[HDR_BUF_MAX];
	uint64_t n = fsize < sizeof(buf) ? fsize : sizeof(buf), end;
	int rc;

	if (n < 0x202 + 4) {
		log_err("kernel: bzImage of %" PRIu64 " bytes ends inside its setup header", fsize);
		return -EINVAL;
	}
	rc = boot_pread_full(fd, buf, n, 0, "kernel");
	if (rc)
		return rc;
	end = 0x202 + (uint64_t)buf[JUMP_DISP_OFF];
	if (end > n) {
		log_err("kernel: bzImage setup header ends at 0x%" PRIx64 ", past the file end",
			end);
		return -EINVAL;
	}
	memset(hdr, 0, sizeof(*hdr));
	if (end - HDR_OFF > sizeof(*hdr))
		end = HDR_OFF + sizeof(*hdr);
	memcpy(hdr, buf + HDR_OFF, end - HDR_OFF);
	return 0;
}

static int check_header(const struct setup_header *h)
{
	if (h->header != BOOT_HDRS_MAGIC || h->boot_flag != 0xaa55) {
		log_err("kernel: bzImage magic wrong (header 0x%08x, boot_flag 0x%04x)", h->header,
			h->boot_flag);
		return -EINVAL;
	}
	if (h->version < MIN_VERSION) {
		log_err("kernel: bzImage boot protocol %u.%02u too old, need 2.12",
			h->version >> 8, h->version & 0xff);
		return -EINVAL;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		log_err("kernel: bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)");
		return -EINVAL;
	}
	return 0;
}

static uint64_t kernel_align(const struct setup_header *h)
{
	uint64_t a = h->kernel_alignment;

	if (a > MIN_ALIGN && a <= MAX_ALIGN && !(a & (a - 1)))
		return a;
	return MIN_ALIGN;
}

static bool fits(const struct guest_mem *gm, uint64_t addr, uint64_t need)
{
	return addr + need <= gm_low_end(gm) && gm_ptr(gm, addr, need);
}

/* pref_address when it is aligned and fits, else 16 MiB aligned up. */
static int pick_load_addr(const struct guest_mem *gm, const struct setup_header *h,
			  uint64_t need, uint64_t *addr)
{
	uint64_t align = kernel_align(h);
	uint64_t pref = h->pref_address, dflt = (DEFAULT_LOAD + align - 1) & ~(align - 1);

	if (pref >= LAYOUT_HIMEM && pref < LAYOUT_MMIO_GAP_START && !(pref & (align - 1)) &&
	    fits(gm, pref, need)) {
		*addr = pref;
		return 0;
	}
	if (fits(gm, dflt, need)) {
		*addr = dflt;
		return 0;
	}
	log_err("kernel: bzImage needs 0x%" PRIx64 " bytes at 0x%" PRIx64
		" but low guest RAM ends at 0x%" PRIx64, need, dflt, gm_low_end(gm));
	return -ENOMEM;
}

/* Where the protected-mode kernel starts in the file and how long it is. */
static int kernel_extent(const struct setup_header *h, uint64_t fsize, uint64_t *setup,
			 uint64_t *payload)
{
	/* setup_sects 0 means 4 for compatibility with ancient images. */
	*setup = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (fsize <= *setup + ENTRY64_OFF) {
		log_err("kernel: bzImage of %" PRIu64 " bytes ends inside its 0x%" PRIx64
			" bytes of setup code or at the kernel's start", fsize, *setup);
		return -EINVAL;
	}
	*payload = fsize - *setup;
	if ((uint64_t)h->syssize * 16 > *payload) {
		log_err("kernel: bzImage truncated: 0x%" PRIx64 " bytes of kernel after the setup"
			" code, header says 0x%" PRIx64, *payload, (uint64_t)h->syssize * 16);
		return -EINVAL;
	}
	return 0;
}

int boot_load_bzimage(struct guest_mem *gm, int fd, enum boot_proto want, struct boot_image *img)
{
	uint64_t fsize, setup, payload, need, load;
	struct setup_header *h = &img->hdr;
	int rc;

	memset(img, 0, sizeof(*img));
	if (want == BOOT_PROTO_PVH) {
		log_err("kernel: PVH boot needs an ELF vmlinux with the Xen note, not a bzImage");
		return -EINVAL;
	}
	if (want != BOOT_PROTO_AUTO && want != BOOT_PROTO_LINUX) {
		log_err("kernel: unknown boot protocol %d", (int)want);
		return -EINVAL;
	}
	rc = boot_file_size(fd, &fsize, "kernel");
	if (!rc)
		rc = read_header(fd, fsize, h);
	if (!rc)
		rc = check_header(h);
	if (rc)
		return rc;
	rc = kernel_extent(h, fsize, &setup, &payload);
	if (rc)
		return rc;
	/* The kernel decompresses in place and needs init_size bytes from there. */
	need = h->init_size > payload ? h->init_size : payload;
	rc = pick_load_addr(gm, h, need, &load);
	if (!rc)
		rc = boot_pread_full(fd, gm_ptr(gm, load, payload), payload, setup, "kernel");
	if (rc)
		return rc;
	img->format = BOOT_FMT_BZIMAGE;
	img->proto = BOOT_PROTO_LINUX;
	img->entry = load + ENTRY64_OFF;
	img->kernel_start = load;
	img->kernel_end = load + need;
	img->has_setup_header = true;
	/* Protocol >= 2.03 always fills it; 0 would be a broken header. */
	img->initrd_addr_max = h->initrd_addr_max ? h->initrd_addr_max : 0x37ffffff;
	return 0;
}
