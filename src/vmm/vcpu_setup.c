/* Architectural vCPU state at boot: CPUID, MSRs, FPU, LAPIC LINTs, registers. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ember/boot.h"
#include "ember/cpu_config.h"
#include "ember/cpuid.h"
#include "ember/log.h"
#include "ember/vm.h"
#include "vcpu_internal.h"

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WB 6ULL

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4U
#define APIC_MODE_EXTINT 0x7U

static int vcpu_ioctl(struct vcpu *v, unsigned long req, const char *name, void *arg)
{
	if (ioctl(v->fd, req, arg) < 0) {
		int e = errno;
		log_err("vcpu %u: ioctl %s: %s", v->id, name, strerror(e));
		return -e;
	}
	return 0;
}

static int setup_cpuid(struct vcpu *v, bool smt)
{
	const struct kvm_cpuid2 *tmpl = v->vm->cpuid;
	size_t sz = sizeof(*tmpl) + tmpl->nent * sizeof(tmpl->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int rc;

	if (!c)
		return -ENOMEM;
	memcpy(c, tmpl, sz);
	cpuid_for_vcpu(c, v->id, v->vm->nr_vcpus, smt);
	rc = 0;
	if (v->vm->cpu_cfg) {
		char err[256];

		rc = cpu_config_apply_cpuid(v->vm->cpu_cfg, c, err, sizeof(err));
		if (rc)
			log_err("vcpu %u: CPU template: %s", v->id, err);
	}
	if (!rc)
		rc = vcpu_ioctl(v, KVM_SET_CPUID2, "KVM_SET_CPUID2", c);
	free(c);
	return rc;
}

static int setup_msrs(struct vcpu *v)
{
	static const struct { uint32_t index; uint64_t data; } boot[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },  { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },	      { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },      { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WB },
	};
	enum { N = sizeof(boot) / sizeof(boot[0]) };
	struct { struct kvm_msrs hdr; struct kvm_msr_entry e[N]; } m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = N;
	for (int i = 0; i < N; i++)
		m.e[i] = (struct kvm_msr_entry){ .index = boot[i].index, .data = boot[i].data };
	rc = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (rc < 0) {
		rc = -errno;
		log_err("vcpu %u: ioctl KVM_SET_MSRS: %s", v->id, strerror(-rc));
		return rc;
	}
	if (rc != N) {
		/* KVM stops at the first MSR it refuses: name it. */
		log_err("vcpu %u: KVM_SET_MSRS refused MSR %#x", v->id, boot[rc].index);
		return -EINVAL;
	}
	return 0;
}

/* The CPU template's MSR changes: read-modify-write each one. */
static int setup_template_msrs(struct vcpu *v)
{
	struct cpu_config_msr mods[64];
	struct { struct kvm_msrs hdr; struct kvm_msr_entry e; } m;
	size_t n = v->vm->cpu_cfg ? cpu_config_msrs(v->vm->cpu_cfg, mods, 64) : 0;

	if (n > 64) {
		log_err("vcpu %u: CPU template changes %zu MSRs, at most 64 supported", v->id, n);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = mods[i].index;
		if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1) {
			log_err("Template changes an MSR entry not supported by KVM: %#x", mods[i].index);
			return -EINVAL;
		}
		m.e.data = cpu_config_msr_value(&mods[i], m.e.data);
		if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1) {
			log_err("vcpu %u: KVM_SET_MSRS refused template MSR %#x", v->id, mods[i].index);
			return -EINVAL;
		}
	}
	return 0;
}

static int setup_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	return vcpu_ioctl(v, KVM_SET_FPU, "KVM_SET_FPU", &fpu);
}

static void set_lvt_mode(struct kvm_lapic_state *s, unsigned reg, uint32_t mode)
{
	uint32_t val;

	memcpy(&val, &s->regs[reg], sizeof(val));
	val = (val & ~0x700U) | (mode << 8);
	memcpy(&s->regs[reg], &val, sizeof(val));
}

/* LINT0 = ExtINT (legacy PIC pass-through), LINT1 = NMI, as the MP table says. */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state s;
	int rc = vcpu_ioctl(v, KVM_GET_LAPIC, "KVM_GET_LAPIC", &s);

	if (rc)
		return rc;
	set_lvt_mode(&s, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	set_lvt_mode(&s, APIC_LVT_LINT1, APIC_MODE_NMI);
	return vcpu_ioctl(v, KVM_SET_LAPIC, "KVM_SET_LAPIC", &s);
}

int vcpu_setup_cpu(struct vcpu *v, bool smt)
{
	int rc = setup_cpuid(v, smt);

	if (!rc)
		rc = setup_msrs(v);
	if (!rc)
		rc = setup_template_msrs(v);
	if (!rc)
		rc = setup_fpu(v);
	if (!rc)
		rc = setup_lapic(v);
	return rc;
}

int vcpu_setup_regs(struct vcpu *v, const struct boot_image *img)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_INIT_RECEIVED };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int rc;

	if (v->id != 0) /* APs wait for the BSP's INIT/SIPI. */
		return vcpu_ioctl(v, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", &mp);
	rc = vcpu_ioctl(v, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs);
	if (rc)
		return rc;
	boot_init_sregs(&sregs, img);
	rc = vcpu_ioctl(v, KVM_SET_SREGS, "KVM_SET_SREGS", &sregs);
	if (rc)
		return rc;
	memset(&regs, 0, sizeof(regs));
	boot_init_regs(&regs, img);
	return vcpu_ioctl(v, KVM_SET_REGS, "KVM_SET_REGS", &regs);
}

/* Register dump for fatal exits: enough to find where the guest died. */
void vcpu_dump(struct vcpu *v, enum log_level lvl)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		log_err("vcpu %u: cannot read registers: %s", v->id, strerror(errno));
		return;
	}
	log_msg(lvl, __FILE__, __LINE__, "vcpu %u: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx rbx=%#llx rcx=%#llx "
		"rdx=%#llx rsi=%#llx rdi=%#llx rbp=%#llx",
		v->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp);
	log_msg(lvl, __FILE__, __LINE__, "vcpu %u: cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx efer=%#llx cs=%#x(base %#llx "
		"l=%u db=%u) ss=%#x",
		v->id, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base, s.cs.l,
		s.cs.db, s.ss.selector);
}
