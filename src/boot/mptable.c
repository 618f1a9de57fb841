/* MP table (Intel MultiProcessor Specification 1.4) at LAYOUT_EBDA_START:
 * the last KiB of base memory, one of the places Linux scans for "_MP_".
 * Kernels without ACPI find their CPUs and the IOAPIC here. The table is
 * built in a local buffer and copied in once, checksums already set. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

#define MP_SPEC_REV 4 /* 1.4 */
#define LAPIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define CPU_ENABLED 0x1
#define CPU_BSP 0x2
#define CPU_SIGNATURE 0x600        /* family 6; only informative */
#define CPU_FEATURES ((1U << 0) | (1U << 9)) /* CPUID.1:EDX FPU, APIC */
#define IRQ_INT 0
#define IRQ_NMI 1
#define IRQ_EXTINT 3
#define ALL_LAPICS 0xff

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)(0 - sum); /* the structure's bytes then sum to 0 */
}

static size_t put_cpus(uint8_t *p, int ncpus)
{
	for (int i = 0; i < ncpus; i++) {
		struct mp_proc c = {
			.type = MP_PROC,
			.apic_id = (uint8_t)i,
			.apic_version = LAPIC_VERSION,
			.flags = CPU_ENABLED | (i == 0 ? CPU_BSP : 0),
			.signature = CPU_SIGNATURE,
			.features = CPU_FEATURES,
		};

		memcpy(p + (size_t)i * sizeof(c), &c, sizeof(c));
	}
	return (size_t)ncpus * sizeof(struct mp_proc);
}

static size_t put_irq(uint8_t *p, uint8_t type, uint8_t irq_type, uint8_t src_irq,
		      uint8_t dst_apic, uint8_t dst_pin)
{
	struct mp_irq e = { .type = type, .irq_type = irq_type, .src_bus = 0,
			    .src_irq = src_irq, .dst_apic = dst_apic, .dst_pin = dst_pin };

	memcpy(p, &e, sizeof(e));
	return sizeof(e);
}

/* Entries after the header; returns their total size. */
static size_t put_entries(uint8_t *p, int ncpus)
{
	struct mp_bus bus = { .type = MP_BUS, .bus_id = 0, .bus_type = { 'I', 'S', 'A', ' ', ' ', ' ' } };
	struct mp_ioapic io = { .type = MP_IOAPIC, .apic_id = (uint8_t)ncpus,
				.apic_version = IOAPIC_VERSION, .flags = 1,
				.addr = (uint32_t)LAYOUT_IOAPIC };
	size_t off = put_cpus(p, ncpus);

	memcpy(p + off, &bus, sizeof(bus));
	off += sizeof(bus);
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);
	/* KVM's IOAPIC has GSI n on pin n, so ISA IRQ n routes straight to INTIN n. */
	for (int irq = 0; irq < MP_NR_IRQS; irq++)
		off += put_irq(p + off, MP_IOINT, IRQ_INT, (uint8_t)irq, io.apic_id, (uint8_t)irq);
	/* Virtual wire: the PIC reaches the BSP on LINT0, NMIs every CPU on LINT1. */
	off += put_irq(p + off, MP_LINT, IRQ_EXTINT, 0, 0, 0);
	off += put_irq(p + off, MP_LINT, IRQ_NMI, 0, ALL_LAPICS, 1);
	return off;
}

int boot_write_mptable(struct guest_mem *gm, int ncpus)
{
	uint8_t buf[BOOT_MPTABLE_MAX];
	struct mp_floating mpf = { .signature = { '_', 'M', 'P', '_' },
				   .physptr = (uint32_t)(LAYOUT_EBDA_START + sizeof(mpf)),
				   .length = 1, .spec_rev = MP_SPEC_REV };
	struct mp_config cfg = { .signature = { 'P', 'C', 'M', 'P' }, .spec_rev = MP_SPEC_REV,
				 .oem_id = { 'E', 'M', 'B', 'E', 'R', ' ', ' ', ' ' },
				 .product_id = { 'M', 'I', 'C', 'R', 'O', 'V', 'M', ' ', ' ', ' ', ' ', ' ' },
				 .lapic_addr = (uint32_t)LAYOUT_LAPIC };
	uint8_t *tab = buf + sizeof(mpf);
	size_t size;

	if (ncpus < 1 || ncpus > LAYOUT_MAX_VCPUS) {
		log_err("mptable: %d vCPUs, supported 1..%d", ncpus, LAYOUT_MAX_VCPUS);
		return -EINVAL;
	}
	memset(buf, 0, sizeof(buf));
	size = sizeof(cfg) + put_entries(tab + sizeof(cfg), ncpus);
	cfg.length = (uint16_t)size;
	cfg.entry_count = (uint16_t)(ncpus + 4 + MP_NR_IRQS); /* + bus, IOAPIC, 2 LINTs */
	memcpy(tab, &cfg, sizeof(cfg));
	tab[offsetof(struct mp_config, checksum)] = checksum(tab, size);
	mpf.checksum = checksum((const uint8_t *)&mpf, sizeof(mpf));
	memcpy(buf, &mpf, sizeof(mpf));
	if (gm_write(gm, LAYOUT_EBDA_START, buf, sizeof(mpf) + size)) {
		log_err("mptable: 0x%llx not in guest RAM", LAYOUT_EBDA_START);
		return -EFAULT;
	}
	return 0;
}
