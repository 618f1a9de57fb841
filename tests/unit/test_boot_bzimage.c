/* bzImage loader: setup header checks, load address choice, rejections. */
#include "test_boot_util.h"

#include <errno.h>

#include "ember/boot.h"
#include "ember/layout.h"

#define RAM (64 * MiB)
#define SECTS 4
#define SETUP ((SECTS + 1) * 512ULL)
#define PAYLOAD 0x3000ULL
#define INIT_SIZE (2 * MiB)

struct bz {
	struct setup_header h;
	uint8_t payload[PAYLOAD];
	uint64_t fsize;
};

static void bz_init(struct bz *b)
{
	struct setup_header *h = &b->h;

	memset(b, 0, sizeof(*b));
	h->setup_sects = SECTS;
	h->syssize = PAYLOAD / 16;
	h->boot_flag = 0xaa55;
	/* "jmp short" over the header: it ends at 0x202 + displacement. */
	h->jump = (uint16_t)(0xeb | ((0x1f1 + sizeof(*h) - 0x202) << 8));
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 2 * MiB;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->pref_address = 16 * MiB;
	h->init_size = INIT_SIZE;
	fill_pattern(b->payload, PAYLOAD, 3);
	b->fsize = SETUP + PAYLOAD;
}

static int bz_fd(const struct bz *b)
{
	int fd = mem_file(SETUP + PAYLOAD);

	put(fd, 0x1f1, &b->h, sizeof(b->h));
	put(fd, SETUP, b->payload, PAYLOAD);
	assert_int_equal(ftruncate(fd, (off_t)b->fsize), 0);
	return fd;
}

static int load(void **state, const struct bz *b, enum boot_proto want, struct boot_image *img)
{
	int fd = bz_fd(b), rc = boot_load_kernel(*state, fd, want, img);

	close(fd);
	return rc;
}

BOOT_RAM_FIXTURES(RAM)

static void good(void **state)
{
	uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.format, BOOT_FMT_BZIMAGE);
	assert_int_equal(img.proto, BOOT_PROTO_LINUX);
	assert_int_equal(img.kernel_start, 16 * MiB);
	assert_int_equal(img.kernel_end, 16 * MiB + INIT_SIZE);
	assert_int_equal(img.entry, 16 * MiB + 0x200);
	assert_false(img.has_pvh_note);
	assert_true(img.has_setup_header);
	assert_memory_equal(&img.hdr, &b.h, sizeof(b.h));
	assert_int_equal(img.initrd_addr_max, 0x7fffffff);
	assert_memory_equal(ram + 16 * MiB, b.payload, PAYLOAD);
	/* LINUX asked for explicitly is the same. */
	assert_int_equal(load(state, &b, BOOT_PROTO_LINUX, &img), 0);
	assert_int_equal(img.entry, 16 * MiB + 0x200);
}

static void setup_sects_zero_means_4(void **state)
{
	uint8_t *ram = ((struct guest_mem *)*state)->r[0].host;
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	b.h.setup_sects = 0;
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_memory_equal(ram + img.kernel_start, b.payload, PAYLOAD);
}

static void load_address(void **state)
{
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	b.h.pref_address = 32 * MiB;
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.kernel_start, 32 * MiB);
	b.h.pref_address = 17 * MiB; /* not 2 MiB aligned */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.kernel_start, 16 * MiB);
	b.h.pref_address = RAM; /* aligned, but the kernel would end past RAM */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.kernel_start, 16 * MiB);
	b.h.pref_address = 0; /* below 1 MiB */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.kernel_start, 16 * MiB);
	b.h.kernel_alignment = 32 * MiB;
	b.h.pref_address = 16 * MiB; /* not aligned to the kernel's alignment */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.kernel_start, 32 * MiB);
	assert_int_equal(img.entry, 32 * MiB + 0x200);
}

static void old_protocol(void **state)
{
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	b.h.version = 0x020b;
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void no_64bit_entry(void **state)
{
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	b.h.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -EINVAL);
}

static void truncated(void **state)
{
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	b.fsize = SETUP + PAYLOAD - 16; /* syssize says more */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -EINVAL);
	b.fsize = SETUP; /* no kernel at all */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -EINVAL);
	b.fsize = 0x300; /* ends in the setup code */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -EINVAL);
	b.fsize = 0x210; /* ends inside the setup header */
	{
		int fd = bz_fd(&b);

		assert_int_equal(boot_load_bzimage(*state, fd, BOOT_PROTO_AUTO, &img), -EINVAL);
		close(fd);
	}
}

static void bad_magic(void **state)
{
	struct boot_image img;
	struct bz b;
	int fd;

	bz_init(&b);
	b.h.boot_flag = 0x55aa;
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -EINVAL);
	bz_init(&b);
	b.h.header = 0x58726448; /* "HdrX": not recognised at all */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -EINVAL);
	fd = bz_fd(&b);
	assert_int_equal(boot_load_bzimage(*state, fd, BOOT_PROTO_AUTO, &img), -EINVAL);
	close(fd);
}

static void pvh_rejected(void **state)
{
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	assert_int_equal(load(state, &b, BOOT_PROTO_PVH, &img), -EINVAL);
}

static void too_big_for_ram(void **state)
{
	struct boot_image img;
	struct bz b;

	bz_init(&b);
	b.h.init_size = RAM - 16 * MiB + 1;
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), -ENOMEM);
	b.h.init_size = RAM - 16 * MiB; /* exactly fits */
	assert_int_equal(load(state, &b, BOOT_PROTO_AUTO, &img), 0);
	assert_int_equal(img.kernel_end, RAM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAM_TEST(good),
		RAM_TEST(setup_sects_zero_means_4),
		RAM_TEST(load_address),
		RAM_TEST(old_protocol),
		RAM_TEST(no_64bit_entry),
		RAM_TEST(truncated),
		RAM_TEST(bad_magic),
		RAM_TEST(pvh_rejected),
		RAM_TEST(too_big_for_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
