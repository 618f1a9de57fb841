/* Minimal virtio-mmio driver for the test guests (see virtio.h). */
#include "virtio.h"

#define QEMU_MICROVM_VIRTIO_BASE 0xfeb00000ULL
#define QEMU_MICROVM_VIRTIO_STRIDE 0x200
#define QEMU_MICROVM_VIRTIO_COUNT 24
#define IOAPIC_BASE 0xfec00000ULL
#define IOAPIC2_BASE 0xfec10000ULL
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define VEC_WAKE 0xfd /* LAPIC timer: bounds a sti;hlt wait */
#define DMA_FLOOR (4ULL << 20)

extern char _end[];

/* ---- barriers ------------------------------------------------------------
 * x86 is TSO: stores are seen in program order and loads are not reordered
 * with older loads, so publishing the ring (descriptors -> avail.ring ->
 * avail.idx) and consuming it (used.idx -> used.ring) need only compiler
 * barriers. The full barrier (mfence) is for store->load ordering: the
 * avail.idx store must be globally visible before we read avail_event /
 * used.flags to decide whether to kick (virtio 1.x §2.7.10 lost-wakeup rule),
 * and before the device may read it on the notify. */
static inline void virtio_wmb(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }
static inline void virtio_rmb(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
static inline void virtio_mb(void) { __asm__ volatile("mfence" ::: "memory"); }

/* ---- command-line discovery ----------------------------------------------- */
static bool parse_num(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	unsigned base = 10, nd = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++, nd++) {
		unsigned dgt;
		if (*p >= '0' && *p <= '9')
			dgt = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			dgt = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			dgt = (unsigned)(*p - 'A' + 10);
		else
			break;
		v = v * base + dgt;
	}
	if (!nd)
		return false;
	*pp = p;
	*out = v;
	return true;
}

static bool probe(struct vdev *d, uint64_t base, uint32_t size, int irq)
{
	memset(d, 0, sizeof(*d));
	d->base = base;
	d->size = size;
	d->irq = irq;
	d->vector = -1;
	if (vreg_read(d, VIRTIO_MMIO_MAGIC) != VIRTIO_MAGIC)
		return false;
	d->version = vreg_read(d, VIRTIO_MMIO_VERSION);
	d->device_id = vreg_read(d, VIRTIO_MMIO_DEVICE_ID);
	d->vendor_id = vreg_read(d, VIRTIO_MMIO_VENDOR_ID);
	return true;
}

int virtio_discover(const struct boot_info *bi, struct vdev *devs, int max)
{
	static const char key[] = "virtio_mmio.device=";
	const char *p = bi->cmdline;
	int n = 0, listed = 0;

	while (*p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, sizeof(key) - 1)) {
			while (*p && *p != ' ')
				p++;
			continue;
		}
		p += sizeof(key) - 1;
		uint64_t size, base, irq;
		bool ok = parse_num(&p, &size);
		if (ok && (*p == 'K' || *p == 'k'))
			size <<= 10, p++;
		else if (ok && (*p == 'M' || *p == 'm'))
			size <<= 20, p++;
		ok = ok && *p++ == '@' && parse_num(&p, &base) && *p++ == ':' && parse_num(&p, &irq);
		listed++;
		if (!ok) {
			gprintf("virtio: cannot parse virtio_mmio.device entry %d\n", listed);
		} else if (n < max) {
			if (probe(&devs[n], base, (uint32_t)size, (int)irq))
				n++;
			else
				gprintf("virtio: no magic at 0x%lx\n", (unsigned long)base);
		}
		while (*p && *p != ' ')
			p++;
	}
	if (listed)
		return n;
	/* QEMU microvm without auto-kernel-cmdline: probe its transports;
	 * device id 0 = empty slot. */
	for (int i = 0; i < QEMU_MICROVM_VIRTIO_COUNT && n < max; i++) {
		uint64_t base = QEMU_MICROVM_VIRTIO_BASE + (uint64_t)i * QEMU_MICROVM_VIRTIO_STRIDE;
		if (probe(&devs[n], base, QEMU_MICROVM_VIRTIO_STRIDE, -1) && devs[n].device_id)
			n++;
	}
	return n;
}

struct vdev *virtio_find(struct vdev *devs, int n, uint32_t device_id, int index)
{
	for (int i = 0; i < n; i++)
		if (devs[i].device_id == device_id && index-- == 0)
			return &devs[i];
	return NULL;
}

/* ---- RAM ------------------------------------------------------------------ */
static uint64_t dma_next, dma_limit, ram_end;

void vdma_init(const struct boot_info *bi)
{
	uint64_t start = ((uint64_t)(uintptr_t)_end + 0xfff) & ~0xfffULL;

	if (start < DMA_FLOOR)
		start = DMA_FLOOR;
	ram_end = 0;
	dma_next = dma_limit = 0;
	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct mem_region *m = &bi->mem[i];
		if (m->type != E820_RAM || !m->size)
			continue;
		if (m->addr + m->size > ram_end)
			ram_end = m->addr + m->size;
		/* the region holding `start`, below 4 GiB (identity mapped) */
		if (m->addr <= start && m->addr + m->size > start) {
			dma_next = start;
			dma_limit = m->addr + m->size;
			if (dma_limit > 0xc0000000ULL)
				dma_limit = 0xc0000000ULL;
		}
	}
	if (!dma_next)
		guest_fail("virtio: no RAM at 0x%lx for rings and buffers", (unsigned long)start);
}

uint64_t vdma_ram_end(void) { return ram_end; }

void vfill64(void *dst, uint64_t v, size_t bytes)
{
	size_t n = bytes / 8;
	/* One instruction: on PVM every guest instruction costs ~1 us, a rep
	 * iteration less (tests/guest/README.md). */
	__asm__ volatile("cld; rep stosq" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
	for (size_t i = 0; i < (bytes & 7); i++) /* dst now points past the qwords */
		((uint8_t *)dst)[i] = (uint8_t)(v >> (8 * i));
}

void *vdma_alloc(size_t size, size_t align)
{
	if (align < 4096)
		align = 4096;
	uint64_t a = (dma_next + align - 1) & ~(uint64_t)(align - 1);
	if (!dma_next || a + size > dma_limit)
		guest_fail("virtio: out of DMA memory (%lu bytes wanted)", (unsigned long)size);
	dma_next = a + size;
	return (void *)(uintptr_t)a;
}

/* ---- TSC --------------------------------------------------------------------- */
static uint64_t khz;

uint64_t tsc_khz(void)
{
	if (khz)
		return khz;
	lapic_enable();
	uint64_t t0 = rdtsc();
	lapic_delay_us(20000);
	uint64_t t1 = rdtsc();
	khz = (t1 - t0) / 20;
	if (khz < 100000) /* < 100 MHz: the LAPIC timer did not count */
		khz = 0;
	return khz;
}

uint64_t tsc_us(uint64_t ticks) { return khz ? ticks * 1000 / khz : 0; }

/* ---- registers ------------------------------------------------------------------ */
uint8_t vcfg_read8(const struct vdev *d, uint32_t off)
{
	uint8_t v;
	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(d->base + VIRTIO_MMIO_CONFIG + off) : "memory");
	return v;
}

uint32_t vcfg_read32(const struct vdev *d, uint32_t off) { return vreg_read(d, VIRTIO_MMIO_CONFIG + off); }

uint64_t vcfg_read64(const struct vdev *d, uint32_t off)
{
	for (int tries = 0; tries < 100; tries++) {
		uint32_t gen = vreg_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		uint64_t v = vcfg_read32(d, off) | (uint64_t)vcfg_read32(d, off + 4) << 32;
		if (vreg_read(d, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
			return v;
	}
	guest_fail("virtio: ConfigGeneration never settles");
}

void vdev_reset(struct vdev *d)
{
	vreg_write(d, VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < 100000; i++)
		if (vstatus(d) == 0)
			return;
	guest_fail("virtio@0x%lx: status still 0x%x after reset", (unsigned long)d->base, vstatus(d));
}

uint64_t vdev_read_features(struct vdev *d)
{
	vreg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = vreg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vreg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)vreg_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	d->dev_features = f;
	return f;
}

void vdev_write_features(struct vdev *d, uint64_t f)
{
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	d->drv_features = f;
}

void vdev_set_queue_addrs(struct vdev *d, uint64_t desc, uint64_t avail, uint64_t used)
{
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
}

void vdev_queue_view(struct vdev *view, const struct vdev *d, uint16_t q)
{
	memset(view, 0, sizeof(*view));
	view->base = d->base;
	view->size = d->size;
	view->irq = d->irq;
	view->device_id = d->device_id;
	view->vendor_id = d->vendor_id;
	view->version = d->version;
	view->dev_features = d->dev_features;
	view->drv_features = d->drv_features;
	view->vector = d->vector;
	view->qidx = q;
}

int vdev_setup_queue(struct vdev *d, uint16_t qsize)
{
	vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, d->qidx);
	if (vreg_read(d, VIRTIO_MMIO_QUEUE_READY))
		return -1;
	uint32_t max = vreg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max)
		return -2;
	uint32_t n = qsize ? qsize : VQ_MAX_SIZE;
	if (n > max)
		n = max;
	if (n > VQ_MAX_SIZE)
		n = VQ_MAX_SIZE;
	while (n & (n - 1)) /* split ring: power of two */
		n &= n - 1;
	d->qsize = (uint16_t)n;
	if (!d->ring_mem)
		d->ring_mem = vdma_alloc(3 * 4096, 4096);
	vfill64(d->ring_mem, 0, 3 * 4096);
	d->desc = (struct vring_desc *)d->ring_mem;
	d->avail = (struct vring_avail *)((uint8_t *)d->ring_mem + 4096);
	d->used = (struct vring_used *)((uint8_t *)d->ring_mem + 8192);
	for (uint32_t i = 0; i < n; i++)
		d->desc[i].next = (uint16_t)(i + 1);
	d->free_head = 0;
	d->num_free = (uint16_t)n;
	d->avail_idx = d->last_used = d->kicked_idx = 0;
	if (d->vector < 0)
		d->avail->flags = VRING_AVAIL_F_NO_INTERRUPT; /* polled (a hint) */
	vreg_write(d, VIRTIO_MMIO_QUEUE_NUM, n);
	vdev_set_queue_addrs(d, (uintptr_t)d->desc, (uintptr_t)d->avail, (uintptr_t)d->used);
	vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	if (vreg_read(d, VIRTIO_MMIO_QUEUE_READY) != 1)
		return -3;
	return 0;
}

int vdev_negotiate(struct vdev *d, uint64_t want, const char **why)
{
	const char *dummy;
	uint32_t st;

	if (!why)
		why = &dummy;
	if (vreg_read(d, VIRTIO_MMIO_MAGIC) != VIRTIO_MAGIC)
		return *why = "bad magic", -1;
	if (vreg_read(d, VIRTIO_MMIO_VERSION) != 2)
		return *why = "version is not 2", -2;
	vdev_reset(d);
	vreg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	vreg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	uint64_t f = vdev_read_features(d);
	if (!(f & VIRTIO_F_VERSION_1))
		return *why = "VERSION_1 not offered", -3;
	vdev_write_features(d, f & (want | VIRTIO_F_VERSION_1));
	st = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	vreg_write(d, VIRTIO_MMIO_STATUS, st);
	if (!(vstatus(d) & VIRTIO_STATUS_FEATURES_OK))
		return *why = "FEATURES_OK refused", -4;
	return 0;
}

int vdev_driver_ok(struct vdev *d, const char **why)
{
	const char *dummy;
	uint32_t st = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

	if (!why)
		why = &dummy;
	vreg_write(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	st = vstatus(d);
	if (st & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED) || !(st & VIRTIO_STATUS_DRIVER_OK))
		return *why = "DRIVER_OK not accepted", -6;
	return 0;
}

int vdev_init(struct vdev *d, uint64_t want, uint16_t qsize, const char **why)
{
	const char *dummy;
	int r;

	if (!why)
		why = &dummy;
	r = vdev_negotiate(d, want, why);
	if (r)
		return r;
	r = vdev_setup_queue(d, qsize);
	if (r)
		return *why = r == -1 ? "queue 0 already ready" : r == -2 ? "queue 0 missing (NumMax 0)"
								      : "QueueReady does not read back 1",
		       -5;
	return vdev_driver_ok(d, why);
}

/* ---- queue 0 ---------------------------------------------------------------- */
static inline uint16_t *used_event(struct vdev *d) { return &d->avail->ring[d->qsize]; }
static inline volatile uint16_t *avail_event(struct vdev *d)
{
	return (volatile uint16_t *)&d->used->ring[d->qsize];
}

int vq_add(struct vdev *d, const struct vbuf *bufs, int n)
{
	if (n <= 0 || n > d->num_free)
		return -1;
	uint16_t head = d->free_head, i = head;
	for (int k = 0; k < n; k++) {
		struct vring_desc *desc = &d->desc[i];
		desc->addr = bufs[k].addr;
		desc->len = bufs[k].len;
		desc->flags = (uint16_t)((bufs[k].write ? VRING_DESC_F_WRITE : 0) |
					 (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		i = desc->next; /* the free list is chained through `next` */
	}
	d->free_head = i;
	d->num_free = (uint16_t)(d->num_free - n);
	d->chain_len[head] = (uint16_t)n;
	return head;
}

void vq_publish(struct vdev *d, uint16_t head)
{
	d->avail->ring[d->avail_idx % d->qsize] = head;
	virtio_wmb(); /* descriptors and ring entry before the index */
	d->avail_idx++;
	__atomic_store_n(&d->avail->idx, d->avail_idx, __ATOMIC_RELEASE);
}

void vq_kick(struct vdev *d, bool force)
{
	virtio_mb(); /* avail.idx visible before reading avail_event/used.flags */
	uint16_t old = d->kicked_idx, new = d->avail_idx;
	bool need;

	if (d->drv_features & VIRTIO_F_EVENT_IDX) {
		uint16_t ev = *avail_event(d);
		need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	} else {
		need = !(__atomic_load_n(&d->used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY);
	}
	d->kicked_idx = new;
	if (!need && !force) {
		d->kicks_suppressed++;
		return;
	}
	d->kicks++;
	vreg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, d->qidx);
}

bool vq_get(struct vdev *d, uint32_t *id, uint32_t *len)
{
	if (__atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE) == d->last_used)
		return false;
	virtio_rmb(); /* the index before the element it covers */
	struct vring_used_elem e = d->used->ring[d->last_used % d->qsize];
	d->last_used++;
	if (d->drv_features & VIRTIO_F_EVENT_IDX)
		__atomic_store_n(used_event(d), d->last_used, __ATOMIC_RELEASE);
	if (e.id < d->qsize && d->chain_len[e.id]) {
		uint16_t n = d->chain_len[e.id], i = (uint16_t)e.id;
		for (uint16_t k = 1; k < n; k++)
			i = d->desc[i].next;
		d->desc[i].next = d->free_head;
		d->free_head = (uint16_t)e.id;
		d->num_free = (uint16_t)(d->num_free + n);
		d->chain_len[e.id] = 0;
	} else {
		gprintf("virtio@0x%lx: used id %u is not an outstanding chain\n", (unsigned long)d->base, e.id);
	}
	if (id)
		*id = e.id;
	if (len)
		*len = e.len;
	return true;
}

static volatile uint32_t wake_ticks;
static void on_wake(struct frame *f)
{
	(void)f;
	wake_ticks++;
	lapic_write(LAPIC_EOI, 0);
}

/* Sleep until an interrupt (the device's), or the LAPIC timer `us` later:
 * one-shot on VEC_WAKE (1 GHz bus, divide by 1). With `unless_used`, not
 * at all if a used element is already there. */
static void sleep_bounded(const struct vdev *d, uint32_t us, bool unless_used)
{
	lapic_write(LAPIC_TIMER_DIV, 0xb);
	lapic_write(LAPIC_LVT_TIMER, VEC_WAKE);
	lapic_write(LAPIC_TIMER_INIT, us * 1000);
	if (!unless_used || !vq_pending_used(d))
		sti_hlt();
	cli();
	lapic_write(LAPIC_TIMER_INIT, 0);
}

bool vq_wait(struct vdev *d, uint32_t *id, uint32_t *len, uint32_t timeout_us)
{
	uint64_t k = tsc_khz();
	uint64_t deadline = rdtsc() + (k ? k * timeout_us / 1000 : 0);
	uint64_t spins = k ? 0 : (uint64_t)timeout_us * 100;

	for (uint64_t i = 0;; i++) {
		if (vq_get(d, id, len))
			return true;
		if (k ? rdtsc() > deadline : i > spins)
			return false;
		if (d->vector >= 0)
			sleep_bounded(d, 1000, true);
		else
			cpu_relax();
	}
}

void vdev_idle(const struct vdev *d, uint32_t us)
{
	if (d->vector >= 0)
		sleep_bounded(d, us, false);
	else
		lapic_delay_us(us);
}

/* ---- interrupts ------------------------------------------------------------ */
static struct vdev *irq_dev[256];

static void on_virtio_irq(struct frame *f)
{
	struct vdev *d = irq_dev[f->vector & 0xff];

	if (d) {
		uint32_t isr = vreg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
		vreg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
		d->irqs++;
		d->irq_isr_or |= isr;
	}
	lapic_write(LAPIC_EOI, 0);
}

static void ioapic_write(uint64_t base, uint32_t reg, uint32_t val)
{
	mmio_write32(base, reg);
	mmio_write32(base + 0x10, val);
}

bool vdev_enable_irq(struct vdev *d, int vector)
{
	/* GSI 0-23: the IOAPIC at 0xfec00000; 24-47: QEMU microvm's second
	 * IOAPIC (ioapic2, on with ACPI), which puts its virtio GSIs at 16+. */
	if (d->irq < 0 || d->irq >= 48 || vector < 0x20 || vector > 0xef)
		return false;
	uint64_t ioapic = d->irq < 24 ? IOAPIC_BASE : IOAPIC2_BASE;
	uint32_t pin = (uint32_t)d->irq % 24;
	irq_dev[vector] = d;
	d->vector = vector;
	guest_set_handler((unsigned)vector, on_virtio_irq);
	guest_set_handler(VEC_WAKE, on_wake);
	outb(0x21, 0xff); /* 8259s masked: the GSI reaches us through the IOAPIC only */
	outb(0xa1, 0xff);
	lapic_enable();
	/* edge, active high, fixed delivery to APIC id 0, unmasked */
	ioapic_write(ioapic, IOAPIC_REDTBL(pin) + 1, 0);
	ioapic_write(ioapic, IOAPIC_REDTBL(pin), (uint32_t)vector);
	if (d->avail) {
		d->avail->flags = 0;
		if (d->drv_features & VIRTIO_F_EVENT_IDX)
			*used_event(d) = d->last_used;
	}
	return true;
}

/* ---- virtio-blk ----------------------------------------------------------------- */
uint64_t blk_capacity(const struct vdev *d) { return vcfg_read64(d, 0); }

int blk_rw(struct vdev *d, uint32_t type, uint64_t sector, void *buf, uint32_t len,
	   uint32_t *written, uint32_t timeout_us)
{
	static struct virtio_blk_req_hdr hdr __attribute__((aligned(16)));
	static volatile uint8_t status;
	struct vbuf b[3];
	int n = 0;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	b[n++] = (struct vbuf){ (uintptr_t)&hdr, sizeof(hdr), false };
	if (len)
		b[n++] = (struct vbuf){ (uintptr_t)buf, len, type != VIRTIO_BLK_T_OUT };
	b[n++] = (struct vbuf){ (uintptr_t)&status, 1, true };
	int head = vq_add(d, b, n);
	if (head < 0)
		return -2;
	vq_publish(d, (uint16_t)head);
	vq_kick(d, false);
	uint32_t id, l;
	if (!vq_wait(d, &id, &l, timeout_us))
		return -1;
	if (id != (uint32_t)head)
		return -3;
	if (written)
		*written = l;
	return status;
}
