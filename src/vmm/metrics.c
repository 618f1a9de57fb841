/* Metrics: the counters, the API request counts and the flush that writes
 * one Firecracker-style JSON line (see metrics.h). Configuration is in
 * metrics_cfg.c. VMM thread only. */
#include "ember/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"
#include "metrics_internal.h"

struct metrics metrics_g;

/* One row per emitted number, in output order; `sub` names the *_agg
 * object a row sits in. Built from the same lists as struct metrics. */
struct row {
	const char *group, *sub, *name;
	size_t off;
	bool gauge;
};

#define ROW_C(g, f) { #g, NULL, #f, offsetof(struct metrics, g.f), false },
#define ROW_S(g, f) { #g, NULL, #f, offsetof(struct metrics, g.f), true },
#define ROW_A(g, f) { #g, #f, "min_us", offsetof(struct metrics, g.f.min_us), true }, \
		    { #g, #f, "max_us", offsetof(struct metrics, g.f.max_us), true }, \
		    { #g, #f, "sum_us", offsetof(struct metrics, g.f.sum_us), false },
#define ROW_GROUP(g, LIST) LIST(g, ROW_C, ROW_S, ROW_A)
static const struct row rows[] = { METRICS_GROUPS(ROW_GROUP) };
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Totals last seen from the collectors, to turn them into deltas. */
static struct metrics last_totals;
static metrics_collect_fn collector;
static void *collector_ctx;
static metrics_extra_fn extra;
static void *extra_ctx;

void metrics_set_extra(metrics_extra_fn fn, void *ctx)
{
	extra = fn;
	extra_ctx = ctx;
}

static uint64_t *cell(struct metrics *m, const struct row *r)
{
	return (uint64_t *)(void *)((char *)m + r->off);
}

void metrics_set_source(metrics_collect_fn collect, void *ctx)
{
	collector = collect;
	collector_ctx = ctx;
}

/* Fold the collectors' running totals into metrics_g as deltas. */
static void absorb_totals(void)
{
	struct metrics tot;

	memset(&tot, 0, sizeof(tot));
	tot.logger.missed_log_count = log_missed_count();
	tot.logger.rate_limited_log_count = log_rate_limited_count();
	if (collector)
		collector(&tot, collector_ctx);
	for (size_t i = 0; i < NROWS; i++) {
		uint64_t t = *cell(&tot, &rows[i]), *prev = cell(&last_totals, &rows[i]);

		if (rows[i].gauge) {
			if (t)
				*cell(&metrics_g, &rows[i]) = t;
			continue;
		}
		/* A total that went down restarted from zero (device rebuilt). */
		*cell(&metrics_g, &rows[i]) += t >= *prev ? t - *prev : t;
		*prev = t;
	}
}

static json_t *num(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Add every group to `root` in table order; -ENOMEM on allocation failure. */
static int add_groups(json_t *root)
{
	json_t *grp = NULL, *sub = NULL;

	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i], *prev = i ? &rows[i - 1] : NULL;
		bool new_grp = !prev || strcmp(r->group, prev->group);

		if (new_grp && json_object_set_new(root, r->group, grp = json_object()))
			return -ENOMEM;
		if (r->sub && (new_grp || !prev->sub || strcmp(r->sub, prev->sub)) &&
		    json_object_set_new(grp, r->sub, sub = json_object()))
			return -ENOMEM;
		if (json_object_set_new(r->sub ? sub : grp, r->name, num(*cell(&metrics_g, r))))
			return -ENOMEM;
	}
	return 0;
}

static json_t *build_line(void)
{
	struct timespec ts;
	json_t *root = json_object();

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!root || json_object_set_new(root, "utc_timestamp_ms",
					 num((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000)))
		goto err;
	if (metrics_tgt.emit_id && json_object_set_new(root, "id", json_string(metrics_tgt.id)))
		goto err;
	/* Shared, not copied: `root` dies on this thread before the flush returns. */
	if (metrics_tgt.props && json_object_set(root, "properties", metrics_tgt.props))
		goto err;
	if (add_groups(root))
		goto err;
	if (extra)
		extra(root, extra_ctx);
	return root;
err:
	json_decref(root);
	return NULL;
}

/* The unwritten tail of a line a full pipe (or disk) cut short. It goes out
 * before any new line, so readers never see a torn or interleaved line; while
 * it cannot, new lines are dropped. Nothing here ever blocks. */
static char *pending;
static size_t pending_len;

static int drain_pending(void)
{
	ssize_t n;

	if (!pending_len)
		return 0;
	n = write(metrics_tgt.fd, pending, pending_len);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	memmove(pending, pending + n, pending_len - (size_t)n);
	pending_len -= (size_t)n;
	return pending_len ? -EAGAIN : 0;
}

/* Write `buf` (owned) with one write(2); keep what did not fit. */
static int put_line(char *buf, size_t len)
{
	int rc = drain_pending();
	ssize_t n;

	if (rc) {
		free(buf);
		return rc;
	}
	n = write(metrics_tgt.fd, buf, len);
	if (n < 0) {
		rc = errno == EWOULDBLOCK ? -EAGAIN : -errno;
		free(buf);
		return rc;
	}
	if ((size_t)n < len) {
		memmove(buf, buf + n, len - (size_t)n);
		free(pending);
		pending = buf;
		pending_len = len - (size_t)n;
		return 0;
	}
	free(buf);
	return 0;
}

void metrics_drop_pending(void)
{
	free(pending);
	pending = NULL;
	pending_len = 0;
}

static void reset_counters(void)
{
	for (size_t i = 0; i < NROWS; i++)
		if (!rows[i].gauge)
			*cell(&metrics_g, &rows[i]) = 0;
}

int metrics_flush(void)
{
	json_t *line;
	char *buf = NULL;
	size_t len = 0;
	int rc = -ENOMEM;

	if (metrics_tgt.fd < 0)
		return -ENOTCONN;
	absorb_totals();
	line = build_line();
	if (line && (len = json_dumpb(line, NULL, 0, JSON_COMPACT)) && (buf = malloc(len + 1)))
		len = json_dumpb(line, buf, len, JSON_COMPACT);
	json_decref(line);
	if (buf) {
		buf[len++] = '\n';
		rc = put_line(buf, len);
	}
	if (!rc) {
		reset_counters();
		return 0;
	}
	metrics_g.logger.missed_metrics_count++;
	if (rc != -EAGAIN)
		metrics_g.logger.metrics_fails++;
	log_ratelimited(LOG_ERROR, "Failed to write metrics: %s", strerror(-rc));
	return rc;
}

/* Route and path spellings -> Firecracker's metric names. */
static const char *canonical(const char *res, char *buf, size_t len)
{
	static const char *const alias[][2] = {
		{ "root", "instance_info" },	   { "machine_config", "machine_cfg" },
		{ "version", "vmm_version" },	   { "drives", "drive" },
		{ "cpu_config", "cpu_cfg" },	   { "network_interfaces", "network" },
		{ "mmds_config", "mmds" },	   { "memory_hotplug", "hotplug_memory" },
	};
	size_t i;

	for (i = 0; res[i] && i + 1 < len; i++)
		buf[i] = res[i] == '-' || res[i] == '/' ? '_' : res[i];
	buf[i] = '\0';
	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (!strcmp(buf, alias[i][0]))
			return alias[i][1];
	return buf;
}

static void bump(const char *group, const char *res, const char *suffix)
{
	char name[96];

	snprintf(name, sizeof(name), "%s_%s", res, suffix);
	for (size_t i = 0; i < NROWS; i++) {
		if (!rows[i].sub && !strcmp(rows[i].group, group) && !strcmp(rows[i].name, name)) {
			(*cell(&metrics_g, &rows[i]))++;
			return;
		}
	}
}

void metrics_count_api(int method, const char *resource, bool failed)
{
	static const char *const groups[] = { "get_api_requests", "put_api_requests",
					      "patch_api_requests" };
	char buf[64];
	const char *res;

	if (method < 0 || method > 2 || !resource)
		return;
	res = canonical(resource, buf, sizeof(buf));
	bump(groups[method], res, "count");
	if (failed)
		bump(groups[method], res, "fails");
}
