/*
 * cmd_dlq_job.c — `droverctl dlq job start|list|show|pause|resume|cancel|
 * failures`: DLQ resubmission (or discard, --kind discard) as a durable
 * job (drover/dlq_job.h), the same core calls as /api/v1/dlq/jobs.
 * droverctl only makes, reads and steers jobs; the coordinators run them. `start` turns its flags into the job's
 * spec (the API's body), so a job means the same from either door.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "dlq_opts.h"
#include "drover/clock.h"
#include "drover/dlq_job.h"
#include "drover/redis.h"
#include "drover/str.h"

static redisContext *connect_redis(const drv_config_t *cfg)
{
	redisContext *c = NULL;
	char err[512];

	if (drv_redis_connect(cfg, &c, err, sizeof(err))) {
		ctl_fail("%s", err);
		return NULL;
	}
	return c;
}

static void print_row(const drv_dlq_job_t *j)
{
	const char *what = json_string_value(json_object_get(j->spec,
							     "group"));
	char *filter = NULL;

	if (!what)
		what = filter = json_dumps(json_object_get(j->spec, "filter"),
					   JSON_COMPACT);
	printf("%-26s %-8s %-9s %5.1f%% %7llu %7llu %6llu  %s\n", j->id,
	       drv_dlq_job_kind_name(j->kind),
	       drv_dlq_job_state_name(j->state),
	       drv_dlq_job_progress(j) * 100.0,
	       (unsigned long long)j->counts.matched,
	       (unsigned long long)j->counts.sent,
	       (unsigned long long)j->counts.failed, what ? what : "");
	free(filter);
}

static void print_job(const drv_dlq_job_t *j)
{
	char *spec = json_dumps(j->spec, JSON_COMPACT), n[160];

	printf("job %s\n", j->id);
	ctl_field(20, "kind", drv_dlq_job_kind_name(j->kind));
	ctl_field(20, "state", drv_dlq_job_state_name(j->state));
	drv_fmt(n, sizeof(n), "%.1f%%", drv_dlq_job_progress(j) * 100.0);
	ctl_field(20, "progress", n);
	ctl_field(20, "spec", spec);
	ctl_field(20, "created by", j->created_by);
	ctl_field(20, "runner", j->runner);
	ctl_time_field(20, "created", j->created_ms);
	ctl_time_field(20, "started", j->started_ms);
	ctl_time_field(20, "updated", j->updated_ms);
	ctl_time_field(20, "ended", j->ended_ms);
	drv_fmt(n, sizeof(n), "%llu matched, %llu %s, %llu already "
		"resubmitted, %llu already discarded, %llu failed, %llu "
		"undecodable",
		(unsigned long long)j->counts.matched,
		(unsigned long long)j->counts.sent,
		j->kind == DRV_DLQ_JOB_DISCARD ? "discarded" : "resubmitted",
		(unsigned long long)j->counts.already,
		(unsigned long long)j->counts.already_discarded,
		(unsigned long long)j->counts.failed,
		(unsigned long long)j->counts.undecodable);
	ctl_field(20, "counts", n);
	ctl_field(20, "error", j->error);
	free(spec);
}

/* ---- start ---------------------------------------------------------------- */

/* Follow job \p id until it ends; exit 0 when done. */
static int follow(const drv_config_t *cfg, redisContext *c, const char *id,
		  bool json)
{
	for (;;) {
		drv_dlq_job_t j;
		char err[512];
		bool ended;

		if (drv_dlq_job_get(cfg, c, id, &j, err, sizeof(err)))
			return ctl_fail("%s", err);
		ended = j.state == DRV_DLQ_JOB_DONE ||
			j.state == DRV_DLQ_JOB_FAILED ||
			j.state == DRV_DLQ_JOB_CANCELLED;
		if (!json)
			fprintf(stderr, "%s %s %.1f%%: %llu %s, %llu "
				"already, %llu failed\n", j.id,
				drv_dlq_job_state_name(j.state),
				drv_dlq_job_progress(&j) * 100.0,
				(unsigned long long)j.counts.sent,
				j.kind == DRV_DLQ_JOB_DISCARD ? "discarded" :
				"resubmitted",
				(unsigned long long)(j.counts.already +
						     j.counts.already_discarded),
				(unsigned long long)j.counts.failed);
		if (ended) {
			int rc = j.state == DRV_DLQ_JOB_DONE ? CTL_EXIT_OK :
				 CTL_EXIT_FAILED;

			if (json)
				ctl_print_json(drv_dlq_job_json(&j));
			drv_dlq_job_release(&j);
			return rc;
		}
		drv_dlq_job_release(&j);
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
}

/* The flags of `start` into \p spec. */
static int parse_start(const ctl_cmd_t *cmd, int argc, char **argv,
		       json_t *spec, bool *dry, bool *wait, bool *json)
{
	static const struct option opts[] = {
		DLQ_FILTER_OPTIONS,
		{ "set",            required_argument, NULL, 'e' },
		{ "priority",       required_argument, NULL, 'P' },
		{ "max-attempts",   required_argument, NULL, 'm' },
		{ "reset-attempts", no_argument,       NULL, 'R' },
		{ "rate",           required_argument, NULL, 't' },
		{ "kind",           required_argument, NULL, 'k' },
		{ "dry-run",        no_argument,       NULL, 'd' },
		{ "wait",           no_argument,       NULL, 'w' },
		{ "json",           no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *filter = json_object(), *set = json_array(), *v;
	drv_dlq_filter_t f = { 0 };
	int64_t now = drv_now_ms(), n;
	char err[512], *text, *end;
	size_t len;
	double rate;
	int c, rc;

	json_object_set_new(spec, "filter", filter);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *name = ctl_dlq_filter_name(c);

		if (name) {
			/* checked here, kept as text for the spec */
			if ((rc = ctl_dlq_filter_option(cmd, &f, c, optarg,
							now)))
				goto fail;
			if (c != 'l') {
				json_object_set_new(filter, name,
						    json_string(optarg));
				continue;
			}
			if (!(v = json_object_get(filter, "label")))
				json_object_set_new(filter, "label",
						    v = json_array());
			json_array_append_new(v, json_string(optarg));
			continue;
		}
		switch (c) {
		case 'e':
			if (!(text = ctl_read_arg(optarg, &len, err,
						  sizeof(err)))) {
				rc = ctl_usage_error(cmd, "--set: %s", err);
				goto fail;
			}
			v = json_loads(text, 0, NULL);
			json_array_append_new(set, json_is_object(v) ?
					      json_incref(v) :
					      json_string(text));
			json_decref(v);
			free(text);
			break;
		case 'P':
			if (drv_parse_int(optarg, DRV_PRIORITY_MIN,
					  DRV_PRIORITY_MAX, &n)) {
				rc = ctl_usage_error(cmd, "--priority must be "
						     "1..10, got '%s'", optarg);
				goto fail;
			}
			json_object_set_new(spec, "priority", json_integer(n));
			break;
		case 'm':
			if (drv_parse_int(optarg, 1, 1000, &n)) {
				rc = ctl_usage_error(cmd, "--max-attempts must "
						     "be 1..1000, got '%s'",
						     optarg);
				goto fail;
			}
			json_object_set_new(spec, "max_attempts",
					    json_integer(n));
			break;
		case 'R':
			json_object_set_new(spec, "reset_attempts",
					    json_true());
			break;
		case 't':
			rate = strtod(optarg, &end);
			if (end == optarg || (*end && strcmp(end, "/s")) ||
			    !(rate >= 0.001 && rate <= 1e7)) {
				rc = ctl_usage_error(cmd, "--rate wants N/s "
						     "with N > 0, got '%s'",
						     optarg);
				goto fail;
			}
			json_object_set_new(spec, "rate", json_real(rate));
			break;
		case 'k':
			if (strcmp(optarg, "resubmit") &&
			    strcmp(optarg, "discard")) {
				rc = ctl_usage_error(cmd, "--kind is resubmit "
						     "or discard, got '%s'",
						     optarg);
				goto fail;
			}
			json_object_set_new(spec, "kind", json_string(optarg));
			break;
		case 'd': *dry = true; break;
		case 'w': *wait = true; break;
		case 'j': *json = true; break;
		default:
			rc = ctl_usage_error(cmd, "unknown option '%s'",
					     argv[optind - 1]);
			goto fail;
		}
	}
	if (optind < argc) {
		rc = ctl_usage_error(cmd, "unexpected argument '%s'",
				     argv[optind]);
		goto fail;
	}
	if ((rc = ctl_dlq_filter_check(cmd, &f)))
		goto fail;
	if (json_array_size(set))
		json_object_set(spec, "set", set);
	rc = CTL_EXIT_OK;
fail:
	json_decref(set);
	return rc;
}

static int run_start(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		     char **argv)
{
	json_t *spec = json_object();
	bool dry = false, wait = false, json = false;
	char err[512], pointer[128], by[160], *details;
	drv_dlq_job_counts_t n;
	drv_dlq_job_t j = { 0 };
	redisContext *c = NULL;
	drv_err_t rc;
	int exit_rc;

	if ((exit_rc = parse_start(cmd, argc, argv, spec, &dry, &wait,
				   &json)))
		goto out;
	exit_rc = CTL_EXIT_FAILED;
	if (!(c = connect_redis(cfg)))
		goto out;
	if (dry) {
		const char *kind = json_string_value(json_object_get(spec,
								     "kind"));

		if (!kind)
			kind = "resubmit";
		rc = drv_dlq_job_count(cfg, c, spec, drv_now_ms(), &n,
				       pointer, sizeof(pointer), err,
				       sizeof(err));
		if (rc) {
			exit_rc = rc == DRV_ERR_INVALID ?
				  ctl_usage_error(cmd, "%s", err) :
				  ctl_fail("%s", err);
			goto out;
		}
		if (json)
			ctl_print_json(json_pack("{s:b, s:s, s:I, s:I, s:I, "
				"s:I, s:I, s:I}", "dry_run", 1, "kind", kind,
				"count", (json_int_t)n.sent, "matched",
				(json_int_t)n.matched, "already_resubmitted",
				(json_int_t)n.already, "already_discarded",
				(json_int_t)n.already_discarded, "failed",
				(json_int_t)n.failed, "undecodable",
				(json_int_t)n.undecodable));
		else
			printf("%llu would be %s (%llu matched, %llu already "
			       "resubmitted, %llu already discarded, %llu "
			       "failed, %llu undecodable)\n",
			       (unsigned long long)n.sent,
			       strcmp(kind, "discard") ? "resubmitted" :
			       "discarded",
			       (unsigned long long)n.matched,
			       (unsigned long long)n.already,
			       (unsigned long long)n.already_discarded,
			       (unsigned long long)n.failed,
			       (unsigned long long)n.undecodable);
		exit_rc = CTL_EXIT_OK;
		goto out;
	}
	drv_fmt(by, sizeof(by), "droverctl:%s", ctl_actor_name());
	rc = drv_dlq_job_create(cfg, c, spec, by, drv_now_ms(), &j, pointer,
				sizeof(pointer), err, sizeof(err));
	if (rc) {
		exit_rc = rc == DRV_ERR_INVALID ?
			  ctl_usage_error(cmd, "%s", err) :
			  ctl_fail("%s", err);
		goto out;
	}
	details = json_dumps(spec, JSON_COMPACT);
	exit_rc = ctl_audit(cfg, NULL, "dlq.job.create", j.id, 0, details,
			    NULL);
	free(details);
	if (exit_rc)
		goto out;
	if (json && !wait)
		ctl_print_json(drv_dlq_job_json(&j));
	else if (!json)
		printf("%s\n", j.id);
	if (wait)
		exit_rc = follow(cfg, c, j.id, json);
out:
	drv_dlq_job_release(&j);
	redisFree(c);
	json_decref(spec);
	return exit_rc;
}

/* ---- list, show, failures ------------------------------------------------- */

/* --limit N, --cursor C, --json and \p need (an argument) or none. */
static int parse_page(const ctl_cmd_t *cmd, int argc, char **argv,
		      const char *need, const char **arg, int64_t *limit,
		      const char **cursor, bool *json)
{
	static const struct option opts[] = {
		{ "limit",  required_argument, NULL, 'n' },
		{ "cursor", required_argument, NULL, 'C' },
		{ "json",   no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'C': *cursor = optarg; break;
		case 'j': *json = true; break;
		case 'n':
			if (drv_parse_int(optarg, 1, DRV_DLQ_JOB_PAGE_MAX,
					  limit))
				return ctl_usage_error(cmd, "--limit must be "
					"1..%d, got '%s'", DRV_DLQ_JOB_PAGE_MAX,
					optarg);
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (need && optind >= argc)
		return ctl_usage_error(cmd, "%s", need);
	if (need)
		*arg = argv[optind++];
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	return CTL_EXIT_OK;
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	const char *cursor = NULL;
	int64_t limit = 50;
	drv_dlq_job_t *jobs = NULL;
	char err[512], *next = NULL;
	redisContext *c;
	bool json = false;
	size_t cnt = 0;
	drv_err_t rc;
	json_t *arr;
	int exit_rc;

	if ((exit_rc = parse_page(cmd, argc, argv, NULL, NULL, &limit,
				  &cursor, &json)))
		return exit_rc;
	if (!(c = connect_redis(cfg)))
		return CTL_EXIT_FAILED;
	rc = drv_dlq_job_list(cfg, c, cursor, (size_t)limit, &jobs, &cnt,
			      &next, err, sizeof(err));
	redisFree(c);
	if (rc)
		return rc == DRV_ERR_INVALID ?
		       ctl_usage_error(cmd, "--cursor: %s", err) :
		       ctl_fail("%s", err);
	arr = json ? json_array() : NULL;
	if (!json)
		printf("%-26s %-8s %-9s %6s %7s %7s %6s  %s\n", "JOB", "KIND",
		       "STATE", "DONE", "MATCHED", "SENT", "FAILED", "WHAT");
	for (size_t i = 0; i < cnt; i++) {
		if (json)
			json_array_append_new(arr, drv_dlq_job_json(&jobs[i]));
		else
			print_row(&jobs[i]);
		drv_dlq_job_release(&jobs[i]);
	}
	free(jobs);
	if (json)
		ctl_print_json(json_pack("{s:o, s:s?}", "jobs", arr,
					 "next_cursor", next));
	else if (next)
		printf("more: droverctl dlq job list --cursor %s\n", next);
	free(next);
	return CTL_EXIT_OK;
}

/* The ID and --json of show, pause, resume and cancel, and a connection
 * (*c, the caller frees it) when they are good. */
static int job_arg(const ctl_cmd_t *cmd, const drv_config_t *cfg, int argc,
		   char **argv, bool *json, const char **id, redisContext **c)
{
	int rc;

	*c = NULL;
	if ((rc = ctl_parse_json_arg(cmd, argc, argv, "missing job ID", json,
				     id)))
		return rc;
	if (!drv_id_valid(*id))
		return ctl_usage_error(cmd, "'%s' is not a job id (a ULID)",
				       *id);
	return (*c = connect_redis(cfg)) ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}

static int run_show(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	const char *id;
	drv_dlq_job_t j;
	redisContext *c;
	char err[512];
	bool json;
	int rc;

	if ((rc = job_arg(cmd, cfg, argc, argv, &json, &id, &c)))
		return rc;
	rc = drv_dlq_job_get(cfg, c, id, &j, err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	if (json)
		ctl_print_json(drv_dlq_job_json(&j));
	else
		print_job(&j);
	drv_dlq_job_release(&j);
	return CTL_EXIT_OK;
}

static int run_failures(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
			char **argv)
{
	const char *id = NULL, *cursor = NULL;
	int64_t limit = 50, from = 0, next;
	json_t *items = NULL, *it;
	redisContext *c;
	bool json = false;
	char err[512];
	size_t i;
	int rc;

	if ((rc = parse_page(cmd, argc, argv, "missing job ID", &id, &limit,
			     &cursor, &json)))
		return rc;
	if (!drv_id_valid(id))
		return ctl_usage_error(cmd, "'%s' is not a job id (a ULID)",
				       id);
	if (cursor && drv_parse_int(cursor, 0, 999999999, &from))
		return ctl_usage_error(cmd, "--cursor: bad cursor '%s'",
				       cursor);
	if (!(c = connect_redis(cfg)))
		return CTL_EXIT_FAILED;
	rc = drv_dlq_job_failures(cfg, c, id, from, (size_t)limit, &items,
				  &next, err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	if (json) {
		json_t *o = json_pack("{s:s, s:o}", "id", id, "failures",
				      items);

		if (next >= 0)
			json_object_set_new(o, "next_cursor",
					    json_sprintf("%lld",
							 (long long)next));
		ctl_print_json(o);
		return CTL_EXIT_OK;
	}
	json_array_foreach(items, i, it)
		printf("%-26s %s\n", json_string_value(json_object_get(it,
		       "dead_letter_id")), json_string_value(
		       json_object_get(it, "error")));
	if (next >= 0)
		printf("more: droverctl dlq job failures %s --cursor %lld\n",
		       id, (long long)next);
	json_decref(items);
	return CTL_EXIT_OK;
}

/* ---- pause, resume, cancel ------------------------------------------------ */

static int run_control(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		       char **argv)
{
	drv_dlq_job_action_t action = !strcmp(cmd->name, "pause") ?
		DRV_DLQ_JOB_PAUSE : !strcmp(cmd->name, "resume") ?
		DRV_DLQ_JOB_RESUME : DRV_DLQ_JOB_CANCEL;
	char err[512], audit[32];
	const char *id;
	drv_dlq_job_t j;
	redisContext *c;
	bool json;
	int rc;

	if ((rc = job_arg(cmd, cfg, argc, argv, &json, &id, &c)))
		return rc;
	rc = drv_dlq_job_control(cfg, c, id, action, drv_now_ms(), &j, err,
				 sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	drv_fmt(audit, sizeof(audit), "dlq.job.%s", cmd->name);
	if ((rc = ctl_audit(cfg, NULL, audit, id, 1, NULL, NULL))) {
		drv_dlq_job_release(&j);
		return rc;
	}
	if (json)
		ctl_print_json(drv_dlq_job_json(&j));
	else
		printf("%s %s\n", j.id, drv_dlq_job_state_name(j.state));
	drv_dlq_job_release(&j);
	return CTL_EXIT_OK;
}

#define CONTROL_HELP(verb) \
	"  --json                the job after it, as one JSON object\n" \
	"Exit 1 when there is no such job or its state does not allow it.\n" \
	"Example:\n  droverctl dlq job " verb " 01JEQ7ZKXW8T6N3M2R5V4P9H1C\n"

const ctl_cmd_t ctl_dlq_job_cmds[] = {
	{ "dlq job", "start",
	  DLQ_FILTER_USAGE " [--set PATCH]... [--priority N] "
	  "[--max-attempts N] [--reset-attempts] [--rate N/s] "
	  "[--kind resubmit|discard] [--dry-run] [--wait] [--json]",
	  "resubmit (or discard) the dead letters of a filter as a durable "
	  "job the coordinators run",
	  DLQ_FILTER_HELP
	  "  --set PATCH           KEY.PATH=VALUE or a JSON merge patch "
	  "(@FILE: read it),\n                        applied to each payload "
	  "in order (repeatable)\n"
	  "  --priority N          the new tasks' priority, 1..10\n"
	  "  --max-attempts N      the new tasks' attempt limit, 1..1000\n"
	  "  --reset-attempts      start the new tasks at attempt 1, without "
	  "history\n"
	  "  --rate N/s            at most N entries a second\n"
	  "  --kind discard        mark the entries discarded instead of "
	  "resubmitting them\n"
	  "                        (`dlq discard`; no --set, --priority, "
	  "--max-attempts\n"
	  "                        or --reset-attempts); default resubmit\n"
	  "  --dry-run             count exactly what a job made now would "
	  "resubmit (or\n                        discard); make none\n"
	  "  --wait                follow the job's progress until it ends "
	  "(exit 1 unless done)\n"
	  "  --json                the job (or the count) as one JSON object\n"
	  "Prints the new job's id. A job reads the DLQ up to the end it had "
	  "when the job\nwas made (an entry that dies again is not resubmitted "
	  "by the same job) and\nsends each entry at most once. droverctl does "
	  "not run jobs: the coordinators\ndo (docs/dlq.md).\n"
	  "Example:\n  droverctl dlq job start --group 3f9a0c1d2e4b5a69 "
	  "--dry-run\n"
	  "  droverctl dlq job start --handler resize --set quality=80 "
	  "--rate 200/s --wait\n"
	  "  droverctl dlq job start --kind discard --group 3f9a0c1d2e4b5a69 "
	  "--wait\n",
	  true, run_start },
	{ "dlq job", "list", "[--limit N] [--cursor C] [--json]",
	  "resubmission and discard jobs, newest first",
	  "  --limit N             jobs per page, 1..500 (default 50)\n"
	  "  --cursor C            the page after the one that printed C\n"
	  "  --json                {\"jobs\": [...], \"next_cursor\": ...}\n"
	  "Jobs are kept 7 days after they end.\n"
	  "Example:\n  droverctl dlq job list\n",
	  true, run_list },
	{ "dlq job", "show", "ID [--json]",
	  "one resubmission or discard job: kind, state, progress, counts",
	  "  --json                the job as one JSON object\n"
	  "Exit 1 when there is no such job.\n"
	  "Example:\n  droverctl dlq job show 01JEQ7ZKXW8T6N3M2R5V4P9H1C\n",
	  true, run_show },
	{ "dlq job", "pause", "ID [--json]",
	  "pause a job after the entry at hand (pending or running)",
	  CONTROL_HELP("pause"), true, run_control },
	{ "dlq job", "resume", "ID [--json]",
	  "resume a paused job where it stopped",
	  CONTROL_HELP("resume"), true, run_control },
	{ "dlq job", "cancel", "ID [--json]",
	  "cancel a job for good (what it sent stays sent)",
	  CONTROL_HELP("cancel"), true, run_control },
	{ "dlq job", "failures", "ID [--limit N] [--cursor N] [--json]",
	  "the entries a job could not resubmit, and why",
	  "  --limit N             failures per page, 1..500 (default 50)\n"
	  "  --cursor N            the page after the one that printed N\n"
	  "  --json                {\"id\", \"failures\": [...], "
	  "\"next_cursor\"}\n"
	  "The first 1000 failures are kept; `dlq job show` counts them all.\n"
	  "Example:\n  droverctl dlq job failures 01JEQ7ZKXW8T6N3M2R5V4P9H1C "
	  "--limit 100\n",
	  true, run_failures },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
