/* virtio-balloon statistics: the device holds the one buffer the driver
 * gives it and hands it back every stats_polling_interval_s; the driver
 * refills it with {le16 tag, le64 val} entries and returns it. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ember/log.h"
#include "balloon_internal.h"

#define STAT_SIZE 10u	   /* packed struct virtio_balloon_stat */
#define STATS_MAX 1024u	   /* bytes parsed per buffer; Linux sends <= 160 */

/* Firecracker's BalloonStats names, by virtio tag. */
static const char *const stat_names[BAL_S_NR] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures", "oom_kill", "alloc_stall", "async_scan", "direct_scan",
	"async_reclaim", "direct_reclaim",
};

/* Give the held buffer back so the driver refills it. */
static void give_back(struct balloon_dev *b)
{
	int q = bal_queue_index(b, BQ_STATS);

	if (!b->stats_held || !bal_live(b, q))
		return;
	b->stats_held = false;
	if (virtq_push(&b->vdev.vq[q], b->vdev.gm, b->stats_head, 0) == 0)
		virtio_notify_queue(&b->vdev, (unsigned)q);
}

static void timer_event(struct evloop_handler *h, uint32_t events)
{
	struct balloon_dev *b = h->ctx;
	uint64_t n;

	if (read(b->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "balloon: read(timerfd): %s", strerror(errno));
	balloon_stats_tick(b);
}

void balloon_stats_tick(struct balloon_dev *b)
{
	pthread_mutex_lock(&b->vdev.lock);
	give_back(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

int bal_stats_init(struct balloon_dev *b)
{
	int rc;

	if (!b->interval_s)
		return 0;
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0) {
		rc = -errno;
		log_err("balloon: timerfd_create: %s", strerror(-rc));
		return rc;
	}
	b->timer_h = (struct evloop_handler){ .fd = b->timer_fd, .fn = timer_event, .ctx = b };
	if (b->loop && (rc = evloop_add(b->loop, &b->timer_h, EPOLLIN)) < 0) {
		close(b->timer_fd);
		b->timer_fd = -1;
		return rc;
	}
	b->timer_added = b->loop != NULL;
	return 0;
}

void bal_stats_destroy(struct balloon_dev *b)
{
	if (b->timer_added)
		evloop_del(b->loop, &b->timer_h);
	if (b->timer_fd >= 0)
		close(b->timer_fd);
	b->timer_fd = -1;
}

void bal_stats_arm(struct balloon_dev *b, bool on)
{
	struct itimerspec its = { 0 };

	if (b->timer_fd < 0)
		return;
	if (on && b->interval_s) {
		its.it_value.tv_sec = b->interval_s;
		its.it_interval.tv_sec = b->interval_s;
	}
	if (timerfd_settime(b->timer_fd, 0, &its, NULL) < 0)
		log_warn("balloon: timerfd_settime: %s", strerror(errno));
}

void bal_stats_reset(struct balloon_dev *b)
{
	bal_stats_arm(b, false);
	b->stats_held = false; /* the ring is gone with the reset */
}

/* Readable bytes of the chain, up to STATS_MAX. */
static uint32_t gather(const struct virtq_chain *c, uint8_t *buf)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < c->n && n < STATS_MAX; i++) {
		uint32_t len = c->seg[i].len;

		if (c->seg[i].write)
			continue;
		if (len > STATS_MAX - n)
			len = STATS_MAX - n;
		memcpy(buf + n, c->seg[i].host, len);
		n += len;
	}
	return n;
}

void bal_stats_parse(struct balloon_dev *b, const struct virtq_chain *c)
{
	uint8_t buf[STATS_MAX];
	uint32_t n = gather(c, buf);

	if (n % STAT_SIZE) {
		b->c.stats_update_fails++;
		log_ratelimited(LOG_WARN, "balloon: stats buffer of %u bytes is not a multiple "
				"of %u; tail ignored", n, STAT_SIZE);
	}
	for (uint32_t off = 0; off + STAT_SIZE <= n; off += STAT_SIZE) {
		uint16_t tag;
		uint64_t val;

		memcpy(&tag, buf + off, 2);
		memcpy(&val, buf + off + 2, 8);
		tag = le16toh(tag);
		if (tag >= BAL_S_NR)
			continue; /* a newer driver's tag: not ours to name */
		b->stats[tag] = le64toh(val);
		b->stats_present |= (uint16_t)(1u << tag);
	}
	b->c.stats_updates_count++;
}

void bal_stats_process(struct balloon_dev *b)
{
	struct virtio_dev *d = &b->vdev;
	int q = bal_queue_index(b, BQ_STATS);
	int rc;

	while ((rc = virtq_pop(&d->vq[q], d->gm, &b->chain)) > 0) {
		/* A driver that follows the protocol has one buffer out; an
		 * extra one frees the old. */
		if (b->stats_held && virtq_push(&d->vq[q], d->gm, b->stats_head, 0) == 0)
			virtio_notify_queue(d, (unsigned)q);
		bal_stats_parse(b, &b->chain);
		b->stats_head = b->chain.head;
		b->stats_held = true;
	}
	if (rc < 0) {
		b->c.event_fails++;
		virtio_dev_fail(d, "balloon: malformed stats ring or chain");
	}
}

int balloon_set_stats_interval(struct balloon_dev *b, uint16_t s)
{
	int rc = 0;

	pthread_mutex_lock(&b->vdev.lock);
	if (!b->interval_s != !s) {
		rc = -EINVAL; /* statistics cannot be turned on or off after boot */
	} else if (b->interval_s != s) {
		b->interval_s = s;
		if (bal_live(b, bal_queue_index(b, BQ_STATS)))
			bal_stats_arm(b, true);
	}
	pthread_mutex_unlock(&b->vdev.lock);
	return rc;
}

static json_t *stats_json(const struct balloon_dev *b)
{
	uint64_t target = (uint64_t)b->target_mib * BAL_PAGES_PER_MIB;
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)target,
			      "actual_pages", (json_int_t)b->actual, "target_mib",
			      (json_int_t)b->target_mib, "actual_mib",
			      (json_int_t)(b->actual / BAL_PAGES_PER_MIB));

	for (unsigned t = 0; o && t < BAL_S_NR; t++) {
		if (!(b->stats_present & 1u << t))
			continue;
		/* JSON integers are signed 64-bit; clamp what no guest has. */
		json_int_t v = b->stats[t] > INT64_MAX ? INT64_MAX : (json_int_t)b->stats[t];

		if (json_object_set_new(o, stat_names[t], json_integer(v)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *balloon_stats_json(struct balloon_dev *b)
{
	json_t *o = NULL;

	pthread_mutex_lock(&b->vdev.lock);
	if (b->interval_s)
		o = stats_json(b);
	pthread_mutex_unlock(&b->vdev.lock);
	return o;
}
