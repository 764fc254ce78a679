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

/** Percentiles of a sample (nearest rank). All zero when n == 0. */
typedef struct bench_pct {
	size_t  n;
	int64_t min, p50, p90, p99, max;
	double  mean;
} bench_pct_t;

/** @brief Sort \p v (n values) in place and fill \p out. */
void bench_pct_compute(int64_t *v, size_t n, bench_pct_t *out);

/** @brief "12,345" into \p buf. */
const char *bench_thousands(double x, char *buf, size_t size);

#endif /* DROVER_BENCH_H */
