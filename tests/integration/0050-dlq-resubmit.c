/*
 * 0050 — `droverctl dlq resubmit` against the real Kafka and Redis: 1,000
 * tasks fail permanently and are dead-lettered by a real worker; bad input
 * sends nothing; a resubmit interrupted by SIGINT and then one killed with
 * SIGKILL half-way, then a complete run, resubmit every entry exactly once
 * with a payload patch that makes them succeed; running it again
 * resubmits nothing; every run is in the audit topic.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/audit.h"
#include "drover/str.h"
#include "harness.h"

extern char **environ;

#define N 1000

/* Succeeds only when the payload has "ok":true; otherwise exit 3, which is
 * a permanent failure (not a transient exit code). */
static const char handlers[] =
	"  picky:\n"
	"    shell: true\n"
	"    command: 'p=$(cat); case \"$p\" in *\\\"ok\\\":true*) "
	"echo \"ok $DROVER_TASK_ID\" >> \"$OUT\";; *) exit 3;; esac'\n";

/* Start droverctl with the test config: stdout to dir/ctl.out (truncated),
 * stderr appended to dir/ctl.log. */
static pid_t ctl_spawn(it_ctx_t *ctx, char **args)
{
	char bin[300], log[300], outp[300];
	char *argv[32];
	int n = 0;
	pid_t pid;

	drv_fmt(bin, sizeof(bin), "%s/ctl/droverctl", getenv("DROVER_BUILD_DIR"));
	drv_fmt(log, sizeof(log), "%s/ctl.log", ctx->dir);
	drv_fmt(outp, sizeof(outp), "%s/ctl.out", ctx->dir);
	argv[n++] = bin;
	argv[n++] = "-c";
	argv[n++] = ctx->config;
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		FILE *o = fopen(outp, "w"), *e = fopen(log, "a");
		if (o)
			dup2(fileno(o), 1);
		if (e)
			dup2(fileno(e), 2);
		execve(bin, argv, environ);
		_exit(127);
	}
	return pid;
}

/* Run droverctl with \p args (NULL-terminated), expect exit \p want_rc and
 * return its first line of stdout as JSON. */
static json_t *ctl_json(it_ctx_t *ctx, int want_rc, char **args)
{
	char outp[300], *out;
	int status;
	pid_t pid = ctl_spawn(ctx, args);
	json_t *j;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	drv_fmt(outp, sizeof(outp), "%s/ctl.out", ctx->dir);
	out = it_read(outp);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == want_rc,
		  "droverctl %s %s: status %d: %s (see %s/ctl.log)", args[0],
		  args[1], status, out ? out : "", ctx->dir);
	j = json_loads(out ? out : "", JSON_DISABLE_EOF_CHECK, NULL);
	free(out);
	cr_assert(j, "no JSON from droverctl %s %s", args[0], args[1]);
	return j;
}

static long long stats_field(it_ctx_t *ctx, const char *field)
{
	char *args[] = { "dlq", "stats", "--json", NULL };
	json_t *j = ctl_json(ctx, 0, args);
	long long v = json_integer_value(json_object_get(j, field));

	json_decref(j);
	return v;
}

/* Audit records of \p action (and \p result when not NULL) among the
 * first \p want records on the audit topic. */
static int audit_count_result(it_ctx_t *ctx, const char *action,
			      const char *result, int want);

static int audit_count(it_ctx_t *ctx, const char *action, int want)
{
	return audit_count_result(ctx, action, NULL, want);
}

static int audit_count_result(it_ctx_t *ctx, const char *action,
			      const char *result, int want)
{
	it_msg_t *msgs = NULL;
	int n = it_consume(ctx, "audit", want, 10000, &msgs), hits = 0;

	for (int i = 0; i < n; i++) {
		drv_audit_t a;
		char err[256];

		drv_audit_init(&a);
		if (!drv_audit_decode(msgs[i].data, msgs[i].len, &a, err,
				      sizeof(err)) && !strcmp(a.action, action) &&
		    (!result || (a.result && !strcmp(a.result, result))))
			hits++;
		drv_audit_release(&a);
	}
	it_msgs_free(msgs, n);
	return hits;
}

Test(dlq_resubmit, thousand_exactly_once, .timeout = 240)
{
	char *resub[] = { "dlq", "resubmit", "--all", "--handler", "picky",
			  "--set", "ok=true", "--rate", "500/s", NULL };
	char *again[] = { "dlq", "resubmit", "--all", "--handler", "picky",
			  "--set", "ok=true", "--json", NULL };
	char *out = NULL, first_id[DRV_ID_LEN + 1], first_task[DRV_ID_LEN + 1];
	char new_task[DRV_ID_LEN + 1];
	const char *unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
	it_ctx_t ctx;
	json_t *j, *task;
	pid_t worker, pid;
	int rc, status;
	long long dead = 0;

	it_setup(&ctx, handlers);
	it_topics(&ctx);
	setenv("DROVER_WORKER_CONCURRENCY", "8", 1);
	worker = it_worker_start(&ctx, 1);
	it_publish_many(&ctx, "picky", N);
	for (int i = 0; i < 120 && (dead = stats_field(&ctx, "count")) < N; i++)
		sleep(1);
	cr_assert_eq(dead, N, "%lld of %d dead-lettered", dead, N);
	cr_assert_eq(it_count(&ctx, "ok", NULL), 0);

	/* dlq list shows all of them */
	rc = it_ctl(&ctx, &out, "dlq", "list", "--json", "--limit", "100000",
		    NULL);
	cr_assert_eq(rc, 0);
	{
		int lines = 0;
		for (char *p = out; *p; p++)
			lines += *p == '\n';
		cr_assert_eq(lines, N, "dlq list shows %d", lines);
		j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
		cr_assert(j);
		drv_strlcpy(first_id, json_string_value(json_object_get(j,
			    "id")), sizeof(first_id));
		drv_strlcpy(first_task, json_string_value(json_object_get(
			    json_object_get(j, "task"), "id")),
			    sizeof(first_task));
		json_decref(j);
	}
	free(out);

	/* bad input sends nothing */
	rc = it_ctl(&ctx, &out, "dlq", "resubmit", first_id, unknown, NULL);
	cr_assert_eq(rc, 1, "unknown ID: exit %d", rc);
	free(out);
	rc = it_ctl(&ctx, &out, "dlq", "resubmit", "--all", "--set", "{bad",
		    NULL);
	cr_assert_eq(rc, 2);
	free(out);
	rc = it_ctl(&ctx, &out, "dlq", "resubmit", "--all", first_id, NULL);
	cr_assert_eq(rc, 2);
	free(out);
	cr_assert_eq(stats_field(&ctx, "resubmitted"), 0);

	/* --dry-run prints exactly the task it would send, sends nothing */
	rc = it_ctl(&ctx, &out, "dlq", "resubmit", first_id, "--set",
		    "ok=true", "--dry-run", NULL);
	cr_assert_eq(rc, 0);
	j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
	free(out);
	cr_assert(j);
	task = json_object_get(j, "task");
	cr_assert(json_is_true(json_object_get(json_object_get(task,
		  "payload"), "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
		task, "labels"), "drover.resubmitted_from")), first_id);
	drv_strlcpy(new_task, json_string_value(json_object_get(task, "id")),
		    sizeof(new_task));
	json_decref(j);
	cr_assert_eq(stats_field(&ctx, "resubmitted"), 0);

	/* SIGINT after a while: it stops cleanly, exit 1 */
	pid = ctl_spawn(&ctx, resub);
	usleep(700 * 1000);
	kill(pid, SIGINT);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		  "after SIGINT: status %d", status);
	/* SIGKILL half-way */
	pid = ctl_spawn(&ctx, resub);
	usleep(1200 * 1000);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	{
		long long part = stats_field(&ctx, "resubmitted");
		cr_assert(part > 0 && part < N, "after the kills: %lld marked",
			  part);
	}

	/* the rerun finishes the rest */
	j = ctl_json(&ctx, 0, again);
	cr_assert_eq(json_integer_value(json_object_get(j, "resubmitted")) +
		     json_integer_value(json_object_get(j,
			     "already_resubmitted")), N);
	cr_assert(json_integer_value(json_object_get(j, "resubmitted")) > 0);
	json_decref(j);

	/* all succeed, each exactly once */
	cr_assert_eq(it_wait_count(&ctx, "ok", NULL, N, 90000), N);
	sleep(2);
	cr_assert_eq(it_count(&ctx, "ok", NULL), N, "runs: %d",
		     it_count(&ctx, "ok", NULL));
	cr_assert_eq(stats_field(&ctx, "resubmitted"), N);

	/* task show: the dead original and the resubmitted task, which
	 * points back at its dead letter */
	{
		char *show1[] = { "task", "show", first_task, "--json", NULL };
		char *show2[] = { "task", "show", new_task, "--json", NULL };
		json_t *h;

		j = ctl_json(&ctx, 0, show1);
		cr_assert_str_eq(json_string_value(json_object_get(j, "state")),
				 "dead");
		h = json_array_get(json_object_get(j, "history"), 0);
		cr_assert_str_eq(json_string_value(json_object_get(h,
				 "error")), "exit code 3");
		cr_assert_str_eq(json_string_value(json_object_get(h,
				 "worker")), "worker-1");
		json_decref(j);
		j = ctl_json(&ctx, 0, show2);
		cr_assert_str_eq(json_string_value(json_object_get(j, "state")),
				 "succeeded");
		cr_assert_str_eq(json_string_value(json_object_get(
			json_object_get(j, "origin"), "dead_letter_id")),
			first_id);
		json_decref(j);
		rc = it_ctl(&ctx, &out, "task", "show",
			    "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL);
		cr_assert_eq(rc, 1);
		free(out);
	}

	/* the same resubmit again resubmits nothing */
	j = ctl_json(&ctx, 0, again);
	cr_assert_eq(json_integer_value(json_object_get(j, "resubmitted")), 0);
	cr_assert_eq(json_integer_value(json_object_get(j,
		     "already_resubmitted")), N);
	json_decref(j);

	/* the runs that acted are in the audit topic: "started", then how
	 * they ended (the killed one has only "started") */
	cr_assert_geq(audit_count(&ctx, "dlq.resubmit", 7), 7);
	/* each run that could send wrote "started" first, the SIGKILLed one
	 * included */
	{
		/* (reads the 7 records: 2 + 1 + 2 + 2) */
		int started = audit_count_result(&ctx, "dlq.resubmit",
						 "started", 7);
		cr_assert_eq(started, 4, "%d started records", started);
	}
	{
		char *al[] = { "--as", "carol", "audit", "list", "--json",
			       "--action", "dlq.", "--since", "1h", NULL };
		char *rep[] = { "intervention", "report", "--json", NULL };

		j = ctl_json(&ctx, 0, al);
		cr_assert_str_eq(json_string_value(json_object_get(j,
				 "action")), "dlq.resubmit");
		cr_assert(json_object_get(json_object_get(j, "details"),
					  "args"));
		json_decref(j);
		j = ctl_json(&ctx, 0, rep);
		/* (the SIGKILLed run's tasks are in no record) */
		cr_assert_gt(json_integer_value(json_object_get(
			json_object_get(json_object_get(j, "actions"),
					"dlq.resubmit"), "affected")), 0);
		cr_assert_geq(json_integer_value(json_object_get(
			json_object_get(json_object_get(j, "actions"),
					"dlq.resubmit"), "records")), 3);
		json_decref(j);
	}

	it_stop(worker, SIGTERM, 20000);

	/* export, and import into another namespace (another "cluster") */
	{
		it_ctx_t ctx2;
		char path[300];
		FILE *f;

		rc = it_ctl(&ctx, &out, "dlq", "export", NULL);
		cr_assert_eq(rc, 0);
		drv_fmt(path, sizeof(path), "%s/dlq.jsonl", ctx.dir);
		cr_assert((f = fopen(path, "w")));
		fputs(out, f);
		fputs("not json\n", f);
		fclose(f);
		free(out);
		it_setup(&ctx2, handlers);
		it_topics(&ctx2);
		rc = it_ctl(&ctx2, &out, "dlq", "import", path, NULL);
		cr_assert_eq(rc, 1, "one bad line: exit %d", rc);
		free(out);
		cr_assert_eq(stats_field(&ctx2, "count"), N);
		cr_assert_eq(audit_count(&ctx2, "dlq.import", 1), 1);
		it_teardown(&ctx2);
	}
	it_teardown(&ctx);
}
