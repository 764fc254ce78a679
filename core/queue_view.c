/*
 * queue_view.c — the pure half of `queue status` (drover/queue_status.h):
 * a sample's lifecycle, the rates between two samples, and the one JSON
 * form that both `droverctl queue status --json` and GET /api/v1/queues
 * print.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/queue_status.h"

void drv_queue_status_init(drv_queue_status_t *s)
{
	memset(s, 0, sizeof(*s));
}

void drv_queue_status_release(drv_queue_status_t *s)
{
	for (size_t i = 0; i < s->worker_cnt; i++)
		free(s->workers[i].partitions);
	free(s->workers);
	free(s->topics);
	drv_queue_status_init(s);
}

void drv_queue_rates(drv_queue_status_t *now, const drv_queue_status_t *before)
{
	int64_t span = now->at_ms - before->at_ms;

	now->rate_ms = 0;
	if (span <= 0)
		return;
	for (size_t i = 0; i < now->topic_cnt; i++) {
		drv_queue_topic_t *t = &now->topics[i];
		const drv_queue_topic_t *b = NULL;

		for (size_t j = 0; !b && j < before->topic_cnt; j++)
			if (!strcmp(before->topics[j].topic, t->topic))
				b = &before->topics[j];
		t->rate_in = t->rate_out = -1;
		if (!b || t->high < b->high || t->done < b->done)
			continue;
		t->rate_in = (double)(t->high - b->high) * 1000.0 /
			     (double)span;
		t->rate_out = (double)(t->done - b->done) * 1000.0 /
			      (double)span;
		now->rate_ms = span;
	}
}

static json_t *rate_json(double r)
{
	return r < 0 ? json_null() : json_real(r);
}

/* "topic/N topic/N" as an array of strings. */
static json_t *partitions_json(const char *list)
{
	json_t *arr = json_array();

	while (list && *list) {
		size_t n = strcspn(list, " ");

		if (n)
			json_array_append_new(arr, json_stringn(list, n));
		list += n;
		list += strspn(list, " ");
	}
	return arr;
}

json_t *drv_queue_status_json(const drv_queue_status_t *s)
{
	json_t *topics = json_array(), *workers = json_array();

	for (size_t i = 0; i < s->topic_cnt; i++) {
		const drv_queue_topic_t *t = &s->topics[i];
		int64_t age = t->oldest_ms && t->waiting ?
			s->at_ms - t->oldest_ms : -1;

		json_array_append_new(topics, json_pack(
			"{s:s, s:s, s:s, s:i, s:I, s:o, s:o, s:o}",
			"topic", t->topic, "kind", t->kind, "name", t->name,
			"partitions", (int)t->partitions,
			"waiting", (json_int_t)t->waiting,
			"oldest_age_ms", age < 0 ? json_null() :
			json_integer(age),
			"rate_in", rate_json(t->rate_in),
			"rate_out", rate_json(t->rate_out)));
	}
	for (size_t i = 0; i < s->worker_cnt; i++) {
		const drv_queue_worker_t *w = &s->workers[i];
		int64_t ago = s->at_ms - w->updated_ms;

		json_array_append_new(workers, json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I}",
			"id", w->id, "runners", (json_int_t)w->runners,
			"busy", (json_int_t)w->busy,
			"started", (json_int_t)w->started,
			"finished", (json_int_t)w->finished,
			"band_partitions", (json_int_t)w->band_partitions,
			"delay_partitions", (json_int_t)w->delay_partitions,
			"partitions", partitions_json(w->partitions),
			"last_seen_ms_ago", (json_int_t)(ago > 0 ? ago : 0)));
	}
	if (!s->workers_known) {
		json_decref(workers);
		workers = json_null();
	}
	return json_pack("{s:I, s:I, s:o, s:o, s:o}",
			 "at_ms", (json_int_t)s->at_ms,
			 "rate_span_ms", (json_int_t)s->rate_ms,
			 "running", s->workers_known ?
			 json_integer(s->running) : json_null(),
			 "topics", topics, "workers", workers);
}
