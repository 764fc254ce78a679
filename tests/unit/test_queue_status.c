/*
 * Unit tests for the pure half of queue status (core/queue_view.c): the
 * rates between two samples and the JSON both the CLI and the API print.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "drover/queue_status.h"
#include "drover/str.h"

/* A sample of two topics at \p at_ms with the given sums. */
static void sample(drv_queue_status_t *s, int64_t at_ms, int64_t high0,
		   int64_t done0, int64_t high1, int64_t done1)
{
	drv_queue_status_init(s);
	s->at_ms = at_ms;
	s->topics = calloc(2, sizeof(*s->topics));
	cr_assert_not_null(s->topics);
	s->topic_cnt = 2;
	drv_fmt(s->topics[0].topic, sizeof(s->topics[0].topic), "d.tasks.high");
	drv_fmt(s->topics[1].topic, sizeof(s->topics[1].topic), "d.delay.1s");
	drv_fmt(s->topics[0].kind, sizeof(s->topics[0].kind), "band");
	drv_fmt(s->topics[1].kind, sizeof(s->topics[1].kind), "delay");
	drv_fmt(s->topics[0].name, sizeof(s->topics[0].name), "high");
	drv_fmt(s->topics[1].name, sizeof(s->topics[1].name), "1s");
	s->topics[0].high = high0;
	s->topics[0].done = done0;
	s->topics[0].waiting = high0 - done0;
	s->topics[1].high = high1;
	s->topics[1].done = done1;
	s->topics[1].waiting = high1 - done1;
	for (int i = 0; i < 2; i++)
		s->topics[i].rate_in = s->topics[i].rate_out = -1;
}

Test(queue_status, rates_are_deltas_per_second)
{
	drv_queue_status_t a, b;

	sample(&a, 10000, 100, 40, 7, 7);
	sample(&b, 12000, 160, 50, 7, 7);
	drv_queue_rates(&b, &a);
	cr_expect_eq(b.rate_ms, 2000);
	cr_expect_float_eq(b.topics[0].rate_in, 30.0, 1e-9);
	cr_expect_float_eq(b.topics[0].rate_out, 5.0, 1e-9);
	cr_expect_float_eq(b.topics[1].rate_in, 0.0, 1e-9);
	cr_expect_float_eq(b.topics[1].rate_out, 0.0, 1e-9);
	drv_queue_status_release(&a);
	drv_queue_status_release(&b);
}

Test(queue_status, no_rates_without_a_usable_earlier_sample)
{
	drv_queue_status_t a, b;

	/* same time: no span */
	sample(&a, 10000, 100, 40, 7, 7);
	sample(&b, 10000, 160, 50, 7, 7);
	drv_queue_rates(&b, &a);
	cr_expect_eq(b.rate_ms, 0);
	cr_expect_lt(b.topics[0].rate_in, 0);
	drv_queue_status_release(&b);

	/* a topic recreated (its watermark went back): not measured */
	sample(&b, 11000, 10, 5, 9, 8);
	drv_queue_rates(&b, &a);
	cr_expect_lt(b.topics[0].rate_in, 0);
	cr_expect_lt(b.topics[0].rate_out, 0);
	cr_expect_float_eq(b.topics[1].rate_in, 2.0, 1e-9);
	cr_expect_float_eq(b.topics[1].rate_out, 1.0, 1e-9);
	cr_expect_eq(b.rate_ms, 1000);
	drv_queue_status_release(&b);

	/* a topic the earlier sample lacks */
	drv_fmt(a.topics[1].topic, sizeof(a.topics[1].topic), "d.delay.10s");
	sample(&b, 11000, 100, 40, 9, 8);
	drv_queue_rates(&b, &a);
	cr_expect_lt(b.topics[1].rate_in, 0);
	cr_expect_float_eq(b.topics[0].rate_in, 0.0, 1e-9);
	drv_queue_status_release(&a);
	drv_queue_status_release(&b);
}

Test(queue_status, json_has_every_field)
{
	drv_queue_status_t s;
	json_t *j, *t0, *t1, *w;
	char *text;

	sample(&s, 50000, 100, 40, 7, 7);
	s.topics[0].partitions = 4;
	s.topics[0].oldest_ms = 42000;
	s.topics[1].oldest_ms = 1;       /* nothing waiting: no age */
	s.topics[0].rate_in = 2.5;
	s.topics[0].rate_out = 0;
	s.rate_ms = 1000;
	s.workers = calloc(1, sizeof(*s.workers));
	cr_assert_not_null(s.workers);
	s.worker_cnt = 1;
	s.workers_known = true;
	drv_fmt(s.workers[0].id, sizeof(s.workers[0].id), "w-1");
	s.workers[0].runners = 4;
	s.workers[0].busy = 3;
	s.workers[0].band_partitions = 2;
	s.workers[0].updated_ms = 48500;
	s.workers[0].partitions = strdup("d.tasks.high/0  d.tasks.high/3");
	s.running = 3;

	j = drv_queue_status_json(&s);
	text = json_dumps(j, JSON_COMPACT);
	cr_assert_not_null(text);
	cr_expect_eq(json_integer_value(json_object_get(j, "at_ms")), 50000);
	cr_expect_eq(json_integer_value(json_object_get(j, "rate_span_ms")),
		     1000);
	cr_expect_eq(json_integer_value(json_object_get(j, "running")), 3);
	t0 = json_array_get(json_object_get(j, "topics"), 0);
	t1 = json_array_get(json_object_get(j, "topics"), 1);
	cr_expect_str_eq(json_string_value(json_object_get(t0, "topic")),
			 "d.tasks.high");
	cr_expect_str_eq(json_string_value(json_object_get(t0, "kind")),
			 "band");
	cr_expect_str_eq(json_string_value(json_object_get(t1, "name")), "1s");
	cr_expect_eq(json_integer_value(json_object_get(t0, "partitions")), 4);
	cr_expect_eq(json_integer_value(json_object_get(t0, "waiting")), 60);
	cr_expect_eq(json_integer_value(json_object_get(t0, "oldest_age_ms")),
		     8000);
	cr_expect(json_is_null(json_object_get(t1, "oldest_age_ms")), "%s",
		  text);
	cr_expect_float_eq(json_real_value(json_object_get(t0, "rate_in")),
			   2.5, 1e-9);
	cr_expect(json_is_null(json_object_get(t1, "rate_in")), "%s", text);
	w = json_array_get(json_object_get(j, "workers"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(w, "id")), "w-1");
	cr_expect_eq(json_integer_value(json_object_get(w, "busy")), 3);
	cr_expect_eq(json_integer_value(json_object_get(w, "runners")), 4);
	cr_expect_eq(json_integer_value(json_object_get(w,
		     "last_seen_ms_ago")), 1500);
	cr_expect_eq(json_array_size(json_object_get(w, "partitions")), 2,
		     "%s", text);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(w,
			 "partitions"), 1)), "d.tasks.high/3");
	free(text);
	json_decref(j);

	/* Redis did not answer: workers and running are null */
	s.workers_known = false;
	j = drv_queue_status_json(&s);
	cr_expect(json_is_null(json_object_get(j, "workers")));
	cr_expect(json_is_null(json_object_get(j, "running")));
	json_decref(j);
	drv_queue_status_release(&s);
	cr_expect_eq(s.topic_cnt, 0);
	cr_expect_null(s.topics);
}
