/*
 * api_int.h — what the API's files share: the server, one call (request in,
 * reply out), the route table and the helpers route handlers use. One file
 * per resource (tasks.c, breakers.c, ...) defines its routes; routes.c
 * joins them into the one table that both dispatches requests and writes
 * the OpenAPI document, so the two cannot drift apart.
 *
 *   server.c   libmicrohttpd, bodies, auth, rate limits, replies
 *   routes.c   the route table, path matching, /openapi.json
 *   limit.c    token buckets per token and route class
 *   batch.c    what every batch call shares: many produces, one wait
 *   pending.c  a request that waits for Kafka with its connection
 *              suspended, not on a thread
 *   tasks.c    /tasks: submit, batch, list, show, retries, pause, resume,
 *              skip, cancel
 *   events.c   /events: emit one, or a batch
 *   breakers.c /breakers: list, show, open, close, release
 *   task_limits.c /limits: list (fleet-wide execution limits)
 *   queues.c   /queues: depth, age and rates per topic, workers
 *   live.c     /live: Server-Sent Events of the queues, the DLQ depth and
 *              the breaker transitions, for the console
 *   console.c  the web console's built files at /
 *   schedules.c /schedules: list, show, enable, disable, add, update,
 *              delete
 *   schedule_fires.c /schedules/{id}/fires, /schedules/timeline: the
 *              fire history
 *   dlq.c      /dlq: list, show, stats; the DLQ filters
 *   dlq_resubmit.c  /dlq/resubmit, /tasks/{id}/retry
 *   dlq_jobs.c /dlq/jobs: durable resubmission jobs (drover/dlq_job.h)
 *   audit.c    /audit: the audit trail, filtered and paged
 *   retries.c  /retries/analytics: attempt distributions per handler
 *   history.c  /history: series per handler or band; /markers: deploy
 *              markers
 *   webhooks.c /webhooks: subscriptions, secret rotation, delivery logs
 *
 * Threads: requests run on the server's pool of api.threads threads; each
 * thread has its own Redis connection (api_redis()); the Kafka producer is
 * shared (librdkafka is thread-safe), its delivery reports served by one
 * poller thread, which also resumes the requests waiting for them
 * (pending.c).
 */
#ifndef DROVER_API_INT_H
#define DROVER_API_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "drover/api.h"
#include "drover/config.h"
#include "drover/conn_guard.h"
#include "drover/dlq.h"
#include "drover/kafka.h"
#include "drover/queue_status.h"
#include "drover/task_list.h"

struct MHD_Connection;
struct MHD_Response;
struct api_live;

/** Route classes: each has its own rate per token. */
typedef enum api_class {
	API_READ  = 0,  /**< api.read_rate */
	API_WRITE = 1,  /**< api.write_rate */
} api_class_t;
#define API_CLASS_CNT 2

/** Token buckets, one per token and class (limit.c). */
typedef struct api_limits {
	pthread_mutex_t lock;
	size_t  cnt;         /**< tokens */
	double  rate[API_CLASS_CNT];
	double *level;       /**< cnt * API_CLASS_CNT: tokens left */
	int64_t *at_us;      /**< when each level was last brought up */
} api_limits_t;

/** What one check of a bucket says, for the RateLimit headers. */
typedef struct api_quota {
	bool    allowed;
	long    limit;       /**< q: requests per window of 1 s */
	long    remaining;   /**< r */
	long    reset_s;     /**< t: seconds until one more is allowed
				  (refused) or the bucket is full (allowed) */
} api_quota_t;

/** @brief Buckets for \p cnt tokens, full, with the rates of \p cfg.
 *  @returns false when out of memory. */
bool api_limits_init(api_limits_t *l, const drv_config_t *cfg, size_t cnt);
void api_limits_release(api_limits_t *l);
/** @brief Take one request from token \p token's bucket of \p cls at
 *         monotonic time \p now_us. */
api_quota_t api_limits_take(api_limits_t *l, size_t token, api_class_t cls,
			    int64_t now_us);

struct drv_api {
	drv_config_t *cfg;        /**< owned */
	struct MHD_Daemon *mhd;
	drv_conn_guard_t *guard;  /**< slow clients (drover/conn_guard.h) */
	unsigned port;
	rd_kafka_t *producer;     /**< shared by every thread */
	drv_kafka_poller_t *poller; /**< serves the producer's reports */
	api_limits_t limits;
	pthread_key_t redis_key;  /**< each thread's redisContext */
	char *tls_cert, *tls_key; /**< PEM text while serving HTTPS */
	/* queues.c: the reader and the kept sample under queue_lock (held
	 * while sampling), the last reply under queue_reply_lock */
	pthread_mutex_t queue_lock, queue_reply_lock;
	drv_queue_reader_t *queue_reader;  /**< made at the first request */
	drv_queue_status_t queue_last;     /**< the sample rates start from */
	json_t *queue_reply;               /**< the last reply, or NULL */
	struct api_live *live;             /**< live.c: the streams */
	/* console.c */
	char *console_root;       /**< resolved api.console_dir, or NULL */
	const char *console_why;  /**< why there is none */
	char console_err[1024];
	/* the gzip bodies of its files, made at each file's first request
	 * that accepts gzip, under console_lock */
	pthread_mutex_t console_lock;
	struct api_gz *console_gz;   /**< console_gz_cnt entries */
	size_t console_gz_cnt, console_gz_bytes;
	/* api.loopback_viewer's caller; its buckets are the last ones */
	drv_api_token_conf_t loopback;
	/* pending.c: connections suspended while Kafka acknowledges, and
	 * closing (no more suspensions), under wait_lock */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;
	size_t suspended;
	bool closing;
};

/** A request's wait for its delivery reports (pending.c). Opaque. */
typedef struct api_wait api_wait_t;

/** Most path parameters a route has. */
#define API_PARAM_MAX 2

/** One request and its reply. */
typedef struct api_call {
	struct drv_api *api;
	const struct api_route *route;
	struct MHD_Connection *conn;
	const drv_api_token_conf_t *token;   /**< NULL on public routes */
	char params[API_PARAM_MAX][256];     /**< decoded, in path order */
	const char *body;                    /**< NUL-terminated */
	size_t body_len;

	unsigned status;                     /**< reply */
	json_t *reply;                       /**< owned; NULL = no body */
	bool problem;                        /**< reply is a problem */
	char replayed;                       /**< Idempotent-Replayed */
	struct MHD_Response *stream;         /**< owned; when set, sent
						  instead of reply (live.c) */
	unsigned retry_after;                /**< seconds; 0 = no header */
	api_wait_t *wait;                    /**< owned; set when the answer
						  waits for delivery reports
						  (pending.c) */
} api_call_t;

typedef void api_handler_fn(api_call_t *call);

/** A query parameter a route takes, for the OpenAPI document. */
typedef struct api_query_doc {
	const char *name;
	const char *schema;      /**< JSON Schema text */
	const char *doc;
} api_query_doc_t;

/** One route: dispatch and documentation in one row. */
typedef struct api_route {
	const char *method;       /**< "GET", "POST" */
	const char *path;         /**< "/api/v1/tasks/{id}" */
	drv_api_role_t role;      /**< least role allowed */
	bool public;              /**< no token needed */
	bool token_query;         /**< the token may come as the query
				       parameter access_token (EventSource
				       cannot send headers) */
	api_class_t cls;
	api_handler_fn *fn;
	const char *op_id;        /**< OpenAPI operationId */
	const char *tag;
	const char *summary;
	const char *param_doc[API_PARAM_MAX]; /**< per {param}: doc */
	const api_query_doc_t *query;         /**< NULL-name terminated */
	const char *request;      /**< schema of the body ($ref text), NULL */
	bool        body_optional; /**< the body may be left out */
	const char *request_example; /**< JSON text */
	unsigned ok_status;       /**< 200, 201 */
	const char *ok_type;      /**< its media type; NULL = JSON */
	const char *response;     /**< schema of the reply */
	const char *response_example; /**< JSON text, or NULL */
	unsigned alt_status;      /**< a second success status (a dry run's
				       200 beside a 202), 0 = none */
	const char *alt_response; /**< its schema */
	const char *errors;       /**< statuses besides 400 401 403 429:
				       "404 409" */
} api_route_t;

/** The JSON Schema of a time filter (since, until): exactly what
 *  drv_parse_when() takes: RFC 3339, a date, or a duration ago no longer
 *  than the time since 1970. */
#define API_WHEN_SCHEMA "{\"type\": \"string\", \"minLength\": 1, \"pattern\": " \
	"\"^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])" \
	"([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\\\.[0-9]{1,9})?" \
	"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?|([0-9]{1,4}d)?" \
	"([0-9]{1,5}h)?([0-9]{1,6}m)?([0-9]{1,7}s)?([0-9]{1,9}ms)?|" \
	"[0-9]{1,12})$\"}"

/** How API_WHEN_SCHEMA reads, after a filter's description. */
#define API_WHEN_DOC " (RFC 3339, a date, or a duration ago: 2h)"

/** Query and body text: not empty, no NUL (api_query_each() refuses a
 *  %00, which would cut a C string short). */
#define API_TEXT_SCHEMA "{\"type\": \"string\", \"minLength\": 1, " \
	"\"pattern\": \"^[^\\\\u0000]*$\"}"
/** A label filter: KEY=VALUE, no NUL. */
#define API_LABEL_SCHEMA "{\"type\": \"string\", \"pattern\": " \
	"\"^[^=\\\\u0000]+=[^\\\\u0000]*$\"}"

/** Schemas shared by the document's components (name, JSON Schema text). */
typedef struct api_schema {
	const char *name;
	const char *schema;
} api_schema_t;

/* Routes and schemas of each resource file. NULL-method terminated. */
extern const api_route_t api_task_routes[];
extern const api_schema_t api_task_schemas[];
extern const api_route_t api_breaker_routes[];
extern const api_schema_t api_breaker_schemas[];
extern const api_route_t api_task_limit_routes[];
extern const api_schema_t api_task_limit_schemas[];
extern const api_route_t api_event_routes[];
extern const api_schema_t api_event_schemas[];
extern const api_route_t api_queue_routes[];
extern const api_schema_t api_queue_schemas[];
extern const api_route_t api_live_routes[];
extern const api_schema_t api_live_schemas[];
extern const api_route_t api_schedule_routes[];
extern const api_schema_t api_schedule_schemas[];
extern const api_route_t api_schedule_fire_routes[];
extern const api_schema_t api_schedule_fire_schemas[];
extern const api_route_t api_dlq_routes[];
extern const api_schema_t api_dlq_schemas[];
extern const api_route_t api_dlq_resubmit_routes[];
extern const api_schema_t api_dlq_resubmit_schemas[];
extern const api_route_t api_dlq_group_routes[];
extern const api_route_t api_dlq_job_routes[];
extern const api_schema_t api_dlq_job_schemas[];
extern const api_schema_t api_dlq_group_schemas[];
extern const api_route_t api_audit_routes[];
extern const api_schema_t api_audit_schemas[];
extern const api_route_t api_webhook_routes[];
extern const api_schema_t api_webhook_schemas[];
extern const api_route_t api_retry_routes[];
extern const api_schema_t api_retry_schemas[];
extern const api_route_t api_history_routes[];
extern const api_schema_t api_history_schemas[];

/* dlq_jobs.c: a job of \p spec (borrowed) made and replied (202, audited
 * as \p action with the spec), or with \p dry its exact count (200). */
void api_dlq_job_start(api_call_t *call, const json_t *spec, bool dry,
		       const char *action);

/* dlq.c: the filters every DLQ route takes (dlq_resubmit.c's too) */
/** What a DLQ request asks for. */
typedef struct api_dlq_args {
	drv_dlq_filter_t f;
	const char *cursor;
	int64_t limit, now;
	bool paged;          /**< limit, cursor and message are taken */
	bool message;        /**< message=true: with message_base64 */
	const char *at;      /**< body: "/filter" (problem pointers); NULL =
				  the query */
} api_dlq_args_t;

/** @brief One filter \p name = \p value into \p a (drv_dlq_filter_set()),
 *         \p value borrowed; false with the 400 replied, naming \p name
 *         (and, in a body, pointing under a->at). */
bool api_dlq_filter_set(api_call_t *call, api_dlq_args_t *a,
			const char *name, const char *value);
/** @brief Reply the problem of a failed DLQ read (no DLQ topic: 503). */
void api_dlq_read_failed(api_call_t *call, drv_err_t rc, const char *err);
/* A reason filter: one of drv_dl_reason_name()'s (JSON Schema). */
#define API_DLQ_REASON_SCHEMA "{\"type\": \"string\", \"enum\": " \
	"[\"permanent_failure\", \"attempts_exhausted\", " \
	"\"deadline_exceeded\", \"undecodable\", \"handler_unknown\", " \
	"\"skipped\"]}"


/* schedules.c: the rows (drv_sched_rows()) of every schedule, or of
 * \p only; NULL (the problem replied) on a Redis failure. The caller frees
 * them with drv_sched_rows_free(). */
struct drv_sched_row;
struct drv_sched_row *api_sched_rows(api_call_t *call, const char *only,
				     size_t *cnt);
/* schedules.c: a page of them in id order (drv_sched_rows_page()) after
 * \p cursor, \p next its next cursor ("" on the last page, at least
 * DRV_SCHED_CURSOR_SIZE bytes); NULL with the problem replied (400 for a
 * bad cursor, 503 on a Redis failure). */
struct drv_sched_row *api_sched_page(api_call_t *call, const char *cursor,
				     size_t limit, size_t *cnt, char *next);
/* schedules.c: the time zones a schedule may name (borrowed, made once). */
json_t *api_zone_names(void);

/* queues.c: the queued tasks of GET /tasks?state=queued through the
 * server's queue reader (waits for a sample being taken). */
drv_err_t api_queued_list(api_call_t *call, redisContext *c,
			  const drv_task_filter_t *f, const char *cursor,
			  size_t limit, drv_task_page_t *out, char *errstr,
			  size_t errstr_size);

/* queues.c: the kept sample and its lock, set up with the server. */
void api_queues_init(struct drv_api *a);
void api_queues_release(struct drv_api *a);
/** @brief GET /api/v1/queues: reply the queue status (or its problem) to
 *         \p call, on the calling pool thread's Redis connection. */
void api_queues_status(api_call_t *call);

/* live.c */
/** @brief Start the ticker that resumes the live streams (sets a->live,
 *         freed by api_live_release() even on failure). */
drv_err_t api_live_init(struct drv_api *a, char *errstr, size_t errstr_size);
/** @brief End every stream (each sends nothing more) and stop the ticker;
 *         before MHD_stop_daemon(). Idempotent. */
void api_live_close(struct drv_api *a);
/** @brief api_live_close(), then free a->live (NULL: nothing). After
 *         MHD_stop_daemon(), which frees the streams themselves. */
void api_live_release(struct drv_api *a);

/* console.c */
/** @brief Find the built console of api.console_dir (sets console_root,
 *         or console_why). */
void api_console_init(struct drv_api *a);
void api_console_release(struct drv_api *a);
/** @brief Answer \p method \p url, a path outside /api/, from the console's
 *         files (index.html for a page path), or 404 / 405 in plain text.
 *         @returns false when no answer could be queued (drop the
 *         connection). */
bool api_console_serve(struct drv_api *a, struct MHD_Connection *conn,
		       const char *url, const char *method);

/* batch.c */
/** Most items one batch call takes. */
#define API_BATCH_MAX 1000

/** What a batch of one kind of thing (tasks, events) needs from its file.
 *  Items are \p size bytes, zeroed before build. */
typedef struct api_batch_ops {
	const char *field;      /**< the body's array: "tasks" */
	const char *audit;      /**< action audited once for the batch */
	size_t size;
	/** Build the item from \p o; NULL, or the problem (pointer under
	 *  \p at) that fails this item alone. */
	json_t *(*build)(api_call_t *call, const json_t *o, const char *at,
			 void *item);
	/** Produce it without waiting; its topic into \p topic. */
	drv_err_t (*produce)(api_call_t *call, void *item,
			     drv_delivery_t *dr, char *topic, size_t size,
			     char *err, size_t errlen);
	/** Its result once acknowledged (a new object). */
	json_t *(*accepted)(const void *item, const char *topic);
	void (*release)(void *item);
} api_batch_ops_t;

/** @brief Serve a batch call: {"<field>": [up to API_BATCH_MAX objects]},
 *         every item built and produced, then each acknowledgement
 *         awaited; replies 200 {submitted, failed, results: [one per item,
 *         in order]}, one bad item failing alone. */
void api_batch(api_call_t *call, const api_batch_ops_t *ops);

/** @brief Produce one built \p item (borrowed; it may be released on
 *         return) and its audit record (ops->audit, \p target, \p details
 *         stolen) together; the reply is 201 with ops->accepted's result,
 *         sent once both are acknowledged (call->wait: the connection
 *         waits, suspended, not a thread), or the problem of whichever
 *         failed. */
void api_produce_one(api_call_t *call, const api_batch_ops_t *ops,
		     void *item, const char *target, json_t *details);

/* pending.c */
#define API_WAIT_SLOTS 2
#define API_WAIT_ITEM  0   /**< the item's report */
#define API_WAIT_AUDIT 1   /**< its audit record's */
/** @brief The delivery record to produce \p slot with (makes call->wait
 *         on first use), counted as a report to come; NULL when out of
 *         memory. A produce that fails at once: api_wait_unused(). */
drv_delivery_t *api_wait_slot(api_call_t *call, int slot);
/** @brief \p slot's produce failed: no report will come. */
void api_wait_unused(api_call_t *call, int slot);
/** @brief The topic \p slot went to (\p topic copied), for its error. */
void api_wait_topic(api_call_t *call, int slot, const char *topic);
/** @brief After the handler, on its pool thread: suspend the connection
 *         until the last report comes (that resumes it), or, when every
 *         report has come already or the server is closing, wait here.
 *  @returns true when suspended (the answer is sent when resumed). */
bool api_wait_suspend(api_call_t *call);
/** @brief Every report has come: the reply stays, or a failed produce's
 *         problem replaces it; frees call->wait. */
void api_wait_finish(api_call_t *call);
/** @brief Free call->wait (NULL: nothing) when the request ends first; a
 *         report still to come frees it instead. */
void api_wait_release(api_call_t *call);
/** @brief Before MHD_stop_daemon(): no more suspensions, and wait until
 *         every suspended connection is resumed. */
void api_waits_drain(struct drv_api *api);

/* routes.c */
/** Result of matching a request to the table. */
typedef enum api_match {
	API_MATCHED, API_NO_PATH, API_NO_METHOD,
} api_match_t;
/** @brief Find the route of \p method \p path; on API_MATCHED set *route
 *         and the decoded path parameters; on API_NO_METHOD write the
 *         methods the path takes to \p allow ("GET, POST"). */
api_match_t api_route_find(const char *method, const char *path,
			   const api_route_t **route,
			   char params[API_PARAM_MAX][256],
			   char *allow, size_t allow_size);
/** @brief The OpenAPI 3.1 document of every route (new reference); with
 *         \p cfg (may be NULL), TaskSubmit's handler and policy list the
 *         names it knows. */
json_t *api_openapi(const drv_config_t *cfg);
/** @brief Call \p fn for every route. */
void api_routes_each(void (*fn)(const api_route_t *r, void *arg), void *arg);

/* server.c: helpers for handlers */
/** @brief Reply \p status with \p body (stolen; NULL = none). */
void api_reply(api_call_t *call, unsigned status, json_t *body);
/** @brief Reply an RFC 9457 problem: \p status, its title, \p detail, and
 *         "pointer" (a JSON Pointer into the body) when \p pointer is not
 *         NULL. */
void api_problem(api_call_t *call, unsigned status, const char *pointer,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** @brief The problem object itself (for batch items): status, title,
 *         detail, pointer. New reference. */
json_t *api_problem_json(unsigned status, const char *pointer,
			 const char *detail);
/** @brief The map of a drover error to an HTTP status: 400 invalid, 404 not
 *         found, 409 exists (conflict), 503 Kafka / Redis / timeout, 500
 *         otherwise. */
unsigned api_status_of(drv_err_t err);
/** @brief Parse the body as JSON; on failure a 400 problem is replied and
 *         NULL returned. New reference. */
json_t *api_body_json(api_call_t *call);
/** @brief The query parameter \p name, or NULL. Borrowed. */
const char *api_query(api_call_t *call, const char *name);
/** Told one query parameter (\p value "" when it has none); returns false
 *  to stop, having replied the problem. */
typedef bool api_query_fn(api_call_t *call, const char *name,
			  const char *value, void *arg);
/** @brief Call \p fn for every query parameter, repeated ones included, in
 *         order. @returns false when \p fn stopped. */
bool api_query_each(api_call_t *call, api_query_fn *fn, void *arg);
/** @brief Take the paging query parameters of a list: "cursor" (not
 *         empty; \p value borrowed into *cursor) and "limit" (1..\p max
 *         into *limit).
 *  @returns 1 when \p name was one of them and is good, 0 when it is
 *           neither, -1 when bad (the 400 replied). */
int api_page_param(api_call_t *call, const char *name, const char *value,
		   const char **cursor, int64_t *limit, int64_t max);
/** @brief Take the time range query parameters "since" and "until"
 *         (drv_parse_when() forms, against now) into *since / *until.
 *  @returns 1 when \p name was one of them and is good, 0 when it is
 *           neither, -1 when bad (the 400 replied, its pointer "/since"
 *           or "/until"). */
int api_range_param(api_call_t *call, const char *name, const char *value,
		    int64_t *since, int64_t *until);
/** @brief A range's end must be after its start: false with the 400
 *         replied (pointer "/until") when \p until_ms <= \p since_ms. */
bool api_range_check(api_call_t *call, int64_t since_ms, int64_t until_ms);
/** @brief What setting query filter \p name gave (\p rc, \p err): false
 *         with the 400 replied (DRV_ERR_NOT_FOUND: an unknown query
 *         parameter), true on DRV_OK. */
bool api_filter_rc(api_call_t *call, drv_err_t rc, const char *name,
		   const char *err);
/** @brief This thread's Redis connection, connecting if need be; on
 *         failure a 503 problem is replied and NULL returned. */
redisContext *api_redis(api_call_t *call);
/** @brief This thread's Redis connection for what can do without one (the
 *         DLQ search index: the topic is read instead): NULL, and nothing
 *         replied, when Redis cannot be reached; for a second after a
 *         failed connect this thread does not try again (a Redis that does
 *         not answer would cost redis.connect_timeout each time). */
redisContext *api_redis_try(api_call_t *call);
/** @brief Report that the connection failed (dropped; the next call
 *         reconnects). */
void api_redis_lost(api_call_t *call);
/** @brief Write the audit record of a write by the caller's token
 *         (\p details stolen); false (and a 503 problem) when it could not
 *         be written. With \p dr it is only produced (its report to
 *         \p dr), so the write and its record share one round trip. */
bool api_audit(api_call_t *call, const char *action, const char *target,
	       uint64_t count, json_t *details, drv_delivery_t *dr);

#endif /* DROVER_API_INT_H */
