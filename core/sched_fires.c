/*
 * sched_fires.c — the fire history of schedules in Redis: one sorted-set
 * member per fire the leader handled (published, caught up, manual,
 * skipped, buffered), the run's end beside it in a hash by task id, trimmed
 * by age and count in the script that adds a fire, and read back for many
 * schedules at once in two pipelined round trips. The key scheme is in
 * include/drover/sched_fires.h.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/sched_fires.h"
#include "drover/str.h"

const char *const drv_sched_fire_kinds[DRV_FIRE_KIND_CNT] = {
	[DRV_FIRE_PUBLISHED] = "published",
	[DRV_FIRE_CAUGHT_UP] = "caught_up",
	[DRV_FIRE_MANUAL] = "manual",
	[DRV_FIRE_SKIPPED] = "skipped_overlap",
	[DRV_FIRE_BUFFERED] = "buffered",
};

/* KEYS: fires, ends. ARGV: score, member, oldest score kept, max kept,
 * expiry ms. Removes the fires too old or too many, and their ends. */
static const char add_lua[] =
	"redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) "
	"local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', "
	"  '(' .. ARGV[3]) "
	"local over = redis.call('ZCARD', KEYS[1]) - #gone - tonumber(ARGV[4]) "
	"if over > 0 then "
	"  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], #gone, "
	"      #gone + over - 1)) do gone[#gone + 1] = m end "
	"end "
	"for _, m in ipairs(gone) do "
	"  local t = string.match(m, '^[^|]*|[^|]*|([^|]*)|') "
	"  if t and t ~= '-' then redis.call('HDEL', KEYS[2], t) end "
	"  redis.call('ZREM', KEYS[1], m) "
	"end "
	"redis.call('PEXPIRE', KEYS[1], ARGV[5]) "
	"if redis.call('EXISTS', KEYS[2]) == 1 then "
	"  redis.call('PEXPIRE', KEYS[2], ARGV[5]) end "
	"return #gone";

static void key(char *buf, size_t size, const char *prefix, const char *a,
		const char *id)
{
	drv_fmt(buf, size, "%s%s:%s", prefix, a, id);
}

int drv_sched_fire_append(redisContext *c, const char *prefix,
			  const char *id, const drv_sched_fire_t *f,
			  int64_t now, int64_t keep_ms, int64_t max)
{
	char fk[512], ek[512], member[160];

	key(fk, sizeof(fk), prefix, "sched:fires", id);
	key(ek, sizeof(ek), prefix, "sched:ends", id);
	drv_fmt(member, sizeof(member), "%lld|%s|%s|%lld",
		(long long)f->nominal_ms, drv_sched_fire_kinds[f->kind],
		f->task_id[0] ? f->task_id : "-", (long long)f->published_ms);
	return redisAppendCommand(c, "EVAL %s 2 %s %s %lld %s %lld %lld %lld",
				  add_lua, fk, ek, (long long)f->nominal_ms,
				  member, (long long)(now - keep_ms),
				  (long long)max, (long long)keep_ms) ==
	       REDIS_OK ? 1 : 0;
}

int drv_sched_end_append(redisContext *c, const char *prefix,
			 const char *id, const char *task_id,
			 const char *outcome, int64_t finished_ms,
			 int64_t duration_ms)
{
	char ek[512], v[80];

	key(ek, sizeof(ek), prefix, "sched:ends", id);
	drv_fmt(v, sizeof(v), "%s|%lld|%lld", outcome,
		(long long)finished_ms, (long long)duration_ms);
	if (redisAppendCommand(c, "HSET %s %s %s", ek, task_id, v) !=
	    REDIS_OK)
		return 0;
	if (redisAppendCommand(c, "PEXPIRE %s %lld", ek,
			       (long long)DRV_SCHED_FIRES_KEEP_MS) != REDIS_OK)
		return 1;
	return 2;
}

void drv_sched_fires_free(drv_sched_fires_t *f, size_t cnt)
{
	for (size_t i = 0; f && i < cnt; i++) {
		free(f[i].id);
		free(f[i].fires);
	}
	free(f);
}

/* Member \p m into \p f; false when it is not one of ours. */
static bool parse_member(const char *m, drv_sched_fire_t *f)
{
	char part[4][64];
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	for (const char *p = m; n < 4; n++) {
		size_t len = strcspn(p, "|");

		if (len >= sizeof(part[n]))
			return false;
		memcpy(part[n], p, len);
		part[n][len] = '\0';
		p += len;
		if (*p == '|')
			p++;
		else if (n < 3)
			return false;
	}
	if (drv_parse_int(part[0], 0, INT64_MAX, &f->nominal_ms) ||
	    drv_parse_int(part[3], 0, INT64_MAX, &f->published_ms))
		return false;
	for (f->kind = 0; f->kind < DRV_FIRE_KIND_CNT &&
	     strcmp(drv_sched_fire_kinds[f->kind], part[1]); f->kind++)
		;
	if (f->kind == DRV_FIRE_KIND_CNT)
		return false;
	if (strcmp(part[2], "-"))
		drv_strlcpy(f->task_id, part[2], sizeof(f->task_id));
	return true;
}

/* End "<outcome>|<finished>|<duration>" into \p f. */
static void parse_end(const char *v, drv_sched_fire_t *f)
{
	size_t len = strcspn(v, "|");
	int64_t fin = 0, dur = 0;
	char num[32];

	if (!v[len] || len >= sizeof(f->outcome))
		return;
	memcpy(f->outcome, v, len);
	f->outcome[len] = '\0';
	v += len + 1;
	len = strcspn(v, "|");
	drv_fmt(num, sizeof(num), "%.*s", (int)len, v);
	drv_parse_int(num, 0, INT64_MAX, &fin);
	if (v[len])
		drv_parse_int(v + len + 1, 0, INT64_MAX, &dur);
	f->finished_ms = fin;
	f->duration_ms = dur;
}

static drv_err_t reply_err(redisContext *c, char *errstr, size_t errstr_size)
{
	return drv_error(errstr, errstr_size, drv_redis_err(c), "redis: %s",
			 c->errstr);
}

/* Read the \p n replies of the range commands into \p out. */
static drv_err_t take_ranges(redisContext *c, drv_sched_fires_t *out,
			     size_t n, size_t limit, char *errstr,
			     size_t errstr_size)
{
	drv_err_t err = DRV_OK;

	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;
		size_t got;

		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			return reply_err(c, errstr, errstr_size);
		got = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
		if (r->type == REDIS_REPLY_ERROR && !err)
			err = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
					"redis: %s", r->str);
		out[i].truncated = got > limit;
		if (got > limit)
			got = limit;
		if (got && !err && !(out[i].fires = calloc(got,
						sizeof(*out[i].fires))))
			err = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					"out of memory");
		for (size_t k = 0; !err && k < got; k++)
			if (r->element[k]->type == REDIS_REPLY_STRING &&
			    parse_member(r->element[k]->str,
					 &out[i].fires[out[i].cnt]))
				out[i].cnt++;
		freeReplyObject(r);
	}
	return err;
}

/* Queue HMGET of the ends of every fire with a task; @returns how many. */
static size_t ask_ends(redisContext *c, const char *prefix,
		       drv_sched_fires_t *out, size_t n)
{
	size_t asked = 0;

	for (size_t i = 0; i < n; i++) {
		const char **argv;
		size_t *lens, argc = 0;
		char ek[512];

		if (!out[i].cnt)
			continue;
		argv = calloc(out[i].cnt + 2, sizeof(*argv));
		lens = calloc(out[i].cnt + 2, sizeof(*lens));
		if (argv && lens) {
			key(ek, sizeof(ek), prefix, "sched:ends", out[i].id);
			argv[argc++] = "HMGET";
			argv[argc++] = ek;
			for (size_t k = 0; k < out[i].cnt; k++)
				argv[argc++] = out[i].fires[k].task_id[0] ?
					       out[i].fires[k].task_id : "-";
			for (size_t k = 0; k < argc; k++)
				lens[k] = strlen(argv[k]);
			if (redisAppendCommandArgv(c, (int)argc, argv, lens) ==
			    REDIS_OK)
				asked++;
			else
				out[i].cnt = 0;   /* cannot happen but OOM */
		} else {
			out[i].cnt = 0;
		}
		free(argv);
		free(lens);
	}
	return asked;
}

drv_err_t drv_sched_fires_read(redisContext *c, const char *prefix,
			       const char *const *ids, size_t id_cnt,
			       int64_t since, int64_t until, size_t limit,
			       bool newest_first, drv_sched_fires_t **out,
			       char *errstr, size_t errstr_size)
{
	drv_sched_fires_t *f;
	drv_err_t err;
	size_t asked;

	*out = NULL;
	if (!(f = calloc(id_cnt ? id_cnt : 1, sizeof(*f))))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	for (size_t i = 0; i < id_cnt; i++) {
		char fk[512];

		if (!(f[i].id = strdup(ids[i]))) {
			drv_sched_fires_free(f, id_cnt);
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
		}
		key(fk, sizeof(fk), prefix, "sched:fires", ids[i]);
		if (newest_first)
			redisAppendCommand(c, "ZREVRANGEBYSCORE %s %lld %lld "
					   "LIMIT 0 %lld", fk, (long long)until,
					   (long long)since,
					   (long long)limit + 1);
		else
			redisAppendCommand(c, "ZRANGEBYSCORE %s %lld %lld "
					   "LIMIT 0 %lld", fk, (long long)since,
					   (long long)until,
					   (long long)limit + 1);
	}
	if ((err = take_ranges(c, f, id_cnt, limit, errstr, errstr_size))) {
		drv_sched_fires_free(f, id_cnt);
		return err;
	}
	asked = ask_ends(c, prefix, f, id_cnt);
	for (size_t i = 0, k = 0; k < asked; i++) {
		redisReply *r = NULL;

		if (!f[i].cnt)
			continue;
		k++;
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			err = reply_err(c, errstr, errstr_size);
			drv_sched_fires_free(f, id_cnt);
			return err;
		}
		for (size_t j = 0; r->type == REDIS_REPLY_ARRAY &&
		     j < r->elements && j < f[i].cnt; j++)
			if (r->element[j]->type == REDIS_REPLY_STRING)
				parse_end(r->element[j]->str, &f[i].fires[j]);
		freeReplyObject(r);
	}
	*out = f;
	return DRV_OK;
}

json_t *drv_sched_fire_obj(const drv_sched_fire_t *f)
{
	char when[40];
	json_t *o;

	drv_format_time(f->nominal_ms, when, sizeof(when));
	o = json_pack("{s:I, s:s, s:s}", "scheduled_ms",
		      (json_int_t)f->nominal_ms, "scheduled_at", when, "kind",
		      drv_sched_fire_kinds[f->kind]);
	if (!o)
		return NULL;
	if (f->task_id[0])
		json_object_set_new(o, "task_id", json_string(f->task_id));
	if (f->published_ms)
		json_object_set_new(o, "published_ms",
				    json_integer(f->published_ms));
	if (f->outcome[0]) {
		json_object_set_new(o, "outcome", json_string(f->outcome));
		json_object_set_new(o, "finished_ms",
				    json_integer(f->finished_ms));
		json_object_set_new(o, "duration_ms",
				    json_integer(f->duration_ms));
	} else if (f->published_ms) {
		json_object_set_new(o, "outcome", json_string("running"));
	}
	return o;
}
