/* Freestanding test-guest runtime (tests/guest/README.md).
 *
 * crt0.S enters through either the Linux 64-bit entry (ELF e_entry, boot_params
 * in RSI) or the Xen PVH 32-bit entry (ELF note, hvm_start_info in EBX), loads
 * the guest's own GDT, IDT and 4 GiB identity page tables, then calls
 * guest_main() with a protocol-neutral boot_info. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MAX_MEM 128

enum boot_proto { PROTO_LINUX = 1, PROTO_PVH = 2 };

#define E820_RAM 1
#define E820_RESERVED 2

struct mem_region {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct boot_info {
	enum boot_proto proto;
	const char *cmdline; /* never NULL; "" when none */
	uint32_t nr_mem;
	struct mem_region mem[GUEST_MAX_MEM];
};

/* Interrupt/exception frame built by the stubs in crt0.S. */
struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_t)(struct frame *f);

/* Provided by each guest. */
void guest_main(const struct boot_info *bi);

/* lib.c */
void gputc(char c);
void gputs(const char *s);
int gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gvprintf(const char *fmt, va_list ap);
__attribute__((noreturn)) void guest_exit_success(void);
__attribute__((noreturn, format(printf, 1, 2))) void guest_fail(const char *fmt, ...);
__attribute__((noreturn)) void guest_reset(void);
__attribute__((noreturn)) void guest_halt_forever(void);
void guest_set_handler(unsigned vector, irq_handler_t fn);
void guest_load_idt(void); /* lidt of the shared IDT (APs call this) */
/* Value of `key=` on the command line copied to buf (NUL-terminated);
 * returns false if absent. */
bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);
unsigned long strtoul_simple(const char *s);
/* The number given as `key=` on the command line, or def when absent. */
unsigned long cmdline_ul(const char *cmdline, const char *key, unsigned long def);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Spinlock (xchg: no cmpxchg16b, which PVM cannot emulate). */
void spin_lock(volatile uint32_t *l);
void spin_unlock(volatile uint32_t *l);

/* crt0.S */
extern uint64_t guest_pml4[512];
extern uint64_t guest_pdpt[512];
extern uint64_t guest_pd[4][512];     /* identity 0-4 GiB, 2 MiB pages */
extern uint64_t guest_pd_spare[512];  /* unused PD a guest may hook into guest_pdpt */
extern uint8_t ap_tramp_start[], ap_tramp_end[];
void ap_main(unsigned ticket); /* provided by a guest that starts APs (weak default) */

/* Port and MMIO access. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" ::"r"(v), "r"(addr) : "memory");
}
static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" ::"q"(v), "r"(addr) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* sti;hlt back to back: the interrupt shadow of sti closes the wakeup race. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

/* LAPIC (xAPIC MMIO). */
#define LAPIC_BASE 0xfee00000ULL
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_SPURIOUS_VECTOR 0xff

static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
void lapic_enable(void);
/* Busy-wait about `us` microseconds on the masked LAPIC timer (KVM's APIC
 * bus runs at 1 GHz); bounded by an iteration cap if the timer does not count. */
void lapic_delay_us(uint32_t us);

#define BOOT_TIMER_ADDR 0xc0000000ULL
#define BOOT_TIMER_MAGIC 123

#endif
