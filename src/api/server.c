/* The API server: its UNIX socket, the libmicrohttpd daemon and its one
 * thread (api.h). Request handling is in request.c. */
#include "ember/api.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "api_internal.h"
#include "ember/log.h"
#include "ember/rpc.h"

/* Firecracker serves any number of clients one request at a time; the cap
 * only bounds memory (MHD keeps a 32 KiB pool per connection). */
#define API_MAX_CONNECTIONS 128

/* A socket file at `path`: replace it if nobody answers, refuse if someone does. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st)) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		log_err("lstat %s: %s", sa->sun_path, strerror(errno));
		return rc;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("API socket path %s exists and is not a socket", sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		log_err("socket: %s", strerror(errno));
		return rc;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (rc == 0) {
		log_err("another process is serving %s", sa->sun_path);
		return -EADDRINUSE;
	}
	if (rc != -ECONNREFUSED) {
		log_err("connect %s: %s", sa->sun_path, strerror(-rc));
		return rc;
	}
	log_info("Replacing stale API socket %s", sa->sun_path);
	if (unlink(sa->sun_path) && errno != ENOENT) {
		rc = -errno;
		log_err("unlink %s: %s", sa->sun_path, strerror(errno));
		return rc;
	}
	return 0;
}

static int bind_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("API socket path %s is longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	rc = clear_stale(&sa);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		log_err("socket: %s", strerror(errno));
		return rc;
	}
	/* The socket is the VM's control plane: owner-only from creation, not
	 * just after a chmod (umask is process-wide, but only for this instant). */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (rc) {
		log_err("bind %s: %s", path, strerror(-rc));
		goto err_close;
	}
	if (chmod(path, 0600)) {
		rc = -errno;
		log_err("chmod %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	if (listen(fd, SOMAXCONN)) {
		rc = -errno;
		log_err("listen %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	return fd;

err_unlink:
	unlink(path);
err_close:
	close(fd);
	return rc;
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* Mostly about malformed requests: a client could flood the log. */
	log_ratelimited(LOG_WARN, "libmicrohttpd: %s", buf);
}

/* Runs on the API thread (MHD's), before anything else it does for a client. */
static void on_connection(void *cls, struct MHD_Connection *c, void **sock_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct api_server *srv = cls;
	int rc;

	if (srv->thread_named)
		return;
	srv->thread_named = true;
	log_set_thread_name("api");
	rc = pthread_setname_np(pthread_self(), "ember_api");
	if (rc)
		log_warn("pthread_setname_np: %s", strerror(rc));
}

/* MHD's first call for a request: the raw target, before MHD splits off the
 * query and %-decodes it; the returned context becomes the request's con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct api_req *r = calloc(1, sizeof(*r));

	if (!r || !(r->target = strdup(uri))) {
		log_err("API request context: %s", strerror(ENOMEM));
		free(r);
		return NULL; /* api_access answers 500 */
	}
	r->srv = cls;
	atomic_fetch_add(&r->srv->active, 1);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *req_cls;

	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
		log_debug("API connection ended mid-request (libmicrohttpd code %d)", (int)toe);
	if (!r)
		return;
	atomic_fetch_sub(&r->srv->active, 1);
	free(r->target);
	free(r->body);
	free(r);
	*req_cls = NULL;
}

int api_start(struct api_server **out, const char *sock_path, size_t max_payload,
	      struct rpc_channel *ch)
{
	struct api_server *srv;
	int fd, rc;

	if (!out || !sock_path || !ch)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->ch = ch;
	srv->max_payload = max_payload ? max_payload : API_DEFAULT_MAX_PAYLOAD;
	snprintf(srv->path, sizeof(srv->path), "%s", sock_path);
	/* jansson seeds its hash from /dev/urandom on the first object; do it
	 * here, not on the API thread (no open() there under seccomp). A no-op
	 * if already seeded. */
	json_object_seed(0);
	fd = bind_socket(sock_path);
	if (fd < 0) {
		rc = fd;
		goto err_free;
	}
	/* One internal thread, epoll: requests are answered one at a time. */
	srv->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, api_access, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)API_MAX_CONNECTIONS, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, srv, MHD_OPTION_END);
	if (!srv->mhd) {
		/* Not closing fd: MHD closes it on its failure paths, and a second
		 * close could hit a descriptor another thread has just opened. */
		log_err("MHD_start_daemon failed on %s", sock_path);
		unlink(sock_path);
		rc = -EIO;
		goto err_free;
	}
	log_info("API server started on %s", sock_path);
	*out = srv;
	return 0;

err_free:
	free(srv);
	return rc;
}

#define API_STOP_DRAIN_MS 200

void api_stop(struct api_server *srv)
{
	if (!srv)
		return;
	/* The API thread may be waiting in rpc_call for the very thread that
	 * is stopping it: fail that call first, then join. */
	rpc_close(srv->ch);
	/* A request the VMM already answered (say the SendCtrlAltDel that made
	 * the guest reboot) deserves its response: give the API thread a
	 * moment to send what it holds before connections are cut. */
	for (int i = 0; i < API_STOP_DRAIN_MS && atomic_load(&srv->active) > 0; i++)
		usleep(1000);
	MHD_stop_daemon(srv->mhd); /* joins, closes the listening socket */
	if (unlink(srv->path) && errno != ENOENT)
		log_err("unlink %s: %s", srv->path, strerror(errno));
	free(srv);
}
