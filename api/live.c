/*
 * live.c — GET /api/v1/live: a Server-Sent Events stream for the web
 * console. Every `interval` seconds (1-60, default 2) it sends an event
 * `queues` whose data is GET /api/v1/queues's reply (the same handler,
 * queues.c), after an event `dlq` with the DLQ's newest depth sample
 * (core/dlq_depth.c: one ZRANGE) when its depth is not the one the stream
 * sent last (the first time: whenever there is one); every LIVE_FEED_MS it reads the head of the breakers'
 * transition feed (core/breaker_log.c: one LINDEX) and sends an event
 * `breaker` for each transition it had not sent, oldest first (a
 * `breaker_gap` when some are no longer there or were too many:
 * LIVE_FEED_BATCH a read). With `task=ID` (up to LIVE_TASKS_MAX, the
 * parameter repeated), at each feed read one pipelined HMGET of each
 * watched task's state, attempt and updated_ms (core/state.c's hash), and
 * for each whose three changed since the stream last sent it (the first
 * read: each), an event `task` with GET /api/v1/tasks/{id}'s reply, read
 * then (drv_state_get()), or {"id", "state": null} while it has no record.
 * (The task's hash is the one place every change of a task shows: the
 * lifecycle events on the events topic say only how attempts end, and are
 * consumed by the leader alone.) A `retry:` hint comes first and a
 * comment heartbeat every LIVE_BEAT_MS.
 *
 * Every event has an id "MS-SEQ": MS only grows (the wall clock in ms, at
 * least one more than the last sent or the MS of the Last-Event-ID given),
 * SEQ is the feed's place this stream has sent up to (the id is "MS" alone
 * until Redis told it). A reconnect with Last-Event-ID "MS-SEQ" gets the
 * transitions after SEQ, then a fresh snapshot, at once; without SEQ it
 * starts from the feed's head (nothing replayed).
 *
 * A stream never holds one of the server's threads while it waits: its
 * response is a libmicrohttpd callback response, and when the callback has
 * nothing to send it suspends the connection (MHD_suspend_connection). One
 * ticker thread resumes each suspended stream when its next event is due;
 * the pool thread that then serves the connection builds the event. So a
 * pool thread is busy only while a snapshot is taken, as for a request.
 *
 * Bounds: api.live_streams streams at once (503 and Retry-After beyond),
 * each ends after LIVE_MAX_MS (EventSource reconnects by itself). A client
 * that goes away is noticed at the next write (at most LIVE_BEAT_MS later)
 * and its stream freed with the connection's response.
 *
 * Locks: live->lock guards the list, every stream's suspended and wake_ms,
 * and closing; it is held across MHD_suspend_connection() and
 * MHD_resume_connection() so that the two never cross.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api_int.h"
#include "drover/breaker.h"
#include "drover/clock.h"
#include "drover/dlq_depth.h"
#include "drover/state.h"
#include "drover/str.h"
#include "drover/task.h"

#define LIVE_MAX_MS       (10 * 60 * 1000)  /* a stream's longest life */
#define LIVE_BEAT_MS      15000             /* comment heartbeat */
#define LIVE_RETRY_MS     2000              /* the retry: hint */
#define LIVE_INTERVAL_DEF 2
#define LIVE_INTERVAL_MAX 60
#define LIVE_BUSY_RETRY_S 10                /* Retry-After of a 503 */
#define LIVE_FEED_MS      1000              /* between two feed reads */
#define LIVE_FEED_BATCH   50                /* transitions a read at most */
#define LIVE_TASKS_MAX    8                 /* tasks a stream watches */

/* A watched task: its id and what its record said when last sent
 * ("state attempt updated_ms", or "-" for no record; "" before). */
typedef struct live_task {
	char id[DRV_ID_LEN + 1];
	char sig[64];
} live_task_t;

/* One client's stream; freed with its response (stream_free). */
typedef struct api_stream {
	struct api_live *live;
	struct drv_api *api;
	struct MHD_Connection *conn;
	struct api_stream *next;
	int64_t interval_ms;
	int64_t next_snap_ms, next_beat_ms, next_feed_ms, end_ms; /* mono */
	int64_t last_id;       /* MS of the last id sent, or Last-Event-ID's */
	int64_t feed;          /* the feed's place sent up to (feed_known) */
	bool feed_known;       /* read from Redis, or Last-Event-ID's SEQ */
	int64_t dlq_depth;     /* the depth of the last `dlq` event */
	bool dlq_sent;         /* one was sent */
	bool hello;            /* retry: sent */
	live_task_t tasks[LIVE_TASKS_MAX];  /* ?task= ids watched */
	size_t task_cnt;
	/* under live->lock */
	bool suspended;
	int64_t wake_ms;
	/* bytes built, not yet handed to libmicrohttpd (callback only) */
	drv_buf_t out;
	size_t off;
} api_stream_t;

struct api_live {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t ticker;
	bool started, closing;
	api_stream_t *streams;
	size_t cnt;
};

/* ------------------------------------------------------------------ */
/* The ticker                                                          */
/* ------------------------------------------------------------------ */

/* Resume every suspended stream that is due (all of them once closing);
 * sleep until the next one is. Exits when closing and none is left
 * suspended. */
static void *ticker(void *arg)
{
	struct api_live *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		int64_t now = drv_mono_ms(), next = now + 1000;
		struct timespec ts;

		for (api_stream_t *s = l->streams; s; s = s->next) {
			if (!s->suspended)
				continue;
			if (l->closing || s->wake_ms <= now) {
				s->suspended = false;
				MHD_resume_connection(s->conn);
			} else if (s->wake_ms < next) {
				next = s->wake_ms;
			}
		}
		if (l->closing)
			break;
		ts = drv_deadline(CLOCK_MONOTONIC, next - now);
		pthread_cond_timedwait(&l->cond, &l->lock, &ts);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

drv_err_t api_live_init(struct drv_api *a, char *errstr, size_t errstr_size)
{
	struct api_live *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	if (!l)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "api: out of memory");
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	a->live = l;
	if (pthread_create(&l->ticker, NULL, ticker, l))
		return drv_error(errstr, errstr_size, DRV_ERR_SYSTEM,
				 "api: cannot start the live ticker: %s",
				 strerror(errno));
	l->started = true;
	return DRV_OK;
}

void api_live_close(struct drv_api *a)
{
	struct api_live *l = a->live;

	if (!l || !l->started)
		return;
	pthread_mutex_lock(&l->lock);
	l->closing = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->ticker, NULL);
	l->started = false;
}

void api_live_release(struct drv_api *a)
{
	struct api_live *l = a->live;

	if (!l)
		return;
	api_live_close(a);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
	a->live = NULL;
}

/* ------------------------------------------------------------------ */
/* One stream                                                          */
/* ------------------------------------------------------------------ */

/* The next id: the wall clock in ms, but always more than the last. */
static int64_t next_id(api_stream_t *s)
{
	int64_t id = drv_now_ms();

	if (id <= s->last_id)
		id = s->last_id + 1;
	return s->last_id = id;
}

/* Append one event \p name with \p data (one line of JSON) and a new id. */
static void add_event(api_stream_t *s, const char *name, const char *data)
{
	char head[160], seq[24] = "";

	if (s->feed_known)
		drv_fmt(seq, sizeof(seq), "-%" PRId64, s->feed);
	drv_fmt(head, sizeof(head), "event: %s\nid: %" PRId64 "%s\ndata: ",
		name, next_id(s), seq);
	drv_buf_add(&s->out, head, strlen(head));
	drv_buf_add(&s->out, data, strlen(data));
	drv_buf_add(&s->out, "\n\n", 2);
}

/* Append event \p name with \p data (a new reference, taken). */
static void add_json_event(api_stream_t *s, const char *name, json_t *data)
{
	char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;

	if (text)
		add_event(s, name, text);
	free(text);
	json_decref(data);
}

/* The `breaker` events of the transitions the stream has not sent (a
 * `breaker_gap` first when some are lost); the first read of a stream
 * without a place only takes the head. A Redis that fails is tried again
 * at the next read. */
static void add_breakers(api_stream_t *s)
{
	api_call_t call = { .api = s->api, .conn = s->conn };
	drv_breaker_feed_entry_t *e = malloc(LIVE_FEED_BATCH * sizeof(*e));
	redisContext *c = e ? api_redis_try(&call) : NULL;
	size_t cnt;
	int64_t head;
	bool lost;
	char err[256];

	if (!c) {
		free(e);
		return;
	}
	if (drv_breaker_feed_read(c, s->api->cfg, s->feed_known ? s->feed :
				  -1, LIVE_FEED_BATCH, e, &cnt, &head, &lost,
				  err, sizeof(err))) {
		api_redis_lost(&call);
		free(e);
		return;
	}
	if (lost && s->feed_known) {
		s->feed = head;
		add_json_event(s, "breaker_gap", json_pack("{s:I}", "seq",
				(json_int_t)head));
	}
	for (size_t i = 0; i < cnt; i++) {
		s->feed = e[i].seq;
		s->feed_known = true;
		add_json_event(s, "breaker", drv_breaker_feed_entry_json(&e[i]));
	}
	s->feed = head;
	s->feed_known = true;
	free(e);
}

/* A `dlq` event when the newest depth sample's depth is not the one sent
 * last (nothing when there is none, or Redis fails). */
static void add_dlq(api_stream_t *s)
{
	api_call_t call = { .api = s->api, .conn = s->conn };
	redisContext *c = api_redis_try(&call);
	json_t *cur = NULL;
	int64_t depth;
	char err[256];

	if (!c)
		return;
	if (drv_dlq_depth_current(s->api->cfg, c, &cur, err, sizeof(err))) {
		api_redis_lost(&call);
		return;
	}
	depth = json_integer_value(json_object_get(cur, "depth"));
	if (json_is_object(cur) && (!s->dlq_sent || depth != s->dlq_depth)) {
		s->dlq_sent = true;
		s->dlq_depth = depth;
		add_json_event(s, "dlq", cur);
		return;
	}
	json_decref(cur);
}

/* A `task` event for each watched task whose record changed since the
 * stream sent it (its state, attempt or update time: one pipelined HMGET
 * of the three for all of them), with GET /tasks/{id}'s reply read then;
 * for one without a record, {"id", "state": null} once. A Redis that fails
 * is tried again at the next read. */
static void add_tasks(api_stream_t *s)
{
	api_call_t call = { .api = s->api, .conn = s->conn };
	const char *prefix = s->api->cfg->redis.key_prefix;
	char key[512], sigs[LIVE_TASKS_MAX][64], err[256];
	redisContext *c;
	redisReply *r;
	size_t i;

	if (!s->task_cnt || !(c = api_redis_try(&call)))
		return;
	for (i = 0; i < s->task_cnt; i++) {
		drv_fmt(key, sizeof(key), "%stask:%s", prefix, s->tasks[i].id);
		redisAppendCommand(c, "HMGET %s state attempt updated_ms", key);
	}
	for (i = 0; i < s->task_cnt; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			api_redis_lost(&call);
			return;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
			drv_strlcpy(sigs[i], s->tasks[i].sig,
				    sizeof(sigs[i]));
		else if (r->element[0]->type != REDIS_REPLY_STRING)
			drv_fmt(sigs[i], sizeof(sigs[i]), "-");
		else
			drv_fmt(sigs[i], sizeof(sigs[i]), "%.16s %.12s %.20s",
				r->element[0]->str,
				r->element[1]->type == REDIS_REPLY_STRING ?
				r->element[1]->str : "",
				r->element[2]->type == REDIS_REPLY_STRING ?
				r->element[2]->str : "");
		freeReplyObject(r);
	}
	for (i = 0; i < s->task_cnt; i++) {
		live_task_t *t = &s->tasks[i];
		drv_state_task_t st;
		char *text = NULL;
		drv_err_t rc;

		if (!strcmp(sigs[i], t->sig))
			continue;
		if (!strcmp(sigs[i], "-")) {
			drv_strlcpy(t->sig, sigs[i], sizeof(t->sig));
			add_json_event(s, "task", json_pack("{s:s, s:n}", "id",
						t->id, "state"));
			continue;
		}
		drv_state_task_init(&st);
		rc = drv_state_get(c, prefix, t->id, &st, err, sizeof(err));
		if (rc == DRV_OK && (text = drv_state_task_json(&st)))
			add_json_event(s, "task", json_loads(text, 0, NULL));
		free(text);
		drv_state_task_release(&st);
		if (rc == DRV_ERR_REDIS || rc == DRV_ERR_TIMEOUT) {
			api_redis_lost(&call);
			return;
		}
		/* gone meanwhile: the next read says so */
		if (rc != DRV_ERR_NOT_FOUND)
			drv_strlcpy(t->sig, sigs[i], sizeof(t->sig));
	}
}

/* A `queues` event from GET /queues's own handler (on this pool thread,
 * with its Redis connection), or a `problem` event with its problem. */
static void add_snapshot(api_stream_t *s)
{
	api_call_t call = { .api = s->api, .conn = s->conn };

	api_queues_status(&call);
	add_json_event(s, call.status == 200 ? "queues" : "problem",
		       call.reply);
}

/* Build what is due at \p now into s->out; false when nothing is (the
 * caller suspends until s->wake_ms). */
static bool build(api_stream_t *s, int64_t now)
{
	char retry[32];

	if (!s->hello) {
		drv_fmt(retry, sizeof(retry), "retry: %d\n\n", LIVE_RETRY_MS);
		drv_buf_add(&s->out, retry, strlen(retry));
		s->hello = true;
	}
	if (now >= s->next_feed_ms) {
		add_breakers(s);
		add_tasks(s);
		s->next_feed_ms = now + LIVE_FEED_MS;
	}
	if (now >= s->next_snap_ms) {
		add_dlq(s);
		add_snapshot(s);
		s->next_snap_ms = now + s->interval_ms;
		s->next_beat_ms = now + LIVE_BEAT_MS;
	} else if (s->out.len) {
		s->next_beat_ms = now + LIVE_BEAT_MS;
	} else if (now >= s->next_beat_ms) {
		drv_buf_add(&s->out, ": beat\n\n", 8);
		s->next_beat_ms = now + LIVE_BEAT_MS;
	}
	return s->out.len > 0;
}

/* libmicrohttpd asks for the next bytes: hand over what is built, build
 * what is due, or suspend until something is (returning 0 then is what
 * libmicrohttpd allows with a suspended connection). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	api_stream_t *s = cls;
	struct api_live *l = s->live;
	int64_t now = drv_mono_ms();
	size_t n;
	bool closing;

	(void)pos;
	if (s->off == s->out.len) {
		s->off = s->out.len = 0;
		pthread_mutex_lock(&l->lock);
		closing = l->closing;
		pthread_mutex_unlock(&l->lock);
		if (s->out.oom || closing || now >= s->end_ms)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (!build(s, now)) {
			pthread_mutex_lock(&l->lock);
			if (l->closing) {
				pthread_mutex_unlock(&l->lock);
				return MHD_CONTENT_READER_END_OF_STREAM;
			}
			s->wake_ms = s->next_snap_ms < s->next_beat_ms ?
				     s->next_snap_ms : s->next_beat_ms;
			if (s->next_feed_ms < s->wake_ms)
				s->wake_ms = s->next_feed_ms;
			if (s->wake_ms > s->end_ms)
				s->wake_ms = s->end_ms;
			s->suspended = true;
			MHD_suspend_connection(s->conn);
			pthread_cond_signal(&l->cond);
			pthread_mutex_unlock(&l->lock);
			return 0;
		}
	}
	n = s->out.len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->out.p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* The response is gone (sent, or the client went away): unlist, free. */
static void stream_free(void *cls)
{
	api_stream_t *s = cls;
	struct api_live *l = s->live;

	pthread_mutex_lock(&l->lock);
	for (api_stream_t **p = &l->streams; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	l->cnt--;
	pthread_mutex_unlock(&l->lock);
	free(s->out.p);
	free(s);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/live                                                    */
/* ------------------------------------------------------------------ */

/* The query: interval and the tasks watched. */
typedef struct live_args {
	int64_t interval;
	live_task_t tasks[LIVE_TASKS_MAX];
	size_t task_cnt;
} live_args_t;

static bool live_param(api_call_t *call, const char *name, const char *value,
		       void *arg)
{
	live_args_t *a = arg;
	int64_t *interval = &a->interval;

	if (!strcmp(name, "task")) {
		size_t i;

		if (!drv_id_valid(value)) {
			api_problem(call, 400, NULL, "task must be a task id "
				    "(26 characters of Crockford base32)");
			return false;
		}
		for (i = 0; i < a->task_cnt && strcmp(a->tasks[i].id, value);
		     i++)
			;
		if (i < a->task_cnt)
			return true;  /* twice: once */
		if (a->task_cnt == LIVE_TASKS_MAX) {
			api_problem(call, 400, NULL, "at most %d tasks a "
				    "stream", LIVE_TASKS_MAX);
			return false;
		}
		drv_strlcpy(a->tasks[a->task_cnt++].id, value,
			    sizeof(a->tasks[0].id));
		return true;
	}
	if (!strcmp(name, "access_token"))
		return true;  /* taken by server.c */
	if (!strcmp(name, "interval")) {
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < 1 ||
		    v > LIVE_INTERVAL_MAX) {
			api_problem(call, 400, NULL, "interval must be 1 to %d "
				    "(seconds)", LIVE_INTERVAL_MAX);
			return false;
		}
		*interval = v;
		return true;
	}
	api_problem(call, 400, NULL, "unknown query parameter %s", name);
	return false;
}

/* The Last-Event-ID a reconnecting client sends ("MS" or "MS-SEQ") into
 * s->last_id and s->feed; nothing when there is none or it is not one. */
static void last_event_id(api_call_t *call, api_stream_t *s)
{
	const char *v = MHD_lookup_connection_value(call->conn,
						    MHD_HEADER_KIND,
						    "Last-Event-ID");
	char *end, *end2;
	long long ms, seq;

	if (!v || !*v)
		return;
	errno = 0;
	ms = strtoll(v, &end, 10);
	if (errno || end == v || ms < 0 || (*end && *end != '-'))
		return;
	if (*end) {
		seq = strtoll(end + 1, &end2, 10);
		if (errno || end2 == end + 1 || *end2 || seq < 0)
			return;
		s->feed = seq;
		s->feed_known = true;
	}
	s->last_id = ms;
}

static void live(api_call_t *call)
{
	struct drv_api *a = call->api;
	struct api_live *l = a->live;
	live_args_t q = { .interval = LIVE_INTERVAL_DEF };
	int64_t now = drv_mono_ms();
	api_stream_t *s;
	size_t max = (size_t)a->cfg->api.live_streams;

	if (!api_query_each(call, live_param, &q))
		return;
	if (!(s = malloc(sizeof(*s)))) {
		api_problem(call, 500, NULL, "out of memory");
		return;
	}
	*s = (api_stream_t){ .live = l, .api = a, .conn = call->conn,
			     .interval_ms = q.interval * 1000,
			     .next_snap_ms = now,
			     .next_beat_ms = now + LIVE_BEAT_MS,
			     .next_feed_ms = now,
			     .end_ms = now + LIVE_MAX_MS };
	memcpy(s->tasks, q.tasks, sizeof(q.tasks));
	s->task_cnt = q.task_cnt;
	last_event_id(call, s);
	pthread_mutex_lock(&l->lock);
	if (l->closing || l->cnt >= max) {
		pthread_mutex_unlock(&l->lock);
		free(s);
		call->retry_after = LIVE_BUSY_RETRY_S;
		api_problem(call, 503, NULL, "%zu live streams already (at "
			    "most api.live_streams); retry later, or poll",
			    max);
		return;
	}
	s->next = l->streams;
	l->streams = s;
	l->cnt++;
	pthread_mutex_unlock(&l->lock);
	/* from here the response owns s: stream_free() unlists it */
	call->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
							  4096, stream_read, s,
							  stream_free);
	if (!call->stream) {
		stream_free(s);
		api_problem(call, 500, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(call->stream, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream");
	MHD_add_response_header(call->stream, "X-Accel-Buffering", "no");
	call->status = 200;
}

static const api_query_doc_t live_query[] = {
	{ "interval", "{\"type\": \"integer\", \"minimum\": 1, "
	  "\"maximum\": 60, \"default\": 2}",
	  "Seconds between two `queues` events" },
	{ "task", "{\"type\": \"string\", \"pattern\": "
	  "\"^[0-7][0-9A-HJKMNP-TV-Z]{25}$\"}",
	  "A task to watch (up to 8: repeat the parameter): a `task` event "
	  "with GET /tasks/{id}'s reply at once and whenever its state, "
	  "attempt or update time changes (read every second), or "
	  "{\"id\", \"state\": null} while it has no state record" },
	{ "access_token", API_TEXT_SCHEMA,
	  "The bearer token, for clients that cannot send headers "
	  "(EventSource); taken on this route only" },
	{ NULL, NULL, NULL },
};

const api_route_t api_live_routes[] = {
	{ .method = "GET", .path = "/api/v1/live", .role = DRV_API_VIEWER,
	  .cls = API_READ, .fn = live, .token_query = true,
	  .query = live_query,
	  .op_id = "getLive", .tag = "live",
	  .summary = "Server-Sent Events: a `queues` event (GET /queues's "
		     "reply) every `interval` seconds, after a `dlq` event "
		     "(DLQ depth: GET /dlq/depth's `current`) when the depth "
		     "changed; a `breaker` event "
		     "(BreakerFeedEntry) for each breaker transition, read "
		     "every second, or a `breaker_gap` (BreakerFeedGap) when "
		     "some were lost; with `task`, a `task` event (Task, or "
		     "{id, state: null} without a record) when a watched "
		     "task's state, attempt or update time changed, read "
		     "every second; ids \"MS-SEQ\" whose MS grows and SEQ "
		     "is the transitions sent up to; a heartbeat comment "
		     "every 15 s; ends after 10 minutes (reconnect: "
		     "Last-Event-ID gets the transitions after its SEQ, then "
		     "a fresh snapshot with a greater MS)",
	  .ok_status = 200, .ok_type = "text/event-stream",
	  .response = "{\"type\": \"string\", \"description\": \"Events "
		      "`queues` (data: GET /queues's reply), `problem` (a "
		      "problem document), `dlq` ({at_ms, depth}: GET "
		      "/dlq/depth's `current`), `breaker` (BreakerFeedEntry), "
		      "`breaker_gap` (BreakerFeedGap) and `task` "
		      "(TaskEvent)\"}",
	  .errors = "503" },
	{ .method = NULL },
};

/* the data of the events other than `queues` (GET /queues's schema) */
const api_schema_t api_live_schemas[] = {
	{ "BreakerFeedEntry",
	  "{\"type\": \"object\", \"description\": \"A `breaker` event's "
	  "data: one transition of a breaker, as its transition log has it, "
	  "with its breaker's name and its place in the feed of every "
	  "breaker's\", \"required\": [\"seq\", \"name\", \"at_ms\", "
	  "\"from\", \"to\", \"gen\", \"why\"], \"properties\": {"
	  "\"seq\": {\"type\": \"integer\", \"description\": \"its place "
	  "in the feed (the SEQ of the event's id)\"}, "
	  "\"name\": {\"type\": \"string\"}, "
	  "\"at_ms\": {\"type\": \"integer\", \"description\": \"Redis "
	  "clock\"}, "
	  "\"from\": {\"type\": \"string\"}, \"to\": {\"type\": \"string\"}, "
	  "\"gen\": {\"type\": \"integer\", \"description\": \"the "
	  "breaker's transitions so far, this one included (its "
	  "`transitions`)\"}, "
	  "\"why\": {\"type\": \"string\"}}}" },
	{ "BreakerFeedGap",
	  "{\"type\": \"object\", \"description\": \"A `breaker_gap` "
	  "event's data: transitions up to `seq` were not all sent (the "
	  "feed keeps the last 200; a read sends at most 50): read the "
	  "breakers again\", \"required\": [\"seq\"], \"properties\": {"
	  "\"seq\": {\"type\": \"integer\"}}}" },
	{ "TaskEvent",
	  "{\"description\": \"A `task` event's data: a watched task's "
	  "GET /tasks/{id} reply, or its id and a null state while it has "
	  "no state record\", \"oneOf\": [{\"$ref\": "
	  "\"#/components/schemas/Task\"}, {\"type\": \"object\", "
	  "\"required\": [\"id\", \"state\"], \"properties\": {"
	  "\"id\": {\"type\": \"string\"}, \"state\": {\"type\": "
	  "\"null\"}}}]}" },
	{ NULL, NULL },
};
