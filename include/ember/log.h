/* Logging: Firecracker's levels and line format, printf-checked.
 * Line: "<timestamp> [<instance_id>:<thread>:<LEVEL>] message". Default target
 * is stderr (stdout carries the guest's serial console). Safe from any thread. */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_OFF = 0, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Parse "Error|Warning|Warn|Info|Debug|Trace|Off" case-insensitively; -EINVAL otherwise. */
int log_parse_level(const char *s, enum log_level *out);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_id(const char *instance_id);
/* Name of the calling thread in log lines ("main", "vcpu 0", "api"). */
void log_set_thread_name(const char *name);
/* Redirect to a file or FIFO opened for append; 0 or -errno. */
int log_set_path(const char *path);
void log_set_options(bool show_level, bool show_origin);
void log_get_options(bool *show_level, bool *show_origin);
/* Only log lines whose source path (__FILE__, e.g. "src/devices/virtio/")
 * starts with `prefix`: ember's analogue of Firecracker's module-path filter.
 * NULL or "" logs everything. 0 or -ENOMEM. */
int log_set_module(const char *prefix);
/* Totals since start for metrics: lines a failing or full target dropped,
 * and lines held back by log_ratelimited(). */
uint64_t log_missed_count(void);
uint64_t log_rate_limited_count(void);

void log_msg(enum log_level lvl, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The calling thread's most recent log_err() text ("" after a clear),
 * recorded whatever the level filter. */
const char *log_last_error(void);
void log_clear_last_error(void);

#define log_err(...)   log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* Rate limiter for guest-triggerable messages: at most LOG_RL_BURST lines per
 * LOG_RL_WINDOW_S seconds per call site; returns true when this one may log. */
#define LOG_RL_BURST 10
#define LOG_RL_WINDOW_S 5
struct log_rl { long window_start; unsigned count; unsigned suppressed; };
/* The "(N similar messages suppressed)" line goes out at `lvl`, the level
 * of the messages it stands for. */
bool log_rl_allow(struct log_rl *rl, enum log_level lvl);
#define log_ratelimited(lvl, ...)                                            \
	do {                                                                 \
		static struct log_rl rl_;                                    \
		if (log_rl_allow(&rl_, lvl))                                 \
			log_msg(lvl, __FILE__, __LINE__, __VA_ARGS__);       \
	} while (0)

#endif
