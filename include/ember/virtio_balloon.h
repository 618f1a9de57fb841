/* virtio-balloon (device id 5) on the virtio-mmio transport, as
 * Firecracker's: VERSION_1, DEFLATE_ON_OOM and FREE_PAGE_REPORTING as
 * configured, STATS_VQ when stats_polling_interval_s > 0. Free page hinting
 * is not implemented: balloon_create() refuses a config that asks for it.
 * Config space is 12 bytes: num_pages (the target, amount_mib * 256), actual
 * (written by the guest), free_page_hint_cmd_id (always 0).
 *
 * Queues are numbered as the Linux driver (init_vqs) asks for them: inflate
 * 0, deflate 1, then stats and reporting each taking the next index only if
 * its feature was negotiated. The device offers all of its queues; which
 * index is which is decided by the features the driver acked.
 *
 * Inflated PFNs (4 KiB pages) inside guest RAM are released on the host with
 * madvise(MADV_DONTNEED) (anonymous memory refaults as zero); PFNs outside
 * RAM are skipped, counted and logged. Reported free page ranges are released
 * the same way. Deflate needs nothing on the host.
 *
 * Call order (builder, VMM thread):
 *   balloon_create()  -> register balloon_virtio() on the MMIO bus and bind
 *                        one ioeventfd per queue (balloon_nr_queues() of
 *                        them, datamatch = queue index); the device adds its
 *                        stats timerfd to `loop` itself;
 *   balloon_set_target()         PATCH /balloon
 *   balloon_set_stats_interval() PATCH /balloon/statistics
 *   balloon_config_json()        GET /balloon (post-boot)
 *   balloon_stats_json()         GET /balloon/statistics
 *   balloon_add_metrics()        metrics collector
 *   balloon_destroy()            after the vCPUs are gone.
 * Every entry point takes the virtio_dev's lock itself. */
#ifndef EMBER_VIRTIO_BALLOON_H
#define EMBER_VIRTIO_BALLOON_H

#include <stdint.h>

#include <jansson.h>

struct balloon_dev;
struct evloop;
struct guest_mem;
struct metrics;
struct res_balloon;
struct virtio_dev;

/* Running totals since creation (balloon_add_metrics() adds the metric ones
 * to a collector; the rest are for tests and debugging). */
struct balloon_counters {
	uint64_t inflate_count, deflate_count;	   /* queue events served */
	uint64_t inflated_pages, deflated_pages;   /* PFNs received */
	uint64_t invalid_pfns;			   /* outside RAM: skipped */
	uint64_t madvise_calls, madvise_fails;
	uint64_t stats_updates_count, stats_update_fails;
	uint64_t free_page_report_count, free_page_report_freed, free_page_report_fails;
	uint64_t activate_fails, event_fails;
};

/* 0 or -errno: -ENOTSUP for free_page_hinting, -EINVAL for a target above
 * guest RAM, -errno from timerfd_create / evloop_add. `loop` may be NULL
 * (unit tests): the stats timer is then created but not registered, and
 * balloon_stats_tick() stands in for it. */
int balloon_create(struct balloon_dev **out, const struct res_balloon *cfg,
		   struct guest_mem *gm, struct evloop *loop, uint64_t mmio_base, unsigned irq,
		   int irq_fd);
/* The transport object (for the bus and the ioeventfds). */
struct virtio_dev *balloon_virtio(struct balloon_dev *b);
/* How many queues to bind ioeventfds for (2 + stats + reporting). */
unsigned balloon_nr_queues(struct balloon_dev *b);
/* PATCH /balloon: new target; config change interrupt once DRIVER_OK.
 * -EINVAL when amount_mib exceeds guest RAM (Firecracker's
 * "Amount of pages requested is too large."). */
int balloon_set_target(struct balloon_dev *b, uint32_t amount_mib);
/* PATCH /balloon/statistics: change a non-zero interval (the timer restarts
 * with it). -EINVAL when the change would turn statistics on or off, which
 * Firecracker refuses after boot ("Cannot enable/disable statistics after
 * boot."). */
int balloon_set_stats_interval(struct balloon_dev *b, uint16_t s);
/* GET /balloon: {amount_mib, deflate_on_oom, stats_polling_interval_s,
 * free_page_hinting, free_page_reporting} as in force now. NULL: ENOMEM. */
json_t *balloon_config_json(struct balloon_dev *b);
/* GET /balloon/statistics: Firecracker's BalloonStats (target_pages,
 * actual_pages, target_mib, actual_mib and the guest fields it has sent so
 * far). NULL when statistics are off (answer 400 "Statistics for the balloon
 * device are not enabled") or on ENOMEM. */
json_t *balloon_stats_json(struct balloon_dev *b);
/* What the stats timer does: give the held stats buffer back to the guest so
 * it refills it. Exposed for tests (loop NULL). */
void balloon_stats_tick(struct balloon_dev *b);
void balloon_get_counters(struct balloon_dev *b, struct balloon_counters *out);
/* Adds this device's totals to m->balloon.* (VMM thread). */
void balloon_add_metrics(struct balloon_dev *b, struct metrics *m);
/* Removes the timer from the loop, frees. NULL ok. */
void balloon_destroy(struct balloon_dev *b);

#endif
