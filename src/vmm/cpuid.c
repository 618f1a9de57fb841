/* Per-vCPU CPUID: APIC id and topology leaves so a guest counts its CPUs
 * right (one socket, `nr` logical CPUs, 2 threads per core with SMT). */
#include "ember/cpuid.h"

#include <linux/kvm.h>
#include <stdint.h>

#define LEAF1_ECX_HYPERVISOR (1U << 31)
#define LEAF1_EDX_HTT (1U << 28)
#define TOPO_TYPE_SMT 1U
#define TOPO_TYPE_CORE 2U

/* Bits needed to hold ids 0..n-1 (the x2APIC id shift for a level). */
static unsigned id_bits(unsigned n)
{
	unsigned b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

static void leaf_1(struct kvm_cpuid_entry2 *e, unsigned id, unsigned nr)
{
	/* EBX[31:24] initial APIC id, EBX[23:16] logical CPUs per package. */
	e->ebx = (e->ebx & 0x0000ffffU) | (id << 24) | ((nr & 0xffU) << 16);
	e->ecx |= LEAF1_ECX_HYPERVISOR;
	if (nr > 1)
		e->edx |= LEAF1_EDX_HTT;
	else
		e->edx &= ~LEAF1_EDX_HTT;
}

/* Intel: EAX[31:26] = cores per package - 1. One vCPU with SMT is one core
 * with a single thread, not nr / 2 = 0 cores (which would wrap to 63). */
static void leaf_4(struct kvm_cpuid_entry2 *e, unsigned nr, bool smt)
{
	unsigned threads = smt ? 2 : 1, cores = nr > threads ? nr / threads : 1;

	e->eax = (e->eax & 0x03ffffffU) | (((cores - 1) & 0x3fU) << 26);
}

/* Leaf 0xb / 0x1f: level 0 = threads of a core, level 1 = cores of the package. */
static void leaf_topology(struct kvm_cpuid_entry2 *e, unsigned id, unsigned nr, bool smt)
{
	unsigned threads = smt ? 2 : 1;

	e->edx = id;
	switch (e->index) {
	case 0:
		e->eax = id_bits(threads);
		e->ebx = threads;
		e->ecx = (TOPO_TYPE_SMT << 8) | 0;
		break;
	case 1:
		e->eax = id_bits(nr);
		e->ebx = nr;
		e->ecx = (TOPO_TYPE_CORE << 8) | 1;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index; /* type 0 = invalid level: enumeration ends */
		break;
	}
}

static void leaf_amd_topology(struct kvm_cpuid_entry2 *e, unsigned id, bool smt)
{
	unsigned threads = smt ? 2 : 1;

	e->eax = id;				       /* extended APIC id */
	e->ebx = ((threads - 1) << 8) | (id / threads); /* threads per core - 1, core id */
	e->ecx = 0;				       /* one node */
	e->edx = 0;
}

void cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned id, unsigned nr, bool smt)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			leaf_1(e, id, nr);
			break;
		case 0x4:
			leaf_4(e, nr, smt);
			break;
		case 0xb:
		case 0x1f:
			leaf_topology(e, id, nr, smt);
			break;
		case 0x80000008:
			/* ECX[7:0]: physical cores - 1 (AMD); keep the APIC id size field. */
			e->ecx = (e->ecx & ~0xffU) | ((nr - 1) & 0xffU);
			break;
		case 0x8000001e:
			leaf_amd_topology(e, id, smt);
			break;
		default:
			break;
		}
	}
}
