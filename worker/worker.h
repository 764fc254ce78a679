/*
 * worker.h — the drover worker.
 *
 * Two consumers feed it: one on the band topics (tasks to run) and one on
 * the delay tiers (tasks waiting for a retry or a not-before time). Tasks go
 * to a pool of runner threads; what a task does next (done, retry through a
 * delay tier, dead letter) is decided by the runner and carried out by the
 * main thread, which forwards it and stores the offset only once the broker
 * acknowledged the forward. An offset is committed only when every message
 * before it in its partition has ended (offsets.h).
 *
 * Threads: the main thread owns the consumers, the producer, the offset
 * tracker and every job outside a runner (@locality main). Runner threads
 * take jobs from `todo`, run them and put them on `done`; those two lists,
 * a job's `ex` and `abandon`, `quit`, `idle` and `main_waiting` are guarded
 * by `lock`.
 *
 * Wake-ups cost more than the work of a noop task, so there are few: the
 * main thread collects the tasks of one poll on `hand` and puts them on
 * `todo` at once (both kept by band, so a task of a higher band is started
 * before any lower one already in hand: jobq.c), signalling only as many runners as wait for work (`idle`
 * counts the waits not yet signalled; a spurious wake-up can only make it
 * too high, which costs a useless signal). A runner that finishes a job
 * takes the next from `todo` under the same lock without sleeping. It wakes
 * the main thread only when `main_waiting` says the main thread is blocked
 * (wait_wake() in worker.c).
 *
 * The main thread blocks in one place: on `wake_fd`, an eventfd that
 * librdkafka writes to when one of the queues the main thread reads (the
 * band queues, both consumers' queues, the producer's delivery reports)
 * gets its first element, and that
 * runners, breakers and parks write to through worker_wake(). A task that
 * reaches an idle worker is taken at once, not at the next turn of a timed
 * poll.
 */
#ifndef DROVER_WORKER_H
#define DROVER_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/daemon.h"
#include "drover/dead_letter.h"
#include "drover/exec.h"
#include "drover/httpd.h"
#include "drover/metrics.h"
#include "drover/kafka.h"
#include "drover/limit.h"
#include "drover/plugin_host.h"
#include "drover/state.h"
#include "drover/claim.h"
#include "drover/task.h"
#include "offsets.h"

/* Which consumer a message came from. */
typedef enum job_src {
	SRC_TASKS,   /* a band topic: the task is run */
	SRC_DELAY,   /* a delay tier: the task is moved on when due */
} job_src_t;

/* What happens to a job's message after its task ran (or did not). */
typedef enum job_step {
	STEP_DONE,        /* nothing more: store the offset */
	STEP_RETRY,       /* forward the task (attempt counted) to a delay tier */
	STEP_RELEASE,     /* forward the task to where it goes now (band/tier) */
	STEP_DEAD,        /* forward a dead letter to the DLQ */
	STEP_ABANDON,     /* killed at shutdown: never stored, runs again */
	STEP_PARK,        /* wait in memory for a half-open breaker (park.c) */
} job_step_t;

typedef struct job {
	struct job         *next;       /* on todo, done or a main list */
	size_t              band;       /* index in drv_bands: 0 = high */
	int64_t             queued_ms;  /* mono ms its band waited since */
	struct job         *active_prev, *active_next; /* main thread only */
	job_src_t           src;
	rd_kafka_message_t *msg;        /* owned; destroyed when the job ends */
	drv_task_t          task;       /* decoded; empty if undecodable */
	bool                decoded;
	job_step_t          step;
	drv_dl_reason_t     dl_reason;  /* STEP_DEAD */
	char                detail[512];/* why, for logs and the DLQ */
	drv_exec_t         *ex;         /* while running, under worker lock */
	bool                abandon;    /* shutdown killed it, under lock */
	bool                skipped;    /* its idempotency key was done */
	bool                dl_indexed; /* its dead letter went to the
					   failure group index */
	bool                claimed;    /* holds its idempotency key's claim */
	bool                claim_known;/* claim_pre/claim_err taken ahead
					   (runner.c), not yet used */
	bool                claim_busy; /* being taken ahead, under lock */
	drv_err_t           claim_err;
	drv_claim_t         claim_pre;
	/* What the main thread produces for the job, each acknowledged on
	 * its own: [FWD_TASK] the task or dead letter, [FWD_EVENT] the
	 * lifecycle event. */
	struct {
		drv_delivery_t dr;
		int64_t        retry_at; /* mono ms to produce again; 0 = waiting;
					    -1 = acknowledged or not needed */
	} fwd[2];
	struct worker      *worker;     /* for delivery reports */
	int64_t             started_ms; /* wall ms the attempt started */
	int64_t             planned_ms; /* a retry: wall ms it was due; a
					   first attempt: its not_before
					   (retry analytics); 0 = none */
	uint64_t            state_ticket; /* its `running` record's, for the
					     outcome to replace */
	int64_t             hold_until; /* SRC_DELAY: wall ms it is due */
	int64_t             parked_ms;  /* mono ms it first parked; 0 never */
	int64_t             park_until; /* mono ms to ask its breaker again */
	bool                park_limit; /* parked for a limit's start: a
					   breaker's move does not wake it */
} job_t;

enum { FWD_TASK, FWD_EVENT };

/* Smooth weighted round robin over bands (jobq.c). Zeroed: every weight
 * 0 (the first band ready wins), no starvation bound. */
#define WRR_BANDS 8
typedef struct wrr {
	int64_t weight[WRR_BANDS], current[WRR_BANDS];
	int64_t bound_ms;  /* a band ready this long goes first; 0 = never */
} wrr_t;

/* Pick among the first \p cnt bands those with since[i] != 0 (the mono ms
 * each became ready): the one the weights say, unless one has been ready
 * for the bound, the longest such first (*starved set). -1: none ready. */
int    wrr_pick(wrr_t *r, size_t cnt, const int64_t *since, int64_t now,
		bool *starved);

/* Jobs waiting for a runner, first in first out within a band, the bands
 * taken by weight (jobq.c). Zeroed: empty, strict band order. */
#define JOBQ_BANDS 3
typedef struct jobq {
	job_t *head[JOBQ_BANDS], *tail[JOBQ_BANDS];
	wrr_t  wrr;  /* jobq_pop()'s */
} jobq_t;

void   jobq_push(jobq_t *q, job_t *job);
/* The next job by the weights, or NULL when empty. */
job_t *jobq_pop(jobq_t *q);
/* Append every job of \p from to \p to, band by band; \p from is left
 * empty. */
void   jobq_move(jobq_t *to, jobq_t *from);

/* Metrics and health (observe.c). Families are owned by `m`. */
typedef struct observe {
	drv_metrics_t   *m;
	drv_httpd_t     *httpd;
	drv_counter_t   *tasks, *dead, *forward_errors, *released,
			*redelivered, *idem_skipped, *idem_unchecked,
			*idem_waited, *state_records, *state_waits,
			*group_index, *webhook_sends;
	drv_histogram_t *duration;
	drv_gauge_t     *in_flight, *lag, *delay_backlog, *state_queued,
			*plugin_hung;
	drv_state_stats_t state_seen; /* state writer counts at the last
					 render (the HTTP thread's) */
	int64_t          loop_ms;   /* mono ms of the main loop's last turn */
	bool             joined;    /* the band consumer got an assignment */
	bool             stopping;  /* SIGTERM received */
} observe_t;

/* How many delay-tier messages of one partition are held (delay.c). */
typedef struct held_part {
	char    topic[256];
	int32_t partition;
	int     count;
	bool    paused;
} held_part_t;

typedef struct worker {
	drv_daemon_t       *daemon;
	const drv_config_t *cfg;
	rd_kafka_t         *consumer;    /* band topics */
	rd_kafka_t         *delay;       /* delay tier topics */
	rd_kafka_t         *producer;    /* forwards: delay tiers, DLQ */
	rd_kafka_queue_t   *consumer_q, *delay_q; /* their consumers' queues */
	rd_kafka_queue_t   *reports_q;   /* the producer's delivery reports */
	int                 wake_fd;     /* eventfd the main thread waits on */
	offsets_t          *offsets;     /* both consumers' partitions */
	job_t              *active;      /* every job not yet ended */
	size_t              in_flight;   /* jobs not yet ended */
	size_t              running;     /* SRC_TASKS jobs not yet ended */
	size_t              queued;      /* jobs with the runners (todo or
					    running), main thread's count */
	size_t              top_queued, top_in_flight; /* of those and of
					    in_flight, the high band's */
	job_t              *forwarding;  /* waiting for an acknowledgement */
	size_t              fwd_reports; /* delivery reports (and forwards
					    needing none) forward_serve()
					    has not looked at */
	int64_t             fwd_retry_at;/* mono ms of the first refused
					    forward to produce again; 0 none */
	job_t              *held;        /* SRC_DELAY messages not yet due */
	held_part_t        *held_parts;  /* per partition counts */
	size_t              held_part_cnt, held_part_cap;
	struct {
		int64_t succeeded, retried, dead, released, undecodable;
		int64_t redelivered;  /* rewinds dropped (offsets_add) */
		int64_t parked;       /* parks (park.c) */
	} stats;
	job_t              *parked;      /* waiting for a breaker (park.c) */
	size_t              parked_cnt;  /* atomic: read by park_kick() */
	bool                park_kicked; /* atomic: a breaker changed state */
	int64_t             park_due;    /* mono ms a park ends; 0 none */

	jobq_t              hand;        /* decoded tasks for the runners,
					    not yet on todo (main) */
	size_t              hand_cnt;
	bool                state_waiting; /* state_behind() last said so */
	bool                closing;     /* stop() closes the consumers */

	pthread_mutex_t     lock;
	pthread_cond_t      work_cond;
	jobq_t              todo;
	size_t              claiming;    /* runners taking claims ahead */
	pthread_cond_t      claim_cond;  /* signalled when one is done */
	job_t              *done;
	size_t              idle;        /* runners waiting, not signalled */
	bool                main_waiting;/* main blocked in wait_wake() */
	bool                quit;        /* runners exit */
	pthread_t          *runners;
	size_t              runner_cnt;
	drv_plugin_handle_t **plugins;   /* per handler index, or NULL */
	drv_state_t        *state;       /* task state, idempotency (Redis) */
	drv_claims_t       *claims;      /* idempotency claims (Redis) */
	struct intervene   *iv;          /* operator interventions (cache) */
	observe_t           obs;
	struct breakers    *breakers;    /* breakers.c */
	struct limits      *limits;      /* limits.c */
	struct bands       *bands;       /* bands.c */
	struct status      *status;      /* status.c */
	/* runner threads, atomics (read by status.c) */
	size_t              busy;        /* runners running a task now */
	int64_t             started, finished; /* attempts */
} worker_t;

/* Run the worker until SIGTERM/SIGINT. Returns the process exit code. */
int worker_run(drv_daemon_t *d);

/* worker.c: end a job: store its offset if it may be, free it. */
void job_end(worker_t *w, job_t *job);

/* runner.c: give back a claim taken ahead for a job that will not run
 * now (any thread). */
void claim_drop(worker_t *w, job_t *job);

/* worker.c: give \p job to the runners with the next hand-over. */
void job_hand(worker_t *w, job_t *job);

/* worker.c: wake the main thread (any thread). */
void worker_wake(worker_t *w);

/* worker.c: have librdkafka wake the main thread when \p q, a queue it
 * reads, gets its first element. */
void worker_wake_on(worker_t *w, rd_kafka_queue_t *q);

/* runner.c */
void *runner_main(void *arg);
bool  runners_open_plugins(worker_t *w);
void  runners_close_plugins(worker_t *w);
size_t runners_plugins_hung(worker_t *w);  /* any thread */

/* intervene.c: operator interventions (drover/intervene.h). start/stop on
 * the main thread; the others on runner threads. intervene_before() is true
 * when the job must not run (parked, skipped or cancelled: its step and its
 * state are set); intervene_after() is true when the task was cancelled
 * while it ran (recorded; its step is set). */
bool intervene_start(worker_t *w);
void intervene_stop(worker_t *w);
bool intervene_before(worker_t *w, job_t *job);
void intervene_exec_start(worker_t *w, job_t *job, drv_exec_t *ex);
void intervene_exec_end(worker_t *w, drv_exec_t *ex);
bool intervene_after(worker_t *w, job_t *job);

/* forward.c: start (or restart) the forward the job's step asks for. */
void forward_start(worker_t *w, job_t *job);
/* forward.c: serve delivery reports, end acknowledged forwards, retry
 * refused ones. */
void forward_serve(worker_t *w);

/* observe.c: metrics and the health/metrics HTTP server. */
bool observe_start(worker_t *w);
void observe_stop(worker_t *w);
void observe_attempt(worker_t *w, const job_t *job, int64_t duration_ms);

/* status.c: the status record in Redis, written by its own thread. */
bool status_start(worker_t *w);
void status_stop(worker_t *w);

/* breakers.c: circuit breakers shared through Redis. A ticket says which
 * breaker a call went through and whether it was a half-open probe. */
typedef struct brk_ticket {
	struct brk_entry *e;   /* NULL: nothing to record */
	bool probe;
} brk_ticket_t;
bool breakers_start(worker_t *w);
void breakers_stop(worker_t *w);
/* May the job's task run now (runner thread)? If not, the job's step is
 * STEP_RELEASE with not_before_ms set to when to try again: the task waits
 * on the delay topics, its attempt not charged; or, while the breaker is
 * half-open, STEP_PARK (park.c). */
bool breakers_admit(worker_t *w, job_t *job, const drv_handler_conf_t *h,
		    brk_ticket_t *t);
/* runner.c: the task of \p job was turned away without an attempt (by
 * breaker or limit \p name; \p state the breaker's, NULL for a limit)
 * until job->task.not_before_ms: queue a wait for its task state
 * (drv_state_wait(); runner thread, no Redis round trip). */
void record_wait(worker_t *w, const job_t *job, const char *kind,
		 const char *name, const char *state);
/* Count the outcome of a call admitted with \p t (runner thread). */
void breakers_record(worker_t *w, const brk_ticket_t *t,
		     const drv_result_t *res);
/* Whether the breakers fell back to local ones (Redis unreachable). */
bool breakers_local(worker_t *w);

/* limits.c: fleet-wide execution limits (drover/limit.h). A ticket holds
 * the limits a running task was admitted by, to give their concurrency
 * leases back when it ends. */
typedef struct lim_ticket {
	drv_limit_set_t set;   /* cnt 0: nothing to give back */
} lim_ticket_t;
bool limits_start(worker_t *w);
void limits_stop(worker_t *w);
/* May the job's task run now (runner thread)? If not, the job's step is
 * STEP_RELEASE with not_before_ms set: it waits on the delay topics, its
 * attempt not charged. Redis unreachable: admitted. */
bool limits_admit(worker_t *w, job_t *job, const drv_handler_conf_t *h,
		  lim_ticket_t *t);
/* The run admitted with \p t ended, whatever its outcome (runner
 * thread). */
void limits_release(worker_t *w, lim_ticket_t *t, const char *task_id);
/* A runner thread ends: close its connection. */
void limits_thread_end(void);

/* park.c: jobs waiting in memory while a breaker's probes decide. Until
 * when (mono ms) may the job park, its breaker's probe leases lasting
 * \p lease_ms? 0: it has parked long enough (any thread). */
int64_t park_until(const job_t *job, int64_t now_mono, int64_t lease_ms);
/* A breaker changed state: look at the parked jobs again (any thread). */
void park_kick(worker_t *w);
/* Park a job whose step is STEP_PARK (its not_before_ms set for when it
 * cannot park: then it goes to a delay tier). */
void park_add(worker_t *w, job_t *job);
/* Back to the runners when kicked or when a park is over. */
void park_serve(worker_t *w);
/* To the delay tiers: the parked jobs of \p parts (NULL: all). */
void park_release(worker_t *w, const rd_kafka_topic_partition_list_t *parts);

/* bands.c: per-band queues served by weight with a starvation bound,
 * fleet-wide band pauses, and backpressure on CPU and memory. */
bool   bands_start(worker_t *w);
void   bands_tune(worker_t *w, rd_kafka_conf_t *conf);
void   bands_stop(worker_t *w);
void   bands_assigned(worker_t *w, rd_kafka_topic_partition_list_t *parts);
void   bands_revoked(worker_t *w, rd_kafka_topic_partition_list_t *parts);
/* Take up to \p room tasks, band by band as the weights say, and then
 * tasks of the high band alone until \p top_room of them were taken (its
 * reserve: a backlog of lower tasks in hand or in flight never holds it
 * back). */
size_t bands_take(worker_t *w, size_t room, size_t top_room);
/* The band index of a band topic (the last band if it is none). */
size_t bands_of(worker_t *w, const char *topic);
/* Whether a band has tasks ready to take now (\p top_only: the high
 * band). */
bool   bands_waiting(worker_t *w, bool top_only);
/* worker.c: a message of band \p band taken by bands_take(); the band had
 * work waiting since \p since (mono ms), which the runners' starvation
 * bound counts from. */
void   worker_take_task(worker_t *w, rd_kafka_message_t *m, size_t band,
			int64_t since);

/* delay.c */
void delay_dispatch(worker_t *w, job_t *job);
void delay_serve(worker_t *w);
void delay_forget(worker_t *w, rd_kafka_topic_partition_list_t *parts);

#endif /* DROVER_WORKER_H */
