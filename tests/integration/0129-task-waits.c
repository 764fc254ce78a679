/*
 * 0129 — a task's waits without an attempt (drv_state_wait()), in the real
 * Redis. The writer: a wait lands in the task's hash (field "waits") only
 * when the hash has a state; turn-aways of the same breaker with no
 * attempt between make one line (its at_ms kept, until_ms and turns
 * moved on), another breaker or another attempt count a new one, the
 * newest DRV_STATE_WAITS_MAX are kept, and drv_state_get() reads them
 * back; a task `running` the attempt turned away goes back to queued (or
 * retrying, for a retry), in the state index too. The worker: a task for a handler whose breaker an operator forced
 * open is turned away and `droverctl task show --json` holds the wait with
 * the breaker's name and sane times, and is queued, not running; once the
 * breaker is closed the task
 * runs and succeeds, and the wait stays.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/clock.h"
#include "drover/config.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"
#include "harness.h"

/* Poll drv_state_get() until the task has \p want waits and the last has
 * \p turns turns (within 10 s). */
static void wait_for(redisContext *c, const char *prefix, const char *id,
		     size_t want, uint32_t turns, drv_state_task_t *t)
{
	char err[256] = "";
	int64_t end = drv_mono_ms() + 10000;

	for (;;) {
		drv_err_t rc = drv_state_get(c, prefix, id, t, err,
					     sizeof(err));

		cr_assert(rc == DRV_OK || rc == DRV_ERR_NOT_FOUND, "%s", err);
		if (!rc && t->waits_cnt == want &&
		    t->waits[want - 1].turns == turns)
			return;
		cr_assert(drv_mono_ms() < end, "task %s: %zu waits, want %zu "
			  "(last %u turns, want %u)", id, t->waits_cnt, want,
			  t->waits_cnt ? t->waits[t->waits_cnt - 1].turns : 0,
			  turns);
		usleep(50000);
	}
}

/* Record \p rec and then wait \p w for task \p id; its state once the
 * wait is written (read into \p t). */
static drv_task_state_t after_wait(drv_state_t *st, redisContext *c,
				   const char *prefix, drv_state_rec_t *rec,
				   drv_state_wait_rec_t *w, const char *id,
				   drv_state_task_t *t)
{
	rec->task_id = w->task_id = id;
	cr_assert_eq(drv_state_record(st, rec), DRV_OK);
	cr_assert_eq(drv_state_wait(st, w), DRV_OK);
	wait_for(c, prefix, id, 1, 1, t);
	return t->state;
}

Test(waits, writer_merges_caps_and_reads_back, .timeout = 60)
{
	const char *url = getenv("DROVER_REDIS_URL");
	drv_state_wait_rec_t w = {
		.kind = "breaker", .name = "pay", .state = "open",
		.attempt = 0, .at_ms = 1000, .until_ms = 2000,
	};
	drv_state_rec_t rec = { .state = DRV_TASK_RUNNING, .attempt = 1,
				.handler = "h" };
	char prefix[64], yaml[512], err[256] = "", id[64], name[16];
	drv_config_t *cfg = NULL;
	drv_state_task_t t;
	redisContext *c = NULL;
	drv_state_t *st;
	redisReply *r;
	int64_t base;

	cr_assert(url, "DROVER_REDIS_URL unset: start the stack");
	drv_fmt(prefix, sizeof(prefix), "it%dw129:", (int)getpid());
	drv_fmt(yaml, sizeof(yaml), "redis:\n  url: \"%s\"\n  key_prefix: "
		"\"%s\"\nworker:\n  task_state_ttl: 10m\n", url, prefix);
	cr_assert_eq(drv_config_load_string("t.yaml", yaml, strlen(yaml), NULL,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	cr_assert_eq(drv_redis_connect(cfg, &c, err, sizeof(err)), DRV_OK,
		     "%s", err);
	st = drv_state_new(cfg, NULL, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	drv_state_task_init(&t);
	base = it_now_ms();

	/* no state for the task: the wait makes no hash of its own */
	w.task_id = "t-none";
	cr_assert_eq(drv_state_wait(st, &w), DRV_OK);
	/* a task with a state: its `running` record, then three turn-aways
	 * by the same open breaker, queued behind it */
	w.task_id = rec.task_id = "t-1";
	cr_assert_eq(drv_state_record(st, &rec), DRV_OK);
	for (int i = 0; i < 3; i++) {
		/* times of now: the state index trims older members */
		w.at_ms = base + 1000 + i * 1000;
		w.until_ms = base + 2000 + i * 1000;
		cr_assert_eq(drv_state_wait(st, &w), DRV_OK);
	}
	wait_for(c, prefix, "t-1", 1, 3, &t);
	cr_assert_str_eq(t.waits[0].kind, "breaker");
	cr_assert_str_eq(t.waits[0].name, "pay");
	cr_assert_str_eq(t.waits[0].state, "open");
	cr_assert_eq(t.waits[0].attempt, 0);
	cr_assert_eq(t.waits[0].at_ms, base + 1000,
		     "the first turn-away's time");
	cr_assert_eq(t.waits[0].until_ms, base + 4000,
		     "the last one's retry time");
	/* not running while it waits: back to queued, in the index too */
	cr_assert_eq(t.state, DRV_TASK_QUEUED, "state %s",
		     drv_task_state_name(t.state));
	cr_assert_eq(t.attempt, 0);
	cr_assert_eq(t.due_ms, base + 4000, "due when the last wait ends");
	r = redisCommand(c, "ZSCORE %stasks:queued t-1", prefix);
	cr_assert(r && r->type == REDIS_REPLY_STRING, "not in tasks:queued");
	freeReplyObject(r);
	r = redisCommand(c, "ZSCORE %stasks:running t-1", prefix);
	cr_assert(r && r->type == REDIS_REPLY_NIL, "still in tasks:running");
	freeReplyObject(r);
	r = redisCommand(c, "EXISTS %stask:t-none", prefix);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0,
		  "a wait made a hash for a task with no state");
	freeReplyObject(r);
	/* a retry turned away is retrying again (its attempts made); a wait
	 * of another attempt than the one running changes no state */
	rec.attempt = 3;
	w.attempt = 2;
	cr_assert_eq(after_wait(st, c, prefix, &rec, &w, "t-2", &t),
		     DRV_TASK_RETRYING, "state %s",
		     drv_task_state_name(t.state));
	cr_assert_eq(t.attempt, 2);
	w.attempt = 0;
	cr_assert_eq(after_wait(st, c, prefix, &rec, &w, "t-3", &t),
		     DRV_TASK_RUNNING, "state %s",
		     drv_task_state_name(t.state));
	rec.task_id = w.task_id = "t-1";
	rec.attempt = 1;

	/* another breaker, then the same one after an attempt: new lines;
	 * a limit has no state */
	w.name = "mail";
	w.at_ms = base + 5000;
	cr_assert_eq(drv_state_wait(st, &w), DRV_OK);
	wait_for(c, prefix, "t-1", 2, 1, &t);
	w.name = "pay";
	w.attempt = 1;
	cr_assert_eq(drv_state_wait(st, &w), DRV_OK);
	wait_for(c, prefix, "t-1", 3, 1, &t);
	cr_assert_eq(t.waits[2].attempt, 1);
	w.kind = "limit";
	w.name = "rate";
	w.state = NULL;
	cr_assert_eq(drv_state_wait(st, &w), DRV_OK);
	wait_for(c, prefix, "t-1", 4, 1, &t);
	cr_assert_str_eq(t.waits[3].kind, "limit");
	cr_assert_null(t.waits[3].state);
	cr_assert_eq(t.waits[0].turns, 3, "the first line moved");

	/* the task's JSON (API, droverctl --json) carries them */
	{
		char *text = drv_state_task_json(&t);
		json_t *o = json_loads(text, 0, NULL), *a;

		cr_assert_not_null(o, "%s", text);
		a = json_object_get(o, "waits");
		cr_assert_eq(json_array_size(a), 4, "%s", text);
		cr_assert_str_eq(json_string_value(json_object_get(
			json_array_get(a, 0), "name")), "pay");
		cr_assert_eq(json_integer_value(json_object_get(
			json_array_get(a, 0), "turns")), 3);
		json_decref(o);
		free(text);
	}

	/* the newest DRV_STATE_WAITS_MAX lines are kept */
	w.kind = "breaker";
	w.state = "open";
	for (int i = 0; i < DRV_STATE_WAITS_MAX + 8; i++) {
		drv_fmt(name, sizeof(name), "b%d", i);
		w.name = name;
		cr_assert_eq(drv_state_wait(st, &w), DRV_OK);
	}
	wait_for(c, prefix, "t-1", DRV_STATE_WAITS_MAX, 1, &t);
	drv_fmt(id, sizeof(id), "b%d", DRV_STATE_WAITS_MAX + 7);
	cr_assert_str_eq(t.waits[DRV_STATE_WAITS_MAX - 1].name, id);
	cr_assert_str_eq(t.waits[0].name, "b8", "the oldest were not cut");

	drv_state_task_release(&t);
	drv_state_destroy(st);
	freeReplyObject(redisCommand(c, "DEL %stask:t-1", prefix));
	redisFree(c);
	drv_config_destroy(cfg);
}

/* `task show ID --json` as a jansson object (asserts it worked). */
static json_t *show(it_ctx_t *ctx, const char *id)
{
	char *out = NULL;
	json_t *o;

	cr_assert_eq(it_ctl(ctx, &out, "task", "show", id, "--json", NULL), 0,
		     "task show %s: %s", id, out ? out : "");
	o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "%s", out);
	free(out);
	return o;
}

/* The first wait of `task show`'s JSON, NULL while there is none. */
static json_t *first_wait(json_t *task)
{
	return json_array_get(json_object_get(task, "waits"), 0);
}

Test(waits, worker_records_a_breaker_wait, .timeout = 240)
{
	it_ctx_t ctx;
	char yaml[1024], log[300], id[32], *out = NULL;
	long long before, at, until, now;
	json_t *task = NULL, *w;
	int64_t end;
	pid_t pid;

	snprintf(yaml, sizeof(yaml),
		 "  dep:\n"
		 "    shell: true\n"
		 "    command: 'echo \"ok $DROVER_TASK_ID\" >> \"$OUT\"'\n"
		 "redis:\n"
		 "  key_prefix: \"it%dw129b:\"\n"
		 "breakers:\n"
		 "  dep:\n"
		 "    wait_in_open: 2s\n", (int)getpid());
	it_setup(&ctx, yaml);
	it_topics(&ctx);
	pid = it_worker_start(&ctx, 1);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "breakers use the shared state", 30000),
		  "worker not on Redis; see %s", ctx.dir);
	cr_assert(it_wait_file(log, "partitions assigned", 60000));

	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "open", "dep", NULL), 0);
	before = it_now_ms();
	it_submit(&ctx, id, "dep", NULL);

	/* turned away: the wait is in the task's state */
	end = drv_mono_ms() + 60000;
	while (!task || !first_wait(task)) {
		cr_assert(drv_mono_ms() < end, "no wait recorded for %s; see "
			  "%s", id, ctx.dir);
		json_decref(task);
		task = NULL;
		usleep(200000);
		if (it_ctl(&ctx, &out, "task", "show", id, "--json",
			   NULL) == 0)
			task = json_loads(out, 0, NULL);
		free(out);
		out = NULL;
	}
	w = first_wait(task);
	now = it_now_ms();
	cr_assert_str_eq(it_json_str(w, "kind"), "breaker");
	cr_assert_str_eq(it_json_str(w, "name"), "dep");
	cr_assert_str_eq(it_json_str(w, "state"), "forced_open");
	at = it_json_int(w, "at_ms");
	until = it_json_int(w, "until_ms");
	cr_assert(at >= before - 1000 && at <= now, "at_ms %lld not between "
		  "%lld and %lld", at, before, now);
	cr_assert(until > at && until <= at + 60000, "until_ms %lld, at_ms "
		  "%lld", until, at);
	cr_assert_eq(it_json_int(w, "attempt"), 0);
	cr_assert(it_json_int(w, "turns") >= 1);
	cr_assert_str_eq(it_json_str(task, "state"), "queued",
			 "a waiting task is not running");
	cr_assert_eq(it_count(&ctx, "ok ", NULL), 0, "ran while forced open");
	json_decref(task);

	/* the text form says it too */
	cr_assert_eq(it_ctl(&ctx, &out, "task", "show", id, NULL), 0);
	cr_assert(strstr(out, "Waits without an attempt (1):"), "%s", out);
	cr_assert(strstr(out, "breaker dep forced_open"), "%s", out);
	free(out);

	/* closed: the task runs, and the wait stays */
	cr_assert_eq(it_ctl(&ctx, NULL, "breaker", "reset", "dep", NULL), 0);
	cr_assert_eq(it_wait_count(&ctx, "ok ", NULL, 1, 60000), 1,
		     "the task did not run once closed; see %s", ctx.dir);
	end = drv_mono_ms() + 20000;
	for (;;) {
		task = show(&ctx, id);
		if (!strcmp(it_json_str(task, "state"), "succeeded"))
			break;
		cr_assert(drv_mono_ms() < end, "state %s",
			  it_json_str(task, "state"));
		json_decref(task);
		usleep(200000);
	}
	w = first_wait(task);
	cr_assert_not_null(w, "the wait went once the task ran");
	cr_assert_str_eq(it_json_str(w, "name"), "dep");
	cr_assert_eq(it_json_int(w, "at_ms"), at, "the wait's start moved");
	cr_assert_eq(json_array_size(json_object_get(task, "waits")), 1);
	cr_assert(it_json_int(json_array_get(json_object_get(task, "history"),
					     0), "started_ms") >= at,
		  "the attempt started before the wait");
	json_decref(task);
	cr_assert_eq(it_stop(pid, SIGTERM, 30000), 0);
	it_teardown(&ctx);
}
