/*
 * dlq_fill.c — dead letters straight to a namespace's DLQ and records of
 * running tasks, for the benchmarks that need a big data set (bench.h,
 * "dead letters").
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "drover/clock.h"
#include "drover/dlq.h"
#include "drover/kafka.h"
#include "drover/state.h"

#define FILL_WINDOW 20000   /* dead letters in flight while filling */

bool bench_dlq_fill(bench_ns_t *ns, size_t n, size_t rare_every)
{
	drv_delivery_t *dr = calloc(FILL_WINDOW, sizeof(*dr));
	static const char payload[] = "{\"image\":\"a.png\",\"quality\":70}";
	int64_t t0 = drv_mono_ms(), now = drv_now_ms();
	char err[512], topic[256];
	size_t failed = 0;

	if (!dr)
		return false;
	drv_topic_name(ns->cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic));
	for (size_t base = 0; base < n && !bench_stop; base += FILL_WINDOW) {
		size_t cnt = n - base < FILL_WINDOW ? n - base : FILL_WINDOW;

		for (size_t i = 0; i < cnt; i++) {
			drv_dead_letter_t dl;
			drv_failure_t f = {
				.attempt = 1, .time_ms = now,
				.worker_id = "bench-worker",
				.failure_class = DRV_FAILURE_PERMANENT,
				.message = "exit code 3", .exit_code = 3,
				.duration_ms = 12,
			};

			drv_dead_letter_init(&dl);
			drv_id_new(dl.id, now);
			drv_id_new(dl.task.id, now - 1000);
			dl.task.handler = drv_strdup(rare_every &&
						     (base + i) % rare_every ==
						     rare_every / 2 ?
						     "rare" : "bench");
			dl.task.created_ms = now - 1000;
			dl.task.attempt = 1;
			drv_task_set_payload(&dl.task, payload,
					     strlen(payload));
			drv_dead_letter_add_failure(&dl, &f);
			dl.reason = DRV_DL_PERMANENT_FAILURE;
			dl.dead_ms = now;
			dl.source_topic = drv_strdup("bench.tasks.normal");
			dl.worker_id = drv_strdup("bench-worker");
			memset(&dr[i], 0, sizeof(dr[i]));
			while (drv_dead_letter_produce(ns->producer, ns->cfg, &dl,
						       &dr[i], err,
						       sizeof(err))) {
				/* queue full: let deliveries drain */
				rd_kafka_poll(ns->producer, 50);
			}
			drv_dead_letter_release(&dl);
			rd_kafka_poll(ns->producer, 0);
		}
		for (size_t i = 0; i < cnt; i++)
			if (drv_kafka_wait(ns->producer, &dr[i], topic, 60000,
					   err, sizeof(err)))
				failed++;
	}
	free(dr);
	bench_log("filled %s with %zu dead letters in %.1f s (%zu failed)",
		  topic, n, (double)(drv_mono_ms() - t0) / 1000.0, failed);
	return failed == 0 && !bench_stop;
}

bool bench_running_fill(const bench_ns_t *ns, size_t n)
{
	/* room to spare: a writer half a queue behind sheds running records */
	drv_state_opts_t opts = { .queue_max = 4 * n + 16 };
	drv_state_stats_t s = { 0 };
	int64_t now = drv_now_ms(), deadline;
	char err[256] = "", id[DRV_ID_LEN + 1];
	drv_state_t *st = drv_state_new(ns->cfg, &opts, err, sizeof(err));

	if (!st) {
		bench_log("state writer: %s", err);
		return false;
	}
	for (size_t i = 0; i < n && !bench_stop; i++) {
		drv_state_rec_t r = {
			.task_id = id, .state = DRV_TASK_RUNNING, .attempt = 1,
			.handler = "bench", .worker = "bench-worker",
			.created_ms = now, .started_ms = now, .priority = 5,
			.band = "normal",
		};

		drv_id_new(id, now);
		drv_state_record(st, &r);
	}
	deadline = drv_mono_ms() + 120000;
	do {
		drv_state_stats(st, &s);
		if (s.written >= n || s.dropped)
			break;
		usleep(10000);
	} while (drv_mono_ms() < deadline && !bench_stop);
	drv_state_destroy(st);
	bench_log("%llu of %zu records of running tasks written (%llu "
		  "dropped)", (unsigned long long)s.written, n,
		  (unsigned long long)s.dropped);
	return s.written >= n && !s.dropped;
}
