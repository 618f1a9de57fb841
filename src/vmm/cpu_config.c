/* Custom CPU template parsing: Firecracker's CustomCpuTemplate, checked
 * like serde (the shapes) and like its hand-written Deserialize impls (the
 * numbers, bitmaps and registers, with their messages). See cpu_config.h. */
#include "ember/cpu_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/json_util.h"
#include "cpu_config_internal.h"

static const struct jx_field reg_fields[] = {
	{ .name = "register", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "bitmap", .kind = JX_STR, .flags = JX_REQ },
};
static const struct jx_struct reg_spec = { "CpuidRegisterModifier", reg_fields,
					   JX_NFIELDS(reg_fields) };
static const struct jx_field leaf_fields[] = {
	{ .name = "leaf", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "subleaf", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "flags", .kind = JX_U32, .flags = JX_REQ },
	{ .name = "modifiers", .kind = JX_SEQ, .flags = JX_REQ, .sub = &reg_spec },
};
static const struct jx_struct leaf_spec = { "CpuidLeafModifier", leaf_fields,
					    JX_NFIELDS(leaf_fields) };
static const struct jx_field msr_fields[] = {
	{ .name = "addr", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "bitmap", .kind = JX_STR, .flags = JX_REQ },
};
static const struct jx_struct msr_spec = { "RegisterModifier", msr_fields,
					   JX_NFIELDS(msr_fields) };
static const struct jx_field tmpl_fields[] = {
	{ .name = "kvm_capabilities", .kind = JX_SEQ, .elem = JX_STR },
	{ .name = "cpuid_modifiers", .kind = JX_SEQ, .sub = &leaf_spec },
	{ .name = "msr_modifiers", .kind = JX_SEQ, .sub = &msr_spec },
};
static const struct jx_struct tmpl_spec = { "CustomCpuTemplate", tmpl_fields,
					    JX_NFIELDS(tmpl_fields) };

#define TMPL_UNKNOWN "`, expected one of `kvm_capabilities`, `cpuid_modifiers`, `msr_modifiers`"

/* serde's message for a field of the aarch64 template, plus why. */
static void explain_arm_only(char *err, size_t errlen)
{
	static const char *const arm[] = { "reg_modifiers", "vcpu_features" };
	char want[128];

	for (size_t i = 0; err && i < 2; i++) {
		snprintf(want, sizeof(want), "unknown field `%s" TMPL_UNKNOWN, arm[i]);
		if (!strcmp(err, want))
			jx_wrap(err, errlen, "", " (only aarch64 templates have it)");
	}
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int parse_caps(struct cpu_config *cc, const json_t *list, char *err, size_t errlen)
{
	size_t n = json_array_size(list);

	if (!n)
		return 0;
	if (!(cc->caps = calloc(n, sizeof(*cc->caps))))
		return jx_err(err, errlen, "out of memory");
	for (; cc->n_caps < n; cc->n_caps++) {
		if (cpu_config_parse_cap(json_string_value(json_array_get(list, cc->n_caps)),
					 &cc->caps[cc->n_caps], err, errlen))
			return -EINVAL;
	}
	return 0;
}

static int parse_leaf(struct cpu_config_cpuid *c, const json_t *o, char *err, size_t errlen)
{
	const json_t *mods = json_object_get(o, "modifiers");
	uint64_t v;

	if (cpu_config_parse_num(str(o, "leaf"), UINT32_MAX, &v, err, errlen))
		return -EINVAL;
	c->leaf = (uint32_t)v;
	if (cpu_config_parse_num(str(o, "subleaf"), UINT32_MAX, &v, err, errlen))
		return -EINVAL;
	c->subleaf = (uint32_t)v;
	c->flags = (uint32_t)json_integer_value(json_object_get(o, "flags"));
	if (json_array_size(mods) && !(c->mods = calloc(json_array_size(mods), sizeof(*c->mods))))
		return jx_err(err, errlen, "out of memory");
	for (; c->n_mods < json_array_size(mods); c->n_mods++) {
		const json_t *m = json_array_get(mods, c->n_mods);
		struct cpu_config_reg_mod *r = &c->mods[c->n_mods];
		uint64_t mask, val;

		if (cpu_config_parse_reg(str(m, "register"), &r->reg, err, errlen) ||
		    cpu_config_parse_bitmap(str(m, "bitmap"), 32, &mask, &val, err, errlen))
			return -EINVAL;
		r->mask = (uint32_t)mask;
		r->value = (uint32_t)val;
	}
	return 0;
}

static int parse_msr(struct cpu_config_msr *m, const json_t *o, char *err, size_t errlen)
{
	uint64_t v;

	if (cpu_config_parse_num(str(o, "addr"), UINT32_MAX, &v, err, errlen))
		return -EINVAL;
	m->index = (uint32_t)v;
	return cpu_config_parse_bitmap(str(o, "bitmap"), 64, &m->mask, &m->value, err, errlen);
}

static int parse_lists(struct cpu_config *cc, const json_t *body, char *err, size_t errlen)
{
	const json_t *leaves = jx_get(body, "cpuid_modifiers"), *msrs = jx_get(body, "msr_modifiers");
	size_t nl = json_array_size(leaves), nm = json_array_size(msrs);

	if (parse_caps(cc, jx_get(body, "kvm_capabilities"), err, errlen))
		return -EINVAL;
	if ((nl && !(cc->cpuid = calloc(nl, sizeof(*cc->cpuid)))) ||
	    (nm && !(cc->msrs = calloc(nm, sizeof(*cc->msrs)))))
		return jx_err(err, errlen, "out of memory");
	/* Counted as they are filled, so cpu_config_free() sees what to free. */
	for (; cc->n_cpuid < nl; cc->n_cpuid++)
		if (parse_leaf(&cc->cpuid[cc->n_cpuid], json_array_get(leaves, cc->n_cpuid), err,
			       errlen)) {
			cc->n_cpuid++;
			return -EINVAL;
		}
	for (; cc->n_msrs < nm; cc->n_msrs++)
		if (parse_msr(&cc->msrs[cc->n_msrs], json_array_get(msrs, cc->n_msrs), err, errlen))
			return -EINVAL;
	return 0;
}

/* Whole template into *cc on success; bare message (callers add prefixes). */
static int parse(struct cpu_config *cc, const json_t *body, char *err, size_t errlen)
{
	struct cpu_config tmp = { .set = true };

	if (jx_check(body, &tmpl_spec, err, errlen)) {
		explain_arm_only(err, errlen);
		return -EINVAL;
	}
	if (parse_lists(&tmp, body, err, errlen)) {
		cpu_config_free(&tmp);
		return -EINVAL;
	}
	cpu_config_free(cc);
	*cc = tmp;
	return 0;
}

int cpu_config_parse(struct cpu_config *cc, const json_t *body, char *err, size_t errlen)
{
	size_t len;

	if (parse(cc, body, err, errlen)) {
		/* Some of Firecracker's own messages end in '.' already. */
		len = err ? strlen(err) : 0;
		jx_wrap(err, errlen, JX_DESER_PREFIX, len && err[len - 1] == '.' ? "" : ".");
		return -EINVAL;
	}
	return 0;
}

static int load_file(struct cpu_config *cc, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		rc = errno;
		return jx_err(err, errlen, "File operation error: %s (os error %d)", strerror(rc),
			      rc);
	}
	root = jx_load_fd(fd, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!root)
		return jx_err(err, errlen, "Invalid JSON: %s at line %d column %d", je.text,
			      je.line, je.column);
	rc = parse(cc, root, err, errlen);
	json_decref(root);
	return rc;
}

int cpu_config_load(struct cpu_config *cc, const json_t *v, char *err, size_t errlen)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (strlen(json_string_value(v)) != json_string_length(v))
			return jx_err(err, errlen, "File operation error: file name contained an "
				      "unexpected NUL byte");
		return load_file(cc, json_string_value(v), err, errlen);
	}
	/* serde tries CustomCpuTemplateOrPath's variants in turn (untagged). */
	if (!json_is_object(v))
		return jx_err(err, errlen, "Invalid JSON: data did not match any variant of "
			      "untagged enum CustomCpuTemplateOrPath");
	if (parse(cc, v, err, errlen)) {
		jx_wrap(err, errlen, "Invalid JSON: ", "");
		return -EINVAL;
	}
	return 0;
}

void cpu_config_free(struct cpu_config *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < cc->n_cpuid; i++)
		free(cc->cpuid[i].mods);
	free(cc->cpuid);
	free(cc->caps);
	free(cc->msrs);
	memset(cc, 0, sizeof(*cc));
}
