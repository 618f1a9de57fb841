/* hello: echo the command line, validate and size the memory map, report
 * the boot protocol, poke the boot timer, exit through the i8042 reset. */
#include "lib/guest.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

static bool type_valid(uint32_t t)
{
	return (t >= 1 && t <= 5) || t == 7 || t == 12; /* RAM..unusable, PMEM, PRAM */
}

/* Write and read back a word at `addr` (must be mapped). */
static void touch(uint64_t addr)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)addr;
	uint64_t old = *p, pat = 0x5a5aa5a5c3c33c3cULL ^ addr;

	*p = pat;
	if (*p != pat)
		guest_fail("RAM at 0x%lx does not hold a value", addr);
	*p = old;
}

/* RAM above 4 GiB: map the 1 GiB around `addr` through the spare PD and touch it. */
static void touch_high(uint64_t addr)
{
	uint64_t gib = addr / GIB;

	if (gib >= 512)
		return; /* beyond PML4[0]; not worth a second PDPT */
	for (unsigned i = 0; i < 512; i++)
		guest_pd_spare[i] = (gib * GIB + (uint64_t)i * 2 * MIB) | 0x83;
	guest_pdpt[gib] = (uint64_t)(uintptr_t)guest_pd_spare | 0x3;
	write_cr3(read_cr3());
	touch(addr);
	guest_pdpt[gib] = 0;
	write_cr3(read_cr3());
}

/* "e820=lax": drop empty entries and sort the map before checking it (QEMU
 * 7.2's microvm PVH map is unsorted and ends with an all-zero entry); by
 * default either is a failure. */
static void sort_map(struct boot_info *bi)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < bi->nr_mem; i++)
		if (bi->mem[i].size)
			bi->mem[n++] = bi->mem[i];
	bi->nr_mem = n;
	for (uint32_t i = 1; i < bi->nr_mem; i++)
		for (uint32_t j = i; j && bi->mem[j].addr < bi->mem[j - 1].addr; j--) {
			struct mem_region t = bi->mem[j];
			bi->mem[j] = bi->mem[j - 1];
			bi->mem[j - 1] = t;
		}
}

static void check_map(const struct boot_info *bi, uint64_t *ram)
{
	bool ram0 = false, ram1m = false;

	*ram = 0;
	if (!bi->nr_mem)
		guest_fail("memory map is empty");
	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct mem_region *m = &bi->mem[i];
		uint64_t end = m->addr + m->size;

		gprintf("e820: [0x%016lx-0x%016lx) type %u\n", m->addr, end, m->type);
		if (!m->size)
			guest_fail("map entry %u has size 0", i);
		if (end < m->addr)
			guest_fail("map entry %u wraps", i);
		if (!type_valid(m->type))
			guest_fail("map entry %u has type %u", i, m->type);
		if (i && m->addr < bi->mem[i - 1].addr + bi->mem[i - 1].size)
			guest_fail("map entry %u unsorted or overlapping its predecessor", i);
		if (m->type != E820_RAM)
			continue;
		*ram += m->size;
		ram0 |= m->addr == 0;
		ram1m |= m->addr <= MIB && end > MIB;
		uint64_t last = (end - 8) & ~7ULL;
		if (last < (uint64_t)4 * GIB)
			touch(last);
		else
			touch_high(last);
	}
	if (!ram0)
		guest_fail("no RAM at address 0");
	if (!ram1m)
		guest_fail("no RAM at 1 MiB");
}

void guest_main(const struct boot_info *bi)
{
	static struct boot_info copy;
	char e820[8];
	uint64_t ram;

	gprintf("cmdline: %s\n", bi->cmdline);
	gprintf("proto: %s\n", bi->proto == PROTO_PVH ? "pvh" : "linux");
	if (cmdline_get(bi->cmdline, "e820", e820, sizeof(e820)) && !strcmp(e820, "lax")) {
		copy = *bi;
		sort_map(&copy);
		bi = &copy;
	}
	check_map(bi, &ram);
	gprintf("mem: %lu MiB\n", (ram + MIB - 1) / MIB);
	mmio_write8(BOOT_TIMER_ADDR, BOOT_TIMER_MAGIC);
	guest_exit_success();
}
