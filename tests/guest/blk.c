/* blk: virtio-blk round trip through lib/virtio.c (polled; irq=1 for the
 * interrupt path). The host pre-fills the drive with the pattern
 *     byte at file offset o = (o * 7 + 3 + o / 512) & 0xff
 * and writes land with
 *     byte at file offset o = (o * 13 + 0x5a + 3 * (o / 512)) & 0xff
 * (differs from the first at every offset), so the host can check the file
 * afterwards.
 *
 * Command line:
 *   blk=rw|ro       rw (default): read-check sectors 0..check-1 and the last
 *                   one; write wcount sectors at wsector (one single and one
 *                   split-buffer request); FLUSH if offered; GET_ID; read back
 *                   wsector-1 .. wsector+wcount; requests beyond the capacity
 *                   and an unknown type must fail (IOERR / UNSUPP).
 *                   ro: the device must offer VIRTIO_BLK_F_RO, a write must
 *                   end in IOERR and change nothing.
 *   check=N         sectors read-checked from 0 (default 256)
 *   wsector=K wcount=M   (default 37, 11)
 *   flush=yes|no    assert whether VIRTIO_BLK_F_FLUSH is offered
 *   id=STRING       assert the GET_ID string
 *   cap=N           assert the capacity in sectors
 *   irq=1           complete through the device's interrupt (IOAPIC pin from
 *                   virtio_mmio.device=...:<irq>, sti;hlt) instead of polling
 *   eventidx=0      do not accept VIRTIO_RING_F_EVENT_IDX
 *   dev=N           use the N-th block device (default 0)
 *   mode=bench      see bench() below (bench/blk.sh)
 *   mode=costs      what guest operations cost on this host (costs())
 * Output: "cmdline: ...", "virtio: <base> size .. irq .. version .. id ..
 * vendor ..", "blk: ..." lines, SUCCESS. */
#include "lib/virtio.h"

#define SECTOR VIRTIO_BLK_SECTOR
#define TIMEOUT_US 2000000
#define VEC_VIRTIO 0x50

static uint8_t pat_fill(uint64_t o) { return (uint8_t)(o * 7 + 3 + (o >> 9)); }
static uint8_t pat_write(uint64_t o) { return (uint8_t)(o * 13 + 0x5a + 3 * (o >> 9)); }

/* Both patterns step by a constant within a sector, so the 8 bytes at an
 * aligned offset o are a function of the first one: fill and check a
 * quadword at a time from a 256-entry table (guest instructions are dear on
 * PVM: ~1 us each). */
struct pattern {
	uint8_t (*byte)(uint64_t o);
	uint64_t word[256];
	bool ready;
};
static struct pattern P_FILL = { pat_fill, { 0 }, false }, P_WRITE = { pat_write, { 0 }, false };

static uint64_t pat_word(struct pattern *p, uint64_t o)
{
	if (!p->ready) {
		uint8_t step = (uint8_t)(p->byte(1) - p->byte(0));
		for (unsigned b = 0; b < 256; b++) {
			uint64_t w = 0;
			for (unsigned k = 0; k < 8; k++)
				w |= (uint64_t)(uint8_t)(b + step * k) << (8 * k);
			p->word[b] = w;
		}
		p->ready = true;
	}
	return p->word[p->byte(o)];
}

static struct vdev devs[VIRTIO_MAX_DEVS];

static const char *st_name(int st)
{
	switch (st) {
	case VIRTIO_BLK_S_OK: return "OK";
	case VIRTIO_BLK_S_IOERR: return "IOERR";
	case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
	case -1: return "timeout";
	case -2: return "no descriptors";
	case -3: return "wrong used id";
	case 0xff: return "status not written";
	default: return "?";
	}
}

/* First mismatching byte offset in buf (disk sectors from `sector`), or -1. */
static long check_buf(const uint8_t *buf, uint64_t sector, uint32_t nsect, struct pattern *pat)
{
	const uint64_t *w = (const uint64_t *)buf;
	uint64_t base = sector * SECTOR;
	for (uint64_t i = 0; i < (uint64_t)nsect * SECTOR / 8; i++)
		if (w[i] != pat_word(pat, base + 8 * i)) {
			for (uint64_t j = 8 * i;; j++)
				if (buf[j] != pat->byte(base + j))
					return (long)j;
		}
	return -1;
}

static void fill(uint8_t *buf, uint64_t sector, uint32_t nsect, struct pattern *pat)
{
	uint64_t *w = (uint64_t *)buf;
	for (uint64_t i = 0; i < (uint64_t)nsect * SECTOR / 8; i++)
		w[i] = pat_word(pat, sector * SECTOR + 8 * i);
}

static void read_expect(struct vdev *d, uint8_t *buf, uint64_t sector, uint32_t nsect,
			struct pattern *pat, const char *what)
{
	uint32_t w = 0;
	vfill64(buf, 0xeeeeeeeeeeeeeeeeULL, (size_t)nsect * SECTOR);
	int st = blk_rw(d, VIRTIO_BLK_T_IN, sector, buf, nsect * SECTOR, &w, TIMEOUT_US);
	if (st != VIRTIO_BLK_S_OK)
		guest_fail("blk: read %s (sector %lu, %u sectors): %s (%d)", what,
			   (unsigned long)sector, nsect, st_name(st), st);
	if (w != nsect * SECTOR + 1)
		guest_fail("blk: read %s: used.len %u, want %u", what, w, nsect * SECTOR + 1);
	long bad = check_buf(buf, sector, nsect, pat);
	if (bad >= 0) {
		uint64_t o = sector * SECTOR + (uint64_t)bad;
		guest_fail("blk: read %s: byte at disk offset %lu is 0x%x, want 0x%x", what,
			   (unsigned long)o, buf[bad], pat->byte(o));
	}
}

/* One request whose data is split over two descriptors (a 4-descriptor chain). */
static int rw_split(struct vdev *d, uint32_t type, uint64_t sector, uint8_t *buf, uint32_t nsect,
		    uint32_t *written)
{
	static struct virtio_blk_req_hdr hdr;
	static volatile uint8_t status;
	bool wr = type == VIRTIO_BLK_T_IN;
	uint32_t first = nsect / 2 ? nsect / 2 : 1;
	struct vbuf b[4] = {
		{ (uintptr_t)&hdr, sizeof(hdr), false },
		{ (uintptr_t)buf, first * SECTOR, wr },
		{ (uintptr_t)(buf + first * SECTOR), (nsect - first) * SECTOR, wr },
		{ (uintptr_t)&status, 1, true },
	};
	hdr = (struct virtio_blk_req_hdr){ type, 0, sector };
	status = 0xff;
	int head = vq_add(d, b, 4);
	if (head < 0)
		return -2;
	vq_publish(d, (uint16_t)head);
	vq_kick(d, false);
	uint32_t id;
	if (!vq_wait(d, &id, written, TIMEOUT_US))
		return -1;
	return id == (uint32_t)head ? status : -3;
}

/* ---- bench ------------------------------------------------------------------
 * mode=bench secs=T qd=Q: three phases, each bracketed by serial markers the
 * host timestamps ("bench: <phase> start" / "bench: <phase> done ops N bytes B
 * us U", U from the guest's TSC when calibrated):
 *   rand4k  4 KiB reads at random 4 KiB-aligned offsets, Q in flight
 *   seqrd   1 MiB sequential reads, 4 in flight, wrapping at the capacity
 *   seqwr   1 MiB sequential writes, 4 in flight (needs a rw drive)
 * A phase lasts T seconds on the TSC (or ops=N requests if it is not
 * calibrated). */
struct slot {
	struct virtio_blk_req_hdr hdr;
	uint8_t status;
	uint8_t *buf;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void bench_phase(struct vdev *d, const char *name, uint32_t type, uint32_t bs, unsigned qd,
			bool random, uint64_t secs, uint64_t max_ops)
{
	static struct slot slots[VQ_MAX_SIZE];
	static int slot_of[VQ_MAX_SIZE];
	uint64_t cap = blk_capacity(d), bsect = bs / SECTOR, nblocks = cap / bsect, next = 0;
	uint64_t k = tsc_khz(), ops = 0, issued = 0;

	if (!nblocks)
		guest_fail("bench: drive smaller than one %u-byte block", bs);
	if (qd * 3 > d->qsize)
		qd = d->qsize / 3;
	for (unsigned i = 0; i < qd; i++)
		if (!slots[i].buf || bs > 4096)
			slots[i].buf = vdma_alloc(bs, 4096);
	gprintf("bench: %s start\n", name);
	uint64_t t0 = rdtsc(), deadline = t0 + k * 1000 * secs;
	bool stop = false;

	for (unsigned i = 0; i < qd; i++) {
		struct slot *s = &slots[i];
		uint64_t blk = random ? rng() % nblocks : next++ % nblocks;
		s->hdr = (struct virtio_blk_req_hdr){ type, 0, blk * bsect };
		s->status = 0xff;
		struct vbuf b[3] = { { (uintptr_t)&s->hdr, sizeof(s->hdr), false },
				     { (uintptr_t)s->buf, bs, type == VIRTIO_BLK_T_IN },
				     { (uintptr_t)&s->status, 1, true } };
		int head = vq_add(d, b, 3);
		if (head < 0)
			guest_fail("bench: queue full");
		slot_of[head] = (int)i;
		vq_publish(d, (uint16_t)head);
		issued++;
	}
	vq_kick(d, false);
	while (ops < issued) {
		uint32_t id, len;
		unsigned resubmitted = 0;
		uint64_t spins = 0;
		while (!vq_get(d, &id, &len)) {
			cpu_relax();
			if (++spins > 2000000000ULL)
				guest_fail("bench: %s: no completion", name);
		}
		do {
			struct slot *s = &slots[slot_of[id]];
			ops++;
			if (s->status != VIRTIO_BLK_S_OK)
				guest_fail("bench: %s: status %u", name, s->status);
			if (stop)
				continue;
			uint64_t blk = random ? rng() % nblocks : next++ % nblocks;
			s->hdr.sector = blk * bsect;
			s->status = 0xff;
			struct vbuf b[3] = { { (uintptr_t)&s->hdr, sizeof(s->hdr), false },
					     { (uintptr_t)s->buf, bs, type == VIRTIO_BLK_T_IN },
					     { (uintptr_t)&s->status, 1, true } };
			int head = vq_add(d, b, 3);
			slot_of[head] = slot_of[id];
			vq_publish(d, (uint16_t)head);
			issued++;
			resubmitted++;
		} while (vq_get(d, &id, &len));
		if (resubmitted)
			vq_kick(d, false);
		if (!stop && (k ? rdtsc() > deadline : issued >= max_ops))
			stop = true;
	}
	uint64_t us = tsc_us(rdtsc() - t0);
	gprintf("bench: %s done ops %lu bytes %lu us %lu\n", name, (unsigned long)ops,
		(unsigned long)(ops * bs), (unsigned long)us);
}

static void bench(struct vdev *d, const char *cmdline)
{
	uint64_t secs = cmdline_ul(cmdline, "secs", 3), max_ops = cmdline_ul(cmdline, "ops", 20000);
	unsigned qd = (unsigned)cmdline_ul(cmdline, "qd", 32);
	bool ro = d->dev_features & VIRTIO_BLK_F_RO;

	gprintf("bench: tsc %lu kHz, queue %u, qd %u, capacity %lu sectors\n", (unsigned long)tsc_khz(),
		d->qsize, qd, (unsigned long)blk_capacity(d));
	bench_phase(d, "rand4k", VIRTIO_BLK_T_IN, 4096, qd, true, secs, max_ops);
	bench_phase(d, "seqrd", VIRTIO_BLK_T_IN, 1 << 20, 4, false, secs, max_ops / 16);
	if (!ro)
		bench_phase(d, "seqwr", VIRTIO_BLK_T_OUT, 1 << 20, 4, false, secs, max_ops / 16);
	gprintf("bench: kicks %lu, suppressed %lu, irqs %u\n", (unsigned long)d->kicks,
		(unsigned long)d->kicks_suppressed, d->irqs);
	guest_exit_success();
}

/* mode=costs: what guest operations cost on this host's KVM, in ns each
 * (TSC calibrated against the LAPIC timer). */
static void costs(struct vdev *d)
{
	enum { N = 2000 };
	uint8_t *m = vdma_alloc(65536, 4096);
	uint64_t t[9];

	t[0] = rdtsc();
	for (int i = 0; i < N; i++)
		__asm__ volatile("" ::"r"(i));
	t[1] = rdtsc();
	for (int i = 0; i < N; i++)
		rdtsc();
	t[2] = rdtsc();
	for (int i = 0; i < N; i++)
		cpu_relax();
	t[3] = rdtsc();
	for (int i = 0; i < N; i++)
		lapic_read(LAPIC_ID);
	t[4] = rdtsc();
	for (int i = 0; i < N; i++)
		inb(0x3f8 + 5);
	t[5] = rdtsc();
	for (int i = 0; d && i < N; i++)
		vreg_read(d, VIRTIO_MMIO_MAGIC);
	t[6] = rdtsc();
	vfill64(m, 0, 65536);
	t[7] = rdtsc();
	for (int i = 0; i < N; i++)
		((volatile uint8_t *)m)[i] = (uint8_t)i;
	t[8] = rdtsc();
	uint64_t k = tsc_khz() ? tsc_khz() : 1;
#define NS(i, n) ((unsigned long)((t[(i) + 1] - t[i]) * 1000000 / k / (n)))
	gprintf("costs: tsc %lu kHz; ns per: loop iteration %lu, rdtsc %lu, pause %lu, LAPIC read %lu, "
		"port read %lu, virtio MMIO read %lu, rep stosq qword %lu, byte store iteration %lu\n",
		(unsigned long)tsc_khz(), NS(0, N), NS(1, N), NS(2, N), NS(3, N), NS(4, N), d ? NS(5, N) : 0UL,
		NS(6, 8192), NS(7, N));
#undef NS
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	gprintf("costs: cr0 0x%lx cr4 0x%lx mtrr_def 0x%lx pat 0x%lx\n", (unsigned long)cr0, (unsigned long)cr4,
		(unsigned long)rdmsr(0x2ff), (unsigned long)rdmsr(0x277));
	guest_exit_success();
}

void guest_main(const struct boot_info *bi)
{
	const char *cl = bi->cmdline;
	char mode[16] = "", rw[8] = "rw", want_flush[8] = "", want_id[32];
	bool have_id = cmdline_get(cl, "id", want_id, sizeof(want_id));

	cmdline_get(cl, "mode", mode, sizeof(mode));
	cmdline_get(cl, "blk", rw, sizeof(rw));
	cmdline_get(cl, "flush", want_flush, sizeof(want_flush));
	gprintf("cmdline: %s\n", cl);
	vdma_init(bi);
	tsc_khz();

	int n = virtio_discover(bi, devs, VIRTIO_MAX_DEVS);
	for (int i = 0; i < n; i++)
		gprintf("virtio: 0x%lx size 0x%x irq %d version %u id %u vendor 0x%x\n",
			(unsigned long)devs[i].base, devs[i].size, devs[i].irq, devs[i].version,
			devs[i].device_id, devs[i].vendor_id);
	if (!strcmp(mode, "costs"))
		costs(n ? &devs[0] : NULL);
	int idx = (int)cmdline_ul(cl, "dev", 0);
	struct vdev *d = virtio_find(devs, n, VIRTIO_ID_BLOCK, idx);
	if (!d)
		guest_fail("blk: no virtio block device %d (%d virtio devices)", idx, n);

	uint64_t want = VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE |
			VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_SIZE_MAX;
	if (cmdline_ul(cl, "eventidx", 1))
		want |= VIRTIO_F_EVENT_IDX;
	const char *why;
	if (vdev_init(d, want, VQ_MAX_SIZE, &why))
		guest_fail("blk: init at 0x%lx: %s (status 0x%x)", (unsigned long)d->base, why, vstatus(d));
	uint64_t cap = blk_capacity(d);
	bool ro = d->drv_features & VIRTIO_BLK_F_RO, flush = d->drv_features & VIRTIO_BLK_F_FLUSH;
	gprintf("blk: features offered 0x%lx accepted 0x%lx\n", (unsigned long)d->dev_features,
		(unsigned long)d->drv_features);
	gprintf("blk: capacity %lu sectors, queue %u, ro %d, flush %d, event_idx %d\n",
		(unsigned long)cap, d->qsize, ro, flush, !!(d->drv_features & VIRTIO_F_EVENT_IDX));
	if (cmdline_ul(cl, "cap", 0) && cmdline_ul(cl, "cap", 0) != cap)
		guest_fail("blk: capacity %lu, want %lu", (unsigned long)cap, cmdline_ul(cl, "cap", 0));
	if (want_flush[0] && flush != !strcmp(want_flush, "yes"))
		guest_fail("blk: VIRTIO_BLK_F_FLUSH %s, want flush=%s", flush ? "offered" : "not offered",
			   want_flush);
	if (!strcmp(rw, "ro") != ro)
		guest_fail("blk: VIRTIO_BLK_F_RO %s, want blk=%s", ro ? "offered" : "not offered", rw);
	if (cmdline_ul(cl, "irq", 0)) {
		if (!vdev_enable_irq(d, VEC_VIRTIO))
			guest_fail("blk: irq=1 but the device's interrupt line is unknown");
		gprintf("blk: interrupts on IOAPIC pin %d, vector 0x%x\n", d->irq, VEC_VIRTIO);
	}
	if (!strcmp(mode, "bench"))
		bench(d, cl);

	uint32_t chk = (uint32_t)cmdline_ul(cl, "check", 256);
	uint64_t ws = cmdline_ul(cl, "wsector", 37);
	uint32_t wc = (uint32_t)cmdline_ul(cl, "wcount", 11);
	if (chk > cap)
		chk = (uint32_t)cap;
	if (cap < 4 || ws + wc + 1 > cap || wc < 2 || ws < 1)
		guest_fail("blk: drive too small (%lu sectors) for wsector %lu wcount %u", (unsigned long)cap,
			   (unsigned long)ws, wc);
	uint8_t *buf = vdma_alloc(256 * SECTOR, 4096);

	/* 1. read-check the start (in 64 KiB requests) and the last sector */
	for (uint32_t s = 0; s < chk; s += 128)
		read_expect(d, buf, s, chk - s < 128 ? chk - s : 128, &P_FILL, "pattern");
	read_expect(d, buf, cap - 1, 1, &P_FILL, "last sector");
	uint32_t w = 0;
	vfill64(buf, 0xeeeeeeeeeeeeeeeeULL, 8 * SECTOR);
	int st = rw_split(d, VIRTIO_BLK_T_IN, 3, buf, 8, &w);
	if (st != VIRTIO_BLK_S_OK || w != 8 * SECTOR + 1 || check_buf(buf, 3, 8, &P_FILL) >= 0)
		guest_fail("blk: split-buffer read: %s, used.len %u", st_name(st), w);
	gprintf("blk: read %u sectors + last + split-buffer read: pattern ok\n", chk);

	/* 2. writes (or their refusal) */
	fill(buf, ws, wc, &P_WRITE);
	st = blk_rw(d, VIRTIO_BLK_T_OUT, ws, buf, SECTOR, &w, TIMEOUT_US);
	if (ro) {
		if (st != VIRTIO_BLK_S_IOERR)
			guest_fail("blk: write to a read-only drive: %s (%d), want IOERR", st_name(st), st);
		gprintf("blk: write to read-only drive: IOERR\n");
	} else {
		if (st != VIRTIO_BLK_S_OK)
			guest_fail("blk: write sector %lu: %s (%d)", (unsigned long)ws, st_name(st), st);
		st = rw_split(d, VIRTIO_BLK_T_OUT, ws + 1, buf + SECTOR, wc - 1, &w);
		if (st != VIRTIO_BLK_S_OK)
			guest_fail("blk: split-buffer write: %s (%d)", st_name(st), st);
		gprintf("blk: wrote sectors %lu..%lu\n", (unsigned long)ws, (unsigned long)(ws + wc - 1));
	}

	/* 3. flush */
	if (flush) {
		st = blk_rw(d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &w, TIMEOUT_US);
		if (st != VIRTIO_BLK_S_OK)
			guest_fail("blk: FLUSH: %s (%d)", st_name(st), st);
		gprintf("blk: flush: OK\n");
	} else {
		gprintf("blk: flush: not offered\n");
	}

	/* 4. GET_ID */
	char id[VIRTIO_BLK_ID_BYTES + 1];
	memset(id, 0, sizeof(id));
	st = blk_rw(d, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, &w, TIMEOUT_US);
	if (st == VIRTIO_BLK_S_OK)
		gprintf("blk: id '%s'\n", id);
	else
		gprintf("blk: id: %s\n", st_name(st));
	if (have_id && (st != VIRTIO_BLK_S_OK || strcmp(id, want_id)))
		guest_fail("blk: GET_ID '%s' (%s), want '%s'", id, st_name(st), want_id);

	/* 5. read back: written range, one sector either side untouched */
	struct pattern *inside = ro ? &P_FILL : &P_WRITE;
	read_expect(d, buf, ws - 1, 1, &P_FILL, "before the write");
	read_expect(d, buf, ws, wc, inside, "written range");
	read_expect(d, buf, ws + wc, 1, &P_FILL, "after the write");
	gprintf("blk: read back: %s\n", ro ? "unchanged" : "ok");

	/* 6. out of range and unknown requests */
	static const struct {
		uint64_t sector;
		uint32_t nsect;
		const char *what;
	} bad[] = {
		{ 0, 1, "at capacity" },		 /* sector filled in below */
		{ 0, 2, "straddling the end" },
		{ 0xfffffffffffffff0ULL, 1, "sector 2^64-16" },
		{ 0x80000000000000ULL, 1, "byte offset 2^64 (wraps to 0)" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t s = i == 0 ? cap : i == 1 ? cap - 1 : bad[i].sector;
		st = blk_rw(d, VIRTIO_BLK_T_IN, s, buf, bad[i].nsect * SECTOR, &w, TIMEOUT_US);
		if (st != VIRTIO_BLK_S_IOERR)
			guest_fail("blk: read %s: %s (%d), want IOERR", bad[i].what, st_name(st), st);
		if (!ro) {
			st = blk_rw(d, VIRTIO_BLK_T_OUT, s, buf, bad[i].nsect * SECTOR, &w, TIMEOUT_US);
			if (st != VIRTIO_BLK_S_IOERR)
				guest_fail("blk: write %s: %s (%d), want IOERR", bad[i].what, st_name(st), st);
		}
	}
	gprintf("blk: beyond capacity: IOERR\n");
	st = blk_rw(d, 0x77, 0, buf, SECTOR, &w, TIMEOUT_US);
	if (st != VIRTIO_BLK_S_UNSUPP)
		guest_fail("blk: request type 0x77: %s (%d), want UNSUPP", st_name(st), st);
	gprintf("blk: unknown type: UNSUPP\n");
	/* the device still serves after the errors */
	read_expect(d, buf, 0, 8, &P_FILL, "after the errors");

	if (d->vector >= 0) {
		gprintf("blk: irq: %u interrupts, InterruptStatus bits 0x%x\n", d->irqs, d->irq_isr_or);
		if (!d->irqs || !(d->irq_isr_or & 1))
			guest_fail("blk: no used-buffer interrupt");
	}
	gprintf("blk: kicks %lu, suppressed %lu\n", (unsigned long)d->kicks, (unsigned long)d->kicks_suppressed);
	vdev_reset(d);
	guest_exit_success();
}
