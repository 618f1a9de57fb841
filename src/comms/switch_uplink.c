/* ember-switch's TAP uplink: /dev/net/tun with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR and a 12-byte virtio_net_hdr_v1, so the comms frames'
 * headers (checksum and segmentation offload) pass to and from the host
 * stack untouched; non-blocking; created (or attached) and brought up. */
#include "switch_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "ember/log.h"

_Static_assert(sizeof(struct ring_vnet_hdr) == SW_VNET_HDR, "vnet header size");

static int bring_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			rc = -errno;
	}
	if (rc)
		log_err("switch: bring %s up: %s", name, strerror(-rc));
	close(fd);
	return rc;
}

int sw_tap_offload(int fd, uint32_t f)
{
	unsigned off = 0;

	if (f & COMMS_F_CSUM)
		off |= TUN_F_CSUM;
	if ((f & COMMS_F_CSUM) && (f & COMMS_F_GSO))
		off |= TUN_F_TSO4 | TUN_F_TSO6;
	if (ioctl(fd, TUNSETOFFLOAD, off) < 0) {
		log_err("switch: TUNSETOFFLOAD %#x: %s", off, strerror(errno));
		return -errno;
	}
	return 0;
}

int sw_tap_open(const char *name, int *out)
{
	struct ifreq ifr = { 0 };
	int fd, hs = SW_VNET_HDR, rc;
	const char *what = "open /dev/net/tun";

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	what = "TUNSETIFF";
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	what = "TUNSETVNETHDRSZ";
	if (ioctl(fd, TUNSETVNETHDRSZ, &hs) < 0)
		goto fail;
	if ((rc = sw_tap_offload(fd, COMMS_F_KNOWN)) || (rc = bring_up(ifr.ifr_name))) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
fail:
	rc = -errno;
	log_err("switch: tap %s: %s: %s", name, what, strerror(-rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

int sw_tap_write(int fd, const struct ring_vnet_hdr *h, const struct iovec *iov, int iovcnt,
		 size_t len)
{
	struct iovec v[SW_MAX_IOV + 2];
	ssize_t n;

	if (iovcnt > SW_MAX_IOV + 1)
		return -EINVAL;
	v[0] = (struct iovec){ .iov_base = (void *)h, .iov_len = SW_VNET_HDR };
	memcpy(v + 1, iov, (size_t)iovcnt * sizeof(*iov));
	n = writev(fd, v, iovcnt + 1);
	if (n < 0) {
		int e = errno;

		if (e != EAGAIN)
			log_ratelimited(LOG_WARN, "switch: tap write: %s", strerror(e));
		return -e;
	}
	return (size_t)n == SW_VNET_HDR + len ? 0 : -EIO;
}

ssize_t sw_tap_read(int fd, uint8_t *buf, size_t size)
{
	ssize_t n = read(fd, buf, size);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	return n;
}
