/* --config-file: Firecracker's VmmConfig. Like serde, the whole document is
 * shape-checked first ("Invalid JSON: ..."), then the objects are applied in
 * Firecracker's processing order to fresh resources, which replace the
 * caller's only when everything succeeded. Objects other modules own
 * (logger, metrics, mmds-config, cpu-config) go to the caller's hooks. */
#include "ember/resources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ember/json_util.h"
#include "resources_internal.h"

enum { H_LOGGER, H_METRICS, H_MMDS, H_CPU, H_NONE };

/* VmResources::from_json order. Objects VmResources owns go through the
 * same kinds as the API; the others are the caller's hooks. A kind with an
 * id field is a Vec in VmmConfig (an array in the file). */
static const struct step {
	const char *key;
	const struct res_kind *kind;
	int hook;
} steps[] = {
	{ "logger", NULL, H_LOGGER },
	{ "metrics", NULL, H_METRICS },
	{ "machine-config", NULL, H_NONE },
	{ "cpu-config", NULL, H_CPU },
	{ "boot-source", NULL, H_NONE },
	{ "drives", &res_drive_kind, H_NONE },
	{ "network-interfaces", &res_net_kind, H_NONE },
	{ "vsock", &res_vsock_kind, H_NONE },
	{ "balloon", &res_balloon_kind, H_NONE },
	{ "mmds-config", NULL, H_MMDS },
	{ "entropy", &res_entropy_kind, H_NONE },
	{ "pmem", &res_pmem_kind, H_NONE },
	{ "memory-hotplug", &res_hotplug_kind, H_NONE },
};

#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

/* Object keys may hold NUL in jansson: compare the full length. */
static const struct step *find_step(const char *key, size_t keylen)
{
	for (size_t i = 0; i < NSTEPS; i++)
		if (strlen(steps[i].key) == keylen && !memcmp(key, steps[i].key, keylen))
			return &steps[i];
	return NULL; /* unknown top-level keys are ignored, as serde does here */
}

static int check_kind(const struct res_kind *k, const json_t *v, char *err, size_t errlen)
{
	char what[128];
	size_t i;
	const json_t *e;

	if (json_is_null(v))
		return 0;
	if (!k->id_field)
		return k->check(v, err, errlen);
	if (!json_is_array(v)) {
		jx_describe(v, what, sizeof(what));
		return jx_err(err, errlen, "invalid type: %s, expected a sequence", what);
	}
	json_array_foreach(v, i, e) {
		int rc = k->check(e, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_value(const struct step *st, const json_t *v, char *err, size_t errlen)
{
	if (!strcmp(st->key, "boot-source"))
		return jx_check(v, &res_boot_spec, err, errlen);
	if (!strcmp(st->key, "machine-config"))
		return json_is_null(v) ? 0 : jx_check(v, &res_machine_spec, err, errlen);
	return st->kind ? check_kind(st->kind, v, err, errlen) : 0;
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
		const struct step *st = find_step(json_object_iter_key(it),
						  json_object_iter_key_len(it));
		int rc = st ? check_value(st, json_object_iter_value(it), err, errlen) : 0;
		if (rc)
			return rc;
	}
	if (!json_object_get(root, "boot-source"))
		return jx_err(err, errlen, "missing field `boot-source`");
	return 0;
}

static int apply_kind(struct vm_resources *res, const struct res_kind *k, const json_t *v,
		      char *err, size_t errlen)
{
	size_t i;
	const json_t *e;
	int rc = 0;

	if (!k->id_field) {
		rc = k->apply(res, v, err, errlen);
	} else {
		json_array_foreach(v, i, e) {
			if ((rc = k->apply(res, e, err, errlen)))
				break;
		}
	}
	if (rc)
		jx_wrap(err, errlen, k->file_prefix, "");
	return rc;
}

static int apply_hook(struct vm_resources *res, const struct step *st, const json_t *v,
		      const struct res_hooks *hooks, char *err, size_t errlen)
{
	res_hook_fn fns[] = { [H_LOGGER] = hooks ? hooks->logger : NULL,
			      [H_METRICS] = hooks ? hooks->metrics : NULL,
			      [H_MMDS] = hooks ? hooks->mmds_config : NULL,
			      [H_CPU] = hooks ? hooks->cpu_config : NULL };
	if (!fns[st->hook])
		return jx_err(err, errlen, "%s is not supported by this build yet", st->key);
	int rc = fns[st->hook](hooks->ctx, res, v, err, errlen);
	return rc > 0 ? -rc : rc;
}

static int apply_one(struct vm_resources *res, const struct step *st, const json_t *v,
		     const struct res_hooks *hooks, char *err, size_t errlen)
{
	int rc = 0;

	if (!strcmp(st->key, "boot-source")) {
		rc = res_boot_apply(res, v, err, errlen);
		if (rc)
			jx_wrap(err, errlen, "Boot source error: ", "");
		return rc;
	}
	if (!v || json_is_null(v))
		return 0;
	if (!strcmp(st->key, "machine-config")) {
		rc = res_machine_apply(&res->machine, v, false, err, errlen);
		if (rc)
			jx_wrap(err, errlen, "VM config error: ", "");
		return rc;
	}
	if (st->kind)
		return apply_kind(res, st->kind, v, err, errlen);
	return apply_hook(res, st, v, hooks, err, errlen);
}

int res_set_config_hooks(struct vm_resources *res, const json_t *root,
			 const struct res_hooks *hooks, char *err, size_t errlen)
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
	for (size_t i = 0; i < NSTEPS; i++) {
		rc = apply_one(&tmp, &steps[i], json_object_get(root, steps[i].key), hooks, err,
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

int res_set_config(struct vm_resources *res, const json_t *root, char *err, size_t errlen)
{
	return res_set_config_hooks(res, root, NULL, err, errlen);
}

static int open_config(const char *path, char *err, size_t errlen)
{
	int fd = res_open_file(path, O_RDONLY);

	if (fd < 0)
		jx_err(err, errlen, "Unable to open or read from the configuration file %s: %s "
		       "(os error %d)", path, strerror(-fd), -fd);
	return fd;
}

int res_load_config_file(struct vm_resources *res, const char *path, char *err, size_t errlen)
{
	return res_load_config_file_hooks(res, path, NULL, err, errlen);
}

int res_load_config_file_hooks(struct vm_resources *res, const char *path,
			       const struct res_hooks *hooks, char *err, size_t errlen)
{
	json_error_t je;

	if (!res || !path)
		return jx_err(err, errlen, "no configuration file given");
	int fd = open_config(path, err, errlen);
	if (fd < 0)
		return fd;
	/* DECODE_ANY: a scalar top level gets the serde-style type error below. */
	json_t *root = jx_load_fd(fd, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!root)
		return jx_err(err, errlen, "Invalid JSON: %s at line %d column %d", je.text,
			      je.line, je.column);
	int rc = res_set_config_hooks(res, root, hooks, err, errlen);
	json_decref(root);
	return rc;
}
