/*
 * dlq_job.c — the DLQ resubmission job's record in Redis (drover/dlq_job.h
 * has the keys): made with the DLQ's offsets snapshotted, read, listed
 * newest first, its failures paged, paused / resumed / cancelled with one
 * Lua script that changes a state only from the states allowed. The
 * runner is dlq_job_run.c; the spec is dlq_job_spec.c.
 *
 * The hash's fields: spec (JSON; its "kind" says resubmit or discard),
 * state, created_by, created_ms, started_ms, updated_ms, ended_ms, runner,
 * error, matched, sent (resubmitted, or discarded), already,
 * already_discarded, failed, undecodable, failures_total, lo, hi and
 * cursor (JSON arrays of one offset per DLQ partition).
 */
#include <stdlib.h>
#include <string.h>

#include "dlq_job_int.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

static const char *const state_names[DRV_DLQ_JOB_STATE_CNT] = {
	"pending", "running", "paused", "cancelled", "done", "failed",
};

const char *drv_dlq_job_state_name(drv_dlq_job_state_t s)
{
	return (unsigned)s < DRV_DLQ_JOB_STATE_CNT ? state_names[s] : "?";
}

int dlq_job_state_parse(const char *s)
{
	for (int i = 0; s && i < DRV_DLQ_JOB_STATE_CNT; i++)
		if (!strcmp(s, state_names[i]))
			return i;
	return -1;
}

void dlq_job_key(const drv_config_t *cfg, const char *id, const char *suffix,
		 char *buf, size_t size)
{
	drv_fmt(buf, size, "%sdlqjob:%s%s", cfg->redis.key_prefix, id, suffix);
}

static void index_key(const drv_config_t *cfg, char *buf, size_t size)
{
	drv_fmt(buf, size, "%sdlqjobs", cfg->redis.key_prefix);
}

void dlq_job_active_key(const drv_config_t *cfg, char *buf, size_t size)
{
	drv_fmt(buf, size, "%sdlqjobs:active", cfg->redis.key_prefix);
}

/* KEYS: the hash, the failures list, the lease, the active set. ARGV:
 * ",allowed,states,", the new state, now ms, "1" when the new state is
 * final, the expiry ms, the id, then field, value pairs. Returns the state
 * found ("" when there is no job) and 1 when it was changed. */
static const char move_lua[] =
	"local s = redis.call('HGET', KEYS[1], 'state') "
	"if not s then return {'', 0} end "
	"if not string.find(ARGV[1], ',' .. s .. ',', 1, true) then "
	"return {s, 0} end "
	"redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated_ms', ARGV[3]) "
	"for i = 7, #ARGV, 2 do "
	"redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end "
	"if ARGV[4] == '1' then "
	"redis.call('HSET', KEYS[1], 'ended_ms', ARGV[3]) "
	"for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end "
	"redis.call('DEL', KEYS[3]) redis.call('SREM', KEYS[4], ARGV[6]) end "
	"return {s, 1}";
static drv_redis_script_t move_script = DRV_REDIS_SCRIPT_INIT(move_lua);

static bool final(drv_dlq_job_state_t s)
{
	return s == DRV_DLQ_JOB_CANCELLED || s == DRV_DLQ_JOB_DONE ||
	       s == DRV_DLQ_JOB_FAILED;
}

drv_err_t dlq_job_move(const drv_config_t *cfg, redisContext *c,
		       const char *id, unsigned mask, drv_dlq_job_state_t to,
		       int64_t now_ms, const char **fields, int n, int *was,
		       char *errstr, size_t errstr_size)
{
	char k[4][256], allowed[128] = ",", now[32], keep[32];
	const char *argv[DRV_REDIS_SCRIPT_ARGS];
	redisReply *r;
	drv_err_t rc;
	int argc = 0;

	if (n < 0 || n % 2 || n > DRV_REDIS_SCRIPT_ARGS - 10)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "bad field count");
	dlq_job_key(cfg, id, "", k[0], sizeof(k[0]));
	dlq_job_key(cfg, id, ":failures", k[1], sizeof(k[1]));
	dlq_job_key(cfg, id, ":lease", k[2], sizeof(k[2]));
	dlq_job_active_key(cfg, k[3], sizeof(k[3]));
	for (int s = 0; s < DRV_DLQ_JOB_STATE_CNT; s++)
		if (mask & DLQ_JOB_BIT(s))
			drv_fmt(allowed + strlen(allowed),
				sizeof(allowed) - strlen(allowed), "%s,",
				state_names[s]);
	drv_fmt(now, sizeof(now), "%lld", (long long)now_ms);
	drv_fmt(keep, sizeof(keep), "%lld", (long long)DRV_DLQ_JOB_KEEP_MS);
	for (int i = 0; i < 4; i++)
		argv[argc++] = k[i];
	argv[argc++] = allowed;
	argv[argc++] = state_names[to];
	argv[argc++] = now;
	argv[argc++] = final(to) ? "1" : "0";
	argv[argc++] = keep;
	argv[argc++] = id;
	for (int i = 0; i < n; i++)
		argv[argc++] = fields[i];
	if ((rc = drv_redis_script_run(c, &move_script, 4, argc, argv, 2,
				       "job script", &r, errstr,
				       errstr_size)))
		return rc;
	*was = r->element[0]->type == REDIS_REPLY_STRING ?
	       dlq_job_state_parse(r->element[0]->str) : -1;
	if (*was >= 0 && drv_redis_int_at(r, 1) != 1 &&
	    (mask & DLQ_JOB_BIT(*was)))
		*was = -2;  /* cannot happen: refused though allowed */
	freeReplyObject(r);
	return DRV_OK;
}

/* ---- the record ----------------------------------------------------------- */

void drv_dlq_job_release(drv_dlq_job_t *j)
{
	json_decref(j->spec);
	free(j->lo);
	free(j->hi);
	free(j->cursor);
	memset(j, 0, sizeof(*j));
}

double drv_dlq_job_progress(const drv_dlq_job_t *j)
{
	int64_t total = 0, read = 0;

	for (size_t p = 0; p < j->part_cnt; p++) {
		int64_t next = j->cursor[p] < j->lo[p] ? j->lo[p] :
			       j->cursor[p] > j->hi[p] ? j->hi[p] :
			       j->cursor[p];

		total += j->hi[p] - j->lo[p];
		read += next - j->lo[p];
	}
	if (j->state == DRV_DLQ_JOB_DONE || total <= 0)
		return 1.0;  /* an empty snapshot has nothing left to read */
	return (double)read / (double)total;
}

json_t *drv_dlq_job_json(const drv_dlq_job_t *j)
{
	json_t *parts = json_array(), *o;
	int64_t total = 0, read = 0;
	bool discard = j->kind == DRV_DLQ_JOB_DISCARD;

	for (size_t p = 0; parts && p < j->part_cnt; p++) {
		total += j->hi[p] - j->lo[p];
		read += (j->cursor[p] > j->hi[p] ? j->hi[p] : j->cursor[p]) -
			j->lo[p];
		json_array_append_new(parts, json_pack("{s:I, s:I, s:I, s:I}",
			"partition", (json_int_t)p, "start",
			(json_int_t)j->lo[p], "end", (json_int_t)j->hi[p],
			"next", (json_int_t)j->cursor[p]));
	}
	o = json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:I, s:I, s:I, s:I, "
		      "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, "
		      "s:o}",
		      "id", j->id, "kind", drv_dlq_job_kind_name(j->kind),
		      "state", drv_dlq_job_state_name(j->state),
		      "spec", j->spec ? j->spec : json_null(),
		      "created_by", j->created_by, "runner", j->runner,
		      "created_ms", (json_int_t)j->created_ms,
		      "started_ms", (json_int_t)j->started_ms,
		      "updated_ms", (json_int_t)j->updated_ms,
		      "ended_ms", (json_int_t)j->ended_ms,
		      "matched", (json_int_t)j->counts.matched,
		      "resubmitted", (json_int_t)(discard ? 0 :
						  j->counts.sent),
		      "discarded", (json_int_t)(discard ? j->counts.sent : 0),
		      "already_resubmitted", (json_int_t)j->counts.already,
		      "already_discarded",
		      (json_int_t)j->counts.already_discarded,
		      "failed", (json_int_t)j->counts.failed,
		      "undecodable", (json_int_t)j->counts.undecodable,
		      "failures_total", (json_int_t)j->failures_total,
		      "progress", drv_dlq_job_progress(j),
		      "total", (json_int_t)total, "read",
		      (json_int_t)(j->state == DRV_DLQ_JOB_DONE ? total : read),
		      "partitions", parts);
	if (o && j->error[0])
		json_object_set_new(o, "error", json_string(j->error));
	return o;
}

/* \p v (n offsets) as a JSON array text (malloc'd). */
static char *offsets_text(const int64_t *v, size_t n)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

/* A JSON array text of offsets into a malloc'd array of *n; NULL when it
 * is not one. */
static int64_t *offsets_parse(const char *s, size_t *n)
{
	json_t *a = s ? json_loads(s, 0, NULL) : NULL, *v;
	int64_t *out;
	size_t i;

	*n = 0;
	if (!json_is_array(a) ||
	    !(out = calloc(json_array_size(a) + 1, sizeof(*out)))) {
		json_decref(a);
		return NULL;
	}
	json_array_foreach(a, i, v)
		out[i] = json_integer_value(v);
	*n = json_array_size(a);
	json_decref(a);
	return out;
}

static int64_t field_int(const redisReply *h, const char *name)
{
	const char *s = drv_redis_hash_field(h, name);

	return s ? strtoll(s, NULL, 10) : 0;
}

static void field_text(const redisReply *h, const char *name, char *buf,
		       size_t size)
{
	const char *s = drv_redis_hash_field(h, name);

	drv_strlcpy(buf, s ? s : "", size);
}

/* The job of HGETALL reply \p h into \p out. */
static drv_err_t decode(const char *id, const redisReply *h,
			drv_dlq_job_t *out, char *errstr, size_t errstr_size)
{
	const char *spec = drv_redis_hash_field(h, "spec");
	int state = dlq_job_state_parse(drv_redis_hash_field(h, "state"));
	const char *kind;
	size_t nl, nh, nc;

	memset(out, 0, sizeof(*out));
	drv_strlcpy(out->id, id, sizeof(out->id));
	out->spec = spec ? json_loads(spec, 0, NULL) : NULL;
	out->lo = offsets_parse(drv_redis_hash_field(h, "lo"), &nl);
	out->hi = offsets_parse(drv_redis_hash_field(h, "hi"), &nh);
	out->cursor = offsets_parse(drv_redis_hash_field(h, "cursor"), &nc);
	if (!out->spec || state < 0 || !out->lo || !out->hi || !out->cursor ||
	    nl != nh || nc != nh) {
		drv_dlq_job_release(out);
		return drv_error(errstr, errstr_size, DRV_ERR_DECODE,
				 "job %s: a damaged record", id);
	}
	out->part_cnt = nh;
	out->state = (drv_dlq_job_state_t)state;
	/* checked when the job was made: "resubmit", "discard" or none */
	kind = json_string_value(json_object_get(out->spec, "kind"));
	out->kind = kind && !strcmp(kind, "discard") ? DRV_DLQ_JOB_DISCARD :
		    DRV_DLQ_JOB_RESUBMIT;
	field_text(h, "created_by", out->created_by, sizeof(out->created_by));
	field_text(h, "runner", out->runner, sizeof(out->runner));
	field_text(h, "error", out->error, sizeof(out->error));
	out->created_ms = field_int(h, "created_ms");
	out->started_ms = field_int(h, "started_ms");
	out->updated_ms = field_int(h, "updated_ms");
	out->ended_ms = field_int(h, "ended_ms");
	out->counts.matched = (uint64_t)field_int(h, "matched");
	out->counts.sent = (uint64_t)field_int(h, "sent");
	out->counts.already = (uint64_t)field_int(h, "already");
	out->counts.already_discarded = (uint64_t)field_int(h,
							   "already_discarded");
	out->counts.failed = (uint64_t)field_int(h, "failed");
	out->counts.undecodable = (uint64_t)field_int(h, "undecodable");
	out->failures_total = (uint64_t)field_int(h, "failures_total");
	return DRV_OK;
}

drv_err_t drv_dlq_job_get(const drv_config_t *cfg, redisContext *c,
			  const char *id, drv_dlq_job_t *out, char *errstr,
			  size_t errstr_size)
{
	redisReply *h;
	char key[256];
	drv_err_t rc;

	memset(out, 0, sizeof(*out));
	if (!drv_id_valid(id))
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "'%.64s' is not a job id (a ULID)", id);
	dlq_job_key(cfg, id, "", key, sizeof(key));
	if ((rc = drv_redis_cmd(c, &h, errstr, errstr_size, "HGETALL %s",
				key)))
		return rc;
	if (h->type != REDIS_REPLY_ARRAY && h->type != REDIS_REPLY_MAP)
		return drv_redis_fail(c, h, "HGETALL", errstr, errstr_size);
	if (!h->elements) {
		freeReplyObject(h);
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no job %s", id);
	}
	rc = decode(id, h, out, errstr, errstr_size);
	freeReplyObject(h);
	return rc;
}

drv_err_t drv_dlq_job_create(const drv_config_t *cfg, redisContext *c,
			     const json_t *spec, const char *created_by,
			     int64_t now_ms, drv_dlq_job_t *out,
			     char *pointer, size_t pointer_size,
			     char *errstr, size_t errstr_size)
{
	int64_t *lo = NULL, *hi = NULL;
	char *spec_text = NULL, *lo_text = NULL, *hi_text = NULL;
	char id[DRV_ID_LEN + 1], key[256], idx[256], now[32];
	drv_dlq_job_spec_t s;
	size_t cnt = 0;
	drv_err_t rc;

	memset(out, 0, sizeof(*out));
	rc = drv_dlq_job_spec_read(cfg, spec, now_ms, &s, pointer,
				   pointer_size, errstr, errstr_size);
	drv_dlq_job_spec_release(&s);
	if (rc)
		return rc;
	if ((rc = drv_dlq_offsets(cfg, &lo, &hi, &cnt, errstr, errstr_size)))
		return rc;
	spec_text = json_dumps(spec, JSON_COMPACT);
	lo_text = offsets_text(lo, cnt);
	hi_text = offsets_text(hi, cnt);
	if (!spec_text || !lo_text || !hi_text) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	drv_id_new(id, now_ms);
	dlq_job_key(cfg, id, "", key, sizeof(key));
	index_key(cfg, idx, sizeof(idx));
	drv_fmt(now, sizeof(now), "%lld", (long long)now_ms);
	if ((rc = drv_redis_cmd(c, NULL, errstr, errstr_size,
				"HSET %s spec %s state pending created_by %s "
				"created_ms %s updated_ms %s lo %s hi %s "
				"cursor %s matched 0 sent 0 already 0 "
				"already_discarded 0 failed 0 undecodable 0 "
				"failures_total 0",
				key, spec_text, created_by ? created_by : "",
				now, now, lo_text, hi_text, lo_text)) ||
	    (rc = drv_redis_cmd(c, NULL, errstr, errstr_size,
				"ZADD %s 0 %s", idx, id)))
		goto out;
	dlq_job_active_key(cfg, idx, sizeof(idx));
	if ((rc = drv_redis_cmd(c, NULL, errstr, errstr_size, "SADD %s %s",
				idx, id)))
		goto out;
	rc = drv_dlq_job_get(cfg, c, id, out, errstr, errstr_size);
out:
	free(spec_text);
	free(lo_text);
	free(hi_text);
	free(lo);
	free(hi);
	return rc;
}

drv_err_t drv_dlq_job_list(const drv_config_t *cfg, redisContext *c,
			   const char *cursor, size_t limit,
			   drv_dlq_job_t **jobs, size_t *cnt, char **next,
			   char *errstr, size_t errstr_size)
{
	char idx[256], from[DRV_ID_LEN + 2] = "+", n[32];
	redisReply *ids = NULL;
	drv_err_t rc;

	*jobs = NULL;
	*cnt = 0;
	*next = NULL;
	if (limit < 1 || limit > DRV_DLQ_JOB_PAGE_MAX)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "limit is 1 to %d", DRV_DLQ_JOB_PAGE_MAX);
	if (cursor && cursor[0]) {
		if (!drv_id_valid(cursor))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "bad cursor");
		drv_fmt(from, sizeof(from), "(%s", cursor);
	}
	index_key(cfg, idx, sizeof(idx));
	/* one more than the page, and more for the ids whose job expired */
	drv_fmt(n, sizeof(n), "%zu", limit * 2 + 1);
	if ((rc = drv_redis_cmd(c, &ids, errstr, errstr_size,
				"ZREVRANGEBYLEX %s %s - LIMIT 0 %s", idx, from,
				n)))
		return rc;
	if (ids->type != REDIS_REPLY_ARRAY)
		return drv_redis_fail(c, ids, "ZREVRANGEBYLEX", errstr,
				      errstr_size);
	if (!(*jobs = calloc(limit, sizeof(**jobs)))) {
		freeReplyObject(ids);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	for (size_t i = 0; i < ids->elements && !rc; i++) {
		const char *id = ids->element[i]->str;

		if (*cnt == limit) {
			*next = drv_strdup((*jobs)[limit - 1].id);
			break;
		}
		rc = drv_dlq_job_get(cfg, c, id ? id : "", &(*jobs)[*cnt],
				     errstr, errstr_size);
		if (rc == DRV_ERR_NOT_FOUND || rc == DRV_ERR_DECODE) {
			/* expired (or not ours): no longer listed */
			rc = drv_redis_cmd(c, NULL, errstr, errstr_size,
					   "ZREM %s %s", idx, id ? id : "");
			continue;
		}
		if (!rc)
			(*cnt)++;
	}
	/* a page cut short by expired ids: go on from its last */
	if (!rc && !*next && *cnt && ids->elements == limit * 2 + 1)
		*next = drv_strdup((*jobs)[*cnt - 1].id);
	freeReplyObject(ids);
	if (rc) {
		for (size_t i = 0; i < *cnt; i++)
			drv_dlq_job_release(&(*jobs)[i]);
		free(*jobs);
		*jobs = NULL;
		*cnt = 0;
	}
	return rc;
}

drv_err_t drv_dlq_job_failures(const drv_config_t *cfg, redisContext *c,
			       const char *id, int64_t from, size_t limit,
			       json_t **items, int64_t *next, char *errstr,
			       size_t errstr_size)
{
	drv_dlq_job_t j;
	redisReply *r;
	char key[256];
	drv_err_t rc;

	*items = NULL;
	*next = -1;
	if ((rc = drv_dlq_job_get(cfg, c, id, &j, errstr, errstr_size)))
		return rc;
	drv_dlq_job_release(&j);
	dlq_job_key(cfg, id, ":failures", key, sizeof(key));
	if ((rc = drv_redis_cmd(c, &r, errstr, errstr_size,
				"LRANGE %s %lld %lld", key, (long long)from,
				(long long)(from + (int64_t)limit))))
		return rc;
	if (r->type != REDIS_REPLY_ARRAY)
		return drv_redis_fail(c, r, "LRANGE", errstr, errstr_size);
	*items = json_array();
	for (size_t i = 0; i < r->elements && i < limit; i++) {
		json_t *o = r->element[i]->str ?
			    json_loads(r->element[i]->str, 0, NULL) : NULL;

		json_array_append_new(*items, o ? o : json_pack("{s:s}",
				      "error", "unreadable"));
	}
	if (r->elements > limit)
		*next = from + (int64_t)limit;
	freeReplyObject(r);
	return DRV_OK;
}

drv_err_t drv_dlq_job_control(const drv_config_t *cfg, redisContext *c,
			      const char *id, drv_dlq_job_action_t action,
			      int64_t now_ms, drv_dlq_job_t *out,
			      char *errstr, size_t errstr_size)
{
	static const struct {
		const char *verb;
		unsigned from;
		drv_dlq_job_state_t to;
	} moves[] = {
		[DRV_DLQ_JOB_PAUSE] = { "paused",
			DLQ_JOB_BIT(DRV_DLQ_JOB_PENDING) |
			DLQ_JOB_BIT(DRV_DLQ_JOB_RUNNING), DRV_DLQ_JOB_PAUSED },
		[DRV_DLQ_JOB_RESUME] = { "resumed",
			DLQ_JOB_BIT(DRV_DLQ_JOB_PAUSED), DRV_DLQ_JOB_PENDING },
		[DRV_DLQ_JOB_CANCEL] = { "cancelled",
			DLQ_JOB_BIT(DRV_DLQ_JOB_PENDING) |
			DLQ_JOB_BIT(DRV_DLQ_JOB_RUNNING) |
			DLQ_JOB_BIT(DRV_DLQ_JOB_PAUSED),
			DRV_DLQ_JOB_CANCELLED },
	};
	drv_err_t rc;
	int was;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((unsigned)action > DRV_DLQ_JOB_CANCEL)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "unknown action");
	if (!drv_id_valid(id))
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "'%.64s' is not a job id (a ULID)", id);
	if ((rc = dlq_job_move(cfg, c, id, moves[action].from,
			       moves[action].to, now_ms, NULL, 0, &was,
			       errstr, errstr_size)))
		return rc;
	if (was == -1)
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no job %s", id);
	if (was < 0 || !(moves[action].from & DLQ_JOB_BIT(was)))
		return drv_error(errstr, errstr_size, DRV_ERR_RANGE,
				 "job %s is %s: it cannot be %s", id,
				 was < 0 ? "?" : state_names[was],
				 moves[action].verb);
	return out ? drv_dlq_job_get(cfg, c, id, out, errstr, errstr_size) :
		     DRV_OK;
}
