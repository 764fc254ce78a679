/*
 * dlq_jobs.c — the DLQ job runner (drover/dlq_job.h: resubmissions and
 * discards): on its own thread in every coordinator replica (leader or
 * not), it takes a runnable job's lease and runs it
 * (drv_dlq_job_run_next()), then looks again; idle, it looks once a second. A replica that dies mid-job leaves
 * its lease to lapse (DRV_DLQ_JOB_LEASE_MS) and another one resumes the
 * job from its last saved cursor; one that stops (SIGTERM) gives the lease
 * back at once.
 *
 * The thread has its own Redis connection and, like the archiver, its own
 * copy of the config file read at start (a reload replaces the main
 * thread's at any time); it produces through the coordinator's producer.
 * It sets drover_dlq_jobs_running and counts
 * drover_dlq_job_resubmitted_total (resubmission jobs) and
 * drover_dlq_job_discarded_total (discard jobs).
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "coord.h"
#include "drover/clock.h"
#include "drover/dlq_job.h"
#include "drover/log.h"
#include "drover/redis.h"

#define IDLE_MS 1000
#define BACKOFF_MAX_MS 30000

extern char **environ;

struct job_runner {
	coord_t      *c;
	drv_config_t *cfg;
	pthread_t     thread;
	redisContext *redis;
};

static bool stopping(void *arg)
{
	return coord_stopping(arg);
}

static void running(const char *id, bool on, void *arg)
{
	coord_t *c = arg;

	drv_gauge_set(c->obs.dlq_jobs_running, NULL, on ? 1 : 0);
	drv_log_kv(DRV_LOG_INFO, on ? "DLQ job running here" :
		   "DLQ job no longer running here", "job", id, NULL);
}

static void sent(uint64_t n, void *arg)
{
	coord_t *c = arg;

	drv_counter_add(c->obs.dlq_job_resubmitted, NULL, (int64_t)n);
}

static void discarded(uint64_t n, void *arg)
{
	coord_t *c = arg;

	drv_counter_add(c->obs.dlq_job_discarded, NULL, (int64_t)n);
}

/* Sleep \p ms in steps, waking for a stop. */
static void nap(coord_t *c, int64_t ms)
{
	for (int64_t until = drv_mono_ms() + ms;
	     drv_mono_ms() < until && !stopping(c);)
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
}

static void *runner_main(void *arg)
{
	job_runner_t *jr = arg;
	coord_t *c = jr->c;
	drv_dlq_job_runner_t rn = {
		.owner = c->d->id, .quit = stopping, .running = running,
		.sent = sent, .discarded = discarded, .arg = c,
	};
	int64_t backoff = 0;
	char err[512], ran[DRV_ID_LEN + 1];

	while (!stopping(c)) {
		drv_err_t rc;

		if (!jr->redis && drv_redis_connect(jr->cfg, &jr->redis, err,
						    sizeof(err))) {
			backoff = backoff ? backoff * 2 : IDLE_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			nap(c, backoff);
			continue;
		}
		backoff = 0;
		rc = drv_dlq_job_run_next(jr->cfg, jr->redis, c->producer,
					  &rn, ran, err, sizeof(err));
		if (rc) {
			drv_log_kv(DRV_LOG_WARN, "DLQ job runner: Redis "
				   "failed; reconnecting", "error", err,
				   "job", ran, NULL);
			redisFree(jr->redis);
			jr->redis = NULL;
		}
		if (rc || !ran[0])
			nap(c, IDLE_MS);
	}
	return NULL;
}

bool dlq_jobs_start(coord_t *c)
{
	job_runner_t *jr;
	char err[1024];

	if (!c->cfg->path) {
		drv_log_kv(DRV_LOG_WARN, "DLQ job runner off: no config file "
			   "to read", NULL);
		return true;
	}
	if (!(jr = calloc(1, sizeof(*jr))))
		return false;
	jr->c = c;
	if (drv_config_load(c->cfg->path, environ, &jr->cfg, err,
			    sizeof(err))) {
		drv_log_kv(DRV_LOG_ERROR, "DLQ job runner: cannot load the "
			   "config", "error", err, NULL);
		free(jr);
		return false;
	}
	if (pthread_create(&jr->thread, NULL, runner_main, jr)) {
		drv_config_destroy(jr->cfg);
		free(jr);
		return false;
	}
	c->job_runner = jr;
	return true;
}

void dlq_jobs_stop(coord_t *c)
{
	job_runner_t *jr = c->job_runner;

	if (!jr)
		return;
	__atomic_store_n(&c->stopping, 1, __ATOMIC_RELAXED);
	pthread_join(jr->thread, NULL);
	redisFree(jr->redis);
	drv_config_destroy(jr->cfg);
	free(jr);
	c->job_runner = NULL;
}
