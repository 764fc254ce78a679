/*
 * dlq_mark.c — resubmission marks in Redis (see drover/dlq.h) and the
 * deterministic id of a resubmitted task.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/dlq.h"
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

drv_err_t drv_dlq_marks_set(redisContext *c, const drv_config_t *cfg,
			const char *const *dl_ids,
			const char *const *task_ids, size_t n,
			char *errstr, size_t errstr_size)
{
	char key[DRV_ID_LEN + 300], ttl[32];
	drv_err_t rc = DRV_OK;

	drv_fmt(ttl, sizeof(ttl), "%lld",
		(long long)(cfg->kafka.dlq_retention_ms + 86400000LL));
	for (size_t i = 0; i < n; i++) {
		const char *argv[5] = { "SET", key, task_ids[i], "PX", ttl };

		if (!drv_dlq_mark_key(cfg, dl_ids[i], key, sizeof(key)))
			return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
					 "redis.key_prefix too long");
		if (redisAppendCommandArgv(c, 5, argv, NULL) != REDIS_OK)
			return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
					 "out of memory");
	}
	/* read every reply, even after an error, so the connection stays
	 * in step */
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			return rc ? rc : reply_err(c, NULL, "SET", errstr,
						   errstr_size);
		}
		if (!rc && r->type == REDIS_REPLY_ERROR)
			rc = reply_err(c, r, "SET", errstr, errstr_size);
		freeReplyObject(r);
	}
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
