/* Strict JSON checking with serde's error texts (see json_util.h). */
#include "ember/json_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounded string builder over a caller's buffer: output is always
 * NUL-terminated and silently truncated, so messages can never overflow. */
struct sb {
	char *p;
	size_t cap, len;
};

static void sb_init(struct sb *b, char *p, size_t cap)
{
	b->p = cap ? p : NULL;
	b->cap = b->p ? cap : 0;
	b->len = 0;
	if (b->cap)
		b->p[0] = '\0';
}

static void sb_putn(struct sb *b, const char *s, size_t n)
{
	if (!b->cap)
		return;
	size_t room = b->cap - 1 - b->len;
	if (n > room)
		n = room;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static __attribute__((format(printf, 2, 3))) void sb_printf(struct sb *b, const char *fmt, ...)
{
	if (!b->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - 1 - b->len;
}

/* Rust's str Debug escaping (serde prints strings with {:?}); with `quote`
 * false it only escapes, which keeps user-supplied names on one line. */
static void sb_escaped(struct sb *b, const char *s, size_t n, bool quote)
{
	if (quote)
		sb_puts(b, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '\t': sb_puts(b, "\\t"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\0': sb_puts(b, "\\0"); break;
		case '\\': sb_puts(b, quote ? "\\\\" : "\\"); break;
		case '"': sb_puts(b, quote ? "\\\"" : "\""); break;
		default:
			if (c < 0x20 || c == 0x7f)
				sb_printf(b, "\\u{%x}", c);
			else
				sb_putn(b, (const char *)&c, 1);
		}
	}
	if (quote)
		sb_puts(b, "\"");
}

/* Shortest digits that read back as `d`, laid out like serde_json's float
 * formatting: plain with ".0" for whole numbers when the decimal exponent is
 * in [-5, 16), else "1.5e-7" / "1e20" (no '+', no leading zeros). */
static void put_real(struct sb *b, double d)
{
	char e[40];
	int prec = 0;
	for (; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, d);
		if (strtod(e, NULL) == d)
			break;
	}
	char *x = strchr(e, 'e');
	int exp = x ? atoi(x + 1) : 0;
	if (exp >= -5 && exp < 16) {
		int frac = prec - exp > 0 ? prec - exp : 0;
		sb_printf(b, "%.*f", frac, d);
		if (!frac)
			sb_puts(b, ".0");
		return;
	}
	if (x)
		*x = '\0';
	sb_printf(b, "%se%d", e, exp);
}

static void describe(struct sb *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: sb_puts(b, "map"); break;
	case JSON_ARRAY: sb_puts(b, "sequence"); break;
	case JSON_STRING:
		sb_puts(b, "string ");
		sb_escaped(b, json_string_value(v), json_string_length(v), true);
		break;
	case JSON_INTEGER:
		sb_printf(b, "integer `%" JSON_INTEGER_FORMAT "`", json_integer_value(v));
		break;
	case JSON_REAL:
		sb_puts(b, "floating point `");
		put_real(b, json_real_value(v));
		sb_puts(b, "`");
		break;
	case JSON_TRUE: sb_puts(b, "boolean `true`"); break;
	case JSON_FALSE: sb_puts(b, "boolean `false`"); break;
	default: sb_puts(b, "null"); break;
	}
}

void jx_describe(const json_t *v, char *buf, size_t len)
{
	struct sb b;
	sb_init(&b, buf, len);
	if (v)
		describe(&b, v);
	else
		sb_puts(&b, "null");
}

/* serde's OneOf: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". `base` points at
 * the first name, the others follow every `stride` bytes, so both a variant
 * list and the names inside a jx_field array can be listed. */
static void one_of(struct sb *b, const void *base, size_t stride, size_t n)
{
	if (n > 2)
		sb_puts(b, "one of ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_puts(b, n == 2 ? " or " : ", ");
		sb_printf(b, "`%s`", *(const char *const *)((const char *)base + i * stride));
	}
}

static size_t count(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int jx_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void jx_wrap(char *err, size_t errlen, const char *prefix, const char *suffix)
{
	if (!err || !errlen)
		return;
	size_t room = errlen - 1, pl = strlen(prefix), sl = strlen(suffix);
	size_t ml = strnlen(err, room);
	if (pl > room)
		pl = room;
	if (ml > room - pl)
		ml = room - pl;
	memmove(err + pl, err, ml);
	memcpy(err, prefix, pl);
	if (sl > room - pl - ml)
		sl = room - pl - ml;
	memcpy(err + pl + ml, suffix, sl);
	err[pl + ml + sl] = '\0';
}

/* "invalid type: <what v is>, expected <exp>" */
static int bad_type(struct sb *b, const json_t *v, const char *exp)
{
	sb_puts(b, "invalid type: ");
	describe(b, v);
	sb_printf(b, ", expected %s", exp);
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
		sb_printf(b, "invalid value: integer `%" JSON_INTEGER_FORMAT "`, expected %s", i,
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
		describe(b, v);
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
		describe(b, v);
		sb_puts(b, ", expected ");
		one_of(b, variants, sizeof(*variants), n);
		return -EINVAL;
	}
	if (jx_enum_index(variants, json_string_value(v)) >= 0 &&
	    strlen(json_string_value(v)) == json_string_length(v))
		return 0;
	sb_puts(b, "unknown variant `");
	sb_escaped(b, json_string_value(v), json_string_length(v), false);
	if (n) {
		sb_puts(b, "`, expected ");
		one_of(b, variants, sizeof(*variants), n);
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
	sb_escaped(b, key, keylen, false);
	if (!st->nfields) {
		sb_puts(b, "`, there are no fields");
		return -EINVAL;
	}
	sb_puts(b, "`, expected ");
	one_of(b, &st->fields[0].name, sizeof(st->fields[0]), st->nfields);
	return -EINVAL;
}

/* serde's order: each present field in document order (name, then value),
 * then the required fields that are missing, in declaration order. */
static int check_struct(struct sb *b, const json_t *v, const struct jx_struct *st)
{
	if (!json_is_object(v)) {
		sb_puts(b, "invalid type: ");
		describe(b, v);
		sb_printf(b, ", expected struct %s", st->name);
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
			sb_printf(b, "missing field `%s`", st->fields[i].name);
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
		sb_printf(&b, "invalid type: null, expected struct %s", st->name);
		return -EINVAL;
	}
	return check_struct(&b, v, st) ? -EINVAL : 0;
}
