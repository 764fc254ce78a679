/*
 * retry_timing.c — how punctually drover runs a retry.
 *
 * Tasks run the example plugin with {"succeed_on_attempt":2}: attempt 1
 * fails (transient), the retry policy `once` (fixed 1 s, no jitter, 2
 * attempts) sends the task through the 1 s delay tier, attempt 2 succeeds.
 * Half of all calls fail, so the handler's breaker is `metrics_only`: it
 * would open otherwise, and the tasks would wait on it, not on the retry
 * delay this measures.
 * One worker, which has already taken a warm-up task round the delay tier,
 * gets two phases of tasks submitted at a steady rate:
 *   - "low": BENCH_RETRY_LOW_TASKS (200) at BENCH_RETRY_LOW_RATE (20/s),
 *     far below any worker's capacity: the delay tier's punctuality alone;
 *   - "main": BENCH_RETRY_TASKS (10,000) at BENCH_RETRY_RATE (1,000/s):
 *     the figure, under load.
 *
 * Per task it reads finished1 (task.retrying, attempt 1) and started2
 * (task.succeeded, attempt 2) from the events, not_before from the task on
 * the delay tier, and when the tier released it from the task back on its
 * band (message timestamp). It prints
 *   lateness         = started2 - (finished1 + 1 s)   (the figure)
 *   after not-before = started2 - not_before, split into the delay tier's
 *                      part and the band's part
 * as p50/p99/max, and the runs that started before their not-before time,
 * which must be 0. It never fails on a figure. Exit status: 0 when it ran,
 * 1 when it could not run, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "bench.h"

#ifndef BENCH_EXAMPLE_PLUGIN
#define BENCH_EXAMPLE_PLUGIN "build/examples/plugin/libdrover_example_plugin.so"
#endif

#define RETRY_DELAY_MS   1000
#define TARGET_P99_LATE  250
#define PAYLOAD          "{\"succeed_on_attempt\":2}"

/* v[] slots and flags of a record */
enum { R_FINISHED1, R_STARTED2, R_NOT_BEFORE, R_FLAGS, R_RELEASED };
enum { F_RETRYING = 1, F_SUCCEEDED = 2, F_DELAYED = 4, F_RELEASED = 8 };

typedef struct counts {
	size_t succeeded;        /* tasks whose success was seen */
	size_t first_try;        /* succeeded on attempt 1: unexpected */
	size_t late_attempt;     /* succeeded on attempt > 2: unexpected */
	size_t dead;             /* task.dead */
	size_t dup_events;       /* an event seen twice for one attempt */
	size_t delayed;          /* tasks seen on a delay tier */
	size_t released;         /* retries seen back on a band topic */
} counts_t;

/* One rate of the benchmark and what it measured. */
typedef struct phase {
	const char *name;
	size_t      n;            /* tasks asked for */
	int64_t     rate;         /* tasks/s; 0 = at once */
	bool        ran;
	size_t      acked;        /* tasks produced */
	bool        timed_out, died;
	int64_t     wall_ms;      /* first submit -> last success seen */
	counts_t    c;
	size_t      n_ok;         /* retried once, then succeeded */
	size_t      incomplete;   /* a retrying or success event missing */
	size_t      early_nb;     /* started2 < not_before: broken promise */
	size_t      early_fin;    /* started2 < finished1 + 1 s */
	size_t      n_nb;         /* tasks whose not_before was read */
	bench_pct_t late, vs_nb, tier, queue;
} phase_t;

/* Take one message into the records of known task ids. */
static void take(bench_map_t *map, const bench_msg_t *msg, const char *id,
		 counts_t *c)
{
	bench_rec_t *r = bench_map_get(map, msg->task_id, false);

	if (!r)
		return;  /* the warm-up, or another phase's task */
	if (msg->kind == BENCH_MSG_DELAYED_TASK) {
		if (!(r->v[R_FLAGS] & F_DELAYED)) {
			r->v[R_FLAGS] |= F_DELAYED;
			r->v[R_NOT_BEFORE] = msg->not_before_ms;
			c->delayed++;
		}
		return;
	}
	if (msg->kind == BENCH_MSG_BAND_TASK) {
		/* attempt 0 is the submission; attempt 1 is the retry the
		 * delay tier released back to the band */
		if (msg->attempt == 1 && !(r->v[R_FLAGS] & F_RELEASED)) {
			r->v[R_FLAGS] |= F_RELEASED;
			r->v[R_RELEASED] = msg->produced_ms;
			c->released++;
		}
		return;
	}
	if (strcmp(msg->source, id))
		return;
	if (!strcmp(msg->type, "task.retrying")) {
		if (r->v[R_FLAGS] & F_RETRYING) {
			c->dup_events++;
			return;
		}
		r->v[R_FLAGS] |= F_RETRYING;
		r->v[R_FINISHED1] = msg->finished_ms;
	} else if (!strcmp(msg->type, "task.succeeded")) {
		if (r->v[R_FLAGS] & F_SUCCEEDED) {
			c->dup_events++;
			return;
		}
		r->v[R_FLAGS] |= F_SUCCEEDED;
		r->v[R_STARTED2] = msg->started_ms;
		c->succeeded++;
		if (msg->attempt == 1)
			c->first_try++;
		else if (msg->attempt > 2)
			c->late_attempt++;
	} else if (!strcmp(msg->type, "task.dead")) {
		c->dead++;
	}
}

/* ------------------------------------------------------------ figures */

typedef struct sample {
	int64_t *late, *vs_nb, *tier, *queue;
	size_t   n, n_nb, n_rel;
	phase_t *ph;
} sample_t;

static void sample_rec(bench_rec_t *r, void *arg)
{
	sample_t *s = arg;
	int64_t f = r->v[R_FLAGS];

	if (!(f & F_RETRYING) || !(f & F_SUCCEEDED)) {
		s->ph->incomplete++;
		return;
	}
	s->late[s->n] = r->v[R_STARTED2] - (r->v[R_FINISHED1] + RETRY_DELAY_MS);
	s->ph->early_fin += s->late[s->n] < 0;
	s->n++;
	if (f & F_DELAYED) {
		s->vs_nb[s->n_nb] = r->v[R_STARTED2] - r->v[R_NOT_BEFORE];
		s->ph->early_nb += s->vs_nb[s->n_nb] < 0;
		s->n_nb++;
	}
	if ((f & F_DELAYED) && (f & F_RELEASED)) {
		s->tier[s->n_rel] = r->v[R_RELEASED] - r->v[R_NOT_BEFORE];
		s->queue[s->n_rel] = r->v[R_STARTED2] - r->v[R_RELEASED];
		s->n_rel++;
	}
}

static void compute(phase_t *ph, bench_map_t *map)
{
	size_t n = bench_map_size(map) + 1;
	sample_t s = { .ph = ph };

	s.late = calloc(n, sizeof(int64_t));
	s.vs_nb = calloc(n, sizeof(int64_t));
	s.tier = calloc(n, sizeof(int64_t));
	s.queue = calloc(n, sizeof(int64_t));
	if (s.late && s.vs_nb && s.tier && s.queue) {
		bench_map_each(map, sample_rec, &s);
		ph->n_ok = s.n;
		ph->n_nb = s.n_nb;
		bench_pct_compute(s.late, s.n, &ph->late);
		bench_pct_compute(s.vs_nb, s.n_nb, &ph->vs_nb);
		bench_pct_compute(s.tier, s.n_rel, &ph->tier);
		bench_pct_compute(s.queue, s.n_rel, &ph->queue);
	}
	free(s.late);
	free(s.vs_nb);
	free(s.tier);
	free(s.queue);
}

/* ------------------------------------------------------------- phases */

/* Read until every task of \p map succeeded (or the deadline, or the
 * worker died), then what is left of their trips through the delay tier
 * and back to the band (written before the success, but topics are read
 * in no particular order), at most 5 s more. */
static void collect(bench_reader_t *rd, bench_map_t *map, bench_worker_t *w,
		    const char *id, int64_t deadline, int64_t t0, phase_t *ph)
{
	size_t want = bench_map_size(map);
	bench_msg_t msg;
	int64_t drain;

	while (ph->c.succeeded < want && !bench_stop) {
		if (drv_mono_ms() >= deadline) {
			ph->timed_out = true;
			break;
		}
		if (bench_reader_next(rd, 100, &msg) > 0)
			take(map, &msg, id, &ph->c);
		else if (!bench_worker_alive(w)) {
			ph->died = true;
			break;
		}
	}
	ph->wall_ms = drv_mono_ms() - t0;
	drain = drv_mono_ms() + 5000;
	while ((ph->c.delayed < ph->c.succeeded ||
		ph->c.released < ph->c.succeeded) &&
	       drv_mono_ms() < drain && !bench_stop)
		if (bench_reader_next(rd, 100, &msg) > 0)
			take(map, &msg, id, &ph->c);
}

static void run_phase(bench_ns_t *ns, bench_reader_t *rd, bench_worker_t *w,
		      const char *id, const char *topic, int64_t timeout_s,
		      phase_t *ph)
{
	bench_produce_t p = { .n = ph->n, .handler = "flaky",
			      .payload = PAYLOAD, .rate = ph->rate };
	bench_map_t *map = NULL;
	int64_t t0;

	if (!(p.ids = calloc(p.n, sizeof(*p.ids))))
		return;
	if (ph->rate > 0)
		bench_log("retry %s: producing %zu tasks at %lld/s", ph->name,
			  p.n, (long long)ph->rate);
	else
		bench_log("retry %s: producing %zu tasks at once", ph->name,
			  p.n);
	ph->ran = true;
	t0 = drv_mono_ms();
	bench_produce_tasks(ns, topic, &p);
	ph->acked = p.acked;
	if ((map = bench_map_new(p.acked))) {
		for (size_t i = 0; i < p.acked; i++)
			bench_map_get(map, p.ids[i], true);
		collect(rd, map, w, id, drv_mono_ms() + timeout_s * 1000, t0,
			ph);
		compute(ph, map);
	}
	bench_map_destroy(map);
	free(p.ids);
}

/* ------------------------------------------------------------- report */

static void print_pct(const char *label, const bench_pct_t *p,
		      const char *note)
{
	char v[64];

	drv_fmt(v, sizeof(v), "%lld / %lld / %lld", (long long)p->p50,
		(long long)p->p99, (long long)p->max);
	printf("  %-32s %-24s (%lld, %.1f, %zu)  = %s\n", label, v,
	       (long long)p->min, p->mean, p->n, note);
}

static void print_phase(const phase_t *ph, int conc)
{
	char a[32], b[32];

	printf("\n== retry timing, %s: %s tasks fail once (plugin), retry "
	       "policy fixed 1 s, no jitter; submitted at %s/s; "
	       "concurrency=%d ==\n", ph->name,
	       bench_thousands((double)ph->n, a, sizeof(a)),
	       ph->rate > 0 ? bench_thousands((double)ph->rate, b, sizeof(b))
	       : "unlimited", conc);
	if (!ph->ran) {
		printf("  did not run\n");
		return;
	}
	printf("  %-32s %zu/%zu in %.1f s%s\n", "retried once, then succeeded",
	       ph->n_ok, ph->acked, (double)ph->wall_ms / 1000.0,
	       ph->timed_out ? "   INCOMPLETE: stopped at BENCH_TIMEOUT" :
	       ph->died ? "   INCOMPLETE: the worker died" : "");
	printf("  >>> EARLY RUNS (attempt 2 started before its not-before "
	       "time): %zu   (must be 0)%s\n", ph->early_nb,
	       ph->n_nb < ph->n_ok ? "   [not-before not read for some]" : "");
	printf("  %-32s %-24s %s\n", "ms", "p50 / p99 / max", "(min, mean, n)");
	print_pct("lateness", &ph->late, "started2 - (finished1 + 1 s)");
	printf("  %-32s target p99 <= %d ms: %s\n", "", TARGET_P99_LATE,
	       ph->late.n && ph->late.p99 <= TARGET_P99_LATE &&
	       ph->n_ok == ph->acked ? "met" : "NOT met");
	print_pct("after not-before", &ph->vs_nb,
		  "started2 - not_before, of which:");
	print_pct("  delay tier released it late", &ph->tier,
		  "back on the band - not_before");
	print_pct("  then it waited on the band", &ph->queue,
		  "started2 - back on the band");
	printf("  %-32s %zu   (not early: finished1 is stamped when the event "
	       "is produced, after not_before was set)\n",
	       "started2 < finished1 + 1 s", ph->early_fin);
	if (ph->c.first_try || ph->c.late_attempt || ph->c.dead ||
	    ph->c.dup_events || ph->incomplete)
		printf("  %-32s first-try successes %zu, attempt>2 %zu, dead "
		       "%zu, duplicate events %zu, not finished %zu\n",
		       "anomalies", ph->c.first_try, ph->c.late_attempt,
		       ph->c.dead, ph->c.dup_events, ph->incomplete);
}

/* --------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	const char *plugin = getenv("BENCH_PLUGIN");
	int conc = (int)bench_env_int("BENCH_RETRY_CONCURRENCY", 64, 1, 1024);
	int64_t timeout_s = bench_env_int("BENCH_TIMEOUT", 60, 5, 3600);
	phase_t phases[2] = {
		{ .name = "low rate",
		  .n = (size_t)bench_env_int("BENCH_RETRY_LOW_TASKS", 200, 0,
					     1000000),
		  .rate = bench_env_int("BENCH_RETRY_LOW_RATE", 20, 0,
					1000000) },
		{ .name = "main",
		  .n = (size_t)bench_env_int("BENCH_RETRY_TASKS", 10000, 1,
					     10000000),
		  .rate = bench_env_int("BENCH_RETRY_RATE", 1000, 0,
					1000000) },
	};
	char sections[1024], config[320], topic[256], group[128];
	char id[] = "bench-retry", warm_id[1][DRV_ID_LEN + 1] = { "" };
	bench_produce_t warm = { .n = 1, .handler = "flaky",
				 .payload = PAYLOAD, .ids = warm_id };
	bench_reader_t *rd = NULL;
	bench_map_t *wmap = NULL;
	bench_worker_t w = { 0 };
	counts_t wc = { 0 };
	bool ran = false, clean = false;
	long rss_kb = -1;
	int64_t deadline;
	bench_ns_t ns;

	if (!bench_no_args(argc, argv))
		return 2;
	bench_signals_install();
	if (!plugin || !*plugin)
		plugin = BENCH_EXAMPLE_PLUGIN;
	if (access(plugin, R_OK) != 0) {
		bench_log("plugin %s not found (build it: scripts/build, or set "
			  "BENCH_PLUGIN)", plugin);
		return 1;
	}
	drv_fmt(sections, sizeof(sections),
		"retry_policies:\n"
		"  once:\n"
		"    base_delay: 1s\n"
		"    max_delay: 1s\n"
		"    multiplier: 1\n"
		"    max_attempts: 2\n"
		"    jitter: none\n"
		"handlers:\n"
		"  flaky:\n"
		"    type: plugin\n"
		"    plugin: \"%s\"\n"
		"    policy: once\n"
		/* every first attempt fails by design: half the calls, which
		 * would open the handler's breaker and make the tasks wait
		 * on it instead of on their retry delay; this measures the
		 * retry delay, so the breaker only counts */
		"breakers:\n"
		"  flaky:\n"
		"    mode: metrics_only\n", plugin);
	if (!bench_ns_open(&ns, "rt", sections))
		goto out;
	bench_ns_band_topic(&ns, topic, sizeof(topic));
	drv_fmt(group, sizeof(group), "%sworkers", ns.prefix);
	if (!bench_ns_worker_config(&ns, "retry", group, conc, config,
				    sizeof(config)) ||
	    !(rd = bench_reader_new(&ns, false, BENCH_READ_DELAY |
				    BENCH_READ_BANDS)) ||
	    !bench_worker_start(&w, &ns, config, id))
		goto out;
	bench_log("retry: worker pid %d, concurrency %d", (int)w.pid, conc);

	/* warm-up: both of the worker's consumers are assigned once one task
	 * went round the delay tier */
	if (!bench_produce_tasks(&ns, topic, &warm) ||
	    !(wmap = bench_map_new(1)) || !bench_map_get(wmap, warm_id[0], true))
		goto out;
	deadline = drv_mono_ms() + 60000;
	while (wc.succeeded < 1 && drv_mono_ms() < deadline && !bench_stop &&
	       bench_worker_alive(&w)) {
		bench_msg_t msg;
		if (bench_reader_next(rd, 100, &msg) > 0)
			take(wmap, &msg, id, &wc);
	}
	if (wc.succeeded < 1) {
		bench_log("retry: the warm-up task never succeeded");
		bench_worker_tail(&w, 15);
		goto out;
	}
	ran = true;
	for (size_t i = 0; i < 2 && !bench_stop; i++)
		if (phases[i].n > 0)
			run_phase(&ns, rd, &w, id, topic, timeout_s, &phases[i]);
out:
	if (w.pid > 0) {
		rss_kb = bench_worker_peak_rss_kb(&w);
		clean = bench_worker_stop(&w, 30000);
		if (!clean)
			bench_worker_tail(&w, 15);
	} else if (ran) {
		bench_worker_tail(&w, 15);  /* it died */
	}
	if (ran) {
		for (size_t i = 0; i < 2; i++)
			if (phases[i].n > 0)
				print_phase(&phases[i], conc);
		printf("\n  %-32s %.1f MB%s\n", "worker peak RSS (VmHWM)",
		       (double)rss_kb / 1024.0, clean ? "" :
		       "   (did not stop cleanly after SIGTERM)");
		fflush(stdout);
	} else {
		printf("\n== retry timing: did not run ==\n");
	}
	bench_reader_destroy(rd);
	bench_map_destroy(wmap);
	bench_ns_close(&ns);
	return ran && !bench_stop ? 0 : 1;
}
