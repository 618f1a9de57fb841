/* Per-vCPU CPUID from KVM_GET_SUPPORTED_CPUID: APIC ids and the topology
 * leaves (1, 0xb, 0x1f, 0x80000008, 0x8000001e) describing `nr` vCPUs as one
 * socket, two threads per core when `smt`. Pure: unit-tested without KVM. */
#ifndef EMBER_CPUID_H
#define EMBER_CPUID_H

#include <stdbool.h>

struct kvm_cpuid2;

void cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned id, unsigned nr, bool smt);

#endif
