/*
 * retry_timing.c — how punctually drover runs a retry.
 *
 * BENCH_RETRY_TASKS tasks (default 10,000) run the example plugin with
 * {"succeed_on_attempt":2}: attempt 1 fails (transient), the retry policy
 * `once` (fixed 1 s, no jitter, 2 attempts) sends the task through the
 * 1 s delay tier, attempt 2 succeeds. The tasks are submitted at a steady
 * BENCH_RETRY_RATE per second to a worker that already ran one warm-up
 * task, so the figure is the delay tiers' punctuality, not a backlog.
 *
 * From the lifecycle events, per task: finished1 (task.retrying, attempt
 * 1) and started2 (task.succeeded, attempt 2); from the task as it sat on
 * the delay tier: its not_before time. It prints
 *   lateness      = started2 - (finished1 + 1 s)   (the figure)
 *   vs not-before = started2 - not_before          (the exact contract)
 * as p50/p99/max, and the count of runs before their not-before time,
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

/* v[] slots and flags of a record */
enum { R_FINISHED1, R_STARTED2, R_NOT_BEFORE, R_FLAGS, R_RELEASED };
enum { F_RETRYING = 1, F_SUCCEEDED = 2, F_DELAYED = 4, F_RELEASED = 8 };

typedef struct counts {
	size_t succeeded;        /* tasks whose attempt 2 succeeded */
	size_t first_try;        /* succeeded on attempt 1: unexpected */
	size_t dead;             /* task.dead */
	size_t dup_events;       /* an event seen twice for one attempt */
	size_t delayed;          /* tasks seen on a delay tier */
	size_t released;         /* retries seen back on a band topic */
	size_t late_attempt;     /* succeeded on attempt > 2: unexpected */
} counts_t;

typedef struct sample {
	int64_t *late, *vs_nb, *waited, *tier, *queue;
	size_t   n, n_nb, n_rel;
	size_t   early_nb;       /* started2 < not_before: a broken promise */
	size_t   early_fin;      /* started2 < finished1 + 1 s */
	size_t   incomplete;     /* retrying or success missing */
	const char *skip_id;
} sample_t;

static void sample_rec(bench_rec_t *r, void *arg)
{
	sample_t *s = arg;
	int64_t f = r->v[R_FLAGS];

	if (s->skip_id && !strcmp(r->id, s->skip_id))
		return;
	if (!(f & F_RETRYING) || !(f & F_SUCCEEDED)) {
		s->incomplete++;
		return;
	}
	s->late[s->n] = r->v[R_STARTED2] - (r->v[R_FINISHED1] + RETRY_DELAY_MS);
	s->waited[s->n] = r->v[R_STARTED2] - r->v[R_FINISHED1];
	s->early_fin += s->late[s->n] < 0;
	s->n++;
	if (f & F_DELAYED) {
		s->vs_nb[s->n_nb] = r->v[R_STARTED2] - r->v[R_NOT_BEFORE];
		s->early_nb += s->vs_nb[s->n_nb] < 0;
		s->n_nb++;
	}
	if ((f & F_DELAYED) && (f & F_RELEASED)) {
		s->tier[s->n_rel] = r->v[R_RELEASED] - r->v[R_NOT_BEFORE];
		s->queue[s->n_rel] = r->v[R_STARTED2] - r->v[R_RELEASED];
		s->n_rel++;
	}
}

/* Take one message into the records. */
static void take(bench_map_t *map, const bench_msg_t *msg, const char *id,
		 counts_t *c)
{
	bench_rec_t *r;

	if (msg->kind == BENCH_MSG_DELAYED_TASK) {
		if (!(r = bench_map_get(map, msg->task_id, true)))
			return;
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
		if (msg->attempt != 1 ||
		    !(r = bench_map_get(map, msg->task_id, true)))
			return;
		if (!(r->v[R_FLAGS] & F_RELEASED)) {
			r->v[R_FLAGS] |= F_RELEASED;
			r->v[R_RELEASED] = msg->produced_ms;
			c->released++;
		}
		return;
	}
	if (strcmp(msg->source, id))
		return;
	if (!(r = bench_map_get(map, msg->task_id, true)))
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

static void print_pct(const char *label, const bench_pct_t *p,
		      const char *note)
{
	char v[64];

	drv_fmt(v, sizeof(v), "%lld / %lld / %lld", (long long)p->p50,
		(long long)p->p99, (long long)p->max);
	printf("  %-34s %-24s (%lld, %.1f, %zu)  = %s\n", label, v,
	       (long long)p->min, p->mean, p->n, note);
}

int main(int argc, char **argv)
{
	const char *plugin = getenv("BENCH_PLUGIN");
	size_t m = (size_t)bench_env_int("BENCH_RETRY_TASKS", 10000, 1,
					  10000000);
	int64_t rate = bench_env_int("BENCH_RETRY_RATE", 1000, 0, 1000000);
	int conc = (int)bench_env_int("BENCH_RETRY_CONCURRENCY", 64, 1, 1024);
	int64_t timeout_s = bench_env_int("BENCH_TIMEOUT", 120, 5, 3600);
	char sections[1024], config[320], topic[256], group[128];
	char id[] = "bench-retry", warm_id[1][DRV_ID_LEN + 1] = { "" };
	const char *payload = "{\"succeed_on_attempt\":2}";
	bench_produce_t warm = { .n = 1, .handler = "flaky",
				 .payload = payload, .ids = warm_id };
	bench_produce_t prod = { .n = m, .handler = "flaky",
				 .payload = payload, .rate = rate };
	bench_reader_t *rd = NULL;
	bench_map_t *map = NULL;
	bench_worker_t w = { 0 };
	counts_t c = { 0 };
	sample_t s = { 0 };
	bench_pct_t late, vs_nb, waited, tier, queue;
	bool ran = false, timed_out = false, died = false, clean = false;
	long rss_kb = -1;
	int64_t deadline, t0 = 0, wall_ms = 0;
	bench_ns_t ns;
	char a[32], b[32];

	if (argc > 1) {
		fprintf(stderr, "usage: %s  (settings come from BENCH_* "
			"environment variables; see bench/README.md)\n",
			argv[0]);
		return 2;
	}
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
		"    policy: once\n", plugin);
	if (!bench_ns_open(&ns, "rt", sections))
		goto out;
	bench_ns_band_topic(&ns, topic, sizeof(topic));
	drv_fmt(group, sizeof(group), "%sworkers", ns.prefix);
	if (!bench_ns_worker_config(&ns, "retry", group, conc, config,
				    sizeof(config)) ||
	    !(map = bench_map_new(m + 1)) ||
	    !(rd = bench_reader_new(&ns, false, BENCH_READ_DELAY |
				    BENCH_READ_BANDS)) ||
	    !bench_worker_start(&w, &ns, config, id))
		goto out;
	bench_log("retry: worker pid %d, concurrency %d", (int)w.pid, conc);

	/* warm-up: both of the worker's consumers are assigned once one task
	 * went round the delay tier */
	if (!bench_produce_tasks(&ns, topic, &warm))
		goto out;
	deadline = drv_mono_ms() + 60000;
	while (c.succeeded < 1 && drv_mono_ms() < deadline && !bench_stop &&
	       bench_worker_alive(&w)) {
		bench_msg_t msg;
		if (bench_reader_next(rd, 100, &msg) > 0)
			take(map, &msg, id, &c);
	}
	if (c.succeeded < 1) {
		bench_log("retry: the warm-up task never succeeded");
		bench_worker_tail(&w, 15);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	ran = true;

	if (rate > 0)
		bench_log("retry: producing %zu tasks at %lld/s", m,
			  (long long)rate);
	else
		bench_log("retry: producing %zu tasks at once", m);
	t0 = drv_mono_ms();
	bench_produce_tasks(&ns, topic, &prod);
	deadline = drv_mono_ms() + timeout_s * 1000;
	while (c.succeeded < prod.acked && !bench_stop) {
		bench_msg_t msg;
		int rc = bench_reader_next(rd, 100, &msg);

		if (rc > 0) {
			take(map, &msg, id, &c);
			continue;
		}
		if (drv_mono_ms() >= deadline) {
			timed_out = true;
			break;
		}
		if (!bench_worker_alive(&w)) {
			died = true;
			break;
		}
	}
	wall_ms = drv_mono_ms() - t0;
	/* the tasks' trips through the delay tier and back to the band were
	 * written before their success, but topics are read in no particular
	 * order: read what is left of them (bounded) */
	deadline = drv_mono_ms() + 5000;
	while ((c.delayed < c.succeeded || c.released < c.succeeded) &&
	       drv_mono_ms() < deadline && !bench_stop) {
		bench_msg_t msg;

		if (bench_reader_next(rd, 100, &msg) > 0)
			take(map, &msg, id, &c);
	}
	rss_kb = bench_worker_peak_rss_kb(&w);
out:
	if (w.pid > 0) {
		if (rss_kb < 0)
			rss_kb = bench_worker_peak_rss_kb(&w);
		clean = bench_worker_stop(&w, 30000);
		if (timed_out || !clean)
			bench_worker_tail(&w, 15);
	} else if (died) {
		bench_worker_tail(&w, 15);
	}
	if (map) {
		size_t n = bench_map_size(map);

		s.late = calloc(n + 1, sizeof(int64_t));
		s.vs_nb = calloc(n + 1, sizeof(int64_t));
		s.waited = calloc(n + 1, sizeof(int64_t));
		s.tier = calloc(n + 1, sizeof(int64_t));
		s.queue = calloc(n + 1, sizeof(int64_t));
		s.skip_id = warm_id[0];
		if (s.late && s.vs_nb && s.waited && s.tier && s.queue)
			bench_map_each(map, sample_rec, &s);
	}
	bench_pct_compute(s.late, s.n, &late);
	bench_pct_compute(s.vs_nb, s.n_nb, &vs_nb);
	bench_pct_compute(s.waited, s.n, &waited);
	bench_pct_compute(s.tier, s.n_rel, &tier);
	bench_pct_compute(s.queue, s.n_rel, &queue);

	printf("\n== retry timing: %s tasks fail once (plugin), retry policy "
	       "fixed 1 s, no jitter; concurrency=%d; submitted at %s/s ==\n",
	       bench_thousands((double)m, a, sizeof(a)), conc,
	       rate > 0 ? bench_thousands((double)rate, b, sizeof(b)) :
	       "unlimited");
	if (!ran) {
		printf("  did not run\n");
	} else {
		printf("  %-34s %zu/%zu in %.1f s%s\n", "retried once, then "
		       "succeeded", s.n, prod.acked, (double)wall_ms / 1000.0,
		       timed_out ? "   INCOMPLETE: stopped at BENCH_TIMEOUT" :
		       died ? "   INCOMPLETE: the worker died" : "");
		printf("\n  >>> EARLY RUNS (attempt 2 started before its "
		       "not-before time): %zu   (must be 0)%s\n\n", s.early_nb,
		       s.n_nb < s.n ? "   [not-before not read for some]" : "");
		printf("  %-34s %-24s %s\n", "ms", "p50 / p99 / max",
		       "(min, mean, n)");
		print_pct("lateness", &late,
			  "started2 - (finished1 + 1 s)");
		printf("  %-34s target p99 <= %d ms: %s\n", "",
		       TARGET_P99_LATE, late.n && late.p99 <= TARGET_P99_LATE
		       && s.n == prod.acked ? "met" : "NOT met");
		print_pct("after not-before", &vs_nb,
			  "started2 - not_before, of which:");
		print_pct("  delay tier: released late by", &tier,
			  "put back on the band - not_before");
		print_pct("  band: waited to start", &queue,
			  "started2 - put back on the band");
		printf("  %-34s %zu  (finished1 is stamped when the event is "
		       "produced, a little after the retry was scheduled)\n",
		       "started2 < finished1 + 1 s", s.early_fin);
		if (c.first_try || c.late_attempt || c.dead || c.dup_events ||
		    s.incomplete)
			printf("  %-34s first-try successes %zu, attempt>2 %zu, "
			       "dead %zu, duplicate events %zu, incomplete "
			       "%zu\n", "anomalies", c.first_try,
			       c.late_attempt, c.dead, c.dup_events,
			       s.incomplete);
		if (rss_kb >= 0)
			printf("  %-34s %.1f MB\n", "worker peak RSS (VmHWM)",
			       (double)rss_kb / 1024.0);
		if (!clean)
			printf("  the worker did not stop cleanly after "
			       "SIGTERM\n");
	}
	fflush(stdout);
	free(s.late);
	free(s.vs_nb);
	free(s.waited);
	free(s.tier);
	free(s.queue);
	bench_reader_destroy(rd);
	bench_map_destroy(map);
	bench_ns_close(&ns);
	return ran && !bench_stop ? 0 : 1;
}
