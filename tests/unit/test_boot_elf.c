/* ELF vmlinux loader: good images, the PVH note, and every rejection. */
#include "test_boot_util.h"

#include <elf.h>
#include <errno.h>

#include "ember/boot.h"
#include "ember/layout.h"

#define RAM (64 * MiB)
#define PADDR 0x200000ULL
#define DATA_OFF 0x1000ULL
#define NOTE_OFF 0x1800ULL /* file offset of the note area inside data[] */
#define FILESZ 0x300ULL
#define MEMSZ 0x800ULL
#define PVH_ENTRY (PADDR + 0x100)

struct elf_img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[4];
	uint8_t data[0x1000]; /* file bytes from DATA_OFF */
	uint64_t fsize;
};

static void elf_init(struct elf_img *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_ident[EI_VERSION] = EV_CURRENT;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_version = EV_CURRENT;
	e->eh.e_entry = PADDR + 0x40;
	e->eh.e_phoff = sizeof(Elf64_Ehdr);
	e->eh.e_ehsize = sizeof(Elf64_Ehdr);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 1;
	e->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = DATA_OFF,
				 .p_vaddr = 0xffffffff80000000ULL + PADDR, .p_paddr = PADDR,
				 .p_filesz = FILESZ, .p_memsz = MEMSZ, .p_align = 0x200000 };
	fill_pattern(e->data, sizeof(e->data), 1);
	e->fsize = DATA_OFF + sizeof(e->data);
}

/* Appends a note at *off inside data[]; returns the note's total size. */
static size_t add_note(struct elf_img *e, size_t off, const char *name, uint32_t namesz,
		       uint32_t type, const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { .n_namesz = namesz, .n_descsz = descsz, .n_type = type };
	uint8_t *p = e->data + (NOTE_OFF - DATA_OFF) + off;
	size_t nsz = (strlen(name) + 1 + 3) & ~3UL, dsz = ((size_t)descsz + 3) & ~3UL;

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, strlen(name) + 1);
	if (desc)
		memcpy(p + sizeof(nh) + nsz, desc, descsz);
	return sizeof(nh) + nsz + dsz;
}

/* PT_NOTE with a GNU build-id note first, then Xen PHYS32_ENTRY. */
static void add_pvh(struct elf_img *e, uint32_t entry)
{
	uint8_t id[20] = { 1, 2, 3 };
	size_t len = add_note(e, 0, "GNU", 4, 3, id, sizeof(id));

	len += add_note(e, len, "Xen", 4, 18, &entry, 4);
	e->ph[e->eh.e_phnum++] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
					       .p_filesz = len, .p_align = 4 };
}

static int elf_fd(const struct elf_img *e)
{
	int fd = mem_file(e->fsize);

	put(fd, 0, &e->eh, sizeof(e->eh));
	put(fd, sizeof(e->eh), e->ph, sizeof(e->ph));
	if (e->fsize > DATA_OFF) {
		uint64_t n = e->fsize - DATA_OFF;

		put(fd, DATA_OFF, e->data, n < sizeof(e->data) ? n : sizeof(e->data));
	}
	assert_int_equal(ftruncate(fd, (off_t)e->fsize), 0); /* headers may have grown it */
	return fd;
}

static int load(void **state, const struct elf_img *e, enum boot_proto want,
		struct boot_image *img)
{
	int fd = elf_fd(e), rc = boot_load_elf(*state, fd, want, img);

	close(fd);
	return rc;
}

BOOT_RAM_FIXTURES(RAM)

static void good_elf(void **state)
{
	struct guest_mem *gm = *state;
	struct boot_image img;
	struct elf_img e;
	uint8_t *ram = gm->r[0].host;

	elf_init(&e);
	memset(ram + PADDR, 0xcc, MEMSZ + 0x10); /* stale bytes the bss must clear */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.format, BOOT_FMT_ELF);
	assert_int_equal(img.proto, BOOT_PROTO_LINUX);
	assert_int_equal(img.entry, PADDR + 0x40);
	assert_int_equal(img.kernel_start, PADDR);
	assert_int_equal(img.kernel_end, PADDR + MEMSZ);
	assert_false(img.has_pvh_note);
	assert_false(img.has_setup_header);
	assert_int_equal(img.initrd_addr_max, UINT32_MAX);
	assert_memory_equal(ram + PADDR, e.data, FILESZ);
	for (uint64_t i = FILESZ; i < MEMSZ; i++)
		assert_int_equal(ram[PADDR + i], 0);
	assert_int_equal(ram[PADDR + MEMSZ], 0xcc); /* nothing past memsz */
}

static void two_segments(void **state)
{
	uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.ph[1] = e.ph[0];
	e.ph[1].p_offset = DATA_OFF + 0x400;
	e.ph[1].p_paddr = 0x400000;
	e.ph[1].p_filesz = 0x10;
	e.ph[1].p_memsz = 0x10;
	e.eh.e_phnum = 2;
	assert_int_equal(load(state, &e, BOOT_PROTO_LINUX, &img), 0);
	assert_int_equal(img.kernel_start, PADDR);
	assert_int_equal(img.kernel_end, 0x400010);
	assert_memory_equal(ram + 0x400000, e.data + 0x400, 0x10);
}

static void dispatch_elf_and_junk(void **state)
{
	struct boot_image img;
	struct elf_img e;
	int fd;

	elf_init(&e);
	fd = elf_fd(&e);
	assert_int_equal(boot_load_kernel(*state, fd, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.format, BOOT_FMT_ELF);
	close(fd);
	fd = mem_file(0x1000);
	put(fd, 0, "MZjunk", 6);
	assert_int_equal(boot_load_kernel(*state, fd, BOOT_PROTO_AUTO, &img), -EINVAL);
	close(fd);
	fd = mem_file(2);
	assert_int_equal(boot_load_kernel(*state, fd, BOOT_PROTO_AUTO, &img), -EINVAL);
	close(fd);
}

static void pvh_note_found(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	add_pvh(&e, PVH_ENTRY);
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), 0);
	assert_true(img.has_pvh_note);
	assert_int_equal(img.pvh_entry, PVH_ENTRY);
	assert_int_equal(img.proto, BOOT_PROTO_PVH);
	assert_int_equal(img.entry, PVH_ENTRY);
	/* Linux asked for explicitly: the note is seen but the ELF entry used. */
	assert_int_equal(load(state, &e, BOOT_PROTO_LINUX, &img), 0);
	assert_true(img.has_pvh_note);
	assert_int_equal(img.proto, BOOT_PROTO_LINUX);
	assert_int_equal(img.entry, PADDR + 0x40);
	assert_int_equal(load(state, &e, BOOT_PROTO_PVH, &img), 0);
	assert_int_equal(img.entry, PVH_ENTRY);
}

static void pvh_required_without_note(void **state)
{
	struct boot_image img;
	struct elf_img e;
	uint32_t entry = PVH_ENTRY;

	elf_init(&e);
	assert_int_equal(load(state, &e, BOOT_PROTO_PVH, &img), -EINVAL);
	/* A Xen note of another type is not the PVH entry. */
	e.ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_align = 4,
				.p_filesz = add_note(&e, 0, "Xen", 4, 17, &entry, 4) };
	e.eh.e_phnum = 2;
	assert_int_equal(load(state, &e, BOOT_PROTO_PVH, &img), -EINVAL);
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), 0);
	assert_false(img.has_pvh_note);
	assert_int_equal(img.proto, BOOT_PROTO_LINUX);
}

static void note_bogus_sizes(void **state)
{
	struct boot_image img;
	struct elf_img e;
	uint32_t entry = PVH_ENTRY;

	elf_init(&e);
	add_pvh(&e, PVH_ENTRY);
	/* namesz of the first note runs far past the segment. */
	memcpy(e.data + (NOTE_OFF - DATA_OFF), &(uint32_t){ 0xffffffffU }, 4);
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);

	elf_init(&e);
	add_pvh(&e, PVH_ENTRY);
	memcpy(e.data + (NOTE_OFF - DATA_OFF) + 4, &(uint32_t){ 0xfffffff0U }, 4); /* descsz */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);

	elf_init(&e); /* Xen note with a 2-byte descriptor */
	e.ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_align = 4,
				.p_filesz = add_note(&e, 0, "Xen", 4, 18, &entry, 2) };
	e.eh.e_phnum = 2;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);

	elf_init(&e); /* note segment beyond the file */
	add_pvh(&e, PVH_ENTRY);
	e.ph[1].p_offset = e.fsize - 8;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.ph[1].p_offset = UINT64_MAX - 4;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void truncated(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.fsize = DATA_OFF + FILESZ - 1;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.ph[0].p_offset = UINT64_MAX - 0x10; /* offset + filesz wraps */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.fsize = sizeof(Elf64_Ehdr) - 1;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.eh.e_phoff = e.fsize - 8; /* program headers run off the end */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void filesz_above_memsz(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.ph[0].p_memsz = FILESZ - 1;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void overlapping_segments(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.ph[1] = e.ph[0];
	e.ph[1].p_paddr = PADDR + MEMSZ - 1; /* one byte into the first one's bss */
	e.eh.e_phnum = 2;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.ph[1].p_paddr = PADDR - 0x10; /* covers the start of the first one */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.ph[1].p_paddr = PADDR + MEMSZ; /* adjacent is fine */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), 0);
}

static void outside_ram(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.ph[0].p_paddr = RAM - 0x100;
	e.eh.e_entry = RAM - 0x100;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.ph[0].p_paddr = UINT64_MAX - 0x100; /* paddr + memsz wraps */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.ph[0].p_paddr = 0x100000000ULL;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void below_1mib(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.ph[0].p_paddr = 0x80000;
	e.eh.e_entry = 0x80000;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.ph[0].p_paddr = LAYOUT_HIMEM - 0x10; /* straddles the floor */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void entry_outside_image(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.eh.e_entry = PADDR + MEMSZ;
	assert_int_equal(load(state, &e, BOOT_PROTO_LINUX, &img), -EINVAL);
	elf_init(&e);
	add_pvh(&e, 0x1000);
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void bad_ident(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.eh.e_ident[1] = 'e';
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.eh.e_machine = EM_AARCH64;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.eh.e_type = ET_DYN;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.eh.e_ehsize = 52;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.eh.e_phentsize = 32;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void phnum_absurd(void **state)
{
	struct boot_image img;
	struct elf_img e;

	elf_init(&e);
	e.eh.e_phnum = 0xffff;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.eh.e_phnum = 65;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	e.eh.e_phnum = 0;
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
	elf_init(&e);
	e.ph[0].p_type = PT_NULL; /* nothing to load */
	assert_int_equal(load(state, &e, BOOT_PROTO_AUTO, &img), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAM_TEST(good_elf),
		RAM_TEST(two_segments),
		RAM_TEST(dispatch_elf_and_junk),
		RAM_TEST(pvh_note_found),
		RAM_TEST(pvh_required_without_note),
		RAM_TEST(note_bogus_sizes),
		RAM_TEST(truncated),
		RAM_TEST(filesz_above_memsz),
		RAM_TEST(overlapping_segments),
		RAM_TEST(outside_ram),
		RAM_TEST(below_1mib),
		RAM_TEST(entry_outside_image),
		RAM_TEST(bad_ident),
		RAM_TEST(phnum_absurd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
