/*
 * cmd_dlq_resubmit.c — `droverctl dlq resubmit`, `droverctl dlq discard`
 * and `droverctl task retry`: the command line of a resubmission (or of a
 * discard, the same run marking instead of sending), run by the core
 * (drv_dlq_resubmit_run(), drover/dlq_resubmit.h says how each entry is
 * sent at most once), with what it reports printed and its audit records
 * written: "started" before anything is sent (so a run killed with SIGKILL
 * is on the trail too), then how it ended.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "dlq_opts.h"
#include "drover/clock.h"
#include "drover/dlq_resubmit.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"

/* The command line and the run it asks for. */
typedef struct resub {
	const ctl_cmd_t    *cmd;
	const drv_config_t *cfg;
	drv_dlq_filter_t f;
	drv_patch_t  patch;
	int64_t      priority;   /* 0 = keep */
	int64_t      max_attempts; /* 0 = keep */
	int64_t      max;        /* 0 = no limit */
	bool         json;
	bool         retry;      /* `task retry`: one task, its newest dead
				    letter, forced, attempts reset */
	bool         discard;    /* `dlq discard`: mark, send nothing */
	char       **ids;        /* argv: the IDs given */
	int          argc;
	char       **argv;
	rd_kafka_t  *rk;
	drv_dlq_resubmit_t run;
} resub_t;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static int audit(resub_t *r, const char *result);

/* ---- what the run tells us ---------------------------------------------- */

static bool hook_start(void *arg)
{
	return audit(arg, "started") == CTL_EXIT_OK;
}

/* "dlq resubmit", "dlq discard" or "task retry": for messages. */
static const char *verb(const resub_t *r)
{
	return r->retry ? "task retry" : r->discard ? "dlq discard" :
	       "dlq resubmit";
}

static void hook_item_failed(const char *dl_id, const char *why, void *arg)
{
	fprintf(stderr, "droverctl: %s: %s: %s\n", verb(arg), dl_id, why);
}

static void hook_dry_item(const char *dl_id, const char *topic,
			  const drv_task_t *t, void *arg)
{
	const resub_t *r = arg;
	char *task;
	json_t *o;

	if (!t) {  /* a discard's: the id, unless only the count is asked */
		if (!r->json)
			printf("%s\n", dl_id);
		return;
	}
	task = drv_task_to_json(t);
	o = json_pack("{s:s, s:s}", "dead_letter_id", dl_id, "topic", topic);
	if (o && task)
		json_object_set_new(o, "task", json_loads(task, 0, NULL));
	free(task);
	ctl_print_json(o);
}

static void hook_unmarked(size_t n, void *arg)
{
	(void)arg;
	fprintf(stderr, "droverctl: dlq resubmit: %zu tasks were sent "
		"but their marks could not be written; a rerun sends "
		"them again under the same ids and idempotency keys\n", n);
}

static bool hook_stop(void *arg)
{
	(void)arg;
	return got_signal != 0;
}

/* ---- the command --------------------------------------------------------- */

/* Is \p arg ("--set", "--set=X") an option only a resubmission takes? */
static bool resubmit_option(const char *arg)
{
	static const char *const names[] = {
		"--set", "--priority", "--policy", "--max-attempts",
		"--reset-attempts", "--max", "--rate", "--force", NULL,
	};

	for (size_t i = 0; names[i]; i++) {
		size_t n = strlen(names[i]);

		if (!strncmp(arg, names[i], n) && (!arg[n] || arg[n] == '='))
			return true;
	}
	return false;
}

static int parse(resub_t *r, int argc, char **argv)
{
	static const struct option discard_opts[] = {
		DLQ_FILTER_OPTIONS,
		{ "all",            no_argument,       NULL, 'a' },
		{ "dry-run",        no_argument,       NULL, 'd' },
		{ "json",           no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option opts[] = {
		DLQ_FILTER_OPTIONS,
		{ "all",            no_argument,       NULL, 'a' },
		{ "set",            required_argument, NULL, 'e' },
		{ "priority",       required_argument, NULL, 'P' },
		{ "policy",         required_argument, NULL, 'y' },
		{ "max-attempts",   required_argument, NULL, 'm' },
		{ "reset-attempts", no_argument,       NULL, 'R' },
		{ "max",            required_argument, NULL, 'x' },
		{ "rate",           required_argument, NULL, 't' },
		{ "dry-run",        no_argument,       NULL, 'd' },
		{ "force",          no_argument,       NULL, 'F' },
		{ "json",           no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const ctl_cmd_t *cmd = r->cmd;
	int64_t now = drv_now_ms();
	bool filtered = false;
	char err[512], *text, *end;
	size_t len;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", r->discard ? discard_opts :
				opts, NULL)) != -1) {
		if ((rc = ctl_dlq_filter_option(cmd, &r->f, c, optarg, now)) >= 0) {
			if (rc != CTL_EXIT_OK)
				return rc;
			filtered = true;
			continue;
		}
		switch (c) {
		case 'a':
			r->run.every = true;
			break;
		case 'e':
			if (!(text = ctl_read_arg(optarg, &len, err,
						  sizeof(err))))
				return ctl_usage_error(cmd, "--set: %s", err);
			rc = drv_patch_add(&r->patch, text, err, sizeof(err));
			free(text);
			if (rc)
				return ctl_usage_error(cmd, "%s", err);
			break;
		case 'P':
			if (drv_parse_int(optarg, DRV_PRIORITY_MIN,
					  DRV_PRIORITY_MAX, &r->priority))
				return ctl_usage_error(cmd, "--priority must be "
						       "1..10, got '%s'", optarg);
			break;
		case 'y':
			if (r->cfg->policy_cnt &&
			    !drv_config_policy(r->cfg, optarg))
				return ctl_usage_error(cmd, "--policy: no "
						       "policy '%s' in the "
						       "config", optarg);
			r->run.policy = optarg;
			break;
		case 'm':
			if (drv_parse_int(optarg, 1, 1000, &r->max_attempts))
				return ctl_usage_error(cmd, "--max-attempts must "
						       "be 1..1000, got '%s'",
						       optarg);
			break;
		case 'R':
			r->run.reset = true;
			break;
		case 'x':
			if (drv_parse_int(optarg, 1, INT64_MAX, &r->max))
				return ctl_usage_error(cmd, "--max must be a "
						       "count >= 1, got '%s'",
						       optarg);
			break;
		case 't':
			r->run.rate = strtod(optarg, &end);
			if (end == optarg || (*end && strcmp(end, "/s")) ||
			    !(r->run.rate > 0 && r->run.rate <= 1e7))
				return ctl_usage_error(cmd, "--rate wants N/s "
						       "with N > 0, got '%s'",
						       optarg);
			break;
		case 'd':
			r->run.dry_run = true;
			break;
		case 'F':
			r->run.force = true;
			break;
		case 'j':
			r->json = true;
			break;
		default:
			if (r->discard && resubmit_option(argv[optind - 1]))
				return ctl_usage_error(cmd, "a discard sends "
						       "no task: no %.*s (an "
						       "option of 'dlq "
						       "resubmit')",
						       (int)strcspn(argv[optind
						       - 1], "="),
						       argv[optind - 1]);
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if ((rc = ctl_dlq_filter_check(cmd, &r->f)))
		return rc;
	/* a failure group is a set of entries of its own: --all implied */
	if (r->f.group && !r->retry && optind == argc)
		r->run.every = true;
	r->ids = argv + optind;
	r->run.id_cnt = (size_t)(argc - optind);
	if (r->retry) {
		if (r->run.every || filtered || r->run.force || r->max || r->run.rate)
			return ctl_usage_error(cmd, "options of 'dlq resubmit' "
					       "only: --all, filters, --force, "
					       "--max, --rate");
		if (r->run.id_cnt != 1)
			return ctl_usage_error(cmd, r->run.id_cnt ? "one task ID "
					       "only" : "missing task ID");
		r->run.force = true;
		r->run.reset = true;
	}
	if (r->run.every && r->run.id_cnt)
		return ctl_usage_error(cmd, "give IDs or --all, not both");
	if (!r->run.every && !r->run.id_cnt)
		return ctl_usage_error(cmd, "which dead letters? Give IDs or "
				       "--all [filters]");
	if (filtered && !r->run.every)
		return ctl_usage_error(cmd, "filters only go with --all");
	for (size_t i = 0; i < r->run.id_cnt; i++)
		if (!drv_id_valid(r->ids[i]))
			return ctl_usage_error(cmd, "'%s' is not a dead letter "
					       "or task id (26 characters of "
					       "Crockford base32)", r->ids[i]);
	return CTL_EXIT_OK;
}

/* What the run did, for the audit record: the command line as the filter,
 * and the options. */
static char *audit_details(const resub_t *r, int argc, char **argv)
{
	char *patch = drv_patch_json(&r->patch), *s;
	json_t *args = json_array(), *o;

	for (int i = 1; args && i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b}",
		      "args", args ? args : json_null(),
		      "matched", (json_int_t)r->run.matched,
		      "already_resubmitted", (json_int_t)r->run.already,
		      "already_discarded",
		      (json_int_t)r->run.already_discarded,
		      "failed", (json_int_t)r->run.failed,
		      "undecodable", (json_int_t)r->run.undecodable,
		      "force", r->run.force, "reset_attempts", r->run.reset,
		      "interrupted", r->run.interrupted);
	if (o && patch)
		json_object_set_new(o, "set", json_loads(patch, 0, NULL));
	free(patch);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* One audit record of the run: \p result "started" before anything is
 * sent (so a run killed with SIGKILL is on the trail too), then how it
 * ended. */
static int audit(resub_t *r, const char *result)
{
	char target[600] = "", *details;
	size_t off = 0;
	int rc;

	if (r->run.every)
		drv_strlcpy(target, "--all", sizeof(target));
	/* the IDs, comma-separated, as many as fit */
	for (size_t i = 0; i < r->run.id_cnt && off + DRV_ID_LEN + 2 <
	     sizeof(target); i++) {
		if (i)
			target[off++] = ',';
		off += drv_strlcpy(target + off, r->ids[i],
				   sizeof(target) - off);
	}
	details = audit_details(r, r->argc, r->argv);
	rc = ctl_audit(r->cfg, r->rk, r->retry ? "task.retry" : r->discard ?
		       "dlq.discard" : "dlq.resubmit", target, r->run.sent,
		       details, result);
	free(details);
	return rc;
}

/* The end of a discard: the counts (stderr, or --json), the audit record
 * of a real one. */
static int finish_discard(resub_t *r, int rc, const char *result)
{
	const drv_dlq_resubmit_t *run = &r->run;

	fprintf(stderr, "droverctl: dlq discard: %s%zu %s, %zu already "
		"resubmitted and %zu already discarded (skipped), %zu "
		"undecodable (of %zu matching)%s\n",
		run->dry_run ? "dry run: " : "", run->sent,
		run->dry_run ? "would be discarded" : "discarded",
		run->already, run->already_discarded, run->undecodable,
		run->matched,
		run->interrupted ? "; interrupted: run it again to finish" : "");
	if (rc && strcmp(result, "interrupted"))
		fprintf(stderr, "droverctl: dlq discard: %s\n", result);
	if (r->json)
		ctl_print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:b}",
			"dry_run", run->dry_run,
			run->dry_run ? "count" : "discarded",
			(json_int_t)run->sent,
			"matched", (json_int_t)run->matched,
			"already_resubmitted", (json_int_t)run->already,
			"already_discarded",
			(json_int_t)run->already_discarded,
			"undecodable", (json_int_t)run->undecodable,
			"interrupted", run->interrupted));
	if (run->dry_run || !r->rk)
		return rc;
	if (audit(r, result) != CTL_EXIT_OK)
		rc = CTL_EXIT_FAILED;
	return rc;
}

static int finish(resub_t *r, drv_err_t run_rc, const char *run_err)
{
	char result[600];
	int rc = CTL_EXIT_OK;

	if (run_rc) {
		drv_fmt(result, sizeof(result), "%s", run_err);
		rc = CTL_EXIT_FAILED;
	} else if (r->run.interrupted) {
		drv_fmt(result, sizeof(result), "interrupted");
		rc = CTL_EXIT_FAILED;
	} else if (r->run.failed) {
		drv_fmt(result, sizeof(result), "%zu failed",
			r->run.failed);
		rc = CTL_EXIT_FAILED;
	} else
		drv_fmt(result, sizeof(result), "ok");
	if (r->discard)
		return finish_discard(r, rc, result);
	fprintf(stderr, "droverctl: dlq resubmit: %s%zu %s, %zu already "
		"resubmitted and %zu discarded (skipped), %zu undecodable, %zu "
		"failed (of %zu matching)%s\n",
		r->run.dry_run ? "dry run: " : "", r->run.sent,
		r->run.dry_run ? "would be resubmitted" : "resubmitted",
		r->run.already, r->run.already_discarded, r->run.undecodable,
		r->run.failed, r->run.matched,
		r->run.interrupted ? "; interrupted: run it again to finish" : "");
	if (rc && strcmp(result, "interrupted") &&
	    !strstr(result, "failed"))
		fprintf(stderr, "droverctl: dlq resubmit: %s\n", result);
	if (r->retry && !r->run.dry_run && r->run.sent == 1)
		printf("%s\n", r->run.last_id);
	if (r->json && !r->run.dry_run)
		ctl_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
			"resubmitted", (json_int_t)r->run.sent,
			"already_resubmitted", (json_int_t)r->run.already,
			"already_discarded",
			(json_int_t)r->run.already_discarded,
			"undecodable", (json_int_t)r->run.undecodable,
			"failed", (json_int_t)r->run.failed,
			"matched", (json_int_t)r->run.matched,
			"interrupted", r->run.interrupted));
	if (r->run.dry_run || !r->rk)
		return rc;
	if (audit(r, result) != CTL_EXIT_OK)
		rc = CTL_EXIT_FAILED;
	return rc;
}

/* A producer for many small tasks at once: bigger batches than the
 * default, so thousands in flight take few requests. */
static rd_kafka_t *bulk_producer(const drv_config_t *cfg, char *errstr,
				 size_t errstr_size)
{
	rd_kafka_conf_t *conf = drv_kafka_conf_new(cfg, NULL, errstr,
						   errstr_size);
	char rderr[256];
	rd_kafka_t *rk;

	if (!conf)
		return NULL;
	if (rd_kafka_conf_set(conf, "linger.ms", "20", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "batch.size", "4000000", rderr,
			      sizeof(rderr)) != RD_KAFKA_CONF_OK ||
	    !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr,
				sizeof(rderr)))) {
		rd_kafka_conf_destroy(conf);
		drv_error(errstr, errstr_size, DRV_ERR_KAFKA,
			  "cannot create Kafka producer: %s", rderr);
		return NULL;
	}
	return rk;
}

static int run_resubmit(const ctl_cmd_t *cmd, drv_config_t *cfg,
			int argc, char **argv)
{
	struct sigaction sa = { 0 }, old_int, old_term;
	resub_t r = { 0 };
	redisContext *c = NULL;
	bool *found = NULL;
	char err[512];
	drv_err_t rc = DRV_OK;
	int urc;

	r.cmd = cmd;
	r.cfg = cfg;
	r.argc = argc;
	r.argv = argv;
	r.retry = !strcmp(cmd->group, "task");
	r.discard = !strcmp(cmd->name, "discard");
	r.run.discard = r.discard;
	drv_patch_init(&r.patch);
	if ((urc = parse(&r, argc, argv))) {
		drv_patch_release(&r.patch);
		return urc;
	}
	if (!r.run.every && !(found = calloc(r.run.id_cnt, sizeof(bool)))) {
		drv_patch_release(&r.patch);
		return ctl_fail("out of memory");
	}
	/* no marks, no resubmission: the marks are what makes it safe */
	if ((rc = drv_redis_connect(cfg, &c, err, sizeof(err)))) {
		urc = ctl_fail("%s: %s (the marks live in Redis; nothing was "
			       "%s)", verb(&r), err, r.discard ? "discarded" :
			       "sent");
		goto out;
	}
	/* a discard produces only its audit records */
	if (!r.run.dry_run && !(r.rk = bulk_producer(cfg, err, sizeof(err)))) {
		urc = ctl_fail("%s: %s", verb(&r), err);
		goto out;
	}
	r.run.filter = &r.f;
	r.run.ids = (const char *const *)r.ids;
	r.run.id_found = found;
	r.run.patch = &r.patch;
	r.run.priority = (uint32_t)r.priority;
	r.run.max_attempts = (uint32_t)r.max_attempts;
	r.run.max = (uint64_t)r.max;
	r.run.newest_only = r.retry;
	r.run.submitted_by = ctl_actor_name();
	r.run.hooks = (drv_dlq_resubmit_hooks_t){
		.start = hook_start, .item_failed = hook_item_failed,
		.dry_item = hook_dry_item, .unmarked = hook_unmarked,
		.stop = hook_stop, .arg = &r };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	rc = drv_dlq_resubmit_run(cfg, c, r.rk, &r.run, err, sizeof(err));
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (r.run.aborted) {
		urc = CTL_EXIT_FAILED;
	} else if (r.run.nothing_sent) {
		for (size_t i = 0; i < r.run.id_cnt; i++)
			if (!found[i])
				fprintf(stderr, "droverctl: %s %s: %s not "
					"found in the DLQ%s\n", cmd->group,
					cmd->name, r.ids[i], r.retry ? " (only "
					"a dead task can be retried; a failing "
					"one is retried by its policy)" : "");
		urc = ctl_fail("%s: nothing %s", verb(&r), r.discard ?
			       "discarded" : "sent");
	} else {
		urc = finish(&r, rc, err);
	}
out:
	if (r.rk) {
		rd_kafka_flush(r.rk, 2000);
		rd_kafka_destroy(r.rk);
	}
	if (c)
		redisFree(c);
	free(found);
	drv_patch_release(&r.patch);
	return urc;
}

const ctl_cmd_t ctl_dlq_resubmit_cmds[] = {
	{ "dlq", "resubmit",
	  "ID... | --all [filters] | --group ID [--set PATCH]... "
	  "[--priority N] [--policy NAME] [--max-attempts N] "
	  "[--reset-attempts] [--max N] "
	  "[--rate N/s] [--dry-run] [--force] [--json]",
	  "put dead letters back on the task topics, each at most once",
	  "  ID...                 dead letter ids or task ids (an unknown ID "
	  "sends nothing)\n"
	  "  --all                 every dead letter matching the filters:\n"
	  DLQ_FILTER_HELP
	  "                        (--group alone means --all --group)\n"
	  "  --set PATCH           change the payload: a JSON merge patch\n"
	  "                        ('{\"a\":1}', @FILE) or KEY.PATH=VALUE "
	  "(VALUE is\n"
	  "                        JSON when it parses, else a string; null "
	  "removes);\n"
	  "                        repeatable, applied in order\n"
	  "  --priority N          new priority 1..10\n"
	  "  --policy NAME         new retry policy\n"
	  "  --max-attempts N      new attempt limit 1..1000\n"
	  "  --reset-attempts      start again at attempt 1 with no failure "
	  "history\n"
	  "  --max N               resubmit at most N\n"
	  "  --rate N/s            at most N per second\n"
	  "  --dry-run             print each task that would be sent (JSON "
	  "lines), send nothing\n"
	  "  --force               resubmit also what was resubmitted or discarded "
	  "before\n"
	  "  --json                print the counts as one JSON object\n"
	  "An entry is resubmitted at most once: its mark is written in Redis "
	  "after\nKafka acknowledged the new task, so an interrupted run can "
	  "simply be run\nagain. Exit 1 when anything failed or the run was "
	  "interrupted.\n"
	  "Example:\n"
	  "  droverctl dlq resubmit --all --handler resize --reason "
	  "permanent_failure \\\n"
	  "      --set '{\"quality\":80}' --reset-attempts --rate 500/s\n"
	  "  droverctl dlq resubmit --group 3f9a0c1d2e4b5a69 --dry-run\n",
	  true, run_resubmit },
	{ "dlq", "discard",
	  "ID... | --all [filters] | --group ID [--dry-run] [--json]",
	  "mark dead letters discarded: they need nothing, and no later "
	  "resubmission takes them",
	  "  ID...                 dead letter ids or task ids (an unknown ID "
	  "discards nothing)\n"
	  "  --all                 every dead letter matching the filters:\n"
	  DLQ_FILTER_HELP
	  "                        (--group alone means --all --group)\n"
	  "  --dry-run             print the id of each entry that would be "
	  "discarded\n"
	  "                        (with --json only the count), mark nothing\n"
	  "  --json                print the counts as one JSON object\n"
	  "A discarded entry stays on the DLQ until retention deletes it, "
	  "shown as\ndiscarded; its mark in Redis (the key of a resubmission "
	  "mark, holding\n\"discarded\") makes every later `dlq resubmit`, "
	  "resubmission job and\ndiscard skip it; `dlq resubmit --force` still "
	  "resubmits it. An entry\nresubmitted before is skipped, not "
	  "discarded. Exit 1 when the run failed or\nwas interrupted (run it "
	  "again: what is marked stays marked). For a durable\njob the "
	  "coordinators run: `dlq job start --kind discard`.\n"
	  "Example:\n"
	  "  droverctl dlq discard --group 3f9a0c1d2e4b5a69 --dry-run --json\n"
	  "  droverctl dlq discard 01HZY3K4M5N6P7Q8R9S0T1V2W3\n",
	  true, run_resubmit },
	{ "task", "retry",
	  "ID [--set PATCH]... [--priority N] [--policy NAME] "
	  "[--max-attempts N] [--dry-run] [--json]",
	  "run a dead task again, from its newest dead letter, maybe patched",
	  "  --set PATCH           change the payload (as 'dlq resubmit "
	  "--set')\n"
	  "  --priority N          new priority 1..10\n"
	  "  --policy NAME         new retry policy\n"
	  "  --max-attempts N      new attempt limit 1..1000\n"
	  "  --dry-run             print the task that would be sent\n"
	  "  --json                print the counts as one JSON object\n"
	  "A new task (new id, attempts reset, linked to the dead letter) is "
	  "sent\neven if the dead letter was resubmitted before; its id is "
	  "printed.\n"
	  "Example:\n"
	  "  droverctl task retry 01HZY3K4M5N6P7Q8R9S0T1V2W3 --set "
	  "'{\"dry_run\":false}'\n",
	  true, run_resubmit },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
