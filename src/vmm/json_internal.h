/* Shared by json_util.c (the schema checker) and json_msg.c (serde's
 * message texts): the bounded string builder both write messages with. */
#ifndef EMBER_JSON_INTERNAL_H
#define EMBER_JSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "ember/json_util.h"

/* Bounded string builder over a caller's buffer: output is always
 * NUL-terminated and silently truncated, so messages can never overflow. */
struct sb {
	char *p;
	size_t cap, len;
};

static inline void sb_init(struct sb *b, char *p, size_t cap)
{
	b->p = cap ? p : NULL;
	b->cap = b->p ? cap : 0;
	b->len = 0;
	if (b->cap)
		b->p[0] = '\0';
}

static inline void sb_putn(struct sb *b, const char *s, size_t n)
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

static inline void sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void jx_sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rust's str Debug escaping of s[0..n), quoted or not. */
void jx_sb_escaped(struct sb *b, const char *s, size_t n, bool quote);
/* What serde calls `v` in "invalid type: <it>" (see jx_describe). */
void jx_sb_describe(struct sb *b, const json_t *v);
/* serde's OneOf over n names, the first at `base`, one every `stride` bytes. */
void jx_sb_one_of(struct sb *b, const void *base, size_t stride, size_t n);

#endif
