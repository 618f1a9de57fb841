/* console: the serial console's input path, interrupt driven: the VMM's
 * stdin -> UART RX FIFO -> IRQ 4 (eventfd + KVM_IRQFD) -> IOAPIC pin 4 ->
 * LAPIC -> this guest's IDT.
 *   mode=echo (default)     echo each input line as "echo: <line>"; the line
 *                           "quit" ends with SUCCESS
 *   mode=idle               print "idle: ready", then halt with interrupts
 *                           off for good (stop-signal tests)
 *   mode=count              print "tick N" about every 20 ms, for ever
 *                           (pause/resume tests)
 *   mode=kbd                take i8042 IRQ 1 through the IOAPIC and print
 *                           each scancode as "kbd: xx"; the Ctrl-Alt-Del
 *                           sequence 14 11 e0 71 ends with SUCCESS */
#include "lib/guest.h"

#define COM1 0x3f8
#define UART_IER 1
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_DR 0x01
#define IOAPIC_BASE 0xfec00000ULL
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define VEC_COM1 0x41

static char line[256];
static volatile unsigned len, irqs;
static volatile bool line_ready;

static void ioapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, val);
}

static void on_com1(struct frame *f)
{
	(void)f;
	irqs++;
	while (inb(COM1 + UART_LSR) & UART_LSR_DR) {
		char c = (char)inb(COM1);

		if (line_ready)
			continue; /* main loop has not consumed the last line yet */
		if (c == '\n' || c == '\r') {
			line[len] = 0;
			line_ready = len > 0;
			continue;
		}
		if (len < sizeof(line) - 1)
			line[len++] = c;
	}
	lapic_write(LAPIC_EOI, 0);
}

static void echo_loop(void)
{
	guest_set_handler(VEC_COM1, on_com1);
	/* KVM routes a GSI to the 8259s too, which come out of reset unmasked
	 * and would deliver IRQ 4 as vector 4 through LINT0 (ExtINT): mask
	 * them, as Linux does, so only the IOAPIC path remains. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	lapic_enable();
	/* Pin 4: edge, active high, fixed delivery to APIC id 0, unmasked. */
	ioapic_write(IOAPIC_REDTBL(4) + 1, 0);
	ioapic_write(IOAPIC_REDTBL(4), VEC_COM1);
	outb(COM1 + UART_MCR, 0x08); /* OUT2: the PC's IRQ enable for the UART */
	outb(COM1 + UART_IER, 0x01); /* interrupt on received data */
	gprintf("console: ready\n");
	for (;;) {
		sti_hlt();
		cli();
		if (!line_ready)
			continue;
		gprintf("echo: %s\n", line);
		if (!strcmp(line, "quit")) {
			gprintf("console: %u interrupts\n", irqs);
			guest_exit_success();
		}
		len = 0;
		line_ready = false;
	}
}

static void count_loop(void)
{
	lapic_enable();
	for (unsigned long n = 0;; n++) {
		gprintf("tick %lu\n", n);
		lapic_delay_us(20000);
	}
}

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define VEC_KBD 0x42

static volatile uint8_t scancodes[8];
static volatile unsigned nscan;

static void on_kbd(struct frame *f)
{
	(void)f;
	while (inb(I8042_CMD) & 1) {
		uint8_t b = inb(I8042_DATA);

		if (nscan < sizeof(scancodes))
			scancodes[nscan++] = b;
	}
	lapic_write(LAPIC_EOI, 0);
}

static void kbd_loop(void)
{
	static const uint8_t cad[] = { 0x14, 0x11, 0xe0, 0x71 };
	unsigned seen = 0;

	guest_set_handler(VEC_KBD, on_kbd);
	outb(0x21, 0xff); /* 8259s masked: IRQ 1 only through the IOAPIC */
	outb(0xa1, 0xff);
	lapic_enable();
	ioapic_write(IOAPIC_REDTBL(1) + 1, 0);
	ioapic_write(IOAPIC_REDTBL(1), VEC_KBD);
	outb(I8042_CMD, 0x60); /* write the control byte: */
	outb(I8042_DATA, 0x01); /* keyboard interrupt on */
	gprintf("kbd: ready\n");
	for (;;) {
		sti_hlt();
		cli();
		while (seen < nscan) {
			gprintf("kbd: %x\n", scancodes[seen]);
			seen++;
		}
		if (seen >= sizeof(cad) && !memcmp((const void *)scancodes, cad, sizeof(cad)))
			guest_exit_success();
	}
}

void guest_main(const struct boot_info *bi)
{
	char mode[16] = "echo";

	cmdline_get(bi->cmdline, "mode", mode, sizeof(mode));
	if (!strcmp(mode, "idle")) {
		gprintf("idle: ready\n");
		guest_halt_forever();
	}
	if (!strcmp(mode, "count"))
		count_loop();
	if (!strcmp(mode, "kbd"))
		kbd_loop();
	if (strcmp(mode, "echo"))
		guest_fail("unknown console mode '%s'", mode);
	echo_loop();
}
