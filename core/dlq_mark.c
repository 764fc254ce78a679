/*
 * dlq_mark.c — resubmission and discard marks in Redis (see drover/dlq.h),
 * what they say added to entry views, and the deterministic id of a
 * resubmitted task.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/dlq.h"
#include "drover/dlq_index.h"
#include "drover/redis_cmd.h"
#include "drover/redis.h"
#include "drover/str.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool drv_dlq_mark_discarded(const char *mark)
{
	return mark && !strcmp(mark, DRV_DLQ_DISCARDED);
}

bool drv_dlq_mark_key(const drv_config_t *cfg, const char *dl_id, char *buf,
		  size_t size)
{
	return drv_fmt(buf, size, "%sdlq:resubmitted:%s",
		       cfg->redis.key_prefix, dl_id);
}

static drv_err_t reply_err(redisContext *c, const redisReply *r,
			   const char *what, char *errstr, size_t errstr_size)
{
	if (!r)
		return drv_error(errstr, errstr_size, drv_redis_err(c),
				 "redis %s: %s", what, c->errstr);
	return drv_error(errstr, errstr_size, DRV_ERR_REDIS, "redis %s: %s",
			 what, r->type == REDIS_REPLY_ERROR ? r->str :
			 "unexpected reply");
}

drv_err_t drv_dlq_marks_get(redisContext *c, const drv_config_t *cfg,
			const char *const *dl_ids, size_t n,
			char (*task_ids)[DRV_ID_LEN + 1],
			char *errstr, size_t errstr_size)
{
	/* on the heap: the API calls this from its threads, whose stacks
	 * are small */
	char (*keys)[DRV_ID_LEN + 300];
	const char **argv;
	redisReply *r;
	drv_err_t rc = DRV_OK;

	if (n == 0)
		return DRV_OK;
	if (n > DRV_DLQ_MARK_BATCH)
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "too many marks in one call");
	keys = malloc(n * sizeof(*keys));
	argv = malloc((n + 1) * sizeof(*argv));
	if (!keys || !argv) {
		free(keys);
		free(argv);
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	}
	argv[0] = "MGET";
	for (size_t i = 0; i < n; i++) {
		if (!drv_dlq_mark_key(cfg, dl_ids[i], keys[i],
				      sizeof(keys[i]))) {
			free(keys);
			free(argv);
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "redis.key_prefix too long");
		}
		argv[i + 1] = keys[i];
	}
	r = redisCommandArgv(c, (int)n + 1, argv, NULL);
	free(keys);
	free(argv);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n)
		rc = reply_err(c, r, "MGET", errstr, errstr_size);
	for (size_t i = 0; !rc && i < n; i++) {
		const redisReply *e = r->element[i];

		task_ids[i][0] = '\0';
		if (e->type == REDIS_REPLY_STRING)
			drv_strlcpy(task_ids[i], e->str, DRV_ID_LEN + 1);
	}
	freeReplyObject(r);
	return rc;
}

/* KEYS: n marks, then the counts of each one's block; ARGV: n values (task
 * ids or "discarded"), n "1" (its block is known) or "0", the ttl, "nx"
 * (write only where there is no mark) or "set". Answers per mark "" when it
 * was written, else the mark left. The block's counts follow the mark: "x"
 * counts resubmission marks, "d" discard marks; one never goes below 0 (a
 * mark written before its block was counted is not in the counts). */
static drv_redis_script_t marks_script = DRV_REDIS_SCRIPT_INIT(
"local n = #KEYS / 2\n"
"local ttl, nx = ARGV[2 * n + 1], ARGV[2 * n + 2] == 'nx'\n"
"local out = {}\n"
"local function kind(v) if v == '" DRV_DLQ_DISCARDED "' then return 'd' end "
"return 'x' end\n"
"for i = 1, n do\n"
"  local old = redis.call('GET', KEYS[i])\n"
"  if nx and old then\n"
"    out[i] = old\n"
"  else\n"
"    redis.call('SET', KEYS[i], ARGV[i], 'PX', ttl)\n"
"    out[i] = ''\n"
"    local ck, now = KEYS[n + i], kind(ARGV[i])\n"
"    local was = old and kind(old)\n"
"    if ARGV[n + i] == '1' and was ~= now then\n"
"      if was and tonumber(redis.call('HGET', ck, was) or '0') > 0 then\n"
"        redis.call('HINCRBY', ck, was, -1)\n"
"      end\n"
"      redis.call('HINCRBY', ck, now, 1)\n"
"      redis.call('PEXPIRE', ck, ttl)\n"
"    end\n"
"  end\n"
"end\n"
"return out\n");

/* One script for \p n <= DRV_DLQ_MARK_BATCH marks: \p values[i] (NULL:
 * every one DRV_DLQ_DISCARDED, written only where there is no mark). */
static drv_err_t marks_set_batch(redisContext *c, const drv_config_t *cfg,
				 const char *const *dl_ids,
				 const char *const *values,
				 const drv_dlq_pos_t *pos, size_t n,
				 char (*old)[DRV_ID_LEN + 1],
				 char *errstr, size_t errstr_size)
{
	enum { KEY_SIZE = DRV_ID_LEN + 300 };
	char (*keys)[KEY_SIZE] = calloc(2 * n, KEY_SIZE), ttl[32];
	const char **argv = calloc(4 * n + 2, sizeof(*argv));
	redisReply *r = NULL;
	drv_err_t rc = DRV_OK;

	if (!keys || !argv) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
		goto out;
	}
	drv_fmt(ttl, sizeof(ttl), "%lld",
		(long long)(cfg->kafka.dlq_retention_ms + 86400000LL));
	for (size_t i = 0; i < n; i++) {
		bool known = pos && pos[i].partition >= 0 && pos[i].offset >= 0;

		if (!drv_dlq_mark_key(cfg, dl_ids[i], keys[i], KEY_SIZE) ||
		    (known && !drv_dlq_index_count_key(cfg, pos[i].partition,
						       pos[i].offset,
						       keys[n + i], KEY_SIZE))) {
			rc = drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				       "redis.key_prefix too long");
			goto out;
		}
		if (!known)  /* a key all the same; not written */
			drv_strlcpy(keys[n + i], keys[i], KEY_SIZE);
		argv[i] = keys[i];
		argv[n + i] = keys[n + i];
		argv[2 * n + i] = values ? values[i] : DRV_DLQ_DISCARDED;
		argv[3 * n + i] = known ? "1" : "0";
	}
	argv[4 * n] = ttl;
	argv[4 * n + 1] = values ? "set" : "nx";
	rc = drv_redis_script_run(c, &marks_script, (int)(2 * n),
				  (int)(4 * n + 2), argv, n, "SET", &r, errstr,
				  errstr_size);
	for (size_t i = 0; !rc && old && i < n; i++) {
		const redisReply *e = r->element[i];

		old[i][0] = '\0';
		if (e->type == REDIS_REPLY_STRING)
			drv_strlcpy(old[i], e->str, DRV_ID_LEN + 1);
	}
	freeReplyObject(r);
out:
	free(keys);
	free(argv);
	return rc;
}

drv_err_t drv_dlq_marks_set(redisContext *c, const drv_config_t *cfg,
			    const char *const *dl_ids,
			    const char *const *task_ids,
			    const drv_dlq_pos_t *pos, size_t n,
			    char *errstr, size_t errstr_size)
{
	drv_err_t rc = DRV_OK;

	for (size_t at = 0; at < n && !rc; at += DRV_DLQ_MARK_BATCH)
		rc = marks_set_batch(c, cfg, dl_ids + at, task_ids + at,
				     pos ? pos + at : NULL,
				     n - at < DRV_DLQ_MARK_BATCH ?
				     n - at : DRV_DLQ_MARK_BATCH, NULL,
				     errstr, errstr_size);
	return rc;
}

drv_err_t drv_dlq_marks_discard(redisContext *c, const drv_config_t *cfg,
				const char *const *dl_ids,
				const drv_dlq_pos_t *pos, size_t n,
				char (*old)[DRV_ID_LEN + 1], char *errstr,
				size_t errstr_size)
{
	drv_err_t rc = DRV_OK;

	for (size_t at = 0; at < n && !rc; at += DRV_DLQ_MARK_BATCH)
		rc = marks_set_batch(c, cfg, dl_ids + at, NULL,
				     pos ? pos + at : NULL,
				     n - at < DRV_DLQ_MARK_BATCH ?
				     n - at : DRV_DLQ_MARK_BATCH,
				     old ? old + at : NULL, errstr,
				     errstr_size);
	return rc;
}

/* Set "resubmitted_as" and "discarded" on the \p n entry objects \p objs
 * from their marks. */
static drv_err_t mark_batch(redisContext *c, const drv_config_t *cfg,
			    json_t **objs, const char **ids, size_t n,
			    char (*marks)[DRV_ID_LEN + 1], char *errstr,
			    size_t errstr_size)
{
	drv_err_t rc = drv_dlq_marks_get(c, cfg, ids, n, marks, errstr,
					 errstr_size);

	for (size_t i = 0; !rc && i < n; i++) {
		bool discarded = drv_dlq_mark_discarded(marks[i]);

		if (json_object_set_new(objs[i], "resubmitted_as",
					marks[i][0] && !discarded ?
					json_string(marks[i]) : json_null()) ||
		    json_object_set_new(objs[i], "discarded",
					json_boolean(discarded)))
			rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				       "out of memory");
	}
	return rc;
}

drv_err_t drv_dlq_entries_mark(redisContext *c, const drv_config_t *cfg,
			       json_t *entries, char *errstr,
			       size_t errstr_size)
{
	size_t cnt = json_is_array(entries) ? json_array_size(entries) : 1;
	json_t **objs = calloc(DRV_DLQ_MARK_BATCH, sizeof(*objs));
	const char **ids = calloc(DRV_DLQ_MARK_BATCH, sizeof(*ids));
	char (*marks)[DRV_ID_LEN + 1] = calloc(DRV_DLQ_MARK_BATCH,
					       sizeof(*marks));
	drv_err_t rc = DRV_OK;
	size_t n = 0;

	if (!objs || !ids || !marks)
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	for (size_t i = 0; !rc && i < cnt; i++) {
		json_t *o = json_is_array(entries) ?
			    json_array_get(entries, i) : entries;
		const char *id = json_string_value(json_object_get(o, "id"));

		if (!json_is_object(o) || !id ||
		    json_is_true(json_object_get(o, "undecodable_entry")))
			continue;
		objs[n] = o;
		ids[n++] = id;
		if (n == DRV_DLQ_MARK_BATCH) {
			rc = mark_batch(c, cfg, objs, ids, n, marks, errstr,
					errstr_size);
			n = 0;
		}
	}
	if (!rc && n)
		rc = mark_batch(c, cfg, objs, ids, n, marks, errstr,
				errstr_size);
	free(objs);
	free(ids);
	free(marks);
	return rc;
}

/* FNV-1a over \p s, then \p gen, from \p seed, finished by splitmix64. */
static uint64_t hash64(const char *s, unsigned gen, uint64_t seed)
{
	uint64_t h = seed;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((gen >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
	h += 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

void drv_dlq_resubmit_id(const char *dl_id, unsigned gen,
		     char out[DRV_ID_LEN + 1])
{
	uint64_t a = hash64(dl_id, gen, 0xcbf29ce484222325ULL);
	uint64_t b = hash64(dl_id, gen, 0x84222325cbf29ce4ULL);

	/* the first 10 characters are the 48-bit time of a ULID */
	size_t n = strlen(dl_id);

	for (size_t i = 0; i < 10; i++)
		out[i] = i < n && memchr(crockford, dl_id[i], 32) ?
			 dl_id[i] : '0';
	/* 16 characters = 80 bits: 64 from a, 16 from b */
	for (int i = 0; i < 16; i++) {
		unsigned v = i < 12 ? (unsigned)(a >> (5 * i)) & 31u :
			     (unsigned)(b >> (5 * (i - 12))) & 31u;
		out[10 + i] = crockford[v];
	}
	out[DRV_ID_LEN] = '\0';
}
