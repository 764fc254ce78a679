/*
 * sched_store.c — schedules in Redis: run-time definitions and their
 * enable/disable overrides (written by droverctl, polled by the
 * coordinators through a version counter), and the statistics the
 * coordinators build from fires and lifecycle events. The key scheme is in
 * include/drover/sched_store.h.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/redis.h"
#include "drover/redis_cmd.h"
#include "drover/sched_fires.h"
#include "drover/sched_store.h"
#include "drover/str.h"

/* One command (drv_redis_cmd()), by a short name. */
static drv_err_t (*const cmd)(redisContext *c, redisReply **out,
			      char *errstr, size_t errstr_size,
			      const char *fmt, ...) = drv_redis_cmd;

static const char end_run_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) else return 0 end";

static void key(char *buf, size_t size, const char *prefix, const char *a,
		const char *id)
{
	drv_fmt(buf, size, "%s%s%s%s", prefix, a, id ? ":" : "",
		id ? id : "");
}

static int64_t num(const char *s)
{
	int64_t v = 0;

	if (s)
		drv_parse_int(s, INT64_MIN, INT64_MAX, &v);
	return v;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Schedule statistics from their replies: \p r the HGETALL of its
 * counters, the LRANGE of its durations and the EXISTS of its run marker;
 * \p last and \p next its fields of the two HMGETs (NULL: nil). */
static void stats_parse(redisReply *const *r, const redisReply *last,
			const redisReply *next, drv_sched_stats_t *out)
{
	int64_t sum = 0, d[DRV_SCHED_DURATIONS];
	size_t n = 0;

	for (size_t i = 0; r[0]->type == REDIS_REPLY_ARRAY &&
	     i + 1 < r[0]->elements; i += 2) {
		const char *f = r[0]->element[i]->str,
			   *v = r[0]->element[i + 1]->str;

		if (!strcmp(f, "fires"))           out->fires = num(v);
		else if (!strcmp(f, "duplicates")) out->duplicates = num(v);
		else if (!strcmp(f, "skipped"))    out->skipped = num(v);
		else if (!strcmp(f, "buffered"))   out->buffered = num(v);
		else if (!strcmp(f, "runs"))       out->runs = num(v);
		else if (!strcmp(f, "successes"))  out->successes = num(v);
		else if (!strcmp(f, "failures"))   out->failures = num(v);
		else if (!strcmp(f, "retries"))    out->retries = num(v);
		else if (!strcmp(f, "duration_sum_ms")) sum = num(v);
		else if (!strcmp(f, "last_run_ms"))
			out->last_run_ms = num(v);
		else if (!strcmp(f, "last_outcome"))
			drv_strlcpy(out->last_outcome, v,
				    sizeof(out->last_outcome));
		else if (!strcmp(f, "last_task"))
			drv_strlcpy(out->last_task, v,
				    sizeof(out->last_task));
	}
	if (out->runs)
		out->avg_ms = sum / out->runs;
	for (size_t i = 0; r[1]->type == REDIS_REPLY_ARRAY &&
	     i < r[1]->elements && n < DRV_SCHED_DURATIONS; i++)
		d[n++] = num(r[1]->element[i]->str);
	if (n) {
		qsort(d, n, sizeof(d[0]), cmp_i64);
		/* nearest rank: the smallest value >= 95% of them */
		out->p95_ms = d[(95 * n + 99) / 100 - 1];
	}
	out->last_fire_ms = last && last->type == REDIS_REPLY_STRING ?
			    num(last->str) : 0;
	out->next_ms = next && next->type == REDIS_REPLY_STRING ?
		       num(next->str) : 0;
	out->running = r[2]->type == REDIS_REPLY_INTEGER && r[2]->integer == 1;
}

drv_err_t drv_sched_store_stats(redisContext *c, const char *prefix,
				const char *const *ids, size_t n,
				drv_sched_stats_t *out, char *errstr,
				size_t errstr_size)
{
	/* two HMGETs (last and next fire of every id), then three
	 * commands per id, all in one round trip; a command hiredis cannot
	 * append (out of memory) fails the connection, so the reads below
	 * fail too */
	enum { PER = 3 };
	size_t cmds = 2 + PER * n, got = 0;
	redisReply **r = calloc(cmds, sizeof(*r));
	const char **argv = malloc((n + 2) * sizeof(*argv));
	size_t *lens = malloc((n + 2) * sizeof(*lens));
	static const char *const hashes[] = { "sched:last", "sched:next" };
	char hash[2][512], k[512];
	drv_err_t err = DRV_OK;

	if (n)
		memset(out, 0, n * sizeof(*out));
	if (!n || !r || !argv || !lens) {
		free(r);
		free(argv);
		free(lens);
		return !n ? DRV_OK : drv_error(errstr, errstr_size,
					       DRV_ERR_NOMEM, "out of memory");
	}
	argv[0] = "HMGET";
	memcpy(argv + 2, ids, n * sizeof(*ids));
	lens[0] = 5;
	for (size_t i = 2; i < n + 2; i++)
		lens[i] = strlen(argv[i]);
	for (int h = 0; h < 2; h++) {
		key(hash[h], sizeof(hash[h]), prefix, hashes[h], NULL);
		argv[1] = hash[h];
		lens[1] = strlen(hash[h]);
		redisAppendCommandArgv(c, (int)(n + 2), argv, lens);
	}
	free(argv);
	free(lens);
	for (size_t i = 0; i < n; i++) {
		key(k, sizeof(k), prefix, "sched:stats", ids[i]);
		redisAppendCommand(c, "HGETALL %s", k);
		key(k, sizeof(k), prefix, "sched:durations", ids[i]);
		redisAppendCommand(c, "LRANGE %s 0 %d", k,
				   DRV_SCHED_DURATIONS - 1);
		key(k, sizeof(k), prefix, "sched:run", ids[i]);
		redisAppendCommand(c, "EXISTS %s", k);
	}
	for (; got < cmds; got++) {
		if (redisGetReply(c, (void **)&r[got]) != REDIS_OK) {
			err = drv_redis_fail(c, NULL, "schedule stats", errstr,
					     errstr_size);
			break;
		}
		if (r[got]->type == REDIS_REPLY_ERROR && !err)
			err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
					"redis: %s", r[got]->str);
	}
	for (size_t i = 0; !err && i < n; i++) {
		const redisReply *last = r[0]->type == REDIS_REPLY_ARRAY &&
					 r[0]->elements == n ?
					 r[0]->element[i] : NULL;
		const redisReply *next = r[1]->type == REDIS_REPLY_ARRAY &&
					 r[1]->elements == n ?
					 r[1]->element[i] : NULL;

		stats_parse(r + 2 + PER * i, last, next, &out[i]);
	}
	for (size_t i = 0; i < got; i++)
		freeReplyObject(r[i]);
	free(r);
	return err;
}

drv_err_t drv_sched_store_run(redisContext *c, const char *prefix,
			      const char *id, const char *type,
			      const char *task_id, int64_t duration_ms,
			      int64_t finished_ms, char *errstr,
			      size_t errstr_size)
{
	char st[512], du[512], run[512], dms[32], fms[32];
	bool ok = !strcmp(type, "task.succeeded");
	redisReply *r;
	drv_err_t err = DRV_OK;
	int n = 0, cmds;

	key(st, sizeof(st), prefix, "sched:stats", id);
	if (!ok && strcmp(type, "task.dead"))
		return cmd(c, NULL, errstr, errstr_size,
			   "HINCRBY %s retries 1", st);
	key(du, sizeof(du), prefix, "sched:durations", id);
	key(run, sizeof(run), prefix, "sched:run", id);
	drv_fmt(dms, sizeof(dms), "%lld", (long long)duration_ms);
	drv_fmt(fms, sizeof(fms), "%lld", (long long)finished_ms);
	redisAppendCommand(c, "HINCRBY %s runs 1", st);
	redisAppendCommand(c, "HINCRBY %s %s 1", st,
			   ok ? "successes" : "failures");
	redisAppendCommand(c, "HINCRBY %s duration_sum_ms %s", st, dms);
	redisAppendCommand(c, "HSET %s last_run_ms %s last_outcome %s "
			   "last_task %s", st, fms, ok ? "succeeded" : "dead",
			   task_id);
	redisAppendCommand(c, "LPUSH %s %s", du, dms);
	redisAppendCommand(c, "LTRIM %s 0 %d", du, DRV_SCHED_DURATIONS - 1);
	redisAppendCommand(c, "EVAL %s 1 %s %s", end_run_lua, run, task_id);
	cmds = 7 + drv_sched_end_append(c, prefix, id, task_id, ok ?
					"succeeded" : "dead", finished_ms,
					duration_ms);
	for (n = 0; n < cmds; n++) {
		r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			return drv_error(errstr, errstr_size,
					 drv_redis_err(c), "redis: %s",
					 c->errstr);
		if (r->type == REDIS_REPLY_ERROR && !err)
			err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
					"redis: %s", r->str);
		freeReplyObject(r);
	}
	return err;
}

void drv_sched_entries_free(drv_sched_entry_t *e, size_t cnt)
{
	for (size_t i = 0; e && i < cnt; i++) {
		free(e[i].id);
		free(e[i].json);
	}
	free(e);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const drv_sched_entry_t *)a)->id,
		      ((const drv_sched_entry_t *)b)->id);
}

/* The entries of a flat reply {id, value, ...} (nil values left out). */
static drv_err_t reply_entries(redisReply *r, drv_sched_entry_t **out,
			       size_t *cnt, char *errstr, size_t errstr_size)
{
	size_t n = r->elements / 2, k = 0;
	drv_sched_entry_t *e;

	*out = NULL;
	*cnt = 0;
	if (!n)
		return DRV_OK;
	if (!(e = calloc(n, sizeof(*e))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; i < n; i++) {
		const redisReply *id = r->element[2 * i],
				 *v = r->element[2 * i + 1];

		if (id->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		e[k].id = strdup(id->str);
		e[k].json = strdup(v->str);
		if (!e[k++].id || !e[k - 1].json) {
			drv_sched_entries_free(e, k);
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		}
	}
	*out = e;
	*cnt = k;
	return DRV_OK;
}

/* A hash as sorted entries. */
static drv_err_t hash_entries(redisContext *c, const char *k,
			      drv_sched_entry_t **out, size_t *cnt,
			      char *errstr, size_t errstr_size)
{
	redisReply *r = NULL;
	drv_err_t err = cmd(c, &r, errstr, errstr_size, "HGETALL %s", k);

	*out = NULL;
	*cnt = 0;
	if (err)
		return err;
	if (r->type == REDIS_REPLY_ARRAY)
		err = reply_entries(r, out, cnt, errstr, errstr_size);
	freeReplyObject(r);
	if (!err && *cnt > 1)
		qsort(*out, *cnt, sizeof(**out), cmp_entry);
	return err;
}

drv_err_t drv_sched_store_list(redisContext *c, const char *prefix,
			       drv_sched_entry_t **entries, size_t *cnt,
			       drv_sched_entry_t **overrides,
			       size_t *override_cnt, long long *version,
			       char *errstr, size_t errstr_size)
{
	char k[512];
	redisReply *r = NULL;
	drv_err_t err;

	if (version) {
		key(k, sizeof(k), prefix, "schedules:version", NULL);
		if ((err = cmd(c, &r, errstr, errstr_size, "GET %s", k)))
			return err;
		*version = r->type == REDIS_REPLY_STRING ? num(r->str) : 0;
		freeReplyObject(r);
	}
	key(k, sizeof(k), prefix, "schedules", NULL);
	if ((err = hash_entries(c, k, entries, cnt, errstr, errstr_size)))
		return err;
	if (!overrides)
		return DRV_OK;
	key(k, sizeof(k), prefix, "schedules:enabled", NULL);
	if ((err = hash_entries(c, k, overrides, override_cnt, errstr,
				errstr_size))) {
		drv_sched_entries_free(*entries, *cnt);
		*entries = NULL;
		*cnt = 0;
	}
	return err;
}

/* KEYS: the schedules hash, its id index. ARGV: the id to start after
 * ("": the first), how many. The index is rebuilt from the hash first when
 * their sizes differ (written by a drover older than the index, or a put
 * or delete half done). Answers {id, json, ...} in id order. */
static drv_redis_script_t page_script = DRV_REDIS_SCRIPT_INIT(
"if redis.call('ZCARD', KEYS[2]) ~= redis.call('HLEN', KEYS[1]) then\n"
"  redis.call('DEL', KEYS[2])\n"
"  local ids = redis.call('HKEYS', KEYS[1])\n"
"  for i = 1, #ids, 500 do\n"
"    local a = {}\n"
"    for j = i, math.min(i + 499, #ids) do\n"
"      a[#a + 1] = 0; a[#a + 1] = ids[j]\n"
"    end\n"
"    redis.call('ZADD', KEYS[2], unpack(a))\n"
"  end\n"
"end\n"
"local lo = ARGV[1] == '' and '-' or '(' .. ARGV[1]\n"
"local out = {}\n"
"for _, id in ipairs(redis.call('ZRANGEBYLEX', KEYS[2], lo, '+',\n"
"                               'LIMIT', 0, tonumber(ARGV[2]))) do\n"
"  local j = redis.call('HGET', KEYS[1], id)\n"
"  if j then out[#out + 1] = id; out[#out + 1] = j end\n"
"end\n"
"return out\n");

drv_err_t drv_sched_store_page(redisContext *c, const char *prefix,
			       const char *after, size_t count,
			       drv_sched_entry_t **entries, size_t *cnt,
			       char *errstr, size_t errstr_size)
{
	char h[512], ix[512], num[24];
	const char *argv[4] = { h, ix, after ? after : "", num };
	redisReply *r;
	drv_err_t err;

	*entries = NULL;
	*cnt = 0;
	key(h, sizeof(h), prefix, "schedules", NULL);
	key(ix, sizeof(ix), prefix, "schedules:ids", NULL);
	drv_fmt(num, sizeof(num), "%zu", count);
	if ((err = drv_redis_script_run(c, &page_script, 2, 4, argv, 0,
					"schedule page", &r, errstr,
					errstr_size)))
		return err;
	err = reply_entries(r, entries, cnt, errstr, errstr_size);
	freeReplyObject(r);
	return err;
}

drv_err_t drv_sched_store_overrides(redisContext *c, const char *prefix,
				    const char *const *ids, size_t n,
				    drv_sched_entry_t **overrides,
				    size_t *cnt, char *errstr,
				    size_t errstr_size)
{
	char k[512];
	const char **argv;
	drv_sched_entry_t *e;
	redisReply *r;
	size_t m = 0;

	*overrides = NULL;
	*cnt = 0;
	if (!n)
		return DRV_OK;
	if (!(argv = malloc((n + 2) * sizeof(*argv))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	key(k, sizeof(k), prefix, "schedules:enabled", NULL);
	argv[0] = "HMGET";
	argv[1] = k;
	for (size_t i = 0; i < n; i++)
		argv[i + 2] = ids[i];
	r = redisCommandArgv(c, (int)n + 2, argv, NULL);
	free(argv);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n)
		return drv_redis_fail(c, r, "HMGET", errstr, errstr_size);
	if (!(e = calloc(n, sizeof(*e)))) {
		freeReplyObject(r);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			continue;
		e[m].id = strdup(ids[i]);
		e[m].json = strdup(r->element[i]->str);
		if (!e[m++].id || !e[m - 1].json) {
			freeReplyObject(r);
			drv_sched_entries_free(e, m);
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		}
	}
	freeReplyObject(r);
	*overrides = e;
	*cnt = m;
	return DRV_OK;
}

static drv_err_t bump(redisContext *c, const char *prefix, char *errstr,
		      size_t errstr_size)
{
	char k[512];

	key(k, sizeof(k), prefix, "schedules:version", NULL);
	return cmd(c, NULL, errstr, errstr_size, "INCR %s", k);
}

drv_err_t drv_sched_store_put(redisContext *c, const char *prefix,
			      const char *id, const char *json,
			      drv_sched_put_mode_t mode, char *errstr,
			      size_t errstr_size)
{
	char k[512];
	redisReply *r = NULL;
	drv_err_t err;

	key(k, sizeof(k), prefix, "schedules", NULL);
	if (mode == DRV_SCHED_CREATE) {
		if ((err = cmd(c, &r, errstr, errstr_size, "HSETNX %s %s %s",
			       k, id, json)))
			return err;
		err = r->integer == 1 ? DRV_OK :
		      drv_error(errstr, errstr_size, DRV_ERR_EXISTS,
				"schedule '%s' already exists", id);
	} else {
		if ((err = cmd(c, &r, errstr, errstr_size, "HEXISTS %s %s", k,
			       id)))
			return err;
		err = r->integer == 1 ?
		      cmd(c, NULL, errstr, errstr_size, "HSET %s %s %s", k, id,
			  json) :
		      drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				"no run-time schedule '%s'", id);
	}
	freeReplyObject(r);
	if (!err && mode == DRV_SCHED_CREATE) {
		key(k, sizeof(k), prefix, "schedules:ids", NULL);
		err = cmd(c, NULL, errstr, errstr_size, "ZADD %s 0 %s", k, id);
	}
	return err ? err : bump(c, prefix, errstr, errstr_size);
}

drv_err_t drv_sched_store_delete(redisContext *c, const char *prefix,
				 const char *id, char *errstr,
				 size_t errstr_size)
{
	char k[512], en[512], st[512], du[512], run[512], last[512], next[512];
	char fi[512], ends[512];
	redisReply *r = NULL;
	drv_err_t err;

	key(k, sizeof(k), prefix, "schedules", NULL);
	if ((err = cmd(c, &r, errstr, errstr_size, "HDEL %s %s", k, id)))
		return err;
	if (r->integer != 1) {
		freeReplyObject(r);
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no run-time schedule '%s'", id);
	}
	freeReplyObject(r);
	key(k, sizeof(k), prefix, "schedules:ids", NULL);
	if ((err = cmd(c, NULL, errstr, errstr_size, "ZREM %s %s", k, id)))
		return err;
	key(en, sizeof(en), prefix, "schedules:enabled", NULL);
	key(st, sizeof(st), prefix, "sched:stats", id);
	key(du, sizeof(du), prefix, "sched:durations", id);
	key(run, sizeof(run), prefix, "sched:run", id);
	key(fi, sizeof(fi), prefix, "sched:fires", id);
	key(ends, sizeof(ends), prefix, "sched:ends", id);
	key(last, sizeof(last), prefix, "sched:last", NULL);
	key(next, sizeof(next), prefix, "sched:next", NULL);
	if ((err = cmd(c, NULL, errstr, errstr_size, "HDEL %s %s", en, id)) ||
	    (err = cmd(c, NULL, errstr, errstr_size, "DEL %s %s %s %s %s", st,
		       du, run, fi, ends)) ||
	    (err = cmd(c, NULL, errstr, errstr_size, "HDEL %s %s", last,
		       id)) ||
	    (err = cmd(c, NULL, errstr, errstr_size, "HDEL %s %s", next, id)))
		return err;
	return bump(c, prefix, errstr, errstr_size);
}

drv_err_t drv_sched_store_enable(redisContext *c, const char *prefix,
				 const char *id, bool on, char *errstr,
				 size_t errstr_size)
{
	char k[512];
	drv_err_t err;

	key(k, sizeof(k), prefix, "schedules:enabled", NULL);
	if ((err = cmd(c, NULL, errstr, errstr_size, "HSET %s %s %s", k, id,
		       on ? "1" : "0")))
		return err;
	return bump(c, prefix, errstr, errstr_size);
}
