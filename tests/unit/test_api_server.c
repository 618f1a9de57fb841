/* The API server over a real UNIX socket, with a thread playing the VMM:
 * it echoes route/method/id back as JSON for GETs, answers 204 to PUT/PATCH,
 * and 400 when the body has {"fail": true} ({"deprecated": true} adds the
 * Deprecation header). Clients are raw sockets, hostile ones included; after
 * each case the server must still answer correctly. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/api.h"
#include "ember/api_router.h"
#include "ember/log.h"
#include "ember/rpc.h"

#define MAXP API_DEFAULT_MAX_PAYLOAD

static char dir[64], sock_path[128], log_path[128];
static struct rpc_channel ch;
static struct api_server *srv;
static pthread_t vmm;
static atomic_int vmm_stop; /* set by the main thread, read by the fake VMM */

struct resp {
	int status;
	char head[4096];
	char body[8192];
};

/* ---- the fake VMM thread ------------------------------------------------ */

static void answer(struct rpc_request *r)
{
	json_t *b = r->body;

	r->deprecated = b && json_is_true(json_object_get(b, "deprecated"));
	if (b && json_is_true(json_object_get(b, "fail"))) {
		rpc_fail(r, "Failed as asked on %s.", rpc_route_name(r->route));
		return;
	}
	if (b && json_is_integer(json_object_get(b, "status"))) { /* no reply body */
		r->status = (int)json_integer_value(json_object_get(b, "status"));
		snprintf(r->fault, sizeof(r->fault), "Status %d as asked.", r->status);
		return;
	}
	if (r->method != RPC_GET) {
		r->status = 204;
		return;
	}
	r->status = 200;
	r->reply = json_pack("{s:s, s:s, s:s}", "route", rpc_route_name(r->route), "method",
			     api_method_name(r->method), "id", r->id);
}

static void *vmm_main(void *arg)
{
	while (!vmm_stop) {
		struct pollfd p = { .fd = ch.kick_fd, .events = POLLIN };
		struct rpc_request *r;
		if (poll(&p, 1, 50) <= 0)
			continue;
		while ((r = rpc_next(&ch))) {
			answer(r);
			rpc_complete(&ch, r);
		}
	}
	return NULL;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ember-api-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	if (log_set_path(log_path) || rpc_channel_init(&ch))
		return -1;
	vmm_stop = 0;
	if (pthread_create(&vmm, NULL, vmm_main, NULL))
		return -1;
	return api_start(&srv, sock_path, MAXP, &ch);
}

static int teardown(void **state)
{
	api_stop(srv);
	srv = NULL;
	vmm_stop = 1;
	pthread_join(vmm, NULL);
	rpc_channel_destroy(&ch);
	unlink(log_path);
	return rmdir(dir); /* fails if api_stop left the socket behind */
}

/* ---- a raw HTTP client --------------------------------------------------- */

static int conn(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Send everything; false if the server hung up first. */
static bool put_bytes(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void put_str(int fd, const char *s)
{
	assert_true(put_bytes(fd, s, strlen(s)));
}

/* Read exactly `len` bytes. */
static void get_bytes(int fd, char *buf, size_t len, size_t have_before)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n <= 0)
			fail_msg("connection ended after %zu bytes: %s", have_before,
				 n ? strerror(errno) : "EOF");
		buf += n;
		len -= (size_t)n;
		have_before += (size_t)n;
	}
}

/* Read one response (Content-Length framed), not a byte more: pipelined
 * responses stay in the socket for the next call. */
static void get_resp(int fd, struct resp *r)
{
	size_t hl = 0, bl = 0;
	const char *cl;

	memset(r, 0, sizeof(*r));
	while (hl < 4 || memcmp(r->head + hl - 4, "\r\n\r\n", 4)) {
		assert_true(hl < sizeof(r->head) - 1);
		get_bytes(fd, r->head + hl, 1, hl);
		hl++;
	}
	r->head[hl - 4] = '\0';
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	cl = strcasestr(r->head, "\r\nContent-Length:");
	if (cl)
		bl = strtoul(cl + 17, NULL, 10);
	assert_true(bl < sizeof(r->body));
	get_bytes(fd, r->body, bl, hl);
	r->body[bl] = '\0';
}

/* Did the server close the connection (EOF) within `ms`? */
static bool hung_up(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) != 1)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static void request(int fd, const char *method, const char *path, const char *body,
		    struct resp *r)
{
	char head[512];

	if (body)
		snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 method, path, strlen(body));
	else
		snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
			 method, path);
	put_str(fd, head);
	if (body)
		put_str(fd, body);
	get_resp(fd, r);
}

/* One request on a fresh connection. */
static void once(const char *method, const char *path, const char *body, struct resp *r)
{
	int fd = conn();

	request(fd, method, path, body, r);
	close(fd);
}

static void expect_fault(const struct resp *r, int status, const char *msg)
{
	char want[1024];

	snprintf(want, sizeof(want), "{\"fault_message\":\"%s\"}", msg);
	assert_int_equal(r->status, status);
	assert_string_equal(r->body, want);
	assert_non_null(strcasestr(r->head, "Content-Type: application/json"));
}

/* The server still answers a good request correctly. */
static void still_good(void)
{
	struct resp r;

	once("GET", "/drives/x", NULL, &r);
	expect_fault(&r, 400, "Invalid request method and/or path: GET /drives/x.");
	once("PATCH", "/drives/rootfs", "{\"drive_id\":\"rootfs\"}", &r);
	assert_int_equal(r.status, 204);
	once("GET", "/machine-config", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"route\":\"machine_config\",\"method\":\"GET\",\"id\":\"\"}");
}

/* ---- tests ----------------------------------------------------------------- */

static void test_basic_routes(void **state)
{
	struct resp r;

	once("GET", "/", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"route\":\"instance_info\",\"method\":\"GET\",\"id\":\"\"}");
	assert_non_null(strcasestr(r.head, "Content-Type: application/json"));
	once("PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}", &r);
	assert_int_equal(r.status, 204);
	assert_string_equal(r.body, "");
	assert_null(strcasestr(r.head, "Content-Type"));
	assert_null(strcasestr(r.head, "Deprecation"));
	once("PUT", "/mmds/config", "{\"deprecated\":true}", &r);
	assert_int_equal(r.status, 204);
	assert_non_null(strcasestr(r.head, "\r\nDeprecation: true"));
	once("PUT", "/boot-source", "{\"fail\":true}", &r);
	expect_fault(&r, 400, "Failed as asked on boot_source.");
	assert_null(strcasestr(r.head, "Deprecation"));
	once("PUT", "/boot-source", "{\"fail\":true,\"deprecated\":true}", &r);
	expect_fault(&r, 400, "Failed as asked on boot_source.");
	assert_non_null(strcasestr(r.head, "\r\nDeprecation: true"));
	once("PUT", "/mmds", "{\"status\":413}", &r);
	expect_fault(&r, 413, "Status 413 as asked.");
	once("PUT", "/mmds", "{\"status\":200}", &r); /* 200 without a reply: {} */
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{}");
	once("PUT", "/mmds", "{\"status\":302}", &r); /* a handler bug */
	expect_fault(&r, 500, "Internal error: no valid answer (status 302).");
	once("GET", "/vm/config/", NULL, &r);
	assert_string_equal(r.body, "{\"route\":\"vm_config\",\"method\":\"GET\",\"id\":\"\"}");
}

static void test_routing_errors(void **state)
{
	struct resp r;

	once("POST", "/actions", "{}", &r);
	expect_fault(&r, 400, "Invalid request method and/or path: POST /actions.");
	once("DELETE", "/drives/rootfs", NULL, &r);
	expect_fault(&r, 400, "Invalid request method and/or path: DELETE /drives/rootfs.");
	once("GET", "/machine-config?x=1", NULL, &r);
	expect_fault(&r, 400, "Invalid request method and/or path: GET /machine-config?x=1.");
	once("PUT", "/drives/%2e%2e", "{}", &r);
	expect_fault(&r, 400, "API Resource IDs can only contain alphanumeric characters and "
			      "underscores.");
	once("PUT", "/drives/../x", "{}", &r);
	expect_fault(&r, 400, "API Resource IDs can only contain alphanumeric characters and "
			      "underscores.");
	once("PUT", "/drives/", "{}", &r);
	expect_fault(&r, 400, "The ID cannot be empty.");
	once("GET", "/", "{}", &r);
	expect_fault(&r, 400, "GET request cannot have a body.");
	once("PUT", "/machine-config", NULL, &r);
	expect_fault(&r, 400, "Empty PUT request.");
	once("PATCH", "/vm", "", &r);
	expect_fault(&r, 400, "Empty PATCH request.");
	once("PUT", "/nope", NULL, &r);
	expect_fault(&r, 400, "Empty PUT request.");
	/* Optional bodies: hinting start may have one, stop ignores any. */
	once("PATCH", "/balloon/hinting/start", NULL, &r);
	assert_int_equal(r.status, 204);
	once("PATCH", "/balloon/hinting/start", "{\"fail\":true}", &r);
	expect_fault(&r, 400, "Failed as asked on balloon.");
	once("PATCH", "/balloon/hinting/stop", "not json", &r);
	assert_int_equal(r.status, 204);
	still_good();
}

static void test_bad_json(void **state)
{
	static const struct { const char *body, *msg; } cases[] = {
		{ "{\"a\":", "premature end of input near end of file at line 1 column 5" },
		{ "{\"a\" 1}", "':' expected near '1' at line 1 column 6" },
		{ "{\"a\":1}}", "end of file expected near '}' at line 1 column 8" },
		{ "{\"a\":1,\"a\":2}", "duplicate object key near '\\\"a\\\"' at line 1 column 11" },
		{ "{\"a\":\"\xff\"}", "unable to decode byte 0xff at line 1 column 6" },
		{ "{\"a\":\"\xc3\"}", "unable to decode byte 0xc3 near '\\\"' at line 1 column 6" },
		{ "\xef\xbb\xbf{}", "'[' or '{' expected near '\xef\xbb\xbf' at line 1 column 3" },
	};
	struct resp r;
	char msg[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		once("PUT", "/logger", cases[i].body, &r);
		assert_int_equal(r.status, 400);
		snprintf(msg, sizeof(msg), "{\"fault_message\":\"An error occurred when "
			 "deserializing the json body of a request: ");
		if (strncmp(r.body, msg, strlen(msg)))
			fail_msg("case %zu: %s", i, r.body);
	}
	/* Scalars and NULs reach the handler, which judges them. */
	once("PUT", "/mmds", "5", &r);
	assert_int_equal(r.status, 204);
	once("PUT", "/logger", "{\"log_path\":\"a\\u0000b\"}", &r);
	assert_int_equal(r.status, 204);
	still_good();
}

static void test_keep_alive(void **state)
{
	struct resp r;
	int fd = conn();

	request(fd, "PUT", "/machine-config", "{\"vcpu_count\":2}", &r);
	assert_int_equal(r.status, 204);
	request(fd, "GET", "/machine-config", NULL, &r);
	assert_int_equal(r.status, 200);
	/* errors keep the connection too */
	request(fd, "GET", "/nope", NULL, &r);
	assert_int_equal(r.status, 400);
	request(fd, "PUT", "/logger", "{", &r);
	assert_int_equal(r.status, 400);
	/* two requests in one write (pipelined) */
	put_str(fd, "GET /version HTTP/1.1\r\nHost: x\r\n\r\nGET /drives/a HTTP/1.1\r\nHost: x\r\n\r\n");
	get_resp(fd, &r);
	assert_string_equal(r.body, "{\"route\":\"version\",\"method\":\"GET\",\"id\":\"\"}");
	get_resp(fd, &r);
	assert_int_equal(r.status, 400);
	request(fd, "GET", "/", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_false(hung_up(fd, 100)); /* still open */
	close(fd);
}

static void test_oversized_content_length(void **state)
{
	char head[256], msg[256];
	static char body[MAXP + 2];
	struct resp r;
	int fd;

	/* At the limit: accepted. */
	memset(body, ' ', MAXP);
	body[0] = '{';
	body[MAXP - 1] = '}';
	body[MAXP] = '\0';
	once("PUT", "/mmds", body, &r);
	assert_int_equal(r.status, 204);

	/* One byte over, declared: refused before the body is sent. */
	fd = conn();
	snprintf(head, sizeof(head), "PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
		 MAXP + 1);
	put_str(fd, head);
	get_resp(fd, &r);
	snprintf(msg, sizeof(msg), "Request payload with size %d is larger than the limit of %d "
		 "allowed by server.", MAXP + 1, MAXP);
	expect_fault(&r, 400, msg);
	assert_true(hung_up(fd, 2000));
	close(fd);

	/* Declared and sent anyway (curl with Expect off does this). */
	fd = conn();
	snprintf(head, sizeof(head), "PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
		 4 * MAXP);
	put_str(fd, head);
	for (int i = 0; i < 4 && put_bytes(fd, body, MAXP); i++)
		;
	get_resp(fd, &r);
	assert_int_equal(r.status, 400);
	close(fd);
	still_good();
}

static void send_chunked(int fd, const char *path, const char *data, size_t len, size_t chunk)
{
	char h[64];

	snprintf(h, sizeof(h), "PUT %s HTTP/1.1\r\nHost: x\r\n", path);
	put_str(fd, h);
	put_str(fd, "Transfer-Encoding: chunked\r\n\r\n");
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		snprintf(h, sizeof(h), "%zx\r\n", n);
		put_str(fd, h);
		if (!put_bytes(fd, data + off, n))
			return;
		put_str(fd, "\r\n");
	}
	put_str(fd, "0\r\n\r\n");
}

static void test_chunked(void **state)
{
	static char big[2 * MAXP];
	char msg[256];
	struct resp r;
	int fd;

	/* Within the limit: an ordinary body. */
	fd = conn();
	send_chunked(fd, "/machine-config", "{\"vcpu_count\": 2}", 17, 5);
	get_resp(fd, &r);
	assert_int_equal(r.status, 204);
	send_chunked(fd, "/machine-config", "{\"fail\": true}", 14, 3);
	get_resp(fd, &r);
	expect_fault(&r, 400, "Failed as asked on machine_config.");
	close(fd);

	/* Over the limit with no Content-Length: read to the end, then refused. */
	memset(big, 'x', sizeof(big));
	fd = conn();
	send_chunked(fd, "/mmds", big, sizeof(big), 4096);
	get_resp(fd, &r);
	snprintf(msg, sizeof(msg), "Request payload with size %d is larger than the limit of %d "
		 "allowed by server.", 2 * MAXP, MAXP);
	expect_fault(&r, 400, msg);
	close(fd);

	/* A client that never stops: cut off, not buffered. */
	fd = conn();
	put_str(fd, "PUT /mmds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 64; i++) {
		char h[16];
		snprintf(h, sizeof(h), "%zx\r\n", sizeof(big));
		if (!put_bytes(fd, h, strlen(h)) || !put_bytes(fd, big, sizeof(big)) ||
		    !put_bytes(fd, "\r\n", 2))
			break;
	}
	assert_true(hung_up(fd, 2000));
	close(fd);
	still_good();
}

static void test_one_byte_writes(void **state)
{
	const char *req = "PUT /drives/rootfs HTTP/1.1\r\nHost: localhost\r\n"
			  "Content-Length: 21\r\n\r\n{\"drive_id\":\"rootfs\"}"
			  "GET /balloon/hinting/status HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct resp r;
	int fd = conn();

	for (const char *p = req; *p; p++) {
		assert_true(put_bytes(fd, p, 1));
		if (((p - req) & 15) == 0)
			usleep(200);
	}
	get_resp(fd, &r);
	assert_int_equal(r.status, 204);
	get_resp(fd, &r);
	assert_string_equal(r.body, "{\"route\":\"balloon\",\"method\":\"GET\",\"id\":\"\"}");
	close(fd);
}

static void test_disconnects(void **state)
{
	static const char *const partial[] = {
		"G",
		"GET / HTTP/1.1\r\nHost:",
		"PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":",
		"PUT /mmds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"a\"",
		"PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		int fd = conn();
		put_str(fd, partial[i]);
		usleep(20000);
		close(fd);
	}
	/* A client that leaves before reading its answer. */
	int fd = conn();
	put_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	shutdown(fd, SHUT_RDWR);
	close(fd);
	still_good();
}

static void test_garbage(void **state)
{
	static const char *const junk[] = {
		"\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/9.9\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int fd = conn();
		char buf[4096];
		struct pollfd p = { .fd = fd, .events = POLLIN };
		put_str(fd, junk[i]);
		/* MHD answers most junk with an HTML error and closes; a partial
		 * request line it just waits on (no idle timeout, as Firecracker). */
		shutdown(fd, SHUT_WR);
		while (poll(&p, 1, 300) == 1 && recv(fd, buf, sizeof(buf), 0) > 0)
			;
		close(fd);
	}
	still_good();
}

#define NCONC 50

static void test_concurrent(void **state)
{
	int fds[NCONC];
	struct resp r;

	for (int i = 0; i < NCONC; i++)
		fds[i] = conn();
	for (int i = 0; i < NCONC; i++) {
		char req[128];
		snprintf(req, sizeof(req), "GET /balloon/statistics HTTP/1.1\r\nHost: %d\r\n\r\n", i);
		put_str(fds[NCONC - 1 - i], req);
	}
	for (int i = 0; i < NCONC; i++) {
		get_resp(fds[i], &r);
		assert_int_equal(r.status, 200);
		request(fds[i], "PATCH", "/drives/d", "{}", &r);
		assert_int_equal(r.status, 204);
	}
	for (int i = 0; i < NCONC; i++)
		close(fds[i]);
	still_good();
}

static void test_socket_file(void **state)
{
	struct api_server *other = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char stale[160];
	struct stat st;
	int fd;

	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Someone is serving it: refused, and their socket is left alone. */
	assert_int_equal(api_start(&other, sock_path, 0, &ch), -EADDRINUSE);
	still_good();

	/* A socket file nobody listens on (its process died): replaced. */
	snprintf(stale, sizeof(stale), "%s/stale.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, stale);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(api_start(&other, stale, 0, &ch), 0);
	assert_int_equal(stat(stale, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = conn();
	close(fd);
	api_stop(other);
	assert_int_equal(stat(stale, &st), -1);

	/* Paths that cannot be bound. */
	char longp[200];
	memset(longp, 'p', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(api_start(&other, longp, 0, &ch), -ENAMETOOLONG);
	assert_int_equal(api_start(&other, "/nonexistent-dir/api.sock", 0, &ch), -ENOENT);
	assert_int_equal(api_start(&other, NULL, 0, &ch), -EINVAL);
	api_stop(NULL);

	/* Not a socket: never unlinked. */
	fd = open(stale, O_CREAT | O_WRONLY, 0644);
	close(fd);
	assert_int_equal(api_start(&other, stale, 0, &ch), -EEXIST);
	assert_int_equal(stat(stale, &st), 0);
	unlink(stale);
}

/* api_stop above closed the channel (it was given the same one): every
 * request is now answered "The VMM is shutting down.", and nothing hangs. */
static void test_vmm_gone(void **state)
{
	struct resp r;

	rpc_close(&ch);
	once("GET", "/", NULL, &r);
	expect_fault(&r, 400, "The VMM is shutting down.");
	once("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", &r);
	expect_fault(&r, 400, "The VMM is shutting down.");
	once("GET", "/nope", NULL, &r);
	expect_fault(&r, 400, "Invalid request method and/or path: GET /nope.");
}

static void test_log_lines(void **state)
{
	struct resp r;
	char buf[16384];
	ssize_t n;
	int fd;

	once("PUT", "/machine-config", "{\"vcpu_count\":\n1}", &r);
	once("PUT", "/mmds", "{\"secret\":1}", &r);
	once("GET", "/x\x1b[2J", NULL, &r);
	fd = open(log_path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, ":api:INFO] The API server received a Put request on "
				    "\"/machine-config\" with body \"{\\\"vcpu_count\\\":\\n1}\"."));
	assert_non_null(strstr(buf, "The request was executed successfully. Status code: 204 "
				    "No Content."));
	assert_non_null(strstr(buf, "The API server received a Put request on \"/mmds\"."));
	assert_null(strstr(buf, "secret"));
	assert_non_null(strstr(buf, "received a Get request on \"/x\\x1b[2J\"."));
	assert_non_null(strstr(buf, ":api:ERROR] Received Error. Status code: 400 Bad Request. "
				    "Message: Invalid request method and/or path: GET /x?[2J."));
	assert_null(strchr(buf, '\x1b'));
}

/* `test_api_server --serve PATH`: the server and fake VMM without the tests,
 * until SIGINT/SIGTERM, for poking at by hand (curl, tests/api/hostile.py). */
static int serve(const char *path)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	snprintf(sock_path, sizeof(sock_path), "%s", path);
	if (rpc_channel_init(&ch) || pthread_create(&vmm, NULL, vmm_main, NULL) ||
	    api_start(&srv, sock_path, MAXP, &ch))
		return 1;
	sigwait(&set, &sig);
	api_stop(srv);
	vmm_stop = 1;
	pthread_join(vmm, NULL);
	rpc_channel_destroy(&ch);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--serve"))
		return serve(argv[2]);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routing_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_byte_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_lines, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
