/*
 * cmd_dlq_resubmit.c — `droverctl dlq resubmit`: put dead letters back on
 * the task topics, patched, at most once each.
 *
 * The DLQ is streamed (dlq_read) and matching entries are gathered into
 * batches of DRV_DLQ_MARK_BATCH. Per batch, one MGET reads the resubmission
 * marks and every unmarked entry's new task is produced without waiting;
 * once FLY_MAX produces are in flight (several batches, overlapping the
 * broker's latency) the acknowledgements of the oldest batch are collected
 * and one pipelined round of SETs writes the marks of the acknowledged
 * ones, while the younger batches stay in flight. A mark is therefore never written for
 * a task the broker did not take (nothing lost), and an entry with a mark is
 * never sent again unless --force (nothing twice). The task id is derived
 * from the dead letter id (drv_dlq_resubmit_id) and the task carries the
 * idempotency key "drover.resubmit:<dead letter id>" (unless it has its own),
 * so the one window left — acknowledged, then killed before the mark — sends
 * the same task id with the same key again on a rerun, and a worker runs
 * only one of the copies: the key's claim (see docs/dlq.md).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/dlq.h"
#include "dlq_opts.h"
#include "drover/patch.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"

#define RESUBMIT_LABEL "drover.resubmitted_from"
#define IDEM_PREFIX    "drover.resubmit:"

/* A dead letter's new task, built and waiting to be sent. */
typedef struct pending {
	drv_task_t     task;
	char           dl_id[DRV_ID_LEN + 1];
	char           topic[256];
} pending_t;

/* A task produced and not yet acknowledged. */
typedef struct inflight {
	char           dl_id[DRV_ID_LEN + 1];
	char           task_id[DRV_ID_LEN + 1];
	char           topic[256];
	drv_delivery_t dr;
} inflight_t;

/* Produces in flight before their acknowledgements are collected. */
#define FLY_MAX (16 * DRV_DLQ_MARK_BATCH)

typedef struct resub {
	const ctl_cmd_t    *cmd;
	const drv_config_t *cfg;
	drv_dlq_filter_t f;
	bool         all;
	char       **ids;        /* argv: the IDs given */
	size_t       id_cnt;
	bool        *id_found;
	drv_patch_t  patch;
	int64_t      priority;   /* 0 = keep */
	const char  *policy;     /* NULL = keep */
	int64_t      max_attempts; /* 0 = keep */
	bool         reset, dry_run, force, json;
	bool         retry;      /* `task retry`: one task, its newest dead
				    letter, forced, attempts reset */
	int64_t      retry_dead_ms;
	char         last_id[DRV_ID_LEN + 1]; /* the last task sent */
	bool         audited_start;
	int64_t      max;        /* 0 = no limit */
	double       rate;       /* per second; 0 = no limit */
	rd_kafka_t  *rk;
	redisContext *rc;
	pending_t   *batch;
	size_t       batch_cnt, batch_cap;
	inflight_t  *fly;        /* a ring of FLY_MAX entries */
	size_t       fly_head, fly_cnt;
	int64_t      start_ms;
	size_t       matched, sent, already, undecodable, failed, build_failed;
	bool         stop, interrupted;
	drv_err_t    err;
	char         errstr[512];
} resub_t;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* ---- building the new task ---------------------------------------------- */

static drv_err_t build(resub_t *r, const drv_dead_letter_t *dl,
		       drv_task_t *t, char *errstr, size_t errstr_size)
{
	drv_task_t src = dl->task;
	char idem[DRV_ID_LEN * 2 + 32], *payload = NULL;
	size_t len = 0;
	drv_err_t rc;

	/* a shallow view without the history when it is reset */
	if (r->reset) {
		src.failures = NULL;
		src.failure_cnt = 0;
		src.attempt = 0;
	}
	if ((rc = drv_task_copy(t, &src)))
		return drv_error(errstr, errstr_size, rc, "cannot copy the "
				 "task: %s", drv_strerror(rc));
	if (r->force)
		drv_id_new(t->id, drv_now_ms());
	else
		drv_dlq_resubmit_id(dl->id, 0, t->id);
	if ((rc = drv_patch_apply(&r->patch, dl->task.payload,
				  dl->task.payload_len, &payload, &len,
				  errstr, errstr_size)))
		return rc;
	rc = drv_task_set_payload(t, payload, len);
	free(payload);
	if (r->priority)
		t->priority = (uint32_t)r->priority;
	if (r->policy) {
		free(t->policy);
		t->policy = drv_strdup(r->policy);
	}
	if (r->max_attempts)
		t->max_attempts = (uint32_t)r->max_attempts;
	if (t->max_attempts && t->attempt >= t->max_attempts)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "it has made %u of its %u attempts: add "
				 "--reset-attempts or a higher --max-attempts",
				 t->attempt, t->max_attempts);
	t->created_ms = drv_now_ms();
	t->not_before_ms = 0;
	free(t->origin.dead_letter_id);
	t->origin.dead_letter_id = drv_strdup(dl->id);
	free(t->origin.submitted_by);
	t->origin.submitted_by = drv_strdup(ctl_actor_name());
	if (!t->idempotency_key) {
		if (r->force)
			drv_fmt(idem, sizeof(idem), IDEM_PREFIX "%s:%s", dl->id,
				t->id);
		else
			drv_fmt(idem, sizeof(idem), IDEM_PREFIX "%s", dl->id);
		t->idempotency_key = drv_strdup(idem);
	}
	if (!rc)
		rc = drv_task_set_label(t, RESUBMIT_LABEL, dl->id);
	if (!rc && (!t->origin.dead_letter_id || !t->origin.submitted_by ||
		    !t->idempotency_key || (r->policy && !t->policy)))
		rc = DRV_ERR_NOMEM;
	if (rc)
		return drv_error(errstr, errstr_size, rc, "%s",
				 drv_strerror(rc));
	return drv_task_validate(t, errstr, errstr_size);
}

/* ---- one batch: marks, produce, acknowledgements, marks ----------------- */

static void print_dry(const pending_t *p)
{
	char *task = drv_task_to_json(&p->task);
	json_t *o = json_pack("{s:s, s:s}", "dead_letter_id", p->dl_id,
			      "topic", p->topic);

	if (o && task)
		json_object_set_new(o, "task", json_loads(task, 0, NULL));
	free(task);
	ctl_print_json(o);
}

/* Wait for the \p k oldest produces in flight, then mark what the broker
 * acknowledged (one pipelined round of SETs). The younger ones stay in
 * flight meanwhile. */
static void settle_oldest(resub_t *r, size_t k)
{
	static const char *dl_ids[FLY_MAX], *task_ids[FLY_MAX];
	int64_t deadline = drv_mono_ms() + r->cfg->kafka.connect_timeout_ms;
	size_t acked = 0;
	char err[512];

	if (k > r->fly_cnt)
		k = r->fly_cnt;
	for (size_t i = 0; i < k; i++) {
		inflight_t *f = &r->fly[(r->fly_head + i) % FLY_MAX];
		int64_t left = deadline - drv_mono_ms();

		if (drv_kafka_wait(r->rk, &f->dr, f->topic, left > 0 ? left : 1,
				   err, sizeof(err))) {
			fprintf(stderr, "droverctl: dlq resubmit: %s: %s\n",
				f->dl_id, err);
			r->failed++;
			continue;
		}
		dl_ids[acked] = f->dl_id;
		task_ids[acked++] = f->task_id;
		drv_strlcpy(r->last_id, f->task_id, sizeof(r->last_id));
	}
	r->fly_head = (r->fly_head + k) % FLY_MAX;
	r->fly_cnt -= k;
	if (acked && !r->err &&
	    (r->err = drv_dlq_marks_set(r->rc, r->cfg, dl_ids, task_ids, acked,
				    r->errstr, sizeof(r->errstr)))) {
		/* sent but not marked: a rerun sends the same task ids with
		 * the same idempotency keys; say so */
		fprintf(stderr, "droverctl: dlq resubmit: %zu tasks were sent "
			"but their marks could not be written; a rerun sends "
			"them again under the same ids and idempotency keys\n",
			acked);
		return;
	}
	r->sent += acked;
}

/* Wait for everything in flight and mark it. */
static void settle(resub_t *r)
{
	settle_oldest(r, r->fly_cnt);
}

/* Check the marks of pending[0..n) and produce the unmarked ones without
 * waiting; settle() collects the acknowledgements once FLY_MAX are in
 * flight, so several batches overlap with the broker's latency. */
static void flush(resub_t *r, pending_t *pv, size_t n)
{
	static char marks[DRV_DLQ_MARK_BATCH][DRV_ID_LEN + 1];
	const char *dl_ids[DRV_DLQ_MARK_BATCH];
	int64_t now = drv_now_ms();
	char err[512];

	if (n == 0 || r->err)
		return;
	if (r->fly_cnt + n > FLY_MAX)
		settle_oldest(r, r->fly_cnt + n - FLY_MAX);
	for (size_t i = 0; i < n; i++)
		dl_ids[i] = pv[i].dl_id;
	if (r->force)
		memset(marks, 0, sizeof(marks));
	else if ((r->err = drv_dlq_marks_get(r->rc, r->cfg, dl_ids, n, marks,
					 r->errstr, sizeof(r->errstr))))
		return;
	for (size_t i = 0; i < n; i++) {
		pending_t *p = &pv[i];
		inflight_t *f;

		if (marks[i][0]) {
			r->already++;
			continue;
		}
		drv_task_route(r->cfg, &p->task, now, p->topic,
			       sizeof(p->topic));
		if (r->dry_run) {
			print_dry(p);
			r->sent++;
			continue;
		}
		f = &r->fly[(r->fly_head + r->fly_cnt) % FLY_MAX];
		memset(&f->dr, 0, sizeof(f->dr));
		if (drv_task_produce(r->rk, &p->task, p->topic, &f->dr, err,
				     sizeof(err))) {
			fprintf(stderr, "droverctl: dlq resubmit: %s: %s\n",
				p->dl_id, err);
			r->failed++;
			continue;
		}
		drv_strlcpy(f->dl_id, p->dl_id, sizeof(f->dl_id));
		drv_strlcpy(f->task_id, p->task.id, sizeof(f->task_id));
		drv_strlcpy(f->topic, p->topic, sizeof(f->topic));
		r->fly_cnt++;
	}
	if (r->rk)
		rd_kafka_poll(r->rk, 0);
}

static void release_batch(resub_t *r)
{
	for (size_t i = 0; i < r->batch_cnt; i++)
		drv_task_release(&r->batch[i].task);
	r->batch_cnt = 0;
}

static void flush_batch(resub_t *r)
{
	for (size_t i = 0; i < r->batch_cnt && !r->err; i += DRV_DLQ_MARK_BATCH) {
		size_t n = r->batch_cnt - i;

		flush(r, r->batch + i, n > DRV_DLQ_MARK_BATCH ? DRV_DLQ_MARK_BATCH : n);
	}
	release_batch(r);
}

/* --rate: wait until the next entry is due. */
static void pace(resub_t *r)
{
	int64_t due, now;
	struct timespec ts;

	if (r->rate <= 0)
		return;
	due = r->start_ms + (int64_t)((double)(r->sent + r->already +
					       r->fly_cnt + r->batch_cnt) *
					      1000.0 / r->rate);
	if ((now = drv_mono_ms()) >= due)
		return;
	flush_batch(r); /* nothing waits unsent while we sleep */
	settle(r);
	ts.tv_sec = (due - now) / 1000;
	ts.tv_nsec = (long)((due - now) % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static bool wanted(resub_t *r, const drv_dlq_entry_t *e)
{
	bool hit = false;

	if (r->all)
		return drv_dlq_filter_match(&r->f, e);
	for (size_t i = 0; i < r->id_cnt; i++)
		if (!e->undecodable && (!strcmp(e->dl.id, r->ids[i]) ||
					!strcmp(e->dl.task.id, r->ids[i]))) {
			r->id_found[i] = true;
			hit = true;
		}
	return hit;
}

static bool visit(const drv_dlq_entry_t *e, void *arg)
{
	resub_t *r = arg;
	pending_t *p;
	char err[512];

	if (got_signal) {
		r->interrupted = true;
		return false;
	}
	if (!wanted(r, e))
		return true;
	r->matched++;
	if (e->undecodable) {
		r->undecodable++;
		return true;
	}
	if (r->max && r->sent + r->fly_cnt + r->batch_cnt >= (size_t)r->max) {
		flush_batch(r);
		settle(r);
		if (r->err || r->sent >= (size_t)r->max)
			return false;
	}
	if (r->all)
		pace(r);
	if (r->retry && r->batch_cnt) {
		/* a task dead-lettered more than once: the newest wins */
		if (e->dl.dead_ms < r->retry_dead_ms)
			return true;
		release_batch(r);
	}
	r->retry_dead_ms = e->dl.dead_ms;
	if (r->batch_cnt == r->batch_cap) {
		size_t cap = r->batch_cap ? r->batch_cap * 2 : 64;
		pending_t *nb = realloc(r->batch, cap * sizeof(*nb));

		if (!nb) {
			r->err = drv_error(r->errstr, sizeof(r->errstr),
					   DRV_ERR_NOMEM, "out of memory");
			return false;
		}
		r->batch = nb;
		r->batch_cap = cap;
	}
	p = &r->batch[r->batch_cnt];
	memset(p, 0, sizeof(*p));
	drv_task_init(&p->task);
	drv_strlcpy(p->dl_id, e->dl.id, sizeof(p->dl_id));
	if (build(r, &e->dl, &p->task, err, sizeof(err))) {
		fprintf(stderr, "droverctl: dlq resubmit: %s: cannot resubmit: "
			"%s\n", e->dl.id, err);
		drv_task_release(&p->task);
		r->build_failed++;
		return true;
	}
	r->batch_cnt++;
	/* with --all, send in batches as the read goes; with IDs, keep all
	 * until every ID was found, so an unknown ID sends nothing */
	if (r->all && r->batch_cnt >= DRV_DLQ_MARK_BATCH)
		flush_batch(r);
	if (got_signal)
		r->interrupted = true;
	return !r->err && !r->interrupted;
}

/* ---- the command --------------------------------------------------------- */

static int parse(resub_t *r, int argc, char **argv)
{
	static const struct option opts[] = {
		DLQ_FILTER_OPTIONS,
		{ "all",            no_argument,       NULL, 'a' },
		{ "set",            required_argument, NULL, 'e' },
		{ "priority",       required_argument, NULL, 'P' },
		{ "policy",         required_argument, NULL, 'y' },
		{ "max-attempts",   required_argument, NULL, 'm' },
		{ "reset-attempts", no_argument,       NULL, 'R' },
		{ "max",            required_argument, NULL, 'x' },
		{ "rate",           required_argument, NULL, 't' },
		{ "dry-run",        no_argument,       NULL, 'd' },
		{ "force",          no_argument,       NULL, 'F' },
		{ "json",           no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const ctl_cmd_t *cmd = r->cmd;
	int64_t now = drv_now_ms();
	bool filtered = false;
	char err[512], *text, *end;
	size_t len;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((rc = ctl_dlq_filter_option(cmd, &r->f, c, optarg, now)) >= 0) {
			if (rc != CTL_EXIT_OK)
				return rc;
			filtered = true;
			continue;
		}
		switch (c) {
		case 'a':
			r->all = true;
			break;
		case 'e':
			if (!(text = ctl_read_arg(optarg, &len, err,
						  sizeof(err))))
				return ctl_usage_error(cmd, "--set: %s", err);
			rc = drv_patch_add(&r->patch, text, err, sizeof(err));
			free(text);
			if (rc)
				return ctl_usage_error(cmd, "%s", err);
			break;
		case 'P':
			if (drv_parse_int(optarg, DRV_PRIORITY_MIN,
					  DRV_PRIORITY_MAX, &r->priority))
				return ctl_usage_error(cmd, "--priority must be "
						       "1..10, got '%s'", optarg);
			break;
		case 'y':
			if (r->cfg->policy_cnt &&
			    !drv_config_policy(r->cfg, optarg))
				return ctl_usage_error(cmd, "--policy: no "
						       "policy '%s' in the "
						       "config", optarg);
			r->policy = optarg;
			break;
		case 'm':
			if (drv_parse_int(optarg, 1, 1000, &r->max_attempts))
				return ctl_usage_error(cmd, "--max-attempts must "
						       "be 1..1000, got '%s'",
						       optarg);
			break;
		case 'R':
			r->reset = true;
			break;
		case 'x':
			if (drv_parse_int(optarg, 1, INT64_MAX, &r->max))
				return ctl_usage_error(cmd, "--max must be a "
						       "count >= 1, got '%s'",
						       optarg);
			break;
		case 't':
			r->rate = strtod(optarg, &end);
			if (end == optarg || (*end && strcmp(end, "/s")) ||
			    !(r->rate > 0 && r->rate <= 1e7))
				return ctl_usage_error(cmd, "--rate wants N/s "
						       "with N > 0, got '%s'",
						       optarg);
			break;
		case 'd':
			r->dry_run = true;
			break;
		case 'F':
			r->force = true;
			break;
		case 'j':
			r->json = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if ((rc = ctl_dlq_filter_check(cmd, &r->f)))
		return rc;
	r->ids = argv + optind;
	r->id_cnt = (size_t)(argc - optind);
	if (r->retry) {
		if (r->all || filtered || r->force || r->max || r->rate)
			return ctl_usage_error(cmd, "options of 'dlq resubmit' "
					       "only: --all, filters, --force, "
					       "--max, --rate");
		if (r->id_cnt != 1)
			return ctl_usage_error(cmd, r->id_cnt ? "one task ID "
					       "only" : "missing task ID");
		r->force = true;
		r->reset = true;
	}
	if (r->all && r->id_cnt)
		return ctl_usage_error(cmd, "give IDs or --all, not both");
	if (!r->all && !r->id_cnt)
		return ctl_usage_error(cmd, "which dead letters? Give IDs or "
				       "--all [filters]");
	if (filtered && !r->all)
		return ctl_usage_error(cmd, "filters only go with --all");
	for (size_t i = 0; i < r->id_cnt; i++)
		if (!drv_id_valid(r->ids[i]))
			return ctl_usage_error(cmd, "'%s' is not a dead letter "
					       "or task id (26 characters of "
					       "Crockford base32)", r->ids[i]);
	return CTL_EXIT_OK;
}

/* What the run did, for the audit record: the command line as the filter,
 * and the options. */
static char *audit_details(const resub_t *r, int argc, char **argv)
{
	char *patch = drv_patch_json(&r->patch), *s;
	json_t *args = json_array(), *o;

	for (int i = 1; args && i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:b, s:b, s:b}",
		      "args", args ? args : json_null(),
		      "matched", (json_int_t)r->matched,
		      "already_resubmitted", (json_int_t)r->already,
		      "failed", (json_int_t)(r->failed + r->build_failed),
		      "undecodable", (json_int_t)r->undecodable,
		      "force", r->force, "reset_attempts", r->reset,
		      "interrupted", r->interrupted);
	if (o && patch)
		json_object_set_new(o, "set", json_loads(patch, 0, NULL));
	free(patch);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* One audit record of the run: \p result "started" before anything is
 * sent (so a run killed with SIGKILL is on the trail too), then how it
 * ended. */
static int audit(resub_t *r, int argc, char **argv, const char *result)
{
	char target[600] = "", *details;
	size_t off = 0;
	int rc;

	if (r->all)
		drv_strlcpy(target, "--all", sizeof(target));
	/* the IDs, comma-separated, as many as fit */
	for (size_t i = 0; i < r->id_cnt && off + DRV_ID_LEN + 2 <
	     sizeof(target); i++) {
		if (i)
			target[off++] = ',';
		off += drv_strlcpy(target + off, r->ids[i],
				   sizeof(target) - off);
	}
	details = audit_details(r, argc, argv);
	rc = ctl_audit(r->cfg, r->rk, r->retry ? "task.retry" : "dlq.resubmit",
		       target, r->sent, details, result);
	free(details);
	return rc;
}

static int finish(resub_t *r, int argc, char **argv, drv_err_t read_rc,
		  const char *read_err)
{
	char result[600];
	int rc = CTL_EXIT_OK;

	if (read_rc) {
		drv_fmt(result, sizeof(result), "%s", read_err);
		rc = CTL_EXIT_FAILED;
	} else if (r->err) {
		drv_fmt(result, sizeof(result), "%s", r->errstr);
		rc = CTL_EXIT_FAILED;
	} else if (r->interrupted) {
		drv_fmt(result, sizeof(result), "interrupted");
		rc = CTL_EXIT_FAILED;
	} else if (r->failed || r->build_failed) {
		drv_fmt(result, sizeof(result), "%zu failed",
			r->failed + r->build_failed);
		rc = CTL_EXIT_FAILED;
	} else
		drv_fmt(result, sizeof(result), "ok");
	fprintf(stderr, "droverctl: dlq resubmit: %s%zu %s, %zu already "
		"resubmitted (skipped), %zu undecodable, %zu failed (of %zu "
		"matching)%s\n", r->dry_run ? "dry run: " : "", r->sent,
		r->dry_run ? "would be resubmitted" : "resubmitted", r->already,
		r->undecodable, r->failed + r->build_failed, r->matched,
		r->interrupted ? "; interrupted: run it again to finish" : "");
	if (rc && strcmp(result, "interrupted") &&
	    !strstr(result, "failed"))
		fprintf(stderr, "droverctl: dlq resubmit: %s\n", result);
	if (r->retry && !r->dry_run && r->sent == 1)
		printf("%s\n", r->last_id);
	if (r->json && !r->dry_run)
		ctl_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:b}",
			"resubmitted", (json_int_t)r->sent,
			"already_resubmitted", (json_int_t)r->already,
			"undecodable", (json_int_t)r->undecodable,
			"failed", (json_int_t)(r->failed + r->build_failed),
			"matched", (json_int_t)r->matched,
			"interrupted", r->interrupted));
	if (r->dry_run || !r->rk || !r->audited_start)
		return rc;
	if (audit(r, argc, argv, result) != CTL_EXIT_OK)
		rc = CTL_EXIT_FAILED;
	return rc;
}

/* A producer for many small tasks at once: bigger batches than the
 * default, so thousands in flight take few requests. */
static rd_kafka_t *bulk_producer(const drv_config_t *cfg, char *errstr,
				 size_t errstr_size)
{
	rd_kafka_conf_t *conf = drv_kafka_conf_new(cfg, NULL, errstr,
						   errstr_size);
	char rderr[256];
	rd_kafka_t *rk;

	if (!conf)
		return NULL;
	if (rd_kafka_conf_set(conf, "linger.ms", "20", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "batch.size", "4000000", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr,
				sizeof(rderr)))) {
		rd_kafka_conf_destroy(conf);
		drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
			  "cannot create Kafka producer: %s", rderr);
		return NULL;
	}
	return rk;
}

static int run_resubmit(const ctl_cmd_t *cmd, drv_config_t *cfg,
			int argc, char **argv)
{
	struct sigaction sa = { 0 }, old_int, old_term;
	resub_t r = { 0 };
	char err[512];
	drv_err_t rc = DRV_OK;
	int urc;

	r.cmd = cmd;
	r.cfg = cfg;
	r.retry = !strcmp(cmd->group, "task");
	drv_patch_init(&r.patch);
	if ((urc = parse(&r, argc, argv))) {
		drv_patch_release(&r.patch);
		return urc;
	}
	if ((!r.all && !(r.id_found = calloc(r.id_cnt, sizeof(bool)))) ||
	    !(r.fly = calloc(FLY_MAX, sizeof(*r.fly)))) {
		free(r.id_found);
		drv_patch_release(&r.patch);
		return ctl_fail("out of memory");
	}
	/* no marks, no resubmission: the marks are what makes it safe */
	if ((rc = drv_redis_connect(cfg, &r.rc, err, sizeof(err)))) {
		urc = ctl_fail("dlq resubmit: %s (the resubmission marks live "
			       "in Redis; nothing was sent)", err);
		goto out;
	}
	if (!r.dry_run && !(r.rk = bulk_producer(cfg, err, sizeof(err)))) {
		urc = ctl_fail("dlq resubmit: %s", err);
		goto out;
	}
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	r.start_ms = drv_mono_ms();
	if (r.all && !r.dry_run) {
		if (audit(&r, argc, argv, "started")) {
			urc = CTL_EXIT_FAILED;
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
			goto out;
		}
		r.audited_start = true;
	}
	rc = drv_dlq_read(cfg, visit, &r, NULL, err, sizeof(err));
	if (!rc && !r.all && !r.err) {
		size_t missing = 0;

		for (size_t i = 0; i < r.id_cnt; i++)
			if (!r.id_found[i]) {
				fprintf(stderr, "droverctl: %s %s: %s not "
					"found in the DLQ%s\n", cmd->group,
					cmd->name, r.ids[i], r.retry ? " (only "
					"a dead task can be retried; a failing "
					"one is retried by its policy)" : "");
				missing++;
			}
		if (missing || r.build_failed || r.undecodable) {
			release_batch(&r);
			urc = ctl_fail("dlq resubmit: nothing sent");
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
			goto out;
		}
	}
	if (!rc && !r.interrupted && !r.all && !r.dry_run) {
		if (audit(&r, argc, argv, "started")) {
			release_batch(&r);
			urc = CTL_EXIT_FAILED;
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
			goto out;
		}
		r.audited_start = true;
	}
	if (!rc && !r.interrupted)
		flush_batch(&r);
	else
		release_batch(&r);
	settle(&r);  /* what was produced is marked, interrupted or not */
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	urc = finish(&r, argc, argv, rc, err);
out:
	if (r.rk) {
		rd_kafka_flush(r.rk, 2000);
		rd_kafka_destroy(r.rk);
	}
	if (r.rc)
		redisFree(r.rc);
	free(r.batch);
	free(r.fly);
	free(r.id_found);
	drv_patch_release(&r.patch);
	return urc;
}

const ctl_cmd_t ctl_dlq_resubmit_cmds[] = {
	{ "dlq", "resubmit",
	  "ID... | --all [filters] [--set PATCH]... [--priority N] "
	  "[--policy NAME] [--max-attempts N] [--reset-attempts] [--max N] "
	  "[--rate N/s] [--dry-run] [--force] [--json]",
	  "put dead letters back on the task topics, each at most once",
	  "  ID...                 dead letter ids or task ids (an unknown ID "
	  "sends nothing)\n"
	  "  --all                 every dead letter matching the filters:\n"
	  DLQ_FILTER_HELP
	  "  --set PATCH           change the payload: a JSON merge patch\n"
	  "                        ('{\"a\":1}', @FILE) or KEY.PATH=VALUE "
	  "(VALUE is\n"
	  "                        JSON when it parses, else a string; null "
	  "removes);\n"
	  "                        repeatable, applied in order\n"
	  "  --priority N          new priority 1..10\n"
	  "  --policy NAME         new retry policy\n"
	  "  --max-attempts N      new attempt limit 1..1000\n"
	  "  --reset-attempts      start again at attempt 1 with no failure "
	  "history\n"
	  "  --max N               resubmit at most N\n"
	  "  --rate N/s            at most N per second\n"
	  "  --dry-run             print each task that would be sent (JSON "
	  "lines), send nothing\n"
	  "  --force               resubmit also what was resubmitted before\n"
	  "  --json                print the counts as one JSON object\n"
	  "An entry is resubmitted at most once: its mark is written in Redis "
	  "after\nKafka acknowledged the new task, so an interrupted run can "
	  "simply be run\nagain. Exit 1 when anything failed or the run was "
	  "interrupted.\n"
	  "Example:\n"
	  "  droverctl dlq resubmit --all --handler resize --reason "
	  "permanent_failure \\\n"
	  "      --set '{\"quality\":80}' --reset-attempts --rate 500/s\n",
	  true, run_resubmit },
	{ "task", "retry",
	  "ID [--set PATCH]... [--priority N] [--policy NAME] "
	  "[--max-attempts N] [--dry-run] [--json]",
	  "run a dead task again, from its newest dead letter, maybe patched",
	  "  --set PATCH           change the payload (as 'dlq resubmit "
	  "--set')\n"
	  "  --priority N          new priority 1..10\n"
	  "  --policy NAME         new retry policy\n"
	  "  --max-attempts N      new attempt limit 1..1000\n"
	  "  --dry-run             print the task that would be sent\n"
	  "  --json                print the counts as one JSON object\n"
	  "A new task (new id, attempts reset, linked to the dead letter) is "
	  "sent\neven if the dead letter was resubmitted before; its id is "
	  "printed.\n"
	  "Example:\n"
	  "  droverctl task retry 01HZY3K4M5N6P7Q8R9S0T1V2W3 --set "
	  "'{\"dry_run\":false}'\n",
	  true, run_resubmit },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
