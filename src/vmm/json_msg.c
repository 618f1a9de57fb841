/* serde's message texts (see json_util.h): Rust's Debug escaping, serde_json's
 * float layout, value descriptions, "one of" lists, and the err buffer
 * helpers every config object uses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

void jx_sb_printf(struct sb *b, const char *fmt, ...)
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
void jx_sb_escaped(struct sb *b, const char *s, size_t n, bool quote)
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
				jx_sb_printf(b, "\\u{%x}", c);
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
		jx_sb_printf(b, "%.*f", frac, d);
		if (!frac)
			sb_puts(b, ".0");
		return;
	}
	if (x)
		*x = '\0';
	jx_sb_printf(b, "%se%d", e, exp);
}

void jx_sb_describe(struct sb *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: sb_puts(b, "map"); break;
	case JSON_ARRAY: sb_puts(b, "sequence"); break;
	case JSON_STRING:
		sb_puts(b, "string ");
		jx_sb_escaped(b, json_string_value(v), json_string_length(v), true);
		break;
	case JSON_INTEGER:
		jx_sb_printf(b, "integer `%" JSON_INTEGER_FORMAT "`", json_integer_value(v));
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
		jx_sb_describe(&b, v);
	else
		sb_puts(&b, "null");
}

/* serde's OneOf: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". `base` points at
 * the first name, the others follow every `stride` bytes, so both a variant
 * list and the names inside a jx_field array can be listed. */
void jx_sb_one_of(struct sb *b, const void *base, size_t stride, size_t n)
{
	if (n > 2)
		sb_puts(b, "one of ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_puts(b, n == 2 ? " or " : ", ");
		jx_sb_printf(b, "`%s`", *(const char *const *)((const char *)base + i * stride));
	}
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
