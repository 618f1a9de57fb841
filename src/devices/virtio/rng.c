/* virtio-rng (virtio 1.x §5.4): the entropy device. Semantics follow
 * Firecracker's (src/vmm/src/devices/virtio/rng/device.rs): per chain one
 * entropy_event_count, the rate limiter asked for 1 op and the chain's
 * length in bytes before anything is written, a chain with a readable
 * descriptor or a failing host RNG handed back with used.len 0. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/rate_limiter.h"
#include "ember/resources.h"
#include "ember/virtio.h"
#include "ember/virtio_rng.h"

struct rng_dev {
	struct virtio_dev vdev;
	struct evloop *loop; /* NULL in unit tests */
	struct rate_limiter rl;
	struct evloop_handler rl_h;
	bool rl_added;
	struct rng_stats st;
	struct virtq_chain chain; /* scratch for virtq_pop (too big for the stack) */
};


/* DRIVER_OK, not failed or broken, queue ready: may we touch the ring? The
 * rate limiter's timer fires regardless of the driver's state. */
static bool rng_live(const struct rng_dev *r)
{
	const struct virtio_dev *d = &r->vdev;

	return (d->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)) ==
		       VIRTIO_CONFIG_S_DRIVER_OK &&
	       !d->broken && d->vq[0].ready;
}

/* Length of an all-writable chain in *len; -EINVAL if a segment is
 * readable or the total does not fit used.len (Firecracker's
 * IoVecBufferMut refuses both). */
static int rng_chain_len(const struct virtq_chain *c, uint32_t *len)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (!c->seg[i].write)
			return -EINVAL;
		total += c->seg[i].len;
	}
	if (total > UINT32_MAX)
		return -EINVAL;
	*len = (uint32_t)total;
	return 0;
}

/* Fill `len` bytes at `p` from the kernel's CSPRNG. Blocking getrandom only
 * waits before the host's pool is initialised, which is long past once a VM
 * runs; large requests come back short (32 MiB per call) and signals
 * interrupt it, hence the loop. 0 or -errno. */
static int rng_fill(uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* cannot happen; do not spin if it does */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fill every segment of r->chain; bytes written (0 on a host RNG failure). */
static uint32_t rng_fill_chain(struct rng_dev *r, uint32_t len)
{
	const struct virtq_chain *c = &r->chain;

	for (unsigned i = 0; i < c->n; i++) {
		int rc = rng_fill(c->seg[i].host, c->seg[i].len);

		if (rc) {
			r->st.host_rng_fails++;
			r->st.entropy_event_fails++;
			log_ratelimited(LOG_ERROR, "entropy: getrandom: %s", strerror(-rc));
			return 0;
		}
	}
	return len;
}

/* One popped chain: VIRTIO_NEXT (used element published), VIRTIO_RETRY
 * (throttled: the caller puts it back) or VIRTIO_STOP. */
static int rng_handle(struct rng_dev *r)
{
	struct virtio_dev *d = &r->vdev;
	uint16_t head = r->chain.head;
	uint32_t len = 0, done = 0;

	/* Per pop, as Firecracker, so a throttled chain counts again when retried. */
	r->st.entropy_event_count++;
	if (rng_chain_len(&r->chain, &len)) {
		log_ratelimited(LOG_WARN, "entropy: chain at head %u is not all device-writable",
				head);
		r->st.entropy_event_fails++;
	} else {
		if (!rl_consume_req(&r->rl, len)) {
			r->st.entropy_rate_limiter_throttled++;
			return VIRTIO_RETRY;
		}
		done = rng_fill_chain(r, len);
	}
	if (virtq_push(&d->vq[0], d->gm, head, done)) {
		/* Only a queue that is not ready fails here; nothing more to do. */
		log_ratelimited(LOG_ERROR, "entropy: could not publish used head %u", head);
		r->st.entropy_event_fails++;
		return VIRTIO_STOP;
	}
	r->st.entropy_bytes += done;
	return VIRTIO_NEXT;
}

static bool rng_can_pop(void *ctx)
{
	struct rng_dev *r = ctx;

	return !rl_is_blocked(&r->rl);
}

static int rng_chain(void *ctx, struct virtq_chain *c)
{
	return rng_handle(ctx);
}

/* Drain queue 0 until it is empty or the rate limiter says stop; interrupt
 * the driver if anything was used. */
static void rng_process_queue(struct rng_dev *r)
{
	if (virtio_serve_queue(&r->vdev, 0, &r->chain, rng_can_pop, rng_chain, r))
		virtio_notify_queue(&r->vdev, 0);
}

static uint64_t rng_features(struct virtio_dev *d)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX;
}

static void rng_notify(struct virtio_dev *d, unsigned q)
{
	struct rng_dev *r = d->priv;

	/* Firecracker counts a kick that arrives while throttled as a rate
	 * limiter event; the timer retries the queue later. */
	if (rl_is_blocked(&r->rl))
		r->st.rate_limiter_event_count++;
	else
		rng_process_queue(r);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "entropy",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.features = rng_features,
	/* no config space: the transport treats a missing config_size as 0 */
	.notify = rng_notify,
};

/* The rate limiter's timerfd fired: go on where it stopped us. */
static void rng_rl_event(struct evloop_handler *h, uint32_t events)
{
	struct rng_dev *r = h->ctx;

	pthread_mutex_lock(&r->vdev.lock);
	r->st.rate_limiter_event_count++;
	if (rl_timer_event(&r->rl) && rng_live(r))
		rng_process_queue(r);
	pthread_mutex_unlock(&r->vdev.lock);
}

int rng_create(struct rng_dev **out, const struct res_entropy *cfg, struct guest_mem *gm,
	       struct evloop *loop, uint64_t mmio_base, unsigned irq, int irq_fd)
{
	struct rng_dev *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	rc = rl_init(&r->rl, cfg ? &cfg->rl : NULL);
	if (rc)
		goto err_free;
	rc = virtio_dev_init(&r->vdev, &rng_ops, r, gm, mmio_base, irq, irq_fd);
	if (rc)
		goto err_rl;
	r->rl_h = (struct evloop_handler){ .fd = rl_timer_fd(&r->rl), .fn = rng_rl_event, .ctx = r };
	if (loop && (rc = evloop_add(loop, &r->rl_h, EPOLLIN)) < 0)
		goto err_dev;
	r->rl_added = loop != NULL;
	*out = r;
	return 0;
err_dev:
	virtio_dev_destroy(&r->vdev);
err_rl:
	rl_destroy(&r->rl);
err_free:
	free(r);
	return rc;
}

struct virtio_dev *rng_virtio(struct rng_dev *r)
{
	return &r->vdev;
}

void rng_get_stats(struct rng_dev *r, struct rng_stats *out)
{
	pthread_mutex_lock(&r->vdev.lock);
	*out = r->st;
	pthread_mutex_unlock(&r->vdev.lock);
}

void rng_add_metrics(struct rng_dev *r, struct metrics *m)
{
	struct rng_stats s;

	rng_get_stats(r, &s);
	m->entropy.entropy_event_fails += s.entropy_event_fails;
	m->entropy.entropy_event_count += s.entropy_event_count;
	m->entropy.entropy_bytes += s.entropy_bytes;
	m->entropy.host_rng_fails += s.host_rng_fails;
	m->entropy.entropy_rate_limiter_throttled += s.entropy_rate_limiter_throttled;
	m->entropy.rate_limiter_event_count += s.rate_limiter_event_count;
}

void rng_destroy(struct rng_dev *r)
{
	if (!r)
		return;
	if (r->rl_added)
		evloop_del(r->loop, &r->rl_h);
	rl_destroy(&r->rl);
	virtio_dev_destroy(&r->vdev);
	free(r);
}
