/* The KVM virtual machine: /dev/kvm checks, VM fd, in-kernel irqchip + PIT,
 * guest memory slots, the PIO/MMIO buses and the stop request.
 * Call order: vm_open_kvm -> vm_create -> (devices register on the buses,
 * vm_irqfd) -> vcpus -> ... -> vm_destroy. */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/bus.h"
#include "ember/guest_mem.h"
#include "ember/layout.h"

struct vcpu;
struct kvm_cpuid2;
struct cpu_config;

#define VM_NO_EXIT (-1)
#define VM_MAX_IOEVENTFDS 64

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size;	  /* mmap size of each vCPU's struct kvm_run */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, the per-vCPU template */
	const struct cpu_config *cpu_cfg; /* custom CPU template (PUT /cpu-config) or NULL */
	struct guest_mem gm;
	struct bus pio;
	struct bus mmio;
	unsigned nr_vcpus;
	struct vcpu *vcpus[LAYOUT_MAX_VCPUS];
	int exit_fd;		/* eventfd: written once when the VM must stop */
	int irqfds[LAYOUT_IRQ_LAST + 1]; /* eventfds bound with KVM_IRQFD, closed by vm_destroy */
	unsigned nr_irqfds;
	int ioeventfds[VM_MAX_IOEVENTFDS]; /* KVM_IOEVENTFD eventfds, closed by vm_destroy */
	unsigned nr_ioeventfds;
	atomic_int exit_code;	/* VM_NO_EXIT until the first stop request */
};

/* Open /dev/kvm and check the API version and every capability ember needs.
 * Each failure logs one line naming the problem. 0 or -errno. */
int vm_open_kvm(struct vm *vm);
/* VM fd, TSS, irqchip, PIT, `mem_bytes` of RAM as memslots. */
int vm_create(struct vm *vm, uint64_t mem_bytes);
/* A new eventfd wired to `gsi` with KVM_IRQFD; returns the fd (owned by the
 * VM, closed by vm_destroy) or -errno. */
int vm_irqfd(struct vm *vm, unsigned gsi);
/* A new eventfd that KVM signals, instead of exiting to a vCPU thread, when
 * the guest writes the 32-bit value `datamatch` at MMIO `addr` (virtio
 * QueueNotify). Owned by the VM. Returns the fd or -errno. */
int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t datamatch);
/* Ask the VMM thread to stop the VM and exit with `code`; the first request
 * wins (true for it, false for later ones). Async-signal-safe and callable
 * from any thread. */
bool vm_request_exit(struct vm *vm, int code);
void vm_destroy(struct vm *vm);

#endif
