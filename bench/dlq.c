/*
 * dlq.c — drover-bench-dlq: how fast droverctl reads and resubmits a big
 * dead-letter queue, and whether its memory stays flat.
 *
 *   1. fill: BENCH_DLQ_LIST dead letters (default 1,000,000) are produced
 *      straight to the DLQ of one namespace, BENCH_DLQ_RESUBMIT (default
 *      100,000) to the DLQ of a second one;
 *   2. baseline: a plain librdkafka read of the big DLQ, no decoding
 *      (what any reader of that topic pays);
 *   3. `droverctl dlq list` over the big DLQ and over the small one
 *      (entries/s, peak RSS of the droverctl process: flat memory means the
 *      two peaks are about equal although one DLQ is 10x the other);
 *   4. `droverctl dlq resubmit --all` of the small DLQ (entries/s, peak
 *      RSS), and the same again, which must resubmit nothing.
 *
 * Targets (issue 6): list >= 100,000 entries/s, resubmit >= 20,000/s,
 * memory flat. Every droverctl run is bounded by BENCH_TIMEOUT seconds.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"


#define FILL_WINDOW 20000   /* dead letters in flight while filling */

/* Produce \p n dead letters of handler "bench" to \p ns's DLQ. */
static bool fill(bench_ns_t *ns, size_t n)
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
			dl.task.handler = drv_strdup("bench");
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

/* A plain read of the whole DLQ: counts messages, decodes nothing. */
static double raw_read(bench_ns_t *ns, size_t n)
{
	char topic[256], err[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *parts;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt;
	size_t got = 0;
	int64_t t0, limit;

	drv_topic_name(ns->cfg, DRV_TOPIC_DLQ, NULL, 0, topic, sizeof(topic));
	if (!(conf = drv_kafka_conf_new(ns->cfg, "bench-raw", err,
					sizeof(err))))
		return -1;
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
		return -1;
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1) {
		rd_kafka_topic_destroy(rkt);
		rd_kafka_destroy(rk);
		return -1;
	}
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int p = 0; p < md->topics[0].partition_cnt; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	t0 = drv_mono_ms();
	limit = t0 + bench_env_int("BENCH_TIMEOUT", 60, 5, 3600) * 1000;
	rd_kafka_assign(rk, parts);
	while (got < n && drv_mono_ms() < limit && !bench_stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (m && !m->err)
			got++;
		if (m)
			rd_kafka_message_destroy(m);
	}
	t0 = drv_mono_ms() - t0;
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return got == n && t0 > 0 ? (double)n * 1000.0 / (double)t0 : -1;
}

static double rate(size_t n, int64_t ms)
{
	return ms > 0 ? (double)n * 1000.0 / (double)ms : 0;
}

int main(void)
{
	size_t n_list = (size_t)bench_env_int("BENCH_DLQ_LIST", 1000000, 1000,
					      100000000);
	size_t n_resub = (size_t)bench_env_int("BENCH_DLQ_RESUBMIT", 100000,
					       100, 10000000);
	char *list_args[] = { "dlq", "list", "--limit", "50", NULL };
	char *resub_args[] = { "dlq", "resubmit", "--all", "--set",
			       "quality=80", "--json", NULL };
	bench_ns_t big, small;
	bench_run_t lb = { 0 }, ls = { 0 }, rs = { 0 }, rs2 = { 0 };
	double raw;
	bool ok;

	bench_signals_install();
	ok = bench_ns_open(&big, "dlqbig", "") &&
	     bench_ns_open(&small, "dlqsmall", "") &&
	     fill(&big, n_list) && fill(&small, n_resub);
	if (!ok) {
		bench_ns_close(&big);
		bench_ns_close(&small);
		return 1;
	}
	raw = raw_read(&big, n_list);
	ok = bench_ctl(&big, &lb, list_args) && bench_ctl(&small, &ls, list_args) &&
	     bench_ctl(&small, &rs, resub_args) && bench_ctl(&small, &rs2, resub_args);

	printf("\n## dlq (drover-bench-dlq)\n\n");
	printf("| run | entries | time | entries/s | target | peak RSS |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	if (raw > 0)
		printf("| baseline: plain librdkafka read, no decoding | %zu | "
		       "| %.0f | | |\n", n_list, raw);
	if (lb.ms)
		printf("| `dlq list` | %zu | %.1f s | %.0f | >= 100000 | "
		       "%ld MB |\n", n_list, lb.ms / 1000.0,
		       rate(n_list, lb.ms), lb.peak_kb / 1024);
	if (ls.ms)
		printf("| `dlq list` | %zu | %.1f s | %.0f | >= 100000 | "
		       "%ld MB |\n", n_resub, ls.ms / 1000.0,
		       rate(n_resub, ls.ms), ls.peak_kb / 1024);
	if (rs.ms)
		printf("| `dlq resubmit --all --set` | %zu | %.1f s | %.0f | "
		       ">= 20000 | %ld MB |\n", n_resub, rs.ms / 1000.0,
		       rate(n_resub, rs.ms), rs.peak_kb / 1024);
	if (rs2.ms)
		printf("| the same resubmit again (all already done) | %zu | "
		       "%.1f s | %.0f | | %ld MB |\n", n_resub,
		       rs2.ms / 1000.0, rate(n_resub, rs2.ms),
		       rs2.peak_kb / 1024);
	if (raw > 0 && lb.ms)
		printf("\nratio `dlq list` / plain read: %.2f\n",
		       rate(n_list, lb.ms) / raw);
	if (lb.ms && ls.ms && ls.peak_kb > 0)
		printf("peak RSS ratio, list of %zu / list of %zu entries: "
		       "%.2f (flat = about 1)\n", n_list, n_resub,
		       (double)lb.peak_kb / (double)ls.peak_kb);
	printf("(times include droverctl's start, connecting and reading "
	       "the end offsets)\n");
	bench_ns_close(&big);
	bench_ns_close(&small);
	return ok ? 0 : 1;
}
