/*
 * worker.h — the drover worker: one Kafka consumer on the task topics
 * feeding a pool of runner threads, with offsets committed only for tasks
 * that have finished.
 *
 * Threads: the main thread owns the consumer, the producer, the offset
 * tracker and every job's life outside a runner (@locality main). Runner
 * threads take jobs from `todo`, run them and put them on `done`; the two
 * lists, `running` and the stop flag are guarded by `lock`.
 */
#ifndef DROVER_WORKER_H
#define DROVER_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "drover/config.h"
#include "drover/daemon.h"
#include "drover/exec.h"
#include "drover/kafka.h"
#include "drover/task.h"
#include "offsets.h"

typedef enum job_outcome {
	JOB_SUCCEEDED,
	JOB_FAILED_TRANSIENT,
	JOB_FAILED_PERMANENT,
	JOB_UNDECODABLE,      /* never ran: the message is not a task */
	JOB_ABANDONED,        /* killed at shutdown: must run again elsewhere */
} job_outcome_t;

typedef struct job {
	struct job         *next;       /* on todo or done, under lock */
	struct job         *active_prev, *active_next; /* main thread only */
	rd_kafka_message_t *msg;       /* owned; destroyed when the job ends */
	drv_task_t          task;
	char                decode_error[256];
	job_outcome_t       outcome;
	char                error[512]; /* why it failed, for logs and DLQ */
	drv_exec_t         *ex;         /* while running, under worker lock */
	bool                abandon;    /* shutdown killed it */
	drv_delivery_t      dr;         /* forward to the DLQ, main thread */
	int64_t             retry_at;   /* mono ms: forward again, 0 = no */
} job_t;

typedef struct worker {
	drv_daemon_t       *daemon;
	const drv_config_t *cfg;
	rd_kafka_t         *consumer;
	rd_kafka_t         *producer;    /* forwards: DLQ (delay topics next) */
	offsets_t          *offsets;
	job_t              *active;      /* every job not yet ended */
	job_t              *forwarding;  /* waiting for a DLQ acknowledgement */
	size_t              in_flight;   /* jobs handed out, not yet ended */
	bool                paused;      /* fetching paused for capacity */
	int64_t             tasks_done;
	int64_t             undecodable;

	pthread_mutex_t     lock;
	pthread_cond_t      work_cond;
	job_t              *todo, *todo_tail;
	job_t              *done;
	bool                quit;        /* runners exit */
	pthread_t          *runners;
	size_t              runner_cnt;
} worker_t;

/* Run the worker until SIGTERM/SIGINT. Returns the process exit code. */
int worker_run(drv_daemon_t *d);

/* Runner side (runner.c). */
void *runner_main(void *arg);
void  runner_execute(worker_t *w, job_t *job);

#endif /* DROVER_WORKER_H */
