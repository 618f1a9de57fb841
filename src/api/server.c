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
#include "ember/unix_sock.h"

/* Firecracker serves any number of clients one request at a time; the cap
 * only bounds memory (MHD keeps a 32 KiB pool per connection). */
#define API_MAX_CONNECTIONS 128

/* The VM's control plane: owner-only, a live socket refused, a stale
 * one replaced (unix_sock.h). */
static int bind_socket(const char *path)
{
	int fd = usock_listen(path, SOCK_STREAM | SOCK_NONBLOCK, SOMAXCONN);

	if (fd == -EADDRINUSE)
		log_err("another process is serving %s", path);
	else if (fd == -EEXIST)
		log_err("API socket path %s exists and is not a socket", path);
	else if (fd < 0)
		log_err("API socket %s: %s", path, strerror(-fd));
	return fd;
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
