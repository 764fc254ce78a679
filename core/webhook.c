/*
 * webhook.c — webhook subscriptions in Redis (make, read, list, rotate,
 * disable, enable, delete; the delivery log), the Standard Webhooks signature, and
 * the choice of the subscriptions an event goes to. The key scheme and the
 * record are in include/drover/webhook.h; the sending is webhook_send.c.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "drover/clock.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"
#include "drover/webhook.h"

#define SECRET_PREFIX "whsec_"
#define SECRET_BYTES 32
#define SECRET_MIN 24
#define SECRET_MAX 66
#define URL_MAX 2048
#define FILTER_MAX 16
/* each subscription's deliveries go through a breaker of their own, so one
 * dead endpoint does not hold the others back */
#define BREAKER_PREFIX "webhook:"

/* Set field ARGV[1] of KEYS[1] to ARGV[2] only while it is there (a
 * deleted subscription is not brought back), bumping KEYS[2]. */
/* One command (drv_redis_cmd()), by a short name. */
static drv_err_t (*const cmd)(redisContext *c, redisReply **out,
			      char *errstr, size_t errstr_size,
			      const char *fmt, ...) = drv_redis_cmd;

static const char update_lua[] =
	"if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"redis.call('INCR', KEYS[2]) return 1";

/* Add field ARGV[1] while there are fewer than ARGV[3] fields. */
static const char create_lua[] =
	"if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"redis.call('INCR', KEYS[2]) return 1";

static const int64_t backoff_ms[] = {
	5 * 1000, 5 * 60 * 1000, 30 * 60 * 1000, 2 * 3600 * 1000,
	5 * 3600 * 1000, 10 * 3600 * 1000, 14 * 3600 * 1000,
	20 * 3600 * 1000, 24 * 3600 * 1000,
};

int64_t drv_webhook_backoff_ms(uint32_t attempt)
{
	size_t n = sizeof(backoff_ms) / sizeof(backoff_ms[0]);

	if (attempt == 0)
		attempt = 1;
	return attempt <= n ? backoff_ms[attempt - 1] : backoff_ms[n - 1];
}

static void keys(const drv_config_t *cfg, char *all, char *version,
		 size_t size)
{
	drv_fmt(all, size, "%swebhooks", cfg->redis.key_prefix);
	drv_fmt(version, size, "%swebhooks:version", cfg->redis.key_prefix);
}

static void log_key(const drv_config_t *cfg, const char *id, char *buf,
		    size_t size)
{
	drv_fmt(buf, size, "%swebhook:%s:deliveries", cfg->redis.key_prefix,
		id);
}

static bool b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

/* The key bytes of a whsec_ secret (malloc'd) or NULL: "whsec_" and 32 to
 * 88 base64 characters in groups of 4, the last one maybe padded, for
 * SECRET_MIN to SECRET_MAX bytes (the OpenAPI pattern SECRET_SCHEMA says
 * the same). */
static uint8_t *secret_key(const char *secret, size_t *len)
{
	size_t plen = strlen(SECRET_PREFIX), n, pad = 0;
	const char *b;
	uint8_t *key = NULL;

	if (!secret || strncmp(secret, SECRET_PREFIX, plen))
		return NULL;
	b = secret + plen;
	n = strlen(b);
	if (n % 4 || n < 32 || n > 88)
		return NULL;
	while (pad < 2 && b[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_char(b[i]))
			return NULL;
	if (n / 4 * 3 - pad < SECRET_MIN)
		return NULL;
	if (drv_base64_decode(b, n, &key, len))
		return NULL;
	return key;
}

drv_err_t drv_webhook_sign(const char *secret, const char *msg_id,
			   int64_t ts, const void *body, size_t body_len,
			   char *out, size_t size, char *errstr,
			   size_t errstr_size)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char head[320], *b64;
	size_t key_len = 0, head_len;
	uint8_t *key = secret_key(secret, &key_len), *msg;
	bool ok;

	if (!key)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "a secret is \"whsec_\" and the base64 of "
				 "%d to %d bytes", SECRET_MIN, SECRET_MAX);
	drv_fmt(head, sizeof(head), "%s.%lld.", msg_id, (long long)ts);
	head_len = strlen(head);
	/* the signed content: "<msg_id>.<ts>.<body>" */
	if (!(msg = malloc(head_len + body_len + 1))) {
		free(key);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	memcpy(msg, head, head_len);
	if (body_len)
		memcpy(msg + head_len, body, body_len);
	ok = HMAC(EVP_sha256(), key, (int)key_len, msg, head_len + body_len,
		  mac, &mac_len) != NULL;
	free(msg);
	free(key);
	if (!ok || !(b64 = drv_base64_encode(mac, mac_len)))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "HMAC-SHA256 failed");
	ok = drv_fmt(out, size, "v1,%s", b64);
	free(b64);
	return ok ? DRV_OK : drv_error(errstr, errstr_size, DRV_ERR_RANGE,
				       "signature buffer too small");
}

/* A fresh whsec_ secret (malloc'd) or NULL. */
static char *secret_new(void)
{
	unsigned char raw[SECRET_BYTES];
	char *b64, *s;
	size_t len;

	if (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    !(b64 = drv_base64_encode(raw, sizeof(raw))))
		return NULL;
	len = strlen(SECRET_PREFIX) + strlen(b64) + 1;
	if ((s = malloc(len)))
		drv_fmt(s, len, "%s%s", SECRET_PREFIX, b64);
	free(b64);
	return s;
}

static bool event_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!strcmp(s, "*"))
		return true;
	if (n == 0 || n > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("._-:", *p))
			return false;
	return true;
}

static bool url_ok(const char *u)
{
	size_t n = strlen(u);

	if (n > URL_MAX || (strncmp(u, "http://", 7) &&
			    strncmp(u, "https://", 8)))
		return false;
	if (n <= (strncmp(u, "https://", 8) ? 7u : 8u))
		return false;
	/* printable ASCII without '$' (no ${...} for the http runner) */
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '$')
			return false;
	return true;
}

/* A JSON string without NUL (bodies may hold \u0000). */
static bool text_ok(const json_t *v)
{
	return json_is_string(v) &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

#define BAD(ptr, ...) (drv_strlcpy(pointer, ptr, 32), \
		       drv_error(errstr, errstr_size, DRV_ERR_INVALID, \
				 __VA_ARGS__))

/* The checked fields of a create request into \p rec. */
static drv_err_t take_request(const json_t *req, json_t *rec, char *pointer,
			      char *errstr, size_t errstr_size)
{
	const json_t *url = json_object_get(req, "url"),
		     *events = json_object_get(req, "events"),
		     *filter = json_object_get(req, "filter"),
		     *secret = json_object_get(req, "secret"), *v;
	const char *k;
	size_t i, key_len;
	uint8_t *key;

	if (!json_is_object(req))
		return BAD("", "the body is a JSON object");
	json_object_foreach((json_t *)req, k, v)
		if (strcmp(k, "url") && strcmp(k, "events") &&
		    strcmp(k, "filter") && strcmp(k, "secret"))
			return BAD("", "unknown field '%.64s' (url, events, "
				   "filter, secret)", k);
	if (!text_ok(url) || !url_ok(json_string_value(url)))
		return BAD("/url", "url is an http:// or https:// URL of at "
			   "most %d printable ASCII characters, without "
			   "spaces or $", URL_MAX);
	if (!json_is_array(events) || !json_array_size(events) ||
	    json_array_size(events) > DRV_WEBHOOK_EVENTS_MAX)
		return BAD("/events", "events is an array of 1 to %d event "
			   "types (task.dead, task.succeeded, ... or *)",
			   DRV_WEBHOOK_EVENTS_MAX);
	json_array_foreach(events, i, v)
		if (!text_ok(v) || !event_name_ok(json_string_value(v)))
			return BAD("/events", "events[%zu] is not an event "
				   "type (1-128 of A-Z a-z 0-9 . _ - :, or *)",
				   i);
	if (filter) {
		if (!json_is_object(filter) ||
		    json_object_size(filter) > FILTER_MAX)
			return BAD("/filter", "filter is an object of at most "
				   "%d event attributes and their values "
				   "({\"handler\": \"billing\"})", FILTER_MAX);
		json_object_foreach((json_t *)filter, k, v)
			if (!*k || !text_ok(v))
				return BAD("/filter", "filter values are "
					   "strings (attribute '%.64s')", k);
	}
	if (secret) {
		key = text_ok(secret) ?
		      secret_key(json_string_value(secret), &key_len) : NULL;
		if (!key)
			return BAD("/secret", "secret is \"whsec_\" and the "
				   "base64 of %d to %d bytes", SECRET_MIN,
				   SECRET_MAX);
		free(key);
		json_object_set(rec, "secret", (json_t *)secret);
	}
	json_object_set(rec, "url", (json_t *)url);
	json_object_set(rec, "events", (json_t *)events);
	json_object_set_new(rec, "filter", filter ? json_deep_copy(filter) :
			    json_object());
	return DRV_OK;
}

/* Store \p rec under its id with \p script (create_lua or update_lua);
 * false in *done when the script refused. */
static drv_err_t store(redisContext *c, const drv_config_t *cfg,
		       const char *script, const json_t *rec, bool *done,
		       char *errstr, size_t errstr_size)
{
	char all[256], version[256], *text = json_dumps(rec, JSON_COMPACT);
	redisReply *r = NULL;
	drv_err_t rc;

	if (!text)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	keys(cfg, all, version, sizeof(all));
	rc = cmd(c, &r, errstr, errstr_size, "EVAL %s 2 %s %s %s %s %d",
		 script, all, version,
		 json_string_value(json_object_get(rec, "id")), text,
		 DRV_WEBHOOK_MAX);
	free(text);
	if (!rc) {
		*done = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
		freeReplyObject(r);
	}
	return rc;
}

drv_err_t drv_webhook_create(redisContext *c, const drv_config_t *cfg,
			     const json_t *req, int64_t now_ms, json_t **out,
			     char *pointer, char *errstr, size_t errstr_size)
{
	json_t *rec = json_object();
	char id[DRV_ID_LEN + 1], *secret;
	bool done = false;
	drv_err_t rc;

	*pointer = '\0';
	if (!rec)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	drv_id_new(id, now_ms);
	json_object_set_new(rec, "id", json_string(id));
	if ((rc = take_request(req, rec, pointer, errstr, errstr_size))) {
		json_decref(rec);
		return rc;
	}
	if (!json_object_get(rec, "secret")) {
		if (!(secret = secret_new())) {
			json_decref(rec);
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "no random bytes for a secret");
		}
		json_object_set_new(rec, "secret", json_string(secret));
		free(secret);
	}
	json_object_set_new(rec, "created_ms", json_integer(now_ms));
	json_object_set_new(rec, "enabled", json_true());
	rc = store(c, cfg, create_lua, rec, &done, errstr, errstr_size);
	if (!rc && !done)
		rc = drv_error(errstr, errstr_size, DRV_ERR_RANGE, "there are "
			       "already %d webhooks", DRV_WEBHOOK_MAX);
	if (rc) {
		json_decref(rec);
		return rc;
	}
	*out = rec;
	return DRV_OK;
}

drv_err_t drv_webhook_get(redisContext *c, const drv_config_t *cfg,
			  const char *id, json_t **out, char *errstr,
			  size_t errstr_size)
{
	char all[256], version[256];
	redisReply *r = NULL;
	drv_err_t rc;

	keys(cfg, all, version, sizeof(all));
	if ((rc = cmd(c, &r, errstr, errstr_size, "HGET %s %s", all, id)))
		return rc;
	*out = r->type == REDIS_REPLY_STRING ?
	       json_loadb(r->str, r->len, 0, NULL) : NULL;
	freeReplyObject(r);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no webhook '%.64s'", id);
	}
	return DRV_OK;
}

/* The JSON objects among the string elements of \p r, in order (a new
 * array), or NULL when out of memory. */
static json_t *reply_objects(const redisReply *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->elements; i++) {
		const redisReply *e = r->element[i];
		json_t *o = e->type == REDIS_REPLY_STRING ?
			    json_loadb(e->str, e->len, 0, NULL) : NULL;

		if (json_is_object(o))
			json_array_append(arr, o);
		json_decref(o);
	}
	return arr;
}

static int by_id(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(
		*(json_t *const *)a, "id"));
	const char *y = json_string_value(json_object_get(
		*(json_t *const *)b, "id"));

	return strcmp(x ? x : "", y ? y : "");
}

drv_err_t drv_webhook_list(redisContext *c, const drv_config_t *cfg,
			   json_t **out, char *errstr, size_t errstr_size)
{
	char all[256], version[256];
	redisReply *r = NULL;
	json_t **recs, *arr, *objs;
	size_t n;
	drv_err_t rc;

	keys(cfg, all, version, sizeof(all));
	if ((rc = cmd(c, &r, errstr, errstr_size, "HVALS %s", all)))
		return rc;
	objs = reply_objects(r);
	freeReplyObject(r);
	n = json_array_size(objs);
	recs = calloc(n + 1, sizeof(*recs));
	arr = json_array();
	if (!objs || !recs || !arr) {
		json_decref(objs);
		free(recs);
		json_decref(arr);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		recs[i] = json_array_get(objs, i);
	qsort(recs, n, sizeof(*recs), by_id);
	for (size_t i = 0; i < n; i++)
		json_array_append(arr, recs[i]);
	free(recs);
	json_decref(objs);
	*out = arr;
	return DRV_OK;
}

drv_err_t drv_webhook_delete(redisContext *c, const drv_config_t *cfg,
			     const char *id, char *errstr, size_t errstr_size)
{
	char all[256], version[256], log[256];
	redisReply *r = NULL;
	bool gone;
	drv_err_t rc;

	keys(cfg, all, version, sizeof(all));
	log_key(cfg, id, log, sizeof(log));
	if ((rc = cmd(c, &r, errstr, errstr_size, "HDEL %s %s", all, id)))
		return rc;
	gone = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	if (!gone)
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no webhook '%.64s'", id);
	if ((rc = cmd(c, NULL, errstr, errstr_size, "DEL %s", log)) ||
	    (rc = cmd(c, NULL, errstr, errstr_size, "INCR %s", version)))
		return rc;
	return DRV_OK;
}

/* Read \p id, let \p edit change it, write it back while it exists. */
static drv_err_t update(redisContext *c, const drv_config_t *cfg,
			const char *id, json_t **out, char *errstr,
			size_t errstr_size,
			drv_err_t (*edit)(json_t *rec, const void *arg,
					  char *errstr, size_t errstr_size),
			const void *arg)
{
	json_t *rec = NULL;
	bool done = false;
	drv_err_t rc;

	if ((rc = drv_webhook_get(c, cfg, id, &rec, errstr, errstr_size)))
		return rc;
	if (!(rc = edit(rec, arg, errstr, errstr_size)))
		rc = store(c, cfg, update_lua, rec, &done, errstr,
			   errstr_size);
	if (!rc && !done)
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
			       "no webhook '%.64s'", id);
	if (!rc && out)
		*out = json_incref(rec);
	json_decref(rec);
	return rc;
}

struct rotate_arg {
	const char *secret;
	int64_t until_ms;
};

static drv_err_t rotate_edit(json_t *rec, const void *arg, char *errstr,
			     size_t errstr_size)
{
	const struct rotate_arg *a = arg;
	char *fresh = a->secret ? drv_strdup(a->secret) : secret_new();

	if (!fresh)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "no random bytes for a secret");
	json_object_set(rec, "previous_secret",
			json_object_get(rec, "secret"));
	json_object_set_new(rec, "previous_until_ms",
			    json_integer(a->until_ms));
	json_object_set_new(rec, "secret", json_string(fresh));
	free(fresh);
	return DRV_OK;
}

drv_err_t drv_webhook_rotate(redisContext *c, const drv_config_t *cfg,
			     const char *id, const char *secret,
			     int64_t now_ms, json_t **out, char *errstr,
			     size_t errstr_size)
{
	struct rotate_arg a = {
		.secret = secret,
		.until_ms = now_ms + cfg->api.webhook_rotate_overlap_ms,
	};
	size_t len;
	uint8_t *key;

	if (secret) {
		if (!(key = secret_key(secret, &len)))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "secret is \"whsec_\" and the base64 "
					 "of %d to %d bytes", SECRET_MIN,
					 SECRET_MAX);
		free(key);
	}
	return update(c, cfg, id, out, errstr, errstr_size, rotate_edit, &a);
}

static drv_err_t disable_edit(json_t *rec, const void *arg, char *errstr,
			      size_t errstr_size)
{
	(void)errstr;
	(void)errstr_size;
	json_object_set_new(rec, "enabled", json_false());
	json_object_set_new(rec, "disabled_reason", json_string(arg));
	return DRV_OK;
}

drv_err_t drv_webhook_disable(redisContext *c, const drv_config_t *cfg,
			      const char *id, const char *reason,
			      char *errstr, size_t errstr_size)
{
	return update(c, cfg, id, NULL, errstr, errstr_size, disable_edit,
		      reason);
}

static drv_err_t enable_edit(json_t *rec, const void *arg, char *errstr,
			     size_t errstr_size)
{
	(void)arg;
	(void)errstr;
	(void)errstr_size;
	json_object_set_new(rec, "enabled", json_true());
	json_object_del(rec, "disabled_reason");
	return DRV_OK;
}

drv_err_t drv_webhook_enable(redisContext *c, const drv_config_t *cfg,
			     const char *id, json_t **out, char *errstr,
			     size_t errstr_size)
{
	return update(c, cfg, id, out, errstr, errstr_size, enable_edit,
		      NULL);
}

json_t *drv_webhook_public(const json_t *rec)
{
	json_t *o = json_deep_copy(rec);

	if (!o)
		return NULL;
	json_object_del(o, "secret");
	json_object_del(o, "previous_secret");
	return o;
}

drv_err_t drv_webhook_version(redisContext *c, const drv_config_t *cfg,
			      int64_t *version, char *errstr,
			      size_t errstr_size)
{
	char all[256], vkey[256];
	redisReply *r = NULL;
	drv_err_t rc;

	keys(cfg, all, vkey, sizeof(all));
	if ((rc = cmd(c, &r, errstr, errstr_size, "GET %s", vkey)))
		return rc;
	*version = 0;
	if (r->type == REDIS_REPLY_STRING)
		drv_parse_int(r->str, 0, INT64_MAX, version);
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_webhook_log(redisContext *c, const drv_config_t *cfg,
			  const char *id, const json_t *entry, char *errstr,
			  size_t errstr_size)
{
	char key[256], *text = json_dumps(entry, JSON_COMPACT);
	drv_err_t rc;

	if (!text)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	log_key(cfg, id, key, sizeof(key));
	rc = cmd(c, NULL, errstr, errstr_size, "LPUSH %s %s", key, text);
	free(text);
	if (!rc)
		rc = cmd(c, NULL, errstr, errstr_size, "LTRIM %s 0 %d", key,
			 DRV_WEBHOOK_LOG_MAX - 1);
	return rc;
}

drv_err_t drv_webhook_deliveries(redisContext *c, const drv_config_t *cfg,
				 const char *id, size_t limit, json_t **out,
				 char *errstr, size_t errstr_size)
{
	char key[256];
	redisReply *r = NULL;
	json_t *arr;
	drv_err_t rc;

	if (limit == 0 || limit > DRV_WEBHOOK_LOG_MAX)
		limit = DRV_WEBHOOK_LOG_MAX;
	log_key(cfg, id, key, sizeof(key));
	if ((rc = cmd(c, &r, errstr, errstr_size, "LRANGE %s 0 %d", key,
		      (int)limit - 1)))
		return rc;
	arr = reply_objects(r);
	freeReplyObject(r);
	if (!arr)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	*out = arr;
	return DRV_OK;
}

/* The type a fire of a schedule's task event is also known by:
 * schedule.succeeded, schedule.failed; NULL for other events. */
static const char *schedule_type(const drv_event_t *e)
{
	if (!drv_event_attribute(e, "schedule_id"))
		return NULL;
	if (!strcmp(e->type, "task.succeeded"))
		return "schedule.succeeded";
	if (!strcmp(e->type, "task.dead"))
		return "schedule.failed";
	return NULL;
}

const char *drv_webhook_wants(const drv_config_t *cfg, const json_t *rec,
			      const drv_event_t *e)
{
	const char *handler = drv_event_attribute(e, "handler"),
		   *breaker = drv_event_attribute(e, "breaker"), *k,
		   *alias, *as = NULL;
	const drv_handler_conf_t *h;
	json_t *v;
	size_t i;

	if (!json_is_true(json_object_get(rec, "enabled")) || !e->type)
		return NULL;
	if (handler && (h = drv_config_handler(cfg, handler)) &&
	    h->type == DRV_HANDLER_WEBHOOK)
		return NULL;
	/* nor the news of a subscription's own breaker */
	if (breaker && !strncmp(breaker, BREAKER_PREFIX,
				strlen(BREAKER_PREFIX)))
		return NULL;
	alias = schedule_type(e);
	json_array_foreach(json_object_get(rec, "events"), i, v) {
		const char *name = json_string_value(v);

		if (!strcmp(name, "*") || !strcmp(name, e->type))
			as = e->type;
		else if (alias && !as && !strcmp(name, alias))
			as = alias;
	}
	if (!as)
		return NULL;
	json_object_foreach(json_object_get(rec, "filter"), k, v) {
		const char *have = drv_event_attribute(e, k);

		if (!have || strcmp(have, json_string_value(v)))
			return NULL;
	}
	return as;
}

/* The data of the delivery: the event as drv_event_to_json() writes it. */
static json_t *event_data(const drv_event_t *e)
{
	char *text = drv_event_to_json(e);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return o;
}

drv_err_t drv_webhook_task(const drv_config_t *cfg, const json_t *rec,
			   const drv_event_t *e, int64_t now_ms, drv_task_t *t)
{
	const char *sid = json_string_value(json_object_get(rec, "id")),
		   *type = drv_webhook_wants(cfg, rec, e);
	char key[DRV_TASK_KEY_MAX], msg_id[128], ts[40], breaker[64];
	json_t *payload, *data = event_data(e);
	char *text;
	int64_t ms = e->time_ms ? e->time_ms : now_ms;

	drv_task_release(t);
	if (!data || !sid)
		goto nomem;
	drv_fmt(key, sizeof(key), "webhook:%s:%s", e->id, sid);
	drv_fmt(msg_id, sizeof(msg_id), "msg_%s_%s", e->id, sid);
	drv_format_time(ms, ts, sizeof(ts));
	payload = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}}", "subscription",
			    sid, "webhook_id", msg_id, "body", "type",
			    type ? type : e->type, "timestamp", ts, "data",
			    data);
	text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	if (!text)
		goto nomem;
	drv_id_new(t->id, now_ms);
	t->created_ms = now_ms;
	t->handler = drv_strdup(cfg->api.webhook_handler);
	t->idempotency_key = drv_strdup(key);
	t->payload = (uint8_t *)text;
	t->payload_len = strlen(text);
	t->origin.event_id = drv_strdup(e->id);
	t->origin.parent_task_id = drv_strdup(e->task_id);
	t->origin.chain_depth = e->chain_depth + 1;
	if (!t->handler || !t->idempotency_key || !t->origin.event_id ||
	    !drv_fmt(breaker, sizeof(breaker), "%s%s", BREAKER_PREFIX, sid) ||
	    drv_task_set_label(t, "drover.breaker", breaker) ||
	    drv_task_set_label(t, "drover.webhook", sid) ||
	    drv_task_set_label(t, "drover.event_type", type ? type : e->type))
		goto nomem;
	return DRV_OK;
nomem:
	drv_task_release(t);
	return DRV_ERR_NOMEM;
}
