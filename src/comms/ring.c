/* The comms ring, producer end (docs/comms-ring.md, "Memory ordering").
 *
 * Barrier pairings, producer side (the consumer's are in ring_rx.c):
 *  P1  refresh_cons(): acquire load of cons   <-> C2 release store of cons
 *      in ring_rx_publish(): the consumer's reads of slots below cons are
 *      done before we may overwrite them.
 *  P2  ring_tx_publish(): release store of prod <-> C1 acquire load of prod
 *      (ring_rx.c refresh_prod()): a consumer that sees prod sees the slot
 *      headers and bytes written before it.
 *  P3  ring_tx_publish(): seq_cst fence between the prod store and the
 *      need_kick load <-> C3 the fence in ring_rx_prepare_sleep() between
 *      its need_kick store and prod load (Dekker: one side sees the other).
 *  P4  ring_tx_want_space(): seq_cst fence between the prod_wait_space store
 *      and the cons load <-> C4 the fence in ring_rx_publish() between its
 *      cons store and prod_wait_space load. */
#include <errno.h>
#include <string.h>

#include "ember/comms_ring.h"
#include "ember/log.h"
#include "ring_internal.h"

static void ring_init(struct ring_ctl **ctl, uint8_t **data, struct ring_geom *pg, void *base,
		      const struct ring_geom *g, enum ring_dir dir)
{
	*ctl = (struct ring_ctl *)((uint8_t *)base + ring_ctl_off(dir));
	*data = (uint8_t *)base + ring_data_off(g, dir);
	*pg = *g;
}

void ring_tx_init(struct ring_tx *t, void *base, const struct ring_geom *g, enum ring_dir dir)
{
	memset(t, 0, sizeof(*t));
	ring_init(&t->ctl, &t->data, &t->g, base, g, dir);
}

void ring_rx_init(struct ring_rx *r, void *base, const struct ring_geom *g, enum ring_dir dir)
{
	memset(r, 0, sizeof(*r));
	ring_init(&r->ctl, &r->data, &r->g, base, g, dir);
}

/* P1. A consumer index is possible only within [cons_cache, published]:
 * the consumer cannot go back nor read what was never published. */
static int refresh_cons(struct ring_tx *t)
{
	uint32_t c = atomic_load_explicit(&t->ctl->cons, memory_order_acquire);

	if ((uint32_t)(c - t->cons_cache) > (uint32_t)(t->published - t->cons_cache)) {
		t->broken = true;
		log_ratelimited(LOG_WARN, "comms ring: consumer index %u outside [%u, %u]: broken",
				c, t->cons_cache, t->published);
		return -EPROTO;
	}
	t->cons_cache = c;
	return 0;
}

static uint32_t free_slots(const struct ring_tx *t)
{
	return t->g.slots - (t->prod - t->cons_cache);
}

uint32_t ring_tx_space(struct ring_tx *t)
{
	if (t->broken || refresh_cons(t))
		return 0;
	return free_slots(t);
}

/* Gather `len` bytes from iov into n slots starting at t->prod. Plain
 * stores: P2's release store orders them for the consumer. */
static int fill(struct ring_tx *t, const struct ring_vnet_hdr *h, const struct iovec *iov,
		int iovcnt, size_t len)
{
	const uint32_t pay = ring_payload(&t->g);
	size_t io_off = 0;
	int io = 0;

	if (iovcnt == 1 && len <= pay) { /* the common small frame: one copy */
		struct ring_slot *s = ring_slot_at(t->data, &t->g, t->prod);
		if (iov[0].iov_len < len)
			return -EINVAL;
		memcpy((uint8_t *)s + RING_SLOT_HDR, iov[0].iov_base, len);
		s->len = (uint32_t)len;
		s->flags = 0;
		s->rsvd = 0;
		s->hdr = h ? *h : (struct ring_vnet_hdr){ 0 };
		return 0;
	}
	for (uint32_t k = 0; len; k++) {
		struct ring_slot *s = ring_slot_at(t->data, &t->g, t->prod + k);
		uint32_t chunk = len < pay ? (uint32_t)len : pay;
		uint8_t *dst = (uint8_t *)s + RING_SLOT_HDR;

		for (uint32_t done = 0; done < chunk;) {
			while (io < iovcnt && io_off == iov[io].iov_len) {
				io++;
				io_off = 0;
			}
			if (io == iovcnt)
				return -EINVAL; /* iov shorter than len: nothing published */
			size_t n = iov[io].iov_len - io_off;
			if (n > chunk - done)
				n = chunk - done;
			memcpy(dst + done, (const uint8_t *)iov[io].iov_base + io_off, n);
			done += (uint32_t)n;
			io_off += n;
		}
		len -= chunk;
		s->len = chunk;
		s->flags = len ? RING_SLOT_MORE : 0;
		s->rsvd = 0;
		if (k == 0) {
			if (h)
				s->hdr = *h;
			else
				memset(&s->hdr, 0, sizeof(s->hdr));
		}
	}
	return 0;
}

int ring_tx_frame(struct ring_tx *t, const struct ring_vnet_hdr *h, const struct iovec *iov,
		  int iovcnt, size_t len)
{
	const uint32_t pay = ring_payload(&t->g);
	uint32_t n;
	int rc;

	if (t->broken)
		return -EPROTO;
	if (len == 0 || len > RING_MAX_FRAME)
		return -EMSGSIZE;
	n = (uint32_t)((len + pay - 1) / pay);
	if (free_slots(t) < n) {
		if (refresh_cons(t))
			return -EPROTO;
		if (free_slots(t) < n) {
			t->full++;
			t->want = n;
			return -ENOSPC;
		}
	}
	rc = fill(t, h, iov, iovcnt, len);
	if (rc)
		return rc;
	t->prod += n;
	t->want = 0;
	t->frames++;
	t->bytes += len;
	return 0;
}

bool ring_tx_publish(struct ring_tx *t)
{
	if (t->broken || t->prod == t->published)
		return false;
	/* P2: pairs with C1 (the consumer's acquire load of prod). */
	atomic_store_explicit(&t->ctl->prod, t->prod, memory_order_release);
	t->published = t->prod;
	/* P3: pairs with C3 (fence in ring_rx_prepare_sleep). Store prod, then
	 * load need_kick: either the consumer's re-check sees this prod and it
	 * stays awake, or we see its need_kick here and kick it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&t->ctl->need_kick, memory_order_relaxed))
		return false;
	t->kicks++;
	return true;
}

bool ring_tx_want_space(struct ring_tx *t)
{
	uint32_t need = t->want ? t->want : 1;

	if (t->broken || t->prod != t->published)
		return true;
	atomic_store_explicit(&t->ctl->prod_wait_space, 1, memory_order_relaxed);
	/* P4: pairs with C4 (fence in ring_rx_publish). Store the flag, then
	 * load cons: either the consumer sees the flag after storing cons and
	 * kicks, or we see its new cons here and do not sleep. */
	atomic_thread_fence(memory_order_seq_cst);
	if (refresh_cons(t) || free_slots(t) >= need) {
		atomic_store_explicit(&t->ctl->prod_wait_space, 0, memory_order_relaxed);
		return true;
	}
	return false;
}

void ring_tx_space_done(struct ring_tx *t)
{
	/* Relaxed: at worst the consumer sends one kick too many. */
	if (atomic_load_explicit(&t->ctl->prod_wait_space, memory_order_relaxed))
		atomic_store_explicit(&t->ctl->prod_wait_space, 0, memory_order_relaxed);
}
