/*
 * harness.h — what the integration tests share: a private namespace on the
 * real Kafka and Redis of `scripts/stack` (topic prefix and group of their
 * own), a config file written per test, and running droverctl and workers
 * as child processes.
 *
 * The stack's address comes from DROVER_KAFKA_BROKERS / DROVER_REDIS_URL,
 * which `scripts/test` exports; the binaries from DROVER_BUILD_DIR, which
 * meson sets.
 */
#ifndef DROVER_IT_HARNESS_H
#define DROVER_IT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#include "drover/config.h"

typedef struct it_ctx {
	char dir[256];        /* private temp dir: config, outputs, logs */
	char config[300];     /* dir/drover.yaml */
	char out[300];        /* dir/out.txt: what handlers record */
	char prefix[64];      /* topic prefix "it<pid>x<n>." */
} it_ctx_t;

/* Make a fresh namespace and write its config with \p extra_yaml appended
 * under "handlers:" (each handler can append to $OUT). Asserts on failure. */
void it_setup(it_ctx_t *ctx, const char *handlers_yaml);

/* Remove the temp dir. Stops nothing: tests stop their processes. */
void it_teardown(it_ctx_t *ctx);

/* Run droverctl with the test's config: NULL-terminated arguments after
 * "droverctl -c CONFIG". Captures stdout into a malloc'd *out (may be NULL);
 * returns the exit status (or -1). */
int it_ctl(it_ctx_t *ctx, char **out, ...);

/* `topics ensure` for the namespace; asserts success. */
void it_topics(it_ctx_t *ctx);

/* Submit a task; the new task id is copied to \p id (27 bytes). Extra
 * droverctl arguments follow \p handler, NULL-terminated. */
void it_submit(it_ctx_t *ctx, char *id, const char *handler, ...);

/* Publish \p n tasks for \p handler straight to Kafka (much faster than
 * n droverctl runs), each acknowledged. */
void it_publish_many(it_ctx_t *ctx, const char *handler, int n);

/* Like it_publish_many() with each task's \p priority (1..10; 0 = the
 * default). */
void it_publish_prio(it_ctx_t *ctx, const char *handler, int n,
		     unsigned priority);

/* Start a worker on the test config, logging to dir/worker-<n>.log. */
pid_t it_worker_start(it_ctx_t *ctx, int n);

/* Send \p sig and wait (bounded by timeout_ms) for the exit; returns the
 * exit status as from waitpid, or -1 if it did not exit in time (then it
 * is killed). A process stopped with SIGTERM that exits with
 * LeakSanitizer's status (it leaked, in an ASan build) fails the test. */
int it_stop(pid_t pid, int sig, int timeout_ms);

/* Count lines of dir/out.txt that start with \p prefix and contain \p word
 * (NULL = any). */
int it_count(it_ctx_t *ctx, const char *prefix, const char *word);

/* Wait until it_count() >= n or timeout; returns the last count. */
int it_wait_count(it_ctx_t *ctx, const char *prefix, const char *word,
		  int n, int timeout_ms);

/* Wait until \p path's content contains \p needle, or timeout. */
bool it_wait_file(const char *path, const char *needle, int timeout_ms);

/* Read a whole file (malloc'd, NUL-terminated) or NULL. */
char *it_read(const char *path);

/* A producer on the test config; *cfg receives the loaded config. The
 * caller destroys both (rd_kafka_destroy, drv_config_destroy). Asserts. */
rd_kafka_t *it_producer(it_ctx_t *ctx, drv_config_t **cfg);

/* Produce raw bytes to a topic of the namespace ("tasks.normal"). */
void it_produce_raw(it_ctx_t *ctx, const char *topic_suffix,
		    const void *data, size_t len);

/* One message read back from a topic: value bytes (owned) and the value of
 * its drover-dl-reason header, if any. */
typedef struct it_msg {
	void  *data;
	size_t len;
	char   reason[64];
} it_msg_t;

/* Read up to \p want messages of the namespace's topic \p topic_suffix
 * ("dlq") from the beginning, waiting at most \p timeout_ms. Returns the
 * count; *out is a malloc'd array freed with it_msgs_free(). */
int it_consume(it_ctx_t *ctx, const char *topic_suffix, int want,
	       int timeout_ms, it_msg_t **out);
void it_msgs_free(it_msg_t *msgs, int n);

/* Lifecycle events read back from the events topic: type, task id and the
 * attempt's times from the JSON payload. */
typedef struct it_event {
	char      type[32];
	char      task_id[32];
	int       attempt;
	long long started_ms, finished_ms;
} it_event_t;

/* Read lifecycle events until \p done(events, n, arg) says enough or
 * \p timeout_ms passes. Returns the count; *out is malloc'd (free()). */
int it_events(it_ctx_t *ctx, int timeout_ms,
	      bool (*done)(const it_event_t *ev, int n, void *arg), void *arg,
	      it_event_t **out);

/* How many distinct task ids have an event of \p type, and how many such
 * events there are in all (duplicates = *total - distinct). */
int it_events_distinct(const it_event_t *ev, int n, const char *type,
		       int *total);

/* A loopback TCP port nobody listens on right now. */
int it_free_port(void);

/* GET http://127.0.0.1:PORT/PATH; returns the status (-1 if no answer) and
 * the body in *body (malloc'd, free() it). */
int it_http_get(int port, const char *path, char **body);
/* it_http_get() with "Authorization: Bearer TOKEN" (NULL: none). */
int it_http_get_token(int port, const char *path, const char *token,
		      char **body);
/* \p method \p path, sent as written (no normalisation: "/../x" goes out
 * as is), with a bearer \p token (NULL: none); returns the status (-1 if
 * no answer), the header block in *head (may be NULL: not wanted) and the
 * body in *body (malloc'd, free() them). */
int it_http_request(int port, const char *method, const char *path,
		    const char *token, char **head, char **body);
/* The value of header \p name (case-insensitive) in the header block
 * \p head (NULL: none) into \p buf; "" when it is not there. */
void it_http_header(const char *head, const char *name, char *buf,
		    size_t size);

/* Wait (polling every 100 ms, up to \p timeout_ms) until GET \p path on
 * \p port answers 200; false if it never did. */
bool it_http_wait(int port, const char *path, int timeout_ms);
/* \p method \p path with \p token (NULL: none) and the JSON \p req_body
 * (NULL: none); as it_http_get() otherwise. */
int it_http_call(int port, const char *method, const char *path,
		 const char *token, const char *req_body, char **body);
/* it_http_request() and it_http_call() in one: the JSON \p req_body (NULL:
 * none) and the header block in *head (NULL: not wanted). */
int it_http_send(int port, const char *method, const char *path,
		 const char *token, const char *req_body, char **head,
		 char **body);

/* it_http_call() with the reply parsed: *out is the JSON body (NULL when
 * there is none; asserts that one given is JSON), json_decref() it. */
struct json_t;
int it_http_json(int port, const char *method, const char *path,
		 const char *token, const char *req_body, struct json_t **out);
/* GET \p path with \p token answers a 400 problem whose pointer is
 * \p pointer (asserted). */
void it_http_bad_query(int port, const char *path, const char *token,
		       const char *pointer);
/* Member \p key of object \p o as an integer (0 when it is not one), and
 * as a string ("" when it is not one; borrowed from \p o). */
long long it_json_int(const struct json_t *o, const char *key);
const char *it_json_str(const struct json_t *o, const char *key);

/* The integer o[a] (\p b NULL) or o[a][b] of a JSON reply; 0 when absent. */
long long it_json_num(const struct json_t *o, const char *a, const char *b);

/* Milliseconds since the epoch, as handlers write with `date +%s%3N`. */
long long it_now_ms(void);

/* Start a private redis-server on 127.0.0.1:\p port (no persistence) and
 * wait until it answers PING; asserts it does within 10 s. For tests that
 * take Redis away: it_redis_kill() SIGKILLs it and reaps it. */
pid_t it_redis_start(int port);
void it_redis_kill(pid_t pid);

/* Coordinator tests: append to the test's config (its Redis key prefix is
 * already private: it_setup()) a coordinator group, no HTTP server (unless
 * \p coord_keys sets http_port), a 2 s lease, then \p coord_keys (lines
 * indented two spaces, under coordinator:; may be "") and \p sections
 * (top-level YAML such as schedules: and triggers:). */
void it_coord_config(it_ctx_t *ctx, const char *coord_keys,
		     const char *sections);
/* Serve the API from coordinator "c1" on a free port (returned, once
 * GET /api/v1/openapi.json answers): token "ops" with role operator and
 * the value \p ops (put in environment variable \p ops_env), token
 * "viewer" with the value \p viewer (kept as its hash), and the extra
 * api: keys \p api_keys ("" for none; lines indented by two). */
int it_api_start(it_ctx_t *ctx, const char *ops_env, const char *ops,
		 const char *viewer, const char *api_keys, pid_t *coord);
/* The same with the api: keys \p api_keys and the api_tokens: entries
 * \p tokens (lines indented by two), as written. */
int it_api_start_tokens(it_ctx_t *ctx, const char *api_keys,
			const char *tokens, pid_t *coord);
/* The same with the coordinator: keys \p coord_keys too (lines indented
 * by two; "" for none). */
int it_api_start_coord(it_ctx_t *ctx, const char *coord_keys,
		       const char *api_keys, const char *tokens, pid_t *coord);
/* Start a coordinator with id \p id, logging to dir/<id>.log. */
pid_t it_coordinator_start(it_ctx_t *ctx, const char *id);
/* Wait until dir/<id>.log holds \p needle. */
bool it_coord_log_wait(it_ctx_t *ctx, const char *id, const char *needle,
		       int timeout_ms);
/* The time (ms since the epoch) of the first line of dir/<id>.log that
 * holds \p needle; asserts there is one. */
long long it_coord_log_time(it_ctx_t *ctx, const char *id,
			    const char *needle);
/* Tasks read back from a topic of the namespace ("tasks.normal"): the
 * drover.schedule label (or ""), the nominal time, the fence, the
 * trigger, fire and actor labels and the payload, for every task read within \p timeout_ms (at most
 * \p want). Returns the count; *out is malloc'd (free()). */
typedef struct it_task {
	char id[32];
	char schedule[64];
	char trigger[64];
	char fire[16];       /* drover.fire: "manual" for a fire-now */
	char actor[64];      /* drover.actor */
	char payload[256];   /* the payload, as text (cut) */
	char handler[64];
	long long scheduled_ms;
	unsigned long long fence;
	unsigned chain_depth;
} it_task_t;
int it_tasks(it_ctx_t *ctx, const char *topic_suffix, int want,
	     int timeout_ms, it_task_t **out);
#endif /* DROVER_IT_HARNESS_H */
