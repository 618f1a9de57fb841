/* virtio-pmem devices: PUT /pmem/{id} (and the config file's "pmem"),
 * PATCH validation, GET /vm/config form. As in Firecracker the backing file
 * is only opened by the device at boot; the root device may be a pmem or a
 * block device, never both. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resources_internal.h"

static const struct jx_field pmem_fields[] = {
	{ .name = "id", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "path_on_host", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "root_device", .kind = JX_BOOL },
	{ .name = "read_only", .kind = JX_BOOL },
	{ .name = "rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
};
static const struct jx_struct pmem_spec = { "PmemConfig", pmem_fields, JX_NFIELDS(pmem_fields) };

static const struct jx_field update_fields[] = {
	{ .name = "id", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
};
static const struct jx_struct update_spec = { "PmemDeviceUpdateConfig", update_fields,
					      JX_NFIELDS(update_fields) };

void res_pmem_clear(struct res_pmem *p)
{
	free(p->id);
	free(p->path);
	*p = (struct res_pmem){ 0 };
}

static int find(const struct vm_resources *res, const char *id)
{
	for (size_t i = 0; i < res->n_pmems; i++)
		if (!strcmp(res->pmems[i].id, id))
			return (int)i;
	return -1;
}

static int pmem_check(const json_t *obj, char *err, size_t errlen)
{
	return jx_check(obj, &pmem_spec, err, errlen);
}

/* PmemBuilder::build's rules, then the IRQ budget for a new device. */
static int root_check(const struct vm_resources *res, bool root, int pos, char *err,
		      size_t errlen)
{
	bool pmem_root = false;
	for (size_t i = 0; i < res->n_pmems; i++)
		pmem_root |= res->pmems[i].root;
	if (root && res->n_drives && res->drives[0].root)
		return jx_err(err, errlen, "Attempt to add pmem as a root device while the root "
			      "device defined as a block device");
	if (root && pmem_root && (pos < 0 || !res->pmems[pos].root))
		return jx_err(err, errlen, "A root pmem device already exist");
	return pos < 0 ? res_virtio_room(res, err, errlen) : 0;
}

static int pmem_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	bool ok = true;
	struct res_pmem p = {
		.root = jx_get_bool(obj, "root_device", false),
		.read_only = jx_get_bool(obj, "read_only", false),
	};
	int pos = find(res, jx_get_str(obj, "id", ""));
	int rc = root_check(res, p.root, pos, err, errlen);
	if (rc)
		return rc;
	res_rl_from_json(jx_get(obj, "rate_limiter"), &p.rl);
	p.id = res_dup(jx_get_str(obj, "id", ""), &ok);
	p.path = res_dup(jx_get_str(obj, "path_on_host", ""), &ok);
	if (!ok) {
		res_pmem_clear(&p);
		return res_oom(err, errlen);
	}
	if (pos >= 0)
		res_pmem_clear(&res->pmems[pos]);
	else
		pos = (int)res->n_pmems++;
	res->pmems[pos] = p;
	return 0;
}

const struct res_kind res_pmem_kind = {
	.key = "pmem", .api_prefix = "Pmem config error: ", .file_prefix = "Pmem device error: ",
	.id_field = "id", .check = pmem_check, .apply = pmem_apply,
};

int res_put_pmem(struct vm_resources *res, const char *path_id, const json_t *body, char *err,
		 size_t errlen)
{
	return res_api_put(res, &res_pmem_kind, path_id, body, err, errlen);
}

/* Firecracker answers 204 to a PATCH without rate_limiter even for an
 * unknown id; ember reports the unknown id in every case. */
int res_patch_pmem(struct vm_resources *res, const char *path_id, const json_t *body,
		   struct res_pmem_update *out, char *err, size_t errlen)
{
	if (!res || !out)
		return jx_err(err, errlen, "no resources");
	*out = (struct res_pmem_update){ 0 };
	int rc = res_api_patch_check(&res_pmem_kind, &update_spec, path_id, body, err, errlen);
	if (rc)
		return rc;
	int pos = find(res, path_id);
	if (pos < 0)
		return jx_err(err, errlen, "Pmem config error: Unable to patch the pmem device: "
			      "Failed perform action on device: Device not found Please verify "
			      "the request arguments.");
	out->index = (size_t)pos;
	res_rl_update_from_json(jx_get(body, "rate_limiter"), &out->rl);
	return 0;
}

void res_pmem_update_commit(struct vm_resources *res, const struct res_pmem_update *u)
{
	if (res && u && u->index < res->n_pmems)
		res_rl_update_apply(&res->pmems[u->index].rl, &u->rl);
}

json_t *res_pmems_json(const struct vm_resources *res)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < res->n_pmems; i++) {
		const struct res_pmem *p = &res->pmems[i];
		json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:o}", "id", p->id, "path_on_host",
				      p->path, "root_device", p->root, "read_only", p->read_only,
				      "rate_limiter", res_rl_json(&p->rl));
		if (json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
