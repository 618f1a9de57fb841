/* ELF vmlinux loader: x86_64 ET_EXEC images, PT_LOAD segments copied to their
 * physical addresses (Firecracker's linux-loader does the same). The whole
 * header table is validated before the first byte reaches guest memory. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "boot_internal.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

/* vmlinux has ~5 program headers; anything near this is not a kernel. */
#define MAX_PHNUM 64

static int check_ident(const Elf64_Ehdr *eh)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		log_err("kernel: bad ELF magic");
		return -EINVAL;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
		log_err("kernel: ELF class %u is not ELFCLASS64", eh->e_ident[EI_CLASS]);
		return -EINVAL;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		log_err("kernel: ELF data encoding %u is not little-endian", eh->e_ident[EI_DATA]);
		return -EINVAL;
	}
	if (eh->e_ident[EI_VERSION] != EV_CURRENT) {
		log_err("kernel: ELF version %u unknown", eh->e_ident[EI_VERSION]);
		return -EINVAL;
	}
	return 0;
}

static int check_ehdr(const Elf64_Ehdr *eh, uint64_t fsize)
{
	uint64_t tab = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	int rc = check_ident(eh);

	if (rc)
		return rc;
	if (eh->e_machine != EM_X86_64) {
		log_err("kernel: ELF machine %u is not x86_64", eh->e_machine);
		return -EINVAL;
	}
	if (eh->e_type != ET_EXEC) {
		log_err("kernel: ELF type %u is not an executable (ET_EXEC)", eh->e_type);
		return -EINVAL;
	}
	if (eh->e_ehsize != sizeof(Elf64_Ehdr) || eh->e_phentsize != sizeof(Elf64_Phdr)) {
		log_err("kernel: ELF header size %u / program header size %u, expected %zu / %zu",
			eh->e_ehsize, eh->e_phentsize, sizeof(Elf64_Ehdr), sizeof(Elf64_Phdr));
		return -EINVAL;
	}
	if (eh->e_phnum == 0 || eh->e_phnum > MAX_PHNUM) {
		log_err("kernel: ELF has %u program headers, expected 1..%d", eh->e_phnum,
			MAX_PHNUM);
		return -EINVAL;
	}
	if (eh->e_phoff > fsize || fsize - eh->e_phoff < tab) {
		log_err("kernel: ELF program headers [0x%" PRIx64 ", +0x%" PRIx64
			") beyond the end of the file (0x%" PRIx64 ")", (uint64_t)eh->e_phoff, tab,
			fsize);
		return -EINVAL;
	}
	return 0;
}

static int check_segment(const struct guest_mem *gm, int i, const Elf64_Phdr *p, uint64_t fsize)
{
	uint64_t fend, mend;

	if (p->p_filesz > p->p_memsz) {
		log_err("kernel: ELF segment %d file size 0x%" PRIx64 " exceeds its memory size 0x%"
			PRIx64, i, (uint64_t)p->p_filesz, (uint64_t)p->p_memsz);
		return -EINVAL;
	}
	if (__builtin_add_overflow(p->p_offset, p->p_filesz, &fend) || fend > fsize) {
		log_err("kernel: ELF segment %d file range [0x%" PRIx64 ", +0x%" PRIx64
			") beyond the end of the file (0x%" PRIx64 "): truncated image", i,
			(uint64_t)p->p_offset, (uint64_t)p->p_filesz, fsize);
		return -EINVAL;
	}
	if (p->p_paddr < LAYOUT_HIMEM) {
		log_err("kernel: ELF segment %d at 0x%" PRIx64 " below the 1 MiB load floor", i,
			(uint64_t)p->p_paddr);
		return -EINVAL;
	}
	if (__builtin_add_overflow(p->p_paddr, p->p_memsz, &mend) ||
	    !gm_ptr(gm, p->p_paddr, p->p_memsz)) {
		log_err("kernel: ELF segment %d [0x%" PRIx64 ", +0x%" PRIx64 ") outside guest RAM",
			i, (uint64_t)p->p_paddr, (uint64_t)p->p_memsz);
		return -EINVAL;
	}
	return 0;
}

static bool is_load(const Elf64_Phdr *p)
{
	/* Empty PT_LOADs carry nothing; ignoring them keeps overlap checks honest. */
	return p->p_type == PT_LOAD && p->p_memsz;
}

/* Validate every PT_LOAD, reject overlaps, and record the loaded extent. */
static int check_segments(const struct guest_mem *gm, const Elf64_Phdr *ph, int n,
			  uint64_t fsize, struct boot_image *img)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < n; i++) {
		int rc;

		if (!is_load(&ph[i]))
			continue;
		rc = check_segment(gm, i, &ph[i], fsize);
		if (rc)
			return rc;
		for (int j = 0; j < i; j++) {
			if (is_load(&ph[j]) && ph[i].p_paddr < ph[j].p_paddr + ph[j].p_memsz &&
			    ph[j].p_paddr < ph[i].p_paddr + ph[i].p_memsz) {
				log_err("kernel: ELF segments %d and %d overlap in memory", j, i);
				return -EINVAL;
			}
		}
		if (ph[i].p_paddr < lo)
			lo = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_memsz > hi)
			hi = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (!hi) {
		log_err("kernel: ELF has no loadable segment");
		return -EINVAL;
	}
	img->kernel_start = lo;
	img->kernel_end = hi;
	return 0;
}

static int pick_entry(const Elf64_Ehdr *eh, enum boot_proto want, struct boot_image *img)
{
	if (want != BOOT_PROTO_AUTO && want != BOOT_PROTO_LINUX && want != BOOT_PROTO_PVH) {
		log_err("kernel: unknown boot protocol %d", (int)want);
		return -EINVAL;
	}
	if (want == BOOT_PROTO_PVH && !img->has_pvh_note) {
		log_err("kernel: PVH boot requested but the ELF has no Xen PHYS32_ENTRY note");
		return -EINVAL;
	}
	if (want == BOOT_PROTO_PVH || (want == BOOT_PROTO_AUTO && img->has_pvh_note)) {
		img->proto = BOOT_PROTO_PVH;
		img->entry = img->pvh_entry;
	} else {
		img->proto = BOOT_PROTO_LINUX;
		img->entry = eh->e_entry;
	}
	/* Jumping outside the image would only triple-fault the guest later. */
	if (img->entry < img->kernel_start || img->entry >= img->kernel_end) {
		log_err("kernel: %s entry 0x%" PRIx64 " outside the loaded image [0x%" PRIx64
			", 0x%" PRIx64 ")", img->proto == BOOT_PROTO_PVH ? "PVH" : "ELF",
			img->entry, img->kernel_start, img->kernel_end);
		return -EINVAL;
	}
	return 0;
}

static int load_segments(const struct guest_mem *gm, int fd, const Elf64_Phdr *ph, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t *dst;
		int rc;

		if (!is_load(&ph[i]))
			continue;
		dst = gm_ptr(gm, ph[i].p_paddr, ph[i].p_memsz); /* checked in check_segment */
		if (!dst)
			return -EFAULT;
		if (ph[i].p_filesz) {
			rc = boot_pread_full(fd, dst, ph[i].p_filesz, ph[i].p_offset, "kernel");
			if (rc)
				return rc;
		}
		/* bss: guest RAM may be reused, so never assume it is zero. */
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	return 0;
}

int boot_load_elf(struct guest_mem *gm, int fd, enum boot_proto want, struct boot_image *img)
{
	Elf64_Phdr ph[MAX_PHNUM];
	Elf64_Ehdr eh;
	uint64_t fsize;
	int rc;

	memset(img, 0, sizeof(*img));
	rc = boot_file_size(fd, &fsize, "kernel");
	if (rc)
		return rc;
	if (fsize < sizeof(eh)) {
		log_err("kernel: file of %" PRIu64 " bytes is too short for an ELF header", fsize);
		return -EINVAL;
	}
	rc = boot_pread_full(fd, &eh, sizeof(eh), 0, "kernel");
	if (!rc)
		rc = check_ehdr(&eh, fsize);
	if (!rc)
		rc = boot_pread_full(fd, ph, (uint64_t)eh.e_phnum * sizeof(ph[0]), eh.e_phoff,
				     "kernel");
	if (!rc)
		rc = check_segments(gm, ph, eh.e_phnum, fsize, img);
	if (!rc)
		rc = boot_elf_find_pvh(fd, ph, eh.e_phnum, fsize, img);
	if (!rc)
		rc = pick_entry(&eh, want, img);
	if (!rc)
		rc = load_segments(gm, fd, ph, eh.e_phnum);
	if (rc)
		return rc;
	img->format = BOOT_FMT_ELF;
	/* No setup header: the initrd may go anywhere in low RAM. */
	img->initrd_addr_max = UINT32_MAX;
	return 0;
}
