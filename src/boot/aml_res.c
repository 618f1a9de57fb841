/* AML resource templates (ACPI 6.5, 6.4): the descriptors our DSDT devices
 * use in _CRS, and the virtio-mmio device node built from them. */
#include "aml.h"

#include <errno.h>
#include <stdio.h>

#define RES_IRQ_NOFLAGS 0x22    /* small item 0x4, length 2 */
#define RES_IO 0x47             /* small item 0x8, length 7 */
#define RES_END_TAG 0x79        /* small item 0xf, length 1 */
#define RES_MEM32_FIXED 0x86    /* large item 0x06 */
#define RES_EXT_IRQ 0x89        /* large item 0x09 */
#define IO_DECODE16 0x01
#define MEM_WRITABLE 0x01
#define EXT_IRQ_CONSUMER 0x01
#define EXT_IRQ_EDGE 0x02       /* level when clear; active high, exclusive: 0 */
#define VIRTIO_MMIO_HID "LNRO0005" /* Linux virtio_mmio's ACPI id */
#define VIRTIO_MAX_INDEX 999    /* "V" + three digits */

size_t aml_rt_open(struct aml *a)
{
	return aml_buffer(a);
}

/* The end tag's checksum makes the template's bytes, end tag included, sum
 * to 0 (6.4.2.9); 0 would also mean "no checksum" but a real one costs nothing. */
void aml_rt_close(struct aml *a, size_t mark)
{
	uint8_t sum = RES_END_TAG;

	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (size_t i = mark; i < a->len; i++)
		sum = (uint8_t)(sum + a->buf[i]);
	aml_byte(a, RES_END_TAG);
	aml_byte(a, (uint8_t)(0 - sum));
	aml_buffer_close(a, mark);
}

void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	if (min > max) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_IO);
	aml_byte(a, IO_DECODE16);
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_rt_irq_noflags(struct aml *a, unsigned irq)
{
	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_IRQ_NOFLAGS);
	aml_le(a, 1U << irq, 2);
}

void aml_rt_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len)
{
	if (len && base + (uint64_t)len - 1 > UINT32_MAX) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_MEM32_FIXED);
	aml_le(a, 9, 2); /* length of what follows the 3-byte large-item header */
	aml_byte(a, writable ? MEM_WRITABLE : 0);
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}

void aml_rt_interrupt(struct aml *a, uint32_t gsi)
{
	aml_byte(a, RES_EXT_IRQ);
	aml_le(a, 6, 2); /* flags, count, one 32-bit interrupt number */
	aml_byte(a, EXT_IRQ_CONSUMER | EXT_IRQ_EDGE);
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

void aml_virtio_mmio_device(struct aml *a, unsigned index, uint64_t base, uint64_t size,
			    uint32_t irq)
{
	char name[8];
	size_t dev, crs;

	/* Memory32Fixed: the whole window below 4 GiB. */
	if (index > VIRTIO_MAX_INDEX || !size || base > UINT32_MAX || size > UINT32_MAX ||
	    base + size > (uint64_t)UINT32_MAX + 1) {
		aml_fail(a, -EINVAL);
		return;
	}
	snprintf(name, sizeof(name), "V%03u", index);
	dev = aml_device(a, name);
	aml_name_string(a, "_HID", VIRTIO_MMIO_HID);
	aml_name_integer(a, "_UID", index);
	aml_name(a, "_CRS");
	crs = aml_rt_open(a);
	aml_rt_mem32_fixed(a, true, (uint32_t)base, (uint32_t)size);
	aml_rt_interrupt(a, irq);
	aml_rt_close(a, crs);
	aml_close(a, dev);
}
