/*
 * priority.c — do urgent tasks get through a backlog, and does the backlog
 * still move?
 *
 *  1. Pre-produce BENCH_LOW_TASKS `noop` tasks of priority 1 (default
 *     100,000) to the low band.
 *  2. Start one drover-worker (concurrency BENCH_PRIORITY_CONCURRENCY,
 *     default 4; default weights high 70 / normal 25 / low 5), and once it
 *     ran a warm-up task, produce high-priority (9) tasks at
 *     BENCH_HIGH_RATE per second (default 200) for BENCH_PRIORITY_SECONDS
 *     (default 10).
 *  3. From the lifecycle events: the high band's submit->start wait
 *     (p50/p99/max), and, over the window from the first high task's start
 *     to the last one's, the low band's share of the completions, against
 *     its weight's share (5 / (70 + 5) with only those two bands busy).
 *
 * A short round, not printed, first warms the broker up. Then it does
 * this twice (BENCH_PRIORITY_CPUS=both, the default; or shared, or split):
 * first with every process on every CPU, then with the worker on a CPU of
 * its own and Kafka, Redis and this process on the others
 * (bench_cpus_split), as a worker pod and a broker on different nodes
 * would be. On a 2-CPU host the first shows what a worker draining a
 * backlog at full speed does to a broker on the same CPUs; the second,
 * what drover's band scheduling gives when the broker is not starved.
 *
 * Targets (the issue): high p99 wait < 100 ms; low share >= its weight's.
 * It prints figures and never fails on one. Exit status: 0 when every step
 * ran, 1 otherwise, 2 on bad usage. Run through bench/run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "bench.h"

enum { R_HIGH, R_STARTED, R_FINISHED, R_CREATED, R_APPENDED };

/* The settings, read once. */
typedef struct settings {
	size_t  n_low;
	int64_t rate, secs, timeout_s;
	int     conc;
	bool    quiet;      /* a warm-up: print nothing */
} settings_t;

typedef struct window {
	int64_t from, to;          /* first high start, last high start */
	size_t  low, high;         /* completions inside the window */
	int64_t *waits;            /* high: started - created */
	int64_t *before, *after;   /* high: appended - created, started -
				      appended (when the broker's append
				      time is known) */
	size_t  nwaits, nsplit;
} window_t;

static void high_span(bench_rec_t *r, void *arg)
{
	window_t *w = arg;

	if (!r->count || !r->v[R_HIGH])
		return;
	w->waits[w->nwaits++] = r->v[R_STARTED] - r->v[R_CREATED];
	if (r->v[R_APPENDED]) {
		w->before[w->nsplit] = r->v[R_APPENDED] - r->v[R_CREATED];
		w->after[w->nsplit++] = r->v[R_STARTED] - r->v[R_APPENDED];
	}
	if (!w->from || r->v[R_STARTED] < w->from)
		w->from = r->v[R_STARTED];
	if (r->v[R_STARTED] > w->to)
		w->to = r->v[R_STARTED];
}

static void in_window(bench_rec_t *r, void *arg)
{
	window_t *w = arg;

	if (!r->count || r->v[R_FINISHED] < w->from ||
	    r->v[R_FINISHED] > w->to)
		return;
	if (r->v[R_HIGH])
		w->high++;
	else
		w->low++;
}

/* The broker's append time of each high task, read back from its topic
 * (stamped so by bench_topic_append_time). */
static void read_append_times(const bench_ns_t *ns, bench_map_t *map,
			      size_t n, int64_t timeout_s)
{
	bench_reader_t *rd = bench_reader_new(ns, false, BENCH_READ_HIGH_ONLY);

	/* the high topic holds high tasks only (the warm-up's is not in map) */
	if (rd)
		bench_read_appended(rd, map, R_APPENDED, n, timeout_s * 1000);
	bench_reader_destroy(rd);
}

/* One round: a fresh namespace, backlog, worker and stream of high tasks;
 * prints its figures. True when every step ran. */
static bool run_round(const settings_t *st, const char *label)
{
	bench_produce_t low = { .handler = "noop", .payload = "{}",
				.priority = 1, .n = st->n_low };
	bench_produce_t high = { .handler = "noop", .payload = "{}",
				 .priority = 9, .rate = st->rate,
				 .n = (size_t)(st->rate * st->secs) };
	bench_produce_t warm = { .n = 1, .handler = "noop", .payload = "{}",
				 .priority = 9 };
	char warm_id[1][DRV_ID_LEN + 1];
	char topic_low[256], topic_high[256], config[320], group[128];
	bench_reader_t *rd = NULL;
	bench_map_t *map = NULL;
	bench_worker_t w = { 0 };
	window_t win = { 0 };
	bench_pct_t pct;
	bench_msg_t msg;
	bench_ns_t ns;
	size_t seen_high = 0, seen_all = 0;
	int64_t deadline;
	bool ok = false, stamped;

	warm.ids = warm_id;
	if (!(high.ids = calloc(high.n, sizeof(*high.ids))) ||
	    !(map = bench_map_new(st->n_low + high.n + 1)) ||
	    !(win.waits = calloc(high.n + 1, sizeof(int64_t))) ||
	    !(win.before = calloc(high.n + 1, sizeof(int64_t))) ||
	    !(win.after = calloc(high.n + 1, sizeof(int64_t))))
		goto out;
	if (!bench_ns_open(&ns, "prio", "handlers:\n  noop:\n    type: noop\n"))
		goto out_ns;
	drv_topic_name(ns.cfg, DRV_TOPIC_TASKS,
		       drv_band_for_priority(ns.cfg, 1)->name, 0, topic_low,
		       sizeof(topic_low));
	drv_topic_name(ns.cfg, DRV_TOPIC_TASKS,
		       drv_band_for_priority(ns.cfg, 9)->name, 0, topic_high,
		       sizeof(topic_high));
	stamped = bench_topic_append_time(&ns, topic_high);
	bench_log("%s: producing %zu low tasks to %s", label, low.n,
		  topic_low);
	if (!bench_produce_tasks(&ns, topic_low, &low))
		goto out_ns;
	drv_fmt(group, sizeof(group), "%sworkers", ns.prefix);
	if (!bench_ns_worker_config(&ns, "prio", group, st->conc, config,
				    sizeof(config)) ||
	    !(rd = bench_reader_new(&ns, false, 0)) ||
	    !bench_worker_start(&w, &ns, config, "bench-prio") ||
	    !bench_produce_tasks(&ns, topic_high, &warm))
		goto out_ns;
	/* the worker is assigned once it ran the warm-up task */
	deadline = drv_mono_ms() + 60000;
	while (drv_mono_ms() < deadline && !bench_stop) {
		if (bench_reader_next(rd, 100, &msg) == 1 &&
		    msg.kind == BENCH_MSG_EVENT &&
		    !strcmp(msg.task_id, warm_id[0]))
			break;
	}
	bench_log("%s: producing %zu high tasks at %lld/s to %s", label,
		  high.n, (long long)st->rate, topic_high);
	if (!bench_produce_tasks(&ns, topic_high, &high))
		goto out_ns;
	for (size_t i = 0; i < high.n; i++) {
		bench_rec_t *r = bench_map_get(map, high.ids[i], true);

		if (r)
			r->v[R_HIGH] = 1;
	}
	/* every high task's start, and every completion until then */
	deadline = drv_mono_ms() + st->timeout_s * 1000;
	while (seen_high < high.n && drv_mono_ms() < deadline && !bench_stop) {
		bench_rec_t *r;

		if (bench_reader_next(rd, 100, &msg) != 1 ||
		    msg.kind != BENCH_MSG_EVENT ||
		    strcmp(msg.type, "task.succeeded") ||
		    !strcmp(msg.task_id, warm_id[0]) ||
		    !(r = bench_map_get(map, msg.task_id, true)) || r->count++)
			continue;
		r->v[R_CREATED] = msg.created_ms;
		r->v[R_STARTED] = msg.started_ms;
		r->v[R_FINISHED] = msg.finished_ms;
		seen_high += r->v[R_HIGH] != 0;
		seen_all++;
	}
	ok = seen_high == high.n;
	if (st->quiet)
		goto out_ns;
	if (ok && stamped)
		read_append_times(&ns, map, high.n, st->timeout_s);
	bench_map_each(map, high_span, &win);
	bench_map_each(map, in_window, &win);
	bench_pct_compute(win.waits, win.nwaits, &pct);

	printf("\n== priority, %s: %zu low tasks queued, high tasks at "
	       "%lld/s for %lld s, worker concurrency=%d, weights high %lld / "
	       "low %lld ==\n", label, st->n_low, (long long)st->rate,
	       (long long)st->secs, st->conc,
	       (long long)ns.cfg->worker.weight_high,
	       (long long)ns.cfg->worker.weight_low);
	printf("  %-36s %zu of %zu ran (%zu completions read)\n",
	       "high tasks", seen_high, high.n, seen_all);
	printf("  %-36s p50 %lld ms, p99 %lld ms, max %lld ms   target p99 < "
	       "100 ms: %s\n", "high submit->start wait",
	       (long long)pct.p50, (long long)pct.p99, (long long)pct.max,
	       ok && pct.p99 < 100 ? "met" : "NOT met");
	if (win.nsplit) {
		static const char *const what[2][2] = {
			{ "  before the broker's append",
			  "(producer, broker)" },
			{ "  after it", "(fetch, band queue, runner)" },
		};
		int64_t *part[2] = { win.before, win.after };

		for (int k = 0; k < 2; k++) {
			bench_pct_t p;

			bench_pct_compute(part[k], win.nsplit, &p);
			printf("  %-36s p50 %lld ms, p99 %lld ms, max %lld "
			       "ms   %s\n", what[k][0], (long long)p.p50,
			       (long long)p.p99, (long long)p.max, what[k][1]);
		}
	}
	{
		double share = win.low + win.high ?
			       (double)win.low / (double)(win.low + win.high) :
			       0;
		double weight = (double)ns.cfg->worker.weight_low /
				(double)(ns.cfg->worker.weight_low +
					 ns.cfg->worker.weight_high);

		printf("  %-36s %zu low, %zu high in %.2f s: low share %.1f%% "
		       "  target >= %.1f%% (its weight): %s\n",
		       "completions while high flowed", win.low, win.high,
		       (double)(win.to - win.from) / 1000.0, 100.0 * share,
		       100.0 * weight, ok && share >= weight ? "met" :
		       "NOT met");
	}
	fflush(stdout);
out_ns:
	if (w.pid > 0 && !bench_worker_stop(&w, 30000))
		bench_worker_tail(&w, 15);
	bench_reader_destroy(rd);
	bench_ns_close(&ns);
out:
	bench_map_destroy(map);
	free(high.ids);
	free(win.waits);
	free(win.before);
	free(win.after);
	return ok && !bench_stop;
}

int main(int argc, char **argv)
{
	settings_t st = {
		.n_low = (size_t)bench_env_int("BENCH_LOW_TASKS", 100000, 1,
					       10000000),
		.rate = bench_env_int("BENCH_HIGH_RATE", 200, 1, 100000),
		.secs = bench_env_int("BENCH_PRIORITY_SECONDS", 10, 1, 600),
		.conc = (int)bench_env_int("BENCH_PRIORITY_CONCURRENCY", 4, 1,
					   1024),
		.timeout_s = bench_env_int("BENCH_TIMEOUT", 60, 5, 3600),
	};
	const char *cpus = getenv("BENCH_PRIORITY_CPUS");
	bool shared, split, ok = true;

	if (!cpus || !*cpus)
		cpus = "both";
	shared = !strcmp(cpus, "both") || !strcmp(cpus, "shared");
	split = !strcmp(cpus, "both") || !strcmp(cpus, "split");
	if (argc > 1 || (!shared && !split)) {
		fprintf(stderr, "usage: %s  (settings come from BENCH_* "
			"environment variables, BENCH_PRIORITY_CPUS=both|"
			"shared|split; see bench/README.md)\n", argv[0]);
		return 2;
	}
	bench_signals_install();
	{
		/* a broker that just started compiles its hot paths (the JVM's
		 * JIT) during the first run; production brokers are warm */
		settings_t warm = st;

		warm.n_low = st.n_low / 5 ? st.n_low / 5 : 1;
		warm.secs = 2;
		warm.quiet = true;
		bench_log("warming the broker up with %zu + %lld tasks",
			  warm.n_low, (long long)(warm.rate * warm.secs));
		ok &= run_round(&warm, "warm-up");
	}
	if (shared && !bench_stop)
		ok &= run_round(&st, "shared CPUs");
	if (split && !bench_stop) {
		if (bench_cpus_split()) {
			ok &= run_round(&st, "worker on its own CPU");
			bench_cpus_share();
		} else {
			ok = false;
		}
	}
	return ok && !bench_stop ? 0 : 1;
}
