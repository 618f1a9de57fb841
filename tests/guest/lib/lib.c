/* Test-guest runtime: boot-info normalisation, IDT, serial console, printf,
 * exit paths, LAPIC helpers, and the few libc routines gcc may call. */
#include "guest.h"

#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_THRE 0x20
#define I8042_CMD 0x64
#define I8042_RESET 0xfe
#define DEBUG_EXIT_PORT 0xf4 /* QEMU isa-debug-exit: status (v << 1) | 1 */

#define PVH_MAGIC 0x336ec578U

void guest_start(uint32_t proto, uint64_t info);
void isr_dispatch(struct frame *f);

static struct boot_info bi;
static volatile uint32_t print_lock;

/* ---- libc bits ------------------------------------------------------- */
void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int strcmp(const char *a, const char *b) { return strncmp(a, b, (size_t)-1); }

unsigned long strtoul_simple(const char *s)
{
	unsigned long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t i = 0;
			p += klen + 1;
			while (*p && *p != ' ' && i + 1 < len)
				buf[i++] = *p++;
			buf[i] = 0;
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

unsigned long cmdline_ul(const char *cmdline, const char *key, unsigned long def)
{
	char v[24];

	return cmdline_get(cmdline, key, v, sizeof(v)) ? strtoul_simple(v) : def;
}

/* ---- locks ------------------------------------------------------------ */
void spin_lock(volatile uint32_t *l)
{
	/* Bounded: a fault while printing must still be able to report. */
	for (uint32_t i = 0; i < 50000000; i++) {
		if (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) == 0)
			return;
		cpu_relax();
	}
}

void spin_unlock(volatile uint32_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

/* ---- serial + printf -------------------------------------------------- */
static void serial_putc(char c)
{
	for (uint32_t i = 0; i < 100000 && !(inb(COM1_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

void gputc(char c) { serial_putc(c); }

void gputs(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

struct out {
	char *buf;
	size_t len, cap;
};

static void emit(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len++] = c;
}

static void emit_num(struct out *o, unsigned long long v, unsigned base, bool neg,
		     int width, char pad, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		width--;
	if (neg && pad == '0')
		emit(o, '-');
	for (int i = n; i < width; i++)
		emit(o, pad);
	if (neg && pad != '0')
		emit(o, '-');
	while (n)
		emit(o, tmp[--n]);
}

static void format(struct out *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			emit(o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			emit_num(o, v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10,
				 v < 0, width, pad, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			emit_num(o, v, *fmt == 'u' ? 10 : 16, false, width, pad, *fmt == 'X');
			break;
		}
		case 'p':
			emit(o, '0');
			emit(o, 'x');
			emit_num(o, (uintptr_t)va_arg(ap, void *), 16, false, width, pad, false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int n = (int)strlen(s);
			for (int i = n; i < width; i++)
				emit(o, ' ');
			while (*s)
				emit(o, *s++);
			break;
		}
		case 'c':
			emit(o, (char)va_arg(ap, int));
			break;
		case '%':
			emit(o, '%');
			break;
		case 0:
			return;
		default:
			emit(o, '%');
			emit(o, *fmt);
		}
	}
}

int gvprintf(const char *fmt, va_list ap)
{
	char buf[4096]; /* fits the 2048-byte command line plus a prefix */
	struct out o = { buf, 0, sizeof(buf) };

	format(&o, fmt, ap);
	buf[o.len] = 0;
	spin_lock(&print_lock);
	gputs(buf);
	spin_unlock(&print_lock);
	return (int)o.len;
}

int gprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = gvprintf(fmt, ap);
	va_end(ap);
	return n;
}

/* ---- exit paths ------------------------------------------------------- */
void guest_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static __attribute__((noreturn)) void do_exit(uint8_t debug_exit_code)
{
	outb(I8042_CMD, I8042_RESET);         /* ember / Firecracker: VMM exits 0 */
	outb(DEBUG_EXIT_PORT, debug_exit_code); /* QEMU microvm: no i8042 */
	guest_halt_forever();
}

void guest_reset(void) { do_exit(0); }

void guest_exit_success(void)
{
	gputs("SUCCESS\n");
	do_exit(0); /* QEMU exit status 1 */
}

void guest_fail(const char *fmt, ...)
{
	va_list ap;
	gputs("FAIL: ");
	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
	gputs("\n");
	do_exit(1); /* QEMU exit status 3 */
}

/* ---- IDT ---------------------------------------------------------------- */
struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t ist, attr;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

extern uint8_t isr_stubs[];
static struct idt_entry idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "res", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * v);
		idt[v] = (struct idt_entry){
			.off_lo = (uint16_t)a, .sel = 0x08, .ist = 0, .attr = 0x8e, /* P, DPL0, int gate */
			.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
		};
	}
}

void guest_load_idt(void)
{
	struct desc_ptr p = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" ::"m"(p));
}

void guest_set_handler(unsigned vector, irq_handler_t fn)
{
	if (vector < 256)
		handlers[vector] = fn;
}

void isr_dispatch(struct frame *f)
{
	uint64_t v = f->vector;

	if (handlers[v]) {
		handlers[v](f);
		return;
	}
	if (v == LAPIC_SPURIOUS_VECTOR)
		return; /* spurious: no EOI */
	if (v < 32) {
		uint64_t cr2 = read_cr2();
		spin_unlock(&print_lock); /* the fault may have hit inside gprintf */
		gprintf("EXCEPTION: vector %lu %s rip 0x%lx error 0x%lx cr2 0x%lx rsp 0x%lx\n",
			v, exc_names[v] ? exc_names[v] : "?", f->rip, f->error, cr2, f->rsp);
		guest_fail("unhandled exception %lu at rip 0x%lx", v, f->rip);
	}
	guest_fail("unexpected interrupt vector %lu at rip 0x%lx", v, f->rip);
}

/* ---- boot info ------------------------------------------------------------ */
static uint32_t rd32(uint64_t a)
{
	uint32_t v;
	memcpy(&v, (const void *)(uintptr_t)a, sizeof(v));
	return v;
}

static uint64_t rd64(uint64_t a)
{
	uint64_t v;
	memcpy(&v, (const void *)(uintptr_t)a, sizeof(v));
	return v;
}

static void add_region(uint64_t addr, uint64_t size, uint32_t type)
{
	if (bi.nr_mem < GUEST_MAX_MEM)
		bi.mem[bi.nr_mem++] = (struct mem_region){ addr, size, type };
}

/* struct boot_params: e820_entries @0x1e8, hdr.cmd_line_ptr @0x228,
 * ext_cmd_line_ptr @0xc8, e820_table @0x2d0 (20-byte entries). */
static void parse_linux(uint64_t bp)
{
	uint64_t cmd = rd32(bp + 0x228) | ((uint64_t)rd32(bp + 0x0c8) << 32);
	uint32_t n = *(const uint8_t *)(uintptr_t)(bp + 0x1e8);

	bi.proto = PROTO_LINUX;
	bi.cmdline = cmd ? (const char *)(uintptr_t)cmd : "";
	if (n > GUEST_MAX_MEM)
		n = GUEST_MAX_MEM;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = bp + 0x2d0 + 20 * i;
		add_region(rd64(e), rd64(e + 8), rd32(e + 16));
	}
}

/* struct hvm_start_info: magic @0, version @4, cmdline_paddr @24,
 * memmap_paddr @40, memmap_entries @48 (version >= 1). */
static void parse_pvh(uint64_t si)
{
	bi.proto = PROTO_PVH;
	bi.cmdline = "";
	if (rd32(si) != PVH_MAGIC)
		guest_fail("hvm_start_info at 0x%lx: bad magic 0x%x", si, rd32(si));
	uint64_t cmd = rd64(si + 24);
	if (cmd)
		bi.cmdline = (const char *)(uintptr_t)cmd;
	if (rd32(si + 4) < 1)
		return; /* no memory map before version 1 */
	uint64_t mm = rd64(si + 40);
	uint32_t n = rd32(si + 48);
	for (uint32_t i = 0; i < n && i < GUEST_MAX_MEM; i++) {
		uint64_t e = mm + 24 * i;
		add_region(rd64(e), rd64(e + 8), rd32(e + 16));
	}
}

void guest_start(uint32_t proto, uint64_t info)
{
	idt_init();
	guest_load_idt();
	guest_set_handler(LAPIC_SPURIOUS_VECTOR, NULL);
	if (proto == PROTO_PVH)
		parse_pvh(info);
	else
		parse_linux(info);
	guest_main(&bi);
	guest_fail("guest_main returned");
}

/* Default for guests that never start APs. */
__attribute__((weak)) void ap_main(unsigned ticket)
{
	(void)ticket;
	guest_halt_forever();
}

/* ---- LAPIC -------------------------------------------------------------- */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ULL << 11)

void lapic_enable(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	uint32_t svr = lapic_read(LAPIC_SVR);
	lapic_write(LAPIC_SVR, svr | 0x100 | LAPIC_SPURIOUS_VECTOR);
}

void lapic_delay_us(uint32_t us)
{
	uint32_t lvt = lapic_read(LAPIC_LVT_TIMER);
	uint32_t div = lapic_read(LAPIC_TIMER_DIV);

	lapic_write(LAPIC_LVT_TIMER, 1u << 16 | 0xfe); /* masked, one-shot */
	lapic_write(LAPIC_TIMER_DIV, 0xb);              /* divide by 1: 1 count = 1 ns on KVM */
	while (us) {
		uint32_t chunk = us > 1000000 ? 1000000 : us;
		lapic_write(LAPIC_TIMER_INIT, chunk * 1000);
		/* Each read is a VM exit (>= ~1 us): the cap only matters if the timer is dead. */
		for (uint64_t i = 0; i < (uint64_t)chunk * 4 + 100; i++)
			if (lapic_read(LAPIC_TIMER_CUR) == 0)
				break;
		us -= chunk;
	}
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_TIMER_DIV, div);
	lapic_write(LAPIC_LVT_TIMER, lvt);
}
