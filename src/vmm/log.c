/* Logger: Firecracker's line format "<ts> [<id>:<thread>:<LEVEL>] msg". */
#include "ember/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum log_level cur_level = LOG_INFO;
static int log_fd = STDERR_FILENO;
static char inst_id[65] = "anonymous-instance";
static bool show_level = true, show_origin;
static _Thread_local char thread_name[16] = "main";
/* Source-path prefix filter (PUT /logger "module"); NULL logs everything.
 * Set on the VMM thread, read by every thread through an atomic pointer. */
static _Atomic(const char *) module_filter;
/* Lines lost to a failing/full target and lines held back by rate limiting,
 * read by the metrics flush (logger.missed_log_count, rate_limited_log_count). */
static atomic_uint_fast64_t missed_lines, rl_suppressed;
/* The calling thread's last error message, whatever the level filter:
 * callers that report a failure upward (InstanceStart's fault_message, the
 * --no-api exit line) quote it instead of a bare strerror. */
static _Thread_local char last_error[256];

static const char *const level_names[] = {
	[LOG_OFF] = "OFF",     [LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO",   [LOG_DEBUG] = "DEBUG", [LOG_TRACE] = "TRACE",
};

int log_parse_level(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level lvl; } map[] = {
		{ "off", LOG_OFF },	{ "error", LOG_ERROR }, { "warning", LOG_WARN },
		{ "warn", LOG_WARN },	{ "info", LOG_INFO },	{ "debug", LOG_DEBUG },
		{ "trace", LOG_TRACE },
	};
	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcasecmp(s, map[i].name)) {
			*out = map[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_level(enum log_level lvl) { cur_level = lvl; }
enum log_level log_get_level(void) { return cur_level; }
void log_set_options(bool level, bool origin) { show_level = level; show_origin = origin; }

void log_get_options(bool *level, bool *origin)
{
	*level = show_level;
	*origin = show_origin;
}

void log_set_id(const char *id)
{
	snprintf(inst_id, sizeof(inst_id), "%s", id);
}

void log_set_thread_name(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
}

int log_set_path(const char *path)
{
	/* O_RDWR as Firecracker: a FIFO with no reader yet opens (O_WRONLY would
	 * fail with ENXIO) and a reader going away never raises SIGPIPE. */
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);

	if (fd < 0)
		return -errno;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

/* Every filter string ever set stays on this list (reachable, never freed):
 * a thread still comparing against an older filter keeps valid memory. */
struct module_str {
	struct module_str *next;
	char s[];
};
static struct module_str *module_strs;

int log_set_module(const char *prefix)
{
	struct module_str *m = NULL;

	if (prefix && *prefix) {
		size_t len = strlen(prefix) + 1;
		if (!(m = malloc(sizeof(*m) + len)))
			return -ENOMEM;
		memcpy(m->s, prefix, len);
		m->next = module_strs;
		module_strs = m;
	}
	atomic_store(&module_filter, m ? m->s : NULL);
	return 0;
}

uint64_t log_missed_count(void) { return atomic_load(&missed_lines); }
uint64_t log_rate_limited_count(void) { return atomic_load(&rl_suppressed); }

static bool module_allows(const char *file)
{
	const char *m = atomic_load(&module_filter);

	return !m || !strncmp(file, m, strlen(m));
}

void log_msg(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lvl == LOG_ERROR) {
		va_start(ap, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
	}
	if (lvl == LOG_OFF || lvl > cur_level || !module_allows(file))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%09ld [%s:%s", ts.tv_nsec, inst_id,
			      thread_name);
	if (show_level && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%s", level_names[lvl]);
	if (show_origin && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%s:%d", file, line);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "] ");
	if (n < sizeof(buf)) {
		va_start(ap, fmt);
		n += (size_t)vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
	}
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2; /* truncated: keep the newline */
	buf[n++] = '\n';
	/* One write() per line keeps lines from different threads whole. */
	if (write(log_fd, buf, n) != (ssize_t)n) {
		/* Nowhere left to report a failing logger: drop and count the line. */
		atomic_fetch_add(&missed_lines, 1);
	}
}

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = 0;
}

bool log_rl_allow(struct log_rl *rl, enum log_level lvl)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	/* Racy between threads by design: a few extra lines beat a lock here. */
	if (ts.tv_sec - rl->window_start >= LOG_RL_WINDOW_S) {
		if (rl->suppressed)
			log_msg(lvl, __FILE__, __LINE__, "(%u similar messages suppressed)",
				rl->suppressed);
		rl->window_start = ts.tv_sec;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < LOG_RL_BURST) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	atomic_fetch_add(&rl_suppressed, 1);
	return false;
}
