/* The TAP backend, as Firecracker's: /dev/net/tun with IFF_TAP | IFF_NO_PI
 * | IFF_VNET_HDR on host_dev_name, a 12-byte vnet header (TUNSETVNETHDRSZ,
 * virtio_net_hdr_v1 with num_buffers), offloads (TUNSETOFFLOAD) from the
 * driver's GUEST_* features at DRIVER_OK, non-blocking. TX is one writev of
 * the header and the frame; RX reads a frame into a bounce buffer (its
 * length is unknown until read; with MRG_RXBUF it may go to several
 * chains) and copies it from there. The fd is edge-triggered on the loop:
 * RX reads until EAGAIN, or stops with the frame held until the driver
 * posts buffers. Spoofed source MACs are counted, not dropped. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "ember/log.h"
#include "net_internal.h"

struct tap {
	int fd;
	struct evloop_handler h;
	bool added;
	bool held;   /* buf holds a frame not yet consumed */
	size_t held_len; /* bytes after the header */
	struct iovec wv[VIRTQ_MAX_SEGS + 2];
	uint8_t buf[NET_HDR_LEN + NET_MAX_FRAME + 1]; /* +1: a longer read is a too-long frame */
};

static struct tap *tap_of(struct net_dev *n)
{
	return n->be_priv;
}

static uint64_t tap_offloads(struct net_dev *n)
{
	return NET_F(VIRTIO_NET_F_CSUM) | NET_F(VIRTIO_NET_F_GUEST_CSUM) |
	       NET_F(VIRTIO_NET_F_GUEST_TSO4) | NET_F(VIRTIO_NET_F_GUEST_TSO6) |
	       NET_F(VIRTIO_NET_F_HOST_TSO4) | NET_F(VIRTIO_NET_F_HOST_TSO6);
}

/* What the kernel may hand us: only what the driver takes (features_ok
 * made TSO imply GUEST_CSUM, as TUNSETOFFLOAD requires). */
static int set_offload(struct net_dev *n, uint64_t acked)
{
	unsigned flags = 0;

	if (acked & NET_F(VIRTIO_NET_F_GUEST_CSUM))
		flags |= TUN_F_CSUM;
	if (acked & NET_F(VIRTIO_NET_F_GUEST_TSO4))
		flags |= TUN_F_TSO4;
	if (acked & NET_F(VIRTIO_NET_F_GUEST_TSO6))
		flags |= TUN_F_TSO6;
	if (ioctl(tap_of(n)->fd, TUNSETOFFLOAD, flags) < 0) {
		int e = errno;

		log_err("net '%s': ioctl(TUNSETOFFLOAD, %#x): %s", n->id, flags, strerror(e));
		return -e;
	}
	return 0;
}

static int tap_activate(struct net_dev *n, uint64_t acked)
{
	return set_offload(n, acked);
}

static void tap_reset(struct net_dev *n)
{
	set_offload(n, 0); /* the next driver may take fewer offloads */
}

static int tap_tx(struct net_dev *n, const struct virtio_net_hdr_v1 *h, const struct iovec *iov,
		  int iovcnt, size_t len)
{
	struct tap *t = tap_of(n);
	ssize_t w;

	t->wv[0] = (struct iovec){ (void *)h, NET_HDR_LEN };
	memcpy(&t->wv[1], iov, (size_t)iovcnt * sizeof(*iov));
	do
		w = writev(t->fd, t->wv, iovcnt + 1);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)(len + NET_HDR_LEN))
		return 0;
	/* The kernel refuses (EIO: interface down, EINVAL: a header it does
	 * not like) or has no room: the frame is lost, as on a wire. */
	n->st.tap_write_fails++;
	log_ratelimited(LOG_WARN, "net '%s': write to TAP: %s", n->id,
			w < 0 ? strerror(errno) : "short write");
	return w < 0 ? -errno : -EIO;
}

static bool tap_tx_wait(struct net_dev *n, bool may_retry)
{
	return may_retry; /* tap_tx never says -EAGAIN */
}

static int tap_rx_peek(struct net_dev *n, struct net_frame *f)
{
	struct tap *t = tap_of(n);

	while (!t->held) {
		ssize_t r = read(t->fd, t->buf, sizeof(t->buf));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			n->st.tap_read_fails++;
			log_ratelimited(LOG_WARN, "net '%s': read from TAP: %s", n->id,
					strerror(errno));
			return -errno;
		}
		if (r <= (ssize_t)NET_HDR_LEN || r > (ssize_t)(NET_HDR_LEN + NET_MAX_FRAME)) {
			n->st.rx_fails++;
			log_ratelimited(LOG_WARN, "net '%s': TAP frame of %zd bytes dropped", n->id, r);
			continue;
		}
		t->held = true;
		t->held_len = (size_t)r - NET_HDR_LEN;
	}
	memcpy(&f->hdr, t->buf, NET_HDR_LEN);
	f->len = (uint32_t)t->held_len;
	return 1;
}

static size_t tap_rx_copy(struct net_dev *n, size_t off, void *dst, size_t len)
{
	struct tap *t = tap_of(n);

	if (!t->held || off >= t->held_len)
		return 0;
	if (len > t->held_len - off)
		len = t->held_len - off;
	memcpy(dst, t->buf + NET_HDR_LEN + off, len);
	return len;
}

static void tap_rx_consume(struct net_dev *n)
{
	tap_of(n)->held = false;
}

static void tap_destroy(struct net_dev *n)
{
	struct tap *t = tap_of(n);

	if (t->added)
		evloop_del(n->loop, &t->h);
	close(t->fd);
	free(t);
	n->be_priv = NULL;
}

/* Re-arm the edge-triggered TAP: epoll reports it again if still readable. */
static void tap_rx_more(struct net_dev *n)
{
	struct tap *t = tap_of(n);

	if (t->added && evloop_mod(n->loop, &t->h, EPOLLIN | EPOLLET))
		log_ratelimited(LOG_WARN, "net '%s': cannot re-arm the TAP", n->id);
}

static const struct net_backend_ops tap_ops = {
	.name = "tap",
	.offloads = tap_offloads,
	.activate = tap_activate,
	.reset = tap_reset,
	.tx = tap_tx,
	.tx_wait = tap_tx_wait,
	.rx_peek = tap_rx_peek,
	.rx_copy = tap_rx_copy,
	.rx_consume = tap_rx_consume,
	.rx_more = tap_rx_more,
	.destroy = tap_destroy,
};

/* The TAP is readable (edge): serve RX if the driver is ready; a driver
 * not there yet gets what queued up when it activates. */
static void tap_event(struct evloop_handler *h, uint32_t events)
{
	struct net_dev *n = h->ctx;

	pthread_mutex_lock(&n->vdev.lock);
	if (net_live(n, NET_RXQ))
		net_rx_resume(n);
	pthread_mutex_unlock(&n->vdev.lock);
}

/* TUNSETIFF on the named interface (created if absent and we may), then
 * the 12-byte header. */
static int tap_setup(struct net_dev *n, int fd, const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = (int)NET_HDR_LEN;

	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		log_err("net '%s': Open tap device failed: Invalid interface name", n->id);
		return -EINVAL;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		log_err("net '%s': Open tap device failed: ioctl(TUNSETIFF, %s): %s", n->id, name,
			strerror(e));
		return -e;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;

		log_err("net '%s': ioctl(TUNSETVNETHDRSZ, %d) on %s: %s", n->id, hdr, name,
			strerror(e));
		return -e;
	}
	return 0;
}

int net_tap_open(struct net_dev *n, const struct res_net *cfg)
{
	struct tap *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		log_err("net '%s': Open tap device failed: open /dev/net/tun: %s", n->id,
			strerror(-rc));
		goto err_free;
	}
	rc = tap_setup(n, t->fd, cfg->host_dev_name ? cfg->host_dev_name : "");
	if (rc)
		goto err_fd;
	t->h = (struct evloop_handler){ .fd = t->fd, .fn = tap_event, .ctx = n };
	if (n->loop && (rc = evloop_add(n->loop, &t->h, EPOLLIN | EPOLLET)) < 0)
		goto err_fd;
	t->added = n->loop != NULL;
	n->be = &tap_ops;
	n->be_priv = t;
	n->link_up = true; /* a TAP has no carrier we could follow */
	return 0;
err_fd:
	close(t->fd);
err_free:
	free(t);
	return rc;
}
