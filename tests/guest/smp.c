/* smp: the BSP wakes the APs with INIT + SIPI through its LAPIC; each AP goes
 * real -> protected -> long mode (crt0.S trampoline), reports and parks.
 * The CPU count comes from "cpus=N" on the command line (default 2). */
#include "lib/guest.h"

#define TRAMPOLINE 0x30000U /* below 640 KiB, clear of 0x500, 0x6000-0x9fff, 0x20000 */
#define ICR_INIT 0xc4500U   /* all excluding self, assert, INIT */
#define ICR_SIPI 0xc4600U   /* all excluding self, assert, start-up | vector */
#define ICR_BUSY (1U << 12)

static volatile uint32_t aps_up;

void ap_main(unsigned ticket)
{
	guest_load_idt();
	gprintf("cpu %u up, apic id %u\n", ticket + 1, lapic_read(LAPIC_ID) >> 24);
	__atomic_fetch_add(&aps_up, 1, __ATOMIC_RELEASE);
	guest_halt_forever();
}

static void send_ipi(uint32_t icr)
{
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, icr);
	for (int i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		cpu_relax();
}

void guest_main(const struct boot_info *bi)
{
	char buf[16];
	unsigned ncpus = 2;

	if (cmdline_get(bi->cmdline, "cpus", buf, sizeof(buf)))
		ncpus = (unsigned)strtoul_simple(buf);
	if (ncpus < 1 || ncpus > 8)
		guest_fail("cpus=%u out of range 1..8", ncpus);
	lapic_enable();
	gprintf("cpu 0 up, apic id %u\n", lapic_read(LAPIC_ID) >> 24);
	if (ncpus > 1) {
		memcpy((void *)(uintptr_t)TRAMPOLINE, ap_tramp_start,
		       (size_t)(ap_tramp_end - ap_tramp_start));
		send_ipi(ICR_INIT);
		lapic_delay_us(10000);
		for (int k = 0; k < 2 && aps_up < ncpus - 1; k++) {
			send_ipi(ICR_SIPI | (TRAMPOLINE >> 12));
			lapic_delay_us(200);
		}
		for (int ms = 0; ms < 2000 && __atomic_load_n(&aps_up, __ATOMIC_ACQUIRE) < ncpus - 1; ms++)
			lapic_delay_us(1000);
	}
	uint32_t up = __atomic_load_n(&aps_up, __ATOMIC_ACQUIRE) + 1;
	gprintf("smp: %u of %u cpus up\n", up, ncpus);
	if (up != ncpus)
		guest_fail("only %u of %u cpus came up", up, ncpus);
	guest_exit_success();
}
