/* acpi: find the RSDP at 0xe0000 and walk the tables as a guest's ACPI code
 * would (signatures, lengths, checksums: RSDP v1 and extended, XSDT, FADT,
 * MADT, DSDT), count the MADT's enabled local APICs against "cpus=N"
 * (default 1), read SLP_TYPa from the DSDT's \_S5_ package, print SUCCESS,
 * then power off as Linux does on a hardware-reduced platform: write
 * SLP_TYP << 2 | SLP_EN to the FADT's sleep control register. ember must
 * stop there with status 0; if it does not, the guest fails after 2 s. */
#include "lib/guest.h"

#define RSDP_ADDR 0xe0000UL
#define HDR_LEN 36
#define FADT_FLAGS 112
#define FADT_DSDT 40
#define FADT_X_DSDT 140
#define FADT_SLEEP_CTL 244 /* Generic Address Structure */
#define FADT_MIN_LEN 276
#define FADT_HW_REDUCED (1U << 20)
#define MADT_ENTRIES 44
#define GAS_SYSTEM_IO 1
#define SLP_EN 0x20

static uint32_t rd32(const uint8_t *p) { return *(const uint32_t *)p; }
static uint64_t rd64(const uint8_t *p) { return *(const uint64_t *)p; }

static uint8_t sum(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The table at `addr`: signature `sig`, sane length, bytes summing to 0. */
static const uint8_t *table(uint64_t addr, const char *sig)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;

	if (!addr || addr >= 0x100000000ULL)
		guest_fail("%s: address 0x%lx", sig, addr);
	if (memcmp(t, sig, 4))
		guest_fail("%s: signature %.4s at 0x%lx", sig, (const char *)t, addr);
	if (rd32(t + 4) < HDR_LEN || rd32(t + 4) > 0x10000)
		guest_fail("%s: length %u", sig, rd32(t + 4));
	if (sum(t, rd32(t + 4)))
		guest_fail("%s: checksum wrong (sum 0x%x)", sig, sum(t, rd32(t + 4)));
	return t;
}

static const uint8_t *rsdp_xsdt(void)
{
	const uint8_t *r = (const uint8_t *)RSDP_ADDR;

	if (memcmp(r, "RSD PTR ", 8))
		guest_fail("no RSDP at 0x%lx", RSDP_ADDR);
	if (r[15] < 2 || rd32(r + 20) < 36)
		guest_fail("RSDP revision %u, length %u: want an XSDT", r[15], rd32(r + 20));
	if (sum(r, 20) || sum(r, rd32(r + 20)))
		guest_fail("RSDP checksum wrong (v1 sum 0x%x, extended sum 0x%x)", sum(r, 20),
			   sum(r, rd32(r + 20)));
	return table(rd64(r + 24), "XSDT");
}

static unsigned count_cpus(const uint8_t *madt)
{
	uint32_t len = rd32(madt + 4), off = MADT_ENTRIES;
	unsigned n = 0;

	while (off + 2 <= len) {
		uint8_t type = madt[off], elen = madt[off + 1];

		if (elen < 2 || off + elen > len)
			guest_fail("MADT entry at +%u: length %u overruns %u", off, elen, len);
		if (type == 0 && elen >= 8 && (rd32(madt + off + 4) & 1))
			n++;
		off += elen;
	}
	return n;
}

/* SLP_TYPa: element 0 of Name(_S5_, Package() {...}) in the DSDT's AML. */
static unsigned s5_type(const uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint32_t i = HDR_LEN; i + 10 < len; i++) {
		const uint8_t *p = dsdt + i;

		if (p[0] != 0x08 || memcmp(p + 1, "_S5_", 4) || p[5] != 0x12)
			continue;
		p += 6 + 1 + (p[6] >> 6); /* PackageOp, PkgLength (1-4 bytes) */
		if (p[0] < 1)
			guest_fail("_S5_ package is empty");
		if (p[1] == 0x00 || p[1] == 0x01)
			return p[1];                /* ZeroOp, OneOp */
		if (p[1] == 0x0a)
			return p[2];                /* BytePrefix */
		guest_fail("_S5_ element 0: opcode 0x%x", p[1]);
	}
	guest_fail("no _S5_ in the DSDT");
}

void guest_main(const struct boot_info *bi)
{
	const uint8_t *xsdt = rsdp_xsdt(), *fadt = 0, *madt = 0, *dsdt;
	char buf[16];
	unsigned want = 1, cpus, typ;
	uint64_t port;

	if (cmdline_get(bi->cmdline, "cpus", buf, sizeof(buf)))
		want = (unsigned)strtoul_simple(buf);
	for (uint32_t off = HDR_LEN; off + 8 <= rd32(xsdt + 4); off += 8) {
		uint64_t e = rd64(xsdt + off);
		const uint8_t *t = (const uint8_t *)(uintptr_t)e;

		if (!e || e >= 0x100000000ULL) /* our page tables map 0-4 GiB */
			guest_fail("XSDT entry +%u: address 0x%lx", off, e);
		if (!memcmp(t, "FACP", 4))
			fadt = table(e, "FACP");
		else if (!memcmp(t, "APIC", 4))
			madt = table(e, "APIC");
	}
	if (!fadt || !madt)
		guest_fail("XSDT lacks the %s", fadt ? "MADT" : "FADT");
	if (rd32(fadt + 4) < FADT_MIN_LEN || !(rd32(fadt + FADT_FLAGS) & FADT_HW_REDUCED))
		guest_fail("FADT: length %u, flags 0x%x: want a hardware-reduced FADT >= 6.0",
			   rd32(fadt + 4), rd32(fadt + FADT_FLAGS));
	dsdt = table(rd64(fadt + FADT_X_DSDT) ? rd64(fadt + FADT_X_DSDT) : rd32(fadt + FADT_DSDT),
		     "DSDT");
	cpus = count_cpus(madt);
	gprintf("acpi: ok, %u cpus\n", cpus);
	if (cpus != want)
		guest_fail("MADT lists %u enabled cpus, want %u", cpus, want);
	typ = s5_type(dsdt);
	port = rd64(fadt + FADT_SLEEP_CTL + 4);
	if (fadt[FADT_SLEEP_CTL] != GAS_SYSTEM_IO || !port || port > 0xffff)
		guest_fail("sleep control register: space %u address 0x%lx", fadt[FADT_SLEEP_CTL], port);
	gprintf("acpi: S5 SLP_TYP %u, sleep control port 0x%lx\n", typ, port);
	gputs("SUCCESS\n"); /* before: a working power-off leaves no chance after */
	outb((uint16_t)port, (uint8_t)((typ & 7) << 2 | SLP_EN));
	lapic_delay_us(2000000);
	guest_fail("still running 2 s after the ACPI power-off write");
}
