/* Strict JSON helpers shared by every config object (config file and API).
 *
 * A request body is checked against a static schema first (jx_check), which
 * reproduces serde's deserialization errors word for word, in serde's order:
 * fields in document order (unknown field, then the value's type/range), then
 * missing required fields in declaration order. Only after that do callers
 * read values, with the jx_get_* accessors, which cannot fail on type.
 *
 * Messages are one line, without serde's " at line L column C" (a jansson tree
 * has no positions). Callers wrap them: the API as
 * JX_DESER_PREFIX "<msg>.", the config file as "Invalid JSON: <msg>". */
#ifndef EMBER_JSON_UTIL_H
#define EMBER_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JX_DESER_PREFIX "An error occurred when deserializing the json body of a request: "

enum jx_kind {
	JX_ANY = 0, /* anything; the caller validates */
	JX_STR,     /* "a string" */
	JX_BOOL,    /* "a boolean" */
	JX_U8, JX_U16, JX_U32, JX_U64, JX_USIZE, JX_I32, JX_I64,
	JX_ENUM,    /* a string naming one of `variants` */
	JX_STRUCT,  /* an object checked against `sub` */
	JX_SEQ,     /* an array of `sub` structs, or of `elem` values when sub is NULL */
};

#define JX_REQ    0x1u /* missing -> "missing field `x`" */
#define JX_NULL   0x2u /* Option<T>: null is accepted and means absent */
#define JX_NUL_OK 0x4u /* JX_STR: embedded NUL bytes are left for the caller to judge */

struct jx_struct;

struct jx_field {
	const char *name;
	enum jx_kind kind;
	unsigned flags;
	const char *const *variants; /* JX_ENUM: NULL-terminated, serde declaration order */
	const struct jx_struct *sub; /* JX_STRUCT; JX_SEQ element struct */
	enum jx_kind elem;           /* JX_SEQ element kind when sub is NULL */
};

struct jx_struct {
	const char *name; /* serde type name: "expected struct <name>" */
	const struct jx_field *fields;
	size_t nfields;
};

#define JX_NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Validate `v` as struct `st`. 0, or -EINVAL with a serde-style message. */
int jx_check(const json_t *v, const struct jx_struct *st, char *err, size_t errlen);

/* Accessors for a checked object: an absent or null field yields `def`. */
const json_t *jx_get(const json_t *obj, const char *name); /* NULL if absent or null */
bool jx_has(const json_t *obj, const char *name);
const char *jx_get_str(const json_t *obj, const char *name, const char *def);
bool jx_get_bool(const json_t *obj, const char *name, bool def);
uint64_t jx_get_uint(const json_t *obj, const char *name, uint64_t def);
int64_t jx_get_int(const json_t *obj, const char *name, int64_t def);
/* Index of the field's value in `variants`, or `def`. */
int jx_get_enum(const json_t *obj, const char *name, const char *const *variants, int def);
int jx_enum_index(const char *const *variants, const char *s);

/* Parse the JSON document read from `fd` through a stdio buffer (jansson's
 * own json_loadfd reads one byte per syscall). Takes ownership of fd. */
json_t *jx_load_fd(int fd, size_t flags, json_error_t *je);

/* serde's description of an unexpected value: "integer `5`", "string \"x\"",
 * "boolean `true`", "floating point `2.5`", "null", "map", "sequence". */
void jx_describe(const json_t *v, char *buf, size_t len);

/* snprintf into err (NULL/0 tolerated); returns -EINVAL for `return jx_err(...)`. */
int jx_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Rewrite err in place as prefix + err + suffix, truncating at errlen. */
void jx_wrap(char *err, size_t errlen, const char *prefix, const char *suffix);

#endif
