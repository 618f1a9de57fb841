/* PUT /metrics and the config file's "metrics": Firecracker's MetricsConfig,
 * applied once like init_metrics() (see metrics.h). */
#include "ember/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/json_util.h"
#include "metrics_internal.h"

struct metrics_target metrics_tgt = { .fd = -1, .id = "anonymous-instance" };

#define INIT_ERR "Metrics error: Cannot initialize the metrics system due to bad user input: "

/* metrics_path is a PathBuf and properties a BTreeMap<String, String>:
 * both typed by check_custom() with serde's wording. */
static const struct jx_field fields[] = {
	{ .name = "metrics_path", .kind = JX_ANY, .flags = JX_REQ },
	{ .name = "emit_id", .kind = JX_BOOL },
	{ .name = "properties", .kind = JX_ANY, .flags = JX_NULL },
};
static const struct jx_struct spec = { "MetricsConfig", fields, JX_NFIELDS(fields) };

static int type_err(const json_t *v, const char *expected, char *err, size_t errlen)
{
	char what[128];

	jx_describe(v, what, sizeof(what));
	return jx_err(err, errlen, "invalid type: %s, expected %s", what, expected);
}

static int check_props(const json_t *props, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(props))
		return type_err(props, "a map", err, errlen);
	json_object_foreach((json_t *)props, key, v) {
		if (!json_is_string(v))
			return type_err(v, "a string", err, errlen);
	}
	return 0;
}

static int check_custom(const json_t *body, char *err, size_t errlen)
{
	json_t *obj = (json_t *)body; /* the iterator API is not const; nothing changes */

	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		const json_t *v = json_object_iter_value(it);

		if (!strcmp(key, "metrics_path") && !json_is_string(v))
			return type_err(v, "path string", err, errlen);
		if (!strcmp(key, "properties") && !json_is_null(v) && check_props(v, err, errlen))
			return -EINVAL;
	}
	return 0;
}

int metrics_cfg_check(const json_t *body, char *err, size_t errlen)
{
	if (jx_check(body, &spec, err, errlen))
		return -EINVAL;
	return check_custom(body, err, errlen);
}

struct prop {
	const char *key;
	size_t len;
	const json_t *val;
};

static int prop_cmp(const void *a, const void *b)
{
	const struct prop *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* A private copy with keys in byte order, as Firecracker's BTreeMap emits
 * them; fresh strings, so nothing is shared with the caller's tree. */
static json_t *sorted_props(const json_t *src)
{
	size_t n = json_object_size(src), i = 0;
	struct prop *p = calloc(n ? n : 1, sizeof(*p));
	json_t *out = json_object(), *obj = (json_t *)src;

	for (void *it = json_object_iter(obj); p && it; it = json_object_iter_next(obj, it), i++)
		p[i] = (struct prop){ json_object_iter_key(it), json_object_iter_key_len(it),
				      json_object_iter_value(it) };
	if (p)
		qsort(p, n, sizeof(*p), prop_cmp);
	for (i = 0; p && out && i < n; i++) {
		if (json_object_setn_new(out, p[i].key, p[i].len,
					 json_stringn(json_string_value(p[i].val),
						      json_string_length(p[i].val)))) {
			json_decref(out);
			out = NULL;
		}
	}
	if (!p) {
		json_decref(out);
		out = NULL;
	}
	free(p);
	return out;
}

/* Firecracker's open_file_nonblock(): read+write so a FIFO opens without a
 * reader and never raises SIGPIPE; O_APPEND is ours (never overwrite). */
static int open_target(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_APPEND | O_NONBLOCK | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		int e = errno;
		return jx_err(err, errlen, INIT_ERR "%s (os error %d)", strerror(e), e);
	}
	return fd;
}

int metrics_cfg_apply(const json_t *body, char *err, size_t errlen)
{
	const json_t *path, *props;
	json_t *sorted = NULL;
	char *copy;
	int fd;

	if (metrics_cfg_check(body, err, errlen)) {
		jx_wrap(err, errlen, JX_DESER_PREFIX, ".");
		return -EINVAL;
	}
	if (metrics_tgt.fd >= 0)
		return jx_err(err, errlen, INIT_ERR "Reinitialization of metrics not allowed.");
	path = json_object_get(body, "metrics_path");
	if (strlen(json_string_value(path)) != json_string_length(path))
		return jx_err(err, errlen, INIT_ERR "file name contained an unexpected NUL byte");
	props = jx_get(body, "properties");
	copy = strdup(json_string_value(path));
	if (!copy || (props && !(sorted = sorted_props(props)))) {
		free(copy);
		return jx_err(err, errlen, INIT_ERR "out of memory");
	}
	fd = open_target(copy, err, errlen);
	if (fd < 0) {
		free(copy);
		json_decref(sorted);
		return -EINVAL;
	}
	metrics_tgt.fd = fd;
	metrics_tgt.path = copy;
	metrics_tgt.props = sorted;
	metrics_tgt.emit_id = jx_get_bool(body, "emit_id", false);
	return 0;
}

bool metrics_configured(void)
{
	return metrics_tgt.fd >= 0;
}

void metrics_set_id(const char *id)
{
	snprintf(metrics_tgt.id, sizeof(metrics_tgt.id), "%s", id ? id : "anonymous-instance");
}

json_t *metrics_cfg_json(void)
{
	json_t *o;

	if (metrics_tgt.fd < 0)
		return json_null();
	o = json_pack("{s:s, s:b}", "metrics_path", metrics_tgt.path, "emit_id",
		      metrics_tgt.emit_id);
	if (o && metrics_tgt.props &&
	    json_object_set_new(o, "properties", json_deep_copy(metrics_tgt.props))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void metrics_close(void)
{
	if (metrics_tgt.fd >= 0)
		close(metrics_tgt.fd);
	metrics_tgt.fd = -1;
	metrics_drop_pending();
	free(metrics_tgt.path);
	metrics_tgt.path = NULL;
	json_decref(metrics_tgt.props);
	metrics_tgt.props = NULL;
	metrics_tgt.emit_id = false;
}
