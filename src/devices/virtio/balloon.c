/* virtio-balloon device model: features, config space, queue numbering,
 * lifecycle, PATCH, GET /balloon, metrics. Page queues are balloon_pages.c,
 * statistics balloon_stats.c. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "ember/guest_mem.h"
#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/resources.h"
#include "balloon_internal.h"

/* Firecracker's config space: num_pages, actual, free_page_hint_cmd_id. */
#define CONFIG_SIZE 12u
#define ACTUAL_OFF 4u

static bool acked(const struct balloon_dev *b, unsigned bit)
{
	return b->vdev.acked & 1ull << bit;
}

/* Linux init_vqs(): the queues of the negotiated features, numbered
 * consecutively in the order inflate, deflate, stats, (hinting), reporting. */
enum bal_queue bal_queue_role(const struct balloon_dev *b, unsigned q)
{
	unsigned next = 2;

	if (q < 2)
		return q == 0 ? BQ_INFLATE : BQ_DEFLATE;
	if (acked(b, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return BQ_STATS;
	if (acked(b, VIRTIO_BALLOON_F_REPORTING) && q == next)
		return BQ_REPORT;
	return BQ_NONE;
}

int bal_queue_index(const struct balloon_dev *b, enum bal_queue role)
{
	for (unsigned q = 0; q < b->ops.nr_queues; q++)
		if (bal_queue_role(b, q) == role)
			return (int)q;
	return -1;
}

bool bal_live(const struct balloon_dev *b, int q)
{
	const struct virtio_dev *d = &b->vdev;

	return (d->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)) ==
		       VIRTIO_CONFIG_S_DRIVER_OK &&
	       !d->broken && q >= 0 && d->vq[q].ready;
}

static uint64_t features(struct virtio_dev *d)
{
	struct balloon_dev *b = d->priv;
	uint64_t f = 1ull << VIRTIO_F_VERSION_1;

	if (b->deflate_on_oom)
		f |= 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (b->interval_s)
		f |= 1ull << VIRTIO_BALLOON_F_STATS_VQ;
	if (b->reporting)
		f |= 1ull << VIRTIO_BALLOON_F_REPORTING;
	return f;
}

static uint32_t config_size(struct virtio_dev *d)
{
	return CONFIG_SIZE;
}

static void config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct balloon_dev *b = d->priv;
	uint32_t cfg[3] = { htole32(b->target_mib * BAL_PAGES_PER_MIB), htole32(b->actual), 0 };

	memcpy(data, (uint8_t *)cfg + off, len); /* the transport checked off+len */
}

/* Only `actual` is the driver's to write. */
static void config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct balloon_dev *b = d->priv;
	uint32_t v = htole32(b->actual);

	if (off < ACTUAL_OFF || off + len > ACTUAL_OFF + 4) {
		log_ratelimited(LOG_WARN, "balloon: config write of %u bytes at %#x outside "
				"`actual` ignored", len, off);
		return;
	}
	memcpy((uint8_t *)&v + (off - ACTUAL_OFF), data, len);
	b->actual = le32toh(v);
}

static int activate(struct virtio_dev *d)
{
	struct balloon_dev *b = d->priv;
	int last = 1;

	if (acked(b, VIRTIO_BALLOON_F_STATS_VQ))
		last++;
	if (acked(b, VIRTIO_BALLOON_F_REPORTING))
		last++;
	for (int q = 0; q <= last; q++) {
		if (!d->vq[q].ready) {
			log_warn("balloon: queue %d not ready at DRIVER_OK", q);
			b->c.activate_fails++;
			return -EINVAL;
		}
	}
	if (acked(b, VIRTIO_BALLOON_F_STATS_VQ)) {
		/* Linux's driver primes the stats queue with its first buffer
		 * in init_vqs(), before DRIVER_OK, and the transport drops
		 * that kick: take the buffer now, or no statistics ever flow
		 * (seen in the lab with Debian's 6.1 kernel). */
		bal_stats_process(b);
		bal_stats_arm(b, true);
	}
	return 0;
}

static void reset(struct virtio_dev *d)
{
	struct balloon_dev *b = d->priv;

	bal_stats_reset(b);
	b->actual = 0; /* a reset driver holds no pages in its balloon */
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct balloon_dev *b = d->priv;
	enum bal_queue role = bal_queue_role(b, q);

	if (role == BQ_STATS) {
		bal_stats_process(b);
	} else if (role == BQ_NONE) {
		b->c.event_fails++;
		log_ratelimited(LOG_WARN, "balloon: kick of queue %u, which the negotiated "
				"features do not use", q);
	} else {
		bal_pages_notify(b, role, q);
	}
}

static const struct virtio_dev_ops balloon_ops = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.features = features,
	.config_size = config_size,
	.config_read = config_read,
	.config_write = config_write,
	.activate = activate,
	.reset = reset,
	.notify = notify,
};

static int check_cfg(const struct res_balloon *cfg, const struct guest_mem *gm)
{
	if (cfg->free_page_hinting) {
		log_err("balloon: free_page_hinting is not supported by ember; disable it");
		return -ENOTSUP;
	}
	if (cfg->amount_mib > gm->ram_size >> 20) {
		log_err("balloon: amount_mib %u exceeds guest memory", cfg->amount_mib);
		return -EINVAL;
	}
	return 0;
}

int balloon_create(struct balloon_dev **out, const struct res_balloon *cfg,
		   struct guest_mem *gm, struct evloop *loop, uint64_t mmio_base, unsigned irq,
		   int irq_fd)
{
	struct balloon_dev *b;
	int rc = check_cfg(cfg, gm);

	if (rc)
		return rc;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = loop;
	b->deflate_on_oom = cfg->deflate_on_oom;
	b->reporting = cfg->free_page_reporting;
	b->target_mib = cfg->amount_mib;
	b->interval_s = cfg->stats_polling_interval_s;
	b->timer_fd = -1;
	b->ops = balloon_ops;
	b->ops.nr_queues = 2 + (b->interval_s != 0) + b->reporting;
	rc = virtio_dev_init(&b->vdev, &b->ops, b, gm, mmio_base, irq, irq_fd);
	if (rc)
		goto err_free;
	rc = bal_stats_init(b);
	if (rc)
		goto err_dev;
	*out = b;
	return 0;
err_dev:
	virtio_dev_destroy(&b->vdev);
err_free:
	free(b);
	return rc;
}

struct virtio_dev *balloon_virtio(struct balloon_dev *b)
{
	return &b->vdev;
}

unsigned balloon_nr_queues(struct balloon_dev *b)
{
	return b->ops.nr_queues;
}

int balloon_set_target(struct balloon_dev *b, uint32_t amount_mib)
{
	if (amount_mib > b->vdev.gm->ram_size >> 20)
		return -EINVAL;
	pthread_mutex_lock(&b->vdev.lock);
	b->target_mib = amount_mib;
	/* Only a driven device gets the interrupt; a driver that reads the
	 * config later sees the new value anyway. */
	if (b->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_config_changed(&b->vdev);
	else
		b->vdev.config_gen++;
	pthread_mutex_unlock(&b->vdev.lock);
	return 0;
}

json_t *balloon_config_json(struct balloon_dev *b)
{
	json_t *o;

	pthread_mutex_lock(&b->vdev.lock);
	o = json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib", (json_int_t)b->target_mib,
		      "deflate_on_oom", b->deflate_on_oom, "stats_polling_interval_s",
		      (json_int_t)b->interval_s, "free_page_hinting", 0,
		      "free_page_reporting", b->reporting);
	pthread_mutex_unlock(&b->vdev.lock);
	return o;
}

void balloon_get_counters(struct balloon_dev *b, struct balloon_counters *out)
{
	pthread_mutex_lock(&b->vdev.lock);
	*out = b->c;
	pthread_mutex_unlock(&b->vdev.lock);
}

void balloon_add_metrics(struct balloon_dev *b, struct metrics *m)
{
	struct balloon_counters c;

	balloon_get_counters(b, &c);
	m->balloon.activate_fails += c.activate_fails;
	m->balloon.inflate_count += c.inflate_count;
	m->balloon.deflate_count += c.deflate_count;
	m->balloon.stats_updates_count += c.stats_updates_count;
	m->balloon.stats_update_fails += c.stats_update_fails;
	m->balloon.event_fails += c.event_fails;
	m->balloon.free_page_report_count += c.free_page_report_count;
	m->balloon.free_page_report_freed += c.free_page_report_freed;
	m->balloon.free_page_report_fails += c.free_page_report_fails;
}

void balloon_destroy(struct balloon_dev *b)
{
	if (!b)
		return;
	bal_stats_destroy(b);
	virtio_dev_destroy(&b->vdev);
	free(b);
}
