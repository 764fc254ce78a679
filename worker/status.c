/*
 * status.c — the worker's status record in Redis (drover/queue_status.h),
 * written every DRV_WORKER_STATUS_EVERY_MS by a thread of its own, so
 * `droverctl queue status` and GET /api/v1/queues can say which worker
 * holds which partitions and how many runners are busy. Never on the hot
 * path: runners only bump atomic counters (runner.c); this thread reads
 * them and the consumers' assignments (librdkafka's assignment call is
 * thread-safe). Redis down: the record just ages out, and the thread
 * reconnects on its next turn.
 *
 * @locality its own thread, except status_start() / status_stop() (main).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/log.h"
#include "drover/queue_status.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "worker.h"

struct status {
	worker_t       *w;
	pthread_t       thread;
	pthread_mutex_t lock;
	pthread_cond_t  cond;
	bool            quit;
	redisContext   *redis;
	bool            failing;       /* last write failed (logged once) */
};

/* Append "topic/N" of every assigned partition of \p rk to \p buf; returns
 * how many. */
static int64_t held(rd_kafka_t *rk, drv_buf_t *buf)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	int64_t n;

	if (!rk || rd_kafka_assignment(rk, &parts))
		return 0;
	for (int i = 0; i < parts->cnt; i++) {
		char one[300];

		drv_fmt(one, sizeof(one), "%s%s/%d", buf->len ? " " : "",
			parts->elems[i].topic, (int)parts->elems[i].partition);
		drv_buf_add(buf, one, strlen(one));
	}
	n = parts->cnt;
	rd_kafka_topic_partition_list_destroy(parts);
	return n;
}

static void publish(struct status *s)
{
	worker_t *w = s->w;
	drv_queue_worker_t rec = { .updated_ms = drv_now_ms() };
	drv_buf_t parts = { 0 };
	char err[512];

	drv_fmt(rec.id, sizeof(rec.id), "%s", w->daemon->id);
	rec.runners = (int64_t)w->runner_cnt;
	rec.busy = (int64_t)__atomic_load_n(&w->busy, __ATOMIC_RELAXED);
	rec.started = __atomic_load_n(&w->started, __ATOMIC_RELAXED);
	rec.finished = __atomic_load_n(&w->finished, __ATOMIC_RELAXED);
	rec.band_partitions = held(w->consumer, &parts);
	rec.delay_partitions = held(w->delay, &parts);
	rec.partitions = parts.p && !parts.oom ? parts.p : "";
	if (!s->redis && drv_redis_connect(w->cfg, &s->redis, err,
					   sizeof(err)))
		s->redis = NULL;
	else if (drv_worker_status_write(s->redis, w->cfg, &rec, err,
					 sizeof(err)) == DRV_OK) {
		s->failing = false;
		free(parts.p);
		return;
	}
	if (!s->failing)
		drv_log_kv(DRV_LOG_WARN, "cannot write the worker status "
			   "record", "error", err, NULL);
	s->failing = true;
	redisFree(s->redis);
	s->redis = NULL;
	free(parts.p);
}

static void *status_main(void *arg)
{
	struct status *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->quit) {
		struct timespec ts;

		pthread_mutex_unlock(&s->lock);
		publish(s);
		pthread_mutex_lock(&s->lock);
		ts = drv_deadline(CLOCK_REALTIME, DRV_WORKER_STATUS_EVERY_MS);
		if (!s->quit)
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

bool status_start(worker_t *w)
{
	struct status *s = calloc(1, sizeof(*s));

	if (!s)
		return false;
	s->w = w;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, status_main, s)) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return false;
	}
	w->status = s;
	return true;
}

void status_stop(worker_t *w)
{
	struct status *s = w->status;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	redisFree(s->redis);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
	w->status = NULL;
}
