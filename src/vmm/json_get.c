/* Accessors for objects that already passed jx_check: an absent or null
 * field (Option::None) reads as the caller's default. */
#include "ember/json_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const json_t *jx_get(const json_t *obj, const char *name)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
	return json_is_null(v) ? NULL : v;
}

bool jx_has(const json_t *obj, const char *name)
{
	return jx_get(obj, name) != NULL;
}

const char *jx_get_str(const json_t *obj, const char *name, const char *def)
{
	const json_t *v = jx_get(obj, name);
	return json_is_string(v) ? json_string_value(v) : def;
}

bool jx_get_bool(const json_t *obj, const char *name, bool def)
{
	const json_t *v = jx_get(obj, name);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

uint64_t jx_get_uint(const json_t *obj, const char *name, uint64_t def)
{
	const json_t *v = jx_get(obj, name);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v) : def;
}

int64_t jx_get_int(const json_t *obj, const char *name, int64_t def)
{
	const json_t *v = jx_get(obj, name);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

int jx_enum_index(const char *const *variants, const char *s)
{
	for (int i = 0; s && variants && variants[i]; i++)
		if (!strcmp(variants[i], s))
			return i;
	return -1;
}

int jx_get_enum(const json_t *obj, const char *name, const char *const *variants, int def)
{
	const json_t *v = jx_get(obj, name);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return def;
	int i = jx_enum_index(variants, json_string_value(v));
	return i < 0 ? def : i;
}

json_t *jx_load_fd(int fd, size_t flags, json_error_t *je)
{
	FILE *f = fdopen(fd, "r");
	json_t *root;

	if (!f) {
		close(fd);
		snprintf(je->text, sizeof(je->text), "%s", strerror(errno));
		je->line = je->column = 0;
		return NULL;
	}
	root = json_loadf(f, flags, je);
	fclose(f);
	return root;
}
