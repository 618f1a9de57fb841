/* Shared by balloon.c (device model, lifecycle, API), balloon_pages.c (inflate,
 * deflate, free page reporting)
 * and balloon_stats.c (stats queue, timer, JSON). Everything here runs with
 * b->vdev.lock held. */
#ifndef EMBER_BALLOON_INTERNAL_H
#define EMBER_BALLOON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_balloon.h>

#include "ember/evloop.h"
#include "ember/virtio.h"
#include "ember/virtio_balloon.h"

#define BAL_PAGE_SHIFT VIRTIO_BALLOON_PFN_SHIFT
#define BAL_PAGE_SIZE (1ull << BAL_PAGE_SHIFT)
#define BAL_PAGES_PER_MIB 256u
/* Stats tags newer than the installed UAPI header (Linux 6.12). */
#define BAL_S_NR 16

/* Queue roles; the index of each depends on the acked features. */
enum bal_queue { BQ_INFLATE, BQ_DEFLATE, BQ_STATS, BQ_REPORT, BQ_NONE };

struct balloon_dev {
	struct virtio_dev vdev;
	struct virtio_dev_ops ops; /* per device: nr_queues depends on cfg */
	struct evloop *loop;	   /* NULL in unit tests */
	bool deflate_on_oom, reporting;
	uint32_t target_mib;	   /* num_pages = target_mib * 256 */
	uint32_t actual;	   /* guest-written pages */
	uint16_t interval_s;	   /* 0: stats off */
	int timer_fd;		   /* stats timer, -1 when stats are off */
	struct evloop_handler timer_h;
	bool timer_added;
	/* the stats buffer the device holds between polls */
	bool stats_held;
	uint16_t stats_head;
	uint16_t stats_present;	   /* bit per tag seen so far */
	uint64_t stats[BAL_S_NR];
	struct balloon_counters c;
	struct virtq_chain chain;  /* scratch for virtq_pop */
};

/* balloon.c */
enum bal_queue bal_queue_role(const struct balloon_dev *b, unsigned q);
/* Queue index of `role` under the acked features, or -1. */
int bal_queue_index(const struct balloon_dev *b, enum bal_queue role);
/* DRIVER_OK, not failed or broken, queue ready. */
bool bal_live(const struct balloon_dev *b, int q);

/* balloon_pages.c: serve inflate, deflate or reporting queue q. */
void bal_pages_notify(struct balloon_dev *b, enum bal_queue role, unsigned q);

/* balloon_stats.c */
int bal_stats_init(struct balloon_dev *b);
void bal_stats_destroy(struct balloon_dev *b);
/* Arm (interval_s > 0) or disarm the timer. */
void bal_stats_arm(struct balloon_dev *b, bool on);
/* Parse the {le16 tag, le64 val} entries of the chain into b->stats. */
void bal_stats_parse(struct balloon_dev *b, const struct virtq_chain *c);
/* Stats queue kicked: take the new buffer, parse it, hold it. */
void bal_stats_process(struct balloon_dev *b);
void bal_stats_reset(struct balloon_dev *b);

#endif
