/* fault: crash on purpose; never prints SUCCESS.
 *   fault=triple (default)  IDT limit 0, then a non-canonical load: #GP cannot
 *                           be delivered -> #DF -> triple fault (KVM_EXIT_SHUTDOWN)
 *   fault=int3              int3 (PVM: KVM_EXIT_INTERNAL_ERROR)
 *   fault=ud2               ud2
 *   fault=pf                load from an unmapped address with the guest IDT
 *                           installed: the #PF handler reports and fails */
#include "lib/guest.h"

static void triple(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty = { 0, 0 };

	__asm__ volatile("lidt %0" ::"m"(empty));
	__asm__ volatile("movq (%0), %%rax" ::"r"(0x8000000000000000ULL) : "rax", "memory");
}

void guest_main(const struct boot_info *bi)
{
	char mode[16] = "triple";

	cmdline_get(bi->cmdline, "fault", mode, sizeof(mode));
	gprintf("fault: %s\n", mode);
	if (!strcmp(mode, "triple"))
		triple();
	else if (!strcmp(mode, "int3"))
		__asm__ volatile("int3");
	else if (!strcmp(mode, "ud2"))
		__asm__ volatile("ud2");
	else if (!strcmp(mode, "pf"))
		__asm__ volatile("movq (%0), %%rax" ::"r"(0x200000000000ULL) : "rax", "memory");
	else
		guest_fail("unknown fault mode '%s'", mode);
	guest_fail("still running after fault=%s", mode);
}
