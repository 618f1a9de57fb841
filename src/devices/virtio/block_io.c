/* virtio-blk backends: Sync (preadv/pwritev on the VMM thread) and Async
 * (io_uring through liburing, 128 entries as Firecracker). Async requests
 * are keyed by their chain head (user_data), which the driver cannot have
 * in flight twice; completions arrive on an eventfd registered with the
 * ring and added to the event loop. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <liburing.h>

#include "ember/log.h"
#include "block_internal.h"

#define INLINE_IOV 4 /* Linux sends one data segment without SEG_MAX */

struct slot {
	bool busy;
	struct blk_io io;
	struct iovec *iov; /* inl, or malloc'ed for long chains */
	struct iovec inl[INLINE_IOV];
};

struct blk_aio {
	struct io_uring ring;
	struct evloop_handler h; /* the completion eventfd */
	bool in_loop;
	unsigned inflight; /* prepared SQEs not yet completed */
	struct slot slot[VIRTQ_MAX_SIZE];
};

unsigned blk_aio_depth = BLK_RING_DEPTH;

/* Drops the first `n` bytes of an iovec array in place. */
static void advance(struct iovec **iov, unsigned *niov, size_t n)
{
	while (*niov && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*niov)--;
	}
	if (*niov) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

int blk_sync_rw(int fd, struct iovec *iov, unsigned niov, uint64_t off, bool write)
{
	while (niov) {
		unsigned n = niov > IOV_MAX ? IOV_MAX : niov;
		ssize_t r = write ? pwritev(fd, iov, (int)n, (off_t)off)
				  : preadv(fd, iov, (int)n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0 && iov->iov_len)
			return -EIO; /* the file shrank under the guest */
		off += (uint64_t)r;
		advance(&iov, &niov, (size_t)r);
	}
	return 0;
}

/* Completion of one CQE; with `push` false (reset, teardown) the guest is
 * not told: its rings are gone. */
static bool finish(struct blk_dev *b, uint64_t head, int res, bool push)
{
	struct blk_aio *a = b->aio;
	struct slot *s = head < VIRTQ_MAX_SIZE ? &a->slot[head] : NULL;
	uint8_t code = VIRTIO_BLK_S_OK;
	uint32_t to_mem = 0;

	if (!s || !s->busy) {
		log_ratelimited(LOG_ERROR, "block: io_uring completion for unknown head %llu",
				(unsigned long long)head);
		return false;
	}
	if (res < 0 || (s->io.type != VIRTIO_BLK_T_FLUSH && (uint64_t)res != s->io.len)) {
		b->st.execute_fails++;
		log_ratelimited(LOG_ERROR, "block: io_uring request type %u: %s", s->io.type,
				res < 0 ? strerror(-res) : "short transfer");
		code = VIRTIO_BLK_S_IOERR;
	}
	if (s->io.type == VIRTIO_BLK_T_IN && res > 0)
		to_mem = (uint32_t)res;
	if (s->iov != s->inl)
		free(s->iov);
	s->busy = false;
	a->inflight--;
	if (push)
		blk_complete(b, (uint16_t)head, &s->io, code, to_mem);
	return push;
}

/* Complete what the kernel finished; true if anything was published. */
static bool reap(struct blk_dev *b, bool push)
{
	struct io_uring *ring = &b->aio->ring;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	bool used = false;

	io_uring_for_each_cqe(ring, head, cqe) {
		used |= finish(b, cqe->user_data, cqe->res, push);
		n++;
	}
	io_uring_cq_advance(ring, n);
	return used;
}

static void cq_event(struct evloop_handler *h, uint32_t events)
{
	struct blk_dev *b = h->ctx;
	uint64_t n;

	if (read(h->fd, &n, sizeof(n)) < 0 && errno != EAGAIN) {
		b->st.event_fails++;
		log_ratelimited(LOG_ERROR, "block: read of io_uring eventfd: %s", strerror(errno));
	}
	pthread_mutex_lock(&b->vdev.lock);
	bool live = blk_live(b);

	if (reap(b, live))
		virtio_notify_queue(&b->vdev, 0);
	/* Slots are free again: pick up what the full ring turned away. */
	if (b->io_throttled) {
		b->io_throttled = false;
		if (live)
			blk_process_queue(b);
	}
	pthread_mutex_unlock(&b->vdev.lock);
}

int blk_aio_init(struct blk_dev *b)
{
	struct blk_aio *a = calloc(1, sizeof(*a));
	int rc;

	if (!a)
		return -ENOMEM;
	rc = io_uring_queue_init(BLK_RING_DEPTH, &a->ring, 0);
	if (rc < 0) {
		log_err("block: io_uring_queue_init: %s", strerror(-rc));
		goto err_free;
	}
	a->h = (struct evloop_handler){ .fn = cq_event, .ctx = b };
	a->h.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->h.fd < 0) {
		rc = -errno;
		log_err("block: eventfd: %s", strerror(-rc));
		goto err_ring;
	}
	rc = io_uring_register_eventfd(&a->ring, a->h.fd);
	if (rc < 0) {
		log_err("block: io_uring_register_eventfd: %s", strerror(-rc));
		goto err_fd;
	}
	if (b->loop && (rc = evloop_add(b->loop, &a->h, EPOLLIN)) < 0)
		goto err_fd;
	a->in_loop = b->loop != NULL;
	b->aio = a;
	return 0;
err_fd:
	close(a->h.fd);
err_ring:
	io_uring_queue_exit(&a->ring);
err_free:
	free(a);
	return rc;
}

void blk_aio_drain(struct blk_dev *b)
{
	struct blk_aio *a = b->aio;
	struct io_uring_cqe *cqe;
	int rc;

	if (!a)
		return;
	/* In-flight reads still write into guest RAM: wait for every one. */
	blk_aio_kick(b);
	while (a->inflight) {
		rc = io_uring_wait_cqe(&a->ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0) {
			log_err("block: io_uring_wait_cqe: %s", strerror(-rc));
			break;
		}
		reap(b, false);
	}
	b->io_throttled = false;
}

void blk_aio_destroy(struct blk_dev *b)
{
	struct blk_aio *a = b->aio;

	if (!a)
		return;
	blk_aio_drain(b);
	if (a->in_loop)
		evloop_del(b->loop, &a->h);
	io_uring_queue_exit(&a->ring);
	close(a->h.fd);
	free(a);
	b->aio = NULL;
}

int blk_aio_submit(struct blk_dev *b, const struct blk_req *r, uint16_t head)
{
	struct blk_aio *a = b->aio;
	struct slot *s = &a->slot[head];
	struct io_uring_sqe *sqe;
	uint64_t off = r->sector << BLK_SECTOR_SHIFT;

	if (s->busy)
		return -EEXIST;
	/* Never more in flight than the CQ ring holds twice over: no overflow. */
	if (a->inflight >= blk_aio_depth)
		return -EBUSY;
	s->iov = r->niov <= INLINE_IOV ? s->inl : malloc(r->niov * sizeof(*s->iov));
	if (!s->iov)
		return -ENOMEM;
	sqe = io_uring_get_sqe(&a->ring);
	if (!sqe) {
		if (s->iov != s->inl)
			free(s->iov);
		return -EBUSY;
	}
	/* The kernel may read the iovecs after submission (async punt): they
	 * live in the slot until the completion. */
	memcpy(s->iov, r->iov, r->niov * sizeof(*s->iov));
	if (r->io.type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, b->fd, s->iov, r->niov, off);
	else if (r->io.type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, b->fd, s->iov, r->niov, off);
	else
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, head);
	s->io = r->io;
	s->busy = true;
	a->inflight++;
	return 0;
}

void blk_aio_kick(struct blk_dev *b)
{
	int rc;

	if (!b->aio || !io_uring_sq_ready(&b->aio->ring))
		return;
	rc = io_uring_submit(&b->aio->ring);
	/* The SQEs stay queued: the next kick or completion submits them. */
	if (rc < 0)
		log_ratelimited(LOG_ERROR, "block: io_uring_submit: %s", strerror(-rc));
}
