/*
 * queues.c — GET /api/v1/queues: tasks waiting per band and delay tier, the
 * oldest one's age, rates in and out, and the workers with their
 * partitions and busy runners. The same core call and the same JSON as
 * `droverctl queue status --json` (drover/queue_status.h).
 *
 * A request never waits for a rate: the server keeps the last sample
 * (one per process, under a lock) and measures rates against it when it is
 * RATE_MIN_MS to RATE_MAX_MS old, then keeps the new sample instead. A
 * request sooner than RATE_MIN_MS after it repeats the rates last measured
 * (rate_span_ms says over how long); the first request, or one after a
 * silence longer than RATE_MAX_MS, has no rates (null).
 *
 * Samples are taken one at a time (the reader's Kafka handles serve one
 * sample at once), and a request that comes while one is being taken does
 * not wait for it: it gets the last reply (its at_ms says when it was
 * taken), or 503 before there is one. So a slow broker holds at most one
 * API thread.
 */
#include <string.h>

#include "api_int.h"
#include "drover/str.h"

#define RATE_MIN_MS 1000
#define RATE_MAX_MS 60000

void api_queues_init(struct drv_api *a)
{
	drv_queue_status_init(&a->queue_last);
	a->queue_reader = NULL;
	a->queue_reply = NULL;
	pthread_mutex_init(&a->queue_lock, NULL);
	pthread_mutex_init(&a->queue_reply_lock, NULL);
}

void api_queues_release(struct drv_api *a)
{
	drv_queue_reader_destroy(a->queue_reader);
	a->queue_reader = NULL;
	drv_queue_status_release(&a->queue_last);
	json_decref(a->queue_reply);
	a->queue_reply = NULL;
	pthread_mutex_destroy(&a->queue_reply_lock);
	pthread_mutex_destroy(&a->queue_lock);
}

/* Rates of \p now against the kept sample \p last (see the file comment);
 * true when \p now should replace it. */
static bool rates(drv_queue_status_t *now, const drv_queue_status_t *last)
{
	int64_t age = now->at_ms - last->at_ms;

	if (!last->topics || age > RATE_MAX_MS || age < 0)
		return true;
	if (age >= RATE_MIN_MS) {
		drv_queue_rates(now, last);
		return true;
	}
	now->rate_ms = last->rate_ms;
	for (size_t i = 0; i < now->topic_cnt && i < last->topic_cnt; i++)
		if (!strcmp(now->topics[i].topic, last->topics[i].topic)) {
			now->topics[i].rate_in = last->topics[i].rate_in;
			now->topics[i].rate_out = last->topics[i].rate_out;
		}
	return false;
}

/* The reply other requests get while this one samples (a copy of \p o). */
static void keep_reply(struct drv_api *a, const json_t *o)
{
	json_t *copy = json_deep_copy(o);

	pthread_mutex_lock(&a->queue_reply_lock);
	json_decref(a->queue_reply);
	a->queue_reply = copy;
	pthread_mutex_unlock(&a->queue_reply_lock);
}

/* Another request is sampling: answer with the last reply instead of
 * waiting for Kafka (one API thread at most waits on a slow broker). */
static void last_reply(api_call_t *call)
{
	struct drv_api *a = call->api;
	json_t *o;

	pthread_mutex_lock(&a->queue_reply_lock);
	o = a->queue_reply ? json_deep_copy(a->queue_reply) : NULL;
	pthread_mutex_unlock(&a->queue_reply_lock);
	if (o)
		api_reply(call, 200, o);
	else
		api_problem(call, 503, NULL, "the first sample is being "
			    "taken; retry in a few seconds");
}

void api_queues_status(api_call_t *call)
{
	struct drv_api *a = call->api;
	redisContext *c = api_redis(call);
	drv_queue_status_t now;
	json_t *o = NULL;
	char err[512];
	drv_err_t rc = DRV_OK;

	if (!c)
		return;
	if (pthread_mutex_trylock(&a->queue_lock)) {
		last_reply(call);
		return;
	}
	if (!a->queue_reader &&
	    !(a->queue_reader = drv_queue_reader_new(a->cfg, err,
						     sizeof(err))))
		rc = DRV_ERR_KAFKA;
	if (!rc)
		rc = drv_queue_sample(a->queue_reader, c, &now, err,
				      sizeof(err));
	if (!rc) {
		bool keep = rates(&now, &a->queue_last);

		o = drv_queue_status_json(&now);
		keep_reply(a, o);
		if (keep) {
			drv_queue_status_release(&a->queue_last);
			a->queue_last = now;
		} else {
			drv_queue_status_release(&now);
		}
	}
	pthread_mutex_unlock(&a->queue_lock);
	if (rc) {
		api_problem(call, api_status_of(rc), NULL, "%s", err);
		return;
	}
	if (json_is_null(json_object_get(o, "workers")))
		api_redis_lost(call);
	api_reply(call, 200, o);
}

drv_err_t api_queued_list(api_call_t *call, redisContext *c,
			  const drv_task_filter_t *f, const char *cursor,
			  size_t limit, drv_task_page_t *out, char *errstr,
			  size_t errstr_size)
{
	struct drv_api *a = call->api;
	drv_err_t rc = DRV_OK;

	pthread_mutex_lock(&a->queue_lock);
	if (!a->queue_reader &&
	    !(a->queue_reader = drv_queue_reader_new(a->cfg, errstr,
						     errstr_size)))
		rc = DRV_ERR_KAFKA;
	if (!rc)
		rc = drv_task_list_queued(a->queue_reader, c,
					  a->cfg->redis.key_prefix, f, cursor,
					  limit, out, errstr, errstr_size);
	pthread_mutex_unlock(&a->queue_lock);
	return rc;
}

const api_route_t api_queue_routes[] = {
	{ .method = "GET", .path = "/api/v1/queues",
	  .role = DRV_API_VIEWER, .cls = API_READ, .fn = api_queues_status,
	  .op_id = "getQueues", .tag = "queues",
	  .summary = "Tasks waiting per band and delay tier, rates, workers",
	  .ok_status = 200,
	  .response = "{\"$ref\": \"#/components/schemas/QueueStatus\"}",
	  .errors = "503" },
	{ .method = NULL },
};

#define NUM_OR_NULL "{\"type\": [\"number\", \"null\"]}"
#define INT "{\"type\": \"integer\"}"

const api_schema_t api_queue_schemas[] = {
	{ "QueueStatus",
	  "{\"type\": \"object\", \"required\": [\"at_ms\", \"rate_span_ms\", "
	  "\"running\", \"topics\", \"workers\"], \"properties\": {"
	  "\"at_ms\": " INT ", "
	  "\"rate_span_ms\": {\"type\": \"integer\", \"description\": \"span "
	  "the rates cover; 0 = no rates yet (the server measures them "
	  "against its previous sample, 1 s to 60 s old)\"}, "
	  "\"running\": {\"type\": [\"integer\", \"null\"], \"description\": "
	  "\"busy runners of every worker; null when Redis did not "
	  "answer\"}, "
	  "\"topics\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"object\", \"required\": [\"topic\", \"kind\", \"name\", "
	  "\"partitions\", \"waiting\", \"oldest_age_ms\", \"rate_in\", "
	  "\"rate_out\"], \"properties\": {"
	  "\"topic\": {\"type\": \"string\"}, "
	  "\"kind\": {\"type\": \"string\", \"enum\": [\"band\", "
	  "\"delay\"]}, "
	  "\"name\": {\"type\": \"string\"}, "
	  "\"partitions\": " INT ", "
	  "\"waiting\": {\"type\": \"integer\", \"description\": \"the "
	  "workers' consumer lag\"}, "
	  "\"oldest_age_ms\": {\"type\": [\"integer\", \"null\"]}, "
	  "\"rate_in\": " NUM_OR_NULL ", \"rate_out\": " NUM_OR_NULL
	  "}}}, "
	  "\"workers\": {\"type\": [\"array\", \"null\"], \"items\": "
	  "{\"type\": \"object\", \"required\": [\"id\", \"runners\", "
	  "\"busy\", \"partitions\", \"last_seen_ms_ago\"], "
	  "\"properties\": {"
	  "\"id\": {\"type\": \"string\"}, \"runners\": " INT ", "
	  "\"busy\": " INT ", \"started\": " INT ", \"finished\": " INT ", "
	  "\"band_partitions\": " INT ", \"delay_partitions\": " INT ", "
	  "\"partitions\": {\"type\": \"array\", \"items\": {\"type\": "
	  "\"string\"}}, "
	  "\"last_seen_ms_ago\": " INT "}}}}}" },
	{ NULL, NULL },
};
