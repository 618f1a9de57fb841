/* initrd placement: top of low RAM, page aligned, under initrd_addr_max,
 * above the kernel. */
#include "test_boot_util.h"

#include <errno.h>

#include "ember/boot.h"
#include "ember/layout.h"

#define RAM (64 * MiB)
#define SIZE 0x1234ULL

BOOT_RAM_FIXTURES(RAM)

static struct boot_image elf_image(void)
{
	return (struct boot_image){ .format = BOOT_FMT_ELF, .proto = BOOT_PROTO_LINUX,
				    .kernel_start = 0x200000, .kernel_end = 0x300000,
				    .initrd_addr_max = UINT32_MAX };
}

static int load(void **state, uint64_t size, const struct boot_image *img,
		struct boot_initrd *out)
{
	uint8_t data[SIZE];
	int fd = mem_file(size), rc;

	fill_pattern(data, sizeof(data), 9);
	if (size)
		put(fd, 0, data, size < sizeof(data) ? size : sizeof(data));
	rc = boot_load_initrd(*state, fd, img, out);
	close(fd);
	return rc;
}

static void top_of_ram(void **state)
{
	uint8_t *ram = ((struct guest_mem *)*state)->r[0].host, data[SIZE];
	struct boot_image img = elf_image();
	struct boot_initrd rd;

	assert_int_equal(load(state, SIZE, &img, &rd), 0);
	assert_int_equal(rd.addr, (RAM - SIZE) & ~0xfffULL);
	assert_int_equal(rd.addr & 0xfff, 0);
	assert_true(rd.addr + SIZE <= RAM);
	assert_true(rd.addr + SIZE > RAM - 0x1000); /* as high as alignment allows */
	assert_int_equal(rd.size, SIZE);
	fill_pattern(data, sizeof(data), 9);
	assert_memory_equal(ram + rd.addr, data, SIZE);
}

static void capped_by_initrd_addr_max(void **state)
{
	struct boot_image img = elf_image();
	struct boot_initrd rd;

	img.format = BOOT_FMT_BZIMAGE;
	img.initrd_addr_max = 32 * MiB - 1; /* inclusive */
	assert_int_equal(load(state, SIZE, &img, &rd), 0);
	assert_int_equal(rd.addr, (32 * MiB - SIZE) & ~0xfffULL);
	img.initrd_addr_max = 0x1ffff7ff; /* unaligned cap above RAM: RAM wins */
	assert_int_equal(load(state, SIZE, &img, &rd), 0);
	assert_int_equal(rd.addr, (RAM - SIZE) & ~0xfffULL);
	img.initrd_addr_max = 0x01fff7ff; /* unaligned cap inside RAM */
	assert_int_equal(load(state, SIZE, &img, &rd), 0);
	assert_int_equal(rd.addr, (0x01fff800 - SIZE) & ~0xfffULL);
	assert_true(rd.addr + rd.size - 1 <= img.initrd_addr_max);
}

static void not_over_kernel(void **state)
{
	struct boot_image img = elf_image();
	struct boot_initrd rd;

	img.kernel_end = RAM - 0x1000; /* 0x1234 bytes no longer fit above it */
	assert_int_equal(load(state, SIZE, &img, &rd), -EFBIG);
	assert_int_equal(rd.addr, 0);
	img.kernel_end = RAM - 0x2000; /* exactly fits */
	assert_int_equal(load(state, SIZE, &img, &rd), 0);
	assert_int_equal(rd.addr, RAM - 0x2000);
	img.kernel_end = 30 * MiB;
	img.initrd_addr_max = 30 * MiB; /* the cap leaves no room above the kernel */
	assert_int_equal(load(state, SIZE, &img, &rd), -EFBIG);
}

static void too_big_or_empty(void **state)
{
	struct boot_image img = elf_image();
	struct boot_initrd rd;

	assert_int_equal(load(state, RAM + 0x1000, &img, &rd), -EFBIG);
	assert_int_equal(load(state, RAM - 0x200000, &img, &rd), -EFBIG);
	assert_int_equal(load(state, 0, &img, &rd), -EINVAL);
}

static void unset_cap_means_low_ram(void **state)
{
	struct boot_image img = elf_image();
	struct boot_initrd rd;

	img.initrd_addr_max = 0; /* unset: treated as 4 GiB - 1, i.e. low RAM */
	assert_int_equal(load(state, SIZE, &img, &rd), 0);
	assert_int_equal(rd.addr, (RAM - SIZE) & ~0xfffULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAM_TEST(top_of_ram),
		RAM_TEST(capped_by_initrd_addr_max),
		RAM_TEST(not_over_kernel),
		RAM_TEST(too_big_or_empty),
		RAM_TEST(unset_cap_means_low_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
