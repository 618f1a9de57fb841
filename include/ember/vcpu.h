/* vCPUs: one thread each, doing KVM_RUN and exit dispatch only. Pause,
 * resume and stop reach a vCPU by setting its request, immediate_exit and a
 * signal; the thread acknowledges on a condition variable. */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct boot_image;

/* Exit-reason counters (read by metrics). */
struct vcpu_stats {
	uint64_t exit_io_in, exit_io_out, exit_mmio_read, exit_mmio_write, failures;
};

/* Install the kick signal handler; once per process, before any vcpu_start. */
int vcpu_global_init(void);
int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out);
/* CPUID (per-vCPU APIC id/topology), boot MSRs, FPU, LAPIC LINT0/1 and, for
 * the BSP (id 0), the boot registers; APs wait for INIT/SIPI. */
int vcpu_configure(struct vcpu *v, const struct boot_image *img, bool smt);
int vcpu_start(struct vcpu *v);
/* Block until the vCPU is out of KVM_RUN and parked (or has exited). */
int vcpu_pause(struct vcpu *v);
int vcpu_resume(struct vcpu *v);
/* Stop and join the thread; safe on a vCPU that never started. */
void vcpu_stop(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
void vcpu_get_stats(struct vcpu *v, struct vcpu_stats *st);

#endif
