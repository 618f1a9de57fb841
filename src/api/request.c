/* One API request: accumulate the body within the payload limit, route it,
 * parse the JSON, hand it to the VMM thread and render Firecracker's answer
 * (PUT/PATCH 204 with no body, GET 200 + JSON, errors {"fault_message"}). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_internal.h"
#include "ember/api_router.h"
#include "ember/json_util.h"
#include "ember/log.h"
#include "ember/rpc.h"

#define LOG_BODY_MAX 600

/* `src` quoted for a log line: control bytes and non-ASCII escaped, so a
 * client cannot forge log lines. */
static void quote(char *dst, size_t size, const char *src, size_t len)
{
	size_t o = 0;

	dst[o++] = '"';
	for (size_t i = 0; i < len && o + 12 < size; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(dst + o, size - o, "\\%c", ch);
		else if (ch == '\n')
			o += (size_t)snprintf(dst + o, size - o, "\\n");
		else if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", ch);
		else
			dst[o++] = (char)ch;
		if (i + 1 < len && o + 12 >= size)
			o += (size_t)snprintf(dst + o, size - o, "...");
	}
	snprintf(dst + o, size - o, "\"");
}

/* Firecracker's "The API server received a Put request on "/x" with body "..."." */
static void log_received(const char *method, const struct api_req *r, const struct api_route *rt)
{
	static const char *const names[][2] = {
		{ "GET", "Get" }, { "PUT", "Put" }, { "PATCH", "Patch" }, { "DELETE", "Delete" },
	};
	char mq[40], path[160], body[LOG_BODY_MAX + 16];
	const char *m = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(method, names[i][0]))
			m = names[i][1];
	if (!m) { /* any token the client sent: quoted like the path */
		quote(mq, sizeof(mq), method, strlen(method));
		m = mq;
	}
	quote(path, sizeof(path), r->target, strlen(r->target));
	if (!r->len || (rt && rt->route == ROUTE_MMDS)) {
		log_info("The API server received a %s request on %s.", m, path);
	} else if (rt && rt->route == ROUTE_CPU_CONFIG && log_get_level() < LOG_DEBUG) {
		log_info("The API server received a %s request on %s. To view the CPU template "
			 "received by the API, configure log-level to DEBUG.", m, path);
	} else {
		quote(body, sizeof(body), r->body, r->len);
		log_info("The API server received a %s request on %s with body %s.", m, path, body);
	}
}

/* Queue `status` with `json` (malloc'd, taken; NULL = no body). */
static enum MHD_Result send_reply(struct MHD_Connection *c, unsigned status, char *json,
				  bool deprecated)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = json ? MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE)
		    : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		log_err("MHD_create_response_from_buffer failed");
		free(json);
		return MHD_NO;
	}
	if (json)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (deprecated)
		MHD_add_response_header(resp, "Deprecation", "true");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* {"fault_message": msg}; bytes that are not UTF-8 (a raw path quoted back)
 * become '?' so the body is always valid JSON. */
static char *fault_json(const char *msg)
{
	json_t *s = json_string(msg), *obj;
	char *out;

	if (!s) {
		char clean[RPC_FAULT_LEN + 64];
		snprintf(clean, sizeof(clean), "%s", msg);
		for (char *p = clean; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		s = json_string(clean);
	}
	obj = json_pack("{s:o*}", "fault_message", s);
	out = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return out; /* NULL (out of memory): a 400 without a body */
}

static enum MHD_Result send_fault(struct MHD_Connection *c, unsigned status, const char *msg,
				  bool deprecated)
{
	char shown[RPC_FAULT_LEN + 64];

	/* The message may quote the client's path: no raw control bytes in logs. */
	for (size_t i = 0; i < sizeof(shown) && (shown[i] = msg[i]); i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			shown[i] = '?';
	shown[sizeof(shown) - 1] = '\0';
	log_err("Received Error. Status code: %u %s. Message: %s", status,
		MHD_get_reason_phrase_for(status), shown);
	return send_reply(c, status, fault_json(msg), deprecated);
}

__attribute__((format(printf, 3, 4)))
static enum MHD_Result fail(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[RPC_FAULT_LEN + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return send_fault(c, status, msg, false);
}

/* The VMM thread's answer to HTTP. */
static enum MHD_Result render(struct MHD_Connection *c, struct rpc_request *req)
{
	char *json = NULL;

	if (req->status >= 400) {
		/* Deprecated input is flagged even when the request fails, as in
		 * Firecracker. */
		json_decref(req->reply);
		req->fault[sizeof(req->fault) - 1] = '\0';
		return send_fault(c, (unsigned)req->status, req->fault, req->deprecated);
	}
	if (req->status == 200) {
		json = req->reply ? json_dumps(req->reply, JSON_COMPACT | JSON_ENCODE_ANY)
				  : strdup("{}");
		json_decref(req->reply);
		if (!json)
			return fail(c, 500, "Could not serialize the response.");
	} else if (req->status != 204) {
		/* A handler bug, not the client's fault: say so rather than guess. */
		json_decref(req->reply);
		return fail(c, 500, "Internal error: no valid answer (status %d).", req->status);
	}
	log_info("The request was executed successfully. Status code: %d %s.", req->status,
		 MHD_get_reason_phrase_for((unsigned)req->status));
	return send_reply(c, (unsigned)req->status, json, req->deprecated);
}

static enum MHD_Result dispatch(struct api_req *r, struct MHD_Connection *c,
				const struct api_route *rt)
{
	struct rpc_request req = { .route = rt->route, .method = rt->method };
	json_error_t je;
	int rc;

	memcpy(req.id, rt->id, sizeof(req.id));
	if (r->len && !api_body_ignored(rt->route, rt->method)) {
		/* DECODE_ANY: a scalar body gets the handler's serde-style type
		 * error; ALLOW_NUL: handlers judge embedded NULs (JX_NUL_OK). */
		req.body = json_loadb(r->body, r->len,
				      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
		if (!req.body)
			return fail(c, 400, JX_DESER_PREFIX "%s at line %d column %d.", je.text,
				    je.line, je.column);
	}
	rc = rpc_call(r->srv->ch, &req);
	json_decref(req.body);
	if (rc)
		return fail(c, 400, "The VMM is shutting down.");
	return render(c, &req);
}

static enum MHD_Result too_big(struct api_req *r, struct MHD_Connection *c, const char *method,
			       size_t size)
{
	log_received(method, r, NULL);
	return fail(c, 400, "Request payload with size %zu is larger than the limit of %zu "
			    "allowed by server.", size, r->srv->max_payload);
}

/* Whole request received: the checks Firecracker's router makes, in its order. */
static enum MHD_Result finish(struct api_req *r, struct MHD_Connection *c, const char *method)
{
	struct api_route rt;
	char err[RPC_FAULT_LEN];
	bool put = !strcmp(method, "PUT"), patch = !strcmp(method, "PATCH");
	int rc;

	if (r->too_big)
		return too_big(r, c, method, r->seen);
	rc = api_route(method, r->target, &rt, err, sizeof(err));
	log_received(method, r, rc ? NULL : &rt);
	if (!strcmp(method, "GET") && r->len)
		return fail(c, 400, "GET request cannot have a body.");
	if ((put || patch) && !r->len && !(rc == 0 && api_body_optional(rt.route, rt.method)))
		return fail(c, 400, "Empty %s request.", method);
	if (rc)
		return fail(c, 400, "%s", err);
	return dispatch(r, c, &rt);
}

/* Append a piece of body, or count it once past the limit. */
static void take(struct api_req *r, const char *data, size_t n)
{
	size_t max = r->srv->max_payload;

	r->seen += n;
	if (r->too_big)
		return;
	if (r->len + n > max) {
		/* Stop buffering at once: an oversized body is never parsed. */
		r->too_big = true;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return;
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		while (cap < r->len + n)
			cap *= 2;
		char *nb = realloc(r->body, cap < max ? cap : max);
		if (!nb) {
			log_err("API request body: %s", strerror(ENOMEM));
			r->too_big = true; /* answered as oversized: better than a lie of success */
			return;
		}
		r->body = nb;
		r->cap = cap < max ? cap : max;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
}

/* Headers received: refuse a declared oversized body before reading it. */
static enum MHD_Result headers_done(struct api_req *r, struct MHD_Connection *c,
				    const char *method)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	r->started = true;
	if (!cl)
		return MHD_YES;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno || end == cl || n <= r->srv->max_payload)
		return MHD_YES; /* MHD itself rejects a malformed Content-Length */
	/* Queued before the body is read: MHD then closes the connection,
	 * which is the only safe thing to do with an unread body. */
	return too_big(r, c, method, (size_t)n);
}

enum MHD_Result api_access(void *cls, struct MHD_Connection *c, const char *url,
			   const char *method, const char *version, const char *data,
			   size_t *data_size, void **req_cls)
{
	struct api_req *r = *req_cls;

	if (!r)
		return MHD_NO; /* out of memory in on_uri: drop the connection */
	if (!r->started)
		return headers_done(r, c, method);
	if (*data_size) {
		take(r, data, *data_size);
		*data_size = 0;
		if (r->too_big && r->seen > r->srv->max_payload + API_DISCARD_SLACK) {
			log_ratelimited(LOG_WARN, "API client kept sending %zu bytes past the "
					"payload limit; closing its connection", r->seen);
			return MHD_NO;
		}
		return MHD_YES;
	}
	return finish(r, c, method);
}
