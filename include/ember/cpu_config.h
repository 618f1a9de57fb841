/* Custom CPU templates (x86_64): PUT /cpu-config and the config file's
 * "cpu-config" (an inline template or a path to a template file), with
 * Firecracker's CustomCpuTemplate format and semantics:
 *
 *   kvm_capabilities ["N" add to the checked set | "!N" remove from it]
 *   cpuid_modifiers  [{leaf*, subleaf*, flags* (u32), modifiers* [{register*
 *                      eax|ebx|ecx|edx, bitmap*}]}]
 *   msr_modifiers    [{addr*, bitmap*}]
 *
 * leaf/subleaf/addr: "0x.." or "0b.." strings (plain decimal too: an ember
 * extension the swagger documents). bitmap: optional "0b", then at most 32
 * (CPUID) or 64 (MSR) of 0 (clear), 1 (set), x (keep), '_' separators
 * ignored; missing high bits are kept. reg_modifiers and vcpu_features are
 * aarch64-only and rejected.
 *
 * Application (Firecracker's configure_vcpus_for_boot): the CPUID modifiers
 * go onto KVM_GET_SUPPORTED_CPUID's entries before the per-vCPU topology
 * fix-ups; the MSR triples are applied read-modify-write on vCPU 0's MSRs
 * after CPUID is set, then written to every vCPU before the boot MSRs. */
#ifndef EMBER_CPU_CONFIG_H
#define EMBER_CPU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct kvm_cpuid2;

enum cpu_config_reg { CPU_REG_EAX, CPU_REG_EBX, CPU_REG_ECX, CPU_REG_EDX };

struct cpu_config_cap {
	uint32_t cap;
	bool remove;
};

/* new = (old & ~mask) | value; value has no bit outside mask. */
struct cpu_config_reg_mod {
	enum cpu_config_reg reg;
	uint32_t mask, value;
};

struct cpu_config_cpuid {
	uint32_t leaf, subleaf, flags;
	size_t n_mods;
	struct cpu_config_reg_mod *mods;
};

struct cpu_config_msr {
	uint32_t index;
	uint64_t mask, value;
};

struct cpu_config {
	bool set;
	size_t n_caps, n_cpuid, n_msrs;
	struct cpu_config_cap *caps;
	struct cpu_config_cpuid *cpuid;
	struct cpu_config_msr *msrs; /* in template order, repeats allowed */
};

/* PUT /cpu-config body into *cc (replacing it only on success).
 * 0 or -EINVAL with the API fault message, JX_DESER_PREFIX "<msg>." */
int cpu_config_parse(struct cpu_config *cc, const json_t *body, char *err, size_t errlen);
/* The config file's "cpu-config" value: a template object or a path string
 * (read here). Messages as Firecracker's config loader: "Invalid JSON: ..."
 * or "File operation error: <strerror> (os error N)". null leaves *cc. */
int cpu_config_load(struct cpu_config *cc, const json_t *v, char *err, size_t errlen);
void cpu_config_free(struct cpu_config *cc);

/* Modify `cpuid` in place: for each modifier, the entry whose function and
 * index equal leaf and subleaf (exact match, as Firecracker) gets the
 * modifier's flags and its register bits. All entries are looked up first:
 * a missing one fails with -ENOENT, "Template changes a CPUID entry not
 * supported by KVM: Leaf: %x, Subleaf: %x", and nothing is changed. */
int cpu_config_apply_cpuid(const struct cpu_config *cc, struct kvm_cpuid2 *cpuid, char *err,
			   size_t errlen);

/* The MSR changes merged per index, in first-seen order: up to `max`
 * triples into `out`; returns how many there are (which may exceed max, so
 * call with max 0 to size the array). When KVM cannot read one of them the
 * vCPU code reports "Template changes an MSR entry not supported by KVM:
 * Register Address: %x". */
size_t cpu_config_msrs(const struct cpu_config *cc, struct cpu_config_msr *out, size_t max);
static inline uint64_t cpu_config_msr_value(const struct cpu_config_msr *m, uint64_t old)
{
	return (old & ~m->mask) | m->value;
}

/* Firecracker checks a fixed set of KVM capabilities; a template may add
 * ("N") or drop ("!N") entries. Whether `cap` must be present, given whether
 * ember requires it by default. Extra required caps: the !remove entries. */
bool cpu_config_cap_required(const struct cpu_config *cc, uint32_t cap, bool by_default);

/* The template as Firecracker serializes it (hex numbers, 0b/x bitmaps), or
 * JSON null when none is set (GET /vm/config "cpu-config"). */
json_t *cpu_config_json(const struct cpu_config *cc);

#endif
