/* net: virtio-net (device id 1) as a plain driver drives it, exchanging
 * frames with a peer that runs the same protocol: another test guest
 * through ember-switch, or tests/guest/netpeer.py on a TAP
 * (tests/guest/net.sh drives both).
 *
 * Driver: VERSION_1 + MAC + STATUS (+ MTU, + EVENT_IDX unless eventidx=0);
 * no MRG_RXBUF and no offloads, so every RX buffer (2 KiB, one descriptor)
 * holds a whole virtio_net_hdr_v1 (12 bytes) + frame. Queue 0 RX, 1 TX (a
 * view). The link follows the config's STATUS bit, read on each config
 * interrupt (irq=1, default) and every POLL_MS besides.
 *
 * Protocol (ethertype 0x88b5, local experimental): each frame carries struct
 * nt_hdr after the Ethernet header. A batch is synced first (SYNC frames
 * every SYNC_MS until each side has heard the other, so a peer that
 * attaches late loses nothing that counts), then `count` DATA frames each
 * way, at most `window` unacknowledged; every frame carries the cumulative
 * ack (the peer's frames received in order so far), a pure ACK goes out
 * when there is nothing to piggyback it on. DATA frame `seq` of sender s in
 * batch b has a payload length and contents that are functions of (s, b,
 * seq), and an FNV-1a-64 checksum over the payload in its header: the
 * receiver checks the length, the checksum and the contents, and that seq is
 * exactly the next one (a gap, duplicate or reordering fails the guest). A
 * side waiting for acks with nothing to send re-sends its ACK with POLL
 * every POLL_ACK_MS, which the peer answers even from its next batch; the
 * last batch ends with a quiet linger so the peer's last ACK is answered
 * before this guest goes away.
 *
 * Plan: wait for link up; batch 1; with stream=1 (default) a stream (batch
 * 2, unbounded) until the link goes down (the host kills the switch), wait
 * for the link to come back, batch 3; SUCCESS.
 *
 * Command line: role=a|b (sender id 1|2), peer=MAC (its frames must come
 * from it; ours go to it, or to broadcast with bcast=1), count=N (200),
 * size=MAX frame bytes (1514), window=W (8), stream=0|1 (1), irq=0|1 (1),
 * eventidx=0|1 (1), wait=S (20: bound of each wait and batch). */
#include "lib/virtio.h"

/* virtio 1.x §5.1 (as <linux/virtio_net.h>, whose VIRTIO_F_* from
 * <linux/virtio_config.h> clash with virtio.h's masks). */
#define VIRTIO_NET_F_MTU (1ULL << 3)
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_NET_F_MRG_RXBUF (1ULL << 15)
#define VIRTIO_NET_F_STATUS (1ULL << 16)
#define VIRTIO_NET_S_LINK_UP 1
#define CFG_MAC 0
#define CFG_STATUS 6
#define CFG_MTU 10

struct virtio_net_hdr_v1 {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "virtio_net_hdr_v1");

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_ZLEN 60
#define ETHERTYPE 0x88b5
#define NT_MAGIC 0x31544e45u /* "ENT1" */

enum { NT_SYNC = 1, NT_DATA = 2, NT_ACK = 3 };
#define NT_HEARD 1 /* SYNC: I have heard you in this batch */
#define NT_POLL 2  /* ACK: please answer with your ack */

struct nt_hdr {
	uint32_t magic;
	uint8_t type, sender;
	uint16_t batch;
	uint32_t seq;  /* DATA: this frame */
	uint32_t ack;  /* the peer's frames received in order in `batch` */
	uint16_t len;  /* payload bytes */
	uint16_t flags;
	uint64_t csum; /* FNV-1a-64 over the payload's qwords, tail zero-padded */
} __attribute__((packed));
#define NT_OFF ETH_HLEN
#define PAYLOAD_OFF (ETH_HLEN + (uint32_t)sizeof(struct nt_hdr)) /* 42 */
#define MIN_PAYLOAD (ETH_ZLEN - PAYLOAD_OFF)			  /* 18 */

#define BUF 2048u
#define RXQ_SIZE 128
#define TXQ_SIZE 64
#define VEC_NET 0x42
#define SYNC_MS 20
#define POLL_MS 20	/* link status read at least this often */
#define POLL_ACK_MS 100
#define LINGER_MS 300
#define CFG_IRQ_MS 1000	/* a status change must come with its interrupt by then */
#define STALL_MS 5000	/* a stream without DATA for this long is stuck */
#define FNV_OFF 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define PAT_STEP 0x9e3779b97f4a7c15ULL

typedef uint64_t u64u __attribute__((aligned(1), may_alias));

static struct vdev devs[VIRTIO_MAX_DEVS];
static struct vdev *dev;       /* queue 0: RX */
static struct vdev txq;	       /* view: queue 1 */
static uint8_t *rxbuf, *txbuf; /* BUF per descriptor */
static uint8_t mac[ETH_ALEN], peer[ETH_ALEN], dst[ETH_ALEN];
static uint8_t me, them;       /* sender ids */
static uint32_t window, max_frame, wait_s;
static bool link_up, use_event_idx;
static uint64_t t_status;      /* TSC of the last status read */

/* Totals over the run. */
static struct {
	uint64_t tx, rx, other, stale, polls, cfg_irqs_seen;
} tot;

/* One batch. */
struct batch {
	uint16_t id;
	uint32_t count;	   /* DATA frames each way; 0: unbounded (stream) */
	bool heard, peer_heard, synced;
	uint32_t next_tx, acked, rx_next, ack_sent;
	uint64_t bytes_rx, t_sync, t_rx, t_poll;
};
static struct batch prev; /* the last finished batch: its polls are answered */

static uint64_t ms_since(uint64_t t0) { return tsc_us(rdtsc() - t0) / 1000; }

static void copy6(uint8_t *d, const uint8_t *s)
{
	for (int i = 0; i < ETH_ALEN; i++)
		d[i] = s[i];
}

static bool same6(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < ETH_ALEN; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static bool parse_mac(const char *s, uint8_t *out)
{
	for (int i = 0; i < ETH_ALEN; i++, s += 3) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[k];
			unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
				   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
				   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
			if (d > 15)
				return false;
			v = v * 16 + d;
		}
		if (s[2] != (i == ETH_ALEN - 1 ? '\0' : ':'))
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static void print_mac(const char *pre, const uint8_t *m)
{
	gprintf("%s%02x:%02x:%02x:%02x:%02x:%02x", pre, m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- payload: length and contents are functions of (sender, batch, seq) --- */
static uint32_t payload_len(uint8_t sender, uint16_t batch, uint32_t seq)
{
	uint32_t max = max_frame - PAYLOAD_OFF;

	if (seq % 16 == 0)
		return max; /* the extremes come up in every batch */
	if (seq % 16 == 1)
		return MIN_PAYLOAD;
	return MIN_PAYLOAD + (seq * 211u + sender * 17u + batch) % (max - MIN_PAYLOAD + 1);
}

static uint64_t pattern_seed(uint8_t sender, uint16_t batch, uint32_t seq)
{
	return ((uint64_t)sender << 56 | (uint64_t)batch << 40 | seq) * 0xff51afd7ed558ccdULL + 1;
}

/* Bytes of the last, partial qword that belong to the payload. */
static uint64_t tail_mask(uint32_t len)
{
	return len % 8 ? (1ULL << (8 * (len % 8))) - 1 : ~0ULL;
}

/* Writes the pattern (whole qwords: the buffer has room past the payload)
 * and returns the checksum. Guest instructions cost ~1 us each on PVM:
 * one pass, a qword at a time. */
static uint64_t fill_payload(uint8_t *p, uint32_t len, uint64_t v)
{
	uint32_t nq = (len + 7) / 8;
	uint64_t h = FNV_OFF, mask = tail_mask(len);

	for (uint32_t k = 0; k < nq; k++, v += PAT_STEP) {
		*(u64u *)(p + 8 * k) = v;
		h = (h ^ (k + 1 == nq ? v & mask : v)) * FNV_PRIME;
	}
	return h;
}

/* Checksum of the received payload, and whether it holds the pattern. */
static uint64_t check_payload(const uint8_t *p, uint32_t len, uint64_t v, bool *same)
{
	uint32_t nq = (len + 7) / 8;
	uint64_t h = FNV_OFF, diff = 0, mask = tail_mask(len);

	for (uint32_t k = 0; k + 1 < nq; k++, v += PAT_STEP) {
		uint64_t w = *(const u64u *)(p + 8 * k);
		h = (h ^ w) * FNV_PRIME;
		diff |= w ^ v;
	}
	if (nq) {
		uint64_t w = *(const u64u *)(p + 8 * (nq - 1)) & mask;
		h = (h ^ w) * FNV_PRIME;
		diff |= w ^ (v & mask);
	}
	*same = !diff;
	return h;
}

/* ---- device --------------------------------------------------------------- */
static uint16_t cfg_read16(uint32_t off)
{
	uint16_t v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(dev->base + VIRTIO_MMIO_CONFIG + off) : "memory");
	return v;
}

static bool read_link(void)
{
	t_status = rdtsc();
	return cfg_read16(CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
}

static void post_rx(uint16_t slot)
{
	struct vbuf b = { (uintptr_t)(rxbuf + (uint64_t)slot * BUF), BUF, true };
	int head = vq_add(dev, &b, 1);

	if (head != slot) /* one-descriptor chains: a freed head is the next one taken */
		guest_fail("net: RX buffer %u went to descriptor %d", slot, head);
	vq_publish(dev, (uint16_t)head);
}

static void net_init(void)
{
	uint64_t want = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU;
	const char *why = "";

	if (use_event_idx)
		want |= VIRTIO_F_EVENT_IDX;
	if (vdev_negotiate(dev, want, &why))
		guest_fail("net: init: %s (status 0x%x)", why, vstatus(dev));
	if (!(dev->drv_features & VIRTIO_NET_F_MAC) || !(dev->drv_features & VIRTIO_NET_F_STATUS))
		guest_fail("net: MAC and STATUS must be offered (features 0x%lx)",
			   (unsigned long)dev->dev_features);
	vdev_queue_view(&txq, dev, 1);
	if (vdev_setup_queue(dev, RXQ_SIZE) || vdev_setup_queue(&txq, TXQ_SIZE))
		guest_fail("net: queue setup failed");
	rxbuf = vdma_alloc((size_t)dev->qsize * BUF, 4096);
	txbuf = vdma_alloc((size_t)txq.qsize * BUF, 4096);
	for (uint16_t i = 0; i < dev->qsize; i++)
		post_rx(i);
	if (vdev_driver_ok(dev, &why))
		guest_fail("net: %s (status 0x%x)", why, vstatus(dev));
	vq_kick(dev, true);
	for (int i = 0; i < ETH_ALEN; i++)
		mac[i] = vcfg_read8(dev, CFG_MAC + i);
}

/* ---- TX ------------------------------------------------------------------- */
static void tx_reclaim(void)
{
	while (vq_get(&txq, NULL, NULL))
		;
}

/* The buffer the next frame goes in (the free descriptor's), or NULL if
 * the TX ring is full. */
static uint8_t *tx_slot(void)
{
	if (!txq.num_free)
		tx_reclaim();
	return txq.num_free ? txbuf + (uint64_t)txq.free_head * BUF : NULL;
}

/* Header, Ethernet header and nt_hdr into buf; returns the nt_hdr. */
static struct nt_hdr *frame_start(uint8_t *buf, uint8_t type, uint16_t batch, uint32_t ack,
				  uint16_t flags)
{
	uint8_t *f = buf + sizeof(struct virtio_net_hdr_v1);
	struct nt_hdr *h = (struct nt_hdr *)(f + NT_OFF);

	vfill64(buf, 0, sizeof(struct virtio_net_hdr_v1)); /* no offloads */
	copy6(f, dst);
	copy6(f + ETH_ALEN, mac);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	h->magic = NT_MAGIC;
	h->type = type;
	h->sender = me;
	h->batch = batch;
	h->seq = 0;
	h->ack = ack;
	h->len = 0;
	h->flags = flags;
	h->csum = 0;
	return h;
}

/* Kick if anything was published since the last kick. */
static void tx_flush(void)
{
	if (txq.avail_idx != txq.kicked_idx)
		vq_kick(&txq, false);
}

static void tx_send(uint8_t *buf, uint32_t frame_len)
{
	struct vbuf b = { (uintptr_t)buf, (uint32_t)sizeof(struct virtio_net_hdr_v1) + frame_len, false };
	int head = vq_add(&txq, &b, 1);

	if (head < 0 || txbuf + (uint64_t)head * BUF != buf)
		guest_fail("net: TX descriptor %d is not the one filled", head);
	vq_publish(&txq, (uint16_t)head);
	tot.tx++;
}

/* SYNC or ACK: a minimum-size frame, zero padding. false if no room. */
static bool send_ctl(uint8_t type, uint16_t batch, uint32_t ack, uint16_t flags)
{
	uint8_t *buf = tx_slot();

	if (!buf)
		return false;
	frame_start(buf, type, batch, ack, flags);
	vfill64(buf + sizeof(struct virtio_net_hdr_v1) + PAYLOAD_OFF, 0, MIN_PAYLOAD);
	tx_send(buf, ETH_ZLEN);
	return true;
}

static void send_data(struct batch *b, uint8_t *buf)
{
	uint32_t len = payload_len(me, b->id, b->next_tx);
	struct nt_hdr *h = frame_start(buf, NT_DATA, b->id, b->rx_next, 0);
	uint8_t *p = buf + sizeof(struct virtio_net_hdr_v1) + PAYLOAD_OFF;

	if (b->acked == b->next_tx)
		b->t_poll = rdtsc(); /* the first unacked frame: its ack is due from now */
	h->seq = b->next_tx;
	h->len = (uint16_t)len;
	h->csum = fill_payload(p, len, pattern_seed(me, b->id, b->next_tx));
	tx_send(buf, PAYLOAD_OFF + len);
	b->ack_sent = b->rx_next;
	b->next_tx++;
}

/* ---- RX ------------------------------------------------------------------- */
static bool sync_now, ack_now; /* answers owed to the peer */

static void take_ack(struct batch *b, uint32_t ack)
{
	if (ack > b->next_tx)
		guest_fail("net: batch %u: the peer acks %u frames, only %u sent", b->id, ack, b->next_tx);
	if (ack < b->acked)
		guest_fail("net: batch %u: the peer's ack went back from %u to %u", b->id, b->acked, ack);
	if (ack > b->acked)
		b->t_poll = rdtsc(); /* progress: no poll due */
	b->acked = ack;
}

static void take_data(struct batch *b, const struct nt_hdr *h, const uint8_t *f)
{
	uint32_t want_len = payload_len(them, b->id, h->seq);
	bool same;

	if (h->seq != b->rx_next)
		guest_fail("net: batch %u: DATA seq %u, want %u (%s)", b->id, h->seq, b->rx_next,
			   h->seq < b->rx_next ? "duplicate or reordered" : "frames lost");
	if (b->count && h->seq >= b->count)
		guest_fail("net: batch %u: DATA seq %u beyond the batch's %u", b->id, h->seq, b->count);
	if (h->len != want_len)
		guest_fail("net: batch %u: DATA seq %u: payload of %u bytes, want %u", b->id, h->seq,
			   h->len, want_len);
	uint64_t sum = check_payload(f + PAYLOAD_OFF, h->len, pattern_seed(them, b->id, h->seq), &same);
	if (sum != h->csum)
		guest_fail("net: batch %u: DATA seq %u: checksum 0x%lx, the frame says 0x%lx", b->id,
			   h->seq, (unsigned long)sum, (unsigned long)h->csum);
	if (!same)
		guest_fail("net: batch %u: DATA seq %u: checksum right but not the sender's pattern",
			   b->id, h->seq);
	b->rx_next++;
	b->bytes_rx += h->len;
	b->t_rx = rdtsc();
}

static void take_sync(struct batch *b, const struct nt_hdr *h)
{
	if (!b->heard)
		sync_now = true; /* tell the peer at once */
	b->heard = true;
	if (h->flags & NT_HEARD)
		b->peer_heard = true;
	else if (b->synced)
		sync_now = true; /* it has not heard us yet */
	if (b->heard && b->peer_heard)
		b->synced = true;
}

/* The frame's length for its header, or 0 if it cannot be one of ours. */
static uint32_t frame_len_for(const struct nt_hdr *h)
{
	if (h->type == NT_DATA)
		return h->len >= MIN_PAYLOAD && h->len <= max_frame - PAYLOAD_OFF ? PAYLOAD_OFF + h->len : 0;
	return (h->type == NT_SYNC || h->type == NT_ACK) && !h->len ? ETH_ZLEN : 0;
}

static void rx_frame(struct batch *b, const uint8_t *f, uint32_t flen)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct nt_hdr *h = (const struct nt_hdr *)(f + NT_OFF);

	if (flen < ETH_HLEN || f[12] != ETHERTYPE >> 8 || f[13] != (ETHERTYPE & 0xff) ||
	    !(same6(f, mac) || same6(f, bcast))) {
		tot.other++; /* not ours (the host's IPv6 chatter on a TAP, ...) */
		return;
	}
	if (flen < PAYLOAD_OFF)
		guest_fail("net: frame of %u bytes, too short for the header", flen);
	if (h->magic != NT_MAGIC)
		guest_fail("net: frame with magic 0x%x", h->magic);
	if (h->sender != them)
		guest_fail("net: frame from sender %u (%s), want %u", h->sender,
			   h->sender == me ? "my own id" : "unknown", them);
	if (!same6(f + ETH_ALEN, peer))
		guest_fail("net: frame from sender %u with another source MAC", h->sender);
	if (frame_len_for(h) != flen)
		guest_fail("net: type %u frame of %u bytes, payload %u", h->type, flen, h->len);
	if (h->batch != b->id) {
		if (h->batch == prev.id && prev.id && h->type == NT_ACK && (h->flags & NT_POLL))
			send_ctl(NT_ACK, prev.id, prev.rx_next, 0);
		else if (h->type == NT_DATA)
			guest_fail("net: DATA of batch %u seq %u in batch %u", h->batch, h->seq, b->id);
		else
			tot.stale++;
		return;
	}
	if (h->type == NT_SYNC) {
		take_sync(b, h);
		return;
	}
	/* Data or acks: the peer is synced, so it heard our HEARD. */
	b->heard = b->peer_heard = b->synced = true;
	take_ack(b, h->ack);
	if (h->type == NT_DATA)
		take_data(b, h, f);
	else if (h->flags & NT_POLL)
		ack_now = true;
}

/* Every used RX buffer: checked, handled, posted again. How many. */
static uint32_t rx_poll(struct batch *b)
{
	uint32_t id, len, n = 0;

	while (vq_get(dev, &id, &len)) {
		const struct virtio_net_hdr_v1 *vh = (const void *)(rxbuf + (uint64_t)id * BUF);

		if (id >= dev->qsize || len < sizeof(*vh) || len > BUF)
			guest_fail("net: RX used id %u len %u", id, len);
		if (vh->num_buffers != 1 || vh->gso_type || vh->flags)
			guest_fail("net: RX header: num_buffers %u gso_type %u flags 0x%x", vh->num_buffers,
				   vh->gso_type, vh->flags);
		rx_frame(b, (const uint8_t *)(vh + 1), len - (uint32_t)sizeof(*vh));
		post_rx((uint16_t)id);
		tot.rx++;
		n++;
	}
	if (n)
		vq_kick(dev, false);
	return n;
}

/* ---- link ------------------------------------------------------------------ */
/* The status, read on a config interrupt or every POLL_MS; true if it changed. */
static bool link_changed(void)
{
	bool by_irq = dev->irq_isr_or & 2;

	if (!by_irq && ms_since(t_status) < POLL_MS)
		return false;
	bool up = read_link();
	if (up == link_up) {
		dev->irq_isr_or &= ~2u; /* a config interrupt for nothing we follow */
		return false;
	}
	link_up = up; /* change_seen() takes the interrupt bit */
	return true;
}

/* How the last change was seen: with the interrupt on it must have come
 * with a config interrupt (InterruptStatus bit 1), within CFG_IRQ_MS. */
static const char *change_seen(void)
{
	uint64_t t0 = rdtsc();

	if (dev->vector < 0)
		return "polled";
	while (!(dev->irq_isr_or & 2)) {
		if (ms_since(t0) > CFG_IRQ_MS)
			guest_fail("net: link went %s without a config interrupt", link_up ? "up" : "down");
		vdev_idle(dev, 1000);
	}
	dev->irq_isr_or &= ~2u;
	tot.cfg_irqs_seen++;
	return "config interrupt";
}

/* Until the link is up (bounded by wait_s). */
static void wait_link_up(const char *what)
{
	uint64_t t0 = rdtsc();
	const char *how = "at start";

	if (!link_up) {
		while (!link_changed() || !link_up) {
			if (ms_since(t0) > wait_s * 1000ULL)
				guest_fail("net: link not up%s within %u s", what, wait_s);
			tx_reclaim();
			vdev_idle(dev, 1000);
		}
		how = change_seen();
	}
	gprintf("net: link up%s (%s)\n", what, how);
}

/* ---- a batch ---------------------------------------------------------------- */
static bool tx_work(struct batch *b)
{
	bool sent = false;
	uint8_t *buf;

	if (!b->synced || sync_now) {
		if (sync_now || ms_since(b->t_sync) >= SYNC_MS) {
			sync_now = !send_ctl(NT_SYNC, b->id, 0, b->heard ? NT_HEARD : 0);
			b->t_sync = rdtsc();
			sent = true;
		}
		if (!b->synced)
			return sent;
	}
	while ((!b->count || b->next_tx < b->count) && b->next_tx - b->acked < window &&
	       (buf = tx_slot())) {
		send_data(b, buf);
		sent = true;
	}
	if ((b->rx_next != b->ack_sent || ack_now) && send_ctl(NT_ACK, b->id, b->rx_next, 0)) {
		b->ack_sent = b->rx_next;
		ack_now = false;
		sent = true;
	} else if (b->acked < b->next_tx && ms_since(b->t_poll) >= POLL_ACK_MS &&
		   send_ctl(NT_ACK, b->id, b->rx_next, NT_POLL)) {
		b->t_poll = rdtsc(); /* acks overdue: ask */
		tot.polls++;
		sent = true;
	}
	return sent;
}

static bool batch_done(const struct batch *b)
{
	return b->count && b->synced && b->acked == b->count && b->rx_next == b->count &&
	       b->ack_sent == b->rx_next;
}

static void batch_fail(const struct batch *b, const char *why)
{
	guest_fail("net: batch %u: %s: synced %d (heard %d, peer heard %d), sent %u, acked %u, "
		   "received %u",
		   b->id, why, b->synced, b->heard, b->peer_heard, b->next_tx, b->acked, b->rx_next);
}

/* Until done (true) or, for a stream, until the link goes down (false). */
static bool run_batch(struct batch *b)
{
	uint64_t t0 = rdtsc();
	bool streaming = false, said64 = false;

	b->t_sync = 0;
	b->t_poll = b->t_rx = rdtsc();
	sync_now = ack_now = false;
	for (;;) {
		bool busy = rx_poll(b) > 0;

		tx_reclaim();
		if (link_changed() && !link_up) {
			if (!b->count)
				return false;
			batch_fail(b, "link went down");
		}
		busy |= tx_work(b);
		tx_flush(); /* also the answers rx_poll sent */
		if (batch_done(b))
			return true;
		if (!b->count && b->synced && !streaming) {
			gprintf("net: streaming\n");
			streaming = true;
			b->t_rx = rdtsc();
		}
		if (streaming && !said64 && b->rx_next >= 64) {
			gprintf("net: stream: 64 frames received\n");
			said64 = true;
		}
		if (ms_since(t0) > wait_s * 1000ULL)
			batch_fail(b, b->count ? "not done in time" : "the link did not go down in time");
		if (streaming && ms_since(b->t_rx) > STALL_MS)
			batch_fail(b, "the stream stalled");
		if (!busy)
			vdev_idle(dev, 1000);
	}
}

static void report(const struct batch *b, uint64_t t0)
{
	gprintf("net: batch %u: sent %u, received %u in order, checksums and contents ok, %lu payload "
		"bytes in, %lu ms\n",
		b->id, b->next_tx, b->rx_next, (unsigned long)b->bytes_rx, (unsigned long)ms_since(t0));
}

static struct batch exchange(uint16_t id, uint32_t count)
{
	struct batch b = { .id = id, .count = count };
	uint64_t t0 = rdtsc();

	if (!run_batch(&b))
		batch_fail(&b, "link went down");
	report(&b, t0);
	prev = b;
	return b;
}

/* The peer may still be waiting for our last ACK: answer its polls until it
 * has been quiet for LINGER_MS, then let every TX frame go out. */
static void linger(void)
{
	struct batch idle = { .id = 0xffff };
	uint64_t t0 = rdtsc(), quiet = rdtsc();

	while (ms_since(quiet) < LINGER_MS) {
		if (rx_poll(&idle))
			quiet = rdtsc();
		tx_reclaim();
		tx_flush();
		if (ms_since(t0) > wait_s * 1000ULL)
			guest_fail("net: the peer did not go quiet within %u s", wait_s);
		vdev_idle(dev, 1000);
	}
	while (txq.num_free < txq.qsize) {
		tx_reclaim();
		if (ms_since(t0) > wait_s * 1000ULL)
			guest_fail("net: TX frames not taken within %u s", wait_s);
		vdev_idle(dev, 1000);
	}
}

/* ---- main ------------------------------------------------------------------- */
static void setup(const struct boot_info *bi)
{
	const char *cl = bi->cmdline;
	char v[24] = "";

	cmdline_get(cl, "role", v, sizeof(v));
	if (strcmp(v, "a") && strcmp(v, "b"))
		guest_fail("net: role=a or role=b, please");
	me = v[0] == 'a' ? 1 : 2;
	them = 3 - me;
	if (!cmdline_get(cl, "peer", v, sizeof(v)) || !parse_mac(v, peer))
		guest_fail("net: peer=<MAC>, please");
	window = (uint32_t)cmdline_ul(cl, "window", 8);
	max_frame = (uint32_t)cmdline_ul(cl, "size", 1514);
	wait_s = (uint32_t)cmdline_ul(cl, "wait", 20);
	use_event_idx = cmdline_ul(cl, "eventidx", 1);
	if (!window || window >= TXQ_SIZE || max_frame < ETH_ZLEN || max_frame + 12 > BUF)
		guest_fail("net: window 1..%u, size %u..%u", TXQ_SIZE - 1, ETH_ZLEN, BUF - 12);
	vdma_init(bi);
	if (!tsc_khz())
		guest_fail("net: the TSC could not be calibrated");
	int n = virtio_discover(bi, devs, VIRTIO_MAX_DEVS);
	for (int i = 0; i < n; i++)
		gprintf("virtio: 0x%lx size 0x%x irq %d version %u id %u vendor 0x%x\n",
			(unsigned long)devs[i].base, devs[i].size, devs[i].irq, devs[i].version,
			devs[i].device_id, devs[i].vendor_id);
	dev = virtio_find(devs, n, VIRTIO_ID_NET, 0);
	if (!dev)
		guest_fail("net: no virtio-net device (%d virtio devices)", n);
	if (cmdline_ul(cl, "irq", 1) && !vdev_enable_irq(dev, VEC_NET))
		guest_fail("net: irq %d cannot be routed", dev->irq);
	net_init();
	if (cmdline_ul(cl, "bcast", 0))
		vfill64(dst, ~0ULL, ETH_ALEN);
	else
		copy6(dst, peer);
}

void guest_main(const struct boot_info *bi)
{
	gprintf("cmdline: %s\n", bi->cmdline);
	setup(bi);
	uint32_t count = (uint32_t)cmdline_ul(bi->cmdline, "count", 200);
	uint16_t mtu = dev->drv_features & VIRTIO_NET_F_MTU ? cfg_read16(CFG_MTU) : 0;

	if (mtu && max_frame > ETH_HLEN + (uint32_t)mtu)
		guest_fail("net: size=%u is beyond the device's MTU %u", max_frame, mtu);
	print_mac("net: mac ", mac);
	gprintf(", features offered 0x%lx accepted 0x%lx, mtu %u, queues rx %u tx %u\n",
		(unsigned long)dev->dev_features, (unsigned long)dev->drv_features, mtu, dev->qsize,
		txq.qsize);
	link_up = read_link();
	wait_link_up("");
	exchange(1, count);
	if (cmdline_ul(bi->cmdline, "stream", 1)) {
		struct batch s = { .id = 2 };
		if (run_batch(&s))
			guest_fail("net: the stream ended without the link going down");
		gprintf("net: link down (%s) during the stream: sent %u, acked %u, received %u in order, "
			"checksums and contents ok\n", change_seen(), s.next_tx, s.acked, s.rx_next);
		wait_link_up(" again");
		exchange(3, count);
	}
	linger();
	gprintf("net: totals: tx %lu rx %lu (other %lu, stale %lu), polls %lu, config interrupts %lu, "
		"irqs %u, InterruptStatus bits 0x%x\n",
		(unsigned long)tot.tx, (unsigned long)tot.rx, (unsigned long)tot.other,
		(unsigned long)tot.stale, (unsigned long)tot.polls, (unsigned long)tot.cfg_irqs_seen,
		dev->irqs, dev->irq_isr_or);
	guest_exit_success();
}
