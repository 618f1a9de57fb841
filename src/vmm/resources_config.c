/* --config-file: Firecracker's VmmConfig. Like serde, the whole document is
 * shape-checked first ("Invalid JSON: ..."), then the objects are applied in
 * Firecracker's processing order to fresh resources, which replace the
 * caller's only when everything succeeded. */
#include "ember/resources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ember/json_util.h"
#include "resources_internal.h"

/* VmmConfig's Vec fields: anything but an array (or null) is a type error. */
static const char *const seq_keys[] = { "drives", "network-interfaces", "pmem", NULL };

/* VmResources::from_json order. Everything except machine-config and
 * boot-source names a feature this build cannot provide yet. */
static const char *const apply_order[] = {
	"logger", "metrics", "machine-config", "cpu-config", "boot-source", "drives",
	"network-interfaces", "vsock", "balloon", "mmds-config", "entropy", "pmem",
	"memory-hotplug", NULL,
};

/* Object keys may hold NUL in jansson: compare the full length. */
static bool key_is(const char *key, size_t keylen, const char *name)
{
	return strlen(name) == keylen && !memcmp(key, name, keylen);
}

static int check_value(const char *key, size_t keylen, const json_t *v, char *err, size_t errlen)
{
	char what[128];

	if (key_is(key, keylen, "boot-source"))
		return jx_check(v, &res_boot_spec, err, errlen);
	if (key_is(key, keylen, "machine-config"))
		return json_is_null(v) ? 0 : jx_check(v, &res_machine_spec, err, errlen);
	for (size_t i = 0; seq_keys[i]; i++) {
		if (key_is(key, keylen, seq_keys[i]) && !json_is_null(v) && !json_is_array(v)) {
			jx_describe(v, what, sizeof(what));
			return jx_err(err, errlen, "invalid type: %s, expected a sequence", what);
		}
	}
	return 0; /* unknown top-level keys are ignored, as serde does here */
}

static int check_shape(const json_t *root, char *err, size_t errlen)
{
	char what[128];

	if (!json_is_object(root)) {
		jx_describe(root, what, sizeof(what));
		return jx_err(err, errlen, "invalid type: %s, expected struct VmmConfig", what);
	}
	/* jansson's iterator API takes non-const objects; it does not modify them. */
	json_t *obj = (json_t *)root;
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		int rc = check_value(json_object_iter_key(it), json_object_iter_key_len(it),
				     json_object_iter_value(it), err, errlen);
		if (rc)
			return rc;
	}
	if (!json_object_get(root, "boot-source"))
		return jx_err(err, errlen, "missing field `boot-source`");
	return 0;
}

static int apply_one(struct vm_resources *res, const char *key, const json_t *v, char *err,
		     size_t errlen)
{
	int rc = 0;

	if (!strcmp(key, "machine-config")) {
		if (v && !json_is_null(v))
			rc = res_machine_apply(&res->machine, v, false, err, errlen);
		if (rc)
			jx_wrap(err, errlen, "VM config error: ", "");
	} else if (!strcmp(key, "boot-source")) {
		rc = res_boot_apply(res, v, err, errlen);
		if (rc)
			jx_wrap(err, errlen, "Boot source error: ", "");
	} else if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0)) {
		rc = jx_err(err, errlen, "%s is not supported by this build yet", key);
	}
	return rc;
}

int res_set_config(struct vm_resources *res, const json_t *root, char *err, size_t errlen)
{
	struct vm_resources tmp;
	int rc;

	if (!res)
		return jx_err(err, errlen, "no resources");
	if (check_shape(root, err, errlen)) {
		jx_wrap(err, errlen, "Invalid JSON: ", "");
		return -EINVAL;
	}
	res_init(&tmp);
	for (size_t i = 0; apply_order[i]; i++) {
		rc = apply_one(&tmp, apply_order[i], json_object_get(root, apply_order[i]), err,
			       errlen);
		if (rc) {
			res_free(&tmp);
			return rc;
		}
	}
	res_free(res);
	*res = tmp;
	return 0;
}

static int open_config(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		fd = -1;
		errno = EISDIR;
	}
	if (fd < 0) {
		int e = errno;
		jx_err(err, errlen, "Unable to open or read from the configuration file %s: %s "
		       "(os error %d)", path, strerror(e), e);
		return -e;
	}
	return fd;
}

int res_load_config_file(struct vm_resources *res, const char *path, char *err, size_t errlen)
{
	json_error_t je;

	if (!res || !path)
		return jx_err(err, errlen, "no configuration file given");
	int fd = open_config(path, err, errlen);
	if (fd < 0)
		return fd;
	/* DECODE_ANY: a scalar top level gets the serde-style type error below. */
	json_t *root = json_loadfd(fd, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	close(fd);
	if (!root)
		return jx_err(err, errlen, "Invalid JSON: %s at line %d column %d", je.text,
			      je.line, je.column);
	int rc = res_set_config(res, root, err, errlen);
	json_decref(root);
	return rc;
}
