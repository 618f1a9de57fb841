/* AML byte builder: the output buffer, data objects and names (ACPI 6.5,
 * 20.2). PkgLength-framed terms are in aml_pkg.c, resource templates in
 * aml_res.c. */
#include "aml.h"

#include <errno.h>
#include <string.h>

#define ZERO_OP 0x00
#define ONE_OP 0x01
#define NAME_OP 0x08
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define STRING_PREFIX 0x0d
#define QWORD_PREFIX 0x0e
#define DUAL_NAME_PREFIX 0x2e
#define MULTI_NAME_PREFIX 0x2f
#define ROOT_CHAR '\\'
#define PARENT_CHAR '^'
#define NAME_SEG 4
#define MAX_SEGS 255

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

static bool seg_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Copy one segment of `p` (up to '.' or NUL) padded with '_'; its length or -EINVAL. */
static int name_seg(const char *p, uint8_t seg[NAME_SEG])
{
	int n = 0;

	while (p[n] && p[n] != '.') {
		if (n == NAME_SEG || !seg_char(p[n], n == 0))
			return -EINVAL;
		seg[n] = (uint8_t)p[n];
		n++;
	}
	if (n == 0)
		return -EINVAL;
	memset(seg + n, '_', (size_t)(NAME_SEG - n));
	return n;
}

void aml_namestring(struct aml *a, const char *path)
{
	uint8_t segs[MAX_SEGS][NAME_SEG];
	int nsegs = 0;

	if (!*path) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (*path == ROOT_CHAR)
		aml_byte(a, (uint8_t)*path++);
	else
		while (*path == PARENT_CHAR)
			aml_byte(a, (uint8_t)*path++);
	while (*path) {
		int n = nsegs < MAX_SEGS ? name_seg(path, segs[nsegs]) : -EINVAL;

		if (n < 0) {
			aml_fail(a, n);
			return;
		}
		nsegs++;
		path += n;
		if (*path == '.' && !*++path) {
			aml_fail(a, -EINVAL); /* trailing dot */
			return;
		}
	}
	if (nsegs == 0)
		aml_byte(a, ZERO_OP); /* NullName: only valid after a prefix */
	else if (nsegs == 2)
		aml_byte(a, DUAL_NAME_PREFIX);
	else if (nsegs > 2) {
		aml_byte(a, MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	aml_bytes(a, segs, (size_t)nsegs * NAME_SEG);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v <= 1)
		aml_byte(a, v ? ONE_OP : ZERO_OP);
	else if (v <= UINT8_MAX) {
		aml_byte(a, BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, QWORD_PREFIX); /* needs a revision >= 2 definition block */
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e) {
			aml_fail(a, -EINVAL);
			return;
		}
	aml_byte(a, STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Three 5-bit letters ('A' = 1) and a 16-bit product number, stored big-endian. */
int aml_eisaid(const char *id, uint32_t *out)
{
	uint32_t v = 0;

	if (strlen(id) != 7)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v |= (uint32_t)(id[i] - 'A' + 1) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		if (hex(id[i]) < 0)
			return -EINVAL;
		v |= (uint32_t)hex(id[i]) << (4 * (6 - i));
	}
	*out = __builtin_bswap32(v);
	return 0;
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, NAME_OP);
	aml_namestring(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	uint32_t v;
	int rc = aml_eisaid(id, &v);

	if (rc) {
		aml_fail(a, rc);
		return;
	}
	aml_name(a, name);
	aml_byte(a, DWORD_PREFIX); /* always a DWORD, as ASL's EisaId() */
	aml_le(a, v, 4);
}
