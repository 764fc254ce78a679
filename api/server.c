/*
 * server.c — the API's HTTP side: libmicrohttpd with a pool of threads,
 * request bodies up to api.max_body, bearer tokens, rate limits, the
 * Idempotency-Key replay store, and JSON or RFC 9457 problem replies.
 * Paths outside /api/ are the web console's (console.c).
 *
 * A request goes: route (404 / 405), token (401 / 403), rate limit (429),
 * body size (413), Idempotency-Key (replay, 409 while the first is in
 * flight, 422 if the body differs), then the route's handler. Every
 * answer to a token carries the RateLimit-Policy and RateLimit fields of
 * the IETF draft (draft-ietf-httpapi-ratelimit-headers). A handler may
 * answer with a response of its own instead of a reply (call->stream:
 * live.c's event streams, which is why connections may be suspended).
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_int.h"
#include "drover/clock.h"
#include "drover/digest.h"
#include "drover/httpd.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/redis.h"
#include "drover/str.h"

#define API_CONNECTION_LIMIT   256
#define API_CONNECTION_TIMEOUT 30     /* idle seconds */
#define IDEM_PENDING_S         60     /* first request's claim on a key */
#define IDEM_KEY_MAX           255

#define JSON_TYPE    "application/json"
#define PROBLEM_TYPE "application/problem+json"

/* One connection's request: while its body arrives, and while its answer
 * waits for Kafka (call.wait, the connection suspended). */
typedef struct req {
	drv_buf_t   body;
	bool        too_big;
	api_call_t  call;
	api_quota_t quota;
	bool        has_quota;
	bool        claimed;                 /* an Idempotency-Key */
	char        rkey[256], body_hex[2 * DRV_SHA256_LEN + 1];
} req_t;

static void quiet_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

static const char *status_title(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default:  return status >= 500 ? "Internal Server Error" : "Error";
	}
}

/* \p s as JSON text must be: a byte that starts no valid UTF-8 sequence
 * (a path or name cut short, cut in the middle) becomes '?'. New string. */
static json_t *utf8_string(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *t = malloc(n + 1);
	json_t *j;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; ) {
		size_t len = (unsigned char)s[i] < 0x80 ? 1 :
			     drv_utf8_len((const unsigned char *)s + i);

		if (!len) {
			t[o++] = '?';
			i++;
		} else {
			memcpy(t + o, s + i, len);
			o += len;
			i += len;
		}
	}
	t[o] = '\0';
	j = json_string(t);
	free(t);
	return j;
}

json_t *api_problem_json(unsigned status, const char *pointer,
			 const char *detail)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:o}", "type", "about:blank",
			      "title", status_title(status), "status",
			      (int)status, "detail", utf8_string(detail));

	if (o && pointer)
		json_object_set_new(o, "pointer", utf8_string(pointer));
	return o;
}

void api_reply(api_call_t *call, unsigned status, json_t *body)
{
	json_decref(call->reply);
	call->status = status;
	call->reply = body;
	call->problem = false;
}

void api_problem(api_call_t *call, unsigned status, const char *pointer,
		 const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	api_reply(call, status, api_problem_json(status, pointer, detail));
	call->problem = true;
}

unsigned api_status_of(drv_err_t err)
{
	switch (err) {
	case DRV_OK:            return 200;
	case DRV_ERR_INVALID:
	case DRV_ERR_RANGE:     return 400;
	case DRV_ERR_NOT_FOUND: return 404;
	case DRV_ERR_EXISTS:    return 409;
	case DRV_ERR_KAFKA:
	case DRV_ERR_REDIS:
	case DRV_ERR_TIMEOUT:   return 503;
	default:                return 500;
	}
}

/* Is every number in \p v within +-(2^53 - 1), which every JSON reader
 * holds exactly? The first one that is not is named in \p ptr. */
static bool numbers_ok(json_t *v, char *ptr, size_t size)
{
	const double max = 9007199254740991.0;
	size_t len = strlen(ptr), i;
	const char *k;
	json_t *e;

	if (json_is_integer(v))
		return llabs(json_integer_value(v)) <= (long long)max;
	if (json_is_real(v))
		return fabs(json_real_value(v)) <= max;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			drv_fmt(ptr + len, size - len, "/%zu", i);
			if (!numbers_ok(e, ptr, size))
				return false;
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			drv_fmt(ptr + len, size - len, "/%s", k);
			if (!numbers_ok(e, ptr, size))
				return false;
		}
	}
	ptr[len] = '\0';
	return true;
}

json_t *api_body_json(api_call_t *call)
{
	char ptr[512] = "";
	json_error_t je;
	json_t *o;

	if (!call->body_len) {
		api_problem(call, 400, "", "a JSON body is required");
		return NULL;
	}
	o = json_loadb(call->body, call->body_len, JSON_REJECT_DUPLICATES |
		       JSON_ALLOW_NUL,
		       &je);
	if (!o) {
		api_problem(call, 400, "", "the body is not JSON: %s (line "
			    "%d, column %d)", je.text, je.line, je.column);
	} else if (!numbers_ok(o, ptr, sizeof(ptr))) {
		api_problem(call, 400, ptr, "numbers must be within "
			    "+-9007199254740991 (2^53 - 1)");
		json_decref(o);
		o = NULL;
	}
	return o;
}

const char *api_query(api_call_t *call, const char *name)
{
	return MHD_lookup_connection_value(call->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

typedef struct query_walk {
	api_call_t *call;
	api_query_fn *fn;
	void *arg;
	bool ok;
} query_walk_t;

static enum MHD_Result query_one(void *cls, enum MHD_ValueKind kind,
				 const char *key, size_t key_size,
				 const char *value, size_t value_size)
{
	query_walk_t *w = cls;

	(void)kind;
	/* a %00 would cut the value short unseen: refuse it instead */
	if (strlen(key) != key_size ||
	    (value && strlen(value) != value_size)) {
		api_problem(w->call, 400, NULL, "%.40s: a NUL character in a "
			    "query parameter", key);
		w->ok = false;
	} else {
		w->ok = w->fn(w->call, key, value ? value : "", w->arg);
	}
	return w->ok ? MHD_YES : MHD_NO;
}

bool api_query_each(api_call_t *call, api_query_fn *fn, void *arg)
{
	query_walk_t w = { call, fn, arg, true };

	MHD_get_connection_values_n(call->conn, MHD_GET_ARGUMENT_KIND,
				    query_one, &w);
	return w.ok;
}

/* ------------------------------------------------------------------ */
/* Redis and audit                                                     */
/* ------------------------------------------------------------------ */

static void redis_free(void *c)
{
	redisFree(c);
}

/* After a failed connect, how long this thread's api_redis_try() answers
 * NULL at once instead of trying (and waiting redis.connect_timeout)
 * again. */
#define REDIS_RETRY_MS 1000
static __thread int64_t redis_retry_at;  /* mono ms */

/* This thread's connection, connecting if need be; NULL with \p err. */
static redisContext *thread_redis(api_call_t *call, char *err, size_t size)
{
	redisContext *c = pthread_getspecific(call->api->redis_key);

	if (c)
		return c;
	if (drv_redis_connect(call->api->cfg, &c, err, size)) {
		redis_retry_at = drv_mono_ms() + REDIS_RETRY_MS;
		return NULL;
	}
	pthread_setspecific(call->api->redis_key, c);
	return c;
}

redisContext *api_redis(api_call_t *call)
{
	char err[512];
	redisContext *c = thread_redis(call, err, sizeof(err));

	if (!c)
		api_problem(call, 503, NULL, "%s", err);
	return c;
}

redisContext *api_redis_try(api_call_t *call)
{
	char err[512];

	if (!pthread_getspecific(call->api->redis_key) &&
	    drv_mono_ms() < redis_retry_at)
		return NULL;
	return thread_redis(call, err, sizeof(err));
}

void api_redis_lost(api_call_t *call)
{
	redisContext *c = pthread_getspecific(call->api->redis_key);

	if (c && c->err) {
		redisFree(c);
		pthread_setspecific(call->api->redis_key, NULL);
	}
}

int api_page_param(api_call_t *call, const char *name, const char *value,
		   const char **cursor, int64_t *limit, int64_t max)
{
	if (!strcmp(name, "cursor")) {
		if (*value) {
			*cursor = value;
			return 1;
		}
		api_problem(call, 400, NULL, "cursor: empty");
		return -1;
	}
	if (strcmp(name, "limit"))
		return 0;
	if (!drv_parse_int(value, 1, max, limit))
		return 1;
	api_problem(call, 400, NULL, "limit must be 1..%lld",
		    (long long)max);
	return -1;
}

int api_range_param(api_call_t *call, const char *name, const char *value,
		    int64_t *since, int64_t *until)
{
	if (strcmp(name, "since") && strcmp(name, "until"))
		return 0;
	if (!drv_parse_when(value, drv_now_ms(), name[0] == 's' ? since :
			    until))
		return 1;
	/* a query parameter's pointer: "/" and its name */
	api_problem(call, 400, name[0] == 's' ? "/since" : "/until",
		    "%s: '%.64s' is neither an RFC 3339 time nor a duration "
		    "ago (2h)", name, value);
	return -1;
}

bool api_range_check(api_call_t *call, int64_t since_ms, int64_t until_ms)
{
	char since[40], until[40];

	if (until_ms > since_ms)
		return true;
	drv_format_time(since_ms, since, sizeof(since));
	drv_format_time(until_ms, until, sizeof(until));
	api_problem(call, 400, "/until", "until (%s) must be after since "
		    "(%s)", until, since);
	return false;
}

bool api_filter_rc(api_call_t *call, drv_err_t rc, const char *name,
		   const char *err)
{
	if (rc == DRV_ERR_NOT_FOUND)
		api_problem(call, 400, NULL, "unknown query parameter "
			    "'%.40s'", name);
	else if (rc)
		api_problem(call, 400, NULL, "%s: %s", name, err);
	return rc == DRV_OK;
}

bool api_audit(api_call_t *call, const char *action, const char *target,
	       uint64_t count, json_t *details, drv_delivery_t *dr)
{
	char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
	char err[512];
	drv_err_t rc;

	rc = drv_audit_write(call->api->producer, call->api->cfg,
			     call->token ? call->token->name : "anonymous",
			     action, target, count, text, "ok", dr, err,
			     sizeof(err));
	free(text);
	json_decref(details);
	if (rc)
		api_problem(call, 503, NULL, "the action was taken but its "
			    "audit record could not be written: %s", err);
	return !rc;
}

/* ------------------------------------------------------------------ */
/* Tokens and limits                                                   */
/* ------------------------------------------------------------------ */

/* The token of "Authorization: Bearer X", or NULL. Every configured
 * token is compared, in constant time, whatever matched. */
static const drv_api_token_conf_t *find_token(const drv_config_t *cfg,
					      const char *auth)
{
	const drv_api_token_conf_t *found = NULL;
	unsigned char d[DRV_SHA256_LEN];

	if (!auth || strncasecmp(auth, "Bearer ", 7))
		return NULL;
	auth += 7;
	while (*auth == ' ')
		auth++;
	if (!*auth)
		return NULL;
	drv_sha256(auth, strlen(auth), d);
	for (size_t i = 0; i < cfg->api_token_cnt; i++) {
		const drv_api_token_conf_t *t = &cfg->api_tokens[i];

		if (drv_equal_ct(t->digest, d, sizeof(d)) && t->active)
			found = t;
	}
	return found;
}

/* Is the peer of \p conn on a loopback address (127.0.0.0/8, ::1, or
 * ::ffff:127.0.0.0/104)? */
static bool from_loopback(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
		MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const struct in6_addr *a6 = &in6->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a6) ||
		       (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
	}
	return false;
}

/* The caller of a request with Authorization header \p auth (NULL: none):
 * a configured token, api.loopback_viewer's viewer, or NULL. */
static const drv_api_token_conf_t *caller(struct drv_api *api,
					  struct MHD_Connection *conn,
					  const char *auth)
{
	if (auth)
		return find_token(api->cfg, auth);
	if (api->cfg->api.loopback_viewer && from_loopback(conn))
		return &api->loopback;
	return NULL;
}

/* The Authorization header of \p call; on a route that takes the token as
 * a query parameter (token_query) and without the header, "Bearer " and
 * access_token's value, written to \p buf. NULL: neither. */
static const char *authorization(api_call_t *call, char *buf, size_t size)
{
	const char *auth = MHD_lookup_connection_value(call->conn,
		MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), *q;

	if (auth || !call->route->token_query ||
	    !(q = api_query(call, "access_token")))
		return auth;
	if (!drv_fmt(buf, size, "Bearer %s", q))
		buf[0] = '\0';  /* too long to be a token: 401 */
	return buf;
}

/* The index of \p t's buckets. */
static size_t bucket_of(const struct drv_api *api,
			const drv_api_token_conf_t *t)
{
	return t == &api->loopback ? api->cfg->api_token_cnt :
	       (size_t)(t - api->cfg->api_tokens);
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ */
/* Idempotency-Key                                                     */
/* ------------------------------------------------------------------ */

/* P api:idem:<token>:<sha256 of the key> holds "pending:<body hash>"
 * while the first request runs, then "<body hash> <status> <reply>". */
static void idem_redis_key(const api_call_t *call, const char *key,
			   char *buf, size_t size)
{
	unsigned char d[DRV_SHA256_LEN];
	char hex[2 * DRV_SHA256_LEN + 1];

	drv_sha256(key, strlen(key), d);
	drv_hex(d, sizeof(d), hex);
	drv_fmt(buf, size, "%sapi:idem:%s:%s", call->api->cfg->redis.key_prefix,
		call->token->name, hex);
}

/* Before the handler: true to go on (the key is claimed in *claimed), false
 * when the reply is made (replayed, or a conflict). */
static bool idem_begin(api_call_t *call, const char *key, char *rkey,
		       size_t rkey_size, char *body_hex, bool *claimed)
{
	unsigned char d[DRV_SHA256_LEN];
	redisContext *c;
	redisReply *r;

	*claimed = false;
	if (strlen(key) > IDEM_KEY_MAX || !*key) {
		api_problem(call, 400, NULL, "Idempotency-Key must be 1 to %d "
			    "characters", IDEM_KEY_MAX);
		return false;
	}
	if (!(c = api_redis(call)))
		return false;
	drv_sha256(call->body ? call->body : "", call->body_len, d);
	drv_hex(d, sizeof(d), body_hex);
	idem_redis_key(call, key, rkey, rkey_size);
	r = redisCommand(c, "SET %s pending:%s NX EX %d", rkey, body_hex,
			 IDEM_PENDING_S);
	if (r && r->type == REDIS_REPLY_STATUS) {
		freeReplyObject(r);
		*claimed = true;
		return true;
	}
	if (r && r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		r = redisCommand(c, "GET %s", rkey);
	}
	if (!r || r->type == REDIS_REPLY_ERROR) {
		api_problem(call, 503, NULL, "Redis: %s", r ? r->str : c->errstr);
		api_redis_lost(call);
	} else if (r->type == REDIS_REPLY_NIL ||
		   (r->type == REDIS_REPLY_STRING &&
		    !strncmp(r->str, "pending:", 8))) {
		api_problem(call, 409, NULL, "a request with this "
			    "Idempotency-Key is still being served; retry "
			    "later");
	} else if (r->type == REDIS_REPLY_STRING && r->len > 66 &&
		   strncmp(r->str, body_hex, 64)) {
		api_problem(call, 422, NULL, "this Idempotency-Key was used "
			    "with a different body");
	} else if (r->type == REDIS_REPLY_STRING && r->len > 66) {
		char *end;
		long status = strtol(r->str + 65, &end, 10);

		api_reply(call, (unsigned)status, json_loads(end, 0, NULL));
		call->problem = status >= 400;
		call->replayed = 1;
	} else {
		api_problem(call, 500, NULL, "unreadable Idempotency-Key "
			    "record");
	}
	freeReplyObject(r);
	return false;
}

/* After the handler: keep its answer for api.idempotency_ttl, or give the
 * key up when the answer says the request may be tried again (5xx). */
static void idem_end(api_call_t *call, const char *rkey, const char *body_hex)
{
	redisContext *c = pthread_getspecific(call->api->redis_key);
	char *text;
	redisReply *r;

	if (!c)
		return;
	if (call->status >= 500) {
		r = redisCommand(c, "DEL %s", rkey);
	} else {
		char *reply = call->reply ? json_dumps(call->reply,
						       JSON_COMPACT) : NULL;
		size_t n = (reply ? strlen(reply) : 4) + 80;

		if ((text = malloc(n)))
			drv_fmt(text, n, "%s %u %s", body_hex, call->status,
				reply ? reply : "null");
		free(reply);
		r = text ? redisCommand(c, "SET %s %s PX %lld", rkey, text,
			(long long)call->api->cfg->api.idempotency_ttl_ms) :
			NULL;
		free(text);
	}
	if (!r)
		api_redis_lost(call);
	freeReplyObject(r);
}

/* ------------------------------------------------------------------ */
/* libmicrohttpd                                                       */
/* ------------------------------------------------------------------ */

static enum MHD_Result send_reply(api_call_t *call, const api_quota_t *q,
				  const char *allow)
{
	char *text = call->reply ? json_dumps(call->reply, JSON_COMPACT |
					      JSON_ENCODE_ANY) : NULL;
	size_t len = text ? strlen(text) : 0;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char buf[128];

	if (text) {
		text = realloc(text, len + 2);  /* a newline for curl users */
		text[len++] = '\n';
	}
	if (call->stream) {  /* live.c's: its own body, no reply */
		resp = call->stream;
		call->stream = NULL;
	} else {
		resp = MHD_create_response_from_buffer(len,
			text ? text : (char *)"",
			text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					call->problem ? PROBLEM_TYPE :
					JSON_TYPE);
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (call->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate",
					"Bearer realm=\"drover\"");
	if (call->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (q) {
		drv_fmt(buf, sizeof(buf), "\"%s\";q=%ld;w=1",
			call->route->cls == API_READ ? "read" : "write",
			q->limit);
		MHD_add_response_header(resp, "RateLimit-Policy", buf);
		drv_fmt(buf, sizeof(buf), "\"%s\";r=%ld;t=%ld",
			call->route->cls == API_READ ? "read" : "write",
			q->remaining, q->reset_s);
		MHD_add_response_header(resp, "RateLimit", buf);
		if (!q->allowed) {
			drv_fmt(buf, sizeof(buf), "%ld", q->reset_s);
			MHD_add_response_header(resp,
						MHD_HTTP_HEADER_RETRY_AFTER,
						buf);
		}
	}
	if (call->retry_after) {
		drv_fmt(buf, sizeof(buf), "%u", call->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
					buf);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	ret = MHD_queue_response(call->conn, call->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The handler has answered (call->status set): keep the answer for the
 * Idempotency-Key, send it. */
static enum MHD_Result answer(req_t *rq)
{
	api_call_t *call = &rq->call;
	enum MHD_Result ret;

	if (!call->status)
		api_problem(call, 500, NULL, "the route gave no answer");
	if (rq->claimed)
		idem_end(call, rq->rkey, rq->body_hex);
	ret = send_reply(call, rq->has_quota ? &rq->quota : NULL, NULL);
	json_decref(call->reply);
	call->reply = NULL;
	return ret;
}

/* Authorise, limit, then run the route's handler; an answer that waits
 * for Kafka is sent when the connection is resumed (on_request). */
static enum MHD_Result serve(struct drv_api *api,
			     struct MHD_Connection *conn, const char *url,
			     const char *method, req_t *rq)
{
	api_call_t *call = &rq->call;
	char allow[64] = "", bearer[1024];
	const char *idem = NULL;
	enum MHD_Result ret;

	*call = (api_call_t){ .api = api, .conn = conn, .body = rq->body.p,
			      .body_len = rq->body.len };
	if (strcmp(url, "/api") && strncmp(url, "/api/", 5))
		return api_console_serve(api, conn, url, method) ? MHD_YES :
		       MHD_NO;
	switch (api_route_find(method, url, &call->route, call->params, allow,
			       sizeof(allow))) {
	case API_NO_PATH:
		api_problem(call, 404, NULL, "no route %s", url);
		goto reply;
	case API_NO_METHOD:
		api_problem(call, 405, NULL, "%s does not take %s (it takes "
			    "%s)", url, method, allow);
		goto reply;
	case API_MATCHED:
		allow[0] = '\0';
		break;
	}
	if (!call->route->public) {
		call->token = caller(api, conn, authorization(call, bearer,
							       sizeof(bearer)));
		if (!call->token) {
			api_problem(call, 401, NULL, "a valid bearer token is "
				    "required (Authorization: Bearer TOKEN)");
			goto reply;
		}
		rq->quota = api_limits_take(&api->limits, bucket_of(api,
					    call->token), call->route->cls,
					    mono_us());
		rq->has_quota = true;
		if (!rq->quota.allowed) {
			api_problem(call, 429, NULL, "more than %ld %s "
				    "requests per second for token %s; retry "
				    "in %ld s", rq->quota.limit,
				    call->route->cls == API_READ ? "read" :
				    "write", call->token->name,
				    rq->quota.reset_s);
			goto reply;
		}
		if (call->token->role < call->route->role) {
			api_problem(call, 403, NULL, "token %s is a %s; this "
				    "needs %s", call->token->name,
				    drv_api_role_name(call->token->role),
				    drv_api_role_name(call->route->role));
			goto reply;
		}
	}
	if (rq->too_big) {
		api_problem(call, 413, NULL, "the body is larger than "
			    "api.max_body (%lld bytes)",
			    (long long)api->cfg->api.max_body);
		goto reply;
	}
	if (call->token && call->route->cls == API_WRITE)
		idem = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						   "Idempotency-Key");
	if (idem && !idem_begin(call, idem, rq->rkey, sizeof(rq->rkey),
				rq->body_hex, &rq->claimed))
		goto reply;
	call->route->fn(call);
	if (call->wait) {
		if (api_wait_suspend(call))
			return MHD_YES;  /* answered when resumed */
		api_wait_finish(call);
	}
	return answer(rq);
reply:
	ret = send_reply(call, rq->has_quota ? &rq->quota : NULL,
			 allow[0] ? allow : NULL);
	json_decref(call->reply);
	call->reply = NULL;
	return ret;
}

/* Called when the headers are in, once per piece of body, and once more
 * with nothing left: only then is the request served. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct drv_api *api = cls;
	req_t *rq = *con_cls;
	size_t max = (size_t)api->cfg->api.max_body;

	(void)version;
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(conn,
			MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		if (cl && strtoull(cl, NULL, 10) > max)
			rq->too_big = true;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		*upload_size = 0;
		if (rq->too_big || rq->body.len + n > max) {
			rq->too_big = true;
			return MHD_YES;  /* read and dropped */
		}
		return drv_buf_add(&rq->body, upload, n) ? MHD_YES : MHD_NO;
	}
	if (rq->call.wait) {  /* resumed: every report has come */
		api_wait_finish(&rq->call);
		return answer(rq);
	}
	drv_conn_guard_received(api->guard, conn);
	return serve(api, conn, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct drv_api *api = cls;
	req_t *rq = *con_cls;

	(void)toe;
	drv_conn_guard_answered(api->guard, conn);
	if (rq) {
		api_wait_release(&rq->call);
		json_decref(rq->call.reply);
		free(rq->body.p);
		free(rq);
		*con_cls = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                      */
/* ------------------------------------------------------------------ */

static char *read_pem(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		drv_error(errstr, errstr_size, DRV_ERR_CONFIG, "cannot read "
			  "%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (len + 4097 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static drv_err_t load_tls(struct drv_api *a, char *errstr,
			  size_t errstr_size)
{
	const char *cert = a->cfg->api.tls_cert, *key = a->cfg->api.tls_key;

	if ((!cert || !*cert) && (!key || !*key))
		return DRV_OK;
	if (!cert || !*cert || !key || !*key)
		return drv_error(errstr, errstr_size, DRV_ERR_CONFIG,
				 "api.tls_cert and api.tls_key go together");
	if (!(a->tls_cert = read_pem(cert, errstr, errstr_size)) ||
	    !(a->tls_key = read_pem(key, errstr, errstr_size)))
		return DRV_ERR_CONFIG;
	return DRV_OK;
}

static void api_free(struct drv_api *a)
{
	drv_kafka_poller_stop(a->poller);
	if (a->producer) {
		rd_kafka_flush(a->producer, 5000);
		rd_kafka_destroy(a->producer);
	}
	drv_conn_guard_free(a->guard);
	api_limits_release(&a->limits);
	api_live_release(a);
	api_queues_release(a);
	api_console_release(a);
	pthread_key_delete(a->redis_key);
	pthread_mutex_destroy(&a->wait_lock);
	pthread_cond_destroy(&a->wait_cond);
	free(a->tls_cert);
	free(a->tls_key);
	drv_config_destroy(a->cfg);
	free(a);
}

drv_err_t drv_api_start(drv_config_t *cfg, drv_api_t **out, char *errstr,
			size_t errstr_size)
{
	struct drv_api *a = calloc(1, sizeof(*a));
	struct MHD_OptionItem opts[12];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			 MHD_ALLOW_SUSPEND_RESUME;  /* live.c's streams */
	drv_err_t err;
	size_t n = 0;
	int fd;

	if (!a || pthread_key_create(&a->redis_key, redis_free)) {
		free(a);
		drv_config_destroy(cfg);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "api: out of memory");
	}
	api_queues_init(a);
	pthread_mutex_init(&a->wait_lock, NULL);
	pthread_cond_init(&a->wait_cond, NULL);
	a->cfg = cfg;
	a->loopback = (drv_api_token_conf_t){ .name = "loopback",
					      .role = DRV_API_VIEWER,
					      .active = true };
	api_console_init(a);
	/* one more set of buckets: the loopback viewer's */
	if (!api_limits_init(&a->limits, cfg, cfg->api_token_cnt + 1)) {
		api_free(a);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "api: out of memory");
	}
	if ((err = drv_conn_guard_new(&(drv_conn_guard_conf_t){
			.max_total = API_CONNECTION_LIMIT,
			.max_per_client = (size_t)cfg->api.max_client_conns,
			.deadline_ms = cfg->api.request_deadline_ms },
			&a->guard, errstr, errstr_size)) ||
	    (err = api_live_init(a, errstr, errstr_size)) ||
	    (err = load_tls(a, errstr, errstr_size)) ||
	    (err = drv_httpd_listen(cfg->api.host, (unsigned)cfg->api.port,
				    &fd, &a->port, errstr, errstr_size))) {
		api_free(a);
		return err;
	}
	if (!(a->producer = drv_kafka_producer_shared_new(cfg,
			cfg->api.linger_ms, errstr, errstr_size))) {
		close(fd);
		api_free(a);
		return DRV_ERR_KAFKA;
	}
	if (!(a->poller = drv_kafka_poller_start(a->producer))) {
		close(fd);
		api_free(a);
		return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				 "api: cannot start the producer's poller");
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd,
					     NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
					     (intptr_t)cfg->api.threads, NULL };
	/* room for connections the guard displaced, still closing */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
					     2 * API_CONNECTION_LIMIT, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
					     API_CONNECTION_TIMEOUT, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					     (intptr_t)on_completed, a };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
		(intptr_t)drv_conn_guard_notify, a->guard };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
					     (intptr_t)quiet_log, NULL };
	if (a->tls_cert) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
						     0, a->tls_key };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
						     0, a->tls_cert };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* from here libmicrohttpd owns fd, whether it starts or not */
	a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
				  MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!a->mhd) {
		api_free(a);
		return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				 "api: cannot start the server%s",
				 flags & MHD_USE_TLS ? " (are api.tls_cert "
				 "and api.tls_key a PEM certificate and its "
				 "key?)" : "");
	}
	*out = a;
	return DRV_OK;
}

unsigned drv_api_port(const drv_api_t *a)
{
	return a ? a->port : 0;
}

const char *drv_api_console_dir(const drv_api_t *a, const char **why)
{
	if (why)
		*why = a ? a->console_why : "no API";
	return a ? a->console_root : NULL;
}

void drv_api_stop(drv_api_t *a)
{
	if (!a)
		return;
	api_live_close(a);
	/* libmicrohttpd must not stop with a connection suspended */
	api_waits_drain(a);
	MHD_stop_daemon(a->mhd);
	api_free(a);
}
