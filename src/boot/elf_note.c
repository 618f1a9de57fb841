/* ELF note walking: finds the Xen XEN_ELFNOTE_PHYS32_ENTRY note that marks a
 * PVH-capable vmlinux (Linux CONFIG_PVH). Every size read from the file is
 * checked against the note segment before it is used. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "boot_internal.h"
#include "ember/log.h"

/* Real note segments are a few hundred bytes; cap what we read into memory. */
#define MAX_NOTE_SEG (64 * 1024)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Returns 1 when the PVH note was found, 0 when not, -EINVAL when malformed. */
static int walk_notes(const uint8_t *buf, uint64_t len, uint64_t align, int seg, uint32_t *entry)
{
	uint64_t off = 0;

	/* Trailing bytes shorter than a header are padding. */
	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_sz, desc_sz;

		memcpy(&nh, buf + off, sizeof(nh));
		off += sizeof(nh);
		/* n_namesz/n_descsz are 32-bit, so rounding in 64 bits cannot wrap. */
		name_sz = align_up(nh.n_namesz, align);
		desc_sz = align_up(nh.n_descsz, align);
		if (name_sz > len - off || desc_sz > len - off - name_sz) {
			log_err("kernel: ELF note in segment %d at 0x%" PRIx64 " claims name %u +"
				" desc %u bytes, past the segment end (0x%" PRIx64 ")", seg,
				off - sizeof(nh), nh.n_namesz, nh.n_descsz, len);
			return -EINVAL;
		}
		if (nh.n_type == BOOT_XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(buf + off, "Xen", 4)) {
			if (nh.n_descsz < 4) {
				log_err("kernel: Xen PHYS32_ENTRY note has %u descriptor bytes, need 4",
					nh.n_descsz);
				return -EINVAL;
			}
			memcpy(entry, buf + off + name_sz, 4); /* x86: little-endian */
			return 1;
		}
		off += name_sz + desc_sz;
	}
	return 0;
}

static int scan_segment(int fd, int i, const Elf64_Phdr *p, uint64_t fsize, struct boot_image *img)
{
	uint64_t end, align = p->p_align == 8 ? 8 : 4;
	uint32_t entry = 0;
	uint8_t *buf;
	int rc;

	if (!p->p_filesz)
		return 0;
	if (__builtin_add_overflow(p->p_offset, p->p_filesz, &end) || end > fsize) {
		log_err("kernel: ELF note segment %d [0x%" PRIx64 ", +0x%" PRIx64
			") beyond the end of the file (0x%" PRIx64 ")", i, (uint64_t)p->p_offset,
			(uint64_t)p->p_filesz, fsize);
		return -EINVAL;
	}
	if (p->p_filesz > MAX_NOTE_SEG) {
		log_err("kernel: ELF note segment %d is 0x%" PRIx64 " bytes, more than 0x%x", i,
			(uint64_t)p->p_filesz, MAX_NOTE_SEG);
		return -EINVAL;
	}
	buf = malloc(p->p_filesz);
	if (!buf)
		return -ENOMEM;
	rc = boot_pread_full(fd, buf, p->p_filesz, p->p_offset, "kernel");
	if (!rc)
		rc = walk_notes(buf, p->p_filesz, align, i, &entry);
	free(buf);
	if (rc == 1) {
		img->has_pvh_note = true;
		img->pvh_entry = entry;
		rc = 0;
	}
	return rc;
}

int boot_elf_find_pvh(int fd, const Elf64_Phdr *ph, int phnum, uint64_t fsize,
		      struct boot_image *img)
{
	for (int i = 0; i < phnum && !img->has_pvh_note; i++) {
		int rc;

		if (ph[i].p_type != PT_NOTE)
			continue;
		rc = scan_segment(fd, i, &ph[i], fsize, img);
		if (rc)
			return rc;
	}
	return 0;
}
