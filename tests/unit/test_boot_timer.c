/* boot_timer.c: the magic write logs Firecracker's Guest-boot-time line. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ember/boot_timer.h"
#include "ember/log.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/ember-boot-timer-XXXXXX");
	fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	log_set_level(LOG_INFO);
	return log_set_path(path) ? -1 : 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static size_t slurp(char *buf, size_t max)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, max - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return n;
}

static void poke(struct boot_timer *bt, uint64_t off, uint8_t v, uint32_t len)
{
	uint8_t d[4] = { v, 0, 0, 0 };

	boot_timer_io(bt, off, d, len, true);
}

static void test_ignored_accesses(void **state)
{
	struct boot_timer bt;
	char buf[256];
	uint8_t d[4] = { 1, 2, 3, 4 };

	boot_timer_start(&bt);
	poke(&bt, 0, BOOT_TIMER_MAGIC - 1, 1); /* wrong value */
	poke(&bt, 1, BOOT_TIMER_MAGIC, 1);     /* wrong offset */
	poke(&bt, 0, BOOT_TIMER_MAGIC, 4);     /* wrong width */
	boot_timer_io(&bt, 0, d, 4, false);
	assert_memory_equal(d, "\0\0\0\0", 4); /* reads are 0 */
	assert_int_equal(slurp(buf, sizeof(buf)), 0);
}

static void test_logs_line(void **state)
{
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 20 * 1000 * 1000 };
	unsigned long long us, ms, cpu_us, cpu_ms;
	struct boot_timer bt;
	regmatch_t m[2];
	regex_t re;
	char buf[1024];

	boot_timer_start(&bt);
	assert_true(bt.start_wall_us > 0);
	nanosleep(&nap, NULL);
	poke(&bt, 0, BOOT_TIMER_MAGIC, 1);
	assert_true(slurp(buf, sizeof(buf)) > 0);
	/* Firecracker's integration tests parse with this expression. */
	assert_int_equal(regcomp(&re, "\\[[^]]*:INFO\\] (Guest-boot-time = +[0-9]+ us [0-9]+ ms, "
				 " *[0-9]+ CPU us [0-9]+ CPU ms)\n$",
				 REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, buf, 2, m, 0), 0);
	regfree(&re);
	assert_int_equal(sscanf(buf + m[1].rm_so,
				"Guest-boot-time = %llu us %llu ms, %llu CPU us %llu CPU ms",
				&us, &ms, &cpu_us, &cpu_ms), 4);
	assert_true(us >= 20000 && us < 10 * 1000 * 1000);
	assert_int_equal(ms, us / 1000);
	assert_int_equal(cpu_ms, cpu_us / 1000);
	assert_true(cpu_us <= us + 1000); /* one thread, mostly asleep */
}

/* A guest writing the magic in a loop cannot flood the host's log. */
static void test_flood_rate_limited(void **state)
{
	struct boot_timer bt;
	static char buf[64 * 1024];
	int lines = 0;

	boot_timer_start(&bt);
	for (int i = 0; i < 200; i++)
		poke(&bt, 0, BOOT_TIMER_MAGIC, 1);
	slurp(buf, sizeof(buf));
	for (const char *p = buf; (p = strstr(p, "Guest-boot-time")); p++)
		lines++;
	assert_true(lines >= 1 && lines <= LOG_RL_BURST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ignored_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_rate_limited, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
