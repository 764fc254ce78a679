/*
 * dlq_job_run.c — running DLQ resubmission (and discard) jobs
 * (drover/dlq_job.h): a runner takes a runnable job's lease (SET NX PX),
 * marks it running and hands it to drv_dlq_resubmit_run() between its
 * cursor and its snapshot's end offsets. Between entries the stop hook renews the lease and reads
 * the job's state (twice a second): paused, cancelled, a lost lease or a
 * process stopping end the run. The progress hook saves the cursor and the
 * counts (about once a second, and at the end) only while the lease is
 * this runner's, so a runner that lost it writes nothing; another one
 * resumes from the last cursor saved, and the resubmission marks keep
 * what was sent after it from going twice. A job that ends done or failed
 * is audited (dlq.job.done, dlq.job.failed) on behalf of who made it.
 */
#include <stdlib.h>
#include <string.h>

#include "dlq_job_int.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

#define CHECK_MS 500

/* KEYS: the hash, the lease. ARGV: the owner, the lease ms, then field,
 * value pairs set while the lease is the owner's. Returns {1, state} when
 * it is (the lease renewed), {0, ""} when not. */
static const char touch_lua[] =
	"if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {0, ''} end "
	"redis.call('PEXPIRE', KEYS[2], ARGV[2]) "
	"for i = 3, #ARGV, 2 do "
	"redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end "
	"return {1, redis.call('HGET', KEYS[1], 'state') or ''}";
static drv_redis_script_t touch_script = DRV_REDIS_SCRIPT_INIT(touch_lua);

/* KEYS: the lease. ARGV: the owner. */
static const char release_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"redis.call('DEL', KEYS[1]) end return {1}";
static drv_redis_script_t release_script =
	DRV_REDIS_SCRIPT_INIT(release_lua);

typedef struct jrun {
	const drv_config_t *cfg;
	redisContext *c;
	const drv_dlq_job_runner_t *rn;
	drv_dlq_job_t j;
	drv_dlq_resubmit_t r;
	char     key[256], lease[256], failures[256], lease_ms[32];
	int64_t  check_at;      /* mono ms of the next lease renewal */
	uint64_t told_sent;     /* r.sent already given to rn->sent */
	bool     lost;          /* the lease is not ours (or Redis failed) */
	bool     halted;        /* paused or cancelled */
	bool     quit;
	char     errstr[512];
} jrun_t;

/* Renew the lease and set \p n field, value pairs; false (x->lost) when
 * the lease is not ours. x->halted when the state is no longer running. */
static bool touch(jrun_t *x, const char **fields, int n)
{
	const char *argv[DRV_REDIS_SCRIPT_ARGS];
	redisReply *r;
	int argc = 0;

	argv[argc++] = x->key;
	argv[argc++] = x->lease;
	argv[argc++] = x->rn->owner;
	argv[argc++] = x->lease_ms;
	for (int i = 0; i < n && argc < DRV_REDIS_SCRIPT_ARGS; i++)
		argv[argc++] = fields[i];
	if (drv_redis_script_run(x->c, &touch_script, 2, argc, argv, 2,
				 "job lease script", &r, x->errstr,
				 sizeof(x->errstr))) {
		x->lost = true;
		return false;
	}
	if (drv_redis_int_at(r, 0) != 1)
		x->lost = true;
	else if (r->element[1]->type != REDIS_REPLY_STRING ||
		 strcmp(r->element[1]->str, "running"))
		x->halted = true;
	freeReplyObject(r);
	return !x->lost;
}

static bool hook_stop(void *arg)
{
	jrun_t *x = arg;

	if (!x->quit && x->rn->quit && x->rn->quit(x->rn->arg))
		x->quit = true;
	if (!x->lost && !x->halted && !x->quit &&
	    drv_mono_ms() >= x->check_at) {
		x->check_at = drv_mono_ms() + CHECK_MS;
		touch(x, NULL, 0);
	}
	return x->lost || x->halted || x->quit;
}

static void hook_item_failed(const char *dl_id, const char *why, void *arg)
{
	jrun_t *x = arg;
	json_t *o = json_pack("{s:s, s:s}", "dead_letter_id", dl_id, "error",
			      why);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	redisReply *r = NULL;

	json_decref(o);
	if (!text)
		return;
	/* the first DRV_DLQ_JOB_FAILURES_MAX are kept; all are counted */
	if (!drv_redis_cmd(x->c, &r, x->errstr, sizeof(x->errstr),
			   "HINCRBY %s failures_total 1", x->key) &&
	    r->type == REDIS_REPLY_INTEGER &&
	    r->integer <= DRV_DLQ_JOB_FAILURES_MAX)
		drv_redis_cmd(x->c, NULL, x->errstr, sizeof(x->errstr),
			      "RPUSH %s %s", x->failures, text);
	freeReplyObject(r);
	drv_redis_cmd(x->c, NULL, x->errstr, sizeof(x->errstr),
		      "PEXPIRE %s %lld", x->failures,
		      (long long)DRV_DLQ_JOB_KEEP_MS);
	free(text);
}

#define COUNT_FIELDS 7

/* The counts (the job's before this run plus the run's) and \p next as
 * field, value pairs into \p f (2 * COUNT_FIELDS + 2 entries) with their
 * texts in \p buf. */
static int count_fields(const jrun_t *x, const char *cursor, const char **f,
			char buf[COUNT_FIELDS][32])
{
	const drv_dlq_job_counts_t *b = &x->j.counts;
	const drv_dlq_resubmit_t *r = &x->r;
	uint64_t v[COUNT_FIELDS] = {
		b->matched + r->matched, b->sent + r->sent,
		b->already + r->already,
		b->already_discarded + r->already_discarded,
		b->failed + r->failed, b->undecodable + r->undecodable,
		(uint64_t)drv_now_ms() };
	static const char *const names[COUNT_FIELDS] = {
		"matched", "sent", "already", "already_discarded", "failed",
		"undecodable", "updated_ms",
	};
	int n = 0;

	for (int i = 0; i < COUNT_FIELDS; i++) {
		drv_fmt(buf[i], sizeof(buf[i]), "%llu",
			(unsigned long long)v[i]);
		f[n++] = names[i];
		f[n++] = buf[i];
	}
	if (cursor) {
		f[n++] = "cursor";
		f[n++] = cursor;
	}
	return n;
}

static void hook_progress(const int64_t *next, size_t cnt, void *arg)
{
	jrun_t *x = arg;
	const char *f[2 * COUNT_FIELDS + 2];
	json_t *a = json_array();
	char buf[COUNT_FIELDS][32], *cursor;

	for (size_t p = 0; a && p < cnt; p++)
		json_array_append_new(a, json_integer(next[p]));
	cursor = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	if (!x->lost && cursor)
		touch(x, f, count_fields(x, cursor, f, buf));
	free(cursor);
	if (x->r.sent > x->told_sent) {
		void (*fn)(uint64_t n, void *arg) = x->r.discard ?
			x->rn->discarded : x->rn->sent;

		if (fn)
			fn(x->r.sent - x->told_sent, x->rn->arg);
	}
	x->told_sent = x->r.sent;
}

static void release(jrun_t *x)
{
	const char *argv[2] = { x->lease, x->rn->owner };
	redisReply *r = NULL;

	if (!drv_redis_script_run(x->c, &release_script, 1, 2, argv, 1,
				  "job lease script", &r, x->errstr,
				  sizeof(x->errstr)))
		freeReplyObject(r);
}

/* The audit record of a job's end, on behalf of who made it:
 * dlq.job.done or dlq.job.failed, its counts. A failure is only logged by
 * the caller: the job has ended either way. */
static void audit_end(jrun_t *x, rd_kafka_t *rk, drv_dlq_job_state_t to,
		      const char *error)
{
	const drv_dlq_job_counts_t *b = &x->j.counts;
	const drv_dlq_resubmit_t *r = &x->r;
	bool discard = x->j.kind == DRV_DLQ_JOB_DISCARD;
	uint64_t done = b->sent + r->sent;
	char action[32], *details;
	json_t *o;

	drv_fmt(action, sizeof(action), "dlq.job.%s",
		drv_dlq_job_state_name(to));
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		      "runner", x->rn->owner,
		      "kind", drv_dlq_job_kind_name(x->j.kind),
		      "matched", (json_int_t)(b->matched + r->matched),
		      "resubmitted", (json_int_t)(discard ? 0 : done),
		      "discarded", (json_int_t)(discard ? done : 0),
		      "already_resubmitted", (json_int_t)(b->already +
							  r->already),
		      "already_discarded",
		      (json_int_t)(b->already_discarded +
				   r->already_discarded),
		      "failed", (json_int_t)(b->failed + r->failed),
		      "undecodable", (json_int_t)(b->undecodable +
						  r->undecodable));
	details = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (rk)
		drv_audit_write(rk, x->cfg, x->j.created_by[0] ?
				x->j.created_by : x->rn->owner, action,
				x->j.id, b->sent + r->sent, details, error,
				NULL, x->errstr, sizeof(x->errstr));
	free(details);
}

/* End the run of x->j as \p to (from running), with its last counts, and
 * audit it. */
static drv_err_t finish(jrun_t *x, rd_kafka_t *rk, drv_dlq_job_state_t to,
			const char *error, char *errstr, size_t errstr_size)
{
	const char *f[2 * COUNT_FIELDS + 4];
	char buf[COUNT_FIELDS][32];
	int n = count_fields(x, NULL, f, buf), was;
	drv_err_t rc;

	if (error) {
		f[n++] = "error";
		f[n++] = error;
	}
	rc = dlq_job_move(x->cfg, x->c, x->j.id,
			  DLQ_JOB_BIT(DRV_DLQ_JOB_RUNNING), to, drv_now_ms(),
			  f, n, &was, errstr, errstr_size);
	if (!rc && was == DRV_DLQ_JOB_RUNNING)
		audit_end(x, rk, to, error);
	return rc;
}

/* Run job \p id, whose lease is ours. */
static drv_err_t run(jrun_t *x, rd_kafka_t *rk, char *errstr,
		     size_t errstr_size)
{
	drv_dlq_job_spec_t s;
	char by[DRV_ID_LEN + 16], err[512], pointer[64];
	drv_err_t rc;

	if ((rc = drv_dlq_job_spec_read(x->cfg, x->j.spec, x->j.created_ms,
					&s, pointer, sizeof(pointer), err,
					sizeof(err)))) {
		/* a spec checked when it was made, refused by this
		 * replica's config (a policy it does not know) */
		drv_dlq_job_spec_release(&s);
		return finish(x, rk, DRV_DLQ_JOB_FAILED, err, errstr,
			      errstr_size);
	}
	drv_dlq_job_spec_apply(&s, &x->r);
	drv_fmt(by, sizeof(by), "dlqjob:%s", x->j.id);
	x->r.submitted_by = by;
	x->r.from = x->j.cursor;
	x->r.to = x->j.hi;
	x->r.part_cnt = x->j.part_cnt;
	x->r.hooks = (drv_dlq_resubmit_hooks_t){
		.item_failed = hook_item_failed, .stop = hook_stop,
		.progress = hook_progress, .arg = x };
	x->check_at = drv_mono_ms() + CHECK_MS;
	rc = drv_dlq_resubmit_run(x->cfg, x->c, rk, &x->r, err, sizeof(err));
	drv_dlq_job_spec_release(&s);
	if (x->lost || x->halted || x->quit)
		return DRV_OK;  /* saved where it was; left as it is */
	if (rc == DRV_ERR_REDIS || drv_redis_err(x->c))
		/* the lease lapses; a runner takes the job again */
		return drv_error(errstr, errstr_size, DRV_ERR_REDIS, "%s",
				 err);
	if (rc)
		return finish(x, rk, DRV_DLQ_JOB_FAILED, err, errstr,
			      errstr_size);
	return finish(x, rk, DRV_DLQ_JOB_DONE, NULL, errstr, errstr_size);
}

/* Take job \p id if it is runnable and its lease is free; true when x->j
 * holds it, running and ours. */
static bool take(jrun_t *x, const char *id, char *errstr,
		 size_t errstr_size, drv_err_t *rc)
{
	const char *f[4] = { "runner", x->rn->owner, "started_ms", NULL };
	char now[32];
	redisReply *r = NULL;
	int was;

	dlq_job_key(x->cfg, id, "", x->key, sizeof(x->key));
	dlq_job_key(x->cfg, id, ":lease", x->lease, sizeof(x->lease));
	dlq_job_key(x->cfg, id, ":failures", x->failures,
		    sizeof(x->failures));
	if ((*rc = drv_redis_cmd(x->c, &r, errstr, errstr_size,
				 "HGET %s state", x->key)))
		return false;
	if (r->type != REDIS_REPLY_STRING || (strcmp(r->str, "pending") &&
					      strcmp(r->str, "running"))) {
		freeReplyObject(r);
		return false;
	}
	freeReplyObject(r);
	if ((*rc = drv_redis_cmd(x->c, &r, errstr, errstr_size,
				 "SET %s %s NX PX %s", x->lease, x->rn->owner,
				 x->lease_ms)))
		return false;
	if (r->type != REDIS_REPLY_STATUS) {
		freeReplyObject(r);
		return false;  /* another runner has it */
	}
	freeReplyObject(r);
	/* read after the lease: a runner before us saved its last cursor
	 * while it still held it */
	if ((*rc = drv_dlq_job_get(x->cfg, x->c, id, &x->j, errstr,
				   errstr_size)))
		goto refused;
	drv_fmt(now, sizeof(now), "%lld", (long long)drv_now_ms());
	f[3] = now;
	if ((*rc = dlq_job_move(x->cfg, x->c, id,
				DLQ_JOB_BIT(DRV_DLQ_JOB_PENDING) |
				DLQ_JOB_BIT(DRV_DLQ_JOB_RUNNING),
				DRV_DLQ_JOB_RUNNING, drv_now_ms(), f,
				x->j.started_ms ? 2 : 4, &was, errstr,
				errstr_size)))
		goto refused;
	if (was == DRV_DLQ_JOB_PENDING || was == DRV_DLQ_JOB_RUNNING)
		return true;
refused:
	release(x);
	drv_dlq_job_release(&x->j);
	return false;
}

static int by_id(const void *a, const void *b)
{
	const redisReply *const *x = a, *const *y = b;

	return strcmp((*x)->str ? (*x)->str : "", (*y)->str ? (*y)->str : "");
}

drv_err_t drv_dlq_job_run_next(const drv_config_t *cfg, redisContext *c,
			       rd_kafka_t *rk, const drv_dlq_job_runner_t *rn,
			       char ran[DRV_ID_LEN + 1], char *errstr,
			       size_t errstr_size)
{
	jrun_t *x;
	redisReply *ids = NULL;
	char active[256];
	drv_err_t rc;

	ran[0] = '\0';
	dlq_job_active_key(cfg, active, sizeof(active));
	if ((rc = drv_redis_cmd(c, &ids, errstr, errstr_size, "SMEMBERS %s",
				active)))
		return rc;
	if (ids->type != REDIS_REPLY_ARRAY && ids->type != REDIS_REPLY_SET)
		return drv_redis_fail(c, ids, "SMEMBERS", errstr,
				      errstr_size);
	if (!(x = calloc(1, sizeof(*x)))) {
		freeReplyObject(ids);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	/* oldest first: ids are ULIDs */
	if (ids->elements > 1)
		qsort(ids->element, ids->elements, sizeof(*ids->element),
		      by_id);
	x->cfg = cfg;
	x->c = c;
	x->rn = rn;
	drv_fmt(x->lease_ms, sizeof(x->lease_ms), "%lld",
		(long long)(rn->lease_ms ? rn->lease_ms :
			    DRV_DLQ_JOB_LEASE_MS));
	for (size_t i = 0; i < ids->elements && !rc; i++) {
		const char *id = ids->element[i]->str;

		if (!id || !drv_id_valid(id))
			continue;
		if (!take(x, id, errstr, errstr_size, &rc)) {
			if (rc == DRV_ERR_NOT_FOUND || rc == DRV_ERR_DECODE) {
				/* expired or damaged: not active */
				rc = drv_redis_cmd(c, NULL, errstr,
						   errstr_size, "SREM %s %s",
						   active, id);
			}
			continue;
		}
		drv_strlcpy(ran, id, DRV_ID_LEN + 1);
		if (rn->running)
			rn->running(id, true, rn->arg);
		rc = run(x, rk, errstr, errstr_size);
		if (rn->running)
			rn->running(id, false, rn->arg);
		release(x);
		drv_dlq_job_release(&x->j);
		break;
	}
	freeReplyObject(ids);
	free(x);
	return rc;
}
