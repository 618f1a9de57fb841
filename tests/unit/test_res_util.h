/* Shared fixtures for the test_resources_*.c unit tests: JSON from printf
 * formats (test_util.h), a scratch directory with backing files, fd accounting, and
 * "call, then compare rc and message" helpers. */
#ifndef TEST_RES_UTIL_H
#define TEST_RES_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/resources.h"
#include "test_util.h"

#define DESER "An error occurred when deserializing the json body of a request: "
#define RL_FIELDS "`bandwidth` or `ops`"
#define TB_FIELDS "one of `size`, `one_time_burst`, `refill_time`"

static char err[RES_ERR_LEN];
/* Scratch directory: disk0..disk3 (1 MiB each), ro.img (mode 0444), sub/ (a directory). */
static char dir[64], disk[4][128], ro_img[128], subdir[128];

static inline void expect_at(const char *what, int rc, int want_rc, const char *want_msg)
{
	if (rc != want_rc)
		fail_msg("%s: rc %d, want %d (%s)", what, rc, want_rc, err);
	if (want_msg && strcmp(err, want_msg))
		fail_msg("%s:\n got  \"%s\"\n want \"%s\"", what, err, want_msg);
}

/* Check rc and (when want_msg is not NULL) the exact message; clears err first. */
#define EXPECT(call, want_rc, want_msg)                                 \
	do {                                                            \
		memset(err, 0, sizeof(err));                            \
		expect_at(#call, (call), (want_rc), (want_msg));        \
	} while (0)

static inline int put_drive(struct vm_resources *r, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int put_drive(struct vm_resources *r, const char *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *j = vJ(fmt, ap);
	va_end(ap);
	memset(err, 0, sizeof(err));
	int rc = res_put_drive(r, id, j, err, sizeof(err));
	json_decref(j);
	return rc;
}

/* Apply one body through a res_put_* function that takes (res, body, err, errlen). */
static inline int put_body(int (*fn)(struct vm_resources *, const json_t *, char *, size_t),
			   struct vm_resources *r, const char *body)
{
	json_t *j = J("%s", body);
	memset(err, 0, sizeof(err));
	int rc = fn(r, j, err, sizeof(err));
	json_decref(j);
	return rc;
}

static inline int put_id(int (*fn)(struct vm_resources *, const char *, const json_t *, char *,
				   size_t),
			 struct vm_resources *r, const char *id, const char *body)
{
	json_t *j = J("%s", body);
	memset(err, 0, sizeof(err));
	int rc = fn(r, id, j, err, sizeof(err));
	json_decref(j);
	return rc;
}

static inline bool fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static inline void write_file(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static inline int res_setup(void **state)
{
	strcpy(dir, "/tmp/ember-resdev-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	for (int i = 0; i < 4; i++) {
		snprintf(disk[i], sizeof(disk[i]), "%s/disk%d", dir, i);
		write_file(disk[i], 1 << 20);
	}
	snprintf(ro_img, sizeof(ro_img), "%s/ro.img", dir);
	write_file(ro_img, 4096);
	chmod(ro_img, 0444);
	snprintf(subdir, sizeof(subdir), "%s/sub", dir);
	mkdir(subdir, 0755);
	(void)state;
	return 0;
}

static inline int res_teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)state;
	return system(cmd) == 0 ? 0 : -1;
}

#endif
