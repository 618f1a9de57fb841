/* Strict JSON checking with serde's error texts (see json_util.h); the texts
 * themselves are built by json_msg.c. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json_internal.h"

static size_t count(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* "invalid type: <what v is>, expected <exp>" */
static int bad_type(struct sb *b, const json_t *v, const char *exp)
{
	sb_puts(b, "invalid type: ");
	jx_sb_describe(b, v);
	jx_sb_printf(b, ", expected %s", exp);
	return -EINVAL;
}

static int check_int(struct sb *b, const json_t *v, enum jx_kind k)
{
	static const struct { const char *name; int64_t min, max; } lim[] = {
		[JX_U8] = { "u8", 0, UINT8_MAX },       [JX_U16] = { "u16", 0, UINT16_MAX },
		[JX_U32] = { "u32", 0, UINT32_MAX },    [JX_U64] = { "u64", 0, INT64_MAX },
		[JX_USIZE] = { "usize", 0, INT64_MAX }, [JX_I32] = { "i32", INT32_MIN, INT32_MAX },
		[JX_I64] = { "i64", INT64_MIN, INT64_MAX },
	};
	if (!json_is_integer(v))
		return bad_type(b, v, lim[k].name);
	json_int_t i = json_integer_value(v);
	if (i < lim[k].min || i > lim[k].max) {
		jx_sb_printf(b, "invalid value: integer `%" JSON_INTEGER_FORMAT "`, expected %s", i,
			  lim[k].name);
		return -EINVAL;
	}
	return 0;
}

static int check_str(struct sb *b, const json_t *v, unsigned flags)
{
	if (!json_is_string(v))
		return bad_type(b, v, "a string");
	/* A C string cannot carry NUL: a path or name would be silently cut. */
	if (!(flags & JX_NUL_OK) && strlen(json_string_value(v)) != json_string_length(v)) {
		sb_puts(b, "invalid value: ");
		jx_sb_describe(b, v);
		sb_puts(b, ", expected a string without NUL characters");
		return -EINVAL;
	}
	return 0;
}

static int check_enum(struct sb *b, const json_t *v, const char *const *variants)
{
	size_t n = count(variants);
	if (!json_is_string(v)) {
		sb_puts(b, "invalid type: ");
		jx_sb_describe(b, v);
		sb_puts(b, ", expected ");
		jx_sb_one_of(b, variants, sizeof(*variants), n);
		return -EINVAL;
	}
	if (jx_enum_index(variants, json_string_value(v)) >= 0 &&
	    strlen(json_string_value(v)) == json_string_length(v))
		return 0;
	sb_puts(b, "unknown variant `");
	jx_sb_escaped(b, json_string_value(v), json_string_length(v), false);
	if (n) {
		sb_puts(b, "`, expected ");
		jx_sb_one_of(b, variants, sizeof(*variants), n);
	} else {
		sb_puts(b, "`, there are no variants");
	}
	return -EINVAL;
}

static int check_struct(struct sb *b, const json_t *v, const struct jx_struct *st);

static int check_kind(struct sb *b, const json_t *v, const struct jx_field *f, enum jx_kind k)
{
	switch (k) {
	case JX_ANY: return 0;
	case JX_STR: return check_str(b, v, f ? f->flags : 0);
	case JX_BOOL: return json_is_boolean(v) ? 0 : bad_type(b, v, "a boolean");
	case JX_ENUM: return check_enum(b, v, f ? f->variants : NULL);
	case JX_STRUCT: return f && f->sub ? check_struct(b, v, f->sub) : 0;
	case JX_SEQ: break;
	default: return check_int(b, v, k);
	}
	if (!json_is_array(v))
		return bad_type(b, v, "a sequence");
	size_t i;
	const json_t *e;
	json_array_foreach(v, i, e) {
		int rc = f && f->sub ? check_struct(b, e, f->sub) : check_kind(b, e, NULL, f ? f->elem : JX_ANY);
		if (rc)
			return rc;
	}
	return 0;
}

static const struct jx_field *find(const struct jx_struct *st, const char *key, size_t keylen)
{
	if (strlen(key) != keylen)
		return NULL;
	for (size_t i = 0; i < st->nfields; i++)
		if (!strcmp(st->fields[i].name, key))
			return &st->fields[i];
	return NULL;
}

static int unknown_field(struct sb *b, const struct jx_struct *st, const char *key, size_t keylen)
{
	sb_puts(b, "unknown field `");
	jx_sb_escaped(b, key, keylen, false);
	if (!st->nfields) {
		sb_puts(b, "`, there are no fields");
		return -EINVAL;
	}
	sb_puts(b, "`, expected ");
	jx_sb_one_of(b, &st->fields[0].name, sizeof(st->fields[0]), st->nfields);
	return -EINVAL;
}

/* serde's order: each present field in document order (name, then value),
 * then the required fields that are missing, in declaration order. */
static int check_struct(struct sb *b, const json_t *v, const struct jx_struct *st)
{
	if (!json_is_object(v)) {
		sb_puts(b, "invalid type: ");
		jx_sb_describe(b, v);
		jx_sb_printf(b, ", expected struct %s", st->name);
		return -EINVAL;
	}
	/* jansson's iterator API takes non-const objects; it does not modify them. */
	json_t *obj = (json_t *)v;
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t keylen = json_object_iter_key_len(it);
		const json_t *val = json_object_iter_value(it);
		const struct jx_field *f = find(st, key, keylen);
		if (!f)
			return unknown_field(b, st, key, keylen);
		if (json_is_null(val) && (f->flags & JX_NULL))
			continue;
		if (check_kind(b, val, f, f->kind))
			return -EINVAL;
	}
	for (size_t i = 0; i < st->nfields; i++) {
		if ((st->fields[i].flags & JX_REQ) && !json_object_get(v, st->fields[i].name)) {
			jx_sb_printf(b, "missing field `%s`", st->fields[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

int jx_check(const json_t *v, const struct jx_struct *st, char *err, size_t errlen)
{
	struct sb b;
	sb_init(&b, err, errlen);
	if (!v) {
		jx_sb_printf(&b, "invalid type: null, expected struct %s", st->name);
		return -EINVAL;
	}
	return check_struct(&b, v, st) ? -EINVAL : 0;
}
