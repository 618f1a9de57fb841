/* The comms ring's control channel: UNIX SOCK_SEQPACKET handshake that
 * passes the region memfd and the doorbells (docs/comms-ring.md,
 * "Handshake"). Each step waits at most COMMS_STEP_TIMEOUT_MS; every
 * received message is checked (size, magic, type, length, fd count) before
 * its contents are used, and any fd that arrives with a refused message is
 * closed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "ember/comms_ctl.h"
#include "ember/log.h"
#include "ember/unix_sock.h"
#include "comms_ctl_io.h"

/* The peer's doorbell must be an anonymous-inode file (an eventfd; the
 * other kinds fail writes at once), made non-blocking: a FIFO nobody
 * reads or a FUSE file that ignores O_NONBLOCK could block our data path
 * on every kick. fstatfs needs no /proc (a jail has none). 0 or -errno. */
static int peer_bell(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return -errno;
	if (sf.f_type != ANON_INODE_FS_MAGIC)
		return -EPROTO;
	return fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void link_reset(struct comms_link *l)
{
	memset(l, 0, sizeof(*l));
	l->ctl_fd = l->doorbell_rx = l->doorbell_tx = -1;
}

/* Tell the peer why (best effort), then drop the connection. */
static void refuse(int fd, int rc, const char *why)
{
	struct comms_msg m;

	comms_msg_disconnect(&m, (uint32_t)-rc, why);
	comms_io_send(fd, &m, NULL, 0);
	close(fd);
}

static void link_up(struct comms_link *l, int ctl, int bell_rx, int bell_tx, void *base,
		    size_t len, bool server, uint64_t sid, uint32_t version,
		    const struct comms_params *p)
{
	l->ctl_fd = ctl;
	l->doorbell_rx = bell_rx;
	l->doorbell_tx = bell_tx;
	l->base = base;
	l->len = len;
	l->server = server;
	l->session_id = sid;
	l->version = version;
	l->p = *p;
	ring_tx_init(&l->tx, base, &p->geom, server ? RING_S2C : RING_C2S);
	ring_rx_init(&l->rx, base, &p->geom, server ? RING_C2S : RING_S2C);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Non-blocking: a full backlog is -EAGAIN at once, not a hang. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* The server's answer must fit what we asked for. */
static bool region_fits(const struct comms_params *want, const struct comms_params *got)
{
	return got->geom.slots <= want->geom.slots && got->geom.slot_size <= want->geom.slot_size &&
	       !(got->features & ~want->features) && !memcmp(got->mac, want->mac, 6) &&
	       (!want->mtu || (got->mtu && got->mtu <= want->mtu));
}

/* Client steps after HELLO: INIT out, REGION in, map, READY out. */
static int client_region(int fd, uint32_t version, const struct comms_params *want,
			 struct comms_link *out, char *err, size_t errlen)
{
	struct comms_params p;
	struct comms_msg m;
	uint32_t rv;
	uint64_t sid;
	void *base;
	size_t len;
	int fds[2], bell, rc;

	comms_msg_init(&m, version, want);
	if ((rc = comms_io_send(fd, &m, NULL, 0)))
		return fail(err, errlen, rc, "send INIT: %s", strerror(-rc));
	if ((rc = comms_io_recv(fd, &m, fds, 2, err, errlen)))
		return rc;
	if (comms_parse_region(&m, sizeof(m), &rv, &sid, &p) || rv != version ||
	    !region_fits(want, &p)) {
		comms_io_close_fds(fds, 2);
		return fail(err, errlen, -EPROTO, "malformed or unrequested REGION");
	}
	rc = ring_region_map(fds[0], &p.geom, sid, &base, &len);
	close(fds[0]);
	if (rc) {
		close(fds[1]);
		return fail(err, errlen, rc, "region refused: %s", strerror(-rc));
	}
	bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	comms_msg_ready(&m);
	rc = bell < 0 ? -errno : comms_io_send(fd, &m, &bell, 1);
	if (rc == 0)
		rc = peer_bell(fds[1]);
	if (rc) {
		if (bell >= 0)
			close(bell);
		close(fds[1]);
		ring_region_unmap(base, len);
		return fail(err, errlen, rc, "READY: %s", strerror(-rc));
	}
	link_up(out, fd, bell, fds[1], base, len, false, sid, version, &p);
	return 0;
}

int comms_connect(const char *path, const struct comms_params *want, struct comms_link *out,
		  char *err, size_t errlen)
{
	struct comms_params offer;
	struct comms_msg m;
	uint32_t vmin, vmax, v;
	int fd, rc;

	link_reset(out);
	if (!want || !ring_geom_valid(&want->geom))
		return fail(err, errlen, -EINVAL, "invalid wanted geometry");
	fd = unix_connect(path);
	if (fd < 0)
		return fail(err, errlen, fd, "connect %s: %s", path ? path : "(null)", strerror(-fd));
	if ((rc = comms_io_recv(fd, &m, NULL, 0, err, errlen)))
		goto out_close;
	if (comms_parse_hello(&m, sizeof(m), &vmin, &vmax, &offer)) {
		rc = fail(err, errlen, -EPROTO, "malformed HELLO");
		goto out_refuse;
	}
	v = vmax < COMMS_VERSION_MAX ? vmax : COMMS_VERSION_MAX;
	if (v < vmin || v < COMMS_VERSION_MIN) {
		rc = fail(err, errlen, -EPROTO, "no common version (server %u..%u)", vmin, vmax);
		goto out_refuse;
	}
	rc = client_region(fd, v, want, out, err, errlen);
	if (rc == 0)
		return 0;
out_refuse:
	refuse(fd, rc, err && errlen ? err : "handshake failed");
	return rc;
out_close:
	close(fd);
	return rc;
}

/* Server steps after HELLO: INIT in, region out, READY in. */
static int server_region(int fd, const struct comms_params *offer, struct comms_link *out,
			 char *err, size_t errlen)
{
	struct comms_params want, p;
	struct comms_msg m;
	uint32_t version;
	uint64_t sid;
	void *base = NULL;
	size_t len = 0;
	int fds[2] = { -1, -1 }, bell_tx, rc;

	if ((rc = comms_io_recv(fd, &m, NULL, 0, err, errlen)))
		return rc;
	if (comms_parse_init(&m, sizeof(m), &version, &want) || comms_negotiate(offer, &want, &p))
		return fail(err, errlen, -EPROTO, "malformed INIT");
	if (getrandom(&sid, sizeof(sid), 0) != (ssize_t)sizeof(sid))
		return fail(err, errlen, -EIO, "getrandom: %s", strerror(errno));
	fds[0] = ring_region_create(&p.geom, sid);
	if (fds[0] < 0)
		return fail(err, errlen, fds[0], "region: %s", strerror(-fds[0]));
	rc = ring_region_map(fds[0], &p.geom, sid, &base, &len);
	fds[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rc == 0 && fds[1] < 0)
		rc = -errno;
	if (rc == 0) {
		comms_msg_region(&m, version, sid, &p);
		rc = comms_io_send(fd, &m, fds, 2);
	}
	close(fds[0]); /* the peer has its own reference now; our mapping stays */
	if (rc == 0 && (rc = comms_io_recv(fd, &m, &bell_tx, 1, err, errlen)) == 0) {
		if (comms_parse_ready(&m, sizeof(m)))
			rc = fail(err, errlen, -EPROTO, "malformed READY");
		else
			rc = peer_bell(bell_tx);
		if (rc)
			close(bell_tx);
	}
	if (rc) {
		if (fds[1] >= 0)
			close(fds[1]);
		ring_region_unmap(base, len);
		return err && errlen && *err ? rc : fail(err, errlen, rc, "%s", strerror(-rc));
	}
	link_up(out, fd, fds[1], bell_tx, base, len, true, sid, version, &p);
	return 0;
}

int comms_accept(int fd, const struct comms_params *offer, struct comms_link *out, char *err,
		 size_t errlen)
{
	struct comms_msg m;
	int rc;

	link_reset(out);
	if (err && errlen)
		*err = '\0';
	if (!offer || !ring_geom_valid(&offer->geom)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "invalid offer");
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, rc, "fcntl: %s", strerror(-rc));
	}
	comms_msg_hello(&m, offer);
	rc = comms_io_send(fd, &m, NULL, 0);
	if (rc == 0)
		rc = server_region(fd, offer, out, err, errlen);
	else
		fail(err, errlen, rc, "send HELLO: %s", strerror(-rc));
	if (rc)
		refuse(fd, rc, err && errlen ? err : "handshake failed");
	return rc;
}

int comms_listen(const char *path)
{
	int fd = usock_listen(path, SOCK_SEQPACKET, 64);

	if (fd < 0)
		log_err("comms: listen on %s: %s", path ? path : "(null)", strerror(-fd));
	return fd;
}

void comms_kick(struct comms_link *l)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, so the peer has a wake-up pending. */
	if (l->doorbell_tx >= 0 && write(l->doorbell_tx, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "comms: kick: %s", strerror(errno));
}

void comms_drain(struct comms_link *l)
{
	uint64_t v;

	if (l->doorbell_rx >= 0 && read(l->doorbell_rx, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "comms: doorbell read: %s", strerror(errno));
}

/* Only an established link (one with a mapping) owns fds: a zeroed struct
 * has fd fields 0, which must not be closed. */
void comms_link_close(struct comms_link *l, const char *reason)
{
	struct comms_msg m;

	if (!l)
		return;
	if (l->base) {
		if (l->ctl_fd >= 0) {
			comms_msg_disconnect(&m, 0, reason ? reason : "closed");
			comms_io_send_now(l->ctl_fd, &m);
			close(l->ctl_fd);
		}
		if (l->doorbell_rx >= 0)
			close(l->doorbell_rx);
		if (l->doorbell_tx >= 0)
			close(l->doorbell_tx);
		ring_region_unmap(l->base, l->len);
	}
	link_reset(l);
}
