/*
 * runner.c — the runner threads: take a decoded task, run it through its
 * handler, classify the result, log it, and hand the job back to the main
 * thread.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/str.h"
#include "worker.h"

/* Build "K=V" entries: the task's identity, then the handler's env. */
static char **task_env(const drv_handler_conf_t *h, const drv_task_t *t)
{
	char **env = calloc(h->env_cnt + 5, sizeof(*env));
	char buf[512];
	size_t n = 0;

	if (!env)
		return NULL;
	drv_fmt(buf, sizeof(buf), "DROVER_TASK_ID=%s", t->id);
	env[n++] = strdup(buf);
	drv_fmt(buf, sizeof(buf), "DROVER_ATTEMPT=%u", t->attempt + 1);
	env[n++] = strdup(buf);
	drv_fmt(buf, sizeof(buf), "DROVER_HANDLER=%s", t->handler);
	env[n++] = strdup(buf);
	drv_fmt(buf, sizeof(buf), "DROVER_PRIORITY=%u", t->priority);
	env[n++] = strdup(buf);
	for (size_t i = 0; i < h->env_cnt; i++) {
		size_t len = strlen(h->env[i].key) + strlen(h->env[i].value) + 2;
		if ((env[n] = malloc(len)))
			drv_fmt(env[n++], len, "%s=%s", h->env[i].key,
				h->env[i].value);
	}
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static job_outcome_t classify(const drv_exec_result_t *r)
{
	switch (r->status) {
	case DRV_EXEC_EXITED:
		if (r->exit_code == 0)
			return JOB_SUCCEEDED;
		return r->exit_code == 75 /* EX_TEMPFAIL */ ?
		       JOB_FAILED_TRANSIENT : JOB_FAILED_PERMANENT;
	case DRV_EXEC_TIMED_OUT:
	case DRV_EXEC_SIGNALED:
		return JOB_FAILED_TRANSIENT;
	case DRV_EXEC_SPAWN_FAILED:
		return JOB_FAILED_PERMANENT;
	}
	return JOB_FAILED_PERMANENT;
}

static void run_exec(worker_t *w, job_t *job, const drv_handler_conf_t *h)
{
	drv_task_t *t = &job->task;
	char **env = task_env(h, t);
	drv_exec_spec_t spec = {
		.argv = h->command,
		.shell = h->shell,
		.workdir = h->workdir,
		.env = env,
		.stdin_data = t->payload,
		.stdin_len = t->payload_len,
		.timeout_ms = h->timeout_ms,
		.kill_grace_ms = 2000,
		.output_limit = (size_t)h->output_limit,
	};
	drv_exec_result_t res = { 0 };
	drv_exec_t *ex = NULL;
	char attempt[16], dur[32], code[16];
	drv_err_t err;

	err = drv_exec_start(&spec, &ex, job->error, sizeof(job->error));
	free_env(env);
	if (err) {
		job->outcome = JOB_FAILED_PERMANENT;
		return;
	}
	pthread_mutex_lock(&w->lock);
	job->ex = ex;
	if (job->abandon) /* shutdown came between start and here */
		drv_exec_signal(ex, SIGKILL);
	pthread_mutex_unlock(&w->lock);

	drv_exec_wait(ex, &res);

	pthread_mutex_lock(&w->lock);
	job->ex = NULL;
	job->outcome = job->abandon ? JOB_ABANDONED : classify(&res);
	pthread_mutex_unlock(&w->lock);
	drv_exec_destroy(ex);

	switch (res.status) {
	case DRV_EXEC_EXITED:
		drv_fmt(job->error, sizeof(job->error), "exit code %d",
			res.exit_code);
		break;
	case DRV_EXEC_SIGNALED:
		drv_fmt(job->error, sizeof(job->error), "killed by signal %d",
			res.signal);
		break;
	case DRV_EXEC_TIMED_OUT:
		drv_fmt(job->error, sizeof(job->error),
			"timed out after %lld ms", (long long)h->timeout_ms);
		break;
	case DRV_EXEC_SPAWN_FAILED:
		drv_fmt(job->error, sizeof(job->error), "cannot start: %s",
			res.output ? res.output : "");
		break;
	}
	drv_fmt(attempt, sizeof(attempt), "%u", t->attempt + 1);
	drv_fmt(dur, sizeof(dur), "%lld", (long long)res.duration_ms);
	drv_fmt(code, sizeof(code), "%d", res.status == DRV_EXEC_EXITED ?
		res.exit_code : -1);
	drv_log_kv(job->outcome == JOB_SUCCEEDED ? DRV_LOG_INFO : DRV_LOG_WARN,
		   job->outcome == JOB_SUCCEEDED ? "task succeeded" :
		   job->outcome == JOB_ABANDONED ? "task abandoned at shutdown" :
		   "task failed",
		   "task_id", t->id, "handler", t->handler, "attempt", attempt,
		   "status", drv_exec_status_name(res.status),
		   "exit_code", code, "duration_ms", dur,
		   "error", job->outcome == JOB_SUCCEEDED ? "" : job->error,
		   "output", res.output ? res.output : "", NULL);
	drv_exec_result_release(&res);
}

void runner_execute(worker_t *w, job_t *job)
{
	drv_task_t *t = &job->task;
	const drv_handler_conf_t *h = drv_config_handler(w->cfg, t->handler);

	if (!h) {
		job->outcome = JOB_FAILED_PERMANENT;
		drv_fmt(job->error, sizeof(job->error),
			"no handler '%s' in this worker's config", t->handler);
	} else if (t->deadline_ms && drv_now_ms() > t->deadline_ms) {
		job->outcome = JOB_FAILED_PERMANENT;
		drv_fmt(job->error, sizeof(job->error), "deadline passed");
	} else if (h->type != DRV_HANDLER_EXEC) {
		job->outcome = JOB_FAILED_PERMANENT;
		drv_fmt(job->error, sizeof(job->error),
			"handler type '%s' is not available in this build",
			drv_handler_type_name(h->type));
	} else {
		drv_log_kv(DRV_LOG_DEBUG, "task started", "task_id", t->id,
			   "handler", t->handler, NULL);
		run_exec(w, job, h);
		return;
	}
	drv_log_kv(DRV_LOG_WARN, "task failed", "task_id", t->id,
		   "handler", t->handler, "error", job->error, NULL);
}

void *runner_main(void *arg)
{
	worker_t *w = arg;

	for (;;) {
		job_t *job;

		pthread_mutex_lock(&w->lock);
		while (!w->todo && !w->quit)
			pthread_cond_wait(&w->work_cond, &w->lock);
		if (!w->todo) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		job = w->todo;
		w->todo = job->next;
		if (!w->todo)
			w->todo_tail = NULL;
		pthread_mutex_unlock(&w->lock);

		runner_execute(w, job);

		pthread_mutex_lock(&w->lock);
		job->next = w->done;
		w->done = job;
		pthread_mutex_unlock(&w->lock);
	}
}
