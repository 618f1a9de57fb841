/* PkgLength-framed AML terms (ACPI 6.5, 20.2.4-20.2.5): Scope, Device,
 * Package, Buffer. A term is opened (opcode written, body start marked),
 * its body appended, then closed: the PkgLength, whose size depends on the
 * body's, is inserted in front of the body then. */
#include "aml.h"

#include <errno.h>
#include <string.h>

#define SCOPE_OP 0x10
#define BUFFER_OP 0x11
#define PACKAGE_OP 0x12
#define EXT_OP_PREFIX 0x5b
#define DEVICE_OP 0x82 /* after EXT_OP_PREFIX */

/* One byte holds 6 bits of length; with 1-3 more bytes the lead byte keeps
 * only its low nibble and bits 7-6 count the extra bytes (20.2.4). */
int aml_pkglen_encode(uint32_t total, uint8_t out[4])
{
	int n;

	if (total <= 0x3f) {
		out[0] = (uint8_t)total;
		return 1;
	}
	if (total > AML_PKGLEN_MAX)
		return -E2BIG;
	n = total <= 0xfff ? 2 : total <= 0xfffff ? 3 : 4;
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
	for (int i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

size_t aml_pkglen_size(size_t body)
{
	for (size_t n = 1; n <= 4; n++) {
		size_t limit = n == 1 ? 0x3f : ((size_t)1 << (4 + 8 * (n - 1))) - 1;

		if (body + n <= limit)
			return n;
	}
	return 0;
}

static size_t open_term(struct aml *a, const uint8_t *op, size_t oplen)
{
	aml_bytes(a, op, oplen);
	return a->len; /* the body starts here; its PkgLength goes in front */
}

size_t aml_scope(struct aml *a, const char *name)
{
	static const uint8_t op[] = { SCOPE_OP };
	size_t mark = open_term(a, op, sizeof(op));

	aml_namestring(a, name);
	return mark;
}

size_t aml_device(struct aml *a, const char *name)
{
	static const uint8_t op[] = { EXT_OP_PREFIX, DEVICE_OP };
	size_t mark = open_term(a, op, sizeof(op));

	aml_namestring(a, name);
	return mark;
}

size_t aml_package(struct aml *a, uint8_t nelems)
{
	static const uint8_t op[] = { PACKAGE_OP };
	size_t mark = open_term(a, op, sizeof(op));

	aml_byte(a, nelems);
	return mark;
}

size_t aml_buffer(struct aml *a)
{
	static const uint8_t op[] = { BUFFER_OP };

	return open_term(a, op, sizeof(op));
}

/* Insert PkgLength + `pre` (plen bytes) at `mark`, shifting the body up. */
static void frame(struct aml *a, size_t mark, const uint8_t *pre, size_t plen)
{
	uint8_t pkg[4];
	size_t body, n;
	int rc;

	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	body = a->len - mark + plen;
	n = aml_pkglen_size(body);
	rc = n ? aml_pkglen_encode((uint32_t)(body + n), pkg) : -E2BIG;
	if (rc < 0) {
		aml_fail(a, rc);
		return;
	}
	if (n + plen > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	memmove(a->buf + mark + n + plen, a->buf + mark, a->len - mark);
	memcpy(a->buf + mark, pkg, n);
	if (plen)
		memcpy(a->buf + mark + n, pre, plen);
	a->len += n + plen;
}

void aml_close(struct aml *a, size_t mark)
{
	frame(a, mark, NULL, 0);
}

/* A Buffer's PkgLength is followed by BufferSize, an integer term whose value
 * is the byte count: both depend on the body, so both are inserted here. */
void aml_buffer_close(struct aml *a, size_t mark)
{
	uint8_t tmp[9];
	struct aml size;

	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_init(&size, tmp, sizeof(tmp));
	aml_integer(&size, a->len - mark);
	frame(a, mark, tmp, size.len);
}
