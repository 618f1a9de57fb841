/* Small helpers any unit test may share: JSON bodies built from text or
 * printf formats, one-byte port I/O through a bus handler, an eventfd's
 * count, and the number of open fds. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ember/bus.h"

/* Parse `s` (any JSON value, NULs allowed) or fail the test. */
static inline json_t *jparse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!j)
		fail_msg("bad test JSON %s: %s", s, e.text);
	return j;
}

static inline json_t *vJ(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static inline json_t *vJ(const char *fmt, va_list ap)
{
	char buf[16384];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	return jparse(buf);
}

static inline json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline json_t *J(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *j = vJ(fmt, ap);
	va_end(ap);
	return j;
}

/* fn(body, err, errlen) on the JSON `fmt` formats to; err is cleared first. */
static inline int vcall_body(int (*fn)(const json_t *, char *, size_t), char *err,
			     size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static inline int vcall_body(int (*fn)(const json_t *, char *, size_t), char *err,
			     size_t errlen, const char *fmt, va_list ap)
{
	json_t *j = vJ(fmt, ap);
	memset(err, 0, errlen);
	int rc = fn(j, err, errlen);
	json_decref(j);
	return rc;
}

static inline void io_wr(bus_fn fn, void *ctx, uint64_t off, uint8_t v)
{
	fn(ctx, off, &v, 1, true);
}

/* A one-byte read; 0x5a shows through if the handler leaves it alone. */
static inline uint8_t io_rd(bus_fn fn, void *ctx, uint64_t off)
{
	uint8_t v = 0x5a;

	fn(ctx, off, &v, 1, false);
	return v;
}

/* Interrupt edges signalled on a non-blocking eventfd since the last call. */
static inline uint64_t efd_take(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static inline int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif
