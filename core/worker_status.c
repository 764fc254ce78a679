/*
 * worker_status.c — the workers' status records in Redis (the keys are in
 * drover/queue_status.h): written by each worker every
 * DRV_WORKER_STATUS_EVERY_MS, read by `queue status` and GET
 * /api/v1/queues. A reader lists the workers from one zset, never by SCAN.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/queue_status.h"
#include "drover/redis_cmd.h"
#include "drover/str.h"

drv_err_t drv_worker_status_write(redisContext *c, const drv_config_t *cfg,
				  const drv_queue_worker_t *rec,
				  char *errstr, size_t errstr_size)
{
	const char *p = cfg->redis.key_prefix;
	char key[512], set[256], num[7][24];
	int64_t v[7] = { rec->runners, rec->busy, rec->started, rec->finished,
			 rec->band_partitions, rec->delay_partitions,
			 rec->updated_ms };
	drv_err_t rc = DRV_OK;

	drv_fmt(key, sizeof(key), "%sworkers:%s", p, rec->id);
	drv_fmt(set, sizeof(set), "%sworkers", p);
	for (int i = 0; i < 7; i++)
		drv_fmt(num[i], sizeof(num[i]), "%lld", (long long)v[i]);
	redisAppendCommand(c, "MULTI");
	redisAppendCommand(c, "HSET %s runners %s busy %s started %s "
			   "finished %s band_partitions %s delay_partitions "
			   "%s updated_ms %s partitions %s", key, num[0],
			   num[1], num[2], num[3], num[4], num[5], num[6],
			   rec->partitions ? rec->partitions : "");
	redisAppendCommand(c, "PEXPIRE %s %d", key, DRV_WORKER_STATUS_TTL_MS);
	redisAppendCommand(c, "ZADD %s %s %s", set, num[6], rec->id);
	redisAppendCommand(c, "ZREMRANGEBYSCORE %s -inf (%lld", set,
			   (long long)(rec->updated_ms -
				       DRV_WORKER_STATUS_TTL_MS));
	redisAppendCommand(c, "PEXPIRE %s %d", set, DRV_WORKER_STATUS_TTL_MS);
	redisAppendCommand(c, "EXEC");
	for (int i = 0; i < 7; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			drv_fmt(errstr, errstr_size, "redis: %s", c->errstr);
			return DRV_ERR_REDIS;
		}
		if (r->type == REDIS_REPLY_ERROR && !rc) {
			drv_fmt(errstr, errstr_size, "redis: %s", r->str);
			rc = DRV_ERR_REDIS;
		}
		freeReplyObject(r);
	}
	return rc;
}

static int64_t field_num(const redisReply *h, const char *name)
{
	const char *s = drv_redis_hash_field(h, name);

	return s ? strtoll(s, NULL, 10) : 0;
}

static const char *field_str(const redisReply *h, const char *name)
{
	const char *s = drv_redis_hash_field(h, name);

	return s ? s : "";
}

drv_err_t drv_worker_status_read(redisContext *c, const drv_config_t *cfg,
				 drv_queue_status_t *s)
{
	const char *p = cfg->redis.key_prefix;
	redisReply *ids = redisCommand(c, "ZRANGEBYSCORE %sworkers %lld +inf",
		p, (long long)(drv_now_ms() - DRV_WORKER_STATUS_TTL_MS));
	drv_err_t rc = DRV_OK;
	size_t n;

	if (!ids || ids->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(ids);
		return DRV_ERR_REDIS;
	}
	n = ids->elements;
	if (n && !(s->workers = calloc(n, sizeof(*s->workers)))) {
		freeReplyObject(ids);
		return DRV_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		redisAppendCommand(c, "HGETALL %sworkers:%s", p,
				   ids->element[i]->str);
	for (size_t i = 0; i < n; i++) {
		redisReply *h = NULL;
		drv_queue_worker_t *w = &s->workers[s->worker_cnt];

		if (redisGetReply(c, (void **)&h) != REDIS_OK) {
			rc = DRV_ERR_REDIS;
			break;
		}
		/* expired between the two reads: gone */
		if (h->type == REDIS_REPLY_ARRAY && h->elements >= 2) {
			drv_fmt(w->id, sizeof(w->id), "%s",
				ids->element[i]->str);
			w->runners = field_num(h, "runners");
			w->busy = field_num(h, "busy");
			w->started = field_num(h, "started");
			w->finished = field_num(h, "finished");
			w->band_partitions = field_num(h, "band_partitions");
			w->delay_partitions = field_num(h,
							"delay_partitions");
			w->updated_ms = field_num(h, "updated_ms");
			w->partitions = strdup(field_str(h, "partitions"));
			s->running += w->busy;
			s->worker_cnt++;
		}
		freeReplyObject(h);
	}
	freeReplyObject(ids);
	s->workers_known = rc == DRV_OK;
	return rc;
}
