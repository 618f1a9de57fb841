/* virtio-blk device model: features, config space, lifecycle, PATCH,
 * metrics. Requests are block_req.c, the engines block_io.c. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "ember/log.h"
#include "ember/metrics.h"
#include "block_internal.h"

/* What a backing file gives the guest: capacity and GET_ID serial. */
struct disk {
	uint64_t nsectors;
	uint8_t id[VIRTIO_BLK_ID_BYTES];
};

static int disk_probe(int fd, struct disk *dk)
{
	struct stat st;
	uint64_t size;
	char id[3 * 21];
	int n;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		log_err("block: fstat: %s", strerror(e));
		return -e;
	}
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0) {
		int e = errno;

		log_err("block: ioctl(BLKGETSIZE64): %s", strerror(e));
		return -e;
	}
	if (size % BLK_SECTOR_SIZE)
		log_warn("block: size %llu is not a multiple of %u; the tail is not visible",
			 (unsigned long long)size, BLK_SECTOR_SIZE);
	dk->nsectors = size >> BLK_SECTOR_SHIFT;
	/* kvmtool's (and Firecracker's) serial: dev, rdev, inode in decimal. */
	n = snprintf(id, sizeof(id), "%llu%llu%llu", (unsigned long long)st.st_dev,
		     (unsigned long long)st.st_rdev, (unsigned long long)st.st_ino);
	memset(dk->id, 0, sizeof(dk->id));
	memcpy(dk->id, id, (size_t)n < sizeof(dk->id) ? (size_t)n : sizeof(dk->id));
	return 0;
}

static uint64_t features(struct virtio_dev *d)
{
	struct blk_dev *b = d->priv;
	uint64_t f = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX;

	if (b->writeback)
		f |= 1ull << VIRTIO_BLK_F_FLUSH;
	if (b->read_only)
		f |= 1ull << VIRTIO_BLK_F_RO;
	return f;
}

static uint32_t config_size(struct virtio_dev *d)
{
	return sizeof(struct virtio_blk_config);
}

static void config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct blk_dev *b = d->priv;
	struct virtio_blk_config cfg = { .capacity = htole64(b->nsectors) };

	memcpy(data, (uint8_t *)&cfg + off, len); /* the transport checked off+len */
}

static void reset(struct virtio_dev *d)
{
	struct blk_dev *b = d->priv;

	blk_aio_drain(b);
	b->io_throttled = false;
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct blk_dev *b = d->priv;

	b->st.queue_event_count++;
	if (rl_is_blocked(&b->rl)) {
		b->st.rate_limiter_throttled_events++;
	} else if (b->io_throttled) {
		b->st.io_engine_throttled_events++;
		blk_aio_kick(b); /* in case an earlier submit failed */
	} else {
		blk_process_queue(b);
	}
}

static const struct virtio_dev_ops blk_ops = {
	.name = "block",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.features = features,
	.config_size = config_size,
	.config_read = config_read,
	.reset = reset,
	.notify = notify,
};

/* The rate limiter's timerfd fired: go on where it stopped us. */
static void rl_event(struct evloop_handler *h, uint32_t events)
{
	struct blk_dev *b = h->ctx;

	pthread_mutex_lock(&b->vdev.lock);
	b->st.rate_limiter_event_count++;
	if (rl_timer_event(&b->rl) && blk_live(b))
		blk_process_queue(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

static int open_backend(struct blk_dev *b, const struct res_drive *cfg)
{
	struct disk dk;
	int rc;

	b->fd = fcntl(cfg->fd, F_DUPFD_CLOEXEC, 0);
	if (b->fd < 0) {
		rc = -errno;
		log_err("block '%s': fcntl(F_DUPFD_CLOEXEC): %s", cfg->id, strerror(-rc));
		return rc;
	}
	rc = disk_probe(b->fd, &dk);
	if (rc) {
		close(b->fd);
		return rc;
	}
	b->nsectors = dk.nsectors;
	memcpy(b->id, dk.id, sizeof(b->id));
	return 0;
}

int blk_create(struct blk_dev **out, const struct res_drive *cfg, struct guest_mem *gm,
	       struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return -ENOMEM;
	b->loop = loop;
	b->read_only = cfg->read_only;
	b->writeback = cfg->cache == RES_CACHE_WRITEBACK;
	b->engine = cfg->engine;
	rc = open_backend(b, cfg);
	if (rc)
		goto err_free;
	rc = rl_init(&b->rl, &cfg->rl);
	if (rc)
		goto err_fd;
	rc = virtio_dev_init(&b->vdev, &blk_ops, b, gm, mmio_base, irq, irq_fd);
	if (rc)
		goto err_rl;
	b->rl_h = (struct evloop_handler){ .fd = rl_timer_fd(&b->rl), .fn = rl_event, .ctx = b };
	if (loop && (rc = evloop_add(loop, &b->rl_h, EPOLLIN)) < 0)
		goto err_dev;
	b->rl_added = loop != NULL;
	if (b->engine == RES_IO_ASYNC && (rc = blk_aio_init(b)) < 0)
		goto err_loop;
	*out = b;
	return 0;
err_loop:
	if (b->rl_added)
		evloop_del(loop, &b->rl_h);
err_dev:
	virtio_dev_destroy(&b->vdev);
err_rl:
	rl_destroy(&b->rl);
err_fd:
	close(b->fd);
err_free:
	free(b);
	return rc;
}

struct virtio_dev *blk_virtio(struct blk_dev *b)
{
	return &b->vdev;
}

/* New backing file: in-flight Async I/O holds its own reference to the old
 * one (taken at submission), so closing it here is safe. */
static int swap_backend(struct blk_dev *b, struct res_drive_update *u)
{
	struct disk dk;
	int rc = disk_probe(u->fd, &dk);

	if (rc)
		return rc;
	blk_aio_kick(b); /* queued SQEs name the old fd by number */
	close(b->fd);
	b->fd = u->fd;
	u->fd = -1;
	b->nsectors = dk.nsectors;
	memcpy(b->id, dk.id, sizeof(b->id));
	/* Only a driven device gets the interrupt; a driver that reads the
	 * config later sees the new generation anyway. */
	if (b->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_config_changed(&b->vdev);
	else
		b->vdev.config_gen++;
	b->st.update_count++;
	return 0;
}

int blk_patch(struct blk_dev *b, struct res_drive_update *u)
{
	int rc = 0;

	pthread_mutex_lock(&b->vdev.lock);
	if (u->fd >= 0 && (rc = swap_backend(b, u)) < 0)
		b->st.update_fails++;
	if (!rc && u->has_rl)
		rc = rl_update(&b->rl, &u->rl);
	pthread_mutex_unlock(&b->vdev.lock);
	return rc;
}

void blk_get_stats(struct blk_dev *b, struct blk_stats *out)
{
	pthread_mutex_lock(&b->vdev.lock);
	*out = b->st;
	pthread_mutex_unlock(&b->vdev.lock);
}

void blk_add_metrics(struct blk_dev *b, struct metrics *m)
{
	struct blk_stats s;

	blk_get_stats(b, &s);
	m->block.read_bytes += s.read_bytes;
	m->block.write_bytes += s.write_bytes;
	m->block.read_count += s.read_count;
	m->block.write_count += s.write_count;
	m->block.flush_count += s.flush_count;
	m->block.invalid_reqs_count += s.invalid_reqs_count;
	m->block.execute_fails += s.execute_fails;
	m->block.queue_event_count += s.queue_event_count;
	m->block.rate_limiter_event_count += s.rate_limiter_event_count;
	m->block.rate_limiter_throttled_events += s.rate_limiter_throttled_events;
	m->block.io_engine_throttled_events += s.io_engine_throttled_events;
	m->block.update_count += s.update_count;
	m->block.update_fails += s.update_fails;
	m->block.event_fails += s.event_fails;
}

void blk_destroy(struct blk_dev *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	blk_aio_destroy(b);
	pthread_mutex_unlock(&b->vdev.lock);
	if (b->rl_added)
		evloop_del(b->loop, &b->rl_h);
	rl_destroy(&b->rl);
	virtio_dev_destroy(&b->vdev);
	close(b->fd);
	free(b);
}
