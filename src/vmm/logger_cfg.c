/* PUT /logger and the config file's "logger": Firecracker's LoggerConfig
 * checked like serde, then applied like Logger::update (see logger_cfg.h). */
#include "ember/logger_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/json_util.h"
#include "ember/log.h"

/* Declaration order is serde's: it lists these in "unknown field" errors.
 * log_path (PathBuf) and level (custom Deserialize) are typed below. */
static const struct jx_field fields[] = {
	{ .name = "log_path", .kind = JX_ANY, .flags = JX_NULL },
	{ .name = "level", .kind = JX_ANY, .flags = JX_NULL },
	{ .name = "show_level", .kind = JX_BOOL, .flags = JX_NULL },
	{ .name = "show_log_origin", .kind = JX_BOOL, .flags = JX_NULL },
	{ .name = "module", .kind = JX_STR, .flags = JX_NULL },
};
static const struct jx_struct spec = { "LoggerConfig", fields, JX_NFIELDS(fields) };

/* Firecracker's LevelFilter serializes with these names. */
static const char *const level_names[] = {
	[LOG_OFF] = "Off",   [LOG_ERROR] = "Error", [LOG_WARN] = "Warn",
	[LOG_INFO] = "Info", [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};

static bool configured;
static char *cur_path, *cur_module; /* as last set, for GET /vm/config */

static int type_err(const json_t *v, const char *expected, char *err, size_t errlen)
{
	char what[128];

	jx_describe(v, what, sizeof(what));
	return jx_err(err, errlen, "invalid type: %s, expected %s", what, expected);
}

/* The fields serde types itself: PathBuf wants a "path string", LevelFilter
 * a string it knows (its own message). Checked in document order. */
static int check_custom(const json_t *body, char *err, size_t errlen)
{
	json_t *obj = (json_t *)body; /* the iterator API is not const; nothing changes */
	enum log_level lvl;

	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		const json_t *v = json_object_iter_value(it);

		if (json_is_null(v))
			continue;
		if (!strcmp(key, "log_path") && !json_is_string(v))
			return type_err(v, "path string", err, errlen);
		if (strcmp(key, "level"))
			continue;
		if (!json_is_string(v))
			return type_err(v, "a string", err, errlen);
		if (strlen(json_string_value(v)) != json_string_length(v) ||
		    log_parse_level(json_string_value(v), &lvl))
			return jx_err(err, errlen, "Invalid LevelFilter");
	}
	return 0;
}

int logger_cfg_check(const json_t *body, char *err, size_t errlen)
{
	if (jx_check(body, &spec, err, errlen))
		return -EINVAL;
	return check_custom(body, err, errlen);
}

/* Keep a copy for logger_cfg_json(); on ENOMEM the old text stays. */
static void remember(char **slot, const char *s)
{
	char *copy = s ? strdup(s) : NULL;

	if (s && !copy)
		return;
	free(*slot);
	*slot = copy;
}

static int open_target(const json_t *v, char *err, size_t errlen)
{
	int rc;

	/* Rust refuses a path with NUL before calling open(2). */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return jx_err(err, errlen, "Logger error: Failed to open target file: "
			      "file name contained an unexpected NUL byte");
	rc = log_set_path(json_string_value(v));
	if (rc)
		jx_err(err, errlen, "Logger error: Failed to open target file: %s (os error %d)",
		       strerror(-rc), -rc);
	return rc ? -EINVAL : 0;
}

int logger_cfg_apply(const json_t *body, char *err, size_t errlen)
{
	enum log_level lvl = LOG_INFO; /* Firecracker's default when level is absent */
	const json_t *path = jx_get(body, "log_path");
	const char *module = jx_get_str(body, "module", NULL);
	bool show_level, show_origin;

	if (logger_cfg_check(body, err, errlen)) {
		jx_wrap(err, errlen, JX_DESER_PREFIX, ".");
		return -EINVAL;
	}
	if (jx_has(body, "level"))
		log_parse_level(jx_get_str(body, "level", "info"), &lvl);
	/* Opening the file is the only step that can fail: do it first. */
	if (path && open_target(path, err, errlen))
		return -EINVAL;
	if (module && log_set_module(module))
		return jx_err(err, errlen, "Logger error: out of memory");
	log_get_options(&show_level, &show_origin);
	log_set_options(jx_get_bool(body, "show_level", show_level),
			jx_get_bool(body, "show_log_origin", show_origin));
	log_set_level(lvl);
	if (path)
		remember(&cur_path, json_string_value(path));
	if (module)
		remember(&cur_module, module);
	configured = true;
	return 0;
}

json_t *logger_cfg_json(void)
{
	bool show_level, show_origin;
	enum log_level lvl = log_get_level();

	if (!configured)
		return json_null();
	log_get_options(&show_level, &show_origin);
	return json_pack("{s:s?, s:s, s:b, s:b, s:s?}", "log_path", cur_path, "level",
			 level_names[lvl <= LOG_TRACE ? lvl : LOG_INFO], "show_level", show_level,
			 "show_log_origin", show_origin, "module", cur_module);
}
