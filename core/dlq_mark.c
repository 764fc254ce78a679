/*
 * dlq_mark.c — resubmission marks in Redis (see drover/dlq.h) and the
 * deterministic id of a resubmitted task.
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

/* KEYS: n marks, then the counts of each one's block; ARGV: n task ids, n
 * "1" (its block is known) or "0", the ttl. */
static drv_redis_script_t marks_script = DRV_REDIS_SCRIPT_INIT(
"local n, ttl = #KEYS / 2, ARGV[#ARGV]\n"
"for i = 1, n do\n"
"  local old = redis.call('GET', KEYS[i])\n"
"  redis.call('SET', KEYS[i], ARGV[i], 'PX', ttl)\n"
"  if not old and ARGV[n + i] == '1' then\n"
"    redis.call('HINCRBY', KEYS[n + i], 'x', 1)\n"
"    redis.call('PEXPIRE', KEYS[n + i], ttl)\n"
"  end\n"
"end\n"
"return {n}\n");

/* One script for \p n <= DRV_DLQ_MARK_BATCH marks. */
static drv_err_t marks_set_batch(redisContext *c, const drv_config_t *cfg,
				 const char *const *dl_ids,
				 const char *const *task_ids,
				 const drv_dlq_pos_t *pos, size_t n,
				 char *errstr, size_t errstr_size)
{
	enum { KEY_SIZE = DRV_ID_LEN + 300 };
	char (*keys)[KEY_SIZE] = calloc(2 * n, KEY_SIZE), ttl[32];
	const char **argv = calloc(4 * n + 1, sizeof(*argv));
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
		argv[2 * n + i] = task_ids[i];
		argv[3 * n + i] = known ? "1" : "0";
	}
	argv[4 * n] = ttl;
	rc = drv_redis_script_run(c, &marks_script, (int)(2 * n),
				  (int)(4 * n + 1), argv, 1, "SET", &r, errstr,
				  errstr_size);
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
				     n - at : DRV_DLQ_MARK_BATCH,
				     errstr, errstr_size);
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
