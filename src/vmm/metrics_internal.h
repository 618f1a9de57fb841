/* Shared by metrics.c (flush) and metrics_cfg.c (PUT /metrics). */
#ifndef EMBER_METRICS_INTERNAL_H
#define EMBER_METRICS_INTERNAL_H

#include <stdbool.h>

#include <jansson.h>

/* Where and how lines are written; fd < 0 until configured. */
struct metrics_target {
	int fd;
	bool emit_id;
	json_t *props;	/* "properties", keys in byte order (a Rust BTreeMap), or NULL */
	char *path;
	char id[65];	/* instance id for "id" */
};

extern struct metrics_target metrics_tgt;

/* Forget a partly written line (the target is being closed). */
void metrics_drop_pending(void);

#endif
