/* virtio-blk requests (virtio 1.x §5.2.6): parse a chain, validate, rate
 * limit, execute (Sync) or submit (Async), complete.
 *
 * A chain is read as two byte streams, which copes with any split of the
 * request over descriptors: the readable segments carry the 16-byte header
 * and, for OUT, the data; the writable segments carry the data for IN and
 * GET_ID and, as their very last byte, the status. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "ember/log.h"
#include "block_internal.h"


bool blk_live(const struct blk_dev *b)
{
	const struct virtio_dev *d = &b->vdev;

	return (d->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)) ==
		       VIRTIO_CONFIG_S_DRIVER_OK &&
	       !d->broken && d->vq[0].ready;
}

/* Append bytes of segments [first, end), from byte `skip` on, at most `max`
 * in total, to r->iov. Returns the bytes added. */
static uint64_t add_iov(struct blk_req *r, const struct virtq_chain *c, unsigned first,
			unsigned end, uint64_t skip, uint64_t max)
{
	uint64_t added = 0;

	for (unsigned i = first; i < end && added < max; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t n;

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip;
		if (n > max - added)
			n = max - added;
		r->iov[r->niov++] = (struct iovec){ (uint8_t *)s->host + skip, n };
		added += n;
		skip = 0;
	}
	return added;
}

/* The header from the readable stream; false if it holds under 16 bytes. */
static bool read_header(const struct virtq_chain *c, unsigned nrd, struct virtio_blk_outhdr *h)
{
	uint8_t *dst = (uint8_t *)h;
	size_t got = 0;

	for (unsigned i = 0; i < nrd && got < sizeof(*h); i++) {
		size_t n = c->seg[i].len;

		if (n > sizeof(*h) - got)
			n = sizeof(*h) - got;
		if (n)
			memcpy(dst + got, c->seg[i].host, n);
		got += n;
	}
	return got == sizeof(*h);
}

/* 0, or -EINVAL for a chain that is not a request (r->io.status says
 * whether an IOERR can still be reported). */
static int parse(struct blk_dev *b, struct blk_req *r)
{
	const struct virtq_chain *c = &b->chain;
	const struct virtq_seg *last = &c->seg[c->n - 1];
	struct virtio_blk_outhdr h;
	unsigned nrd = 0;
	uint64_t wlen = 0;

	r->io = (struct blk_io){ .type = BLK_T_MALFORMED };
	r->niov = 0;
	if (!last->write || !last->len)
		return -EINVAL;
	r->io.status = (uint8_t *)last->host + last->len - 1;
	while (nrd < c->n && !c->seg[nrd].write) /* virtq_pop: readable first */
		nrd++;
	for (unsigned i = nrd; i < c->n; i++)
		wlen += c->seg[i].len;
	if (!read_header(c, nrd, &h))
		return -EINVAL;
	r->io.type = le32toh(h.type);
	r->sector = le64toh(h.sector);
	if (r->io.type == VIRTIO_BLK_T_OUT)
		r->io.len = add_iov(r, c, 0, nrd, sizeof(h), UINT64_MAX);
	else if (r->io.type == VIRTIO_BLK_T_IN || r->io.type == VIRTIO_BLK_T_GET_ID)
		r->io.len = add_iov(r, c, nrd, c->n, 0, wlen - 1);
	return 0;
}

/* VIRTIO_BLK_S_OK if the request may run. */
static uint8_t validate(const struct blk_dev *b, const struct blk_req *r)
{
	uint64_t n = r->io.len >> BLK_SECTOR_SHIFT;

	switch (r->io.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->io.len % BLK_SECTOR_SIZE || r->io.len > BLK_MAX_DATA) {
			log_ratelimited(LOG_WARN, "block: data length %llu is not whole sectors",
					(unsigned long long)r->io.len);
			return VIRTIO_BLK_S_IOERR;
		}
		if (r->sector > b->nsectors || n > b->nsectors - r->sector) {
			log_ratelimited(LOG_WARN, "block: sectors %llu+%llu beyond capacity %llu",
					(unsigned long long)r->sector, (unsigned long long)n,
					(unsigned long long)b->nsectors);
			return VIRTIO_BLK_S_IOERR;
		}
		if (r->io.type == VIRTIO_BLK_T_OUT && b->read_only) {
			log_ratelimited(LOG_WARN, "block: write to a read-only drive");
			return VIRTIO_BLK_S_IOERR;
		}
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
		return VIRTIO_BLK_S_OK;
	}
	log_ratelimited(LOG_WARN, "block: unsupported request type %u", r->io.type);
	return VIRTIO_BLK_S_UNSUPP;
}

/* One op per request, plus its data bytes for IN/OUT. */
static uint64_t req_bytes(const struct blk_req *r)
{
	return r->io.type == VIRTIO_BLK_T_IN || r->io.type == VIRTIO_BLK_T_OUT ? r->io.len : 0;
}

/* The serial, truncated to what the driver gave room for. */
static uint32_t get_id(const struct blk_dev *b, const struct blk_req *r)
{
	uint32_t done = 0;

	for (unsigned i = 0; i < r->niov && done < sizeof(b->id); i++) {
		size_t n = r->iov[i].iov_len;

		if (n > sizeof(b->id) - done)
			n = sizeof(b->id) - done;
		memcpy(r->iov[i].iov_base, b->id + done, n);
		done += (uint32_t)n;
	}
	return done;
}

/* Sync engine, or what Async does not queue. Status code; *to_mem = bytes
 * written to guest memory. */
static uint8_t execute(struct blk_dev *b, struct blk_req *r, uint32_t *to_mem)
{
	uint64_t off = r->sector << BLK_SECTOR_SHIFT;
	int rc = 0;

	*to_mem = 0;
	switch (r->io.type) {
	case VIRTIO_BLK_T_IN:
		rc = blk_sync_rw(b->fd, r->iov, r->niov, off, false);
		if (!rc)
			*to_mem = (uint32_t)r->io.len;
		break;
	case VIRTIO_BLK_T_OUT:
		rc = blk_sync_rw(b->fd, r->iov, r->niov, off, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* Unsafe: FLUSH is not offered and a stray one is a no-op, the
		 * cache mode's promise ("ignore flush requests"). */
		if (b->writeback && fdatasync(b->fd) < 0)
			rc = -errno;
		break;
	case VIRTIO_BLK_T_GET_ID:
		*to_mem = get_id(b, r);
		break;
	}
	if (rc) {
		b->st.execute_fails++;
		log_ratelimited(LOG_ERROR, "block: request type %u at sector %llu: %s",
				r->io.type, (unsigned long long)r->sector, strerror(-rc));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static bool queued(const struct blk_dev *b, const struct blk_req *r)
{
	if (b->engine != RES_IO_ASYNC)
		return false;
	return r->io.type == VIRTIO_BLK_T_IN || r->io.type == VIRTIO_BLK_T_OUT ||
	       (r->io.type == VIRTIO_BLK_T_FLUSH && b->writeback);
}

/* Async: VIRTIO_NEXT (queued or completed), VIRTIO_RETRY (ring full), VIRTIO_STOP. */
static int submit(struct blk_dev *b, struct blk_req *r, uint16_t head, bool *used)
{
	int rc = blk_aio_submit(b, r, head);

	if (rc == -EBUSY) {
		rl_refund_req(&b->rl, req_bytes(r));
		b->io_throttled = true;
		b->st.io_engine_throttled_events++;
		return VIRTIO_RETRY;
	}
	if (rc == -EEXIST) {
		virtio_dev_fail(&b->vdev, "a chain head already in flight was made available");
		return VIRTIO_STOP;
	}
	if (rc) {
		b->st.execute_fails++;
		blk_complete(b, head, &r->io, VIRTIO_BLK_S_IOERR, 0);
		*used = true;
	}
	return VIRTIO_NEXT;
}

static int handle(struct blk_dev *b, bool *used)
{
	struct blk_req *r = &b->req;
	uint16_t head = b->chain.head;
	uint32_t to_mem;
	uint8_t code;

	if (parse(b, r)) {
		log_ratelimited(LOG_WARN, "block: malformed request chain at head %u", head);
		blk_complete(b, head, &r->io, VIRTIO_BLK_S_IOERR, 0);
		*used = true;
		return VIRTIO_NEXT;
	}
	code = validate(b, r);
	if (code != VIRTIO_BLK_S_OK) {
		blk_complete(b, head, &r->io, code, 0);
		*used = true;
		return VIRTIO_NEXT;
	}
	if (!rl_consume_req(&b->rl, req_bytes(r))) {
		b->st.rate_limiter_throttled_events++;
		return VIRTIO_RETRY;
	}
	if (queued(b, r))
		return submit(b, r, head, used);
	code = execute(b, r, &to_mem);
	blk_complete(b, head, &r->io, code, to_mem);
	*used = true;
	return VIRTIO_NEXT;
}

void blk_complete(struct blk_dev *b, uint16_t head, const struct blk_io *io, uint8_t code,
		  uint32_t to_mem)
{
	uint32_t len = 0;

	if (code != VIRTIO_BLK_S_OK) {
		b->st.invalid_reqs_count++;
	} else if (io->type == VIRTIO_BLK_T_IN) {
		b->st.read_bytes += io->len;
		b->st.read_count++;
	} else if (io->type == VIRTIO_BLK_T_OUT) {
		b->st.write_bytes += io->len;
		b->st.write_count++;
	} else if (io->type == VIRTIO_BLK_T_FLUSH) {
		b->st.flush_count++;
	}
	/* No status byte: hand the chain back untouched (used.len 0). */
	if (io->status) {
		*io->status = code;
		len = to_mem + 1;
	}
	if (virtq_push(&b->vdev.vq[0], b->vdev.gm, head, len))
		log_ratelimited(LOG_ERROR, "block: could not publish used head %u", head);
}

/* "used" is set only by requests completed here, not by ones queued to io_uring. */
struct serve_ctx {
	struct blk_dev *b;
	bool used;
};

static bool can_pop(void *ctx)
{
	struct blk_dev *b = ((struct serve_ctx *)ctx)->b;

	return !b->io_throttled && !rl_is_blocked(&b->rl);
}

static int chain(void *ctx, struct virtq_chain *c)
{
	struct serve_ctx *sc = ctx;

	return handle(sc->b, &sc->used);
}

void blk_process_queue(struct blk_dev *b)
{
	struct serve_ctx sc = { .b = b };

	virtio_serve_queue(&b->vdev, 0, &b->chain, can_pop, chain, &sc);
	blk_aio_kick(b);
	if (sc.used)
		virtio_notify_queue(&b->vdev, 0);
}
