/*
 * scale.c — how drover-worker scales, what latency it gives under load,
 * and whether its memory stays flat (issue 18, targets 3, 4 and 6).
 *
 *  1. Scaling curve: BENCH_SCALE_TASKS `noop` tasks (default 200,000)
 *     produced once, then drained by a fresh group each time
 *     (a) by 1, 2 and 4 worker processes (BENCH_SCALE_WORKERS) of
 *         concurrency 4,
 *     (b) by one worker of concurrency 1, 2, 4 ... 128
 *         (BENCH_SCALE_CONCURRENCIES).
 *     tasks/s = tasks / (first start -> last finish) from the task.succeeded
 *     events, its ratio to the table's first row, and each worker's peak
 *     RSS (VmHWM). The topics have BENCH_PARTITIONS partitions, 8 unless
 *     set, so 4 workers all get some.
 *  2. Latency vs load: an idle, warmed-up worker of concurrency 4 gets
 *     tasks at 10, 25, 50, 75 and 90 % of the rate one such worker drained
 *     in 1 (BENCH_CURVE_MAX_RATE overrides it), BENCH_CURVE_SECONDS each
 *     (5): submit->start p50/p99/max per load (bench_paced_run), also
 *     written as TSV to $BENCH_CURVE_TSV when set (bench/plot draws it),
 *     and split at the broker's append (the band topic is stamped with
 *     LogAppendTime): before it the producer and the broker, after it
 *     the worker's fetch and hand-off.
 *  3. RSS over time: one worker of concurrency 64 fed at 80 % of the rate
 *     the concurrency-64 worker drained in 1 (BENCH_RSS_RATE overrides
 *     it) for BENCH_RSS_SECONDS (600); VmRSS sampled every
 *     BENCH_RSS_INTERVAL seconds (10), the peak, and the growth from the
 *     second minute to the last one.
 *
 * It prints figures with the targets beside them; it never fails
 * on a figure. Exit status: 0 when every run completed, 1 when one could
 * not (INCOMPLETE printed), 2 on bad usage. Run it through bench/run,
 * which starts the stack and sets DROVER_KAFKA_BROKERS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "bench.h"

#define MAX_ROWS      16
#define MAX_WORKERS   16
#define MAX_SAMPLES   4096
#define RSS_TARGET_MB 64.0
#define FLAT_PCT      10.0  /* "flat": the last minute within this much
			       of the second minute */

static const int curve_pcts[] = { 10, 25, 50, 75, 90 };
#define NLOADS (sizeof(curve_pcts) / sizeof(curve_pcts[0]))

typedef struct settings {
	size_t  tasks;             /* BENCH_SCALE_TASKS */
	int     workers[MAX_ROWS]; /* BENCH_SCALE_WORKERS */
	size_t  nworkers;
	int     concs[MAX_ROWS];   /* BENCH_SCALE_CONCURRENCIES */
	size_t  nconcs;
	int     conc;              /* BENCH_SCALE_CONCURRENCY: of table (a)
				      and of the latency curve */
	int64_t timeout_s;         /* BENCH_TIMEOUT: per drain */
	int64_t curve_s;           /* BENCH_CURVE_SECONDS */
	int64_t curve_max;         /* BENCH_CURVE_MAX_RATE, 0 = measured */
	int64_t rss_s;             /* BENCH_RSS_SECONDS */
	int64_t rss_every;         /* BENCH_RSS_INTERVAL */
	int64_t rss_rate;          /* BENCH_RSS_RATE, 0 = 80 % of measured */
	int     rss_conc;          /* BENCH_RSS_CONCURRENCY */
} settings_t;

/* One drain of the scaling curve. */
typedef struct row {
	char          table;                /* 'a' or 'b' */
	int           workers, concurrency;
	bench_drain_t d;
	long          rss_kb[MAX_WORKERS];  /* VmHWM before SIGTERM */
	bool          clean;                /* all exited 0 after SIGTERM */
} row_t;

/* The RSS run. */
typedef struct rss {
	bool    ran;
	int64_t rate;                 /* tasks/s asked for */
	size_t  produced, failed;
	int64_t t_s[MAX_SAMPLES];     /* seconds since feeding began */
	long    kb[MAX_SAMPLES];      /* VmRSS */
	size_t  n;
	long    peak_kb;              /* VmHWM at the end */
	long long succeeded;          /* the worker's exit line, -1 unknown */
	bool    clean, died;
} rss_t;

/* "1,2,4" into \p out (at most MAX_ROWS values in [1, max]). */
static size_t env_list(const char *name, const char *def, int max, int *out)
{
	const char *v = getenv(name);
	char buf[256], *save = NULL, *tok;
	size_t n = 0;

	drv_strlcpy(buf, v && *v ? v : def, sizeof(buf));
	for (tok = strtok_r(buf, ", ", &save); tok && n < MAX_ROWS;
	     tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		long x = strtol(tok, &end, 10);

		if (*end || x < 1 || x > max) {
			bench_log("%s: ignoring \"%s\" (1..%d)", name, tok, max);
			continue;
		}
		out[n++] = (int)x;
	}
	return n;
}

/* ----------------------------------------------------------- scaling */

/* Start row->workers workers in a fresh group, await every task, stop
 * them. */
static bool drain(bench_ns_t *ns, row_t *row, char (*ids)[DRV_ID_LEN + 1],
		  size_t n, int64_t timeout_s)
{
	bench_worker_t ws[MAX_WORKERS];
	char name[32], config[320], group[128], source[48], id[64];
	bench_reader_t *rd;
	bench_map_t *map;
	int started = 0;

	memset(ws, 0, sizeof(ws));
	row->d.expected = n;
	/* the table in the name: (a)'s 1 x 4 and (b)'s 4 need groups apart */
	drv_fmt(name, sizeof(name), "%c-w%dc%d", row->table, row->workers,
		row->concurrency);
	drv_fmt(group, sizeof(group), "%sworkers-%s", ns->prefix, name);
	drv_fmt(source, sizeof(source), "bench-%s-", name);
	if (!bench_ns_worker_config(ns, name, group, row->concurrency, config,
				    sizeof(config)) ||
	    !(map = bench_map_of_ids(ids, n)))
		return false;
	/* from the events topic's end: earlier drains' events are not ours */
	if (!(rd = bench_reader_new(ns, true, 0))) {
		bench_map_destroy(map);
		return false;
	}
	for (; started < row->workers; started++) {
		drv_fmt(id, sizeof(id), "%s%d", source, started);
		if (!bench_worker_start(&ws[started], ns, config, id))
			break;
	}
	if (started == row->workers) {
		row->d.ran = true;
		bench_log("%s: %d worker(s) of concurrency %d, group %s", name,
			  row->workers, row->concurrency, group);
		bench_await_successes(rd, map, ws, (size_t)started, source,
				      drv_mono_ms() + timeout_s * 1000,
				      &row->d);
	}
	row->clean = true;
	for (int i = 0; i < started; i++)
		row->rss_kb[i] = bench_worker_peak_rss_kb(&ws[i]);
	for (int i = 0; i < started; i++)
		if (!bench_worker_stop(&ws[i], 30000)) {
			row->clean = false;
			bench_worker_tail(&ws[i], 15);
		}
	bench_drain_finish(&row->d, map);
	bench_log("%s: %zu/%zu tasks, %.0f tasks/s (span %.2f s)%s", name,
		  row->d.done, n, row->d.rate,
		  (double)row->d.span_ms / 1000.0,
		  row->d.timed_out ? ", stopped at BENCH_TIMEOUT" : "");
	bench_reader_destroy(rd);
	bench_map_destroy(map);
	return row->d.ran;
}

static bool scaling(const settings_t *s, row_t *a, row_t *b)
{
	bench_produce_t p = { .handler = "noop", .payload = "{}",
			      .n = s->tasks };
	char topic[256];
	bench_ns_t ns;
	bool ok = true;

	if (!(p.ids = calloc(p.n, sizeof(*p.ids))))
		return false;
	if (!bench_ns_open(&ns, "sc", "handlers:\n  noop:\n    type: noop\n")) {
		bench_ns_close(&ns);
		free(p.ids);
		return false;
	}
	bench_ns_band_topic(&ns, topic, sizeof(topic));
	bench_log("producing %zu tasks to %s", p.n, topic);
	if (!bench_produce_tasks(&ns, topic, &p))
		ok = false;
	for (size_t i = 0; ok && i < s->nworkers && !bench_stop; i++)
		ok &= drain(&ns, &a[i], p.ids, p.acked, s->timeout_s);
	for (size_t i = 0; ok && i < s->nconcs && !bench_stop; i++)
		ok &= drain(&ns, &b[i], p.ids, p.acked, s->timeout_s);
	bench_ns_close(&ns);
	free(p.ids);
	return ok;
}

/* --------------------------------------------------------------- RSS */

/* One worker fed at a fixed rate, in slices of rss_every seconds; VmRSS
 * after each slice. */
static bool rss_run(const settings_t *s, rss_t *r)
{
	const char *id = "bench-rss";
	char topic[256];
	bench_reader_t *rd = NULL;
	bench_worker_t w;
	int64_t t0;
	bench_ns_t ns;
	bool ok = false;

	r->peak_kb = -1;
	r->succeeded = -1;
	if (!bench_warm_worker(&ns, "rss", s->rss_conc, id, &w, &rd, topic,
			       sizeof(topic)))
		goto out;
	/* no reader while feeding: reading every event would take CPU from
	 * the worker; its exit line counts what it ran */
	bench_reader_destroy(rd);
	rd = NULL;
	r->ran = true;
	bench_log("rss: worker pid %d, concurrency %d, %lld tasks/s for %lld s",
		  (int)w.pid, s->rss_conc, (long long)r->rate,
		  (long long)s->rss_s);
	t0 = drv_mono_ms();
	while (!bench_stop && r->n < MAX_SAMPLES) {
		int64_t elapsed = drv_mono_ms() - t0, left;
		bench_produce_t p = { .handler = "noop", .payload = "{}",
				      .rate = r->rate };

		if (elapsed >= s->rss_s * 1000)
			break;
		/* a slice: up to the next sample, never past the end */
		left = s->rss_every * 1000 - elapsed % (s->rss_every * 1000);
		p.n = (size_t)(r->rate * left / 1000);
		if (p.n)
			bench_produce_tasks(&ns, topic, &p);
		else
			usleep((useconds_t)left * 1000);
		r->produced += p.acked;
		r->failed += p.failed;
		if (!bench_worker_alive(&w)) {
			r->died = true;
			bench_worker_tail(&w, 15);
			goto out;
		}
		r->t_s[r->n] = (drv_mono_ms() - t0 + 500) / 1000;
		r->kb[r->n] = bench_worker_rss_kb(&w);
		bench_log("rss: %llds %.1f MB", (long long)r->t_s[r->n],
			  (double)r->kb[r->n] / 1024.0);
		r->n++;
	}
	/* let it finish what is queued before it is stopped */
	sleep(2);
	ok = true;
out:
	if (w.pid > 0) {
		r->peak_kb = bench_worker_peak_rss_kb(&w);
		r->clean = bench_worker_stop(&w, 30000);
		if (!r->clean)
			bench_worker_tail(&w, 15);
	}
	/* VmHWM is updated lazily; never below a sample */
	for (size_t i = 0; i < r->n; i++)
		if (r->kb[i] > r->peak_kb)
			r->peak_kb = r->kb[i];
	r->succeeded = bench_worker_total(&w, "succeeded");
	bench_reader_destroy(rd);
	bench_ns_close(&ns);
	return ok;
}

/* Mean VmRSS of the samples in (from, to] seconds; 0 when none. */
static double rss_mean_mb(const rss_t *r, int64_t from, int64_t to, int *cnt)
{
	double sum = 0;

	*cnt = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->t_s[i] > from && r->t_s[i] <= to && r->kb[i] >= 0) {
			sum += (double)r->kb[i] / 1024.0;
			(*cnt)++;
		}
	return *cnt ? sum / *cnt : 0;
}

/* ------------------------------------------------------------ report */

static const char *verdict(bool met)
{
	return met ? "met" : "NOT met";
}

static bool row_complete(const row_t *r)
{
	return r->d.ran && r->d.done >= r->d.expected;
}

/* Returns false when a row did not complete. */
static bool print_table(const char *title, const row_t *rows, size_t n)
{
	bool ok = true;
	double first = n && row_complete(&rows[0]) ? rows[0].d.rate : 0;

	printf("\n== %s ==\n", title);
	printf("  %-8s %-12s %13s %8s  %-26s %s\n", "workers", "concurrency",
	       "tasks/s", "ratio", "peak RSS per worker (MB)", "done");
	for (size_t i = 0; i < n; i++) {
		const row_t *r = &rows[i];
		char rate[32], rss[128] = "", ratio[16] = "-";
		size_t len = 0;

		if (!r->d.ran) {
			printf("  %-8d %-12d %13s\n", r->workers, r->concurrency,
			       "did not run");
			ok = false;
			continue;
		}
		for (int w = 0; w < r->workers && len + 16 < sizeof(rss); w++)
			len += (size_t)snprintf(rss + len, sizeof(rss) - len,
						"%s%.1f", w ? " / " : "",
						(double)r->rss_kb[w] / 1024.0);
		if (first > 0)
			drv_fmt(ratio, sizeof(ratio), "%.2f", r->d.rate / first);
		printf("  %-8d %-12d %13s %8s  %-26s %zu/%zu%s%s\n", r->workers,
		       r->concurrency,
		       bench_thousands(r->d.rate, rate, sizeof(rate)), ratio,
		       rss, r->d.done, r->d.expected,
		       !row_complete(r) ? (r->d.timed_out ?
		       "  INCOMPLETE: stopped at BENCH_TIMEOUT" : r->d.died ?
		       "  INCOMPLETE: a worker died" : "  INCOMPLETE") : "",
		       r->clean ? "" : "  (did not stop cleanly)");
		if (r->d.duplicates || r->d.other_events)
			printf("  %-21s %zu duplicate successes, %zu "
			       "retrying/dead events\n", "", r->d.duplicates,
			       r->d.other_events);
		ok &= row_complete(r);
	}
	return ok;
}

static bool print_curve(const settings_t *s, double max_rate,
			const bench_pace_t *ph, size_t n, FILE *tsv)
{
	bool ok = true;

	printf("\n== latency vs load: an idle worker of concurrency %d, tasks "
	       "at a fixed rate, %lld s per load; max rate %.0f tasks/s ==\n",
	       s->conc, (long long)s->curve_s, max_rate);
	printf("  %-6s %-9s %-9s %-11s %-24s %-8s %s\n", "load", "offered",
	       "achieved", "done", "start p50 / p99 / max", "kept up",
	       "target p99");
	if (tsv)
		fprintf(tsv, "load_pct\toffered\tachieved\tdone\texpected\t"
			"p50_ms\tp99_ms\tmax_ms\tkept_up\n");
	for (size_t i = 0; i < n; i++) {
		const bench_pace_t *p = &ph[i];
		char off[32], ach[32], done[32], st[48], target[32] = "";

		if (!p->d.ran) {
			printf("  %3d %%  did not run\n", curve_pcts[i]);
			ok = false;
			continue;
		}
		if (curve_pcts[i] == 50 || curve_pcts[i] == 90) {
			int64_t t = curve_pcts[i] == 50 ? 10 : 50;

			drv_fmt(target, sizeof(target), "<= %lld ms: %s",
				(long long)t,
				verdict(p->d.start_lat.p99 <= t &&
					p->d.done == p->d.expected));
		}
		drv_fmt(done, sizeof(done), "%zu/%zu", p->d.done,
			p->d.expected);
		bench_pct_str(&p->d.start_lat, st, sizeof(st));
		printf("  %3d %%  %-9s %-9s %-11s %-24s %-8s %s%s\n",
		       curve_pcts[i],
		       bench_thousands((double)p->rate, off, sizeof(off)),
		       bench_thousands(p->achieved, ach, sizeof(ach)), done, st,
		       p->kept_up ? "yes" : "NO", target,
		       p->d.done < p->d.expected ? "  INCOMPLETE" : "");
		if (p->split)
			printf("         at the broker's append: before it "
			       "%lld / %lld ms (producer, broker), after it "
			       "%lld / %lld ms (fetch, worker), p50 / p99 of "
			       "%zu tasks\n", (long long)p->before.p50,
			       (long long)p->before.p99,
			       (long long)p->after.p50,
			       (long long)p->after.p99, p->split);
		ok &= p->d.done >= p->d.expected;
		if (tsv)
			fprintf(tsv, "%d\t%lld\t%.0f\t%zu\t%zu\t%lld\t%lld\t"
				"%lld\t%s\n", curve_pcts[i], (long long)p->rate,
				p->achieved, p->d.done, p->d.expected,
				(long long)p->d.start_lat.p50,
				(long long)p->d.start_lat.p99,
				(long long)p->d.start_lat.max,
				p->kept_up ? "yes" : "no");
	}
	return ok;
}

static bool print_rss(const settings_t *s, const rss_t *r)
{
	/* the second minute against the last; a short run uses fifths */
	int64_t win = s->rss_s >= 180 ? 60 : s->rss_s / 5;
	int n2, nl;
	double m2, ml, peak = (double)r->peak_kb / 1024.0, growth = 0;
	long long behind;
	char a[32], c[32];

	if (win < s->rss_every)
		win = s->rss_every;
	printf("\n== RSS over time: one worker of concurrency %d fed %s "
	       "tasks/s for %lld s, VmRSS every %lld s ==\n", s->rss_conc,
	       bench_thousands((double)r->rate, a, sizeof(a)),
	       (long long)s->rss_s, (long long)s->rss_every);
	if (!r->ran) {
		printf("  did not run%s\n", r->died ? " (the worker died)" : "");
		return false;
	}
	printf("  samples (s: MB):");
	for (size_t i = 0; i < r->n; i++)
		printf("%s %lld: %.1f", i % 10 ? "," : "\n   ",
		       (long long)r->t_s[i], (double)r->kb[i] / 1024.0);
	printf("\n");
	m2 = rss_mean_mb(r, win, 2 * win, &n2);
	ml = rss_mean_mb(r, s->rss_s - win, s->rss_s + s->rss_every, &nl);
	if (m2 > 0)
		growth = (ml - m2) * 100.0 / m2;
	/* the warm-up task counts in the exit line */
	behind = r->succeeded >= 0 ? (long long)r->produced + 1 - r->succeeded
				   : 0;
	printf("  %-34s %s of %s acknowledged; the worker ran %lld "
	       "(its exit line)\n", "tasks",
	       bench_thousands((double)r->produced, a, sizeof(a)),
	       bench_thousands((double)(r->produced + r->failed), c, sizeof(c)),
	       r->succeeded);
	if (behind > 0)
		printf("  %-34s %s tasks not run 2 s after the feed ended: "
		       "the worker fell behind\n", "kept up: NO",
		       bench_thousands((double)behind, a, sizeof(a)));
	else if (r->succeeded >= 0)
		printf("  %-34s yes\n", "kept up");
	printf("  %-34s %.1f MB   target <= %.0f MB: %s%s\n",
	       "peak (VmHWM, or the top sample)", peak, RSS_TARGET_MB,
	       verdict(r->peak_kb >= 0 && peak <= RSS_TARGET_MB),
	       r->clean ? "" : "   (did not stop cleanly after SIGTERM)");
	if (n2 && nl)
		printf("  %-34s %.1f MB (s %lld-%lld) -> %.1f MB (s %lld-%lld):"
		       " %+.1f %%   target flat (within %.0f %%): %s\n",
		       "growth", m2, (long long)win, (long long)2 * win, ml,
		       (long long)(s->rss_s - win), (long long)s->rss_s, growth,
		       FLAT_PCT, verdict(growth <= FLAT_PCT &&
					 growth >= -FLAT_PCT));
	else
		printf("  %-34s too few samples\n", "growth");
	return r->clean && !r->died && r->failed == 0;
}

/* -------------------------------------------------------------- main */

static const row_t *find_row(const row_t *rows, size_t n, int workers,
			     int conc)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].workers == workers &&
		    rows[i].concurrency == conc && row_complete(&rows[i]))
			return &rows[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static row_t a[MAX_ROWS], b[MAX_ROWS];
	static rss_t rss;
	bench_pace_t phases[NLOADS];
	const row_t *max_row;
	const char *tsv_path = getenv("BENCH_CURVE_TSV");
	FILE *tsv = NULL;
	double max_rate = 0;
	char title[128];
	settings_t s;
	bool ok = true, curve_ran = false;

	if (!bench_no_args(argc, argv))
		return 2;
	bench_signals_install();
	/* 4 workers in one group each get partitions: 8 unless set
	 * (bench_ns_open reads it) */
	setenv("BENCH_PARTITIONS", "8", 0);
	s.tasks = (size_t)bench_env_int("BENCH_SCALE_TASKS", 200000, 1,
					10000000);
	s.nworkers = env_list("BENCH_SCALE_WORKERS", "1,2,4", MAX_WORKERS,
			      s.workers);
	s.nconcs = env_list("BENCH_SCALE_CONCURRENCIES",
			    "1,2,4,8,16,32,64,128", 1024, s.concs);
	s.conc = (int)bench_env_int("BENCH_SCALE_CONCURRENCY", 4, 1, 1024);
	s.timeout_s = bench_env_int("BENCH_TIMEOUT", 300, 5, 3600);
	s.curve_s = bench_env_int("BENCH_CURVE_SECONDS", 5, 1, 600);
	s.curve_max = bench_env_int("BENCH_CURVE_MAX_RATE", 0, 0, 10000000);
	s.rss_s = bench_env_int("BENCH_RSS_SECONDS", 600, 1, 86400);
	s.rss_every = bench_env_int("BENCH_RSS_INTERVAL", 10, 1, 3600);
	s.rss_rate = bench_env_int("BENCH_RSS_RATE", 0, 0, 10000000);
	s.rss_conc = (int)bench_env_int("BENCH_RSS_CONCURRENCY", 64, 1, 1024);
	for (size_t i = 0; i < s.nworkers; i++) {
		a[i].table = 'a';
		a[i].workers = s.workers[i];
		a[i].concurrency = s.conc;
	}
	for (size_t i = 0; i < s.nconcs; i++) {
		b[i].table = 'b';
		b[i].workers = 1;
		b[i].concurrency = s.concs[i];
	}

	/* 1. scaling */
	ok &= scaling(&s, a, b);

	/* 2. latency vs load */
	max_row = find_row(a, s.nworkers, 1, s.conc);
	if (!max_row)
		max_row = find_row(b, s.nconcs, 1, s.conc);
	max_rate = s.curve_max ? (double)s.curve_max :
		   max_row ? max_row->d.rate : 0;
	memset(phases, 0, sizeof(phases));
	if (max_rate > 0 && !bench_stop) {
		bench_paced_t paced = { .tag = "curve", .concurrency = s.conc,
					.seconds = s.curve_s,
					.timeout_s = s.timeout_s,
					.phases = phases, .nphases = NLOADS };

		for (size_t i = 0; i < NLOADS; i++) {
			phases[i].rate = (int64_t)(max_rate * curve_pcts[i] /
						   100.0);
			if (phases[i].rate < 1)
				phases[i].rate = 1;
		}
		ok &= bench_paced_run(&paced);
		curve_ran = true;
	} else if (!bench_stop) {
		bench_log("latency curve: no maximum rate (set "
			  "BENCH_CURVE_MAX_RATE or let part 1 complete)");
		ok = false;
	}

	/* 3. RSS over time */
	max_row = find_row(b, s.nconcs, 1, s.rss_conc);
	rss.rate = s.rss_rate ? s.rss_rate :
		   (int64_t)(0.8 * (max_row ? max_row->d.rate : max_rate));
	if (rss.rate > 0 && !bench_stop)
		ok &= rss_run(&s, &rss);
	else if (!bench_stop)
		bench_log("rss: no rate (set BENCH_RSS_RATE or let part 1 "
			  "complete)");

	printf("\n# drover-bench-scale: %zu noop tasks per drain, %lld "
	       "partitions, BENCH_TIMEOUT %lld s\n", s.tasks,
	       (long long)bench_env_int("BENCH_PARTITIONS", 8, 1, 1024),
	       (long long)s.timeout_s);
	drv_fmt(title, sizeof(title), "scaling (a): worker processes in one "
		"group, concurrency %d each", s.conc);
	ok &= print_table(title, a, s.nworkers);
	ok &= print_table("scaling (b): one worker, concurrency 1 to 128", b,
			  s.nconcs);
	if (curve_ran) {
		if (tsv_path && *tsv_path && !(tsv = fopen(tsv_path, "w")))
			bench_log("%s: cannot write", tsv_path);
		ok &= print_curve(&s, max_rate, phases, NLOADS, tsv);
		if (tsv)
			fclose(tsv);
	} else {
		printf("\n== latency vs load ==\n  did not run\n");
	}
	if (!print_rss(&s, &rss)) {
		printf("  INCOMPLETE: the RSS run did not run to the end\n");
		ok = false;
	}
	fflush(stdout);
	return ok && !bench_stop ? 0 : 1;
}
