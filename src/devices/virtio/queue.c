/* Split virtqueues, device side (virtio 1.x §2.7; design.md §5, §8.4).
 *
 * The rings live in guest RAM and the guest may rewrite them at any moment,
 * from another vCPU, while we read them. So: every ring word is read with
 * exactly one (relaxed atomic) load into a local, and only the local is
 * checked and used; nothing is fetched twice. Ring pointers come from gm_ptr()
 * with the ring's full size on every call, so a queue whose addresses were
 * never checked cannot reach past RAM either. Every violation is -EPROTO;
 * the caller marks the device broken.
 *
 * Rings are little-endian (VERSION_1); le*toh() keeps that explicit. */
#include "ember/virtq.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "ember/guest_mem.h"
#include "ember/log.h"

struct rings {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

/* A descriptor copied out of guest memory: the only copy we look at. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Ring sizes include the EVENT_IDX words (used_event, avail_event) always,
 * as the spec lays them out; the driver allocates them either way. */
static uint64_t desc_bytes(uint16_t num) { return 16ull * num; }
static uint64_t avail_bytes(uint16_t num) { return 6 + 2ull * num; }
static uint64_t used_bytes(uint16_t num) { return 6 + 8ull * num; }

static bool num_ok(uint16_t num, unsigned max)
{
	return num && num <= max && !(num & (num - 1));
}

static uint16_t ld16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static int proto(const struct virtq *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int proto(const struct virtq *q, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_ratelimited(LOG_WARN, "virtq (size %u): %s", q->num, buf);
	return -EPROTO;
}

/* Host pointers of the three rings, each checked whole against RAM. */
static int map(const struct virtq *q, const struct guest_mem *gm, struct rings *r)
{
	if (!q->ready || !num_ok(q->num, VIRTQ_MAX_SIZE))
		return -EINVAL;
	r->desc = gm_ptr(gm, q->desc_gpa, desc_bytes(q->num));
	r->avail = gm_ptr(gm, q->avail_gpa, avail_bytes(q->num));
	r->used = gm_ptr(gm, q->used_gpa, used_bytes(q->num));
	return r->desc && r->avail && r->used ? 0 : -EINVAL;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

int virtq_check(const struct virtq *q, const struct guest_mem *gm, uint16_t max)
{
	struct rings r;
	struct virtq tmp = *q;

	if (!num_ok(q->num, max < VIRTQ_MAX_SIZE ? max : VIRTQ_MAX_SIZE))
		return -EINVAL;
	if ((q->desc_gpa & (VRING_DESC_ALIGN_SIZE - 1)) ||
	    (q->avail_gpa & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
	    (q->used_gpa & (VRING_USED_ALIGN_SIZE - 1)))
		return -EINVAL;
	tmp.ready = true;
	return map(&tmp, gm, &r);
}

static void read_desc(const struct vring_desc *t, uint16_t i, struct desc *d)
{
	/* One load per field: whatever the guest writes meanwhile, the checks
	 * below and the use afterwards see the same value. */
	d->addr = le64toh(__atomic_load_n(&t[i].addr, __ATOMIC_RELAXED));
	d->len = le32toh(__atomic_load_n(&t[i].len, __ATOMIC_RELAXED));
	d->flags = le16toh(__atomic_load_n(&t[i].flags, __ATOMIC_RELAXED));
	d->next = le16toh(__atomic_load_n(&t[i].next, __ATOMIC_RELAXED));
}

/* Walk the chain at `head` into c: at most num descriptors (a longer chain
 * is a loop), readable before writable, no INDIRECT, every buffer in RAM. */
static int walk(const struct virtq *q, const struct guest_mem *gm,
		const struct vring_desc *tbl, uint16_t head, struct virtq_chain *c)
{
	uint16_t i = head;
	bool writing = false;
	struct desc d;

	for (c->n = 0;; c->n++) {
		struct virtq_seg *s = &c->seg[c->n];

		if (c->n >= q->num)
			return proto(q, "chain at head %u longer than the queue (loop)", head);
		read_desc(tbl, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return proto(q, "descriptor %u: INDIRECT not negotiated", i);
		if (writing && !(d.flags & VRING_DESC_F_WRITE))
			return proto(q, "descriptor %u: readable after writable", i);
		writing = d.flags & VRING_DESC_F_WRITE;
		*s = (struct virtq_seg){ .gpa = d.addr, .len = d.len, .write = writing };
		/* len 0: nothing to touch, so no pointer (gm_ptr refuses len 0). */
		if (d.len && !(s->host = gm_ptr(gm, d.addr, d.len)))
			return proto(q, "descriptor %u: buffer %#llx+%u outside RAM", i,
				     (unsigned long long)d.addr, d.len);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= q->num)
			return proto(q, "descriptor %u: next %u out of range", i, d.next);
		i = d.next;
	}
	c->n++;
	c->head = head;
	return 0;
}

int virtq_pop(struct virtq *q, const struct guest_mem *gm, struct virtq_chain *c)
{
	struct rings r;
	uint16_t idx, pending, head;
	int rc;

	if (!q->ready)
		return 0;
	if (map(q, gm, &r))
		return proto(q, "rings no longer inside RAM");
	idx = ld16(&r.avail->idx);
	pending = (uint16_t)(idx - q->last_avail);
	if (!pending)
		return 0;
	if (pending > q->num)
		return proto(q, "avail.idx %u is %u entries ahead", idx, pending);
	/* Acquire: ring[] and the descriptors it names are read only after
	 * avail.idx; pairs with the driver's write barrier between filling
	 * them and publishing avail.idx (virtio_wmb in virtqueue_add). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = ld16(&r.avail->ring[q->last_avail & (q->num - 1)]);
	if (head >= q->num)
		return proto(q, "avail head %u out of range", head);
	rc = walk(q, gm, r.desc, head, c);
	if (rc)
		return rc;
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

int virtq_push(struct virtq *q, const struct guest_mem *gm, uint16_t head, uint32_t len)
{
	struct rings r;
	struct vring_used_elem *e;

	if (map(q, gm, &r) || head >= q->num)
		return -EINVAL;
	e = &r.used->ring[q->next_used & (q->num - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	q->next_used++;
	/* Release: the element and the buffer bytes written before it are
	 * visible before used.idx; pairs with the driver's read barrier after
	 * it loads used.idx (virtio_rmb in virtqueue_get_buf). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	st16(&r.used->idx, q->next_used);
	return 0;
}

int virtq_push_n(struct virtq *q, const struct guest_mem *gm, const uint16_t *head,
		 const uint32_t *len, unsigned n)
{
	struct rings r;

	if (map(q, gm, &r) || n > q->num)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (head[i] >= q->num)
			return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		struct vring_used_elem *e = &r.used->ring[(q->next_used + i) & (q->num - 1)];

		__atomic_store_n(&e->id, htole32(head[i]), __ATOMIC_RELAXED);
		__atomic_store_n(&e->len, htole32(len[i]), __ATOMIC_RELAXED);
	}
	q->next_used = (uint16_t)(q->next_used + n);
	/* Release: as in virtq_push, the elements and the buffers' bytes are
	 * visible before used.idx (pairs with the driver's virtio_rmb). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	st16(&r.used->idx, q->next_used);
	return 0;
}

bool virtq_should_notify(struct virtq *q, const struct guest_mem *gm)
{
	struct rings r;
	uint16_t old, event;
	bool valid;

	if (map(q, gm, &r))
		return false;
	/* Full: our used.idx store is ordered before the used_event/flags load;
	 * pairs with the driver's full barrier between writing used_event (or
	 * clearing NO_INTERRUPT) and re-reading used.idx (virtqueue_enable_cb). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(ld16(&r.avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	old = q->signalled_used;
	valid = q->signalled_valid;
	q->signalled_used = q->next_used;
	q->signalled_valid = true;
	if (!valid)
		return true;
	event = ld16(&r.avail->ring[q->num]); /* used_event */
	return vring_need_event(event, q->next_used, old);
}

/* Avail_event / the NO_NOTIFY flag: the words the driver reads to decide on
 * kicking. */
static void set_kicks(struct virtq *q, struct rings *r, bool on)
{
	uint16_t f;

	if (q->event_idx) {
		/* avail_event (the word after used.ring[num]) = last_avail asks
		 * for a kick on the next entry; left behind, it holds them off. */
		if (on)
			st16((uint16_t *)&r->used->ring[q->num], q->last_avail);
		return;
	}
	f = ld16(&r->used->flags);
	st16(&r->used->flags, on ? f & ~VRING_USED_F_NO_NOTIFY : f | VRING_USED_F_NO_NOTIFY);
}

void virtq_disable_notify(struct virtq *q, const struct guest_mem *gm)
{
	struct rings r;

	if (!map(q, gm, &r))
		set_kicks(q, &r, false);
}

bool virtq_enable_notify(struct virtq *q, const struct guest_mem *gm)
{
	struct rings r;

	if (map(q, gm, &r))
		return false;
	set_kicks(q, &r, true);
	/* Full: the avail_event/flags store is ordered before the avail.idx
	 * re-load; pairs with the driver's full barrier between publishing
	 * avail.idx and reading avail_event (virtqueue_kick_prepare). Without
	 * it both sides could miss each other: a lost kick. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16(&r.avail->idx) != q->last_avail;
}
