/*
 * 0013 — task state and idempotency keys in the real Redis (no Kafka
 * needed): records appear within about a second with the right fields, the
 * history (a field of the task's hash) grows by one entry per finished
 * attempt, and entries an earlier drover wrote to a list of their own
 * are read first; the hash carries the TTL,
 * worker.task_state = failures writes only failed tasks; an idempotency
 * key's claim is held by one copy at a time (of 8 threads taking it at
 * once exactly one gets it), renewed while held, lapses when its holder
 * is gone, and once the task is done every copy finds it done. And
 * Redis going away: against a redis-server this test starts and kills on a
 * port of its own, the writer reports degraded, keeps records queued up to
 * its bound (dropping the oldest), and writes them once Redis is back.
 * Each test uses a key prefix of its own and deletes its keys at the end.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/claim.h"
#include "drover/clock.h"
#include "drover/config.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"
#include "harness.h"

typedef struct ns {
	char prefix[64];
	drv_config_t *cfg;
	redisContext *rc;      /* for looking at what was written */
} ns_t;

/* redis.connect_timeout of the next ns_open() (also the command timeout) */
static const char *ns_timeout = "500ms";

/* A config on \p url (NULL: the stack's Redis) with a fresh key prefix and
 * \p worker_yaml under "worker:"; and a connection to look with. */
static void ns_open(ns_t *ns, const char *url, const char *worker_yaml)
{
	static int seq;
	char yaml[1024], err[256] = "";

	if (!url)
		url = getenv("DROVER_REDIS_URL");
	cr_assert(url, "DROVER_REDIS_URL unset: start the stack "
		  "(scripts/stack start) and source its stack.env");
	drv_fmt(ns->prefix, sizeof(ns->prefix), "it%ds%d%lld:", (int)getpid(),
		seq++, (long long)(drv_now_ms() % 100000));
	drv_fmt(yaml, sizeof(yaml),
		"redis:\n  url: \"%s\"\n  key_prefix: \"%s\"\n"
		"  connect_timeout: %s\n"
		"worker:\n  task_state_ttl: 10m\n  idempotency_ttl: 2m\n%s",
		url, ns->prefix, ns_timeout, worker_yaml ? worker_yaml : "");
	ns->cfg = NULL;
	cr_assert_eq(drv_config_load_string("t.yaml", yaml, strlen(yaml), NULL,
					    &ns->cfg, err, sizeof(err)),
		     DRV_OK, "%s", err);
	ns->rc = NULL;
}

static redisContext *look(ns_t *ns)
{
	char err[256] = "";

	if (!ns->rc)
		cr_assert_eq(drv_redis_connect(ns->cfg, &ns->rc, err,
					       sizeof(err)), DRV_OK, "%s", err);
	return ns->rc;
}

/* Delete every key of the namespace. SCAN, not KEYS: on a Redis holding
 * millions of keys (a benchmark's) KEYS blocks it for seconds, and the
 * other tests of this file, running meanwhile, time out. */
static void ns_close(ns_t *ns, bool clean)
{
	char cursor[32] = "0";

	while (clean) {
		redisContext *c = look(ns);
		redisReply *r = redisCommand(c, "SCAN %s MATCH %s* COUNT 1000",
					     cursor, ns->prefix);

		cr_assert(r && r->type == REDIS_REPLY_ARRAY &&
			  r->elements == 2, "SCAN: %s", r ? r->str : c->errstr);
		drv_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
		for (size_t i = 0; i < r->element[1]->elements; i++)
			freeReplyObject(redisCommand(c, "DEL %s",
				r->element[1]->element[i]->str));
		freeReplyObject(r);
		clean = strcmp(cursor, "0") != 0;
	}
	if (ns->rc)
		redisFree(ns->rc);
	drv_config_destroy(ns->cfg);
}

/* A command's integer reply (asserts it is one). */
static long long rint_(ns_t *ns, const char *fmt, const char *a,
		       const char *b)
{
	redisReply *r = redisCommand(look(ns), fmt, a, b);
	long long v;

	cr_assert(r && r->type == REDIS_REPLY_INTEGER, "%s: %s", fmt,
		  r ? r->str : ns->rc->errstr);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

static long long key_exists(ns_t *ns, const char *fmt, const char *id)
{
	return rint_(ns, fmt, ns->prefix, id);
}

/* The entries in task \p id's history field: one line each. */
static long long history_lines(ns_t *ns, const char *id)
{
	redisReply *r = redisCommand(look(ns), "HGET %stask:%s history",
				     ns->prefix, id);
	long long n = 0;

	cr_assert(r && (r->type == REDIS_REPLY_STRING ||
			r->type == REDIS_REPLY_NIL));
	if (r->type == REDIS_REPLY_STRING) {
		n = 1;
		for (const char *p = r->str; *p; p++)
			n += *p == '\n';
	}
	freeReplyObject(r);
	return n;
}

static bool wait_ready(drv_state_t *st, bool up, int timeout_ms)
{
	int64_t until = drv_mono_ms() + timeout_ms;

	while (drv_state_degraded(st) == up && drv_mono_ms() < until)
		usleep(10 * 1000);
	return drv_state_degraded(st) != up;
}

static bool wait_flushed(drv_state_t *st, int timeout_ms)
{
	int64_t until = drv_mono_ms() + timeout_ms;
	drv_state_stats_t s;

	do {
		drv_state_stats(st, &s);
		if (!s.queued)
			return true;
		usleep(10 * 1000);
	} while (drv_mono_ms() < until);
	return false;
}

/* Wait until task \p id's state in Redis is \p state; returns ms waited or
 * -1. */
static int64_t wait_state(ns_t *ns, const char *id, const char *state,
			  int timeout_ms)
{
	int64_t t0 = drv_mono_ms();

	do {
		redisReply *r = redisCommand(look(ns), "HGET %stask:%s state",
					     ns->prefix, id);
		bool ok = r && r->type == REDIS_REPLY_STRING &&
			  !strcmp(r->str, state);

		freeReplyObject(r);
		if (ok)
			return drv_mono_ms() - t0;
		usleep(10 * 1000);
	} while (drv_mono_ms() - t0 < timeout_ms);
	return -1;
}

Test(state, records_history_and_ttl, .timeout = 60)
{
	ns_t ns;
	drv_state_t *st;
	drv_state_task_t t;
	drv_state_stats_t s;
	char id[DRV_ID_LEN + 1], err[256] = "", *json, *big;
	int64_t now = drv_now_ms(), waited;
	long long pttl;
	drv_state_rec_t r = {
		.task_id = id, .handler = "echo", .worker = "w1",
		.created_ms = now - 1000,
	};

	ns_open(&ns, NULL, NULL);
	drv_id_new(id, now);
	st = drv_state_new(ns.cfg, NULL, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	cr_assert(wait_ready(st, true, 5000), "never connected");

	/* attempt 1 runs and fails, attempt 2 runs and succeeds */
	r.state = DRV_TASK_RUNNING;
	r.attempt = 1;
	r.started_ms = now;
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	waited = wait_state(&ns, id, "running", 1500);
	cr_assert(waited >= 0 && waited < 1000, "waited %lld ms",
		  (long long)waited);
	cr_assert_eq(history_lines(&ns, id), 0,
		     "running is not a finished attempt");
	r.state = DRV_TASK_RETRYING;
	r.finished_ms = now + 20;
	r.error = "exit status 75";
	r.failure_class = DRV_FAILURE_TRANSIENT;
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	waited = wait_state(&ns, id, "retrying", 1500);
	cr_assert(waited >= 0 && waited < 1000, "waited %lld ms",
		  (long long)waited);
	cr_assert_eq(history_lines(&ns, id), 1);
	r = (drv_state_rec_t){ .task_id = id, .state = DRV_TASK_RUNNING,
			       .attempt = 2, .worker = "w2",
			       .started_ms = now + 1000 };
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	r.state = DRV_TASK_SUCCEEDED;
	r.finished_ms = now + 1100;
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	cr_assert_geq(wait_state(&ns, id, "succeeded", 1500), 0);

	drv_state_task_init(&t);
	cr_assert_eq(drv_state_get(look(&ns), ns.prefix, id, &t, err,
				   sizeof(err)), DRV_OK, "%s", err);
	cr_assert_str_eq(t.id, id);
	cr_assert_eq(t.state, DRV_TASK_SUCCEEDED);
	cr_assert_eq(t.attempt, 2);
	cr_assert_str_eq(t.handler, "echo", "kept from attempt 1");
	cr_assert_str_eq(t.worker, "w2");
	cr_assert_str_eq(t.last_error, "exit status 75", "last error stays");
	cr_assert_eq(t.created_ms, now - 1000);
	cr_assert_geq(t.updated_ms, now);
	cr_assert(t.ttl_ms > 0 && t.ttl_ms <= 600000, "%lld",
		  (long long)t.ttl_ms);
	cr_assert_eq(t.history_cnt, 2);
	cr_assert_eq(t.history[0].attempt, 1);
	cr_assert_eq(t.history[0].state, DRV_TASK_RETRYING);
	cr_assert_str_eq(t.history[0].worker, "w1");
	cr_assert_eq(t.history[0].started_ms, now);
	cr_assert_eq(t.history[0].finished_ms, now + 20);
	cr_assert_str_eq(t.history[0].error, "exit status 75");
	cr_assert_eq(t.history[0].failure_class, DRV_FAILURE_TRANSIENT);
	cr_assert_eq(t.history[1].attempt, 2);
	cr_assert_eq(t.history[1].state, DRV_TASK_SUCCEEDED);
	cr_assert_str_eq(t.history[1].worker, "w2");
	cr_assert_null(t.history[1].error);
	cr_assert_eq(t.history[1].failure_class, DRV_FAILURE_UNSPECIFIED);
	json = drv_state_task_json(&t);
	cr_assert(strstr(json, "\"state\":\"succeeded\",\"attempt\":2,"
			 "\"handler\":\"echo\",\"worker\":\"w2\","
			 "\"last_error\":\"exit status 75\""), "%s", json);
	free(json);
	drv_state_task_release(&t);

	cr_assert_eq(key_exists(&ns, "EXISTS %stask:%s:history", id), 0,
		     "the history is in the hash, not a list of its own");
	pttl = key_exists(&ns, "PTTL %stask:%s", id);
	cr_assert(pttl > 0 && pttl <= 600000, "hash PTTL %lld", pttl);

	/* a long error is cut to DRV_STATE_ERROR_MAX bytes */
	big = malloc(5000);
	memset(big, 'e', 4999);
	big[4999] = '\0';
	r = (drv_state_rec_t){ .task_id = id, .state = DRV_TASK_DEAD,
			       .attempt = 3, .error = big };
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	free(big);
	cr_assert_geq(wait_state(&ns, id, "dead", 1500), 0);
	cr_assert_eq(key_exists(&ns, "HSTRLEN %stask:%s last_error", id),
		     DRV_STATE_ERROR_MAX);
	cr_assert_eq(history_lines(&ns, id), 3);

	/* an entry an earlier drover wrote to a list of its own comes first */
	r = (drv_state_rec_t){ .task_id = id, .state = DRV_TASK_RETRYING,
			       .attempt = 7, .worker = "old" };
	json = drv_state_history_json(&r);
	cr_assert_not_null(json);
	freeReplyObject(redisCommand(look(&ns), "RPUSH %stask:%s:history %s",
				     ns.prefix, id, json));
	free(json);
	drv_state_task_init(&t);
	cr_assert_eq(drv_state_get(look(&ns), ns.prefix, id, &t, err,
				   sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(t.history_cnt, 4);
	cr_assert_eq(t.history[0].attempt, 7);
	cr_assert_str_eq(t.history[0].worker, "old");
	cr_assert_eq(t.history[1].attempt, 1);
	cr_assert_eq(t.history[3].state, DRV_TASK_DEAD);
	drv_state_task_release(&t);

	/* Redis may answer the test before the writer has read its reply
	 * and counted the records */
	cr_assert(wait_flushed(st, 5000));
	drv_state_stats(st, &s);
	cr_assert_eq(s.written, 5);
	cr_assert_eq(s.dropped, 0);
	cr_assert_eq(s.errors, 0);
	cr_assert_eq(s.queued, 0);

	/* unknown task */
	cr_assert_eq(drv_state_get(look(&ns), ns.prefix, "01J0000000000000"
				   "0000000000", &t, err, sizeof(err)),
		     DRV_ERR_NOT_FOUND);
	drv_state_destroy(st);
	ns_close(&ns, true);
}

Test(state, failures_mode_writes_failed_tasks_only, .timeout = 60)
{
	ns_t ns;
	drv_state_t *st;
	drv_state_rec_t ok = { .task_id = "OK", .state = DRV_TASK_SUCCEEDED,
			       .attempt = 1 };
	drv_state_rec_t bad = { .task_id = "BAD", .state = DRV_TASK_RETRYING,
				.attempt = 1, .error = "no" };

	ns_open(&ns, NULL, "  task_state: failures\n");
	st = drv_state_new(ns.cfg, NULL, NULL, 0);
	cr_assert(wait_ready(st, true, 5000));
	ok.state = DRV_TASK_RUNNING;
	drv_state_record(st, &ok);
	ok.state = DRV_TASK_SUCCEEDED;
	drv_state_record(st, &ok);
	drv_state_record(st, &bad);
	bad.state = DRV_TASK_SUCCEEDED;
	bad.attempt = 2;
	bad.error = NULL;
	drv_state_record(st, &bad);
	cr_assert_geq(wait_state(&ns, "BAD", "succeeded", 1500), 0);
	cr_assert_eq(key_exists(&ns, "EXISTS %stask:%s", "OK"), 0);
	cr_assert_eq(history_lines(&ns, "BAD"), 2);
	drv_state_destroy(st);
	ns_close(&ns, true);
}

/* A short task's outcome queued while its `running` record still waits
 * for the writer takes that record's place: one write, with what only the
 * running record had (labels, priority) kept, and the task in the
 * succeeded set only. */
Test(state, outcome_takes_the_place_of_its_running_record, .timeout = 60)
{
	ns_t ns;
	drv_state_t *st;
	drv_state_opts_t o = { .flush_ms = 1000 };
	drv_state_task_t t;
	drv_state_stats_t s;
	char id[DRV_ID_LEN + 1], err[256];
	uint64_t ticket = 0;
	drv_state_rec_t r = { .task_id = id, .state = DRV_TASK_RUNNING,
			      .attempt = 1, .handler = "echo", .worker = "w1",
			      .priority = 7, .labels = "{\"team\":\"a\"}",
			      .started_ms = drv_now_ms() };

	drv_id_new(id, drv_now_ms());
	ns_open(&ns, NULL, NULL);
	st = drv_state_new(ns.cfg, &o, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	cr_assert(wait_ready(st, true, 5000), "never connected");
	cr_assert_eq(drv_state_record_ticket(st, &r, &ticket), DRV_OK);
	cr_assert_gt(ticket, 0);
	r = (drv_state_rec_t){ .task_id = id, .state = DRV_TASK_SUCCEEDED,
			       .attempt = 1, .worker = "w1",
			       .finished_ms = drv_now_ms(),
			       .replaces = ticket };
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	drv_state_stats(st, &s);
	cr_assert_eq(s.merged, 1, "the outcome was queued beside its "
		     "running record");
	cr_assert_eq(s.queued, 1);
	cr_assert(wait_flushed(st, 5000));
	drv_state_task_init(&t);
	cr_assert_eq(drv_state_get(look(&ns), ns.prefix, id, &t, err,
				   sizeof(err)), DRV_OK, "%s", err);
	cr_assert_eq(t.state, DRV_TASK_SUCCEEDED);
	cr_assert_str_eq(t.handler, "echo", "kept from the running record");
	cr_assert_eq(t.priority, 7, "kept from the running record");
	cr_assert(t.labels && strstr(t.labels, "team"), "labels lost");
	cr_assert_eq(t.history_cnt, 1);
	drv_state_task_release(&t);
	cr_assert_eq(rint_(&ns, "EXISTS %stasks:%s", ns.prefix, "running"), 0,
		     "the running record was written too");
	cr_assert_eq(rint_(&ns, "ZCARD %stasks:%s", ns.prefix, "succeeded"),
		     1);
	/* its place taken by the writer: the next record is queued anew */
	r.state = DRV_TASK_DEAD;
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	drv_state_stats(st, &s);
	cr_assert_eq(s.merged, 1);
	drv_state_destroy(st);
	ns_close(&ns, true);
}

/* Redis up but not answering (stopped): the queue fills and the writer
 * says it is behind, so the worker stops taking tasks; once Redis answers
 * again the queue drains and it is not behind any more. */
Test(state, behind_while_redis_is_slow, .timeout = 60)
{
	int port = it_free_port();
	char url[64];
	ns_t ns;
	drv_state_t *st;
	drv_state_opts_t o = { .queue_max = 8, .flush_ms = 10 };
	drv_state_rec_t r = { .task_id = "T", .state = DRV_TASK_SUCCEEDED,
			      .attempt = 1 };
	pid_t redis = it_redis_start(port);
	int64_t t0;

	drv_fmt(url, sizeof(url), "redis://127.0.0.1:%d", port);
	ns_timeout = "20s";
	ns_open(&ns, url, NULL);
	ns_timeout = "500ms";
	st = drv_state_new(ns.cfg, &o, NULL, 0);
	cr_assert_not_null(st);
	cr_assert(wait_ready(st, true, 5000), "never connected");
	cr_assert(!drv_state_behind(st));
	cr_assert_eq(kill(redis, SIGSTOP), 0);
	/* the writer takes this one and waits for Redis */
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	usleep(300 * 1000);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	cr_assert(!drv_state_behind(st), "behind at 5 of 8");
	cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	cr_assert(drv_state_behind(st), "not behind at 6 of 8");
	cr_assert_eq(kill(redis, SIGCONT), 0);
	t0 = drv_mono_ms();
	while (drv_state_behind(st) && drv_mono_ms() - t0 < 10000)
		usleep(10 * 1000);
	cr_assert(!drv_state_behind(st), "still behind with Redis back");
	cr_assert(wait_flushed(st, 10000));
	drv_state_destroy(st);
	ns_close(&ns, false);
	it_redis_kill(redis);
}

/* The verdict of taking \p key with \p c; asserts no error. */
static drv_claim_t take(drv_claims_t *c, const char *key)
{
	drv_claim_t r;

	cr_assert_eq(drv_claims_take(c, key, &r), DRV_OK, "take %s", key);
	return r;
}

/* A namespace, its state writer and two claims objects (as two workers). */
static void claims_open(ns_t *ns, drv_state_t **st, drv_claims_t **a,
			drv_claims_t **b)
{
	ns_open(ns, NULL, NULL);
	*st = drv_state_new(ns->cfg, NULL, NULL, 0);
	*a = drv_claims_new(ns->cfg, 0, NULL, 0);
	*b = drv_claims_new(ns->cfg, 0, NULL, 0);
	cr_assert(*st && *a && *b);
	cr_assert(wait_ready(*st, true, 5000));
}

Test(state, idempotency_claims, .timeout = 60)
{
	ns_t ns;
	drv_state_t *st;
	drv_claims_t *a, *b;
	drv_claim_t r;
	redisReply *rep;
	long long pttl;

	claims_open(&ns, &st, &a, &b);

	/* a holds it; b finds it held */
	cr_assert_eq(take(a, "order-42").verdict, DRV_CLAIM_TAKEN);
	cr_assert_eq(drv_claims_held(a), 1);
	rep = redisCommand(look(&ns), "GET %sidem:order-42", ns.prefix);
	cr_assert(rep && rep->type == REDIS_REPLY_STRING);
	cr_assert(!strncmp(rep->str, "run:", 4), "%s", rep->str);
	freeReplyObject(rep);
	r = take(b, "order-42");
	cr_assert_eq(r.verdict, DRV_CLAIM_HELD);
	cr_assert(r.held_ms > 0 && r.held_ms <= DRV_CLAIM_LEASE_MS, "%lld",
		  (long long)r.held_ms);
	cr_assert_eq(take(a, "order-42").verdict, DRV_CLAIM_HELD,
		     "a holder does not take its own claim twice");

	/* given back: b takes it, completes the task */
	drv_claims_release(a, "order-42");
	cr_assert_eq(drv_claims_held(a), 0);
	cr_assert_eq(take(b, "order-42").verdict, DRV_CLAIM_TAKEN);
	cr_assert_eq(drv_state_idem_done(st, "order-42", "TASK1"), DRV_OK);
	drv_claims_forget(b, "order-42");
	cr_assert_eq(drv_claims_held(b), 0);
	cr_assert(wait_flushed(st, 2000));

	rep = redisCommand(look(&ns), "GET %sidem:order-42", ns.prefix);
	cr_assert(rep && rep->type == REDIS_REPLY_STRING);
	cr_assert_str_eq(rep->str, "TASK1");
	freeReplyObject(rep);
	pttl = key_exists(&ns, "PTTL %sidem:%s", "order-42");
	cr_assert(pttl > DRV_CLAIM_LEASE_MS && pttl <= 120000, "PTTL %lld",
		  pttl);

	/* done for everyone; a late release of a claim no longer held by
	 * its caller changes nothing */
	r = take(a, "order-42");
	cr_assert_eq(r.verdict, DRV_CLAIM_DONE);
	cr_assert_str_eq(r.done_by, "TASK1");
	drv_claims_release(b, "order-42");
	cr_assert_eq(take(b, "order-42").verdict, DRV_CLAIM_DONE);
	cr_assert_eq(take(b, "order-43").verdict, DRV_CLAIM_TAKEN);
	drv_claims_destroy(b);
	drv_claims_destroy(a);
	drv_state_destroy(st);
	ns_close(&ns, true);
}

Test(state, idempotency_claims_in_one_batch, .timeout = 60)
{
	const char *keys[] = { "b-free", "b-held", "b-done", "b-free" };
	drv_claim_t out[4];
	ns_t ns;
	drv_state_t *st;
	drv_claims_t *a, *b;

	claims_open(&ns, &st, &a, &b);
	cr_assert_eq(take(b, "b-held").verdict, DRV_CLAIM_TAKEN);
	cr_assert_eq(drv_state_idem_done(st, "b-done", "TASK9"), DRV_OK);
	cr_assert(wait_flushed(st, 2000));

	cr_assert_eq(drv_claims_take_many(a, keys, 4, out), DRV_OK);
	cr_assert_eq(out[0].verdict, DRV_CLAIM_TAKEN);
	cr_assert_eq(out[1].verdict, DRV_CLAIM_HELD);
	cr_assert(out[1].held_ms > 0);
	cr_assert_eq(out[2].verdict, DRV_CLAIM_DONE);
	cr_assert_str_eq(out[2].done_by, "TASK9");
	cr_assert_eq(out[3].verdict, DRV_CLAIM_HELD,
		     "the second copy in a batch finds the first's claim");
	cr_assert_eq(drv_claims_held(a), 1);
	cr_assert_eq(take(b, "b-free").verdict, DRV_CLAIM_HELD);
	drv_claims_release(a, "b-free");
	cr_assert_eq(take(b, "b-free").verdict, DRV_CLAIM_TAKEN);

	/* one bad key: nothing is taken */
	keys[1] = "";
	cr_assert_eq(drv_claims_take_many(a, keys, 4, out), DRV_ERR_INVALID);
	cr_assert_eq(drv_claims_held(a), 0);
	cr_assert_eq(drv_claims_take_many(a, keys, 0, out), DRV_OK);
	drv_claims_destroy(b);
	drv_claims_destroy(a);
	drv_state_destroy(st);
	ns_close(&ns, true);
}

/* 8 threads, each with claims of its own (as 8 workers), take one key at
 * the same moment. */
typedef struct racer {
	drv_claims_t *c;
	pthread_barrier_t *go;
	int v;             /* a drv_claim_verdict_t, or -1: an error */
} racer_t;

static void *race(void *arg)
{
	racer_t *r = arg;
	drv_claim_t out;

	pthread_barrier_wait(r->go);
	r->v = drv_claims_take(r->c, "race", &out) ? -1 : (int)out.verdict;
	return NULL;
}

Test(state, one_claim_among_racers, .timeout = 60)
{
	ns_t ns;
	racer_t rs[8];
	pthread_t th[8];
	pthread_barrier_t go;
	int taken = 0, held = 0;

	ns_open(&ns, NULL, NULL);
	pthread_barrier_init(&go, NULL, 8);
	for (int i = 0; i < 8; i++) {
		rs[i].c = drv_claims_new(ns.cfg, 0, NULL, 0);
		rs[i].go = &go;
		cr_assert(rs[i].c);
	}
	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, race, &rs[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		taken += rs[i].v == DRV_CLAIM_TAKEN;
		held += rs[i].v == DRV_CLAIM_HELD;
		drv_claims_destroy(rs[i].c);
	}
	pthread_barrier_destroy(&go);
	cr_assert_eq(taken, 1, "%d took the claim", taken);
	cr_assert_eq(held, 7);
	ns_close(&ns, true);
}

Test(state, claims_renewed_while_held_and_lapse_after, .timeout = 60)
{
	ns_t ns;
	drv_claims_t *holder, *other;
	int64_t t0;

	ns_open(&ns, NULL, NULL);
	holder = drv_claims_new(ns.cfg, 600, NULL, 0);
	other = drv_claims_new(ns.cfg, 600, NULL, 0);
	cr_assert(holder && other);
	cr_assert_eq(take(holder, "long").verdict, DRV_CLAIM_TAKEN);
	/* three leases later it is still held: renewed every 200 ms */
	usleep(1800 * 1000);
	cr_assert_eq(take(other, "long").verdict, DRV_CLAIM_HELD);
	cr_assert_eq(drv_claims_held(holder), 1);

	/* the holder goes without giving it back (a crashed worker): it
	 * lapses within one lease */
	drv_claims_destroy(holder);
	t0 = drv_mono_ms();
	while (take(other, "long").verdict == DRV_CLAIM_HELD) {
		cr_assert_lt(drv_mono_ms() - t0, 3000, "never lapsed");
		usleep(50 * 1000);
	}
	cr_assert_geq(drv_mono_ms() - t0, 100, "lapsed at once");
	drv_claims_destroy(other);
	ns_close(&ns, true);
}

/* ---------------------------------------------------------------- */
/* Redis goes away                                                   */
/* ---------------------------------------------------------------- */

typedef struct status_log {
	atomic_int ups, downs;
} status_log_t;

static void on_status(bool up, const char *detail, void *arg)
{
	status_log_t *log = arg;

	(void)detail;
	atomic_fetch_add(up ? &log->ups : &log->downs, 1);
}

Test(state, redis_goes_away_and_comes_back, .timeout = 120)
{
	int port = it_free_port();
	char url[64], id[16];
	ns_t ns;
	drv_state_t *st;
	drv_state_stats_t s;
	status_log_t log = { 0 };
	drv_state_opts_t o = { .queue_max = 20, .on_status = on_status,
			       .arg = &log };
	drv_state_rec_t r = { .state = DRV_TASK_RUNNING, .attempt = 1 };
	pid_t redis = it_redis_start(port);
	drv_claims_t *claims;
	drv_claim_t c;
	int64_t t0;

	drv_fmt(url, sizeof(url), "redis://127.0.0.1:%d", port);
	ns_open(&ns, url, NULL);
	st = drv_state_new(ns.cfg, &o, NULL, 0);
	cr_assert_not_null(st);
	cr_assert(wait_ready(st, true, 5000), "never connected");
	cr_assert_eq(atomic_load(&log.ups), 1);
	r.task_id = "BEFORE";
	drv_state_record(st, &r);
	cr_assert_geq(wait_state(&ns, "BEFORE", "running", 1500), 0);
	claims = drv_claims_new(ns.cfg, 0, NULL, 0);
	cr_assert_not_null(claims);
	cr_assert_eq(take(claims, "k").verdict, DRV_CLAIM_TAKEN);
	drv_claims_release(claims, "k");
	redisFree(ns.rc);
	ns.rc = NULL;

	/* Redis goes away: degraded within the idle PING period */
	it_redis_kill(redis);
	cr_assert(wait_ready(st, false, 5000), "never noticed Redis is gone");
	cr_assert_eq(atomic_load(&log.downs), 1);
	r.state = DRV_TASK_SUCCEEDED;   /* outcomes: never shed */
	for (int i = 0; i < 25; i++) {
		drv_fmt(id, sizeof(id), "T%d", i);
		r.task_id = id;
		cr_assert_eq(drv_state_record(st, &r), DRV_OK);
	}
	drv_state_stats(st, &s);
	cr_assert_eq(s.queued, 20, "kept up to the bound");
	cr_assert_eq(s.dropped, 5, "the oldest went");
	t0 = drv_mono_ms();
	cr_assert_eq(drv_claims_take(claims, "k", &c), DRV_ERR_REDIS);
	cr_assert_lt(drv_mono_ms() - t0, 200);
	usleep(1500 * 1000); /* a reconnect attempt or two fail meanwhile */
	drv_state_stats(st, &s);
	cr_assert_eq(s.queued, 20, "nothing lost while down");

	/* back on the same port: the queue is written */
	redis = it_redis_start(port);
	cr_assert(wait_ready(st, true, 40000), "never reconnected");
	cr_assert(wait_flushed(st, 5000), "queue not written");
	cr_assert_eq(atomic_load(&log.ups), 2);
	for (int i = 0; i < 25; i++) {
		drv_fmt(id, sizeof(id), "T%d", i);
		cr_assert_eq(key_exists(&ns, "EXISTS %stask:%s", id),
			     i >= 5 ? 1 : 0, "%s", id);
	}
	drv_state_stats(st, &s);
	cr_assert_eq(s.dropped, 5);
	cr_assert_geq(s.written, 21);
	/* the claims' connection is made again on the next take */
	cr_assert_eq(take(claims, "k").verdict, DRV_CLAIM_TAKEN);
	drv_claims_destroy(claims);

	drv_state_destroy(st);
	ns_close(&ns, false);
	it_redis_kill(redis);
}
