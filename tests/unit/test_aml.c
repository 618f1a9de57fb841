/* AML builder: PkgLength edges, integer and name encodings, EisaId, framed
 * terms, resource templates and the virtio-mmio device node, byte for byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/boot/aml.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static uint8_t buf[8192];

static struct aml fresh(void)
{
	struct aml a;

	memset(buf, 0xee, sizeof(buf));
	aml_init(&a, buf, sizeof(buf));
	return a;
}

static void expect(const struct aml *a, const uint8_t *want, size_t len)
{
	assert_int_equal(a->err, 0);
	assert_int_equal(a->len, len);
	assert_memory_equal(a->buf, want, len);
}

static void pkglen(uint32_t total, const uint8_t *want, size_t n)
{
	uint8_t out[4];

	assert_int_equal(aml_pkglen_encode(total, out), (int)n);
	assert_memory_equal(out, want, n);
}

static void pkglen_encoding(void **state)
{
	uint8_t out[4];

	pkglen(0, BYTES(0x00));
	pkglen(63, BYTES(0x3f));
	pkglen(64, BYTES(0x40, 0x04));
	pkglen(65, BYTES(0x41, 0x04));
	pkglen(4095, BYTES(0x4f, 0xff));
	pkglen(4096, BYTES(0x80, 0x00, 0x01));
	pkglen((1U << 20) - 1, BYTES(0x8f, 0xff, 0xff));
	pkglen(1U << 20, BYTES(0xc0, 0x00, 0x00, 0x01));
	pkglen((1U << 28) - 1, BYTES(0xcf, 0xff, 0xff, 0xff));
	assert_int_equal(aml_pkglen_encode(1U << 28, out), -E2BIG);
	assert_int_equal(aml_pkglen_encode(UINT32_MAX, out), -E2BIG);
}

/* The size counts itself: a 63-byte body needs 2 bytes (65 > 63). */
static void pkglen_size_counts_itself(void **state)
{
	assert_int_equal(aml_pkglen_size(0), 1);
	assert_int_equal(aml_pkglen_size(62), 1);
	assert_int_equal(aml_pkglen_size(63), 2);
	assert_int_equal(aml_pkglen_size(4093), 2);
	assert_int_equal(aml_pkglen_size(4094), 3);
	assert_int_equal(aml_pkglen_size((1U << 20) - 4), 3);
	assert_int_equal(aml_pkglen_size((1U << 20) - 3), 4);
	assert_int_equal(aml_pkglen_size((1U << 28) - 5), 4);
	assert_int_equal(aml_pkglen_size((1U << 28) - 4), 0);
}

static void integer(uint64_t v, const uint8_t *want, size_t n)
{
	struct aml a = fresh();

	aml_integer(&a, v);
	expect(&a, want, n);
}

static void integers_shortest(void **state)
{
	integer(0, BYTES(0x00));
	integer(1, BYTES(0x01));
	integer(2, BYTES(0x0a, 0x02));
	integer(0xff, BYTES(0x0a, 0xff));
	integer(0x100, BYTES(0x0b, 0x00, 0x01));
	integer(0xffff, BYTES(0x0b, 0xff, 0xff));
	integer(0x10000, BYTES(0x0c, 0x00, 0x00, 0x01, 0x00));
	integer(0xffffffff, BYTES(0x0c, 0xff, 0xff, 0xff, 0xff));
	integer(0x100000000ULL, BYTES(0x0e, 0, 0, 0, 0, 1, 0, 0, 0));
	integer(0x123456789abcdef0ULL, BYTES(0x0e, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12));
	integer(UINT64_MAX, BYTES(0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
}

static void name(const char *path, const uint8_t *want, size_t n)
{
	struct aml a = fresh();

	aml_namestring(&a, path);
	expect(&a, want, n);
}

static void bad_name(const char *path)
{
	struct aml a = fresh();

	aml_namestring(&a, path);
	assert_int_equal(a.err, -EINVAL);
}

static void names_padded_and_prefixed(void **state)
{
	name("_SB", BYTES('_', 'S', 'B', '_'));
	name("COM1", BYTES('C', 'O', 'M', '1'));
	name("X", BYTES('X', '_', '_', '_'));
	name("\\_SB_", BYTES('\\', '_', 'S', 'B', '_'));
	name("\\_SB.COM1", BYTES('\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'));
	name("A.B.C", BYTES(0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_'));
	name("^^X1", BYTES('^', '^', 'X', '1', '_', '_'));
	name("\\", BYTES('\\', 0x00)); /* NullName */
	bad_name("");
	bad_name("com1");  /* lower case */
	bad_name("1ABC");  /* digit first */
	bad_name("ABCDE"); /* five characters */
	bad_name("A..B");
	bad_name("A.");
	bad_name(".A");
	bad_name("\\^A");
}

static void strings_and_eisaid(void **state)
{
	struct aml a = fresh();
	uint32_t v;

	aml_string(&a, "LNRO0005");
	expect(&a, BYTES(0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0));
	a = fresh();
	aml_string(&a, "bad\n");
	assert_int_equal(a.err, -EINVAL);

	assert_int_equal(aml_eisaid("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105d041);
	assert_int_equal(aml_eisaid("PNP0303", &v), 0);
	assert_int_equal(v, 0x0303d041);
	assert_int_equal(aml_eisaid("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml_eisaid("pnp0501", &v), -EINVAL);
	assert_int_equal(aml_eisaid("PNP050", &v), -EINVAL);
	assert_int_equal(aml_eisaid("PNP050G", &v), -EINVAL);
	assert_int_equal(aml_eisaid("PNP05011", &v), -EINVAL);

	a = fresh();
	aml_name_eisaid(&a, "_HID", "PNP0501");
	expect(&a, BYTES(0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01));
}

/* Package(n) { One... }: body = NumElements + n bytes, framed in 1 or 2 bytes. */
static void package_framing(void **state)
{
	for (unsigned n = 60; n <= 64; n++) {
		struct aml a = fresh();
		size_t pkg = aml_package(&a, (uint8_t)n), body = 1 + n, plen = body <= 62 ? 1 : 2;

		for (unsigned i = 0; i < n; i++)
			aml_integer(&a, 1);
		aml_close(&a, pkg);
		assert_int_equal(a.err, 0);
		assert_int_equal(a.len, 1 + plen + body);
		assert_int_equal(buf[0], 0x12);
		if (plen == 1) {
			assert_int_equal(buf[1], body + 1);
		} else {
			assert_int_equal(buf[1], 0x40 | ((body + 2) & 0xf));
			assert_int_equal(buf[2], (body + 2) >> 4);
		}
		assert_int_equal(buf[1 + plen], n);
		assert_int_equal(buf[1 + plen + n], 0x01);
		assert_int_equal(buf[a.len], 0xee); /* nothing written past the end */
	}
}

/* Nested terms: the inner PkgLength is inserted first, the outer one grows. */
static void scope_device_nesting(void **state)
{
	struct aml a = fresh();
	size_t sb = aml_scope(&a, "\\_SB_"), dev = aml_device(&a, "COM1");

	aml_name_integer(&a, "_UID", 1);
	aml_close(&a, dev);
	aml_close(&a, sb);
	expect(&a, BYTES(0x10, 0x13, '\\', '_', 'S', 'B', '_',
			 0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x01));
}

/* A 3-byte PkgLength: body 5004 bytes (name + 5000), total 5007 = 0x138f. */
static void large_scope(void **state)
{
	static uint8_t zeros[5000];
	struct aml a = fresh();
	size_t s = aml_scope(&a, "BIG_");

	aml_bytes(&a, zeros, sizeof(zeros));
	aml_close(&a, s);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, 1 + 3 + 4 + 5000);
	assert_memory_equal(buf, ((const uint8_t[]){ 0x10, 0x8f, 0x38, 0x01, 'B', 'I', 'G', '_' }), 8);
}

static void errors_stick(void **state)
{
	uint8_t small[6];
	struct aml a;
	size_t pkg;

	aml_init(&a, small, sizeof(small));
	aml_bytes(&a, "12345", 5);
	aml_bytes(&a, "67", 2); /* no room: refused whole */
	assert_int_equal(a.err, -ENOSPC);
	assert_int_equal(a.len, 5);
	aml_byte(&a, 'x'); /* would fit, but the error sticks */
	assert_int_equal(a.len, 5);

	aml_init(&a, small, sizeof(small)); /* body fits, its PkgLength does not */
	pkg = aml_package(&a, 4);
	aml_bytes(&a, "\x01\x01\x01\x01", 4);
	aml_close(&a, pkg);
	assert_int_equal(a.err, -ENOSPC);

	aml_init(&a, small, sizeof(small));
	aml_close(&a, 3); /* mark past the end */
	assert_int_equal(a.err, -EINVAL);
}

static void resource_template(void **state)
{
	struct aml a = fresh();
	size_t rt = aml_rt_open(&a);
	uint8_t s = 0;

	aml_rt_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_rt_irq_noflags(&a, 4);
	aml_rt_close(&a, rt);
	/* Buffer, PkgLength 16, BufferSize 13, IO, IRQNoFlags {4}, end tag. */
	assert_int_equal(a.len, 17);
	assert_memory_equal(buf, ((const uint8_t[]){ 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03,
						   0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79 }),
			    16);
	for (size_t i = 4; i < 17; i++)
		s = (uint8_t)(s + buf[i]);
	assert_int_equal(s, 0); /* end tag checksum */

	a = fresh();
	aml_rt_irq_noflags(&a, 16);
	assert_int_equal(a.err, -EINVAL);
	a = fresh();
	aml_rt_io(&a, 0x10, 0x0f, 1, 1);
	assert_int_equal(a.err, -EINVAL);
	a = fresh();
	aml_rt_mem32_fixed(&a, true, 0xfffff000, 0x2000);
	assert_int_equal(a.err, -EINVAL);
}

static void virtio_mmio_device(void **state)
{
	struct aml a = fresh();
	uint8_t s = 0;

	aml_virtio_mmio_device(&a, 0, 0xc0001000, 0x1000, 5);
	expect(&a, BYTES(0x5b, 0x82, 0x3a, 'V', '0', '0', '0',
			 0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0,
			 0x08, '_', 'U', 'I', 'D', 0x00,
			 0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,
			 0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xc0, 0x00, 0x10, 0x00, 0x00,
			 0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00,
			 0x79, buf[59]));
	for (size_t i = 37; i < 60; i++)
		s = (uint8_t)(s + buf[i]);
	assert_int_equal(s, 0);

	a = fresh();
	aml_virtio_mmio_device(&a, 12, 0xc000d000, 0x1000, 17);
	assert_int_equal(a.err, 0);
	assert_memory_equal(buf + 3, "V012", 4);

	a = fresh();
	aml_virtio_mmio_device(&a, 1000, 0xc0001000, 0x1000, 5);
	assert_int_equal(a.err, -EINVAL);
	a = fresh();
	aml_virtio_mmio_device(&a, 0, 0x100000000ULL, 0x1000, 5);
	assert_int_equal(a.err, -EINVAL);
	a = fresh();
	aml_virtio_mmio_device(&a, 0, 0xfffff000, 0x2000, 5);
	assert_int_equal(a.err, -EINVAL);
	a = fresh();
	aml_virtio_mmio_device(&a, 0, 0xc0001000, 0, 5);
	assert_int_equal(a.err, -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pkglen_encoding),
		cmocka_unit_test(pkglen_size_counts_itself),
		cmocka_unit_test(integers_shortest),
		cmocka_unit_test(names_padded_and_prefixed),
		cmocka_unit_test(strings_and_eisaid),
		cmocka_unit_test(package_framing),
		cmocka_unit_test(scope_device_nesting),
		cmocka_unit_test(large_scope),
		cmocka_unit_test(errors_stick),
		cmocka_unit_test(resource_template),
		cmocka_unit_test(virtio_mmio_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
