/*
 * 0110 — fleet-wide limits (issue 13): three workers share a rate limit
 * of 20 tasks a second (burst 1) through Redis: no 1-second window starts
 * more than rate + burst tasks, every task runs on its first attempt (a
 * wait for the limit is no attempt), the achieved rate is near the limit,
 * and a handler without a limit is not slowed. Then a concurrency limit of
 * 2 per customer label: never more than 2 of one customer at once, while
 * another customer's tasks run alongside.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "drover/clock.h"
#include "drover/limit.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "harness.h"

#define PACED 120
#define FREE 5
#define RATE 20
#define BURST 1

static bool enough(const it_event_t *ev, int n, void *arg)
{
	return it_events_distinct(ev, n, "task.succeeded", NULL) >=
	       *(int *)arg;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Start times of the succeeded tasks whose id is (not, when \p invert)
 * in \p ids (NULL: all), sorted. Returns the count. */
static int starts(const it_event_t *ev, int n, char ids[][32], int id_cnt,
		  bool invert, long long *out)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		bool in = false;

		if (strcmp(ev[i].type, "task.succeeded"))
			continue;
		for (int j = 0; ids && j < id_cnt; j++)
			if (!strcmp(ids[j], ev[i].task_id))
				in = true;
		if (ids && in == invert)
			continue;
		out[k++] = ev[i].started_ms;
	}
	qsort(out, (size_t)k, sizeof(*out), cmp_ll);
	return k;
}

Test(rate_limits, fleet_rate_three_workers, .timeout = 120)
{
	it_ctx_t ctx;
	it_event_t *ev;
	int want = PACED + FREE;
	long long *st = malloc(sizeof(*st) * (PACED + FREE) * 2);
	char free_ids[FREE][32];
	long long sent[FREE];
	pid_t w[3];
	int n, k, most = 0;
	double rate;

	cr_assert_not_null(st);
	it_setup(&ctx,
		 "  paced:\n"
		 "    type: noop\n"
		 "  free:\n"
		 "    type: noop\n"
		 "limits:\n"
		 "  paced-api:\n"
		 "    handler: paced\n"
		 "    rate: 20\n"
		 "    per: 1s\n"
		 "    burst: 1\n");
	it_topics(&ctx);
	for (int i = 0; i < 3; i++)
		w[i] = it_worker_start(&ctx, i + 1);
	it_publish_many(&ctx, "paced", PACED);
	for (int i = 0; i < FREE; i++) {
		sent[i] = it_now_ms();
		it_submit(&ctx, free_ids[i], "free", NULL);
	}
	n = it_events(&ctx, 60000, enough, &want, &ev);
	cr_assert_eq(it_events_distinct(ev, n, "task.succeeded", NULL),
		     PACED + FREE, "not all tasks succeeded; see %s", ctx.dir);
	for (int i = 0; i < n; i++)
		if (!strcmp(ev[i].type, "task.succeeded"))
			cr_assert_eq(ev[i].attempt, 1, "task %s ran on attempt "
				     "%d: a wait for the limit burnt one",
				     ev[i].task_id, ev[i].attempt);
	/* every start counts against the limit, a rerun's too (a task may
	 * run again when its partition moves before its commit: at least
	 * once); the rate is over the distinct tasks */
	k = starts(ev, n, free_ids, FREE, true, st);
	cr_assert_geq(k, PACED);
	if (k > PACED)
		cr_log_warn("%d paced tasks ran more than once", k - PACED);
	for (int i = 0; i < k; i++) {
		int in = 0;

		for (int j = i; j < k && st[j] < st[i] + 1000; j++)
			in++;
		if (in > most)
			most = in;
	}
	rate = (double)(PACED - 1) * 1000.0 / (double)(st[k - 1] - st[0]);
	cr_log_info("rate limit %d/s burst %d, 3 workers: most starts in a "
		    "1 s window %d, achieved %.2f/s over %lld ms", RATE,
		    BURST, most, rate, st[k - 1] - st[0]);
	cr_assert_leq(most, RATE + BURST, "%d starts in one second", most);
	cr_assert_geq(rate, RATE * 0.8, "achieved only %.2f/s", rate);
	/* the unlimited handler does not queue behind the 6 s of paced
	 * tasks: each of its tasks starts soon after it was submitted */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < FREE; j++)
			if (!strcmp(ev[i].type, "task.succeeded") &&
			    !strcmp(ev[i].task_id, free_ids[j]))
				cr_assert_lt(ev[i].started_ms - sent[j], 2500,
					     "unlimited task %s started %lld "
					     "ms after its submit", free_ids[j],
					     ev[i].started_ms - sent[j]);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(it_stop(w[i], SIGTERM, 30000), 0);
	free(ev);
	free(st);
	it_teardown(&ctx);
}

#define PER_A 6
#define PER_B 2

/* How many "over a limit" log lines the workers wrote about the tasks
 * \p ids. */
static int delayed_in_logs(it_ctx_t *ctx, char ids[][32], int n)
{
	char path[320], needle[80], *text;
	int found = 0;

	for (int k = 1; k <= 3; k++) {
		snprintf(path, sizeof(path), "%s/worker-%d.log", ctx->dir, k);
		text = it_read(path);
		for (int i = 0; text && i < n; i++) {
			snprintf(needle, sizeof(needle), "task_id=%s limit=",
				 ids[i]);
			for (const char *p = text; (p = strstr(p, needle)); p++)
				found++;
		}
		free(text);
	}
	return found;
}

Test(rate_limits, concurrency_per_label, .timeout = 120)
{
	it_ctx_t ctx;
	it_event_t *ev;
	int want = PER_A + PER_B;
	char a[PER_A][32], b[PER_B][32];
	long long s[PER_A], f[PER_A], sent_b[PER_B], last_a = 0, late_b = 0;
	long long first_a;
	pid_t w[3];
	int n, k = 0, most = 0;

	it_setup(&ctx,
		 "  nap:\n"
		 "    type: sleep\n"
		 "    sleep: 3s\n"
		 "limits:\n"
		 "  per-customer:\n"
		 "    handler: nap\n"
		 "    key: label.customer\n"
		 "    concurrency: 2\n");
	it_topics(&ctx);
	/* room for every task at once: only the limit holds customer a */
	setenv("DROVER_WORKER_CONCURRENCY", "8", 1);
	for (int i = 0; i < 3; i++)
		w[i] = it_worker_start(&ctx, i + 1);
	unsetenv("DROVER_WORKER_CONCURRENCY");
	for (int i = 0; i < PER_A; i++)
		it_submit(&ctx, a[i], "nap", "--label", "customer=a", NULL);
	for (int i = 0; i < PER_B; i++) {
		sent_b[i] = it_now_ms();
		it_submit(&ctx, b[i], "nap", "--label", "customer=b", NULL);
	}
	n = it_events(&ctx, 60000, enough, &want, &ev);
	cr_assert_eq(it_events_distinct(ev, n, "task.succeeded", NULL),
		     PER_A + PER_B, "not all tasks succeeded; see %s", ctx.dir);
	for (int i = 0; i < n; i++) {
		bool in_a = false;

		if (strcmp(ev[i].type, "task.succeeded"))
			continue;
		cr_assert_eq(ev[i].attempt, 1);
		for (int j = 0; j < PER_A; j++)
			in_a |= !strcmp(a[j], ev[i].task_id);
		if (!in_a) {
			for (int j = 0; j < PER_B; j++)
				if (!strcmp(b[j], ev[i].task_id) &&
				    ev[i].started_ms - sent_b[j] > late_b)
					late_b = ev[i].started_ms - sent_b[j];
			continue;
		}
		if (k < PER_A) {
			s[k] = ev[i].started_ms;
			f[k++] = ev[i].finished_ms;
		}
		if (ev[i].started_ms > last_a)
			last_a = ev[i].started_ms;
	}
	cr_assert_eq(k, PER_A);
	first_a = s[0];
	/* at each start of an `a` task, how many `a` runs are under way
	 * (100 ms of slack: a start is stamped before the admission, an end
	 * after the lease is given back) */
	for (int i = 0; i < k; i++) {
		int at = 0;

		for (int j = 0; j < k; j++)
			if (s[j] <= s[i] + 100 && f[j] > s[i] + 100)
				at++;
		if (at > most)
			most = at;
	}
	for (int i = 1; i < k; i++)
		if (s[i] < first_a)
			first_a = s[i];
	cr_log_info("concurrency 2 per customer: at most %d at once; a's "
		    "last start %lld ms after the first; b started at most "
		    "%lld ms after its submit", most, last_a - first_a, late_b);
	cr_assert_leq(most, 2, "%d tasks of one customer at once", most);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(it_stop(w[i], SIGTERM, 30000), 0);
	/* customer b has its own bucket: none of its tasks was sent to wait
	 * (while customer a's were) */
	cr_assert_gt(delayed_in_logs(&ctx, a, PER_A), 0, "customer a never "
		     "waited; see %s", ctx.dir);
	cr_assert_eq(delayed_in_logs(&ctx, b, PER_B), 0, "customer b waited "
		     "for customer a; see %s", ctx.dir);
	free(ev);
	it_teardown(&ctx);
}

/* `droverctl limit list --json` and GET /api/v1/limits show the same
 * limits, and the leases held while a task runs. */
Test(rate_limits, list_through_ctl_and_api, .timeout = 120)
{
	it_ctx_t ctx;
	char id[32], *out = NULL;
	json_t *o = NULL, *l;
	long long until;
	pid_t w, coord;
	int port, running = -1;

	it_setup(&ctx,
		 "  nap:\n"
		 "    type: sleep\n"
		 "    sleep: 4s\n"
		 "limits:\n"
		 "  one-nap:\n"
		 "    handler: nap\n"
		 "    rate: 5\n"
		 "    per: 1s\n"
		 "    burst: 2\n"
		 "    concurrency: 1\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_submit(&ctx, id, "nap", NULL);
	for (until = it_now_ms() + 20000; it_now_ms() < until && running < 1;) {
		cr_assert_eq(it_ctl(&ctx, &out, "limit", "list", "--json",
				    NULL), 0);
		o = json_loads(out, 0, NULL);
		cr_assert_not_null(o, "not JSON: %s", out);
		l = json_array_get(json_object_get(o, "limits"), 0);
		cr_assert_str_eq(json_string_value(json_object_get(l, "name")),
				 "one-nap");
		cr_assert_eq(json_integer_value(json_object_get(l, "rate")), 5);
		running = (int)json_integer_value(json_object_get(l,
								   "running"));
		json_decref(o);
		free(out);
		out = NULL;
		if (running < 1)
			usleep(200 * 1000);
	}
	cr_assert_eq(running, 1, "the running task's lease is not shown");

	port = it_api_start(&ctx, "IT_API_TOKEN_0110", "ops-secret-0110",
			    "viewer-secret-0110", "", &coord);
	cr_assert_eq(it_http_json(port, "GET", "/api/v1/limits",
				  "viewer-secret-0110", NULL, &o), 200);
	l = json_array_get(json_object_get(o, "limits"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(l, "handler")),
			 "nap");
	cr_assert_eq(json_integer_value(json_object_get(l, "concurrency")), 1);
	cr_assert(json_is_integer(json_object_get(l, "running")));
	json_decref(o);
	cr_assert_eq(it_stop(coord, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}

/* Redis goes away: tasks of a limited handler are admitted unchecked (the
 * worker says so once) instead of stalling. With Redis up, the limit of
 * one task a minute would hold all but the first. */
Test(rate_limits, redis_down_admits, .timeout = 120)
{
	int rport = it_free_port();
	char url[64], log[300], *text;
	const char *saved = getenv("DROVER_REDIS_URL");
	char *old = saved ? strdup(saved) : NULL;
	it_ctx_t ctx;
	pid_t redis, w;
	int said = 0;

	redis = it_redis_start(rport);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", rport);
	setenv("DROVER_REDIS_URL", url, 1);
	it_setup(&ctx,
		 "  rec:\n"
		 "    shell: true\n"
		 "    command: 'echo \"rec $DROVER_TASK_ID\" >> \"$OUT\"'\n"
		 "redis:\n"
		 "  connect_timeout: 300ms\n"
		 "limits:\n"
		 "  slow-rec:\n"
		 "    handler: rec\n"
		 "    rate: 1\n"
		 "    per: 1m\n");
	it_topics(&ctx);
	w = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "rec", 1);
	cr_assert_eq(it_wait_count(&ctx, "rec ", NULL, 1, 60000), 1);
	it_redis_kill(redis);
	it_publish_many(&ctx, "rec", 5);
	cr_assert_eq(it_wait_count(&ctx, "rec ", NULL, 6, 40000), 6,
		     "limited tasks stalled while Redis was down; see %s",
		     ctx.dir);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	text = it_read(log);
	for (const char *p = text; p && (p = strstr(p, "limits: Redis "
						     "unreachable")); p++)
		said++;
	free(text);
	cr_assert_eq(said, 1, "said %d times; see %s", said, ctx.dir);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	if (old)
		setenv("DROVER_REDIS_URL", old, 1);
	free(old);
	it_teardown(&ctx);
}

/* Ask the limit of \p cfg for task \p id; returns the wait (ms), 0 when
 * admitted. */
static int64_t ask(redisContext *rc, const drv_config_t *cfg, const char *id)
{
	drv_limit_set_t set = { .conf = { &cfg->limits[0] }, .value = { "" },
				.cnt = 1 };
	bool ok = false, in_place = false;
	int64_t wait = -1;
	size_t who = 9;
	char err[256] = "";

	cr_assert_eq(drv_limit_acquire(rc, cfg, &set, id, 60000, 0, &ok, &wait,
				       &in_place, &who, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(ok, wait == 0, "%s: admitted %d with wait %lld", id, ok,
		     (long long)wait);
	if (!ok)
		cr_assert_eq(who, 0);
	return wait;
}

/* The admission script against the real Redis, one interval 250 ms: a
 * task refused is given the next start and keeps it (asking again does not
 * send it behind those refused after it); late, it still runs on it; two
 * late tasks asking at once are spaced by half an interval; a new task
 * waits behind what the reservations took. */
Test(rate_limits, reservations_keep_order, .timeout = 60)
{
	const char *url = getenv("DROVER_REDIS_URL");
	drv_config_t *cfg = NULL;
	redisContext *rc = NULL;
	char yaml[1024], err[256] = "";
	int64_t w;

	cr_assert(url, "DROVER_REDIS_URL unset: run under scripts/test");
	drv_fmt(yaml, sizeof(yaml),
		"redis:\n  url: \"%s\"\n  key_prefix: \"it%dr%lld:\"\n"
		"handlers:\n  paced:\n    type: noop\n"
		"limits:\n  four:\n    handler: paced\n    rate: 4\n"
		"    per: 1s\n    burst: 1\n", url, (int)getpid(),
		(long long)(drv_now_ms() % 100000));
	cr_assert_eq(drv_config_load_string("t.yaml", yaml, strlen(yaml), NULL,
					    &cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &rc, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(ask(rc, cfg, "a"), 0, "the first task waits");
	w = ask(rc, cfg, "b");
	cr_assert(w > 200 && w <= 251, "b waits %lld ms, not one interval",
		  (long long)w);
	w = ask(rc, cfg, "c");
	cr_assert(w > 450 && w <= 501, "c waits %lld ms, not two intervals",
		  (long long)w);
	w = ask(rc, cfg, "b");
	cr_assert(w > 0 && w <= 251, "b asked again and waits %lld ms: its "
		  "start was not kept", (long long)w);
	usleep(900 * 1000);  /* b and c are late now */
	cr_assert_eq(ask(rc, cfg, "b"), 0, "b late lost its start");
	w = ask(rc, cfg, "c");
	cr_assert(w > 0 && w <= 126, "c, late too, waits %lld ms after b, "
		  "not half an interval", (long long)w);
	usleep((useconds_t)w * 1000 + 2000);
	cr_assert_eq(ask(rc, cfg, "c"), 0, "c not admitted after its wait");
	w = ask(rc, cfg, "d");
	cr_assert(w > 100, "d, new, waits only %lld ms", (long long)w);
	redisFree(rc);
	drv_config_destroy(cfg);
}

/* A limit changed at run time, through the API, holds for the whole fleet
 * at once: 2 a second in the config would space 12 tasks over 5.5 s, the
 * change to 100 a second starts them all within a second or two. A reset
 * brings the config's settings back; bad changes are refused and change
 * nothing. */
Test(rate_limits, change_at_run_time, .timeout = 120)
{
	it_ctx_t ctx;
	it_event_t *ev;
	json_t *o = NULL, *audit = NULL, *e;
	char *out = NULL;
	long long st[12];
	int want = 12, n, k, port;
	size_t i;
	bool audited = false;
	pid_t w, coord;

	it_setup(&ctx,
		 "  paced:\n"
		 "    type: noop\n"
		 "limits:\n"
		 "  slow:\n"
		 "    handler: paced\n"
		 "    rate: 2\n"
		 "    per: 1s\n");
	it_topics(&ctx);
	port = it_api_start(&ctx, "IT_API_TOKEN_0110C", "ops-secret-0110c",
			    "viewer-secret-0110c", "", &coord);
	cr_assert_eq(it_http_json(port, "PATCH", "/api/v1/limits/slow",
				  "viewer-secret-0110c", "{\"rate\": 100}",
				  &o), 403, "a viewer changed a limit");
	json_decref(o);
	cr_assert_eq(it_http_json(port, "PATCH", "/api/v1/limits/slow",
				  "ops-secret-0110c", "{\"rate\": \"x\"}", &o),
		     400);
	cr_assert_str_eq(json_string_value(json_object_get(o, "pointer")),
			 "/rate");
	json_decref(o);
	cr_assert_eq(it_http_json(port, "PATCH", "/api/v1/limits/slow",
				  "ops-secret-0110c", "{\"burst\": 0}", &o),
		     400, "a burst of 0 was taken");
	json_decref(o);
	cr_assert_eq(it_http_json(port, "PATCH", "/api/v1/limits/nope",
				  "ops-secret-0110c", "{\"rate\": 3}", &o),
		     404);
	json_decref(o);
	cr_assert_eq(it_http_json(port, "PATCH", "/api/v1/limits/slow",
				  "ops-secret-0110c",
				  "{\"rate\": 100, \"burst\": 2}", &o), 200);
	cr_assert_eq(json_integer_value(json_object_get(o, "rate")), 100);
	cr_assert_eq(json_integer_value(json_object_get(o, "burst")), 2);
	cr_assert_eq(json_integer_value(json_object_get(
		json_object_get(o, "config"), "rate")), 2);
	cr_assert_gt(json_integer_value(json_object_get(o, "changed_ms")), 0);
	json_decref(o);

	w = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "paced", want);
	n = it_events(&ctx, 60000, enough, &want, &ev);
	cr_assert_eq(it_events_distinct(ev, n, "task.succeeded", NULL), want);
	k = starts(ev, n, NULL, 0, false, st);
	cr_assert_geq(k, want);
	cr_assert_lt(st[k - 1] - st[0], 3000, "12 tasks took %lld ms: the "
		     "config's 2 a second held, not the change",
		     st[k - 1] - st[0]);
	free(ev);

	/* droverctl: bad input exits 2 and changes nothing; reset */
	cr_assert_eq(it_ctl(&ctx, &out, "limit", "set", "slow", "--rate",
			    "abc", NULL), 2);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "limit", "set", "nope", "--rate", "3",
			    NULL), 2);
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "limit", "set", "slow", "--rate", "0",
			    NULL), 2, "a limit with neither rate nor "
		     "concurrency was taken");
	free(out);
	cr_assert_eq(it_ctl(&ctx, &out, "limit", "reset", "slow", "--json",
			    NULL), 0);
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "not JSON: %s", out);
	cr_assert_eq(json_integer_value(json_object_get(o, "rate")), 2);
	cr_assert_null(json_object_get(o, "config"));
	json_decref(o);
	free(out);

	cr_assert_eq(it_http_json(port, "GET", "/api/v1/audit?limit=50",
				  "viewer-secret-0110c", NULL, &audit), 200);
	json_array_foreach(json_object_get(audit, "records"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "action")) ?
			    json_string_value(json_object_get(e, "action")) :
			    "", "limit.change"))
			audited = true;
	cr_assert(audited, "the API's change is not in the audit");
	json_decref(audit);
	cr_assert_eq(it_stop(coord, SIGTERM, 30000), 0);
	cr_assert_eq(it_stop(w, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
