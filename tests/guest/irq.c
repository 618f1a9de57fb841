/* irq: LAPIC timer interrupts through the guest's IDT: five one-shot and
 * five periodic ticks, each awaited with sti;hlt, each acknowledged by EOI;
 * afterwards the vector must not be left in service. */
#include "lib/guest.h"

#define VEC 0x40
#define ISR_REG(v) (0x100 + 0x10 * ((v) / 32))
#define LVT_PERIODIC (1U << 17)
#define LVT_MASKED (1U << 16)
#define COUNT 100000 /* divide 16 on a 1 GHz APIC bus: 1.6 ms */

static volatile uint32_t ticks;
static volatile uint32_t in_service_seen;

static void timer_handler(struct frame *f)
{
	(void)f;
	if (lapic_read(ISR_REG(VEC)) & (1U << (VEC % 32)))
		in_service_seen++;
	ticks++;
	lapic_write(LAPIC_EOI, 0);
}

static void wait_ticks(uint32_t target)
{
	while (ticks < target) {
		sti_hlt(); /* returns after the handler ran */
		cli();
	}
}

void guest_main(const struct boot_info *bi)
{
	(void)bi;
	guest_set_handler(VEC, timer_handler);
	lapic_enable();
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, VEC);  /* one-shot, unmasked */
	for (uint32_t i = 1; i <= 5; i++) {
		lapic_write(LAPIC_TIMER_INIT, COUNT);
		wait_ticks(i);
	}
	gprintf("irq: one-shot %u ticks\n", ticks);
	lapic_write(LAPIC_LVT_TIMER, VEC | LVT_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, COUNT);
	wait_ticks(10);
	lapic_write(LAPIC_LVT_TIMER, VEC | LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0);
	uint32_t n = ticks;
	gprintf("irq: %u ticks\n", n);
	/* Real KVM sets the vector's ISR bit while the handler runs; this host's
	 * PVM never does (README.md): report it, do not fail on it. */
	gprintf("irq: ISR bit set in %u of %u handler runs\n", in_service_seen, n);
	if (lapic_read(ISR_REG(VEC)) & (1U << (VEC % 32)))
		guest_fail("vector 0x%x still in service after EOI", VEC);
	guest_exit_success();
}
