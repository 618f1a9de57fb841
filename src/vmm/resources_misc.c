/* Singleton devices without memory semantics: vsock, entropy, and the
 * serial console's output. A PUT replaces the previous configuration. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "resources_internal.h"

static const struct jx_field vsock_fields[] = {
	/* Deprecated and ignored, as in Firecracker (the caller flags it). */
	{ .name = "vsock_id", .kind = JX_STR, .flags = JX_NULL },
	{ .name = "guest_cid", .kind = JX_U32, .flags = JX_REQ },
	{ .name = "uds_path", .kind = JX_STR, .flags = JX_REQ },
};
static const struct jx_struct vsock_spec = { "VsockDeviceConfig", vsock_fields,
					     JX_NFIELDS(vsock_fields) };

static const struct jx_field entropy_fields[] = {
	{ .name = "rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_rl_spec },
};
static const struct jx_struct entropy_spec = { "EntropyDeviceConfig", entropy_fields,
					       JX_NFIELDS(entropy_fields) };

static const struct jx_field serial_fields[] = {
	{ .name = "serial_out_path", .kind = JX_STR, .flags = JX_NULL },
	{ .name = "rate_limiter", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_bucket_spec },
};
static const struct jx_struct serial_spec = { "SerialConfig", serial_fields,
					      JX_NFIELDS(serial_fields) };

#define VSOCK_BIND "Cannot create backend for vsock device: Error binding to the host-side " \
		   "Unix socket: "

void res_misc_free(struct vm_resources *res)
{
	free(res->vsock.uds_path);
	free(res->serial.out_path);
	res->vsock = (struct res_vsock){ 0 };
	res->serial = (struct res_serial){ 0 };
}

/* The directory uds_path would be bound in: -errno when it is missing or
 * not a directory, so PUT /vsock fails where Firecracker's bind would. */
static int uds_dir_check(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	if (!slash)
		return 0; /* relative to the working directory, which exists */
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int vsock_check(const json_t *obj, char *err, size_t errlen)
{
	return jx_check(obj, &vsock_spec, err, errlen);
}

/* Firecracker binds uds_path at PUT time and so reports a path that cannot
 * be a socket address then; the vsock device binds at boot, so the same
 * limits are judged here. CIDs 0-2 are the hypervisor/local/host and
 * U32_MAX is VMADDR_CID_ANY: a guest cannot have them. */
static int vsock_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	uint32_t cid = (uint32_t)jx_get_uint(obj, "guest_cid", 0);
	const char *path = jx_get_str(obj, "uds_path", "");

	if (cid < 3 || cid == UINT32_MAX)
		return jx_err(err, errlen, "Cannot create vsock device: guest_cid %u is reserved; "
			      "use a CID from 3 to 4294967294.", cid);
	if (!*path)
		return jx_err(err, errlen, VSOCK_BIND "%s (os error %d)", strerror(ENOENT), ENOENT);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return jx_err(err, errlen, VSOCK_BIND "path must be shorter than SUN_LEN");
	int rc = uds_dir_check(path);
	if (rc)
		return jx_err(err, errlen, VSOCK_BIND "%s (os error %d)", strerror(-rc), -rc);
	rc = res->vsock.set ? 0 : res_virtio_room(res, err, errlen);
	if (rc)
		return rc;
	char *p = strdup(path);
	if (!p)
		return res_oom(err, errlen);
	free(res->vsock.uds_path);
	res->vsock = (struct res_vsock){ .set = true, .guest_cid = cid, .uds_path = p };
	return 0;
}

const struct res_kind res_vsock_kind = {
	.key = "vsock", .api_prefix = "Vsock config error: ",
	.file_prefix = "Vsock device error: ", .check = vsock_check, .apply = vsock_apply,
};

int res_put_vsock(struct vm_resources *res, const json_t *body, bool *deprecated, char *err,
		  size_t errlen)
{
	int rc = res_api_put(res, &res_vsock_kind, NULL, body, err, errlen);
	if (deprecated)
		*deprecated = !rc && jx_has(body, "vsock_id");
	return rc;
}

/* Firecracker never serializes vsock_id. */
json_t *res_vsock_json(const struct vm_resources *res)
{
	if (!res->vsock.set)
		return json_null();
	return json_pack("{s:I, s:s}", "guest_cid", (json_int_t)res->vsock.guest_cid, "uds_path",
			 res->vsock.uds_path);
}

static int entropy_check(const json_t *obj, char *err, size_t errlen)
{
	return jx_check(obj, &entropy_spec, err, errlen);
}

static int entropy_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	int rc = res->entropy.set ? 0 : res_virtio_room(res, err, errlen);
	if (rc)
		return rc;
	res->entropy.set = true;
	res_rl_from_json(jx_get(obj, "rate_limiter"), &res->entropy.rl);
	return 0;
}

const struct res_kind res_entropy_kind = {
	.key = "entropy", .api_prefix = "Entropy config error: ",
	.file_prefix = "Entropy device error: ", .check = entropy_check, .apply = entropy_apply,
};

int res_put_entropy(struct vm_resources *res, const json_t *body, char *err, size_t errlen)
{
	return res_api_put(res, &res_entropy_kind, NULL, body, err, errlen);
}

json_t *res_entropy_json(const struct vm_resources *res)
{
	if (!res->entropy.set)
		return json_null();
	return json_pack("{s:o}", "rate_limiter", res_rl_json(&res->entropy.rl));
}

/* PUT /serial (API only: the config file has no serial key). */
int res_put_serial(struct vm_resources *res, const json_t *body, char *err, size_t errlen)
{
	if (!res)
		return jx_err(err, errlen, "no resources");
	if (jx_check(body, &serial_spec, err, errlen)) {
		res_wrap_deser(err, errlen);
		return -EINVAL;
	}
	struct res_serial s = { 0 };
	const char *path = jx_get_str(body, "serial_out_path", NULL);
	if (path && !(s.out_path = strdup(path)))
		return res_oom(err, errlen);
	res_bucket_from_json(jx_get(body, "rate_limiter"), &s.rl);
	free(res->serial.out_path);
	res->serial = s;
	return 0;
}

int res_serial_open(const struct vm_resources *res, int *fd)
{
	*fd = -1;
	if (!res || !res->serial.out_path)
		return 0;
	/* Firecracker opens read+write so that a FIFO nobody reads yet opens
	 * at once instead of failing with ENXIO; O_APPEND keeps an existing
	 * log file's contents instead of overwriting them from offset 0. */
	int f = open(res->serial.out_path,
		     O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (f < 0)
		return -errno;
	*fd = f;
	return 0;
}
