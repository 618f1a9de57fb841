/* virtio-rng (device id 4), Firecracker's entropy device, on the
 * virtio-mmio transport: one queue of VIRTQ_MAX_SIZE, VERSION_1 +
 * RING_EVENT_IDX, no config space. Every chain the driver makes available
 * must be all device-writable; it is filled with getrandom(2) bytes and
 * used.len is its length. A chain with a readable descriptor is handed back
 * untouched (used.len 0) and counted in entropy_event_fails, as Firecracker.
 * An optional rate limiter (bytes = chain length, ops = 1 per chain) holds
 * requests back until its timer fires.
 *
 * Call order (builder, VMM thread):
 *   rng_create()      -> register rng_virtio() on the MMIO bus
 *                        (virtio_mmio_io, ctx = the virtio_dev) and bind one
 *                        ioeventfd (queue 0) to it; the device itself adds
 *                        its rate limiter's timerfd to `loop`;
 *   rng_add_metrics() from the metrics collector;
 *   rng_destroy()     after the vCPUs are gone.
 * Every entry point takes the virtio_dev's lock itself. */
#ifndef EMBER_VIRTIO_RNG_H
#define EMBER_VIRTIO_RNG_H

#include <stdint.h>

struct evloop;
struct guest_mem;
struct metrics;
struct res_entropy;
struct rng_dev;
struct virtio_dev;

/* Running totals since creation (Firecracker's "entropy" metrics group);
 * rng_add_metrics() adds them to a collector's `struct metrics`. */
struct rng_stats {
	uint64_t entropy_event_fails, entropy_event_count, entropy_bytes;
	uint64_t host_rng_fails, entropy_rate_limiter_throttled, rate_limiter_event_count;
};

/* `cfg` may be NULL (no rate limiter); `loop` may be NULL (nobody retries
 * throttled requests: unit tests only). 0 or -errno. */
int rng_create(struct rng_dev **out, const struct res_entropy *cfg, struct guest_mem *gm,
	       struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd);
struct virtio_dev *rng_virtio(struct rng_dev *r);
void rng_get_stats(struct rng_dev *r, struct rng_stats *out);
void rng_add_metrics(struct rng_dev *r, struct metrics *m);
void rng_destroy(struct rng_dev *r);

#endif
