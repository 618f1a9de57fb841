/* Block devices: PUT /drives/{id} (and the config file's "drives"), PATCH
 * /drives/{id} validation, and their GET /vm/config form. Firecracker's
 * BlockBuilder rules: at most one root device, kept first; a PUT with a
 * known id replaces that drive in place; the backing file is opened at PUT. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resources_internal.h"

/* serde declaration order: CacheType {Unsafe, Writeback}, FileEngineType {Async, Sync}. */
static const char *const cache_names[] = { "Unsafe", "Writeback", NULL };
static const char *const engine_names[] = { "Async", "Sync", NULL };

static const struct jx_field drive_fields[] = {
	{ .name = "drive_id", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "partuuid", .kind = JX_STR, .flags = JX_NULL },
	{ .name = "is_root_device", .kind = JX_BOOL, .flags = JX_REQ },
	{ .name = "cache_type", .kind = JX_ENUM, .variants = cache_names },
	{ .name = "is_read_only", .kind = JX_BOOL, .flags = JX_NULL },
	{ .name = "path_on_host", .kind = JX_STR, .flags = JX_NULL },
	{ .name = "rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
	{ .name = "io_engine", .kind = JX_ENUM, .flags = JX_NULL, .variants = engine_names },
	{ .name = "socket", .kind = JX_STR, .flags = JX_NULL },
};
static const struct jx_struct drive_spec = { "BlockDeviceConfig", drive_fields,
					     JX_NFIELDS(drive_fields) };

static const struct jx_field update_fields[] = {
	{ .name = "drive_id", .kind = JX_STR, .flags = JX_REQ },
	{ .name = "path_on_host", .kind = JX_STR, .flags = JX_NULL },
	{ .name = "rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
};
static const struct jx_struct update_spec = { "BlockDeviceUpdateConfig", update_fields,
					      JX_NFIELDS(update_fields) };

#define CREATE "Unable to create the virtio block device: "
#define PATCH_FAIL "Drive config error: Unable to patch the block device: "
#define PATCH_HINT " Please verify the request arguments."

void res_drive_clear(struct res_drive *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->id);
	free(d->path);
	free(d->partuuid);
	*d = (struct res_drive){ .fd = -1 };
}

static int find(const struct vm_resources *res, const char *id)
{
	for (size_t i = 0; i < res->n_drives; i++)
		if (!strcmp(res->drives[i].id, id))
			return (int)i;
	return -1;
}

/* Firecracker opens read(+write); a directory would open read-only and fail
 * every request later, so it is refused here. */
static int open_backing(const char *path, bool ro)
{
	return res_open_file(path, ro ? O_RDONLY : O_RDWR);
}

static int backing_err(char *err, size_t errlen, const char *pre, int rc, const char *path,
		       const char *post)
{
	jx_err(err, errlen, "%sError manipulating the backing file: %s (os error %d) %s%s", pre,
	       strerror(-rc), -rc, path, post);
	return rc;
}

/* Which backend the body describes, as Block::new decides: virtio-block
 * needs path_on_host and no socket; vhost-user needs socket and none of
 * the virtio-only fields. */
static int backend_check(const json_t *obj, char *err, size_t errlen)
{
	bool sock = jx_has(obj, "socket");
	if (jx_has(obj, "path_on_host") && !sock)
		return 0;
	if (sock && !jx_has(obj, "is_read_only") && !jx_has(obj, "path_on_host") &&
	    !jx_has(obj, "rate_limiter") && !jx_has(obj, "io_engine"))
		return jx_err(err, errlen, CREATE "vhost-user block devices (`socket`) are not "
			      "supported by ember.");
	return jx_err(err, errlen, CREATE "Invalid block config.");
}

/* The partuuid ends up as root=PARTUUID=<x> on the kernel command line. */
static bool partuuid_ok(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int semantic_check(const struct vm_resources *res, const json_t *obj, int pos,
			  char *err, size_t errlen)
{
	bool root = jx_get_bool(obj, "is_root_device", false);
	bool pmem_root = false;
	for (size_t i = 0; i < res->n_pmems; i++)
		pmem_root |= res->pmems[i].root;
	if (root && pmem_root)
		return jx_err(err, errlen, "Attempt to add block as a root device while the root "
			      "device defined as a pmem device");
	if (root && res->n_drives && res->drives[0].root && pos != 0)
		return jx_err(err, errlen, "A root block device already exists!");
	if (!partuuid_ok(jx_get_str(obj, "partuuid", NULL)))
		return jx_err(err, errlen, "The partuuid may not contain spaces or control "
			      "characters.");
	int rc = backend_check(obj, err, errlen);
	if (!rc && pos < 0)
		rc = res_virtio_room(res, err, errlen);
	return rc;
}

static int build(struct res_drive *d, const json_t *obj, char *err, size_t errlen)
{
	bool ok = true;
	*d = (struct res_drive){
		.root = jx_get_bool(obj, "is_root_device", false),
		.read_only = jx_get_bool(obj, "is_read_only", false),
		.cache = (enum res_cache_type)jx_get_enum(obj, "cache_type", cache_names, 0),
		.engine = jx_get_enum(obj, "io_engine", engine_names, 1) ? RES_IO_SYNC : RES_IO_ASYNC,
		.fd = -1,
	};
	res_rl_from_json(jx_get(obj, "rate_limiter"), &d->rl);
	const char *path = jx_get_str(obj, "path_on_host", "");
	int fd = open_backing(path, d->read_only);
	if (fd < 0)
		return backing_err(err, errlen, CREATE "Virtio backend error: ", fd, path, "");
	d->fd = fd;
	d->id = res_dup(jx_get_str(obj, "drive_id", ""), &ok);
	d->path = res_dup(path, &ok);
	d->partuuid = res_dup(jx_get_str(obj, "partuuid", NULL), &ok);
	if (!ok) {
		res_drive_clear(d);
		return res_oom(err, errlen);
	}
	return 0;
}

/* BlockBuilder::insert: replace in place (a root moves to the front by a
 * swap, as Firecracker does, so guest /dev/vdX names match it), else a root
 * goes first and anything else last. */
static void insert(struct vm_resources *res, struct res_drive *d, int pos)
{
	struct res_drive *v = res->drives;
	if (pos >= 0) {
		res_drive_clear(&v[pos]);
		v[pos] = *d;
		if (d->root && pos) {
			struct res_drive t = v[0];
			v[0] = v[pos];
			v[pos] = t;
		}
	} else if (d->root) {
		memmove(&v[1], &v[0], res->n_drives * sizeof(*v));
		v[0] = *d;
		res->n_drives++;
	} else {
		v[res->n_drives++] = *d;
	}
}

static int drive_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	int pos = find(res, jx_get_str(obj, "drive_id", ""));
	struct res_drive d;
	int rc = semantic_check(res, obj, pos, err, errlen);
	if (!rc)
		rc = build(&d, obj, err, errlen);
	if (!rc)
		insert(res, &d, pos);
	return rc;
}

static int drive_check(const json_t *obj, char *err, size_t errlen)
{
	return jx_check(obj, &drive_spec, err, errlen);
}

const struct res_kind res_drive_kind = {
	.key = "drives", .api_prefix = "Drive config error: ",
	.file_prefix = "Block device error: ", .id_field = "drive_id",
	.check = drive_check, .apply = drive_apply,
};

int res_put_drive(struct vm_resources *res, const char *path_id, const json_t *body, char *err,
		  size_t errlen)
{
	return res_api_put(res, &res_drive_kind, path_id, body, err, errlen);
}

static int patch_lookup(struct vm_resources *res, const char *path_id, const json_t *body,
			char *err, size_t errlen)
{
	int rc = res_api_patch_check(&res_drive_kind, &update_spec, path_id, body, err, errlen);
	if (rc)
		return rc;
	int pos = find(res, path_id);
	if (pos < 0)
		return jx_err(err, errlen, PATCH_FAIL "Failed perform action on device: Device not "
			      "found" PATCH_HINT);
	/* Firecracker takes an empty PATCH as a vhost-user config refresh,
	 * which a virtio-block drive rejects. */
	if (!jx_has(body, "path_on_host") && !jx_has(body, "rate_limiter"))
		return jx_err(err, errlen, PATCH_FAIL "Block: Running method expected different "
			      "backend." PATCH_HINT);
	return pos;
}

int res_patch_drive(struct vm_resources *res, const char *path_id, const json_t *body,
		    struct res_drive_update *out, char *err, size_t errlen)
{
	if (!res || !out)
		return jx_err(err, errlen, "no resources");
	*out = (struct res_drive_update){ .fd = -1 };
	int pos = patch_lookup(res, path_id, body, err, errlen);
	if (pos < 0)
		return pos;
	out->index = (size_t)pos;
	out->has_rl = jx_has(body, "rate_limiter");
	res_rl_update_from_json(jx_get(body, "rate_limiter"), &out->rl);
	const char *path = jx_get_str(body, "path_on_host", NULL);
	if (!path)
		return 0;
	int fd = open_backing(path, res->drives[pos].read_only);
	if (fd < 0)
		return backing_err(err, errlen, PATCH_FAIL "Block: Virtio backend error: ", fd, path,
				   PATCH_HINT);
	out->fd = fd;
	out->path = strdup(path);
	if (!out->path) {
		res_drive_update_free(out);
		return res_oom(err, errlen);
	}
	return 0;
}

void res_drive_update_commit(struct vm_resources *res, struct res_drive_update *u)
{
	if (!res || !u || u->index >= res->n_drives)
		return;
	struct res_drive *d = &res->drives[u->index];
	if (u->has_rl)
		res_rl_update_apply(&d->rl, &u->rl);
	if (u->path) {
		free(d->path);
		d->path = u->path;
		u->path = NULL;
	}
	if (u->fd >= 0) {
		if (d->fd >= 0)
			close(d->fd);
		d->fd = u->fd;
		u->fd = -1;
	}
}

void res_drive_update_free(struct res_drive_update *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u->path);
	u->fd = -1;
	u->path = NULL;
}

/* Firecracker's BlockDeviceConfig serialization, field for field. */
json_t *res_drives_json(const struct vm_resources *res)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < res->n_drives; i++) {
		const struct res_drive *d = &res->drives[i];
		json_t *o = json_pack("{s:s, s:s?, s:b, s:s, s:b, s:s, s:o, s:s, s:n}", "drive_id",
				      d->id, "partuuid", d->partuuid, "is_root_device", d->root,
				      "cache_type", cache_names[d->cache], "is_read_only", d->read_only,
				      "path_on_host", d->path, "rate_limiter", res_rl_json(&d->rl),
				      "io_engine", d->engine == RES_IO_ASYNC ? "Async" : "Sync",
				      "socket");
		if (json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
