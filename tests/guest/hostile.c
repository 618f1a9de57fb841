/* hostile: a virtio-blk driver that breaks the protocol on purpose. For each
 * case it initialises the device, proves a good read works, misbehaves, and
 * classifies what the device did:
 *   needs-reset  Status shows DEVICE_NEEDS_RESET (0x40)
 *   ioerr/unsupp the request completed with VIRTIO_BLK_S_IOERR / _UNSUPP
 *   dropped      the request completed (used entry) with no status written
 *   served       the request completed with VIRTIO_BLK_S_OK
 *   ignored      nothing within 300 ms (no used entry, no 0x40)
 *   refused      the handshake step was not accepted (FEATURES_OK not kept,
 *                DRIVER_OK not kept, QueueReady not kept)
 *   accepted     a handshake step that should have been refused was kept
 *                (FEATURES_OK without VERSION_1, DRIVER_OK out of order, an
 *                absent queue that reads as present)
 * then checks that outcome against the case's allowed set (or expect=a,b),
 * does a good read on a second block device if there is one (it must be
 * unaffected), optionally holds (hold=MS, for host-side checks such as the
 * API answering), resets the device (Status 0), re-initialises it and does a
 * good read again: the device is still served. Prints
 *   hostile: <case>: <outcome> (status 0x..)
 *   hostile: <case>: other device ok          (with two block devices)
 *   hostile: <case>: recovered
 * and SUCCESS after all cases.
 *
 * Command line: mode=<case>[,<case>...] or mode=all; expect=<o>[,<o>...]
 * (allowed outcomes, for every case run; expect=any: only the recovery
 * counts, e.g. for QEMU, which serves DMA to unassigned addresses); hold=MS; dev=N (block device to
 * abuse, default 0; the other block device, if any, is the bystander).
 * The host pre-fills the drives with the pattern of blk.c:
 * byte at o = (o * 7 + 3 + o / 512) & 0xff. */
#include "lib/virtio.h"

#define SECTOR VIRTIO_BLK_SECTOR
#define OBSERVE_US 300000
#define TIMEOUT_US 2000000

enum outcome { O_NEEDS_RESET, O_IOERR, O_UNSUPP, O_DROPPED, O_SERVED, O_IGNORED, O_REFUSED, O_ACCEPTED, O_COUNT };
static const char *const outcome_name[O_COUNT] = { "needs-reset", "ioerr", "unsupp", "dropped",
						   "served", "ignored", "refused", "accepted" };
#define B(o) (1u << (o))
#define BAD_REQ (B(O_NEEDS_RESET) | B(O_IOERR) | B(O_DROPPED) | B(O_IGNORED))

static struct vdev devs[VIRTIO_MAX_DEVS];
static struct vdev *dev, *other;
static uint8_t *buf, *buf2, *scratch;
static struct virtio_blk_req_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t req_status;
static uint64_t bad_gpa; /* guest-physical, not RAM */
static uint32_t last_status;

static uint8_t pat_fill(uint64_t o) { return (uint8_t)(o * 7 + 3 + (o >> 9)); }

static void init_or_fail(struct vdev *d, const char *when)
{
	const char *why;
	if (vdev_init(d, VIRTIO_F_EVENT_IDX | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO, 0, &why))
		guest_fail("hostile: init (%s) at 0x%lx: %s (status 0x%x)", when, (unsigned long)d->base, why,
			   vstatus(d));
}

static void good_read(struct vdev *d, const char *when)
{
	uint8_t *b = d == dev ? buf : buf2;
	uint32_t w = 0;
	uint64_t sector = 5;
	vfill64(b, 0xeeeeeeeeeeeeeeeeULL, 2 * SECTOR);
	int st = blk_rw(d, VIRTIO_BLK_T_IN, sector, b, 2 * SECTOR, &w, TIMEOUT_US);
	if (st != VIRTIO_BLK_S_OK)
		guest_fail("hostile: good read (%s) at 0x%lx: status %d", when, (unsigned long)d->base, st);
	for (unsigned i = 0; i < 2 * SECTOR; i += 61) /* a sample: bytes cost ~1 us each on PVM */
		if (b[i] != pat_fill(sector * SECTOR + i))
			guest_fail("hostile: good read (%s): byte %u is 0x%x, want 0x%x", when, i, b[i],
				   pat_fill(sector * SECTOR + i));
}

/* ---- raw ring access (the device is reset after every case) ---------- */
static void put_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	dev->desc[i] = (struct vring_desc){ addr, len, flags, next };
}

/* A 3-descriptor read of `sector` at indices 0,1,2 with the given data buffer. */
static void std_request(uint64_t sector, uint64_t data, uint32_t len)
{
	hdr = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, sector };
	req_status = 0xff;
	put_desc(0, (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
	put_desc(1, data, len, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(2, (uintptr_t)&req_status, 1, VRING_DESC_F_WRITE, 0);
}

static void publish_kick(uint16_t head)
{
	vq_publish(dev, head);
	vq_kick(dev, true);
}

/* Wait for the device's reaction to what was just submitted. */
static enum outcome observe(void)
{
	uint64_t k = tsc_khz(), deadline = rdtsc() + k * OBSERVE_US / 1000;
	for (int spins = 0;; spins++) {
		uint32_t st = vstatus(dev);
		last_status = st;
		if (st & VIRTIO_STATUS_NEEDS_RESET)
			return O_NEEDS_RESET;
		if (vq_pending_used(dev)) {
			lapic_delay_us(1000); /* a NEEDS_RESET that races the used entry */
			last_status = st = vstatus(dev);
			if (st & VIRTIO_STATUS_NEEDS_RESET)
				return O_NEEDS_RESET;
			uint8_t s = req_status;
			return s == VIRTIO_BLK_S_OK ? O_SERVED : s == VIRTIO_BLK_S_IOERR ? O_IOERR
							: s == VIRTIO_BLK_S_UNSUPP		? O_UNSUPP
														: O_DROPPED;
		}
		if (k ? rdtsc() > deadline : spins > 3000)
			return O_IGNORED;
		lapic_delay_us(100);
	}
}

/* Handshake up to FEATURES_OK (normal), for the cases that deviate in the
 * queue setup. */
static void handshake_to_features_ok(void)
{
	vdev_reset(dev);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	vdev_write_features(dev, vdev_read_features(dev) & VIRTIO_F_VERSION_1);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(vstatus(dev) & VIRTIO_STATUS_FEATURES_OK))
		guest_fail("hostile: FEATURES_OK refused with VERSION_1 only");
}

/* DRIVER_OK; refused if not kept or NEEDS_RESET/FAILED. */
static bool driver_ok(void)
{
	vreg_write(dev, VIRTIO_MMIO_STATUS,
		   VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	uint32_t st = last_status = vstatus(dev);
	return (st & VIRTIO_STATUS_DRIVER_OK) && !(st & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

/* Queue 0 with the given ring addresses (0 = the driver's own ring). */
static enum outcome queue_with(uint64_t desc, uint64_t avail, uint64_t used, uint32_t num)
{
	handshake_to_features_ok();
	if (vdev_setup_queue(dev, 0))
		guest_fail("hostile: queue 0 setup");
	/* vdev_setup_queue set Ready; re-program it: addresses are only
	 * writable while the queue is not ready. */
	vreg_write(dev, VIRTIO_MMIO_QUEUE_READY, 0);
	if (num)
		vreg_write(dev, VIRTIO_MMIO_QUEUE_NUM, num);
	vdev_set_queue_addrs(dev, desc ? desc : (uintptr_t)dev->desc, avail ? avail : (uintptr_t)dev->avail,
			     used ? used : (uintptr_t)dev->used);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	if (vreg_read(dev, VIRTIO_MMIO_QUEUE_READY) != 1) {
		last_status = vstatus(dev);
		return O_REFUSED;
	}
	if (!driver_ok())
		return last_status & VIRTIO_STATUS_NEEDS_RESET ? O_NEEDS_RESET : O_REFUSED;
	/* the request itself is good; only the ring is not */
	std_request(5, (uintptr_t)scratch, SECTOR);
	publish_kick(0);
	return observe();
}

/* ---- the cases -------------------------------------------------------- */
static enum outcome c_loop(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	dev->desc[2].flags |= VRING_DESC_F_NEXT; /* status -> back to the header */
	dev->desc[2].next = 0;
	publish_kick(0);
	return observe();
}

static enum outcome c_selfloop(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	dev->desc[1].next = 1; /* data -> itself */
	publish_kick(0);
	return observe();
}

static enum outcome c_oob(void)
{
	std_request(5, bad_gpa, SECTOR);
	publish_kick(0);
	return observe();
}

static enum outcome c_straddle(void)
{
	std_request(5, vdma_ram_end() - 256, 4096); /* ends 3840 bytes past RAM */
	publish_kick(0);
	return observe();
}

static enum outcome c_wrap(void)
{
	std_request(5, 0xfffffffffffff000ULL, 0x2000); /* addr + len wraps 2^64 */
	publish_kick(0);
	return observe();
}

static enum outcome c_hdroob(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	dev->desc[0].addr = bad_gpa;
	publish_kick(0);
	return observe();
}

static enum outcome c_selfdma(void)
{
	/* read data into the device's own register window */
	std_request(5, dev->base, SECTOR);
	publish_kick(0);
	return observe();
}

static enum outcome c_hugelen(void)
{
	std_request(5, (uintptr_t)scratch, 0xfffffe00u); /* 4 GiB - 512: no such buffer */
	publish_kick(0);
	return observe();
}

static enum outcome c_shorthdr(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	dev->desc[0].len = 8;
	publish_kick(0);
	return observe();
}

static enum outcome c_rostatus(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	dev->desc[2].flags &= (uint16_t)~VRING_DESC_F_WRITE; /* status not device-writable */
	publish_kick(0);
	return observe();
}

static enum outcome c_nextoob(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	dev->desc[1].next = (uint16_t)(dev->qsize + 7); /* beyond the table */
	publish_kick(0);
	return observe();
}

static enum outcome c_headoob(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	publish_kick((uint16_t)(dev->qsize + 3)); /* avail.ring names no descriptor */
	return observe();
}

static enum outcome c_idx(void)
{
	std_request(5, (uintptr_t)scratch, SECTOR);
	dev->avail->ring[0] = 0;
	dev->avail_idx = (uint16_t)(dev->avail_idx + dev->qsize + 5); /* more than the ring holds */
	__atomic_store_n(&dev->avail->idx, dev->avail_idx, __ATOMIC_RELEASE);
	vq_kick(dev, true);
	return observe();
}

static enum outcome c_indirect(void)
{
	/* INDIRECT was not negotiated: a table of a good request */
	struct vring_desc *t = (struct vring_desc *)(void *)(scratch + 2048);
	hdr = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 5 };
	req_status = 0xff;
	t[0] = (struct vring_desc){ (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ (uintptr_t)scratch, SECTOR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ (uintptr_t)&req_status, 1, VRING_DESC_F_WRITE, 0 };
	put_desc(0, (uintptr_t)t, 3 * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	publish_kick(0);
	return observe();
}

static enum outcome c_notify(void)
{
	/* notifications for queues that do not exist; then a good request */
	vreg_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	std_request(5, (uintptr_t)scratch, SECTOR);
	publish_kick(0);
	return observe();
}

static enum outcome c_qsel(void)
{
	/* in the setup phase: QueueSel 0xffffffff and 1 (absent), then their
	 * NumMax must read 0 and Num/Ready/addresses be ignored */
	handshake_to_features_ok();
	static const uint32_t sels[] = { 0xffffffffu, 1, 0x10000 };
	for (unsigned i = 0; i < 3; i++) {
		vreg_write(dev, VIRTIO_MMIO_QUEUE_SEL, sels[i]);
		uint32_t max = vreg_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
		vreg_write(dev, VIRTIO_MMIO_QUEUE_NUM, 8);
		vdev_set_queue_addrs(dev, bad_gpa, bad_gpa, bad_gpa);
		vreg_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
		uint32_t ready = vreg_read(dev, VIRTIO_MMIO_QUEUE_READY);
		gprintf("hostile: qsel: QueueSel 0x%x: NumMax %u, Ready reads %u\n", sels[i], max, ready);
		if (max || ready)
			return O_ACCEPTED; /* an absent queue that looks present */
	}
	if (vdev_setup_queue(dev, 0))
		guest_fail("hostile: qsel: queue 0 setup after the bad selects");
	if (!driver_ok())
		return O_REFUSED;
	/* live: the same after DRIVER_OK, then a good request */
	vreg_write(dev, VIRTIO_MMIO_QUEUE_SEL, 0xffffffffu);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_NUM, 2);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_READY, 0);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	std_request(5, (uintptr_t)scratch, SECTOR);
	publish_kick(0);
	return observe();
}

static enum outcome c_live(void)
{
	/* queue registers rewritten while DRIVER_OK: must not take effect */
	vreg_write(dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)bad_gpa);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(bad_gpa >> 32));
	vreg_write(dev, VIRTIO_MMIO_QUEUE_NUM, 3);
	vreg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vreg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffffu);
	std_request(5, (uintptr_t)scratch, SECTOR);
	publish_kick(0);
	return observe();
}

static enum outcome c_ring(void) { return queue_with(bad_gpa, 0, 0, 0); }
static enum outcome c_ringavail(void) { return queue_with(0, bad_gpa, 0, 0); }
static enum outcome c_ringused(void) { return queue_with(0, 0, bad_gpa, 0); }
static enum outcome c_ringstraddle(void) { return queue_with(vdma_ram_end() - 2048, 0, 0, 0); }
static enum outcome c_ringwrap(void) { return queue_with(0xfffffffffffff000ULL, 0, 0, 0); }
static enum outcome c_align(void) { return queue_with((uintptr_t)dev->ring_mem + 8, 0, 0, 0); }
static enum outcome c_qnum3(void) { return queue_with(0, 0, 0, 3); }
static enum outcome c_qnumbig(void) { return queue_with(0, 0, 0, 0x10000); }

static enum outcome c_nofeat(void)
{
	/* a driver that does not accept VERSION_1 */
	vdev_reset(dev);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	vdev_write_features(dev, vdev_read_features(dev) & ~VIRTIO_F_VERSION_1);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	last_status = vstatus(dev);
	return last_status & VIRTIO_STATUS_FEATURES_OK ? O_ACCEPTED : O_REFUSED;
}

static enum outcome c_order(void)
{
	/* DRIVER_OK straight after ACK (no DRIVER, no features, no queue),
	 * and a notify on the unconfigured queue */
	vdev_reset(dev);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER_OK);
	vreg_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	last_status = vstatus(dev);
	if (last_status & VIRTIO_STATUS_NEEDS_RESET)
		return O_NEEDS_RESET;
	return last_status & VIRTIO_STATUS_DRIVER_OK ? O_ACCEPTED : O_REFUSED;
}

static enum outcome c_nostatus0(void)
{
	/* re-init without the reset: ACK on a live device (status not 0) */
	vreg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	last_status = vstatus(dev);
	if (last_status & VIRTIO_STATUS_NEEDS_RESET)
		return O_NEEDS_RESET;
	/* the queue must still serve, or be refused; not corrupted */
	std_request(5, (uintptr_t)scratch, SECTOR);
	publish_kick(0);
	return observe();
}

struct kase {
	const char *name;
	enum outcome (*run)(void);
	unsigned allowed; /* any correct device; expect= narrows it per VMM */
};

static const struct kase cases[] = {
	{ "loop", c_loop, BAD_REQ },
	{ "selfloop", c_selfloop, BAD_REQ },
	{ "oob", c_oob, BAD_REQ },
	{ "straddle", c_straddle, BAD_REQ },
	{ "wrap", c_wrap, BAD_REQ },
	{ "hdroob", c_hdroob, BAD_REQ },
	{ "selfdma", c_selfdma, BAD_REQ },
	{ "hugelen", c_hugelen, BAD_REQ },
	{ "shorthdr", c_shorthdr, BAD_REQ },
	{ "rostatus", c_rostatus, BAD_REQ },
	{ "nextoob", c_nextoob, BAD_REQ },
	{ "headoob", c_headoob, BAD_REQ },
	{ "idx", c_idx, BAD_REQ },
	/* not negotiated: a device may also just follow the table */
	{ "indirect", c_indirect, BAD_REQ | B(O_SERVED) | B(O_UNSUPP) },
	{ "notify", c_notify, B(O_SERVED) },
	{ "qsel", c_qsel, B(O_SERVED) },
	{ "live", c_live, B(O_SERVED) | B(O_NEEDS_RESET) },
	{ "ring", c_ring, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) },
	{ "ringavail", c_ringavail, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) },
	{ "ringused", c_ringused, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) },
	{ "ringstraddle", c_ringstraddle, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) },
	{ "ringwrap", c_ringwrap, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) },
	/* the spec requires 16/2/4 alignment; a lenient device may serve */
	{ "align", c_align, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) | B(O_SERVED) },
	{ "qnum3", c_qnum3, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) },
	{ "qnumbig", c_qnumbig, B(O_NEEDS_RESET) | B(O_REFUSED) | B(O_IGNORED) },
	{ "nofeat", c_nofeat, B(O_REFUSED) },
	{ "order", c_order, B(O_REFUSED) | B(O_NEEDS_RESET) },
	{ "nostatus0", c_nostatus0, B(O_SERVED) | B(O_NEEDS_RESET) | B(O_IGNORED) | B(O_REFUSED) },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static unsigned parse_expect(const char *s)
{
	unsigned mask = 0;
	if (!strcmp(s, "any"))
		return (1u << O_COUNT) - 1;
	while (*s) {
		unsigned o;
		for (o = 0; o < O_COUNT; o++) {
			size_t n = strlen(outcome_name[o]);
			if (!strncmp(s, outcome_name[o], n) && (s[n] == ',' || !s[n]))
				break;
		}
		if (o == O_COUNT)
			guest_fail("hostile: unknown outcome in expect=%s", s);
		mask |= B(o);
		s += strlen(outcome_name[o]);
		if (*s == ',')
			s++;
	}
	return mask;
}

static void run_case(const struct kase *k, unsigned expect, uint32_t hold_ms)
{
	init_or_fail(dev, k->name);
	good_read(dev, "before");
	enum outcome o = k->run();
	gprintf("hostile: %s: %s (status 0x%x)\n", k->name, outcome_name[o], last_status);
	unsigned allowed = expect ? expect : k->allowed;
	if (!(allowed & B(o)))
		guest_fail("hostile: %s: outcome %s not allowed", k->name, outcome_name[o]);
	if (other) {
		good_read(other, "bystander");
		gprintf("hostile: %s: other device ok\n", k->name);
	}
	if (hold_ms) {
		gprintf("hostile: %s: holding %u ms\n", k->name, hold_ms);
		for (uint32_t i = 0; i < hold_ms; i += 100)
			lapic_delay_us(100000);
	}
	init_or_fail(dev, "recovery"); /* starts with Status = 0 */
	good_read(dev, "after reset");
	gprintf("hostile: %s: recovered\n", k->name);
}

void guest_main(const struct boot_info *bi)
{
	char mode[256] = "", expect_s[64] = "", v[16];
	uint32_t hold_ms = 0;

	cmdline_get(bi->cmdline, "mode", mode, sizeof(mode));
	cmdline_get(bi->cmdline, "expect", expect_s, sizeof(expect_s));
	if (cmdline_get(bi->cmdline, "hold", v, sizeof(v)))
		hold_ms = (uint32_t)strtoul_simple(v);
	int idx = cmdline_get(bi->cmdline, "dev", v, sizeof(v)) ? (int)strtoul_simple(v) : 0;
	unsigned expect = parse_expect(expect_s);

	vdma_init(bi);
	tsc_khz();
	uint64_t ram_end = vdma_ram_end();
	bad_gpa = ram_end < 0xb0000000ULL ? ram_end + 0x1000000 : 0x100000000000ULL;
	buf = vdma_alloc(4096, 4096);
	buf2 = vdma_alloc(4096, 4096);
	scratch = vdma_alloc(4096, 4096);

	int n = virtio_discover(bi, devs, VIRTIO_MAX_DEVS);
	dev = virtio_find(devs, n, VIRTIO_ID_BLOCK, idx);
	other = virtio_find(devs, n, VIRTIO_ID_BLOCK, idx ? 0 : 1);
	if (!dev)
		guest_fail("hostile: no virtio block device %d (%d virtio devices)", idx, n);
	gprintf("hostile: device 0x%lx irq %d, bystander %s0x%lx, RAM ends 0x%lx, bad gpa 0x%lx\n",
		(unsigned long)dev->base, dev->irq, other ? "" : "none ", other ? (unsigned long)other->base : 0UL,
		(unsigned long)ram_end, (unsigned long)bad_gpa);
	if (other)
		init_or_fail(other, "bystander");

	unsigned ran = 0;
	for (unsigned i = 0; i < NCASES; i++) {
		bool want = !strcmp(mode, "all");
		size_t nl = strlen(cases[i].name);
		for (const char *p = mode; *p && !want;) {
			if (!strncmp(p, cases[i].name, nl) && (p[nl] == ',' || !p[nl]))
				want = true;
			while (*p && *p != ',')
				p++;
			if (*p == ',')
				p++;
		}
		if (!want)
			continue;
		run_case(&cases[i], expect, hold_ms);
		ran++;
	}
	if (!ran)
		guest_fail("hostile: no case matches mode=%s", mode);
	gprintf("hostile: %u cases\n", ran);
	vdev_reset(dev);
	if (other)
		vdev_reset(other);
	guest_exit_success();
}
