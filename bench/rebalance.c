/*
 * rebalance.c — workers joining and leaving under load: what is lost and
 * what runs twice.
 *
 * BENCH_REBALANCE_TASKS (100,000) tasks of the built-in `sleep` handler
 * (2 ms) wait on the normal band. Two runs, each in a namespace of its own:
 *   - baseline: two workers drain them, nobody joins or leaves;
 *   - scale: two workers start; 3 s later two more join; 5 s after that
 *     those two stop with SIGTERM (back to two) while the run goes on.
 * From the lifecycle events it counts, per run, the tasks that succeeded
 * (distinct ids), the ones lost (never succeeded) and the ones that ran
 * twice (a second task.succeeded for one id), and the drain time, the
 * scale run's as a ratio of the baseline's. The group protocol is the
 * config's (DROVER_KAFKA_GROUP_PROTOCOL=consumer for KIP-848). It never
 * fails on a figure. Exit status: 0 when both runs completed, 1 otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "bench.h"

#define JOIN_AFTER_MS  3000
#define LEAVE_AFTER_MS 5000
#define CONCURRENCY    8

typedef struct result {
	size_t  distinct;     /* ids that succeeded */
	size_t  twice;        /* extra task.succeeded events */
	int64_t elapsed_ms;   /* first worker start to the last success */
	bool    complete;
} result_t;

typedef struct count_arg {
	result_t *r;
} count_arg_t;

static void count(bench_rec_t *rec, void *arg)
{
	result_t *r = ((count_arg_t *)arg)->r;

	if (rec->count > 0)
		r->distinct++;
	if (rec->count > 1)
		r->twice += (size_t)rec->count - 1;
}

/* One run: produce, start two workers, optionally scale to four and back,
 * read events until every task succeeded (or the timeout), then stop the
 * workers and read 3 s more so a late duplicate shows. */
static bool run(const char *tag, size_t n, bool scale, int64_t timeout_ms,
		result_t *res)
{
	bench_ns_t ns;
	bench_produce_t p = { .n = n, .handler = "nap", .payload = "{}" };
	bench_worker_t w[4] = { 0 };
	bench_reader_t *rd = NULL;
	bench_map_t *map = NULL;
	bench_msg_t msg;
	char topic[256], group[160], config[400], id[32];
	count_arg_t ca = { res };
	int64_t t0, deadline, quiet_until = 0;
	size_t ok = 0;
	bool joined = false, left = false, good = false;

	memset(res, 0, sizeof(*res));
	if (!bench_ns_open(&ns, tag, "handlers:\n"
			   "  nap:\n"
			   "    type: sleep\n"
			   "    sleep: 2ms\n"))
		goto out;
	bench_ns_band_topic(&ns, topic, sizeof(topic));
	drv_fmt(group, sizeof(group), "%sworkers", ns.prefix);
	/* the reader after the produce: by then the new topics have their
	 * leaders */
	if (!(map = bench_map_new(n)) ||
	    !bench_produce_tasks(&ns, topic, &p) ||
	    !(rd = bench_reader_new(&ns, true, 0)) ||
	    !bench_ns_worker_config(&ns, "rebalance", group, CONCURRENCY,
				    config, sizeof(config)))
		goto out;
	t0 = drv_mono_ms();
	for (int i = 0; i < 2; i++) {
		drv_fmt(id, sizeof(id), "%s-w%d", tag, i + 1);
		if (!bench_worker_start(&w[i], &ns, config, id))
			goto out;
	}
	bench_log("%s: %zu tasks, 2 workers%s", tag, n,
		  scale ? "; +2 at 3 s, -2 at 8 s" : "");
	deadline = t0 + timeout_ms;
	while (!bench_stop && drv_mono_ms() < deadline &&
	       (ok < n || drv_mono_ms() < quiet_until)) {
		int64_t now = drv_mono_ms();
		bench_rec_t *r;

		if (scale && !joined && now - t0 >= JOIN_AFTER_MS) {
			for (int i = 2; i < 4; i++) {
				drv_fmt(id, sizeof(id), "%s-w%d", tag, i + 1);
				if (!bench_worker_start(&w[i], &ns, config, id))
					goto out;
			}
			joined = true;
			bench_log("%s: 2 workers joined (%zu done)", tag, ok);
		}
		if (scale && joined && !left &&
		    now - t0 >= JOIN_AFTER_MS + LEAVE_AFTER_MS) {
			for (int i = 2; i < 4; i++)
				bench_worker_stop(&w[i], 30000);
			left = true;
			bench_log("%s: 2 workers left (%zu done)", tag, ok);
		}
		if (bench_reader_next(rd, 100, &msg) != 1 ||
		    msg.kind != BENCH_MSG_EVENT ||
		    strcmp(msg.type, "task.succeeded") ||
		    !(r = bench_map_get(map, msg.task_id, true)))
			continue;
		if (r->count++ == 0 && ++ok == n) {
			res->elapsed_ms = drv_mono_ms() - t0;
			/* stop the workers, then read a little longer */
			for (int i = 0; i < 4; i++)
				if (w[i].pid)
					bench_worker_stop(&w[i], 30000);
			quiet_until = drv_mono_ms() + 3000;
		}
	}
	res->complete = ok == n;
	bench_map_each(map, count, &ca);
	good = res->complete;
out:
	for (int i = 0; i < 4; i++)
		if (w[i].pid)
			bench_worker_stop(&w[i], 30000);
	if (rd)
		bench_reader_destroy(rd);
	bench_map_destroy(map);
	bench_ns_close(&ns);
	return good;
}

static void print_row(const char *what, size_t n, const result_t *r,
		      const result_t *base)
{
	printf("  %-34s %7zu of %zu ran, lost %zu, ran twice %zu, in %.1f s",
	       what, r->distinct, n, n - r->distinct, r->twice,
	       (double)r->elapsed_ms / 1000);
	if (base && base->elapsed_ms > 0)
		printf("  = %.2f x baseline", (double)r->elapsed_ms /
		       (double)base->elapsed_ms);
	printf("%s\n", r->complete ? "" : "   INCOMPLETE: stopped at "
	       "BENCH_TIMEOUT");
}

int main(void)
{
	size_t n = (size_t)bench_env_int("BENCH_REBALANCE_TASKS", 100000, 100,
					 10000000);
	int64_t timeout = bench_env_int("BENCH_TIMEOUT", 60, 5, 3600) * 1000;
	const char *proto = getenv("DROVER_KAFKA_GROUP_PROTOCOL");
	result_t base, scale;
	bool ok;

	bench_signals_install();
	ok = run("rbbase", n, false, timeout * 2, &base);
	ok = run("rbscale", n, true, timeout * 2, &scale) && ok;
	printf("\n== rebalance: %zu tasks (sleep 2 ms), concurrency %d per "
	       "worker, group protocol %s ==\n", n, CONCURRENCY,
	       proto && *proto ? proto : "classic (default)");
	print_row("baseline: 2 workers throughout", n, &base, NULL);
	print_row("2 -> 4 -> 2 workers", n, &scale, &base);
	printf("  target: 0 lost, 0 ran twice: %s\n",
	       scale.complete && scale.distinct == n && scale.twice == 0 ?
	       "met" : "NOT met");
	return ok && !bench_stop ? 0 : 1;
}
