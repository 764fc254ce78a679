/*
 * 0051 — task intervention against the real Kafka, Redis and a worker:
 * pause a queued, a delayed and a running exec task and resume each; skip
 * one; cancel a running one; retry a dead one with a modified payload;
 * pause and resume a whole handler. Each ends in the state the CLI said,
 * and each action is on the audit topic. Bad input changes nothing.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/audit.h"
#include "drover/str.h"
#include "harness.h"

static const char handlers[] =
	"  quick:\n"
	"    shell: true\n"
	"    command: 'echo \"run $DROVER_TASK_ID\" >> \"$OUT\"'\n"
	"  slow:\n"
	"    shell: true\n"
	"    timeout: 60s\n"
	"    command: 'echo \"start $DROVER_TASK_ID\" >> \"$OUT\"; "
	"for i in $(seq 1 30); do echo \"tick $DROVER_TASK_ID\" >> \"$OUT\"; "
	"sleep 0.1; done; echo \"end $DROVER_TASK_ID\" >> \"$OUT\"'\n"
	"  picky:\n"
	"    shell: true\n"
	"    command: 'p=$(cat); case \"$p\" in *\\\"ok\\\":true*) "
	"echo \"ok $DROVER_TASK_ID\" >> \"$OUT\";; *) exit 3;; esac'\n";

/* `droverctl task show ID --json`'s state, "" when it has none. */
static void state_of(it_ctx_t *ctx, const char *id, char *buf, size_t size)
{
	char *out = NULL;
	json_t *j;

	buf[0] = '\0';
	if (it_ctl(ctx, &out, "task", "show", (char *)id, "--json", NULL) == 0 &&
	    (j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL))) {
		drv_strlcpy(buf, json_string_value(json_object_get(j, "state")),
			    size);
		json_decref(j);
	}
	free(out);
}

/* Wait until task \p id is in \p want. */
static void wait_state(it_ctx_t *ctx, const char *id, const char *want,
		       int timeout_ms)
{
	char st[32] = "";

	for (int t = 0; t < timeout_ms; t += 250) {
		state_of(ctx, id, st, sizeof(st));
		if (!strcmp(st, want))
			return;
		usleep(250 * 1000);
	}
	cr_assert_fail("task %s: state '%s', want '%s'", id, st, want);
}

static int lines(it_ctx_t *ctx, const char *prefix, const char *id)
{
	return it_count(ctx, prefix, id);
}

static void ctl_ok(it_ctx_t *ctx, const char *a, const char *b, const char *c,
		   const char *d, const char *e)
{
	char *out = NULL;
	int rc = it_ctl(ctx, &out, a, b, c, d, e, NULL);

	cr_assert_eq(rc, 0, "droverctl %s %s %s: exit %d", a, b, c ? c : "",
		     rc);
	free(out);
}

static int audit_actions(it_ctx_t *ctx, const char *action)
{
	it_msg_t *msgs = NULL;
	int n = it_consume(ctx, "audit", 100, 5000, &msgs), hits = 0;

	for (int i = 0; i < n; i++) {
		drv_audit_t a;
		char err[256];

		drv_audit_init(&a);
		if (!drv_audit_decode(msgs[i].data, msgs[i].len, &a, err,
				      sizeof(err)) && !strcmp(a.action, action))
			hits++;
		drv_audit_release(&a);
	}
	it_msgs_free(msgs, n);
	return hits;
}

Test(intervene, pause_resume_skip_cancel_retry, .timeout = 200)
{
	char queued[DRV_ID_LEN + 1], delayed[DRV_ID_LEN + 1];
	char skipped[DRV_ID_LEN + 1], running[DRV_ID_LEN + 1];
	char doomed[DRV_ID_LEN + 1], dead[DRV_ID_LEN + 1], handled[DRV_ID_LEN + 1];
	char *out = NULL, st[32];
	it_ctx_t ctx;
	pid_t worker;
	int rc, ticks;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	setenv("DROVER_WORKER_CONCURRENCY", "4", 1);

	/* bad input changes nothing */
	rc = it_ctl(&ctx, &out, "task", "skip", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		    NULL);
	cr_assert_eq(rc, 2);
	free(out);
	rc = it_ctl(&ctx, &out, "task", "resume", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		    NULL);
	cr_assert_eq(rc, 1);
	free(out);
	rc = it_ctl(&ctx, &out, "task", "retry", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		    NULL);
	cr_assert_eq(rc, 1);
	free(out);
	rc = it_ctl(&ctx, &out, "task", "retry", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		    "--set", "{bad", NULL);
	cr_assert_eq(rc, 2);
	free(out);

	/* no worker yet: tasks wait queued (or delayed) */
	it_submit(&ctx, queued, "quick", NULL);
	it_submit(&ctx, skipped, "quick", NULL);
	it_submit(&ctx, delayed, "quick", "--delay", "3s", NULL);
	ctl_ok(&ctx, "--as", "dora", "task", "pause", queued);
	ctl_ok(&ctx, "task", "skip", skipped, "--reason", "not needed");
	ctl_ok(&ctx, "task", "pause", delayed, NULL, NULL);

	worker = it_worker_start(&ctx, 1);
	wait_state(&ctx, queued, "paused", 30000);
	wait_state(&ctx, skipped, "skipped", 30000);
	sleep(4); /* the delayed one has come due, and is parked too */
	wait_state(&ctx, delayed, "paused", 10000);
	cr_assert_eq(lines(&ctx, "run", queued), 0);
	cr_assert_eq(lines(&ctx, "run", delayed), 0);

	ctl_ok(&ctx, "task", "resume", queued, NULL, NULL);
	ctl_ok(&ctx, "task", "resume", delayed, NULL, NULL);
	cr_assert_eq(it_wait_count(&ctx, "run", queued, 1, 15000), 1);
	cr_assert_eq(it_wait_count(&ctx, "run", delayed, 1, 15000), 1);
	wait_state(&ctx, queued, "succeeded", 10000);
	wait_state(&ctx, delayed, "succeeded", 10000);
	cr_assert_eq(lines(&ctx, "run", skipped), 0);
	/* the skipped one is a dead letter with reason skipped */
	rc = it_ctl(&ctx, &out, "dlq", "list", "--reason", "skipped", "--json",
		    NULL);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(out, skipped) && strstr(out, "not needed"),
		  "%s", out);
	free(out);

	/* a running exec task: stopped, then continued */
	it_submit(&ctx, running, "slow", NULL);
	cr_assert(it_wait_count(&ctx, "start", running, 1, 15000) == 1);
	usleep(300 * 1000);
	ctl_ok(&ctx, "task", "pause", running, NULL, NULL);
	wait_state(&ctx, running, "paused", 5000);
	usleep(300 * 1000);
	ticks = lines(&ctx, "tick", running);
	sleep(2);
	cr_assert_eq(lines(&ctx, "tick", running), ticks,
		     "ticks went on while paused");
	cr_assert_lt(ticks, 30);
	ctl_ok(&ctx, "task", "resume", running, NULL, NULL);
	cr_assert_eq(it_wait_count(&ctx, "end", running, 1, 15000), 1);
	wait_state(&ctx, running, "succeeded", 10000);

	/* cancel a running one: killed, recorded cancelled, not retried */
	it_submit(&ctx, doomed, "slow", NULL);
	cr_assert(it_wait_count(&ctx, "start", doomed, 1, 15000) == 1);
	ctl_ok(&ctx, "task", "cancel", doomed, NULL, NULL);
	wait_state(&ctx, doomed, "cancelled", 5000);
	sleep(4);
	cr_assert_eq(lines(&ctx, "end", doomed), 0);
	cr_assert_eq(lines(&ctx, "start", doomed), 1);
	state_of(&ctx, doomed, st, sizeof(st));
	cr_assert_str_eq(st, "cancelled");

	/* retry a dead one with a modified payload */
	it_submit(&ctx, dead, "picky", "--payload", "{\"ok\":false}", NULL);
	wait_state(&ctx, dead, "dead", 20000);
	rc = it_ctl(&ctx, &out, "task", "retry", dead, "--set", "ok=true",
		    NULL);
	cr_assert_eq(rc, 0);
	cr_assert_eq(strlen(out), DRV_ID_LEN + 1, "new id: %s", out);
	out[DRV_ID_LEN] = '\0';
	cr_assert_eq(it_wait_count(&ctx, "ok", out, 1, 20000), 1);
	wait_state(&ctx, out, "succeeded", 10000);
	free(out);
	rc = it_ctl(&ctx, &out, "task", "pause", dead, NULL);
	cr_assert_eq(rc, 1, "pausing a dead task");
	free(out);

	/* a whole handler */
	ctl_ok(&ctx, "pause", "--handler", "quick", NULL, NULL);
	it_submit(&ctx, handled, "quick", NULL);
	wait_state(&ctx, handled, "paused", 15000);
	sleep(2);
	cr_assert_eq(lines(&ctx, "run", handled), 0);
	ctl_ok(&ctx, "resume", "--handler", "quick", NULL, NULL);
	cr_assert_eq(it_wait_count(&ctx, "run", handled, 1, 15000), 1);
	wait_state(&ctx, handled, "succeeded", 10000);

	/* every action is on the audit topic */
	cr_assert_eq(audit_actions(&ctx, "task.pause"), 3);
	cr_assert_eq(audit_actions(&ctx, "task.resume"), 3);
	cr_assert_eq(audit_actions(&ctx, "task.skip"), 1);
	cr_assert_eq(audit_actions(&ctx, "task.cancel"), 1);
	/* (a retry writes "started", then how it ended) */
	cr_assert_eq(audit_actions(&ctx, "task.retry"), 2);
	cr_assert_eq(audit_actions(&ctx, "handler.pause"), 1);
	cr_assert_eq(audit_actions(&ctx, "handler.resume"), 1);
	rc = it_ctl(&ctx, &out, "audit", "list", "--actor", "dora", "--json",
		    NULL);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(out, "task.pause") && strstr(out, queued), "%s", out);
	free(out);

	it_stop(worker, SIGTERM, 20000);
	it_teardown(&ctx);
}

/* Issue 14: a task that is running but has not ended an attempt had no
 * state, so `task pause` said "no state recorded ... yet". A worker now
 * records `running` as an attempt starts, and the pause stops it. */
Test(intervene, pause_running_task_before_its_first_outcome, .timeout = 120)
{
	char id[DRV_ID_LEN + 1], log[300], *out = NULL, *said;
	it_ctx_t ctx;
	pid_t worker;
	int ticks;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	worker = it_worker_start(&ctx, 1);
	snprintf(log, sizeof(log), "%s/worker-1.log", ctx.dir);
	cr_assert(it_wait_file(log, "partitions assigned", 30000));

	it_submit(&ctx, id, "slow", NULL);
	cr_assert(it_wait_count(&ctx, "start", id, 1, 15000) == 1);
	/* first attempt, still running: its state says so */
	wait_state(&ctx, id, "running", 2000);

	snprintf(log, sizeof(log), "%s/droverctl.log", ctx.dir);
	unlink(log);
	cr_assert_eq(it_ctl(&ctx, &out, "task", "pause", id, NULL), 0);
	cr_assert(strstr(out, "paused"), "%s", out);
	free(out);
	said = it_read(log);
	cr_assert(!said || !strstr(said, "no state"), "droverctl said: %s",
		  said);
	free(said);
	wait_state(&ctx, id, "paused", 5000);
	usleep(300 * 1000);
	ticks = lines(&ctx, "tick", id);
	sleep(2);
	cr_assert_eq(lines(&ctx, "tick", id), ticks,
		     "ticks went on while paused");
	cr_assert_lt(ticks, 30);
	ctl_ok(&ctx, "task", "resume", id, NULL, NULL);
	cr_assert_eq(it_wait_count(&ctx, "end", id, 1, 15000), 1);
	wait_state(&ctx, id, "succeeded", 10000);

	it_stop(worker, SIGTERM, 20000);
	it_teardown(&ctx);
}
