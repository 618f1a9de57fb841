/* VmResources: boot source and machine configuration, with Firecracker's
 * validation and messages. Every setter checks the whole body first (serde
 * shape, then Firecracker's semantic checks) and only then swaps the new
 * state in, so a failed request leaves the resources exactly as they were. */
#include "ember/resources.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/json_util.h"
#include "ember/layout.h"
#include "resources_internal.h"

static const char *const proto_names[] = { "auto", "linux", "pvh", NULL };
/* serde declaration order of HugePageConfig, and the enum each maps to. */
static const char *const huge_names[] = { "None", "Transparent", "2M", NULL };
static const enum res_huge_pages huge_vals[] = { RES_HUGE_NONE, RES_HUGE_TRANSPARENT, RES_HUGE_2M };
/* Firecracker's x86 StaticCpuTemplate order, plus aarch64's V1N1 so it gets
 * the "not supported" message rather than "unknown variant". */
static const char *const tmpl_names[] = { "C3", "T2", "T2S", "None", "T2CL", "T2A", "V1N1", NULL };

static const struct jx_field boot_fields[] = {
	{ .name = "kernel_image_path", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "initrd_path", .kind = JX_STR, .flags = JX_NULL },
	/* NUL is judged below, with the command line's own message. */
	{ .name = "boot_args", .kind = JX_STR, .flags = JX_NULL | JX_NUL_OK },
	{ .name = "boot_protocol", .kind = JX_ENUM, .flags = JX_NULL, .variants = proto_names },
};
const struct jx_struct res_boot_spec = { "BootSourceConfig", boot_fields, JX_NFIELDS(boot_fields) };

/* PUT: serde's MachineConfig (plain bools/enums: null is a type error). */
static const struct jx_field put_fields[] = {
	{ .name = "vcpu_count", .kind = JX_U8, .flags = JX_REQ },
	{ .name = "mem_size_mib", .kind = JX_USIZE, .flags = JX_REQ },
	{ .name = "smt", .kind = JX_BOOL },
	{ .name = "cpu_template", .kind = JX_ENUM, .flags = JX_NULL, .variants = tmpl_names },
	{ .name = "track_dirty_pages", .kind = JX_BOOL },
	{ .name = "huge_pages", .kind = JX_ENUM, .variants = huge_names },
};
const struct jx_struct res_machine_spec = { "MachineConfig", put_fields, JX_NFIELDS(put_fields) };

/* PATCH: MachineConfigUpdate, every field an Option. */
static const struct jx_field patch_fields[] = {
	{ .name = "vcpu_count", .kind = JX_U8, .flags = JX_NULL },
	{ .name = "mem_size_mib", .kind = JX_USIZE, .flags = JX_NULL },
	{ .name = "smt", .kind = JX_BOOL, .flags = JX_NULL },
	{ .name = "cpu_template", .kind = JX_ENUM, .flags = JX_NULL, .variants = tmpl_names },
	{ .name = "track_dirty_pages", .kind = JX_BOOL, .flags = JX_NULL },
	{ .name = "huge_pages", .kind = JX_ENUM, .flags = JX_NULL, .variants = huge_names },
};
static const struct jx_struct patch_spec = { "MachineConfigUpdate", patch_fields,
					     JX_NFIELDS(patch_fields) };

static void boot_init(struct res_boot_source *b)
{
	*b = (struct res_boot_source){ .kernel_fd = -1, .initrd_fd = -1 };
}

static void boot_free(struct res_boot_source *b)
{
	if (b->kernel_fd >= 0)
		close(b->kernel_fd);
	if (b->initrd_fd >= 0)
		close(b->initrd_fd);
	free(b->kernel_image_path);
	free(b->boot_args);
	free(b->initrd_path);
	boot_init(b);
}

void res_init(struct vm_resources *res)
{
	if (!res)
		return;
	memset(res, 0, sizeof(*res));
	boot_init(&res->boot);
	res->machine = (struct res_machine){ .vcpu_count = 1, .mem_size_mib = 128 };
	for (size_t i = 0; i < RES_MAX_VIRTIO_DEVS; i++)
		res->drives[i].fd = -1;
}

void res_free(struct vm_resources *res)
{
	if (!res)
		return;
	boot_free(&res->boot);
	for (size_t i = 0; i < res->n_drives; i++)
		res_drive_clear(&res->drives[i]);
	for (size_t i = 0; i < res->n_nets; i++)
		res_net_clear(&res->nets[i]);
	for (size_t i = 0; i < res->n_pmems; i++)
		res_pmem_clear(&res->pmems[i]);
	res_misc_free(res);
	res_init(res); /* back to defaults: a second res_free is harmless */
}

/* linux-loader's Cmdline::try_from checks (capacity includes the NUL): the
 * trimmed text must be printable ASCII and fit LAYOUT_CMDLINE_MAX. */
static int take_cmdline(const json_t *v, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	for (size_t i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] > '~')
			return jx_err(err, errlen, "The kernel command line is invalid: "
				      "String contains a non-printable ASCII character.");
	if (n + 1 > LAYOUT_CMDLINE_MAX)
		return jx_err(err, errlen, "The kernel command line is invalid: "
			      "Inserting string would make command line too long.");
	*out = strndup(s, n);
	return *out ? 0 : res_oom(err, errlen);
}

int res_boot_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	struct res_boot_source nb;
	const char *kpath = jx_get_str(obj, "kernel_image_path", "");
	const char *ipath = jx_get_str(obj, "initrd_path", NULL);
	int rc;

	boot_init(&nb);
	nb.set = true;
	nb.proto = (enum boot_proto)jx_get_enum(obj, "boot_protocol", proto_names, BOOT_PROTO_AUTO);
	nb.kernel_fd = rc = res_open_file(kpath, O_RDONLY);
	if (rc < 0) {
		jx_err(err, errlen, "The kernel file cannot be opened: %s (os error %d)",
		       strerror(-rc), -rc);
		goto err_free;
	}
	if (ipath) {
		nb.initrd_fd = rc = res_open_file(ipath, O_RDONLY);
		if (rc < 0) {
			jx_err(err, errlen, "The initrd file cannot be opened due to invalid path or "
			       "invalid permissions. %s (os error %d)", strerror(-rc), -rc);
			goto err_free;
		}
	}
	rc = take_cmdline(jx_get(obj, "boot_args"), &nb.boot_args, err, errlen);
	if (rc)
		goto err_free;
	nb.kernel_image_path = strdup(kpath);
	nb.initrd_path = ipath ? strdup(ipath) : NULL;
	if (!nb.kernel_image_path || (ipath && !nb.initrd_path)) {
		rc = res_oom(err, errlen);
		goto err_free;
	}
	boot_free(&res->boot);
	res->boot = nb;
	return 0;
err_free:
	boot_free(&nb);
	return rc;
}

int res_set_boot_source(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	if (!res)
		return jx_err(err, errlen, "no resources");
	if (jx_check(obj, &res_boot_spec, err, errlen)) {
		jx_wrap(err, errlen, JX_DESER_PREFIX, ".");
		return -EINVAL;
	}
	int rc = res_boot_apply(res, obj, err, errlen);
	if (rc)
		jx_wrap(err, errlen, "Boot source error: ", "");
	return rc;
}

/* MachineConfig::update: the new values are validated as a whole, in
 * Firecracker's order (vCPUs, SMT, memory), before anything is stored. */
int res_machine_apply(struct res_machine *m, const json_t *obj, bool patch, char *err,
		      size_t errlen)
{
	struct res_machine n = { .vcpu_count = 1, .mem_size_mib = 128 };
	if (patch)
		n = *m;
	n.vcpu_count = (unsigned)jx_get_uint(obj, "vcpu_count", n.vcpu_count);
	n.mem_size_mib = jx_get_uint(obj, "mem_size_mib", n.mem_size_mib);
	n.smt = jx_get_bool(obj, "smt", n.smt);
	n.track_dirty_pages = jx_get_bool(obj, "track_dirty_pages", n.track_dirty_pages);
	int h = jx_get_enum(obj, "huge_pages", huge_names, -1);
	if (h >= 0)
		n.huge_pages = huge_vals[h];

	if (n.vcpu_count == 0 || n.vcpu_count > RES_MAX_VCPUS ||
	    (n.smt && n.vcpu_count > 1 && n.vcpu_count % 2))
		return jx_err(err, errlen, "The number of vCPUs must be greater than 0, less than %d "
			      "and must be 1 or an even number if SMT is enabled.", RES_MAX_VCPUS);
	if (n.mem_size_mib == 0 || (n.huge_pages != RES_HUGE_NONE && n.mem_size_mib % 2))
		return jx_err(err, errlen, "The memory size (MiB) is either 0, or not a multiple "
			      "of the configured page size.");
	if (n.mem_size_mib > RES_MAX_MEM_MIB)
		return jx_err(err, errlen, "The memory size (MiB) is larger than the maximum "
			      "supported by ember (%llu MiB).", (unsigned long long)RES_MAX_MEM_MIB);
	const char *tmpl = jx_get_str(obj, "cpu_template", "None");
	if (strcmp(tmpl, "None"))
		return jx_err(err, errlen, "Static CPU templates are not supported by ember "
			      "(cpu_template \"%s\"); use \"None\".", tmpl);
	*m = n;
	return 0;
}

int res_set_machine_config(struct vm_resources *res, const json_t *obj, bool patch, char *err,
			   size_t errlen)
{
	if (!res)
		return jx_err(err, errlen, "no resources");
	if (jx_check(obj, patch ? &patch_spec : &res_machine_spec, err, errlen)) {
		jx_wrap(err, errlen, JX_DESER_PREFIX, ".");
		return -EINVAL;
	}
	if (patch) {
		bool any = false;
		for (size_t i = 0; i < patch_spec.nfields; i++)
			any |= jx_has(obj, patch_spec.fields[i].name);
		if (!any) /* Firecracker's MachineConfigUpdate::is_empty() */
			return jx_err(err, errlen, "Empty PATCH request.");
	}
	struct res_machine m = res->machine;
	int rc = res_machine_apply(&m, obj, patch, err, errlen);
	/* VmResources::update_machine_config: the balloon's target must fit. */
	if (!rc && res->balloon.set && m.mem_size_mib < res->balloon.amount_mib)
		rc = jx_err(err, errlen, "The memory size (MiB) is smaller than the previously set "
			    "balloon device target size.");
	if (rc) {
		jx_wrap(err, errlen, "Machine config error: ", "");
		return rc;
	}
	res->machine = m;
	return 0;
}

json_t *res_machine_config_json(const struct vm_resources *res)
{
	if (!res)
		return NULL;
	const struct res_machine *m = &res->machine;
	int h = m->huge_pages == RES_HUGE_2M ? 2 : m->huge_pages == RES_HUGE_TRANSPARENT ? 1 : 0;
	/* Firecracker omits cpu_template when it is None. */
	return json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)m->vcpu_count,
			 "mem_size_mib", (json_int_t)m->mem_size_mib, "smt", m->smt,
			 "track_dirty_pages", m->track_dirty_pages, "huge_pages", huge_names[h]);
}

json_t *res_boot_source_json(const struct vm_resources *res)
{
	if (!res)
		return NULL;
	const struct res_boot_source *b = &res->boot;
	/* Unset: Firecracker's default BootSourceConfig (empty path, nulls). */
	json_t *o = json_pack("{s:s, s:s?, s:s?}", "kernel_image_path",
			      b->kernel_image_path ? b->kernel_image_path : "", "initrd_path",
			      b->initrd_path, "boot_args", b->boot_args);
	if (o && b->proto != BOOT_PROTO_AUTO && (unsigned)b->proto < 3 &&
	    json_object_set_new(o, "boot_protocol", json_string(proto_names[b->proto]))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
