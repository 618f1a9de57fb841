/* ACPI tables for hardware-reduced ACPI guests (Firecracker's set, design.md
 * §4): RSDP at LAYOUT_RSDP -> XSDT -> FADT (-> DSDT) and MADT, packed from
 * LAYOUT_ACPI_START upwards in the e820-reserved system area. Stock distro
 * kernels without CONFIG_X86_MPPARSE find their CPUs only in the MADT; the
 * DSDT names the legacy devices and the \_S5_ sleep type that `poweroff`
 * writes to the FADT's sleep control register (ember/acpi.h).
 *
 * The tables are written straight into guest memory through one gm_ptr()
 * window over the area, each with its checksum, before any vCPU runs. */
#include <errno.h>
#include <string.h>

#include "acpi_internal.h"
#include "aml.h"
#include "ember/acpi.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

#define XSDT_REVISION 1
#define RSDP_REVISION 2
#define LAPIC_ENABLED 1U
#define ALL_PROCESSORS 0xff
#define NMI_LINT 1
#define AREA_SIZE (LAYOUT_SYSTEM_END - LAYOUT_ACPI_START)

/* Bump allocator over the tables' area: host view and guest address. */
struct area {
	uint8_t *host;
	uint64_t used;
};

static uint8_t *take(struct area *ar, uint64_t len, uint64_t *gpa)
{
	uint64_t off = (ar->used + ACPI_TABLE_ALIGN - 1) & ~(uint64_t)(ACPI_TABLE_ALIGN - 1);

	if (off > AREA_SIZE || len > AREA_SIZE - off) {
		log_err("acpi: tables outgrow [0x%llx, 0x%llx)", LAYOUT_ACPI_START,
			LAYOUT_SYSTEM_END);
		return NULL;
	}
	ar->used = off + len;
	*gpa = LAYOUT_ACPI_START + off;
	return ar->host + off;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)(0 - sum); /* stored, it makes the bytes sum to 0 */
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = len;
	h->revision = rev;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* The table at `p` is complete: set the header's checksum over its length. */
static void seal(uint8_t *p, uint32_t len)
{
	p[offsetof(struct acpi_header, checksum)] = 0;
	p[offsetof(struct acpi_header, checksum)] = checksum(p, len);
}

static void sb_devices(struct aml *a, const struct boot_mmio_dev *devs, int ndevs)
{
	size_t sb = aml_scope(a, "\\_SB_"), dev, crs;

	dev = aml_device(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_integer(a, "_UID", 1);
	aml_name(a, "_CRS");
	crs = aml_rt_open(a);
	aml_rt_io(a, LAYOUT_COM1_PORT, LAYOUT_COM1_PORT, 1, 8);
	aml_rt_irq_noflags(a, LAYOUT_COM1_IRQ);
	aml_rt_close(a, crs);
	aml_close(a, dev);

	dev = aml_device(a, "PS2K");
	aml_name_eisaid(a, "_HID", "PNP0303");
	aml_name(a, "_CRS");
	crs = aml_rt_open(a);
	aml_rt_io(a, LAYOUT_I8042_PORT, LAYOUT_I8042_PORT, 1, 1);
	aml_rt_io(a, LAYOUT_I8042_PORT + 4, LAYOUT_I8042_PORT + 4, 1, 1);
	aml_rt_irq_noflags(a, LAYOUT_I8042_IRQ);
	aml_rt_close(a, crs);
	aml_close(a, dev);
	/* Stock distro kernels find virtio-mmio only this way (kvm-here.md §3). */
	for (int i = 0; i < ndevs; i++)
		aml_virtio_mmio_device(a, (unsigned)i, devs[i].base, devs[i].size, devs[i].irq);
	aml_close(a, sb);
}

static int write_dsdt(struct area *ar, const struct boot_mmio_dev *devs, int ndevs,
		      uint64_t *gpa)
{
	struct acpi_header h;
	struct aml a;
	uint64_t room;
	uint8_t *p;
	size_t pkg;

	/* Its size is known only once built: take all the room (less the worst
	 * alignment padding), build, then hand back what the AML left unused. */
	if (ar->used + ACPI_TABLE_ALIGN + sizeof(h) > AREA_SIZE)
		return -ENOSPC;
	room = AREA_SIZE - ar->used - ACPI_TABLE_ALIGN;
	p = take(ar, room, gpa);
	if (!p)
		return -ENOSPC;
	aml_init(&a, p + sizeof(h), room - sizeof(h));
	sb_devices(&a, devs, ndevs);
	/* SLP_TYPa, SLP_TYPb: Linux writes element 0 to SLEEP_CONTROL_REG. */
	aml_name(&a, "_S5_");
	pkg = aml_package(&a, 2);
	aml_integer(&a, ACPI_SLP_TYP_S5);
	aml_integer(&a, 0);
	aml_close(&a, pkg);
	if (a.err) {
		log_err("acpi: DSDT: %s", strerror(-a.err));
		return a.err;
	}
	ar->used -= room - (sizeof(h) + a.len);
	header(&h, "DSDT", (uint32_t)(sizeof(h) + a.len), ACPI_DSDT_REVISION);
	memcpy(p, &h, sizeof(h));
	seal(p, h.length);
	return 0;
}

static struct acpi_gas sleep_reg(uint16_t port)
{
	return (struct acpi_gas){ .space_id = ACPI_GAS_SYSTEM_IO, .bit_width = 8,
				  .access_size = ACPI_GAS_ACCESS_BYTE, .address = port };
}

static int write_fadt(struct area *ar, uint64_t dsdt, uint64_t *gpa)
{
	struct acpi_fadt f;
	uint8_t *p = take(ar, sizeof(f), gpa);

	if (!p)
		return -ENOSPC;
	memset(&f, 0, sizeof(f));
	header(&f.h, "FACP", sizeof(f), ACPI_FADT_REVISION);
	f.dsdt = (uint32_t)dsdt; /* both fields, equal: ACPICA warns when they differ */
	f.x_dsdt = dsdt;
	/* No fixed buttons: power-off comes from inside the guest. */
	f.flags = ACPI_FADT_HW_REDUCED | ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON;
	/* The i8042 exists (Linux then probes it: SendCtrlAltDel needs it); no
	 * VGA, and, with no PCI, no MSI or PCIe ASPM (Firecracker's three). */
	/* ember has no MC146818 at 0x70: saying so spares Linux's rtc_cmos
	 * driver seconds of polling an "update in progress" bit that reads 1
	 * for ever (measured in the lab: half of a stock kernel's boot). */
	f.iapc_boot_arch = ACPI_IAPC_8042 | ACPI_IAPC_NO_VGA | ACPI_IAPC_NO_MSI | ACPI_IAPC_NO_ASPM |
			   ACPI_IAPC_NO_CMOS_RTC;
	f.minor_version = ACPI_FADT_MINOR;
	f.sleep_control = sleep_reg(LAYOUT_ACPI_SLEEP_CTL);
	f.sleep_status = sleep_reg(LAYOUT_ACPI_SLEEP_STS);
	memcpy(&f.hypervisor_id, ACPI_HYPERVISOR_ID, sizeof(f.hypervisor_id));
	memcpy(p, &f, sizeof(f));
	seal(p, sizeof(f));
	return 0;
}

static size_t put(uint8_t *p, size_t off, const void *e, size_t len)
{
	memcpy(p + off, e, len);
	return off + len;
}

static int write_madt(struct area *ar, int ncpus, uint64_t *gpa)
{
	uint32_t len = (uint32_t)ACPI_MADT_SIZE(ncpus);
	struct acpi_madt m = { .lapic_addr = (uint32_t)LAYOUT_LAPIC,
			       .flags = ACPI_MADT_PCAT_COMPAT }; /* KVM emulates the 8259s */
	/* IOAPIC id after the CPUs' APIC ids, as in the MP table. */
	struct acpi_madt_ioapic io = { .type = ACPI_MADT_IOAPIC, .length = sizeof(io),
				       .id = (uint8_t)ncpus, .addr = (uint32_t)LAYOUT_IOAPIC };
	/* PC firmware overrides IRQ 0 to GSI 2. We do not: ember keeps KVM's
	 * default routing (arch/x86/kvm/irq_comm.c default_routing: GSI n on
	 * IOAPIC pin n), where the in-kernel PIT raises GSI 0 on pin 0, as our
	 * MP table says. The entry states that identity explicitly. */
	struct acpi_madt_iso iso = { .type = ACPI_MADT_ISO, .length = sizeof(iso),
				     .bus = 0, .source = 0, .gsi = 0, .flags = 0 };
	struct acpi_madt_lapic_nmi nmi = { .type = ACPI_MADT_LAPIC_NMI, .length = sizeof(nmi),
					   .processor_uid = ALL_PROCESSORS, .lint = NMI_LINT };
	uint8_t *p = take(ar, len, gpa);
	size_t off = sizeof(m);

	if (!p)
		return -ENOSPC;
	for (int i = 0; i < ncpus; i++) {
		struct acpi_madt_lapic l = { .type = ACPI_MADT_LAPIC, .length = sizeof(l),
					     .processor_uid = (uint8_t)i, .apic_id = (uint8_t)i,
					     .flags = LAPIC_ENABLED };

		off = put(p, off, &l, sizeof(l));
	}
	off = put(p, off, &io, sizeof(io));
	off = put(p, off, &iso, sizeof(iso));
	put(p, off, &nmi, sizeof(nmi));
	header(&m.h, "APIC", len, ACPI_MADT_REVISION);
	put(p, 0, &m, sizeof(m));
	seal(p, len);
	return 0;
}

static int write_xsdt(struct area *ar, const uint64_t *tables, uint64_t *gpa)
{
	struct acpi_header h;
	uint8_t *p = take(ar, ACPI_XSDT_SIZE, gpa);

	if (!p)
		return -ENOSPC;
	header(&h, "XSDT", ACPI_XSDT_SIZE, XSDT_REVISION);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), tables, ACPI_XSDT_ENTRIES * sizeof(uint64_t));
	seal(p, ACPI_XSDT_SIZE);
	return 0;
}

static int write_rsdp(struct guest_mem *gm, uint64_t xsdt)
{
	struct acpi_rsdp r = { .signature = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' },
			       .revision = RSDP_REVISION, .length = sizeof(r),
			       .xsdt_addr = xsdt };

	memcpy(r.oem_id, ACPI_OEM_ID, sizeof(r.oem_id));
	r.checksum = checksum((const uint8_t *)&r, ACPI_RSDP_V1_LEN);
	r.ext_checksum = checksum((const uint8_t *)&r, sizeof(r));
	if (gm_write(gm, LAYOUT_RSDP, &r, sizeof(r))) {
		log_err("acpi: RSDP at 0x%llx not in guest RAM", LAYOUT_RSDP);
		return -EFAULT;
	}
	return 0;
}

int boot_write_acpi(struct guest_mem *gm, int ncpus)
{
	return boot_write_acpi_devs(gm, ncpus, NULL, 0);
}

int boot_write_acpi_devs(struct guest_mem *gm, int ncpus, const struct boot_mmio_dev *devs,
			 int ndevs)
{
	struct area ar = { .host = NULL, .used = 0 };
	uint64_t dsdt, tables[ACPI_XSDT_ENTRIES], xsdt;
	int rc;

	if (ncpus < 1 || ncpus > LAYOUT_MAX_VCPUS) {
		log_err("acpi: %d vCPUs, supported 1..%d", ncpus, LAYOUT_MAX_VCPUS);
		return -EINVAL;
	}
	ar.host = gm_ptr(gm, LAYOUT_ACPI_START, AREA_SIZE);
	if (!ar.host) {
		log_err("acpi: table area at 0x%llx not in guest RAM", LAYOUT_ACPI_START);
		return -EFAULT;
	}
	if (ndevs < 0 || ndevs > BOOT_MAX_MMIO_DEVS) {
		log_err("acpi: %d virtio-mmio devices, supported 0..%d", ndevs, BOOT_MAX_MMIO_DEVS);
		return -EINVAL;
	}
	rc = write_dsdt(&ar, devs, ndevs, &dsdt);
	if (!rc)
		rc = write_fadt(&ar, dsdt, &tables[0]);
	if (!rc)
		rc = write_madt(&ar, ncpus, &tables[1]);
	if (!rc)
		rc = write_xsdt(&ar, tables, &xsdt);
	return rc ? rc : write_rsdp(gm, xsdt);
}
