/* The device manager: virtio-mmio windows and GSIs handed out in
 * Firecracker's order (balloon, block with the root drive first, net,
 * vsock, entropy), each device's transport on the MMIO bus, one ioeventfd
 * per queue on the event loop, and what the kernel needs to find them: a
 * `virtio_mmio.device=` command-line entry and an ACPI DSDT device. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ember/layout.h"
#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/resources.h"
#include "ember/virtio.h"
#include "ember/virtio_balloon.h"
#include "ember/virtio_blk.h"
#include "ember/virtio_net.h"
#include "ember/virtio_rng.h"
#include "ember/virtio_vsock.h"
#include "ember/vmm.h"

#define QUEUE_NOTIFY_OFF 0x50 /* virtio-mmio QueueNotify: what the ioeventfds match */

/* Window, bus registration and queue doorbells of one transport. */
static int plug(struct vmm *v, struct virtio_dev *d)
{
	int rc = bus_register(&v->vm.mmio, d->base, VIRTIO_MMIO_SIZE, virtio_mmio_io, d);

	for (unsigned q = 0; !rc && q < d->ops->nr_queues; q++) {
		int fd = vm_ioeventfd(&v->vm, d->base + QUEUE_NOTIFY_OFF, q);

		if (fd < 0)
			return fd;
		d->kick[q].fd = fd; /* virtio_dev_init set .fn = virtio_kick_handler */
		rc = evloop_add(&v->loop, &d->kick[q], EPOLLIN);
	}
	if (!rc)
		v->dev.virtio[v->dev.nr_virtio++] = d;
	return rc;
}

/* The next window and GSI; -ENOSPC past GSI 23. */
static int next_slot(struct vmm *v, uint64_t *base, unsigned *irq, int *irq_fd)
{
	unsigned i = v->dev.nr_virtio;

	if (LAYOUT_IRQ_VIRTIO_FIRST + i > LAYOUT_IRQ_LAST)
		return -ENOSPC;
	*base = LAYOUT_VIRTIO_MMIO_START + i * LAYOUT_VIRTIO_MMIO_SIZE;
	*irq = LAYOUT_IRQ_VIRTIO_FIRST + i;
	*irq_fd = vm_irqfd(&v->vm, *irq);
	return *irq_fd < 0 ? *irq_fd : 0;
}

static int add_drives(struct vmm *v, const struct vm_resources *res)
{
	for (size_t i = 0; i < res->n_drives; i++) {
		uint64_t base;
		unsigned irq;
		int irq_fd, rc = next_slot(v, &base, &irq, &irq_fd);

		if (!rc)
			rc = blk_create(&v->dev.blk[i], &res->drives[i], &v->vm.gm, &v->loop, base,
					irq, irq_fd);
		if (rc) {
			log_err("drive '%s': %s", res->drives[i].id, strerror(-rc));
			return rc;
		}
		v->dev.nr_blk = i + 1;
		rc = plug(v, blk_virtio(v->dev.blk[i]));
		if (rc)
			return rc;
	}
	return 0;
}

static int add_balloon(struct vmm *v, const struct vm_resources *res)
{
	uint64_t base;
	unsigned irq;
	int irq_fd, rc;

	if (!res->balloon.set)
		return 0;
	rc = next_slot(v, &base, &irq, &irq_fd);
	if (!rc)
		rc = balloon_create(&v->dev.balloon, &res->balloon, &v->vm.gm, &v->loop, base, irq,
				    irq_fd);
	if (rc) {
		log_err("balloon device: %s", strerror(-rc));
		return rc;
	}
	return plug(v, balloon_virtio(v->dev.balloon));
}

/* net_create logs why an interface failed (the TAP or the comms peer):
 * that line becomes InstanceStart's fault_message, so nothing is logged
 * over it here. */
static int add_nets(struct vmm *v, const struct vm_resources *res)
{
	for (size_t i = 0; i < res->n_nets; i++) {
		uint64_t base;
		unsigned irq;
		int irq_fd, rc = next_slot(v, &base, &irq, &irq_fd);

		if (!rc)
			rc = net_create(&v->dev.net[i], &res->nets[i], &v->vm.gm, &v->loop, base,
					irq, irq_fd);
		if (rc)
			return rc;
		v->dev.nr_net = (unsigned)i + 1;
		rc = plug(v, net_virtio(v->dev.net[i]));
		if (rc)
			return rc;
	}
	return 0;
}

/* vsock_create logs why uds_path could not be bound (e.g. a missing
 * directory): that line becomes InstanceStart's fault_message. */
static int add_vsock(struct vmm *v, const struct vm_resources *res)
{
	uint64_t base;
	unsigned irq;
	int irq_fd, rc;

	if (!res->vsock.set)
		return 0;
	rc = next_slot(v, &base, &irq, &irq_fd);
	if (!rc)
		rc = vsock_create(&v->dev.vsock, &res->vsock, &v->vm.gm, &v->loop, base, irq,
				  irq_fd);
	return rc ? rc : plug(v, vsock_virtio(v->dev.vsock));
}

static int add_entropy(struct vmm *v, const struct vm_resources *res)
{
	uint64_t base;
	unsigned irq;
	int irq_fd, rc;

	if (!res->entropy.set)
		return 0;
	rc = next_slot(v, &base, &irq, &irq_fd);
	if (!rc)
		rc = rng_create(&v->dev.rng, &res->entropy, &v->vm.gm, &v->loop, base, irq, irq_fd);
	if (rc) {
		log_err("entropy device: %s", strerror(-rc));
		return rc;
	}
	return plug(v, rng_virtio(v->dev.rng));
}

int vmm_attach_devices(struct vmm *v, const struct vm_resources *res)
{
	/* Firecracker's attach order fixes the guest's device names. */
	int rc = add_balloon(v, res);

	if (!rc)
		rc = add_drives(v, res);
	if (!rc)
		rc = add_nets(v, res);
	if (!rc)
		rc = add_vsock(v, res);
	return rc ? rc : add_entropy(v, res);
}

void vmm_detach_devices(struct vmm *v)
{
	for (unsigned i = 0; i < v->dev.nr_virtio; i++) {
		struct virtio_dev *d = v->dev.virtio[i];

		for (unsigned q = 0; q < d->ops->nr_queues; q++)
			if (d->kick[q].fd >= 0)
				evloop_del(&v->loop, &d->kick[q]);
	}
	v->dev.nr_virtio = 0;
	for (unsigned i = 0; i < v->dev.nr_blk; i++)
		blk_destroy(v->dev.blk[i]);
	v->dev.nr_blk = 0;
	for (unsigned i = 0; i < v->dev.nr_net; i++)
		net_destroy(v->dev.net[i]);
	v->dev.nr_net = 0;
	memset(v->dev.net_last, 0, sizeof(v->dev.net_last));
	vsock_destroy(v->dev.vsock);
	v->dev.vsock = NULL;
	rng_destroy(v->dev.rng);
	v->dev.rng = NULL;
	balloon_destroy(v->dev.balloon);
	v->dev.balloon = NULL;
	memset(v->dev.blk_last, 0, sizeof(v->dev.blk_last));
}

/* " root=... virtio_mmio.device=4K@0x...:N" for the kernel command line. */
int vmm_devices_cmdline(const struct vmm *v, const struct vm_resources *res, char *buf,
			size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < res->n_drives && i < 1; i++) {
		const struct res_drive *d = &res->drives[i];

		if (!d->root)
			break;
		if (d->partuuid)
			n += (size_t)snprintf(buf + n, len - n, " root=PARTUUID=%s", d->partuuid);
		else
			n += (size_t)snprintf(buf + n, len - n, " root=/dev/vda");
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, " %s", d->read_only ? "ro" : "rw");
	}
	for (unsigned i = 0; i < v->dev.nr_virtio && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " virtio_mmio.device=4K@0x%" PRIx64 ":%u",
				      v->dev.virtio[i]->base, v->dev.virtio[i]->irq);
	return n < len ? 0 : -E2BIG;
}

/* The DSDT's view of the same windows. */
int vmm_devices_acpi(const struct vmm *v, struct boot_mmio_dev *out, int max)
{
	int n = 0;

	for (unsigned i = 0; i < v->dev.nr_virtio && n < max; i++, n++)
		out[n] = (struct boot_mmio_dev){ .base = v->dev.virtio[i]->base,
						 .size = VIRTIO_MMIO_SIZE,
						 .irq = v->dev.virtio[i]->irq };
	return n;
}

#define DELTA(f) (json_int_t)(st.f - last->f)

/* Firecracker's per-drive "block_<drive_id>" group, as deltas. */
static json_t *blk_group(struct blk_dev *b, struct blk_stats *last)
{
	struct blk_stats st;
	json_t *g;

	blk_get_stats(b, &st);
	g = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		      "read_bytes", DELTA(read_bytes), "write_bytes", DELTA(write_bytes),
		      "read_count", DELTA(read_count), "write_count", DELTA(write_count),
		      "flush_count", DELTA(flush_count),
		      "invalid_reqs_count", DELTA(invalid_reqs_count),
		      "execute_fails", DELTA(execute_fails),
		      "queue_event_count", DELTA(queue_event_count),
		      "rate_limiter_event_count", DELTA(rate_limiter_event_count),
		      "rate_limiter_throttled_events", DELTA(rate_limiter_throttled_events),
		      "io_engine_throttled_events", DELTA(io_engine_throttled_events),
		      "update_count", DELTA(update_count), "update_fails", DELTA(update_fails),
		      "event_fails", DELTA(event_fails));
	*last = st;
	return g;
}

/* Firecracker's per-interface "net_<iface_id>" group (NetDeviceMetrics
 * counters), as deltas. */
static json_t *net_group(struct net_dev *n, struct net_stats *last)
{
	struct net_stats st;
	json_t *g = json_object();

	net_get_stats(n, &st);
#define NET_FIELD_(f) \
	if (g && json_object_set_new(g, #f, json_integer(DELTA(f)))) \
		g = (json_decref(g), NULL);
	NET_STATS(NET_FIELD_)
#undef NET_FIELD_
	*last = st;
	return g;
}

void vmm_devices_metrics_groups(json_t *line, void *ctx)
{
	struct vmm *v = ctx;
	char key[96];

	for (unsigned i = 0; i < v->dev.nr_blk && i < v->res->n_drives; i++) {
		snprintf(key, sizeof(key), "block_%s", v->res->drives[i].id);
		json_object_set_new(line, key, blk_group(v->dev.blk[i], &v->dev.blk_last[i]));
	}
	for (unsigned i = 0; i < v->dev.nr_net && i < v->res->n_nets; i++) {
		snprintf(key, sizeof(key), "net_%s", v->res->nets[i].id);
		json_object_set_new(line, key, net_group(v->dev.net[i], &v->dev.net_last[i]));
	}
}

void vmm_devices_metrics(struct vmm *v, struct metrics *m)
{
	for (unsigned i = 0; i < v->dev.nr_blk; i++)
		blk_add_metrics(v->dev.blk[i], m);
	for (unsigned i = 0; i < v->dev.nr_net; i++)
		net_add_metrics(v->dev.net[i], m);
	if (v->dev.rng)
		rng_add_metrics(v->dev.rng, m);
	if (v->dev.vsock)
		vsock_add_metrics(v->dev.vsock, m);
	if (v->dev.balloon)
		balloon_add_metrics(v->dev.balloon, m);
}

struct net_dev *vmm_find_net(struct vmm *v, size_t iface_index)
{
	return iface_index < v->dev.nr_net ? v->dev.net[iface_index] : NULL;
}

struct blk_dev *vmm_find_blk(struct vmm *v, size_t drive_index)
{
	return drive_index < v->dev.nr_blk ? v->dev.blk[drive_index] : NULL;
}
