/*
 * Unit tests for the task-state writer (core/state.c), with no Redis: the
 * state names, the history entry and `task show` JSON, the
 * worker.task_state filter (all, failures, off), the queue bound (the
 * oldest entry goes, and is counted), and that an unreachable or
 * unresponsive Redis never blocks a caller: creation returns at once, the
 * object reports degraded, an idempotency claim (core/claim.c) fails fast
 * and destroy returns promptly.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drover/claim.h"
#include "drover/clock.h"
#include "drover/config.h"
#include "drover/retry_stats.h"
#include "drover/state.h"
#include "drover/str.h"
#include "time_scale.h"

/* A config from \p yaml; asserts it loads. */
static drv_config_t *config(const char *yaml)
{
	drv_config_t *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(drv_config_load_string("t.yaml", yaml, strlen(yaml), NULL,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	return cfg;
}

/* Nothing listens on port 1: connects are refused at once. */
static const char refused_yaml[] =
	"redis:\n"
	"  url: redis://127.0.0.1:1\n"
	"  connect_timeout: 300ms\n";

/* What on_status was told; the callback runs on the writer's thread. */
typedef struct status_log {
	atomic_int downs, ups;
	pthread_mutex_t lock;
	char detail[400];     /* the last one, under lock */
} status_log_t;

#define STATUS_LOG_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

static void on_status(bool up, const char *detail, void *arg)
{
	status_log_t *log = arg;

	pthread_mutex_lock(&log->lock);
	drv_strlcpy(log->detail, detail, sizeof(log->detail));
	pthread_mutex_unlock(&log->lock);
	atomic_fetch_add(up ? &log->ups : &log->downs, 1);
}

static bool detail_has(status_log_t *log, const char *needle)
{
	bool has;

	pthread_mutex_lock(&log->lock);
	has = strstr(log->detail, needle) != NULL;
	if (!has)
		cr_log_error("status detail: %s", log->detail);
	pthread_mutex_unlock(&log->lock);
	return has;
}

static bool wait_down(status_log_t *log, int timeout_ms)
{
	int64_t until = drv_mono_ms() + timeout_ms;

	while (!atomic_load(&log->downs) && drv_mono_ms() < until)
		usleep(5000);
	return atomic_load(&log->downs) > 0;
}

static drv_state_stats_t stats(drv_state_t *st)
{
	drv_state_stats_t s;

	drv_state_stats(st, &s);
	return s;
}

/* ---------------------------------------------------------------- */
/* Names and formatting                                              */
/* ---------------------------------------------------------------- */

Test(state, names_round_trip)
{
	static const char *const names[] = {
		"queued", "running", "succeeded", "retrying", "dead", "skipped",
		"paused", "cancelled"
	};
	drv_task_state_t s;

	for (int i = 0; i < DRV_TASK_STATE_CNT; i++) {
		cr_assert_str_eq(drv_task_state_name((drv_task_state_t)i),
				 names[i]);
		cr_assert_eq(drv_task_state_parse(names[i], &s), DRV_OK);
		cr_assert_eq((int)s, i);
	}
	cr_assert_str_eq(drv_task_state_name((drv_task_state_t)99), "unknown");
	s = DRV_TASK_DEAD;
	cr_assert_eq(drv_task_state_parse("Running", &s), DRV_ERR_INVALID);
	cr_assert_eq(drv_task_state_parse(NULL, &s), DRV_ERR_INVALID);
	cr_assert_eq(s, DRV_TASK_DEAD, "untouched on error");
}

Test(state, history_json)
{
	drv_state_rec_t r = {
		.task_id = "01J0000000000000000000000A",
		.state = DRV_TASK_RETRYING, .attempt = 2, .handler = "echo",
		.worker = "w1", .error = "exit 75: \"busy\"\n",
		.failure_class = DRV_FAILURE_TRANSIENT,
		.started_ms = 1700000000000, .finished_ms = 1700000000250,
	};
	char *s = drv_state_history_json(&r);

	cr_assert_str_eq(s, "{\"attempt\":2,\"state\":\"retrying\","
			 "\"worker\":\"w1\",\"started_ms\":1700000000000,"
			 "\"finished_ms\":1700000000250,"
			 "\"error\":\"exit 75: \\\"busy\\\"\\n\","
			 "\"class\":\"transient\"}");
	free(s);

	/* absent worker, error and class are left out */
	r = (drv_state_rec_t){ .task_id = "x", .state = DRV_TASK_SUCCEEDED,
			       .attempt = 1, .started_ms = 5,
			       .finished_ms = 7 };
	s = drv_state_history_json(&r);
	cr_assert_str_eq(s, "{\"attempt\":1,\"state\":\"succeeded\","
			 "\"started_ms\":5,\"finished_ms\":7}");
	free(s);

	/* bytes that are not UTF-8 still give valid JSON */
	r.error = "bad \xff byte";
	r.state = DRV_TASK_DEAD;
	s = drv_state_history_json(&r);
	cr_assert(strstr(s, "\"error\":\"bad ? byte\""), "%s", s);
	free(s);

	/* queued and running do not end an attempt: no history entry */
	r.state = DRV_TASK_RUNNING;
	cr_assert_null(drv_state_history_json(&r));
	r.state = DRV_TASK_QUEUED;
	cr_assert_null(drv_state_history_json(&r));
}

Test(state, wait_prefix_and_parse)
{
	drv_state_wait_rec_t r = {
		.task_id = "t", .kind = "breaker", .name = "pay \"eu\"",
		.state = "forced_open", .attempt = 2,
	};
	drv_state_wait_t w;
	char *p = drv_state_wait_prefix(&r), line[512];

	/* the part a turn-away must match to extend the last line */
	cr_assert_str_eq(p, "{\"kind\":\"breaker\",\"name\":\"pay "
			 "\\\"eu\\\"\",\"state\":\"forced_open\","
			 "\"attempt\":2,");
	/* the script ends the line as the parser reads it */
	drv_fmt(line, sizeof(line), "%s\"at_ms\":100,\"until_ms\":200,"
		"\"turns\":3}", p);
	free(p);
	cr_assert_eq(drv_state_wait_parse(line, &w), DRV_OK, "%s", line);
	cr_assert_str_eq(w.kind, "breaker");
	cr_assert_str_eq(w.name, "pay \"eu\"");
	cr_assert_str_eq(w.state, "forced_open");
	cr_assert_eq(w.attempt, 2);
	cr_assert_eq(w.at_ms, 100);
	cr_assert_eq(w.until_ms, 200);
	cr_assert_eq(w.turns, 3);
	drv_state_wait_release(&w);
	cr_assert_null(w.kind);

	/* a limit has no state; a name that is not UTF-8 stays JSON */
	r = (drv_state_wait_rec_t){ .task_id = "t", .kind = "limit",
				    .name = "r\xff" };
	p = drv_state_wait_prefix(&r);
	cr_assert_str_eq(p, "{\"kind\":\"limit\",\"name\":\"r?\","
			 "\"attempt\":0,");
	free(p);

	/* what drover did not write */
	cr_assert_eq(drv_state_wait_parse("nope", &w), DRV_ERR_DECODE);
	cr_assert_eq(drv_state_wait_parse("{\"kind\":\"breaker\","
		"\"attempt\":0,\"at_ms\":1,\"until_ms\":2,\"turns\":1}",
		&w), DRV_ERR_DECODE, "no name");
	cr_assert_eq(drv_state_wait_parse("{\"kind\":\"breaker\","
		"\"name\":\"x\",\"attempt\":0,\"at_ms\":1,\"until_ms\":2,"
		"\"turns\":0}", &w), DRV_ERR_DECODE, "no turn");
	cr_assert_eq(drv_state_wait_parse("{\"kind\":\"breaker\","
		"\"name\":7,\"attempt\":0,\"at_ms\":1,\"until_ms\":2,"
		"\"turns\":1}", &w), DRV_ERR_DECODE, "a name not a string");
	cr_assert_null(w.kind);
}

Test(state, wait_arguments_and_filter)
{
	static const char *const modes[] = { "'off'", "failures", "all" };
	/* waits kept of a first try's and a retry's, by mode */
	static const size_t kept[][2] = { { 0, 0 }, { 0, 1 }, { 1, 2 } };
	drv_state_wait_rec_t r = { .task_id = "t", .kind = "breaker",
				   .name = "pay" };
	char yaml[128];

	for (size_t m = 0; m < 3; m++) {
		drv_config_t *cfg;
		drv_state_t *st;

		drv_fmt(yaml, sizeof(yaml), "redis:\n  url: "
			"redis://127.0.0.1:1\nworker:\n  task_state: %s\n",
			modes[m]);
		cfg = config(yaml);
		st = drv_state_new(cfg, NULL, NULL, 0);
		cr_assert_not_null(st);
		r.attempt = 0;
		cr_assert_eq(drv_state_wait(st, &r), DRV_OK);
		cr_assert_eq(stats(st).queued, kept[m][0], "%s", modes[m]);
		r.attempt = 1;
		cr_assert_eq(drv_state_wait(st, &r), DRV_OK);
		cr_assert_eq(stats(st).queued, kept[m][1], "%s", modes[m]);
		r.name = NULL;
		cr_assert_eq(drv_state_wait(st, &r), DRV_ERR_INVALID);
		r.name = "pay";
		r.kind = "";
		cr_assert_eq(drv_state_wait(st, &r), DRV_ERR_INVALID);
		r.kind = "breaker";
		drv_state_destroy(st);
		drv_config_destroy(cfg);
	}
}

Test(state, task_json)
{
	drv_state_attempt_t h[2] = {
		{ .attempt = 1, .state = DRV_TASK_RETRYING, .worker = "w1",
		  .started_ms = 1000, .finished_ms = 2000, .error = "boom",
		  .failure_class = DRV_FAILURE_TIMEOUT },
		{ .attempt = 2, .state = DRV_TASK_SUCCEEDED },
	};
	drv_state_task_t t;
	char *s;

	drv_state_task_init(&t);
	cr_assert_eq(t.ttl_ms, -1);
	t.id = "T1";
	t.state = DRV_TASK_SUCCEEDED;
	t.attempt = 2;
	t.handler = "echo";
	t.last_error = "boom";
	t.updated_ms = 1700000000123;
	t.ttl_ms = 5000;
	t.history = h;
	t.history_cnt = 2;
	s = drv_state_task_json(&t);
	cr_assert_str_eq(s, "{\"id\":\"T1\",\"state\":\"succeeded\","
			 "\"attempt\":2,\"handler\":\"echo\","
			 "\"last_error\":\"boom\","
			 "\"updated_ms\":1700000000123,"
			 "\"updated\":\"2023-11-14T22:13:20.123Z\","
			 "\"ttl_ms\":5000,\"history\":["
			 "{\"attempt\":1,\"state\":\"retrying\","
			 "\"worker\":\"w1\",\"started_ms\":1000,"
			 "\"finished_ms\":2000,\"error\":\"boom\","
			 "\"class\":\"timeout\"},"
			 "{\"attempt\":2,\"state\":\"succeeded\"}],"
			 "\"waits\":[]}");
	free(s);
}

/* ---------------------------------------------------------------- */
/* worker.task_state                                                 */
/* ---------------------------------------------------------------- */

Test(state, mode_filter_table)
{
	drv_state_rec_t r = { .task_id = "t" };
	struct { drv_task_state_t s; uint32_t attempt; bool keep; } f[] = {
		{ DRV_TASK_QUEUED,    0, false },
		{ DRV_TASK_RUNNING,   1, false },
		{ DRV_TASK_SUCCEEDED, 1, false },
		{ DRV_TASK_SKIPPED,   1, false },
		{ DRV_TASK_RETRYING,  1, true },
		{ DRV_TASK_DEAD,      1, true },
		{ DRV_TASK_RUNNING,   2, true },  /* after a failure */
		{ DRV_TASK_SUCCEEDED, 3, true },  /* ends a failed task */
		{ DRV_TASK_PAUSED,    0, true },  /* operator interventions */
		{ DRV_TASK_CANCELLED, 1, true },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		r.state = f[i].s;
		r.attempt = f[i].attempt;
		cr_assert(drv_state_mode_keeps(DRV_TASK_STATE_ALL, &r));
		cr_assert_not(drv_state_mode_keeps(DRV_TASK_STATE_OFF, &r));
		cr_assert_eq(drv_state_mode_keeps(DRV_TASK_STATE_FAILURES, &r),
			     f[i].keep, "row %zu", i);
	}
}

Test(state, config_keys)
{
	drv_config_t *cfg = drv_config_new();

	cr_assert_eq(cfg->worker.task_state, DRV_TASK_STATE_ALL);
	cr_assert_eq(cfg->worker.task_state_ttl_ms, 7LL * 86400 * 1000);
	cr_assert_eq(cfg->worker.idempotency_ttl_ms, 86400LL * 1000);
	drv_config_destroy(cfg);
	cfg = config("worker:\n  task_state: failures\n"
		     "  task_state_ttl: 1h\n  idempotency_ttl: 2m\n");
	cr_assert_eq(cfg->worker.task_state, DRV_TASK_STATE_FAILURES);
	cr_assert_eq(cfg->worker.task_state_ttl_ms, 3600000);
	cr_assert_eq(cfg->worker.idempotency_ttl_ms, 120000);
	drv_config_destroy(cfg);
}

Test(state, config_bounds)
{
	drv_config_t *cfg = NULL;
	char err[256] = "";
	static const char *const bad[] = {
		"worker:\n  task_state: some\n",
		"worker:\n  task_state_ttl: 59s\n",
		"worker:\n  task_state_ttl: 366d\n",
		"worker:\n  idempotency_ttl: 30s\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(drv_config_load_string("t.yaml", bad[i],
			     strlen(bad[i]), NULL, &cfg, err, sizeof(err)),
			     DRV_ERR_CONFIG, "%s", bad[i]);
		cr_assert_null(cfg);
	}
}

static void record_all_states(drv_state_t *st)
{
	for (int s = 0; s < DRV_TASK_STATE_CNT; s++) {
		drv_state_rec_t r = { .task_id = "T", .attempt = 1,
				      .state = (drv_task_state_t)s };

		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	}
}

Test(state, mode_off_keeps_nothing)
{
	drv_config_t *cfg = config("redis:\n  url: redis://127.0.0.1:1\n"
				   "worker:\n  task_state: 'off'\n");
	drv_state_t *st = drv_state_new(cfg, NULL, NULL, 0);

	cr_assert_not_null(st);
	record_all_states(st);
	cr_assert_eq(stats(st).queued, 0);
	/* idempotency keys are not task state: still queued */
	cr_assert_eq(drv_state_idem_done(st, "k", "T"), DRV_OK);
	cr_assert_eq(stats(st).queued, 1);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

Test(state, mode_failures_filters)
{
	drv_config_t *cfg = config("redis:\n  url: redis://127.0.0.1:1\n"
				   "worker:\n  task_state: failures\n");
	drv_state_t *st = drv_state_new(cfg, NULL, NULL, 0);
	drv_state_rec_t r = { .task_id = "T", .state = DRV_TASK_SUCCEEDED,
			      .attempt = 2 };

	cr_assert_not_null(st);
	record_all_states(st);
	cr_assert_eq(stats(st).queued, 4, "retrying, dead, paused and "
		     "cancelled only");
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	cr_assert_eq(stats(st).queued, 5, "a success after a failure");
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

Test(state, mode_all_keeps_everything)
{
	drv_config_t *cfg = config(refused_yaml);
	drv_state_t *st = drv_state_new(cfg, NULL, NULL, 0);

	cr_assert_not_null(st);
	record_all_states(st);
	cr_assert_eq(stats(st).queued, DRV_TASK_STATE_CNT);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

/* ---------------------------------------------------------------- */
/* The queue                                                         */
/* ---------------------------------------------------------------- */

Test(state, bad_arguments)
{
	drv_config_t *cfg = config(refused_yaml);
	drv_state_t *st = drv_state_new(cfg, NULL, NULL, 0);
	drv_state_rec_t r = { .state = DRV_TASK_RUNNING };
	char *long_key = malloc(DRV_STATE_KEY_MAX + 2);
	drv_claims_t *c = drv_claims_new(cfg, 0, NULL, 0);
	drv_claim_t claim = { .verdict = DRV_CLAIM_HELD };

	memset(long_key, 'k', DRV_STATE_KEY_MAX + 1);
	long_key[DRV_STATE_KEY_MAX + 1] = '\0';
	cr_assert_eq(drv_state_record(st, &r), DRV_ERR_INVALID);
	r.task_id = "";
	cr_assert_eq(drv_state_record(st, &r), DRV_ERR_INVALID);
	r.task_id = long_key;
	cr_assert_eq(drv_state_record(st, &r), DRV_ERR_INVALID);
	cr_assert_eq(drv_state_record(st, NULL), DRV_ERR_INVALID);
	cr_assert_eq(drv_state_idem_done(st, "", "T"), DRV_ERR_INVALID);
	cr_assert_eq(drv_state_idem_done(st, "k", NULL), DRV_ERR_INVALID);
	cr_assert_eq(drv_state_idem_done(st, long_key, "T"), DRV_ERR_INVALID);
	cr_assert_eq(drv_claims_take(c, NULL, &claim), DRV_ERR_INVALID);
	cr_assert_eq(drv_claims_take(c, "", &claim), DRV_ERR_INVALID);
	cr_assert_eq(drv_claims_take(c, long_key, &claim), DRV_ERR_INVALID);
	cr_assert_eq(claim.verdict, DRV_CLAIM_HELD, "untouched on error");
	drv_claims_release(c, long_key);
	drv_claims_forget(c, "never taken");
	cr_assert_eq(drv_claims_held(c), 0);
	cr_assert_eq(stats(st).queued, 0);
	drv_state_destroy(st);
	drv_state_destroy(NULL);
	drv_claims_destroy(c);
	drv_claims_destroy(NULL);
	free(long_key);
	drv_config_destroy(cfg);
}

Test(state, bad_url)
{
	drv_config_t *cfg = drv_config_new();
	char err[256] = "";

	free(cfg->redis.url);
	cfg->redis.url = drv_strdup("http://nope");
	cr_assert_null(drv_state_new(cfg, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "redis://"), "%s", err);
	drv_config_destroy(cfg);
}

Test(state, full_queue_drops_the_oldest)
{
	drv_config_t *cfg = config(refused_yaml);
	drv_state_opts_t o = { .queue_max = 10 };
	drv_state_t *st = drv_state_new(cfg, &o, NULL, 0);
	drv_state_stats_t s;
	char key[16];

	cr_assert_not_null(st);
	for (int i = 0; i < 15; i++) {
		drv_fmt(key, sizeof(key), "k%d", i);
		cr_assert_eq(drv_state_idem_done(st, key, "T"), DRV_OK);
	}
	s = stats(st);
	cr_assert_eq(s.queued, 10);
	cr_assert_eq(s.dropped, 5);
	cr_assert_eq(s.written, 0);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

Test(state, default_bound_is_ten_thousand)
{
	drv_config_t *cfg = config(refused_yaml);
	drv_state_t *st = drv_state_new(cfg, NULL, NULL, 0);
	drv_state_rec_t r = { .task_id = "01J0000000000000000000000A",
			      .state = DRV_TASK_RETRYING, .attempt = 1,
			      .handler = "echo", .worker = "w1",
			      .error = "boom" };
	drv_state_stats_t s;

	cr_assert_not_null(st);
	for (int i = 0; i < DRV_STATE_QUEUE_MAX + 5; i++)
		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	s = stats(st);
	cr_assert_eq(s.queued, DRV_STATE_QUEUE_MAX);
	cr_assert_eq(s.dropped, 5);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

/* Records from 8 threads at once: every one is either queued or dropped. */
static void *hammer(void *arg)
{
	drv_state_t *st = arg;
	drv_state_rec_t r = { .task_id = "T", .state = DRV_TASK_SUCCEEDED,
			      .attempt = 1 };

	for (int i = 0; i < 2000; i++)
		drv_state_record(st, &r);
	return NULL;
}

Test(state, concurrent_records_are_counted)
{
	drv_config_t *cfg = config(refused_yaml);
	drv_state_opts_t o = { .queue_max = 1000 };
	drv_state_t *st = drv_state_new(cfg, &o, NULL, 0);
	pthread_t th[8];
	drv_state_stats_t s;

	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, hammer, st);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	s = stats(st);
	cr_assert_eq(s.queued, 1000);
	cr_assert_eq(s.dropped, 16000 - 1000);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

/* Half a queue behind, `running` records are shed, outcomes still queued:
 * an overloaded writer keeps the states that last. */
Test(state, running_records_shed_when_behind)
{
	drv_config_t *cfg = config(refused_yaml);
	drv_state_opts_t o = { .queue_max = 10 };
	drv_state_t *st = drv_state_new(cfg, &o, NULL, 0);
	drv_state_rec_t run = { .task_id = "R", .state = DRV_TASK_RUNNING,
				.attempt = 1 };
	drv_state_rec_t done = { .task_id = "D", .state = DRV_TASK_SUCCEEDED,
				 .attempt = 1 };
	drv_state_stats_t s;

	for (int i = 0; i < 5; i++)
		cr_assert_eq(drv_state_record(st, &run), DRV_OK);
	s = stats(st);
	cr_expect_eq(s.queued, 5, "below half the queue: kept");
	cr_expect_eq(s.shed, 0);
	cr_assert_eq(drv_state_record(st, &run), DRV_OK);
	cr_assert_eq(drv_state_record(st, &done), DRV_OK);
	s = stats(st);
	cr_expect_eq(s.queued, 6, "the outcome queued, the running shed");
	cr_expect_eq(s.shed, 1);
	cr_expect_eq(s.dropped, 0);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

/* With Redis down a full queue is not "behind": the worker goes on
 * (degraded) instead of waiting for a Redis that is not there. */
Test(state, never_behind_while_redis_is_down)
{
	drv_config_t *cfg = config(refused_yaml);
	drv_state_opts_t o = { .queue_max = 8 };
	drv_state_t *st = drv_state_new(cfg, &o, NULL, 0);
	drv_state_rec_t r = { .task_id = "D", .state = DRV_TASK_SUCCEEDED,
			      .attempt = 1 };

	for (int i = 0; i < 8; i++)
		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	cr_expect_eq(stats(st).queued, 8);
	cr_expect(!drv_state_behind(st));
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

/* ---------------------------------------------------------------- */
/* Redis unreachable or unresponsive                                 */
/* ---------------------------------------------------------------- */

Test(state, unreachable_redis_never_blocks)
{
	drv_config_t *cfg = config(refused_yaml);
	status_log_t log = STATUS_LOG_INIT;
	drv_state_opts_t o = { .on_status = on_status, .arg = &log };
	drv_state_rec_t r = { .task_id = "T", .state = DRV_TASK_RUNNING,
			      .attempt = 1 };
	drv_state_t *st;
	drv_state_stats_t s;
	drv_claims_t *c;
	drv_claim_t claim;
	int64_t t0 = drv_mono_ms();
	drv_err_t err;

	st = drv_state_new(cfg, &o, NULL, 0);
	cr_assert_not_null(st);
	cr_assert_lt(drv_mono_ms() - t0, scaled(100),
		     "creation waited on Redis");
	cr_assert(drv_state_degraded(st), "not connected yet is degraded");
	cr_assert(wait_down(&log, scaled(2000)), "never told Redis is down");
	cr_assert(drv_state_degraded(st));
	cr_assert_eq(atomic_load(&log.ups), 0);
	cr_assert(detail_has(&log, "127.0.0.1:1"));

	t0 = drv_mono_ms();
	c = drv_claims_new(cfg, 0, NULL, 0);
	cr_assert_not_null(c);
	for (int i = 0; i < 20; i++) {
		err = drv_claims_take(c, "nope", &claim);
		cr_assert(err == DRV_ERR_REDIS || err == DRV_ERR_TIMEOUT,
			  "%d", err);
	}
	cr_assert_eq(drv_claims_held(c), 0);
	drv_claims_destroy(c);
	cr_assert_lt(drv_mono_ms() - t0, scaled(200),
		     "claims are slow when Redis is down");
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	cr_assert_eq(drv_state_idem_done(st, "k", "T"), DRV_OK);
	s = stats(st);
	cr_assert_eq(s.queued, 2, "kept while Redis is down");
	cr_assert_geq(s.errors, 1);

	t0 = drv_mono_ms();
	drv_state_destroy(st);
	cr_assert_lt(drv_mono_ms() - t0, scaled(500), "destroy waited on Redis");
	drv_config_destroy(cfg);
}

/* A "Redis" that accepts connections and never answers. */
typedef struct mute_server {
	int fd;
	int port;
} mute_server_t;

static void mute_start(mute_server_t *m)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(m->fd >= 0);
	cr_assert_eq(bind(m->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(m->fd, 64), 0);
	getsockname(m->fd, (struct sockaddr *)&a, &len);
	m->port = ntohs(a.sin_port);
}

Test(state, unresponsive_redis_never_blocks, .timeout = 30)
{
	mute_server_t m;
	char yaml[256];
	drv_config_t *cfg;
	status_log_t log = STATUS_LOG_INIT;
	drv_state_opts_t o = { .on_status = on_status, .arg = &log };
	drv_state_t *st;
	drv_claims_t *c;
	drv_claim_t claim;
	drv_err_t err;
	int64_t t0;

	mute_start(&m);
	drv_fmt(yaml, sizeof(yaml), "redis:\n  url: redis://127.0.0.1:%d\n"
		"  connect_timeout: %lldms\n", m.port,
		(long long)scaled(300));
	cfg = config(yaml);
	t0 = drv_mono_ms();
	st = drv_state_new(cfg, &o, NULL, 0);
	cr_assert_not_null(st);
	cr_assert_lt(drv_mono_ms() - t0, scaled(100));
	cr_assert(wait_down(&log, scaled(3000)), "never told Redis is down");
	cr_assert(detail_has(&log, "unreachable"));

	/* a claim waits for one command's timeout, then not again until
	 * the backoff has passed */
	c = drv_claims_new(cfg, 0, NULL, 0);
	cr_assert_not_null(c);
	t0 = drv_mono_ms();
	err = drv_claims_take(c, "k", &claim);
	cr_assert(err == DRV_ERR_TIMEOUT || err == DRV_ERR_REDIS, "%d", err);
	cr_assert_lt(drv_mono_ms() - t0, scaled(1500), "claim waited");
	t0 = drv_mono_ms();
	for (int i = 0; i < 10; i++)
		cr_assert_eq(drv_claims_take(c, "k", &claim), DRV_ERR_REDIS);
	cr_assert_lt(drv_mono_ms() - t0, scaled(200), "claims waited");
	drv_claims_destroy(c);

	t0 = drv_mono_ms();
	drv_state_destroy(st);
	cr_assert_lt(drv_mono_ms() - t0, scaled(1500), "destroy waited too long");
	close(m.fd);
	drv_config_destroy(cfg);
}

Test(state, destroy_frees_what_is_left)
{
	drv_config_t *cfg = config(refused_yaml);
	status_log_t log = STATUS_LOG_INIT;
	drv_state_opts_t o = { .on_status = on_status, .arg = &log };
	drv_state_t *st = drv_state_new(cfg, &o, NULL, 0);
	drv_state_rec_t r = { .task_id = "T", .state = DRV_TASK_DEAD,
			      .attempt = 3, .error = "x" };

	cr_assert(wait_down(&log, 2000));
	for (int i = 0; i < 3; i++)
		drv_state_record(st, &r);
	cr_assert_eq(stats(st).queued, 3);
	drv_state_destroy(st); /* valgrind: the three entries are freed */
	drv_config_destroy(cfg);
}

Test(state, origin_json)
{
	drv_task_t t;
	char *s;

	drv_task_init(&t);
	cr_assert_null(drv_state_origin_json(&t));
	t.origin.dead_letter_id = strdup("01HZY3K4M5N6P7Q8R9S0T1V2W3");
	t.origin.submitted_by = strdup("alice");
	t.origin.schedule_id = strdup("nightly");
	t.origin.scheduled_ms = 1000;
	s = drv_state_origin_json(&t);
	cr_assert_str_eq(s, "{\"schedule_id\":\"nightly\",\"scheduled_ms\":"
			 "1000,\"dead_letter_id\":\"01HZY3K4M5N6P7Q8R9S0T1V2W3\","
			 "\"submitted_by\":\"alice\"}");
	free(s);
	drv_task_release(&t);
}

/* ---------------------------------------------------------------- */
/* Retry analytics                                                   */
/* ---------------------------------------------------------------- */

/* Record two succeeded attempts of handler h in each of \p minutes
 * minutes; returns the writer's counters. */
static drv_state_stats_t record_minutes(drv_state_t *st, int minutes)
{
	for (int m = 0; m < minutes; m++) {
		drv_state_rec_t r = {
			.task_id = "t1", .handler = "h", .attempt = 1,
			.state = DRV_TASK_SUCCEEDED, .started_ms = 1,
			.finished_ms = (int64_t)(28000000 + m) *
				       DRV_STATS_BUCKET_MS,
		};

		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	}
	return stats(st);
}

/* Redis refused: the writer counts even with task state off, keeps one
 * row per (handler, minute) up to its bound of 512 and counts the rest
 * lost. */
Test(state, analytics_counted_with_state_off_lost_when_down)
{
	drv_config_t *cfg = config("redis:\n"
				   "  url: redis://127.0.0.1:1\n"
				   "  connect_timeout: 300ms\n"
				   "worker:\n"
				   "  task_state: off\n");
	char err[256] = "";
	drv_state_t *st = drv_state_new(cfg, NULL, err, sizeof(err));
	drv_state_stats_t s;

	cr_assert(st, "%s", err);
	s = record_minutes(st, 600);
	cr_assert_eq(s.queued, 0, "task_state off queues no record");
	cr_assert_eq(s.stats_lost, (600 - 512) * 2);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}

Test(state, analytics_off_counts_nothing)
{
	drv_config_t *cfg = config("redis:\n"
				   "  url: redis://127.0.0.1:1\n"
				   "  connect_timeout: 300ms\n"
				   "worker:\n"
				   "  retry_analytics: false\n");
	char err[256] = "";
	drv_state_t *st = drv_state_new(cfg, NULL, err, sizeof(err));

	cr_assert(st, "%s", err);
	cr_assert_eq(record_minutes(st, 600).stats_lost, 0);
	drv_state_destroy(st);
	drv_config_destroy(cfg);
}
