/* rng: virtio-rng (Firecracker's entropy device, id 4) through
 * lib/virtio.c, polled. Requests `count` single-buffer chains of `chunk`
 * bytes, then one 3-segment chain (512 + 100 + 1000 bytes): every used.len
 * must equal the chain's length, every buffer must hold something other
 * than zeros (each starts zeroed) and differ from the one before.
 *
 * Command line:
 *   count=N      single-buffer requests (default 4)
 *   chunk=N      bytes per request (default 1024, at most 65536)
 *   readable=1   also make available a chain with a readable descriptor:
 *                Firecracker hands it back with used.len 0, untouched, and
 *                keeps serving
 * Output: "cmdline: ...", "virtio: ..." per device, "rng: ..." lines,
 * "rng: elapsed M ms" (guest TSC), "rng: ok N bytes" (N: entropy bytes
 * received), SUCCESS. The host times rate-limited runs itself. */
#include "lib/virtio.h"

#ifndef VIRTIO_ID_RNG
#define VIRTIO_ID_RNG 4
#endif
#define TIMEOUT_US 5000000
#define MAX_CHUNK 65536

static struct vdev devs[VIRTIO_MAX_DEVS];

static bool all_zero(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Make one chain available, kick, wait for it: used.len. */
static uint32_t request(struct vdev *d, const struct vbuf *b, int n, const char *what)
{
	uint32_t id, len;
	int head = vq_add(d, b, n);

	if (head < 0)
		guest_fail("rng: %s: no free descriptors", what);
	vq_publish(d, (uint16_t)head);
	vq_kick(d, false);
	if (!vq_wait(d, &id, &len, TIMEOUT_US))
		guest_fail("rng: %s: no used element within %u ms", what, TIMEOUT_US / 1000);
	if (id != (uint32_t)head)
		guest_fail("rng: %s: used id %u, want %d", what, id, head);
	return len;
}

static uint8_t *zeroed(uint32_t len)
{
	uint8_t *p = vdma_alloc(len, 4096);

	vfill64(p, 0, (len + 7) & ~7u);
	return p;
}

/* count x chunk bytes, one buffer per chain; returns the bytes received. */
static uint64_t singles(struct vdev *d, unsigned long count, uint32_t chunk)
{
	uint8_t *prev = NULL;
	uint64_t got = 0;

	for (unsigned long i = 0; i < count; i++) {
		uint8_t *buf = zeroed(chunk);
		struct vbuf b = { (uintptr_t)buf, chunk, true };
		uint32_t len = request(d, &b, 1, "single buffer");

		if (len != chunk)
			guest_fail("rng: request %lu: used.len %u, want %u", i, len, chunk);
		if (all_zero(buf, chunk))
			guest_fail("rng: request %lu: buffer still all zero", i);
		if (prev && !memcmp(prev, buf, chunk))
			guest_fail("rng: request %lu: same bytes as request %lu", i, i - 1);
		prev = buf;
		got += len;
	}
	gprintf("rng: %lu x %u bytes: filled, all different\n", count, chunk);
	return got;
}

static uint64_t three_segments(struct vdev *d)
{
	static const uint32_t sz[3] = { 512, 100, 1000 };
	uint8_t *p = zeroed(8192);
	/* out of order and apart, so a device that writes one flat buffer shows */
	uint8_t *seg[3] = { p + 4096, p + 16, p + 1024 };
	struct vbuf b[3];

	for (int i = 0; i < 3; i++)
		b[i] = (struct vbuf){ (uintptr_t)seg[i], sz[i], true };
	uint32_t len = request(d, b, 3, "3-segment chain");
	if (len != sz[0] + sz[1] + sz[2])
		guest_fail("rng: 3-segment chain: used.len %u, want %u", len, sz[0] + sz[1] + sz[2]);
	for (int i = 0; i < 3; i++)
		if (all_zero(seg[i], sz[i]))
			guest_fail("rng: 3-segment chain: segment %d still all zero", i);
	if (!all_zero(p, 16) || !all_zero(p + 116, 1024 - 116))
		guest_fail("rng: 3-segment chain: bytes written outside the segments");
	gprintf("rng: 3-segment chain: %u bytes\n", len);
	return len;
}

/* Firecracker: a chain with a readable descriptor gets used.len 0 and the
 * device carries on. */
static void readable(struct vdev *d)
{
	uint8_t *p = vdma_alloc(4096, 4096);

	vfill64(p, 0xababababababababULL, 4096);
	struct vbuf b[2] = { { (uintptr_t)p, 64, false }, { (uintptr_t)(p + 64), 64, true } };
	uint32_t len = request(d, b, 2, "readable chain");
	if (len != 0)
		guest_fail("rng: readable chain: used.len %u, want 0", len);
	for (int i = 0; i < 128; i++)
		if (p[i] != 0xab)
			guest_fail("rng: readable chain: byte %d changed", i);
	gprintf("rng: readable descriptor: used.len 0, untouched\n");
}

void guest_main(const struct boot_info *bi)
{
	const char *cl = bi->cmdline;
	unsigned long count = cmdline_ul(cl, "count", 4);
	uint32_t chunk = (uint32_t)cmdline_ul(cl, "chunk", 1024);
	const char *why;

	gprintf("cmdline: %s\n", cl);
	if (!chunk || chunk > MAX_CHUNK)
		guest_fail("rng: chunk=%u out of range 1..%u", chunk, MAX_CHUNK);
	vdma_init(bi);
	tsc_khz();

	int n = virtio_discover(bi, devs, VIRTIO_MAX_DEVS);
	for (int i = 0; i < n; i++)
		gprintf("virtio: 0x%lx size 0x%x irq %d version %u id %u vendor 0x%x\n",
			(unsigned long)devs[i].base, devs[i].size, devs[i].irq, devs[i].version,
			devs[i].device_id, devs[i].vendor_id);
	struct vdev *d = virtio_find(devs, n, VIRTIO_ID_RNG, 0);
	if (!d)
		guest_fail("rng: no virtio-rng device (%d virtio devices)", n);
	if (vdev_init(d, VIRTIO_F_EVENT_IDX, VQ_MAX_SIZE, &why))
		guest_fail("rng: init at 0x%lx: %s (status 0x%x)", (unsigned long)d->base, why, vstatus(d));
	gprintf("rng: features offered 0x%lx accepted 0x%lx, queue %u\n",
		(unsigned long)d->dev_features, (unsigned long)d->drv_features, d->qsize);

	uint64_t t0 = rdtsc(), got = singles(d, count, chunk);
	got += three_segments(d);
	if (cmdline_ul(cl, "readable", 0))
		readable(d);
	unsigned long ms = (unsigned long)(tsc_us(rdtsc() - t0) / 1000);
	gprintf("rng: kicks %lu, suppressed %lu\n", (unsigned long)d->kicks,
		(unsigned long)d->kicks_suppressed);
	vdev_reset(d);
	gprintf("rng: elapsed %lu ms\n", ms);
	gprintf("rng: ok %lu bytes\n", (unsigned long)got);
	guest_exit_success();
}
