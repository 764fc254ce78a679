/*
 * bench.h — what drover's benchmarks share: a private topic namespace on the
 * stack `bench/run` started (its own prefix, config files and temp folder),
 * producing tasks (all at once or at a fixed rate), drover-worker as a child
 * process, reading lifecycle events back, a table of per-task records keyed
 * by task id, and percentiles.
 *
 * The benchmarks print figures; they never judge them. Everything here
 * fails loudly (a message on stderr and a false/NULL return) rather than
 * producing a figure from a broken run.
 *
 * @locality one thread: the benchmark's main thread.
 */
#ifndef DROVER_BENCH_H
#define DROVER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/str.h"
#include "drover/task.h"

/* ------------------------------------------------------------ process */

/** Set by SIGINT/SIGTERM (bench_signals_install); loops check it and wind
 *  down so the benchmark cleans up after itself. */
extern volatile int bench_stop;

/** @brief Catch SIGINT and SIGTERM into bench_stop. */
void bench_signals_install(void);

/** @brief A benchmark takes no arguments: true when there are none, else
 *         false after a usage line on stderr (exit 2). */
bool bench_no_args(int argc, char **argv);

/**
 * @brief An integer from the environment variable \p name, or \p def when
 *        unset or empty. A value that does not parse or is outside
 *        [min, max] is reported on stderr and \p def is used.
 */
int64_t bench_env_int(const char *name, int64_t def, int64_t min, int64_t max);

/** @brief The build folder: $BENCH_BUILD_DIR, else "build". Static. */
const char *bench_build_dir(void);

/** @brief printf to stderr prefixed "bench: ", with a newline. */
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------- namespace */

/**
 * A private namespace: temp folder, topic prefix, and the config shared by
 * every worker run in it. Topics are created by bench_ns_open().
 */
typedef struct bench_ns {
	char          dir[256];     /**< mkdtemp'd; removed by bench_ns_close */
	char          prefix[64];   /**< topic prefix "bench<tag><pid>x<t>." */
	char          config[320];  /**< dir/base.yaml */
	char         *base_yaml;    /**< owned: the config text without the
				         worker section */
	drv_config_t *cfg;          /**< owned: base.yaml loaded (+ DROVER_*) */
	rd_kafka_t   *producer;     /**< owned: drv_kafka_producer_new(cfg) */
} bench_ns_t;

/**
 * @brief Make a fresh namespace: temp folder, prefix, base config with
 *        \p sections_yaml (top-level YAML sections such as "handlers:" and
 *        "retry_policies:") appended, load it, make the producer and
 *        create the topics (drv_topics_ensure).
 * @returns false (with a message on stderr) on any failure; then call
 *          bench_ns_close() anyway.
 */
bool bench_ns_open(bench_ns_t *ns, const char *tag, const char *sections_yaml);

/** @brief Destroy the producer and config, remove the temp folder unless
 *         $BENCH_KEEP is set. Safe on a zeroed or half-opened namespace. */
void bench_ns_close(bench_ns_t *ns);

/** @brief Open an existing config \p path (+ DROVER_*) as a namespace:
 *         its config and a producer, no temp folder, no topics made.
 *         Close it with bench_ns_close(), which removes nothing. */
bool bench_ns_attach(bench_ns_t *ns, const char *path);

/** @brief Write a worker config dir/<name>.yaml: the base config plus a
 *         worker section (\p group, \p concurrency, lifecycle events on,
 *         shutdown grace 10 s, no health/metrics server, no CPU limit:
 *         the benchmark itself keeps this host's CPUs busy).
 *         \p path receives the file name. */
bool bench_ns_worker_config(const bench_ns_t *ns, const char *name,
			    const char *group, int concurrency,
			    char *path, size_t path_size);

/** @brief Like bench_ns_worker_config() with \p extra_yaml (top-level
 *         sections such as "breakers:", may be NULL) appended. */
bool bench_ns_worker_config_with(const bench_ns_t *ns, const char *name,
				 const char *group, int concurrency,
				 const char *extra_yaml, char *path,
				 size_t path_size);

/** @brief Make the broker stamp \p topic's messages with the time it
 *         appended them (message.timestamp.type=LogAppendTime), so a
 *         reader can tell the wait before the broker from the wait after.
 *         Replaces the topic's other dynamic settings but retention.ms. */
bool bench_topic_append_time(const bench_ns_t *ns, const char *topic);

/** @brief The namespace's topic for tasks of priority 5 ("normal" band). */
void bench_ns_band_topic(const bench_ns_t *ns, char *buf, size_t size);

/* ----------------------------------------------------------- producing */

/**
 * Producing tasks with drv_task_produce(). Every task gets a fresh id and
 * created_ms = the wall time at which it was handed to the producer.
 */
typedef struct bench_produce {
	size_t          n;          /**< tasks to produce */
	const char     *handler;    /**< handler name */
	const char     *payload;    /**< JSON payload, NUL-terminated */
	int64_t         rate;       /**< tasks per second; 0 = as fast as
				         possible */
	uint32_t        priority;   /**< 1..10; 0 = the default (5) */
	bool            keyed;      /**< each task gets the idempotency key
				         "bench:<its id>" */
	/* results */
	size_t          acked;      /**< acknowledged by the broker */
	size_t          failed;     /**< refused or not acknowledged */
	int64_t         elapsed_ms; /**< first produce to last ack */
	char          (*ids)[DRV_ID_LEN + 1]; /**< optional, n entries: the
						  ids, filled when not NULL */
} bench_produce_t;

/**
 * @brief Produce \p p->n tasks to \p topic through the namespace's
 *        producer and wait for every acknowledgement (bounded: 120 s after
 *        the last produce).
 * @returns true when every task was acknowledged.
 */
bool bench_produce_tasks(bench_ns_t *ns, const char *topic,
			 bench_produce_t *p);

/* ----------------------------------------------------------- droverctl */

/** One droverctl run: exit status, wall time, peak RSS. */
typedef struct bench_run {
	int     status;
	int64_t ms;
	long    peak_kb;
} bench_run_t;

/**
 * @brief Run droverctl -c <ns config> ARGS... (\p args NULL-terminated, at
 *        most 20), stdout and stderr appended to dir/ctl.log, bounded by
 *        BENCH_TIMEOUT; timed to the millisecond.
 * @returns true when it exited 0.
 */
bool bench_ctl(const bench_ns_t *ns, bench_run_t *r, char *const *args);

/* --------------------------------------------------------------- CPUs */

/**
 * Where the processes run. By default everything shares every CPU, as it
 * does on a developer's machine. bench_cpus_split() places the workers
 * started from then on apart, on the last CPU alone, and Kafka, Redis (the
 * stack named by $DROVER_STACK_DIR) and this process on the others, as a
 * worker on its own node and a broker on another would be. Only latency
 * figures use it: on 2 CPUs a worker draining a backlog as fast as it can
 * otherwise takes the CPU the broker needs to accept the next task.
 * bench_cpus_share() puts everything back on every CPU.
 */

/** @brief Split the CPUs as above.
 *  @returns false (with a message; nothing moved) on a host with fewer
 *           than 2 CPUs or when a process cannot be moved. */
bool bench_cpus_split(void);

/** @brief Every process back on every CPU this process started with. */
void bench_cpus_share(void);

/* ------------------------------------------------------------- worker */

typedef struct bench_worker {
	pid_t   pid;             /**< 0 when not running */
	char    log[320];        /**< its stderr */
	int64_t started_mono;    /**< drv_mono_ms() at fork */
	int     exit_status;     /**< waitpid status after bench_worker_stop */
} bench_worker_t;

/**
 * @brief Start build/worker/drover-worker -c \p config --id \p id, stderr to
 *        dir/<id>.log. The child gets SIGTERM if the benchmark dies.
 */
bool bench_worker_start(bench_worker_t *w, const bench_ns_t *ns,
			const char *config, const char *id);

/** @brief A counter of the stopped worker's exit line (message "worker
 *         stopped", totals "... state_dropped=N ..."), e.g.
 *         "state_dropped"; -1 when the log has no such line or counter. */
long long bench_worker_total(const bench_worker_t *w, const char *name);

/** @brief True while the worker process exists (reaps it if it exited). */
bool bench_worker_alive(bench_worker_t *w);

/** @brief Like bench_worker_start(), for any daemon: \p binary is its path
 *         under the build folder ("coordinator/drover-coordinator"). The
 *         bench_worker_* functions then work on it too. */
bool bench_daemon_start(bench_worker_t *w, const bench_ns_t *ns,
			const char *binary, const char *config, const char *id);

/** @brief The worker's peak resident set (VmHWM) in KiB, or -1. */
long bench_worker_peak_rss_kb(const bench_worker_t *w);

/** @brief The worker's resident set now (VmRSS) in KiB, or -1. */
long bench_worker_rss_kb(const bench_worker_t *w);

/**
 * @brief SIGTERM the worker and wait at most \p timeout_ms for it to exit
 *        (then SIGKILL). @returns true when it exited by itself with
 *        status 0.
 */
bool bench_worker_stop(bench_worker_t *w, int timeout_ms);

/** @brief Copy the last \p lines lines of the worker's log to stderr. */
void bench_worker_tail(const bench_worker_t *w, int lines);

/* ------------------------------------------------------------- reading */

/** A message read back: a lifecycle event, a task on a delay tier, or a
 *  task on a band topic. */
typedef struct bench_msg {
	enum {
		BENCH_MSG_EVENT,
		BENCH_MSG_DELAYED_TASK,
		BENCH_MSG_BAND_TASK,
	} kind;
	/* events */
	char    type[32];        /**< "task.succeeded", "task.retrying"... */
	char    source[128];     /**< the worker's --id */
	uint32_t attempt;        /**< the attempt the event is about */
	int64_t created_ms, started_ms, finished_ms;
	/* both */
	char    task_id[DRV_ID_LEN + 1];
	/* tasks */
	int64_t not_before_ms;
	int64_t produced_ms;     /**< the message's timestamp: when it was
				      handed to the producer, or when the
				      broker appended it on a topic set by
				      bench_topic_append_time() */
	int64_t scheduled_ms;    /**< tasks: origin.scheduled_ms (0 = none) */
} bench_msg_t;

typedef struct bench_reader bench_reader_t;

/** What a reader reads besides the events topic. */
enum {
	BENCH_READ_DELAY = 1,   /**< every delay tier */
	BENCH_READ_BANDS = 2,   /**< every band topic */
	BENCH_READ_HIGH_ONLY = 4, /**< the high band's topic, and no events */
	BENCH_READ_BANDS_ONLY = 8, /**< every band topic, and no events */
};

/**
 * @brief A reader of the namespace's events topic (and of the topics
 *        \p extra names, BENCH_READ_*), assigned to every partition from its
 *        current end (\p from_end) or from the beginning. It is in no
 *        consumer group and commits nothing.
 * @returns a reader freed with bench_reader_destroy(), or NULL.
 */
bench_reader_t *bench_reader_new(const bench_ns_t *ns, bool from_end,
				 int extra);

/**
 * @brief The next message, waiting at most \p timeout_ms.
 * @returns 1 with \p out filled, 0 when nothing came, -1 on a message that
 *          could not be decoded (counted, skipped).
 */
int bench_reader_next(bench_reader_t *r, int timeout_ms, bench_msg_t *out);

void bench_reader_destroy(bench_reader_t *r);

/* ------------------------------------------------------ records, stats */

/** What a benchmark remembers about one task id. */
typedef struct bench_rec {
	char    id[DRV_ID_LEN + 1]; /**< empty = free slot */
	int     count;               /**< events counted for this id */
	int64_t v[6];                /**< the benchmark's own values */
} bench_rec_t;

typedef struct bench_map bench_map_t;

/** @brief An empty map sized for about \p expected ids; NULL if no
 *         memory. Grows as needed. */
bench_map_t *bench_map_new(size_t expected);
void bench_map_destroy(bench_map_t *m);

/**
 * @brief The record of \p id; created (zeroed, id set) when absent and
 *        \p create. @returns NULL when absent and not created (or no
 *        memory). Pointers stay valid until the next create.
 */
bench_rec_t *bench_map_get(bench_map_t *m, const char *id, bool create);

/** @brief Records in the map. */
size_t bench_map_size(const bench_map_t *m);

/** @brief Call \p fn on every record. */
void bench_map_each(bench_map_t *m, void (*fn)(bench_rec_t *r, void *arg),
		    void *arg);

/**
 * @brief Read band tasks from \p rd until \p n records of \p map hold
 *        their broker append time in v[\p slot] (the message time of a
 *        topic stamped by bench_topic_append_time()), or \p timeout_ms
 *        passes. A record whose v[slot] is set already is left as it is.
 * @returns how many records it set.
 */
size_t bench_read_appended(bench_reader_t *rd, bench_map_t *map,
			   int slot, size_t n, int64_t timeout_ms);

/** Percentiles of a sample (nearest rank). All zero when n == 0. */
typedef struct bench_pct {
	size_t  n;
	int64_t min, p50, p90, p95, p99, max;
	double  mean;
} bench_pct_t;

/** @brief The monotonic clock in microseconds. */
int64_t bench_mono_us(void);

/** @brief Sort \p v (n values) in place and fill \p out. */
void bench_pct_compute(int64_t *v, size_t n, bench_pct_t *out);

/** @brief "12,345" into \p buf. */
const char *bench_thousands(double x, char *buf, size_t size);

/** @brief "p50 / p99 / max ms" of \p p into \p buf. */
const char *bench_pct_str(const bench_pct_t *p, char *buf, size_t size);

/* ------------------------------------------------------------ draining */

/**
 * What workers did with a known set of tasks, from their task.succeeded
 * events: how many, first start to last finish, and the submit->start and
 * submit->finish percentiles (created_ms is the producer's wall clock,
 * started_ms and finished_ms the worker's: one host, one clock).
 */
typedef struct bench_drain {
	bool        ran;            /**< the worker(s) started */
	size_t      expected, done; /**< distinct task ids that succeeded */
	size_t      duplicates;     /**< task.succeeded seen again for an id */
	size_t      other_events;   /**< retrying/dead: should be 0 */
	bool        timed_out;
	bool        died;           /**< a worker exited on its own */
	int64_t     wall_ms;        /**< worker start -> last success seen */
	int64_t     span_ms;        /**< first start -> last finish (events) */
	int64_t     max_created;    /**< last submit (wall ms) */
	int64_t     max_finished;   /**< last finish (wall ms) */
	double      rate;           /**< done / span_ms, tasks/s */
	bench_pct_t start_lat;      /**< started - created */
	bench_pct_t finish_lat;     /**< finished - created */
} bench_drain_t;

/** @brief A map holding the \p n task ids \p ids, none seen yet; NULL if
 *         no memory. Free it with bench_map_destroy(). */
bench_map_t *bench_map_of_ids(char (*ids)[DRV_ID_LEN + 1], size_t n);

/**
 * @brief Read events from \p rd until every task id of \p map succeeded
 *        on a worker whose --id starts with \p source, \p deadline
 *        (drv_mono_ms) passed, or one of the \p nw workers \p ws died.
 *        Events of other tasks (a warm-up, an earlier phase) are ignored.
 *        Fills \p d's counters and wall_ms (from ws[0]'s start); the
 *        records stay in \p map for bench_drain_finish().
 * @returns the tasks done in this call.
 */
size_t bench_await_successes(bench_reader_t *rd, bench_map_t *map,
			     bench_worker_t *ws, size_t nw, const char *source,
			     int64_t deadline, bench_drain_t *d);

/** @brief \p d's done, span, rate and percentiles from \p map's records
 *         (after bench_await_successes()). */
void bench_drain_finish(bench_drain_t *d, bench_map_t *map);

/* ------------------------------------------------------------- paced */

/** One rate of a paced run. */
typedef struct bench_pace {
	int64_t       rate;      /**< tasks/s asked for (set by the caller) */
	double        achieved;  /**< tasks/s produced */
	bool          kept_up;   /**< every task done, the last within 1 s of
				      the last submit */
	bench_drain_t d;
	/* submit->start split at the broker's append (the band topic stamped
	 * with LogAppendTime), over the tasks whose append time was read */
	size_t        split;
	bench_pct_t   before;    /**< appended - created: producer, broker */
	bench_pct_t   after;     /**< started - appended: fetch, worker */
} bench_pace_t;

/**
 * @brief An idle, warmed-up worker: open \p ns (tag \p tag, a `noop`
 *        handler), start a worker with --id \p id and \p concurrency in a
 *        group of its own, produce one task to the band topic (its name
 *        into \p topic) and await its success (60 s). \p rd receives a
 *        reader of the events topic from the start.
 * @returns false (with a message) on any failure. Either way the caller
 *          stops \p w (when w->pid > 0), destroys \p rd and closes \p ns.
 */
bool bench_warm_worker(bench_ns_t *ns, const char *tag, int concurrency,
		       const char *id, bench_worker_t *w, bench_reader_t **rd,
		       char *topic, size_t topic_size);

/** A paced run: settings in, worker figures out. */
typedef struct bench_paced {
	const char   *tag;          /**< namespace tag, e.g. "lat" */
	int           concurrency;  /**< the worker's */
	int64_t       seconds;      /**< per rate */
	int64_t       timeout_s;    /**< wait per rate after producing */
	bench_pace_t *phases;       /**< borrowed: the rates, in order */
	size_t        nphases;
	/* results */
	long          rss_kb;       /**< worker VmHWM before SIGTERM, -1 */
	bool          clean;        /**< it exited 0 after SIGTERM */
} bench_paced_t;

/**
 * @brief Latency at fixed rates: a fresh namespace, one idle worker that
 *        has run a warm-up task, then for each phase tasks produced at its
 *        rate for \p p->seconds and awaited; fills every phase's figures
 *        and \p p's results. The worker is stopped at the end.
 * @returns false (with a message) when the namespace, the worker or the
 *          warm-up failed; phases not run keep d.ran false.
 */
bool bench_paced_run(bench_paced_t *p);

/* ---------------------------------------------------------- dead letters */

/**
 * @brief Produce \p n dead letters of handler "bench" (one in \p rare_every
 *        of handler "rare"; 0: none) straight to \p ns's DLQ, at most 20,000
 *        in flight, and wait for every acknowledgement.
 * @returns false (with a message) when one failed or a signal came.
 */
bool bench_dlq_fill(bench_ns_t *ns, size_t n, size_t rare_every);

/**
 * @brief Write \p n records of tasks running (handler "bench", worker
 *        "bench-worker") through the task-state writer of \p ns's config,
 *        as workers write them, and wait (at most 120 s) until all are.
 * @returns false (with a message) when one was dropped or not written.
 */
bool bench_running_fill(const bench_ns_t *ns, size_t n);

/* ------------------------------------------------------------ HTTP API
 * (http.c: the coordinator's API through libcurl) */

/** The admin token of bench_api_config()'s coordinator. */
#define BENCH_API_TOKEN "bench-api-token"

/** @brief A loopback port nobody listens on right now (the kernel's pick),
 *         or 0. */
int bench_free_port(void);

/**
 * @brief Write dir/coordinator.yaml: \p ns's config, a coordinator whose
 *        health listener is \p http_port, the API on \p api_port (rate
 *        limits out of the way, 256 connections per client) with the admin
 *        token BENCH_API_TOKEN, and \p extra_yaml (top-level sections, may
 *        be NULL). \p path receives the file name.
 */
bool bench_api_config(const bench_ns_t *ns, int http_port, int api_port,
		      const char *extra_yaml, char *path, size_t size);

/**
 * @brief One request: \p method to \p url with \p body (JSON, may be NULL)
 *        and, when \p auth, the bearer token. The answer's body goes to
 *        \p out when not NULL (the caller frees out->p).
 * @returns the status, or 0 when there was no answer.
 */
long bench_http(const char *method, const char *url, const char *body,
		bool auth, drv_buf_t *out);

/** @brief Wait (at most 10 s) until the API on \p api_port answers; false
 *         (with the coordinator's last log lines) when it does not or
 *         \p coord exits. */
bool bench_api_wait(bench_worker_t *coord, int api_port);

#endif /* DROVER_BENCH_H */
