/* balloon: virtio-balloon (device id 5) driven as Linux's driver drives it,
 * with the host in the loop (tests/guest/balloon.sh):
 *
 *   1. init: VERSION_1 + STATS_VQ, queues inflate 0, deflate 1, stats 2, one
 *      stats buffer handed to the device; touch `touch` MiB (one qword per
 *      4 KiB page, a value naming the page); "balloon: ready".
 *   2. wait for num_pages to change (the host's PATCH /balloon; the config
 *      interrupt with irq=1), inflate up to it: PFNs of the touched region
 *      in buffers of 256 (Linux's batch), `actual` written after each;
 *      "balloon: inflated to N pages (M MiB)". The host checks its RSS.
 *   3. wait again (PATCH to 0), deflate with the same PFNs, then every
 *      released page must read 0 (the host's MADV_DONTNEED) and take a write,
 *      every page never inflated must still hold its value; "balloon:
 *      deflated to 0 pages".
 *   4. hostile cases (hostile=0: none), each checked from inside: bad PFNs
 *      (past RAM, 4 GiB, 0xffffffff, the MMIO gap, the device's own window,
 *      the LAPIC) beside a good one; PFN buffers of 10 and 3 bytes; a
 *      device-writable PFN buffer; a stats buffer of 25 bytes; a PFN buffer
 *      outside RAM (device needs reset; reset, re-init, works again).
 *      "balloon: hostile done".
 *   5. wait for a last target (the host's "done" signal), inflate to it,
 *      SUCCESS.
 * All the while every stats buffer the device gives back is refilled:
 * swap_in 0, minor_faults = refills so far, free_memory = RAM end - touched,
 * total_memory = RAM end, available_memory = RAM end - balloon, and a tag
 * ember has no name for (ignored).
 *
 * Command line: touch=MIB (128), irq=0|1 (1: the device's interrupt, else
 * polled), hostile=0|1 (1), wait=S (20: each wait for the host). */
#include "lib/virtio.h"

/* virtio 1.x §5.5 (as <linux/virtio_balloon.h>, which cannot be included
 * beside virtio.h: its VIRTIO_F_* are bit numbers, virtio.h's masks). */
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_S_SWAP_IN 0
#define VIRTIO_BALLOON_S_MINFLT 3
#define VIRTIO_BALLOON_S_MEMFREE 4
#define VIRTIO_BALLOON_S_MEMTOT 5
#define VIRTIO_BALLOON_S_AVAIL 6
#define CFG_NUM_PAGES 0 /* le32 num_pages: the device's target */
#define CFG_ACTUAL 4	/* le32 actual: the driver's */

struct virtio_balloon_stat {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

#define PAGE 4096u
#define PFNS_PER_BUF 256u	  /* Linux: VIRTIO_BALLOON_ARRAY_PFNS_MAX */
#define VEC_BALLOON 0x41
#define TIMEOUT_US 5000000u	  /* one used element */
#define TAG_UNNAMED 0x7f	  /* a stats tag ember has no name for */
#define NR_STATS 6
#define MARK 0xba11000000000000ULL

static struct vdev devs[VIRTIO_MAX_DEVS];
static struct vdev *dev;	  /* the device; drives queue 0 (inflate) */
static struct vdev defl, statq;	  /* views on queues 1 and 2 */
static uint32_t *pfns;		  /* one PFN buffer (PFNS_PER_BUF) */
static struct virtio_balloon_stat *stats;
static uint8_t *region;		  /* the touched pages */
static uint32_t region_pages, actual, wait_s;
static uint64_t ram_end, refills;

static volatile uint64_t *page(uint32_t i) { return (volatile uint64_t *)(region + (uint64_t)i * PAGE); }
static uint32_t pfn_of(uint32_t i) { return (uint32_t)((uintptr_t)region / PAGE) + i; }
static uint64_t mark(uint32_t i) { return MARK | pfn_of(i); }

static uint64_t elapsed_ms(uint64_t t0) { return tsc_us(rdtsc() - t0) / 1000; }

/* ---- statistics ----------------------------------------------------------- */
static void stat_set(int k, uint16_t tag, uint64_t val)
{
	stats[k].tag = tag;
	stats[k].val = val;
}

/* Refill and hand the buffer to the device (Linux: stats_handle_request). */
static void stats_send(uint32_t len)
{
	struct vbuf b = { (uintptr_t)stats, len, false };

	refills++;
	stat_set(0, VIRTIO_BALLOON_S_SWAP_IN, 0);
	stat_set(1, VIRTIO_BALLOON_S_MINFLT, refills);
	stat_set(2, VIRTIO_BALLOON_S_MEMFREE, ram_end - (uint64_t)region_pages * PAGE);
	stat_set(3, VIRTIO_BALLOON_S_MEMTOT, ram_end);
	stat_set(4, VIRTIO_BALLOON_S_AVAIL, ram_end - (uint64_t)actual * PAGE);
	stat_set(5, TAG_UNNAMED, 0xdead);
	int head = vq_add(&statq, &b, 1);
	if (head < 0)
		guest_fail("balloon: stats queue full");
	vq_publish(&statq, (uint16_t)head);
	vq_kick(&statq, true);
}

/* The device gave the stats buffer back: refill it. */
static bool stats_service(void)
{
	if (!vq_get(&statq, NULL, NULL))
		return false;
	stats_send(NR_STATS * sizeof(*stats));
	return true;
}

/* ---- init ----------------------------------------------------------------- */
static void view(struct vdev *v, uint16_t q)
{
	void *ring = v->ring_mem; /* kept across a re-init */

	vdev_queue_view(v, dev, q);
	v->ring_mem = ring;
}

static void bal_init(void)
{
	const char *why = "";
	int r = vdev_negotiate(dev, 1ULL << VIRTIO_BALLOON_F_STATS_VQ, &why);

	if (r)
		guest_fail("balloon: init: %s (status 0x%x)", why, vstatus(dev));
	if (!(dev->drv_features & 1ULL << VIRTIO_BALLOON_F_STATS_VQ))
		guest_fail("balloon: STATS_VQ not offered (features 0x%lx)",
			   (unsigned long)dev->dev_features);
	view(&defl, 1);
	view(&statq, 2);
	if (vdev_setup_queue(dev, VQ_MAX_SIZE) || vdev_setup_queue(&defl, VQ_MAX_SIZE) ||
	    vdev_setup_queue(&statq, 4))
		guest_fail("balloon: queue setup failed");
	if (vdev_driver_ok(dev, &why))
		guest_fail("balloon: %s (status 0x%x)", why, vstatus(dev));
	stats_send(NR_STATS * sizeof(*stats));
}

/* ---- inflate / deflate ---------------------------------------------------- */
/* One chain, kicked, waited for: used.len. */
static uint32_t submit(struct vdev *q, const struct vbuf *b, int n, const char *what)
{
	uint32_t id, len;
	int head = vq_add(q, b, n);

	if (head < 0)
		guest_fail("balloon: %s: no free descriptors", what);
	vq_publish(q, (uint16_t)head);
	vq_kick(q, true);
	if (!vq_wait(q, &id, &len, TIMEOUT_US))
		guest_fail("balloon: %s: no used element within %u ms (status 0x%x)", what,
			   TIMEOUT_US / 1000, vstatus(dev));
	if (id != (uint32_t)head)
		guest_fail("balloon: %s: used id %u, want %d", what, id, head);
	return len;
}

static void set_actual(uint32_t pages)
{
	actual = pages;
	vreg_write(dev, VIRTIO_MMIO_CONFIG + CFG_ACTUAL, pages);
}

/* Pages [from, from + n) of the region go into queue q, PFNS_PER_BUF a buffer. */
static void transfer(struct vdev *q, uint32_t from, uint32_t n, const char *what)
{
	while (n) {
		uint32_t k = n < PFNS_PER_BUF ? n : PFNS_PER_BUF;
		for (uint32_t j = 0; j < k; j++)
			pfns[j] = pfn_of(from + j);
		struct vbuf b = { (uintptr_t)pfns, k * 4, false };
		submit(q, &b, 1, what);
		from += k;
		n -= k;
	}
}

static void inflate_to(uint32_t target)
{
	if (target > region_pages)
		guest_fail("balloon: target %u pages, but only %u are mine to give", target,
			   region_pages);
	while (actual < target) {
		uint32_t k = target - actual < PFNS_PER_BUF ? target - actual : PFNS_PER_BUF;
		transfer(dev, actual, k, "inflate");
		set_actual(actual + k);
	}
}

static void deflate_to(uint32_t target)
{
	while (actual > target) {
		uint32_t k = actual - target < PFNS_PER_BUF ? actual - target : PFNS_PER_BUF;
		transfer(&defl, actual - k, k, "deflate");
		set_actual(actual - k);
	}
}

/* Until num_pages differs from actual (refilling stats meanwhile). With the
 * interrupt on, the config change must also have come through it. */
static uint32_t wait_target(const char *what)
{
	uint64_t t0 = rdtsc();
	uint32_t target;

	/* Interrupts are off outside sti;hlt, so the host's change (which it
	 * makes only after our last line) cannot have been taken yet. */
	dev->irq_isr_or = 0;
	for (;;) {
		stats_service();
		target = vcfg_read32(dev, CFG_NUM_PAGES);
		if (target != actual)
			break;
		if (elapsed_ms(t0) > wait_s * 1000ULL)
			guest_fail("balloon: no new target for %s within %u s", what, wait_s);
		vdev_idle(dev, 1000);
	}
	for (int i = 0; dev->vector >= 0 && !(dev->irq_isr_or & 2); i++) {
		if (i == 100)
			guest_fail("balloon: target changed to %u without a config interrupt", target);
		vdev_idle(dev, 1000);
	}
	gprintf("balloon: target %u pages (%u MiB)%s\n", target, target / 256,
		dev->vector >= 0 ? ", config interrupt seen" : "");
	return target;
}

/* ---- the touched region ---------------------------------------------------- */
static void touch_all(void)
{
	uint64_t t0 = rdtsc();

	for (uint32_t i = 0; i < region_pages; i++)
		*page(i) = mark(i);
	gprintf("balloon: touched %u pages (%u MiB) at 0x%lx in %lu ms\n", region_pages,
		region_pages / 256, (unsigned long)(uintptr_t)region, (unsigned long)elapsed_ms(t0));
}

/* After deflating pages [0, n): each reads 0 (released on the host) and
 * takes a write; pages never inflated keep their values. */
static void check_deflated(uint32_t n)
{
	uint64_t t0 = rdtsc();

	for (uint32_t i = 0; i < region_pages; i++) {
		uint64_t v = *page(i);
		if (i < n && v)
			guest_fail("balloon: page %u (PFN 0x%x) reads 0x%lx after deflate, want 0", i,
				   pfn_of(i), (unsigned long)v);
		if (i >= n && v != mark(i))
			guest_fail("balloon: page %u (PFN 0x%x), never inflated, reads 0x%lx", i,
				   pfn_of(i), (unsigned long)v);
		*page(i) = mark(i);
		if (*page(i) != mark(i))
			guest_fail("balloon: page %u does not keep a write", i);
	}
	gprintf("balloon: after deflate: %u released pages read 0 and take writes, %u others kept "
		"their values (%lu ms)\n", n, region_pages - n, (unsigned long)elapsed_ms(t0));
}

/* ---- hostile cases ----------------------------------------------------------- */
/* Marker pages for the hostile cases: the region's last pages. */
static uint32_t hpage(uint32_t k) { return region_pages - 1 - k; }

static void expect_live(const char *what)
{
	uint32_t st = vstatus(dev);

	if (st & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED) || !(st & VIRTIO_STATUS_DRIVER_OK))
		guest_fail("balloon: hostile: %s: status 0x%x", what, st);
}

static void expect_page(uint32_t i, bool released, const char *what)
{
	uint64_t v = *page(i), want = released ? 0 : mark(i);

	if (v != want)
		guest_fail("balloon: hostile: %s: page %u (PFN 0x%x) reads 0x%lx, want 0x%lx", what, i,
			   pfn_of(i), (unsigned long)v, (unsigned long)want);
}

/* Take a released page back as a driver does: deflate it, use it again. */
static void give_back(uint32_t i)
{
	pfns[0] = pfn_of(i);
	struct vbuf b = { (uintptr_t)pfns, 4, false };
	submit(&defl, &b, 1, "deflate");
	*page(i) = mark(i);
}

static void hostile_bad_pfns(void)
{
	const uint32_t bad[] = { (uint32_t)(ram_end / PAGE), 0x100000, 0xffffffff, 0xc0000,
				 (uint32_t)(dev->base / PAGE), 0xfee00 };
	uint32_t n = sizeof(bad) / sizeof(bad[0]);

	for (uint32_t i = 0; i < n; i++)
		pfns[i] = bad[i];
	pfns[n] = pfn_of(hpage(0));
	struct vbuf b = { (uintptr_t)pfns, (n + 1) * 4, false };
	submit(dev, &b, 1, "bad PFNs");
	expect_live("bad PFNs");
	expect_page(hpage(0), true, "bad PFNs");
	give_back(hpage(0));
	gprintf("balloon: hostile: PFNs");
	for (uint32_t i = 0; i < n; i++)
		gprintf(" 0x%x", bad[i]);
	gprintf(": skipped, the good PFN beside them released, device live\n");
}

/* 10 bytes: two PFNs and half of a third; 3 bytes: less than one. */
static void hostile_odd_lengths(void)
{
	pfns[0] = pfn_of(hpage(1));
	pfns[1] = pfn_of(hpage(2));
	pfns[2] = pfn_of(hpage(3));
	struct vbuf b = { (uintptr_t)pfns, 10, false };
	submit(dev, &b, 1, "10-byte PFN buffer");
	expect_live("10-byte PFN buffer");
	expect_page(hpage(1), true, "10-byte PFN buffer");
	expect_page(hpage(2), true, "10-byte PFN buffer");
	expect_page(hpage(3), false, "10-byte PFN buffer, the partial PFN");
	give_back(hpage(1));
	give_back(hpage(2));
	b.len = 3;
	submit(dev, &b, 1, "3-byte PFN buffer");
	expect_live("3-byte PFN buffer");
	expect_page(hpage(1), false, "3-byte PFN buffer");
	gprintf("balloon: hostile: 10-byte buffer: 2 PFNs released, tail ignored; "
		"3-byte buffer: nothing released; device live\n");
}

/* A device-writable PFN buffer after a readable one: only the readable
 * one's PFN is released. */
static void hostile_writable(void)
{
	pfns[0] = pfn_of(hpage(4));
	pfns[1] = pfn_of(hpage(5));
	struct vbuf b[2] = { { (uintptr_t)&pfns[0], 4, false }, { (uintptr_t)&pfns[1], 4, true } };
	submit(dev, b, 2, "writable PFN buffer");
	expect_live("writable PFN buffer");
	expect_page(hpage(4), true, "writable PFN buffer, the readable one");
	expect_page(hpage(5), false, "writable PFN buffer");
	if (pfns[1] != pfn_of(hpage(5)))
		guest_fail("balloon: hostile: the device wrote into a PFN buffer");
	give_back(hpage(4));
	gprintf("balloon: hostile: writable PFN buffer: ignored, device live\n");
}

/* The next stats buffer is 25 bytes: two entries and 5 bytes of junk. */
static void hostile_stats_len(void)
{
	uint64_t t0 = rdtsc();

	while (!vq_get(&statq, NULL, NULL)) {
		if (elapsed_ms(t0) > wait_s * 1000ULL)
			guest_fail("balloon: hostile: the device never gave the stats buffer back");
		vdev_idle(dev, 1000);
	}
	stats_send(25);
	expect_live("25-byte stats buffer");
	gprintf("balloon: hostile: 25-byte stats buffer sent, device live\n");
}

/* A PFN buffer outside RAM is a broken ring: NEEDS_RESET; a reset and a
 * re-init bring the device back. */
static void hostile_buffer_outside_ram(void)
{
	struct vbuf b = { ram_end, 4, false };
	uint64_t t0 = rdtsc();
	int head = vq_add(dev, &b, 1);

	if (head < 0)
		guest_fail("balloon: hostile: no free descriptors");
	vq_publish(dev, (uint16_t)head);
	vq_kick(dev, true);
	while (!(vstatus(dev) & VIRTIO_STATUS_NEEDS_RESET)) {
		if (elapsed_ms(t0) > 2000)
			guest_fail("balloon: hostile: buffer outside RAM: status 0x%x after 2 s",
				   vstatus(dev));
		vdev_idle(dev, 1000);
	}
	gprintf("balloon: hostile: PFN buffer at 0x%lx (outside RAM): status 0x%x\n",
		(unsigned long)ram_end, vstatus(dev));
	vdev_reset(dev);
	bal_init();
	set_actual(0);
	pfns[0] = pfn_of(hpage(6));
	b = (struct vbuf){ (uintptr_t)pfns, 4, false };
	submit(dev, &b, 1, "inflate after reset");
	expect_live("after reset");
	expect_page(hpage(6), true, "inflate after reset");
	give_back(hpage(6));
	gprintf("balloon: hostile: reset, re-init, inflate and deflate work again\n");
}

static void hostile(void)
{
	if (region_pages < 8)
		guest_fail("balloon: hostile: region too small");
	hostile_bad_pfns();
	hostile_odd_lengths();
	hostile_writable();
	hostile_stats_len();
	hostile_buffer_outside_ram();
	gprintf("balloon: hostile done\n");
}

/* ---- main --------------------------------------------------------------------- */
static struct vdev *find_balloon(const struct boot_info *bi)
{
	int n = virtio_discover(bi, devs, VIRTIO_MAX_DEVS);

	for (int i = 0; i < n; i++)
		gprintf("virtio: 0x%lx size 0x%x irq %d version %u id %u vendor 0x%x\n",
			(unsigned long)devs[i].base, devs[i].size, devs[i].irq, devs[i].version,
			devs[i].device_id, devs[i].vendor_id);
	struct vdev *d = virtio_find(devs, n, VIRTIO_ID_BALLOON, 0);
	if (!d)
		guest_fail("balloon: no virtio-balloon device (%d virtio devices)", n);
	return d;
}

static void setup(const struct boot_info *bi)
{
	const char *cl = bi->cmdline;
	uint32_t mib = (uint32_t)cmdline_ul(cl, "touch", 128);

	wait_s = (uint32_t)cmdline_ul(cl, "wait", 20);
	vdma_init(bi);
	ram_end = vdma_ram_end();
	if (!tsc_khz())
		guest_fail("balloon: the TSC could not be calibrated");
	dev = find_balloon(bi);
	if (cmdline_ul(cl, "irq", 1) && !vdev_enable_irq(dev, VEC_BALLOON))
		guest_fail("balloon: irq %d cannot be routed", dev->irq);
	pfns = vdma_alloc(PFNS_PER_BUF * 4, PAGE);
	stats = vdma_alloc(PAGE, PAGE);
	region_pages = mib * 256;
	region = vdma_alloc((size_t)mib << 20, 2u << 20);
	bal_init();
	gprintf("balloon: features offered 0x%lx accepted 0x%lx, queues %u/%u/%u\n",
		(unsigned long)dev->dev_features, (unsigned long)dev->drv_features, dev->qsize,
		defl.qsize, statq.qsize);
}

void guest_main(const struct boot_info *bi)
{
	gprintf("cmdline: %s\n", bi->cmdline);
	setup(bi);
	touch_all();
	gprintf("balloon: ready\n");

	uint32_t target = wait_target("inflate");
	uint64_t t0 = rdtsc();
	inflate_to(target);
	gprintf("balloon: inflated to %u pages (%u MiB) in %lu ms\n", actual, actual / 256,
		(unsigned long)elapsed_ms(t0));
	uint32_t inflated = actual;

	target = wait_target("deflate");
	if (target > actual)
		guest_fail("balloon: expected a deflate, got target %u above %u", target, actual);
	t0 = rdtsc();
	deflate_to(target);
	gprintf("balloon: deflated to %u pages in %lu ms\n", actual, (unsigned long)elapsed_ms(t0));
	if (target == 0)
		check_deflated(inflated);

	if (cmdline_ul(bi->cmdline, "hostile", 1))
		hostile();

	inflate_to(wait_target("the end"));
	gprintf("balloon: inflated to %u pages (%u MiB)\n", actual, actual / 256);
	gprintf("balloon: irq: %u interrupts, InterruptStatus bits 0x%x since the last target; "
		"stats refills %lu\n",
		dev->irqs, dev->irq_isr_or, (unsigned long)refills);
	guest_exit_success();
}
