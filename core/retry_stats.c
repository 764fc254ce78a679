/*
 * retry_stats.c — retry analytics per handler (see
 * include/drover/retry_stats.h for the keys and fields): the counter
 * names, what one task state record adds to them (the writer in state.c
 * calls this), and the read that sums a time range of minutes for the API
 * and droverctl.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/retry_stats.h"
#include "drover/str.h"

/** HGETALLs in one pipeline of a read. */
#define READ_CHUNK 512
/** Most minutes one read takes: 14 days, and a day of steps around. */
#define READ_MINUTES_MAX ((DRV_STATS_RANGE_MAX + 24LL * 3600 * 1000) / \
			  DRV_STATS_BUCKET_MS + 1)

static const int64_t hist_bounds[DRV_STATS_HIST_CNT - 1] =
	DRV_STATS_HIST_BOUNDS;

static const char *const field_names[DRV_STATS_FIELD_CNT] = {
	[DRV_STATS_ATTEMPTS] = "attempts",
	[DRV_STATS_SKIPPED] = "skipped",
	[DRV_STATS_CANCELLED] = "cancelled",
	[DRV_STATS_OK + 0] = "ok:1", [DRV_STATS_OK + 1] = "ok:2",
	[DRV_STATS_OK + 2] = "ok:3", [DRV_STATS_OK + 3] = "ok:4",
	[DRV_STATS_OK + 4] = "ok:5", [DRV_STATS_OK + 5] = "ok:6",
	[DRV_STATS_OK + 6] = "ok:7", [DRV_STATS_OK + 7] = "ok:8",
	[DRV_STATS_OK + 8] = "ok:9+",
	[DRV_STATS_DEAD + 0] = "dead:0", [DRV_STATS_DEAD + 1] = "dead:1",
	[DRV_STATS_DEAD + 2] = "dead:2", [DRV_STATS_DEAD + 3] = "dead:3",
	[DRV_STATS_DEAD + 4] = "dead:4", [DRV_STATS_DEAD + 5] = "dead:5",
	[DRV_STATS_DEAD + 6] = "dead:6", [DRV_STATS_DEAD + 7] = "dead:7",
	[DRV_STATS_DEAD + 8] = "dead:8", [DRV_STATS_DEAD + 9] = "dead:9+",
	[DRV_STATS_FAIL + 0] = "fail:transient",
	[DRV_STATS_FAIL + 1] = "fail:permanent",
	[DRV_STATS_FAIL + 2] = "fail:timeout",
	[DRV_STATS_FAIL + 3] = "fail:crashed",
	[DRV_STATS_FAIL + 4] = "fail:throttled",
	[DRV_STATS_LATE_SUM] = "late_sum_ms", [DRV_STATS_LATE_CNT] = "late_cnt",
	[DRV_STATS_LATE_HIST + 0] = "late:le10",
	[DRV_STATS_LATE_HIST + 1] = "late:le50",
	[DRV_STATS_LATE_HIST + 2] = "late:le100",
	[DRV_STATS_LATE_HIST + 3] = "late:le250",
	[DRV_STATS_LATE_HIST + 4] = "late:le500",
	[DRV_STATS_LATE_HIST + 5] = "late:le1000",
	[DRV_STATS_LATE_HIST + 6] = "late:le2500",
	[DRV_STATS_LATE_HIST + 7] = "late:le5000",
	[DRV_STATS_LATE_HIST + 8] = "late:le10000",
	[DRV_STATS_LATE_HIST + 9] = "late:le30000",
	[DRV_STATS_LATE_HIST + 10] = "late:le60000",
	[DRV_STATS_LATE_HIST + 11] = "late:le300000",
	[DRV_STATS_LATE_HIST + 12] = "late:le1800000",
	[DRV_STATS_LATE_HIST + 13] = "late:inf",
	[DRV_STATS_DUR_SUM] = "dur_sum_ms", [DRV_STATS_DUR_CNT] = "dur_cnt",
	[DRV_STATS_DUR_HIST + 0] = "dur:le10",
	[DRV_STATS_DUR_HIST + 1] = "dur:le50",
	[DRV_STATS_DUR_HIST + 2] = "dur:le100",
	[DRV_STATS_DUR_HIST + 3] = "dur:le250",
	[DRV_STATS_DUR_HIST + 4] = "dur:le500",
	[DRV_STATS_DUR_HIST + 5] = "dur:le1000",
	[DRV_STATS_DUR_HIST + 6] = "dur:le2500",
	[DRV_STATS_DUR_HIST + 7] = "dur:le5000",
	[DRV_STATS_DUR_HIST + 8] = "dur:le10000",
	[DRV_STATS_DUR_HIST + 9] = "dur:le30000",
	[DRV_STATS_DUR_HIST + 10] = "dur:le60000",
	[DRV_STATS_DUR_HIST + 11] = "dur:le300000",
	[DRV_STATS_DUR_HIST + 12] = "dur:le1800000",
	[DRV_STATS_DUR_HIST + 13] = "dur:inf",
	[DRV_STATS_WAIT_SUM] = "wait_sum_ms", [DRV_STATS_WAIT_CNT] = "wait_cnt",
	[DRV_STATS_WAIT_HIST + 0] = "wait:le10",
	[DRV_STATS_WAIT_HIST + 1] = "wait:le50",
	[DRV_STATS_WAIT_HIST + 2] = "wait:le100",
	[DRV_STATS_WAIT_HIST + 3] = "wait:le250",
	[DRV_STATS_WAIT_HIST + 4] = "wait:le500",
	[DRV_STATS_WAIT_HIST + 5] = "wait:le1000",
	[DRV_STATS_WAIT_HIST + 6] = "wait:le2500",
	[DRV_STATS_WAIT_HIST + 7] = "wait:le5000",
	[DRV_STATS_WAIT_HIST + 8] = "wait:le10000",
	[DRV_STATS_WAIT_HIST + 9] = "wait:le30000",
	[DRV_STATS_WAIT_HIST + 10] = "wait:le60000",
	[DRV_STATS_WAIT_HIST + 11] = "wait:le300000",
	[DRV_STATS_WAIT_HIST + 12] = "wait:le1800000",
	[DRV_STATS_WAIT_HIST + 13] = "wait:inf",
};

/* The JSON keys of the attempt numbers: "1".."8", "9+" (dead from "0"). */
static const char *const attempt_keys[DRV_STATS_ATTEMPT_MAX + 1] = {
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9+"
};

const char *drv_stats_field_name(int f)
{
	return f >= 0 && f < DRV_STATS_FIELD_CNT ? field_names[f] : NULL;
}

int drv_stats_field_parse(const char *name)
{
	for (int f = 0; f < DRV_STATS_FIELD_CNT; f++)
		if (!strcmp(name, field_names[f]))
			return f;
	return -1;
}

int drv_stats_hist_bucket(int64_t ms)
{
	int b = 0;

	while (b < DRV_STATS_HIST_CNT - 1 && ms > hist_bounds[b])
		b++;
	return b;
}

static int attempt_slot(uint32_t n)
{
	return n > DRV_STATS_ATTEMPT_MAX ? DRV_STATS_ATTEMPT_MAX : (int)n;
}

bool drv_stats_count_rec(drv_stats_counts_t *c, const drv_state_rec_t *rec)
{
	int64_t *v = c->v;

	switch (rec->state) {
	case DRV_TASK_SKIPPED:
		v[DRV_STATS_SKIPPED]++;
		return true;
	case DRV_TASK_CANCELLED:
		v[DRV_STATS_CANCELLED]++;
		return true;
	case DRV_TASK_SUCCEEDED:
		v[DRV_STATS_OK + attempt_slot(rec->attempt ? rec->attempt : 1)
		  - 1]++;
		break;
	case DRV_TASK_DEAD:
		v[DRV_STATS_DEAD + attempt_slot(rec->attempt)]++;
		break;
	case DRV_TASK_RETRYING:
		break;
	default:
		return false;
	}
	/* a dead record without a failure class ran no attempt (no such
	 * handler, past its deadline): every failed attempt has a class */
	if (rec->state == DRV_TASK_DEAD &&
	    rec->failure_class == DRV_FAILURE_UNSPECIFIED)
		return true;
	v[DRV_STATS_ATTEMPTS]++;
	if (rec->failure_class > DRV_FAILURE_UNSPECIFIED &&
	    rec->failure_class < DRV_FAILURE_CLASS_CNT)
		v[DRV_STATS_FAIL + rec->failure_class - 1]++;
	if (rec->started_ms && rec->finished_ms >= rec->started_ms) {
		int64_t d = rec->finished_ms - rec->started_ms;

		v[DRV_STATS_DUR_SUM] += d;
		v[DRV_STATS_DUR_CNT]++;
		v[DRV_STATS_DUR_HIST + drv_stats_hist_bucket(d)]++;
	}
	if (rec->attempt > 1 && rec->planned_ms && rec->started_ms) {
		int64_t late = rec->started_ms - rec->planned_ms;

		late = late < 0 ? 0 : late;
		v[DRV_STATS_LATE_SUM] += late;
		v[DRV_STATS_LATE_CNT]++;
		v[DRV_STATS_LATE_HIST + drv_stats_hist_bucket(late)]++;
	}
	if (rec->attempt == 1 && rec->created_ms && rec->started_ms) {
		int64_t from = rec->planned_ms > rec->created_ms ?
			       rec->planned_ms : rec->created_ms;
		int64_t wait = rec->started_ms - from;

		wait = wait < 0 ? 0 : wait;
		v[DRV_STATS_WAIT_SUM] += wait;
		v[DRV_STATS_WAIT_CNT]++;
		v[DRV_STATS_WAIT_HIST + drv_stats_hist_bucket(wait)]++;
	}
	return true;
}

int64_t drv_stats_quantile(const int64_t *hist, double q)
{
	int64_t total = 0, seen = 0, rank;

	for (int b = 0; b < DRV_STATS_HIST_CNT; b++)
		total += hist[b];
	if (total <= 0)
		return 0;
	rank = (int64_t)ceil(q * (double)total);
	rank = rank < 1 ? 1 : rank;
	for (int b = 0; b < DRV_STATS_HIST_CNT - 1; b++) {
		seen += hist[b];
		if (seen >= rank)
			return hist_bounds[b];
	}
	return hist_bounds[DRV_STATS_HIST_CNT - 2];
}

double drv_stats_quantile_interp(const int64_t *hist, double q)
{
	int64_t total = 0, seen = 0;
	double rank;

	for (int b = 0; b < DRV_STATS_HIST_CNT; b++)
		total += hist[b];
	if (total <= 0)
		return 0;
	q = q < 0 ? 0 : q > 1 ? 1 : q;
	rank = q * (double)total;
	for (int b = 0; b < DRV_STATS_HIST_CNT - 1; b++) {
		double lo = b ? (double)hist_bounds[b - 1] : 0,
		       hi = (double)hist_bounds[b];

		if (hist[b] > 0 && (double)(seen + hist[b]) >= rank)
			return lo + (hi - lo) * ((rank - (double)seen) /
						 (double)hist[b]);
		seen += hist[b];
	}
	return (double)hist_bounds[DRV_STATS_HIST_CNT - 2];
}

void drv_stats_key(char *buf, size_t size, const char *prefix,
		   drv_stats_scope_t scope, const char *name, int64_t minute)
{
	drv_fmt(buf, size, "%sstats:%s:%s:%lld", prefix,
		scope == DRV_STATS_BAND ? "b" : "h", name, (long long)minute);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/* Add one HGETALL reply to \p out; fields drover does not know are
 * skipped. */
static void add_hash(drv_stats_counts_t *out, const redisReply *r)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		int64_t n;
		int f;

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    (f = drv_stats_field_parse(k->str)) < 0 ||
		    drv_parse_int(v->str, INT64_MIN, INT64_MAX, &n))
			continue;
		out->v[f] += n;
	}
}

void drv_retry_stats_range(int64_t *since, int64_t *until, int64_t now_ms)
{
	if (!*until)
		*until = now_ms;
	if (!*since)
		*since = *until - DRV_STATS_RANGE_DEFAULT;
	if (*since < *until - DRV_STATS_RANGE_MAX)
		*since = *until - DRV_STATS_RANGE_MAX;
}

drv_err_t drv_stats_read_steps(redisContext *c, const char *key_prefix,
			       drv_stats_scope_t scope, const char *name,
			       int64_t first_minute, int64_t minutes,
			       int64_t step_minutes, drv_stats_counts_t *out,
			       char *errstr, size_t errstr_size)
{
	size_t klen = strlen(key_prefix) + strlen(name) + 32;
	int64_t last = first_minute + minutes - 1;
	char *key;

	if (minutes <= 0 || step_minutes <= 0)
		return DRV_OK;
	if (minutes > READ_MINUTES_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "a read spans at most 15 days of minutes");
	if (!(key = malloc(klen)))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (int64_t m = first_minute; m <= last; m += READ_CHUNK) {
		int64_t end = m + READ_CHUNK - 1 < last ? m + READ_CHUNK - 1
			      : last;

		for (int64_t k = m; k <= end; k++) {
			drv_stats_key(key, klen, key_prefix, scope, name, k);
			redisAppendCommand(c, "HGETALL %s", key);
		}
		for (int64_t k = m; k <= end; k++) {
			redisReply *r = NULL;

			if (redisGetReply(c, (void **)&r) != REDIS_OK) {
				free(key);
				return drv_error(errstr, errstr_size,
						 drv_redis_err(c), "redis: %s",
						 c->errstr);
			}
			if (r->type == REDIS_REPLY_ARRAY)
				add_hash(&out[(k - first_minute) /
					      step_minutes], r);
			freeReplyObject(r);
		}
	}
	free(key);
	return DRV_OK;
}

drv_err_t drv_retry_stats_read(redisContext *c, const char *key_prefix,
			       const char *handler, int64_t since_ms,
			       int64_t until_ms, drv_stats_counts_t *out,
			       char *errstr, size_t errstr_size)
{
	int64_t first = since_ms / DRV_STATS_BUCKET_MS,
		last = until_ms / DRV_STATS_BUCKET_MS;

	memset(out, 0, sizeof(*out));
	if (until_ms < since_ms)
		return DRV_OK;
	if (until_ms - since_ms > DRV_STATS_RANGE_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "a range spans at most 14 days");
	return drv_stats_read_steps(c, key_prefix, DRV_STATS_HANDLER, handler,
				    first, last - first + 1,
				    last - first + 1, out, errstr,
				    errstr_size);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

/* {count, mean, p50, p95, p99} of a sum, a count and a histogram. */
static json_t *dist_json(const int64_t *v, int sum, int cnt, int hist)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}",
			 "count", (json_int_t)v[cnt],
			 "mean", (json_int_t)(v[cnt] ? v[sum] / v[cnt] : 0),
			 "p50", (json_int_t)drv_stats_quantile(v + hist, 0.5),
			 "p95", (json_int_t)drv_stats_quantile(v + hist, 0.95),
			 "p99", (json_int_t)drv_stats_quantile(v + hist, 0.99));
}

json_t *drv_retry_stats_json(const char *handler, const drv_stats_counts_t *s)
{
	const int64_t *v = s->v;
	json_t *ok = json_object(), *dead = json_object(),
	       *within = json_object(), *fail = json_object(), *o;
	int64_t succeeded = 0, died = 0, finished, cum = 0;

	for (int n = 0; n < DRV_STATS_ATTEMPT_MAX; n++)
		succeeded += v[DRV_STATS_OK + n];
	for (int n = 0; n <= DRV_STATS_ATTEMPT_MAX; n++)
		died += v[DRV_STATS_DEAD + n];
	finished = succeeded + died;
	for (int n = 0; n < DRV_STATS_ATTEMPT_MAX; n++) {
		const char *k = attempt_keys[n + 1];

		cum += v[DRV_STATS_OK + n];
		json_object_set_new(ok, k, json_integer(v[DRV_STATS_OK + n]));
		json_object_set_new(within, k, json_real(finished ?
				    (double)cum / (double)finished : 0.0));
	}
	for (int n = 0; n <= DRV_STATS_ATTEMPT_MAX; n++)
		json_object_set_new(dead, attempt_keys[n],
				    json_integer(v[DRV_STATS_DEAD + n]));
	for (int c = 1; c < DRV_FAILURE_CLASS_CNT; c++)
		json_object_set_new(fail, drv_failure_class_name(
				    (drv_failure_class_t)c),
				    json_integer(v[DRV_STATS_FAIL + c - 1]));
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, "
		      "s:o, s:o, s:o}",
		      "handler", handler,
		      "finished", (json_int_t)finished,
		      "succeeded", (json_int_t)succeeded,
		      "dead", (json_int_t)died,
		      "attempts", (json_int_t)v[DRV_STATS_ATTEMPTS],
		      "skipped", (json_int_t)v[DRV_STATS_SKIPPED],
		      "cancelled", (json_int_t)v[DRV_STATS_CANCELLED],
		      "succeeded_by_attempt", ok,
		      "dead_by_attempt", dead,
		      "success_within", within,
		      "failures", fail,
		      "lateness_ms", dist_json(v, DRV_STATS_LATE_SUM,
					       DRV_STATS_LATE_CNT,
					       DRV_STATS_LATE_HIST),
		      "duration_ms", dist_json(v, DRV_STATS_DUR_SUM,
					       DRV_STATS_DUR_CNT,
					       DRV_STATS_DUR_HIST));
	return o;
}

drv_err_t drv_retry_analytics(const drv_config_t *cfg, redisContext *c,
			      const char *handler, int64_t since_ms,
			      int64_t until_ms, json_t **out, char *errstr,
			      size_t errstr_size)
{
	json_t *list = json_array(), *o;
	size_t n = handler ? 1 : cfg->handler_cnt;

	if (!list)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *h = handler ? handler : cfg->handlers[i].name;
		drv_stats_counts_t s;
		drv_err_t rc;

		rc = drv_retry_stats_read(c, cfg->redis.key_prefix, h,
					  since_ms, until_ms, &s, errstr,
					  errstr_size);
		if (!rc && json_array_append_new(list,
						 drv_retry_stats_json(h, &s)))
			rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				       "out of memory");
		if (rc) {
			json_decref(list);
			return rc;
		}
	}
	o = json_pack("{s:I, s:I, s:o}", "since_ms", (json_int_t)since_ms,
		      "until_ms", (json_int_t)until_ms, "handlers", list);
	if (!o)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	*out = o;
	return DRV_OK;
}
