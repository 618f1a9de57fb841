/* acpi_dump DIR NCPUS: build ember's ACPI tables for NCPUS vCPUs in a scratch
 * guest memory (no /dev/kvm) and write each one, found the way a guest finds
 * it (RSDP -> XSDT -> FADT -> DSDT), to DIR/{rsdp,xsdt,facp,apic,dsdt}.dat
 * for tests/host/acpi_iasl.sh to disassemble with `iasl -d`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/boot/acpi_internal.h"
#include "ember/boot.h"
#include "ember/guest_mem.h"
#include "ember/layout.h"

#define RAM (2ULL << 20)

static int dump(const struct guest_mem *gm, const char *dir, const char *name, uint64_t gpa,
		uint64_t len)
{
	const void *p = gm_ptr(gm, gpa, len);
	char path[4096];
	FILE *f;

	if (!p) {
		fprintf(stderr, "acpi_dump: %s at 0x%llx+%llu outside RAM\n", name,
			(unsigned long long)gpa, (unsigned long long)len);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "acpi_dump: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static uint32_t table_len(const struct guest_mem *gm, uint64_t gpa)
{
	struct acpi_header h;

	return gm_read(gm, gpa, &h, sizeof(h)) ? 0 : h.length;
}

/* Each table the XSDT lists, named by its signature, plus the FADT's DSDT. */
static int dump_xsdt(const struct guest_mem *gm, const char *dir, uint64_t xsdt)
{
	uint32_t len = table_len(gm, xsdt);
	int rc = dump(gm, dir, "xsdt", xsdt, len);

	for (uint32_t off = sizeof(struct acpi_header); !rc && off + 8 <= len; off += 8) {
		uint64_t t;
		struct acpi_fadt fadt;
		char sig[5] = { 0 };

		if (gm_read(gm, xsdt + off, &t, sizeof(t)) || gm_read(gm, t, sig, 4))
			return -1;
		for (int i = 0; i < 4; i++)
			sig[i] = (char)(sig[i] | 0x20); /* "FACP" -> "facp" */
		rc = dump(gm, dir, sig, t, table_len(gm, t));
		if (!rc && !strcmp(sig, "facp")) {
			if (gm_read(gm, t, &fadt, sizeof(fadt)))
				return -1;
			rc = dump(gm, dir, "dsdt", fadt.x_dsdt, table_len(gm, fadt.x_dsdt));
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct guest_mem gm;
	struct acpi_rsdp rsdp;
	struct boot_mmio_dev devs[BOOT_MAX_MMIO_DEVS];
	int ncpus = argc >= 3 ? atoi(argv[2]) : 0;
	int ndevs = argc == 4 ? atoi(argv[3]) : 0;

	if (argc < 3 || argc > 4 || ncpus < 1 || ndevs < 0 || ndevs > BOOT_MAX_MMIO_DEVS) {
		fprintf(stderr, "usage: %s DIR NCPUS [NVIRTIO]\n", argv[0]);
		return 2;
	}
	/* Windows and GSIs as ember's device manager hands them out. */
	for (int i = 0; i < ndevs; i++)
		devs[i] = (struct boot_mmio_dev){ .base = LAYOUT_VIRTIO_MMIO_START + 0x1000ULL * i,
						  .size = 0x1000, .irq = LAYOUT_IRQ_VIRTIO_FIRST + i };
	if (gm_init(&gm, RAM) || boot_write_acpi_devs(&gm, ncpus, devs, ndevs)) {
		fprintf(stderr, "acpi_dump: cannot build the tables for %d vCPUs\n", ncpus);
		return 1;
	}
	if (gm_read(&gm, LAYOUT_RSDP, &rsdp, sizeof(rsdp)) ||
	    dump(&gm, argv[1], "rsdp", LAYOUT_RSDP, sizeof(rsdp)) ||
	    dump_xsdt(&gm, argv[1], rsdp.xsdt_addr))
		return 1;
	gm_destroy(&gm);
	return 0;
}
