/* Helpers every device setter shares: the API request ladder (path id,
 * shape, id match, apply) with Firecracker's messages, and the virtio IRQ
 * budget. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resources_internal.h"

int res_oom(char *err, size_t errlen)
{
	jx_err(err, errlen, "out of memory");
	return -ENOMEM;
}

char *res_dup(const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

/* serde_json custom errors end with their own full stop ("The provided MAC
 * address is invalid."); Firecracker then adds " at line L column C." which
 * we cannot, so the wrapper's dot is added only where it is missing. */
void res_wrap_deser(char *err, size_t errlen)
{
	size_t n = err ? strnlen(err, errlen) : 0;
	jx_wrap(err, errlen, JX_DESER_PREFIX, n && err[n - 1] == '.' ? "" : ".");
}

int res_check_path_id(const char *id, char *err, size_t errlen)
{
	if (!id || !*id)
		return jx_err(err, errlen, "The ID cannot be empty.");
	for (const char *p = id; *p; p++)
		if (*p != '_' && !isalnum((unsigned char)*p))
			return jx_err(err, errlen, "API Resource IDs can only contain alphanumeric "
				      "characters and underscores.");
	return 0;
}

static unsigned virtio_count(const struct vm_resources *res)
{
	return (unsigned)(res->n_drives + res->n_nets + res->n_pmems) + res->vsock.set +
	       res->balloon.set + res->entropy.set + res->mem_hotplug.set;
}

/* Firecracker only finds out at InstanceStart, when the IRQ allocator runs
 * dry; refusing the PUT says which request went over. */
int res_virtio_room(const struct vm_resources *res, char *err, size_t errlen)
{
	if (virtio_count(res) < RES_MAX_VIRTIO_DEVS)
		return 0;
	jx_err(err, errlen, "Too many virtio devices: ember supports at most %d (legacy IRQs 5 "
	       "to 23).", RES_MAX_VIRTIO_DEVS);
	return -ENOSPC;
}

static int id_mismatch(const struct res_kind *k, const char *path_id, const json_t *body,
		       char *err, size_t errlen)
{
	const char *body_id = jx_get_str(body, k->id_field, "");
	if (!strcmp(path_id, body_id))
		return 0;
	if (k->name_ids)
		return jx_err(err, errlen, "The id from the path [%s] does not match the id from "
			      "the body [%s]!", path_id, body_id);
	return jx_err(err, errlen, "The id from the path does not match the id from the body!");
}

int res_api_patch_check(const struct res_kind *k, const struct jx_struct *update_spec,
			const char *path_id, const json_t *body, char *err, size_t errlen)
{
	int rc = res_check_path_id(path_id, err, errlen);
	if (rc)
		return rc;
	if (jx_check(body, update_spec, err, errlen)) {
		res_wrap_deser(err, errlen);
		return -EINVAL;
	}
	return id_mismatch(k, path_id, body, err, errlen);
}

int res_open_file(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	return fd;
}

int res_api_put(struct vm_resources *res, const struct res_kind *k, const char *path_id,
		const json_t *body, char *err, size_t errlen)
{
	int rc;

	if (!res)
		return jx_err(err, errlen, "no resources");
	if (k->id_field && (rc = res_check_path_id(path_id, err, errlen)))
		return rc;
	if ((rc = k->check(body, err, errlen))) {
		res_wrap_deser(err, errlen);
		return rc;
	}
	if (k->id_field && (rc = id_mismatch(k, path_id, body, err, errlen)))
		return rc;
	rc = k->apply(res, body, err, errlen);
	if (rc)
		jx_wrap(err, errlen, k->api_prefix, "");
	return rc;
}

bool res_has_net(const struct vm_resources *res, const char *iface_id)
{
	for (size_t i = 0; res && iface_id && i < res->n_nets; i++)
		if (!strcmp(res->nets[i].id, iface_id))
			return true;
	return false;
}
