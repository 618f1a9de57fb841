/* The comms ring, consumer end (docs/comms-ring.md, "Memory ordering" and
 * "Trust"). Everything read from the region is peer data: each index and
 * slot length is loaded once into a local, checked against the private
 * geometry, and only the checked local is used.
 *
 * Barrier pairings, consumer side (the producer's are in ring.c):
 *  C1  refresh_prod(): acquire load of prod <-> P2 release store of prod in
 *      ring_tx_publish(): slots below prod are fully written and visible.
 *  C2  ring_rx_publish(): release store of cons <-> P1 acquire load of cons
 *      (ring.c refresh_cons()): our slot reads finish before reuse.
 *  C3  ring_rx_prepare_sleep(): seq_cst fence between the need_kick store
 *      and the prod load <-> P3 the fence in ring_tx_publish().
 *  C4  ring_rx_publish(): seq_cst fence between the cons store and the
 *      prod_wait_space load <-> P4 the fence in ring_tx_want_space(). */
#include <errno.h>
#include <string.h>

#include "ember/comms_ring.h"
#include "ember/log.h"
#include "ring_internal.h"

/* The peer may rewrite a word at any time: read it exactly once. */
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

static int broken(struct ring_rx *r, const char *what, uint32_t idx, uint32_t val)
{
	r->broken = true;
	r->errors++;
	log_ratelimited(LOG_WARN, "comms ring: %s (slot %u, value %u): broken", what, idx, val);
	return -EPROTO;
}

/* C1. A producer index is possible only within [prod_cache, cons + slots]:
 * it cannot go back nor fill slots we have not freed. */
static int refresh_prod(struct ring_rx *r)
{
	uint32_t p = atomic_load_explicit(&r->ctl->prod, memory_order_acquire);

	if ((uint32_t)(p - r->prod_cache) > (uint32_t)(r->cons + r->g.slots - r->prod_cache))
		return broken(r, "impossible producer index", r->cons, p);
	r->prod_cache = p;
	return 0;
}

/* Walk the frame starting at cons within the published slots. A frame is
 * published whole, so one that runs past prod is a protocol violation. */
static int read_frame(struct ring_rx *r, struct ring_rx_frame *f)
{
	const uint32_t pay = ring_payload(&r->g), avail = r->prod_cache - r->cons;
	uint32_t total = 0;

	for (uint32_t i = 0; i < avail; i++) {
		const struct ring_slot *s = ring_slot_at(r->data, &r->g, r->cons + i);
		uint32_t len = READ_ONCE(s->len);
		uint16_t flags = READ_ONCE(s->flags);

		if (flags & ~RING_SLOT_FLAGS_KNOWN)
			return broken(r, "unknown slot flags", r->cons + i, flags);
		if (len == 0 || len > pay)
			return broken(r, "bad slot length", r->cons + i, len);
		if ((flags & RING_SLOT_MORE) && len != pay)
			return broken(r, "short slot with MORE", r->cons + i, len);
		total += len;
		if (total > RING_MAX_FRAME)
			return broken(r, "frame longer than RING_MAX_FRAME", r->cons + i, total);
		if (i == 0)
			memcpy(&f->hdr, (const void *)&s->hdr, sizeof(f->hdr));
		if (!(flags & RING_SLOT_MORE)) {
			f->first = r->cons;
			f->nslots = i + 1;
			f->len = total;
			return 1;
		}
	}
	return broken(r, "frame runs past the producer index", r->prod_cache, total);
}

int ring_rx_peek(struct ring_rx *r, struct ring_rx_frame *f)
{
	if (r->broken)
		return -EPROTO;
	if (r->cons == r->prod_cache) {
		if (refresh_prod(r))
			return -EPROTO;
		if (r->cons == r->prod_cache)
			return 0;
	}
	return read_frame(r, f);
}

unsigned ring_rx_max_iov(const struct ring_geom *g)
{
	if (g->slot_size <= RING_SLOT_HDR)
		return 0;
	return (RING_MAX_FRAME + ring_payload(g) - 1) / ring_payload(g);
}

/* Bytes of slot k of frame f: every slot but the last is full. */
static uint32_t slot_len(const struct ring_rx *r, const struct ring_rx_frame *f, uint32_t k)
{
	const uint32_t pay = ring_payload(&r->g);

	return k + 1 < f->nslots ? pay : f->len - (f->nslots - 1) * pay;
}

static const uint8_t *slot_bytes(const struct ring_rx *r, uint32_t idx)
{
	return (const uint8_t *)ring_slot_at(r->data, &r->g, idx) + RING_SLOT_HDR;
}

int ring_rx_iov(const struct ring_rx *r, const struct ring_rx_frame *f, struct iovec *iov,
		int max)
{
	if (max < 0 || f->nslots > (uint32_t)max)
		return -ENOBUFS;
	for (uint32_t k = 0; k < f->nslots; k++) {
		iov[k].iov_base = (void *)slot_bytes(r, f->first + k);
		iov[k].iov_len = slot_len(r, f, k);
	}
	return (int)f->nslots;
}

size_t ring_rx_copy(const struct ring_rx *r, const struct ring_rx_frame *f, size_t off,
		    void *dst, size_t len)
{
	const uint32_t pay = ring_payload(&r->g);
	size_t done = 0;

	if (off >= f->len || len == 0)
		return 0;
	if (len > f->len - off)
		len = f->len - off;
	if (f->nslots == 1) { /* the common small frame: one copy */
		memcpy(dst, slot_bytes(r, f->first) + off, len);
		return len;
	}
	for (uint32_t k = (uint32_t)(off / pay), in = (uint32_t)(off % pay); done < len; k++) {
		size_t n = slot_len(r, f, k) - in;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, slot_bytes(r, f->first + k) + in, n);
		done += n;
		in = 0;
	}
	return done;
}

void ring_rx_consume(struct ring_rx *r, const struct ring_rx_frame *f)
{
	if (f->first != r->cons) /* not the frame the last peek returned */
		return;
	r->cons += f->nslots;
	r->frames++;
	r->bytes += f->len;
}

bool ring_rx_publish(struct ring_rx *r)
{
	if (r->broken || r->cons == r->published)
		return false;
	/* C2: pairs with P1 (the producer's acquire load of cons). */
	atomic_store_explicit(&r->ctl->cons, r->cons, memory_order_release);
	r->published = r->cons;
	/* C4: pairs with P4 (fence in ring_tx_want_space). Store cons, then
	 * load prod_wait_space: either the producer's re-check sees this cons,
	 * or we see its flag here and kick it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&r->ctl->prod_wait_space, memory_order_relaxed))
		return false;
	r->kicks++;
	return true;
}

bool ring_rx_prepare_sleep(struct ring_rx *r)
{
	if (r->broken || r->cons != r->prod_cache || r->cons != r->published)
		return false;
	atomic_store_explicit(&r->ctl->need_kick, 1, memory_order_relaxed);
	/* C3: pairs with P3 (fence in ring_tx_publish). Store need_kick, then
	 * load prod: either we see the producer's new prod here, or it sees
	 * need_kick after storing prod and kicks our doorbell. */
	atomic_thread_fence(memory_order_seq_cst);
	if (refresh_prod(r) == 0 && r->cons == r->prod_cache)
		return true;
	atomic_store_explicit(&r->ctl->need_kick, 0, memory_order_relaxed);
	return false;
}

void ring_rx_awake(struct ring_rx *r)
{
	/* Relaxed: at worst the producer sends one kick too many. Read first
	 * so a polling consumer does not dirty the line on every pass. */
	if (atomic_load_explicit(&r->ctl->need_kick, memory_order_relaxed))
		atomic_store_explicit(&r->ctl->need_kick, 0, memory_order_relaxed);
}

bool ring_rx_pending(struct ring_rx *r)
{
	if (r->broken || r->cons != r->prod_cache)
		return true;
	if (refresh_prod(r))
		return true;
	return r->cons != r->prod_cache;
}
