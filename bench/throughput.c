/*
 * throughput.c — drover's end-to-end throughput and latency benchmark.
 *
 *  1. Pre-produce BENCH_TASKS `noop` tasks (default 50,000) to a fresh
 *     namespace with drv_task_produce(), waiting for every acknowledgement.
 *  2. Baseline: a plain librdkafka consumer (its own group) reads the same
 *     messages from the band topic and only decodes them (drv_task_decode);
 *     first to last message gives msgs/s, what Kafka and the codec allow.
 *  3. drover-worker with concurrency 4, then a fresh group with 64, each
 *     runs every task; done when a task.succeeded event was seen for every
 *     task id. Tasks/s is N over first start to last finish (from the
 *     events); the worker's peak RSS (VmHWM) is read before SIGTERM.
 *  4. Latency: a fresh namespace, an idle worker, tasks produced at a fixed
 *     rate for BENCH_PACED_SECONDS, first BENCH_RATE_LOW/s (50), then
 *     BENCH_RATE/s (2,000): submit->start p50/p99 at each rate, and
 *     whether the worker kept up (if not, the figures are queueing).
 *
 * It prints a table with the targets next to the figures; it never
 * fails on a figure. Exit status: 0 when every step ran, 1 when a step
 * could not run (stack, build, topics...), 2 on bad usage.
 * Run it through bench/run, which starts the stack and sets
 * DROVER_KAFKA_BROKERS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"
#include "drover/task.h"
#include "baseline.h"
#include "bench.h"

/* The targets from the issue, printed for comparison. */
#define TARGET_RATIO      0.5
#define TARGET_TASKS_S    50000.0
#define TARGET_RSS_MB     64.0

typedef struct settings {
	size_t  tasks;          /* BENCH_TASKS */
	int     conc_low;       /* BENCH_CONC_LOW */
	int     conc_high;      /* BENCH_CONC_HIGH */
	int64_t timeout_s;      /* BENCH_TIMEOUT: per worker run */
	int64_t rate;           /* BENCH_RATE: paced run, tasks/s */
	int64_t rate_low;       /* BENCH_RATE_LOW: paced run, tasks/s */
	int64_t paced_s;        /* BENCH_PACED_SECONDS */
	int     paced_conc;     /* BENCH_PACED_CONCURRENCY */
	int     brk_rounds;     /* BENCH_BREAKER_ROUNDS: on-off-off-on */
	int     key_rounds;     /* BENCH_KEY_ROUNDS: plain-keyed-keyed-plain */
} settings_t;

#define BRK_ROUNDS_MAX 5
#define KEY_ROUNDS_MAX 5

/* One worker run. */
typedef struct run {
	char        name[32];
	int         concurrency;
	const char *extra_yaml;     /* appended to the worker config */
	bool        keyed;          /* its tasks have idempotency keys */
	bench_drain_t d;            /* its tasks, from their events */
	long long   state_dropped;  /* task state records the worker lost
				       (its exit line; -1 unknown) */
	long        rss_kb;         /* VmHWM before SIGTERM */
	bool        clean_stop;     /* exit 0 after SIGTERM */
} run_t;

/* ------------------------------------------------------------- workers */

/* The worker, its reader and its records; ends with the worker stopped. */
static bool worker_run(bench_ns_t *ns, run_t *run, const char *group,
		       char (*ids)[DRV_ID_LEN + 1], size_t n, int64_t timeout_s)
{
	char config[320], id[64];
	bench_reader_t *rd;
	bench_map_t *map;
	bench_worker_t w;

	run->d.expected = n;
	drv_fmt(id, sizeof(id), "bench-%s", run->name);
	if (!bench_ns_worker_config_with(ns, run->name, group,
					 run->concurrency, run->extra_yaml,
					 config, sizeof(config)))
		return false;
	if (!(map = bench_map_of_ids(ids, n)))
		return false;
	/* the events topic from its current end: earlier runs' events are
	 * not this run's */
	if (!(rd = bench_reader_new(ns, true, 0))) {
		bench_map_destroy(map);
		return false;
	}
	if (!bench_worker_start(&w, ns, config, id)) {
		bench_reader_destroy(rd);
		bench_map_destroy(map);
		return false;
	}
	run->d.ran = true;
	bench_log("%s: worker pid %d, concurrency %d, group %s", run->name,
		  (int)w.pid, run->concurrency, group);
	bench_await_successes(rd, map, &w, 1, id,
			      drv_mono_ms() + timeout_s * 1000, &run->d);
	run->rss_kb = bench_worker_peak_rss_kb(&w);
	run->clean_stop = bench_worker_stop(&w, 30000);
	run->state_dropped = bench_worker_total(&w, "state_dropped");
	if (run->d.died || !run->clean_stop)
		bench_worker_tail(&w, 15);
	bench_drain_finish(&run->d, map);
	bench_log("%s: %zu/%zu tasks in %.1f s (span %.2f s)%s", run->name,
		  run->d.done, n, (double)run->d.wall_ms / 1000.0,
		  (double)run->d.span_ms / 1000.0,
		  run->d.timed_out ? ", stopped at BENCH_TIMEOUT" : "");
	bench_reader_destroy(rd);
	bench_map_destroy(map);
	return true;
}

/* -------------------------------------------------------------- report */

static const char *verdict(bool met)
{
	return met ? "met" : "NOT met";
}

static void print_rate_row(const run_t *r, const baseline_t *b)
{
	char label[64], rate[32];

	drv_fmt(label, sizeof(label), "drover-worker concurrency=%d%s",
		r->concurrency, r->extra_yaml ? " (no breakers)" :
		r->keyed ? " (keys)" : "");
	if (!r->d.ran) {
		printf("  %-36s %12s\n", label, "did not run");
		return;
	}
	printf("  %-36s %12s tasks/s", label,
	       bench_thousands(r->d.rate, rate, sizeof(rate)));
	if (b->rate > 0)
		printf("   = %.4f x fair loop", r->d.rate / b->rate);
	if (r->state_dropped > 0)
		printf("   (%lld task state records lost)", r->state_dropped);
	printf("\n");
	printf("  %-36s %12zu of %zu in %.1f s (first start -> last finish "
	       "%.2f s)%s\n", "    tasks done", r->d.done, r->d.expected,
	       (double)r->d.wall_ms / 1000.0, (double)r->d.span_ms / 1000.0,
	       r->d.done < r->d.expected ? (r->d.timed_out ?
	       "  INCOMPLETE: stopped at BENCH_TIMEOUT" : r->d.died ?
	       "  INCOMPLETE: the worker died" : "  INCOMPLETE") : "");
	printf("  %-36s %12s p50 %lld ms, p99 %lld ms (queued in advance: "
	       "backlog, not latency)\n", "    submit->start", "",
	       (long long)r->d.start_lat.p50, (long long)r->d.start_lat.p99);
	if (r->d.duplicates || r->d.other_events)
		printf("  %-36s %12zu (and %zu retrying/dead events)\n",
		       "    duplicate successes", r->d.duplicates,
		       r->d.other_events);
}

static void print_rss(const char *label, int conc, long kb, bool clean,
		      double *max_mb)
{
	char l[64];
	double mb = (double)kb / 1024.0;

	if (kb < 0)
		return;
	if (mb > *max_mb)
		*max_mb = mb;
	drv_fmt(l, sizeof(l), "%s (concurrency=%d)", label, conc);
	printf("  %-36s %9.1f MB   target <= %.0f MB: %s%s\n", l, mb,
	       TARGET_RSS_MB, verdict(mb <= TARGET_RSS_MB),
	       clean ? "" : "   (did not stop cleanly after SIGTERM)");
}

/* The mean rate of the complete runs among runs[0..n) at runs[0]'s
 * concurrency that are (\p b) or are not (!\p b) the compared kind:
 * breakers off, or keyed. *cnt: how many. */
static double mean_rate(const run_t *runs, size_t n, bool b, int *cnt)
{
	double sum = 0;

	*cnt = 0;
	for (size_t i = 0; i < n; i++) {
		if (!runs[i].d.ran || runs[i].concurrency != runs[0].concurrency ||
		    runs[i].d.done < runs[i].d.expected ||
		    (runs[i].extra_yaml || runs[i].keyed) != b)
			continue;
		sum += runs[i].d.rate;
		(*cnt)++;
	}
	return *cnt ? sum / *cnt : 0;
}

/* Breakers on (every run without extra config at the low concurrency)
 * against breakers disabled (the others), runs interleaved on-off-off-on
 * so a drift of the host's load hits both alike. */
static void print_breakers(const run_t *runs, size_t nruns)
{
	int n_on, n_off;
	double on = mean_rate(runs, nruns, false, &n_on);
	double off = mean_rate(runs, nruns, true, &n_off);
	char a[32], c[32];

	if (!n_on || !n_off) {
		printf("  %-36s %12s\n", "breakers on vs off", "did not run");
		return;
	}
	printf("\n== breakers: enabled (default, one per handler, shared in "
	       "Redis) vs disabled, concurrency=%d ==\n", runs[0].concurrency);
	printf("  %-36s %12s tasks/s (mean of %d runs)\n", "breakers enabled",
	       bench_thousands(on, a, sizeof(a)), n_on);
	printf("  %-36s %12s tasks/s (mean of %d runs)\n", "breakers disabled",
	       bench_thousands(off, c, sizeof(c)), n_off);
	printf("  %-36s %12.4f   target >= 0.95 (at most 5%% slower): %s\n",
	       "enabled / disabled", on / off, verdict(on / off >= 0.95));
}

/* Tasks with idempotency keys (a claim before each, a SET after) against
 * tasks without, interleaved plain-keyed-keyed-plain. */
static void print_keys(const run_t *runs, size_t n, const baseline_t *b)
{
	int n_plain, n_keyed;
	double plain = mean_rate(runs, n, false, &n_plain);
	double keyed = mean_rate(runs, n, true, &n_keyed);
	char a[32];

	if (!n)
		return;
	printf("\n== idempotency keys: every task with a key of its own vs "
	       "none, concurrency=%d, a fresh namespace per run ==\n",
	       runs[0].concurrency);
	for (size_t i = 0; i < n; i++)
		print_rate_row(&runs[i], b);
	if (!n_plain || !n_keyed) {
		printf("  %-36s %12s\n", "keys vs none", "did not run");
		return;
	}
	printf("  %-36s %12s tasks/s (mean of %d runs)\n", "no keys",
	       bench_thousands(plain, a, sizeof(a)), n_plain);
	printf("  %-36s %12s tasks/s (mean of %d runs)\n", "keys",
	       bench_thousands(keyed, a, sizeof(a)), n_keyed);
	printf("  %-36s %12.4f\n", "keys / no keys", keyed / plain);
}

static void print_baseline(const char *label, const char *unit,
			   const baseline_t *b)
{
	char a[32];

	if (!b->ran) {
		printf("  %-36s %12s\n", label, "did not run");
		return;
	}
	printf("  %-36s %12s %s  (%zu done, first->last %.3f s; group join "
	       "%.2f s; undecodable or not produced %zu)\n", label,
	       bench_thousands(b->rate, a, sizeof(a)), unit, b->done,
	       b->span_s, b->join_s, b->undecodable);
}

static void print_report(const settings_t *s, const bench_produce_t *prod,
			 const baseline_t *plain, const baseline_t *b,
			 const run_t *runs, size_t nruns,
			 const run_t *kruns, size_t nkruns,
			 const bench_pace_t *phases, size_t nphases,
			 long paced_rss, bool paced_clean)
{
	const run_t *best = NULL;
	char a[32], c[32];
	double max_rss = 0;

	printf("\n== end-to-end throughput: %s tasks (handler noop), %lld "
	       "partitions per topic ==\n",
	       bench_thousands((double)s->tasks, a, sizeof(a)),
	       (long long)bench_env_int("BENCH_PARTITIONS", 6, 1, 1024));
	printf("  %-36s %12s msgs/s  (%zu/%zu acknowledged in %.2f s)\n",
	       "produce (drv_task_produce + flush)",
	       bench_thousands(prod->elapsed_ms > 0 ? (double)prod->acked *
			       1000.0 / (double)prod->elapsed_ms : 0, a,
			       sizeof(a)),
	       prod->acked, prod->n, (double)prod->elapsed_ms / 1000.0);
	print_baseline("baseline: plain consume + decode", "msgs/s", plain);
	print_baseline("fair loop: + event, offsets after", "tasks/s", b);
	for (size_t i = 0; i < nruns; i++) {
		print_rate_row(&runs[i], b);
		if (runs[i].d.ran && !runs[i].extra_yaml &&
		    (!best || runs[i].d.rate > best->d.rate))
			best = &runs[i];
	}
	print_breakers(runs, nruns);
	print_keys(kruns, nkruns, b);

	printf("\n== latency submit->start: tasks at a fixed rate to an idle "
	       "worker (concurrency=%d), %lld s per rate ==\n", s->paced_conc,
	       (long long)s->paced_s);
	printf("  %-10s %-10s %-13s %-26s %-18s %s\n", "rate", "achieved",
	       "done", "start p50 / p99 / max", "finish p50 / p99",
	       "kept up");
	for (size_t i = 0; i < nphases; i++) {
		const bench_pace_t *ph = &phases[i];
		char rate[32], done[32], st[48], fin[32];

		if (!ph->d.ran) {
			printf("  %-10lld did not run\n", (long long)ph->rate);
			continue;
		}
		drv_fmt(rate, sizeof(rate), "%s/s",
			bench_thousands((double)ph->rate, a, sizeof(a)));
		drv_fmt(done, sizeof(done), "%zu/%zu", ph->d.done,
			ph->d.expected);
		bench_pct_str(&ph->d.start_lat, st, sizeof(st));
		drv_fmt(fin, sizeof(fin), "%lld / %lld ms",
			(long long)ph->d.finish_lat.p50,
			(long long)ph->d.finish_lat.p99);
		printf("  %-10s %-10s %-13s %-26s %-18s %s\n", rate,
		       bench_thousands(ph->achieved, c, sizeof(c)), done, st,
		       fin, ph->kept_up ? "yes" : ph->d.timed_out ?
		       "NO (stopped at BENCH_TIMEOUT: queueing)" :
		       "NO (queueing)");
	}

	printf("\n== peak RSS of drover-worker (VmHWM just before SIGTERM) ==\n");
	for (size_t i = 0; i < nruns; i++)
		if (runs[i].d.ran)
			print_rss("throughput run", runs[i].concurrency,
				  runs[i].rss_kb, runs[i].clean_stop, &max_rss);
	for (size_t i = 0; i < nkruns; i++)
		if (kruns[i].d.ran)
			print_rss("keys run", kruns[i].concurrency,
				  kruns[i].rss_kb, kruns[i].clean_stop,
				  &max_rss);
	print_rss("paced runs", s->paced_conc, paced_rss, paced_clean,
		  &max_rss);

	printf("\n== against the issue's targets ==\n");
	if (best && b->rate > 0) {
		drv_fmt(a, sizeof(a), "%.4f (c=%d)", best->d.rate / b->rate,
			best->concurrency);
		printf("  %-32s %-26s %s\n", "drover/fair loop >= 0.5", a,
		       verdict(best->d.rate / b->rate >= TARGET_RATIO));
	}
	if (best && plain->rate > 0) {
		drv_fmt(a, sizeof(a), "%.4f (c=%d)", best->d.rate / plain->rate,
			best->concurrency);
		printf("  %-32s %-26s\n", "drover/plain consume (info)", a);
	}
	if (best) {
		drv_fmt(a, sizeof(a), "%s tasks/s (c=%d)",
			bench_thousands(best->d.rate, c, sizeof(c)),
			best->concurrency);
		printf("  %-32s %-26s %s\n", ">= 50,000 tasks/s", a,
		       verdict(best->d.rate >= TARGET_TASKS_S));
	}
	if (max_rss > 0) {
		drv_fmt(a, sizeof(a), "%.1f MB (max)", max_rss);
		printf("  %-32s %-26s %s\n", "peak RSS <= 64 MB", a,
		       verdict(max_rss <= TARGET_RSS_MB));
	}
	printf("  %-32s %s\n", "retry p99 <= 250 ms late",
	       "(the retry benchmark)");
	fflush(stdout);
}

/* Each run in a namespace of its own (a key is done once its task ran):
 * produce the tasks, with keys or without, and drain them. */
static bool keys_runs(const settings_t *s, run_t *runs, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n && !bench_stop; i++) {
		bench_produce_t p = { .handler = "noop", .payload = "{}",
				      .n = s->tasks, .keyed = runs[i].keyed };
		char topic[256], group[128];
		bench_ns_t ns;

		if (!(p.ids = calloc(p.n, sizeof(*p.ids))))
			return false;
		if (!bench_ns_open(&ns, "tk", "handlers:\n  noop:\n"
				   "    type: noop\n")) {
			bench_ns_close(&ns);
			free(p.ids);
			return false;
		}
		bench_ns_band_topic(&ns, topic, sizeof(topic));
		bench_log("%s: producing %zu tasks%s to %s", runs[i].name, p.n,
			  p.keyed ? " with keys" : "", topic);
		if (bench_produce_tasks(&ns, topic, &p)) {
			drv_fmt(group, sizeof(group), "%sworkers-%s", ns.prefix,
				runs[i].name);
			ok &= worker_run(&ns, &runs[i], group, p.ids, p.acked,
					 s->timeout_s);
		} else {
			ok = false;
		}
		bench_ns_close(&ns);
		free(p.ids);
	}
	return ok;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	settings_t s;
	bench_produce_t prod = { .handler = "noop", .payload = "{}" };
	baseline_t plain = { 0 }, base = { 0 };
	run_t runs[2 + 4 * BRK_ROUNDS_MAX], kruns[2 * KEY_ROUNDS_MAX];
	size_t nruns, nkruns;
	bench_pace_t phases[2];
	long paced_rss = -1;
	bool paced_clean = false;
	char topic[256], group[128];
	bench_ns_t ns;
	bool ok = true;

	if (!bench_no_args(argc, argv))
		return 2;
	if (!getenv("DROVER_KAFKA_BROKERS"))
		bench_log("DROVER_KAFKA_BROKERS is unset; using the config "
			  "default (bench/run sets it)");
	bench_signals_install();
	s.tasks = (size_t)bench_env_int("BENCH_TASKS", 50000, 1, 10000000);
	s.conc_low = (int)bench_env_int("BENCH_CONC_LOW", 4, 1, 1024);
	s.conc_high = (int)bench_env_int("BENCH_CONC_HIGH", 64, 1, 1024);
	s.timeout_s = bench_env_int("BENCH_TIMEOUT", 60, 5, 3600);
	s.rate = bench_env_int("BENCH_RATE", 2000, 1, 1000000);
	s.rate_low = bench_env_int("BENCH_RATE_LOW", 50, 1, 1000000);
	s.paced_s = bench_env_int("BENCH_PACED_SECONDS", 5, 1, 600);
	s.paced_conc = (int)bench_env_int("BENCH_PACED_CONCURRENCY", 4, 1,
					  1024);
	s.brk_rounds = (int)bench_env_int("BENCH_BREAKER_ROUNDS", 2, 1,
					  BRK_ROUNDS_MAX);
	s.key_rounds = (int)bench_env_int("BENCH_KEY_ROUNDS", 2, 0,
					  KEY_ROUNDS_MAX);
	prod.n = s.tasks;
	memset(runs, 0, sizeof(runs));
	memset(kruns, 0, sizeof(kruns));
	nkruns = 2 * (size_t)s.key_rounds;
	for (size_t i = 0; i < nkruns; i++) {
		kruns[i].keyed = i % 4 == 1 || i % 4 == 2;
		drv_fmt(kruns[i].name, sizeof(kruns[i].name), "c-low-%s-%zu",
			kruns[i].keyed ? "keys" : "plain", i);
		kruns[i].concurrency = s.conc_low;
	}
	memset(phases, 0, sizeof(phases));
	drv_strlcpy(runs[0].name, "c-low", sizeof(runs[0].name));
	runs[0].concurrency = s.conc_low;
	drv_strlcpy(runs[1].name, "c-high", sizeof(runs[1].name));
	runs[1].concurrency = s.conc_high;
	/* breakers on against off at the low concurrency, interleaved on,
	 * off, off, on per round (c-low is the first "on") */
	nruns = 2 + 4 * (size_t)s.brk_rounds - 1;
	for (size_t i = 2; i < nruns; i++) {
		size_t pos = i - 1;  /* place in the on/off sequence */
		bool off = pos % 4 == 1 || pos % 4 == 2;

		drv_fmt(runs[i].name, sizeof(runs[i].name), "c-low-%s-%zu",
			off ? "nobrk" : "brk", pos);
		runs[i].concurrency = s.conc_low;
		if (off)
			runs[i].extra_yaml = "breakers:\n  default:\n"
					     "    mode: disabled\n";
	}
	phases[0].rate = s.rate_low;
	phases[1].rate = s.rate;
	if (!(prod.ids = calloc(prod.n, sizeof(*prod.ids))))
		return 1;

	if (!bench_ns_open(&ns, "tp", "handlers:\n  noop:\n    type: noop\n")) {
		bench_ns_close(&ns);
		free(prod.ids);
		return 1;
	}
	bench_ns_band_topic(&ns, topic, sizeof(topic));
	bench_log("producing %zu tasks to %s", prod.n, topic);
	if (!bench_produce_tasks(&ns, topic, &prod)) {
		bench_ns_close(&ns);
		free(prod.ids);
		return 1;
	}
	bench_log("baseline: plain consumer on %s", topic);
	ok &= baseline_plain(&ns, topic, prod.acked, s.timeout_s, &plain);
	bench_log("fair loop: consume, decode, event, offsets on %s", topic);
	ok &= baseline_fair(&ns, topic, prod.acked, s.timeout_s, &base);
	/* c-low, then the breakers comparison, then c-high */
	for (size_t k = 0; k < nruns && !bench_stop; k++) {
		size_t i = k == 0 ? 0 : k == nruns - 1 ? 1 : k + 1;

		/* a fresh group: each run reads every task from the start */
		drv_fmt(group, sizeof(group), "%sworkers-%s", ns.prefix,
			runs[i].name);
		ok &= worker_run(&ns, &runs[i], group, prod.ids, prod.acked,
				 s.timeout_s);
	}
	bench_ns_close(&ns);
	free(prod.ids);
	if (!bench_stop)
		ok &= keys_runs(&s, kruns, nkruns);
	if (!bench_stop) {
		bench_paced_t paced = { .tag = "lat",
					.concurrency = s.paced_conc,
					.seconds = s.paced_s,
					.timeout_s = s.timeout_s,
					.phases = phases, .nphases = 2 };

		ok &= bench_paced_run(&paced);
		paced_rss = paced.rss_kb;
		paced_clean = paced.clean;
	}
	print_report(&s, &prod, &plain, &base, runs, nruns, kruns, nkruns, phases, 2,
		     paced_rss, paced_clean);
	return ok && !bench_stop ? 0 : 1;
}
