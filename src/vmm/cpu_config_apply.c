/* Applying a custom CPU template (Firecracker's apply_template_to_cpuid /
 * apply_template_to_msrs and its KVM capability list) and serializing it
 * back. Pure functions over caller memory; see cpu_config.h. */
#include <errno.h>
#include <stdio.h>

#include <linux/kvm.h>

#include "ember/json_util.h"
#include "cpu_config_internal.h"

static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid2 *cpuid, uint32_t leaf,
					   uint32_t subleaf)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == leaf && cpuid->entries[i].index == subleaf)
			return &cpuid->entries[i];
	return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum cpu_config_reg r)
{
	switch (r) {
	case CPU_REG_EAX: return &e->eax;
	case CPU_REG_EBX: return &e->ebx;
	case CPU_REG_ECX: return &e->ecx;
	default: return &e->edx;
	}
}

int cpu_config_apply_cpuid(const struct cpu_config *cc, struct kvm_cpuid2 *cpuid, char *err,
			   size_t errlen)
{
	if (!cc || !cc->set)
		return 0;
	/* All or nothing: every entry must exist before any is touched. */
	for (size_t i = 0; i < cc->n_cpuid; i++) {
		const struct cpu_config_cpuid *m = &cc->cpuid[i];

		if (!find_entry(cpuid, m->leaf, m->subleaf)) {
			jx_err(err, errlen, "Template changes a CPUID entry not supported by KVM: "
			       "Leaf: %x, Subleaf: %x", m->leaf, m->subleaf);
			return -ENOENT;
		}
	}
	for (size_t i = 0; i < cc->n_cpuid; i++) {
		const struct cpu_config_cpuid *m = &cc->cpuid[i];
		struct kvm_cpuid_entry2 *e = find_entry(cpuid, m->leaf, m->subleaf);

		/* The template's flags replace KVM's, as Firecracker does. */
		e->flags = m->flags;
		for (size_t j = 0; j < m->n_mods; j++) {
			uint32_t *r = reg_of(e, m->mods[j].reg);
			*r = (*r & ~m->mods[j].mask) | m->mods[j].value;
		}
	}
	return 0;
}

/* Two filters in a row compose into one: the later one wins on its bits. */
size_t cpu_config_msrs(const struct cpu_config *cc, struct cpu_config_msr *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; cc && cc->set && i < cc->n_msrs; i++) {
		const struct cpu_config_msr *m = &cc->msrs[i];
		size_t j, lim = n < max ? n : max;
		bool seen = false;

		for (j = 0; j < lim && out[j].index != m->index; j++)
			;
		if (j < lim) {
			out[j].value = (out[j].value & ~m->mask) | m->value;
			out[j].mask |= m->mask;
			continue;
		}
		for (size_t k = 0; k < i && !seen; k++)
			seen = cc->msrs[k].index == m->index;
		if (seen) /* its triple lies past `max` */
			continue;
		if (n < max)
			out[n] = *m;
		n++;
	}
	return n;
}

bool cpu_config_cap_required(const struct cpu_config *cc, uint32_t cap, bool by_default)
{
	bool want = by_default;

	/* Entries apply in order, so a later "N" / "!N" overrides an earlier one. */
	for (size_t i = 0; cc && cc->set && i < cc->n_caps; i++)
		if (cc->caps[i].cap == cap)
			want = !cc->caps[i].remove;
	return want;
}

static json_t *hex(uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%#x", v);
	return json_string(v ? buf : "0x0"); /* Rust's {:#x} prints 0 as 0x0 */
}

static json_t *bitmap(uint64_t mask, uint64_t value, unsigned bits)
{
	char buf[72];

	cpu_config_format_bitmap(mask, value, bits, buf);
	return json_string(buf);
}

static json_t *leaf_json(const struct cpu_config_cpuid *c)
{
	static const char *const regs[] = { "eax", "ebx", "ecx", "edx" };
	json_t *mods = json_array();

	for (size_t j = 0; mods && j < c->n_mods; j++) {
		if (json_array_append_new(mods, json_pack("{s:s, s:o}", "register",
							  regs[c->mods[j].reg], "bitmap",
							  bitmap(c->mods[j].mask, c->mods[j].value,
								 32)))) {
			json_decref(mods);
			return NULL;
		}
	}
	return json_pack("{s:o, s:o, s:I, s:o}", "leaf", hex(c->leaf), "subleaf", hex(c->subleaf),
			 "flags", (json_int_t)c->flags, "modifiers", mods);
}

json_t *cpu_config_json(const struct cpu_config *cc)
{
	json_t *caps, *leaves, *msrs;
	char buf[16];
	int bad = 0;

	if (!cc || !cc->set)
		return json_null();
	caps = json_array();
	leaves = json_array();
	msrs = json_array();
	for (size_t i = 0; i < cc->n_caps; i++) {
		snprintf(buf, sizeof(buf), "%s%u", cc->caps[i].remove ? "!" : "", cc->caps[i].cap);
		bad |= json_array_append_new(caps, json_string(buf));
	}
	for (size_t i = 0; i < cc->n_cpuid; i++)
		bad |= json_array_append_new(leaves, leaf_json(&cc->cpuid[i]));
	for (size_t i = 0; i < cc->n_msrs; i++)
		bad |= json_array_append_new(msrs, json_pack("{s:o, s:o}", "addr",
							     hex(cc->msrs[i].index), "bitmap",
							     bitmap(cc->msrs[i].mask,
								    cc->msrs[i].value, 64)));
	if (bad) {
		json_decref(caps);
		json_decref(leaves);
		json_decref(msrs);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:o}", "kvm_capabilities", caps, "cpuid_modifiers", leaves,
			 "msr_modifiers", msrs);
}
