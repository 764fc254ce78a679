/*
 * runner.c — the runner threads: run one attempt of a task through its
 * handler (exec, http, plugin, noop, sleep, webhook), log the result, and decide the
 * task's next step: done, a retry after the policy's delay, or a dead
 * letter. The main thread carries the step out (forward.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "drover/builtin.h"
#include "drover/clock.h"
#include "drover/http.h"
#include "drover/kafka.h"
#include "drover/log.h"
#include "drover/plugin_host.h"
#include "drover/redis.h"
#include "drover/retry.h"
#include "drover/str.h"
#include "drover/webhook.h"
#include "worker.h"

/* Per runner thread: an HTTP client (connections are reused) and a random
 * source for jitter. */
static __thread drv_http_client_t *thread_http;
static __thread drv_rng_t thread_rng;
/* This runner's plugin call thread (drover/plugin_host.h) */
static __thread drv_plugin_caller_t *thread_plugin;
/* webhook deliveries read their subscription through this */
static __thread redisContext *thread_redis;

/* ------------------------------------------------------------- exec */

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

/* The worker's variables the command inherits besides exec.c's base set:
 * worker.env_pass, then the handler's env_pass. Borrowed strings. */
static char **task_env_pass(const drv_config_t *cfg,
			    const drv_handler_conf_t *h)
{
	size_t nw = cfg->worker.env_pass_cnt, nh = h->env_pass_cnt;
	char **pass = calloc(nw + nh + 1, sizeof(*pass));

	if (!pass)
		return NULL;
	for (size_t i = 0; i < nw; i++)
		pass[i] = cfg->worker.env_pass[i];
	for (size_t i = 0; i < nh; i++)
		pass[nw + i] = h->env_pass[i];
	return pass;
}

/* Variables that hold API tokens (api_tokens[].env): never inherited,
 * whatever env_pass says. Borrowed strings. */
static char **task_env_deny(const drv_config_t *cfg)
{
	char **deny = calloc(cfg->api_token_cnt + 1, sizeof(*deny));
	size_t n = 0;

	for (size_t i = 0; deny && i < cfg->api_token_cnt; i++)
		if (cfg->api_tokens[i].env)
			deny[n++] = cfg->api_tokens[i].env;
	return deny;
}

static bool transient_code(const drv_handler_conf_t *h, int code)
{
	for (size_t i = 0; i < h->transient_exit_code_cnt; i++)
		if (h->transient_exit_codes[i] == code)
			return true;
	return false;
}

/* Run the command and classify: exit 0 succeeds; a transient exit code,
 * a timeout or death by a signal (not the worker's own kill) may succeed
 * later; anything else is permanent. */
static void run_exec(worker_t *w, job_t *job, const drv_handler_conf_t *h,
		     drv_result_t *res)
{
	drv_task_t *t = &job->task;
	char **env = task_env(h, t), **pass = task_env_pass(w->cfg, h);
	char **deny = task_env_deny(w->cfg);
	drv_exec_spec_t spec = {
		.argv = h->command,
		.shell = h->shell,
		.workdir = h->workdir,
		.env = env,
		.env_pass = pass,
		.env_deny = deny,
		.stdin_data = t->payload,
		.stdin_len = t->payload_len,
		.timeout_ms = h->timeout_ms,
		.kill_grace_ms = 2000,
		.output_limit = (size_t)h->output_limit,
	};
	drv_exec_result_t er = { 0 };
	drv_exec_t *ex = NULL;
	bool ex_started = false;

	if (!pass || !deny) {
		drv_fmt(res->message, sizeof(res->message),
			"exec: out of memory");
	} else if (drv_exec_start(&spec, &ex, res->message,
				  sizeof(res->message)) == DRV_OK) {
		ex_started = true;
	}
	free_env(env);
	free(pass);
	free(deny);
	if (!ex_started) {
		res->failure = DRV_FAILURE_PERMANENT;
		return;
	}
	pthread_mutex_lock(&w->lock);
	job->ex = ex;
	if (job->abandon) /* shutdown came between start and here */
		drv_exec_signal(ex, SIGKILL);
	pthread_mutex_unlock(&w->lock);
	intervene_exec_start(w, job, ex);

	drv_exec_wait(ex, &er);
	intervene_exec_end(w, ex);

	pthread_mutex_lock(&w->lock);
	job->ex = NULL;
	pthread_mutex_unlock(&w->lock);
	drv_exec_destroy(ex);

	res->duration_ms = er.duration_ms;
	res->output = er.output;
	res->output_len = er.output_len;
	er.output = NULL;
	switch (er.status) {
	case DRV_EXEC_EXITED:
		res->exit_code = er.exit_code;
		if (er.exit_code == 0)
			break;
		res->failure = transient_code(h, er.exit_code) ?
			       DRV_FAILURE_TRANSIENT : DRV_FAILURE_PERMANENT;
		drv_fmt(res->message, sizeof(res->message), "exit code %d",
			er.exit_code);
		break;
	case DRV_EXEC_SIGNALED:
		res->failure = DRV_FAILURE_CRASHED;
		drv_fmt(res->message, sizeof(res->message),
			"killed by signal %d (%s)", er.signal,
			strsignal(er.signal));
		break;
	case DRV_EXEC_TIMED_OUT:
		res->failure = DRV_FAILURE_TIMEOUT;
		drv_fmt(res->message, sizeof(res->message),
			"timed out after %lld ms", (long long)h->timeout_ms);
		break;
	case DRV_EXEC_SPAWN_FAILED:
		res->failure = DRV_FAILURE_PERMANENT;
		drv_fmt(res->message, sizeof(res->message), "cannot start: %s",
			res->output ? res->output : "");
		break;
	}
	drv_exec_result_release(&er);
}

/* ------------------------------------------------------------- deciding */

static void dead(job_t *job, drv_dl_reason_t reason, const char *why)
{
	job->step = STEP_DEAD;
	job->dl_reason = reason;
	drv_strlcpy(job->detail, why, sizeof(job->detail));
}

/* After a failed attempt: record it on the task and choose retry or DLQ. */
static void decide_failure(worker_t *w, job_t *job,
			   const drv_handler_conf_t *h, const drv_result_t *res)
{
	drv_task_t *t = &job->task;
	const drv_retry_policy_t *p = NULL;
	uint32_t attempt = t->attempt + 1, max;
	int64_t now = drv_now_ms(), delay, prev = 0;
	drv_failure_t f = {
		.attempt = attempt,
		.time_ms = now,
		.worker_id = w->daemon->id,
		.failure_class = res->failure,
		.message = (char *)res->message,
		.exit_code = res->exit_code,
		.http_status = res->http_status,
		.duration_ms = res->duration_ms,
	};

	if (drv_task_add_failure(t, &f)) {
		/* the task still moves on, one failure short in its
		 * history; say so */
		drv_log_kv(DRV_LOG_ERROR, "out of memory recording a failure",
			   "task_id", t->id, NULL);
	}
	/* the delay before the previous retry, for decorrelated jitter: the
	 * previous not-before minus the time of the failure that set it */
	if (t->failure_cnt >= 2 && t->not_before_ms)
		prev = t->not_before_ms - t->failures[t->failure_cnt - 2].time_ms;
	t->attempt = attempt;
	if (t->policy)
		p = drv_config_policy(w->cfg, t->policy);
	if (!p && h->policy)
		p = drv_config_policy(w->cfg, h->policy);
	/* a webhook handler that names none keeps the spec's schedule */
	if (!p && h->type == DRV_HANDLER_WEBHOOK)
		p = drv_config_policy(w->cfg, "webhook");
	if (!p)
		p = drv_config_policy(w->cfg, w->cfg->worker.default_policy);
	max = t->max_attempts ? t->max_attempts : h->max_attempts;

	if (res->failure == DRV_FAILURE_PERMANENT) {
		dead(job, DRV_DL_PERMANENT_FAILURE, res->message);
		return;
	}
	if (!p || !drv_retry_allowed(p, attempt, max)) {
		dead(job, DRV_DL_ATTEMPTS_EXHAUSTED, res->message);
		return;
	}
	/* the handler's Retry-After counts up to the policy's cap and the
	 * deadline, so now + delay stays far from overflow */
	delay = drv_retry_after_delay(p, drv_retry_delay(p, attempt, prev,
							 &thread_rng),
				      res->retry_after_ms, now,
				      t->deadline_ms);
	t->not_before_ms = now + delay;
	if (t->deadline_ms && t->not_before_ms > t->deadline_ms) {
		dead(job, DRV_DL_DEADLINE_EXCEEDED,
		     "the next retry would come after the deadline");
		return;
	}
	job->step = STEP_RETRY;
	drv_fmt(job->detail, sizeof(job->detail), "retry in %lld ms",
		(long long)delay);
}

static void log_result(const job_t *job, const drv_result_t *res)
{
	const drv_task_t *t = &job->task;
	char attempt[16], dur[32], code[16];
	const char *msg;

	switch (job->step) {
	case STEP_DONE:    msg = "task succeeded"; break;
	case STEP_RETRY:   msg = "task failed; will retry"; break;
	case STEP_DEAD:    msg = "task failed for good; dead-lettering"; break;
	default:           msg = "task abandoned at shutdown"; break;
	}
	drv_fmt(attempt, sizeof(attempt), "%u",
		job->step == STEP_DONE ? t->attempt + 1 : t->attempt);
	drv_fmt(dur, sizeof(dur), "%lld", (long long)res->duration_ms);
	drv_fmt(code, sizeof(code), "%d", res->http_status ? res->http_status
		: res->exit_code);
	drv_log_kv(job->step == STEP_DONE ? DRV_LOG_INFO : DRV_LOG_WARN, msg,
		   "task_id", t->id, "handler", t->handler, "attempt", attempt,
		   "class", job->step == STEP_DONE ? "ok" :
			    drv_failure_class_name(res->failure),
		   "code", code, "duration_ms", dur,
		   "error", res->message, "next", job->detail,
		   "output", res->output ? res->output : "", NULL);
}

/* Write the attempt's outcome to the task state (queued for Redis). */
static void record(worker_t *w, const job_t *job, const drv_result_t *res)
{
	static const drv_task_state_t states[] = {
		[STEP_DONE] = DRV_TASK_SUCCEEDED, [STEP_RETRY] = DRV_TASK_RETRYING,
		[STEP_DEAD] = DRV_TASK_DEAD,
	};
	const drv_task_t *t = &job->task;
	drv_state_rec_t rec = {
		.task_id = t->id,
		.state = job->skipped ? DRV_TASK_SKIPPED : states[job->step],
		.attempt = job->step == STEP_DONE ? t->attempt + 1 : t->attempt,
		.handler = t->handler,
		.worker = w->daemon->id,
		.error = job->step == STEP_DONE ? NULL : res->message,
		.failure_class = res->failure,
		.created_ms = t->created_ms,
		.started_ms = job->started_ms,
		.finished_ms = drv_now_ms(),
		.planned_ms = job->planned_ms,
		.band = drv_band_for_priority(w->cfg, t->priority)->name,
		.due_ms = job->step == STEP_RETRY ? t->not_before_ms : 0,
		.replaces = job->state_ticket,
	};

	char *origin;

	if (job->step == STEP_ABANDON || job->step == STEP_RELEASE)
		return;
	rec.origin = origin = drv_state_origin_json(t);
	drv_state_record(w->state, &rec);
	free(origin);
	if (job->step == STEP_DONE && !job->skipped && t->idempotency_key)
		drv_state_idem_done(w->state, t->idempotency_key, t->id);
}

void record_wait(worker_t *w, const job_t *job, const char *kind,
		 const char *name, const char *state)
{
	drv_state_wait_rec_t rec = {
		.task_id = job->task.id,
		.kind = kind,
		.name = name,
		.state = state,
		.attempt = job->task.attempt,
		.until_ms = job->task.not_before_ms,
	};

	drv_state_wait(w->state, &rec);
}

/* How long a copy waits while another holds its idempotency key's claim;
 * it then tries again (the holder may finish in milliseconds or hours). */
#define CLAIM_WAIT_MS 1000

/*
 * Take the task's idempotency claim. False: the task is not run now,
 * either because a task with its key completed (skipped; a copy of the
 * same task leaves that task's state alone) or because another copy runs
 * (it waits on the delay topics, no attempt used). When Redis cannot say,
 * the task runs unchecked (at least once) and that is counted.
 */
static bool claim(worker_t *w, job_t *job)
{
	drv_task_t *t = &job->task;
	drv_result_t res = { 0 };
	drv_claim_t c = job->claim_pre;
	drv_err_t err = job->claim_err;

	if (!t->idempotency_key)
		return true;
	if (!job->claim_known)
		err = drv_claims_take(w->claims, t->idempotency_key, &c);
	job->claim_known = false;
	if (err) {
		drv_counter_inc(w->obs.idem_unchecked, NULL);
		return true;
	}
	switch (c.verdict) {
	case DRV_CLAIM_TAKEN:
		job->claimed = true;
		return true;
	case DRV_CLAIM_HELD:
		drv_counter_inc(w->obs.idem_waited, NULL);
		t->not_before_ms = drv_now_ms() + CLAIM_WAIT_MS;
		job->step = STEP_RELEASE;
		drv_fmt(job->detail, sizeof(job->detail), "another copy with "
			"idempotency key %s is running", t->idempotency_key);
		drv_log_kv(DRV_LOG_INFO, "task waits: another copy with its "
			   "idempotency key is running", "task_id", t->id,
			   "idempotency_key", t->idempotency_key, NULL);
		return false;
	case DRV_CLAIM_DONE:
		break;
	}
	drv_counter_inc(w->obs.idem_skipped, NULL);
	drv_log_kv(DRV_LOG_INFO, "task skipped: its idempotency key is done",
		   "task_id", t->id, "idempotency_key", t->idempotency_key,
		   "done_by", c.done_by, NULL);
	job->skipped = true;
	job->step = STEP_DONE;
	if (strcmp(c.done_by, t->id))
		record(w, job, &res);
	return false;
}

/*
 * Claims taken ahead. The runner that pops a keyed job whose claim is not
 * known takes the claims of every keyed job waiting in `todo` with it, in
 * one script, outside the lock: a worker pays one Redis round trip per
 * batch of keyed tasks instead of one per task, and the main thread none. The jobs stay in `todo`
 * meanwhile, marked claim_busy: a runner that pops one waits for the
 * result, and drop_queued() waits for `claiming` to be 0.
 */
#define AHEAD_MAX 256  /* keys in one script */

static bool wants_claim(const job_t *j)
{
	return j->decoded && j->task.idempotency_key && !j->claim_known &&
	       !j->claim_busy;
}

/* Under the lock: \p job and the other jobs of todo that want their claim
 * into \p batch, marked busy. */
static size_t claim_batch(worker_t *w, job_t *job, job_t **batch)
{
	size_t n = 0;

	job->claim_busy = true;
	batch[n++] = job;
	for (size_t b = 0; b < JOBQ_BANDS; b++)
		for (job_t *j = w->todo.head[b]; j && n < AHEAD_MAX;
		     j = j->next)
			if (wants_claim(j)) {
				j->claim_busy = true;
				batch[n++] = j;
			}
	w->claiming++;
	return n;
}

static void claim_ahead(worker_t *w, job_t **batch, size_t n)
{
	const char *keys[AHEAD_MAX];
	drv_claim_t out[AHEAD_MAX];
	drv_err_t err;

	for (size_t i = 0; i < n; i++)
		keys[i] = batch[i]->task.idempotency_key;
	memset(out, 0, n * sizeof(*out));
	err = drv_claims_take_many(w->claims, keys, n, out);
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < n; i++) {
		batch[i]->claim_known = true;
		batch[i]->claim_err = err;
		batch[i]->claim_pre = out[i];
		batch[i]->claim_busy = false;
	}
	w->claiming--;
	pthread_cond_broadcast(&w->claim_cond);
	pthread_mutex_unlock(&w->lock);
}

void claim_drop(worker_t *w, job_t *job)
{
	if (job->claim_known && !job->claim_err &&
	    job->claim_pre.verdict == DRV_CLAIM_TAKEN)
		drv_claims_release(w->claims, job->task.idempotency_key);
	job->claim_known = false;
}

/* The attempt ended: a completed task's key is marked done (replacing the
 * claim); otherwise the claim is given back for the next copy or retry. */
static void unclaim(worker_t *w, job_t *job)
{
	const char *key = job->task.idempotency_key;

	if (!job->claimed)
		return;
	job->claimed = false;
	if (job->step == STEP_DONE && !job->skipped)
		drv_claims_forget(w->claims, key);
	else
		drv_claims_release(w->claims, key);
}

/* A webhook delivery, through this thread's HTTP client and Redis
 * connection (made when first needed, dropped when it fails). */
static void run_webhook(worker_t *w, const drv_handler_conf_t *h,
			const drv_task_t *t, drv_result_t *res)
{
	char err[256];

	if (!thread_http &&
	    drv_http_client_new(&thread_http, res->message,
				sizeof(res->message))) {
		res->failure = DRV_FAILURE_TRANSIENT;
		return;
	}
	if (!thread_redis &&
	    drv_redis_connect(w->cfg, &thread_redis, err, sizeof(err))) {
		drv_log_kv(DRV_LOG_WARN, "webhook delivery without Redis",
			   "task_id", t->id, "error", err, NULL);
		thread_redis = NULL;
	}
	drv_counter_inc(w->obs.webhook_sends, (const char *const[]){
		drv_webhook_deliver(thread_redis, thread_http, w->cfg, h, t,
				    res) });
	if (thread_redis && thread_redis->err) {
		redisFree(thread_redis);
		thread_redis = NULL;
	}
}

/* drv_plugin_call()'s stop: shutdown killed the job. */
static bool plugin_stop(void *arg)
{
	job_t *job = arg;
	bool stop;

	pthread_mutex_lock(&job->worker->lock);
	stop = job->abandon;
	pthread_mutex_unlock(&job->worker->lock);
	return stop;
}

/* One attempt of the task: its handler, or a dead letter, or a wait for
 * its breaker. */
static void attempt(worker_t *w, job_t *job)
{
	drv_task_t *t = &job->task;
	const drv_handler_conf_t *h = drv_config_handler(w->cfg, t->handler);
	drv_result_t res = { 0 };
	brk_ticket_t bt;
	lim_ticket_t lt;
	bool abandoned;

	if (!h) {
		drv_fmt(res.message, sizeof(res.message),
			"no handler '%s' in this worker's config", t->handler);
		dead(job, DRV_DL_HANDLER_UNKNOWN, res.message);
		log_result(job, &res);
		record(w, job, &res);
		return;
	}
	if (t->deadline_ms && drv_now_ms() > t->deadline_ms) {
		drv_strlcpy(res.message, "deadline passed before the attempt",
			    sizeof(res.message));
		dead(job, DRV_DL_DEADLINE_EXCEEDED, res.message);
		log_result(job, &res);
		record(w, job, &res);
		return;
	}
	/* limits before the breaker: a half-open probe lease is never taken
	 * for a task a limit then sends away */
	if (!limits_admit(w, job, h, &lt))
		return;  /* over a limit: waits, no attempt used */
	if (!breakers_admit(w, job, h, &bt)) {
		limits_release(w, &lt, t->id);
		return;  /* waits for its breaker, no attempt used */
	}
	switch (h->type) {
	case DRV_HANDLER_EXEC:
		run_exec(w, job, h, &res);
		break;
	case DRV_HANDLER_HTTP:
		if (!thread_http &&
		    drv_http_client_new(&thread_http, res.message,
					sizeof(res.message))) {
			res.failure = DRV_FAILURE_TRANSIENT;
			break;
		}
		drv_http_run(thread_http, h, t, &res);
		break;
	case DRV_HANDLER_WEBHOOK:
		run_webhook(w, h, t, &res);
		break;
	case DRV_HANDLER_PLUGIN:
		drv_plugin_call(&thread_plugin, w->plugins[h - w->cfg->handlers],
				t, plugin_stop, job, &res);
		break;
	case DRV_HANDLER_NOOP:
	case DRV_HANDLER_SLEEP:
		drv_builtin_run(h, t, &res);
		break;
	}
	limits_release(w, &lt, t->id);

	pthread_mutex_lock(&w->lock);
	abandoned = job->abandon;
	pthread_mutex_unlock(&w->lock);
	/* neither a shutdown's kill nor an operator's cancel says anything of
	 * the dependency: not counted (a probe's lease lapses after the
	 * breaker's wait_in_open and is leased again) */
	if (abandoned) {
		job->step = STEP_ABANDON;
	} else if (intervene_after(w, job)) {
		drv_result_release(&res);
		return;
	} else {
		breakers_record(w, &bt, &res);
		if (res.failure == DRV_FAILURE_UNSPECIFIED)
			job->step = STEP_DONE;
		else
			decide_failure(w, job, h, &res);
	}
	log_result(job, &res);
	observe_attempt(w, job, res.duration_ms);
	record(w, job, &res);
	drv_result_release(&res);
}

/* The attempt starts: state `running` (queued for Redis, like every
 * record), so `task show` and `task pause` know a task that is running. */
static void record_running(worker_t *w, job_t *job)
{
	const drv_task_t *t = &job->task;
	drv_state_rec_t rec = {
		.task_id = t->id,
		.state = DRV_TASK_RUNNING,
		.attempt = t->attempt + 1,
		.handler = t->handler,
		.worker = w->daemon->id,
		.created_ms = t->created_ms,
		.started_ms = job->started_ms,
		.priority = t->priority,
	};
	char *origin, *labels;

	rec.origin = origin = drv_state_origin_json(t);
	rec.labels = labels = drv_state_labels_json(t);
	drv_state_record_ticket(w->state, &rec, &job->state_ticket);
	free(origin);
	free(labels);
}

static void execute(worker_t *w, job_t *job)
{
	job->started_ms = drv_now_ms();
	/* decide_failure() moves not_before_ms on: keep when this retry (or
	 * a first attempt submitted with a not_before) was due */
	job->planned_ms = job->task.not_before_ms;
	if (intervene_before(w, job)) {
		claim_drop(w, job);
		return;
	}
	if (!claim(w, job))
		return;
	record_running(w, job);
	attempt(w, job);
	unclaim(w, job);
}

/* Put the finished \p job (if any) on `done` and take the next job from
 * `todo`, sleeping only when there is none. NULL: quit. */
static job_t *next_job(worker_t *w, job_t *job)
{
	job_t *batch[AHEAD_MAX];
	size_t n = 0;

	pthread_mutex_lock(&w->lock);
	if (job) {
		job->next = w->done;
		w->done = job;
		if (w->main_waiting) {
			w->main_waiting = false;
			pthread_mutex_unlock(&w->lock);
			worker_wake(w);
			pthread_mutex_lock(&w->lock);
		}
	}
	while (!(job = jobq_pop(&w->todo)) && !w->quit) {
		w->idle++;
		pthread_cond_wait(&w->work_cond, &w->lock);
	}
	if (job && wants_claim(job))
		n = claim_batch(w, job, batch);
	while (job && job->claim_busy && !n)  /* another runner takes it */
		pthread_cond_wait(&w->claim_cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (n)
		claim_ahead(w, batch, n);
	return job;
}

void *runner_main(void *arg)
{
	worker_t *w = arg;
	job_t *job = NULL;

	drv_rng_seed(&thread_rng, 0);
	while ((job = next_job(w, job))) {
		__atomic_add_fetch(&w->busy, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->started, 1, __ATOMIC_RELAXED);
		execute(w, job);
		__atomic_sub_fetch(&w->busy, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->finished, 1, __ATOMIC_RELAXED);
	}
	drv_http_client_destroy(thread_http);
	thread_http = NULL;
	drv_plugin_caller_free(thread_plugin);
	thread_plugin = NULL;
	if (thread_redis)
		redisFree(thread_redis);
	thread_redis = NULL;
	limits_thread_end();
	return NULL;
}

bool runners_open_plugins(worker_t *w)
{
	char err[512];

	w->plugins = calloc(w->cfg->handler_cnt + 1, sizeof(*w->plugins));
	if (!w->plugins)
		return false;
	for (size_t i = 0; i < w->cfg->handler_cnt; i++) {
		const drv_handler_conf_t *h = &w->cfg->handlers[i];

		if (h->type != DRV_HANDLER_PLUGIN)
			continue;
		if (drv_plugin_open(h, &w->plugins[i], err, sizeof(err))) {
			drv_log_kv(DRV_LOG_ERROR, "cannot load plugin", "handler",
				   h->name, "error", err, NULL);
			return false;
		}
	}
	return true;
}

size_t runners_plugins_hung(worker_t *w)
{
	size_t n = 0;

	for (size_t i = 0; w->plugins && i < w->cfg->handler_cnt; i++)
		if (w->plugins[i])
			n += drv_plugin_hung(w->plugins[i]);
	return n;
}

void runners_close_plugins(worker_t *w)
{
	for (size_t i = 0; w->plugins && i < w->cfg->handler_cnt; i++) {
		if (w->plugins[i] && drv_plugin_hung(w->plugins[i]))
			drv_log_kv(DRV_LOG_WARN, "plugin left loaded: calls "
				   "still inside it", "handler",
				   w->cfg->handlers[i].name, NULL);
		drv_plugin_close(w->plugins[i]);
	}
	free(w->plugins);
	w->plugins = NULL;
}
