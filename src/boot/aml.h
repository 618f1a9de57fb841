/* A tiny AML (ACPI Machine Language, ACPI 6.5 chapter 20) byte builder for
 * the DSDT: names, integers, strings, packages, buffers, Scope/Device/Name,
 * and resource templates (chapter 6.4). It appends to a caller-owned buffer;
 * the first failure (-ENOSPC: buffer full, -EINVAL: bad name/value, -E2BIG:
 * a package beyond PkgLength's 2^28) sticks in `err` and turns every later
 * call into a no-op, so a whole table is built and checked once at the end.
 *
 * Terms with a PkgLength are opened and closed:
 *     size_t dev = aml_device(a, "COM1");
 *     aml_name_eisaid(a, "_HID", "PNP0501");
 *     aml_close(a, dev);
 * aml_close() then inserts the PkgLength (1-4 bytes) in front of the body.
 * Resource templates use aml_rt_open()/aml_rt_close(), which also add the
 * BufferSize and the end tag with its checksum. */
#ifndef EMBER_AML_H
#define EMBER_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err; /* 0 or the first -errno */
};

#define AML_PKGLEN_MAX ((1U << 28) - 1)

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_le(struct aml *a, uint64_t v, unsigned n); /* n little-endian bytes */
void aml_fail(struct aml *a, int err);              /* record err unless one is set */

/* PkgLength of a term whose length, counting the PkgLength itself, is
 * `total`: the encoding in out[] and its size (1-4), or -E2BIG. */
int aml_pkglen_encode(uint32_t total, uint8_t out[4]);
/* Bytes a PkgLength takes in front of a body of `body` bytes; 0 if too big. */
size_t aml_pkglen_size(size_t body);

/* NameString: "\\" and "^" prefixes, '.'-separated segments of 1-4
 * characters padded with '_' ("_SB" -> "_SB_"), Dual/MultiNamePrefix. */
void aml_namestring(struct aml *a, const char *path);
/* Integer with the shortest encoding: Zero, One, Byte/Word/DWord/QWord prefix. */
void aml_integer(struct aml *a, uint64_t v);
/* String: printable ASCII only, NUL-terminated in the AML. */
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501") -> 0x0105d041: three letters, four hex digits; -EINVAL. */
int aml_eisaid(const char *id, uint32_t *out);

/* Name(name, ...): the NameOp and name; the caller appends the object. */
void aml_name(struct aml *a, const char *name);
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* Opened terms (aml_pkg.c); each returns the mark to pass to aml_close(). */
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);
size_t aml_package(struct aml *a, uint8_t nelems);
size_t aml_buffer(struct aml *a); /* closed by aml_buffer_close() */
void aml_close(struct aml *a, size_t mark);
void aml_buffer_close(struct aml *a, size_t mark);

/* Resource templates (aml_res.c): a Buffer of descriptors and an end tag. */
size_t aml_rt_open(struct aml *a);
void aml_rt_close(struct aml *a, size_t mark);
/* IO(Decode16, min, max, align, len). */
void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags() { irq }: ISA, edge, active high; irq 0-15. */
void aml_rt_irq_noflags(struct aml *a, unsigned irq);
/* Memory32Fixed(ReadWrite|ReadOnly, base, len). */
void aml_rt_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len);
/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi }. */
void aml_rt_interrupt(struct aml *a, uint32_t gsi);

/* A virtio-mmio device as Linux's virtio_mmio ACPI match wants it:
 * Device(Vnnn) { _HID "LNRO0005", _UID index, _CRS { Memory32Fixed(base,
 * size), Interrupt(edge, high) { irq } } }; the window must lie below 4 GiB.
 * index 0-999. */
void aml_virtio_mmio_device(struct aml *a, unsigned index, uint64_t base, uint64_t size,
			    uint32_t irq);

#endif
