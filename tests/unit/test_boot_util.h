/* Shared fixtures for the test_boot_*.c unit tests: fake guest RAM backed by
 * a calloc'd buffer and in-memory files (memfd) holding test images. */
#ifndef TEST_BOOT_UTIL_H
#define TEST_BOOT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/guest_mem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static inline void fake_ram(struct guest_mem *gm, uint64_t size)
{
	uint8_t *buf = calloc(1, size);

	assert_non_null(buf);
	memset(gm, 0, sizeof(*gm));
	gm->r[0] = (struct gm_region){ .gpa = 0, .size = size, .host = buf };
	gm->nr = 1;
	gm->ram_size = size;
}

static inline void fake_ram_free(struct guest_mem *gm)
{
	free(gm->r[0].host);
	memset(gm, 0, sizeof(*gm));
}

/* cmocka fixtures: *state is a fresh guest_mem of `size` bytes of RAM. */
static inline int ram_state_new(void **state, uint64_t size)
{
	struct guest_mem *gm = calloc(1, sizeof(*gm));

	assert_non_null(gm);
	fake_ram(gm, size);
	*state = gm;
	return 0;
}

static inline int ram_state_free(void **state)
{
	fake_ram_free(*state);
	free(*state);
	return 0;
}

/* The file's setup/teardown pair over its RAM size, and a test run with them. */
#define BOOT_RAM_FIXTURES(size)                                      \
	static int setup(void **state)                               \
	{                                                            \
		return ram_state_new(state, (size));                 \
	}                                                            \
	static int teardown(void **state)                            \
	{                                                            \
		return ram_state_free(state);                        \
	}
#define RAM_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* A memfd of `size` bytes (zero-filled) for images built piecewise with put(). */
static inline int mem_file(uint64_t size)
{
	int fd = memfd_create("boot-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static inline void put(int fd, uint64_t off, const void *data, size_t len)
{
	assert_int_equal(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
}

static inline void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

#endif
