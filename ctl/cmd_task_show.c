/*
 * cmd_task_show.c — what Redis knows about tasks (the workers' task state,
 * see drover/state.h): `droverctl task show ID` (its state, every attempt
 * with its times, worker and error, its waits for a breaker or limit, and
 * where it came from) and `droverctl task list` (a page of tasks by state
 * and filters, drover/task_list.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/lineage.h"
#include "drover/state.h"
#include "drover/str.h"
#include "drover/task_list.h"

static void print_origin(const char *text)
{
	json_t *o = text ? json_loads(text, 0, NULL) : NULL, *v;
	const char *key;

	if (!o) {
		ctl_field(14, "origin", text);
		return;
	}
	printf("Origin:\n");
	json_object_foreach(o, key, v) {
		char buf[64];

		if (json_is_integer(v)) {
			drv_format_time(json_integer_value(v), buf, sizeof(buf));
			ctl_field(14, key, buf);
		} else
			ctl_field(14, key, json_string_value(v));
	}
	json_decref(o);
}

static void print_task(const drv_state_task_t *t)
{
	char buf[64];

	printf("Task %s\n", t->id);
	ctl_field(14, "state", drv_task_state_name(t->state));
	drv_fmt(buf, sizeof(buf), "%u", t->attempt);
	ctl_field(14, "attempts", buf);
	ctl_field(14, "handler", t->handler);
	ctl_field(14, "worker", t->worker);
	ctl_field(14, "last error", t->last_error);
	ctl_time_field(14, "created", t->created_ms);
	ctl_time_field(14, "updated", t->updated_ms);
	if (t->ttl_ms >= 0) {
		drv_format_duration(t->ttl_ms, buf, sizeof(buf));
		ctl_field(14, "state expires", buf);
	}
	if (t->origin)
		print_origin(t->origin);
	printf("Attempts (%zu):\n", t->history_cnt);
	for (size_t i = 0; i < t->history_cnt; i++) {
		const drv_state_attempt_t *a = &t->history[i];
		char start[40] = "-", dur[32] = "-";

		if (a->started_ms)
			drv_format_time(a->started_ms, start, sizeof(start));
		if (a->started_ms && a->finished_ms >= a->started_ms)
			drv_fmt(dur, sizeof(dur), "%lldms",
				(long long)(a->finished_ms - a->started_ms));
		printf("  #%-3u %-10s %s  %8s  worker %s%s%s\n", a->attempt,
		       drv_task_state_name(a->state), start, dur,
		       a->worker ? a->worker : "-",
		       a->failure_class ? "  " : "",
		       a->failure_class ?
		       drv_failure_class_name(a->failure_class) : "");
		if (a->error)
			printf("       %s\n", a->error);
	}
	if (!t->waits_cnt)
		return;
	printf("Waits without an attempt (%zu):\n", t->waits_cnt);
	for (size_t i = 0; i < t->waits_cnt; i++) {
		const drv_state_wait_t *w = &t->waits[i];
		char at[40], until[40];

		drv_format_time(w->at_ms, at, sizeof(at));
		drv_format_time(w->until_ms, until, sizeof(until));
		printf("  %s %s%s%s  %s until %s  after #%u, turned away %u "
		       "time%s\n", w->kind, w->name, w->state ? " " : "",
		       w->state ? w->state : "", at, until, w->attempt,
		       w->turns, w->turns == 1 ? "" : "s");
	}
}

/* "ID [--json]": the id at argv[optind] on CTL_EXIT_OK, else the usage
 * error's exit code. */
static int id_args(const ctl_cmd_t *cmd, int argc, char **argv, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'j')
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		*json = true;
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing task ID");
	if (optind + 1 < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind + 1]);
	if (!drv_id_valid(argv[optind]))
		return ctl_usage_error(cmd, "'%s' is not a task id (26 "
				       "characters of Crockford base32)",
				       argv[optind]);
	return CTL_EXIT_OK;
}

static int run_show(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	drv_state_task_t t;
	redisContext *c = NULL;
	char err[512], *s;
	bool json = false;
	drv_err_t rc;
	int ex;

	if ((ex = id_args(cmd, argc, argv, &json)) != CTL_EXIT_OK)
		return ex;
	if ((rc = drv_redis_connect(cfg, &c, err, sizeof(err))))
		return ctl_fail("task show: %s", err);
	drv_state_task_init(&t);
	rc = drv_state_get(c, cfg->redis.key_prefix, argv[optind], &t, err,
			   sizeof(err));
	redisFree(c);
	if (rc == DRV_ERR_NOT_FOUND) {
		drv_state_task_release(&t);
		return ctl_fail("task show: no state for task %s (never run "
				"by a worker that records state, or expired "
				"after worker.task_state_ttl; see also "
				"'droverctl dlq show %s')", argv[optind],
				argv[optind]);
	}
	if (rc) {
		drv_state_task_release(&t);
		return ctl_fail("task show: %s", err);
	}
	if (json) {
		if (!(s = drv_state_task_json(&t))) {
			drv_state_task_release(&t);
			return ctl_fail("out of memory");
		}
		puts(s);
		free(s);
	} else
		print_task(&t);
	drv_state_task_release(&t);
	return CTL_EXIT_OK;
}

/* ---- task list ---------------------------------------------------------- */

static void print_page(const drv_task_page_t *p)
{
	printf("%-26s  %-9s  %3s  %-20s  %-20s  %-20s  %s\n", "ID", "STATE",
	       "ATT", "HANDLER", "UPDATED", "DUE", "LAST ERROR");
	for (size_t i = 0; i < p->cnt; i++) {
		const drv_state_task_t *t = &p->tasks[i];
		char upd[40] = "-", due[40] = "-";

		if (t->updated_ms)
			drv_format_time_s(t->updated_ms / 1000, upd,
					  sizeof(upd));
		if (t->state == DRV_TASK_RETRYING && t->due_ms)
			drv_format_time_s(t->due_ms / 1000, due, sizeof(due));
		printf("%-26s  %-9s  %3u  %-20.20s  %-20.20s  %-20.20s  %.60s\n",
		       t->id, drv_task_state_name(t->state), t->attempt,
		       t->handler ? t->handler : "-", upd, due,
		       t->last_error ? t->last_error : "");
	}
	if (p->next)
		printf("more: droverctl task list ... --cursor '%s'\n", p->next);
	else if (!p->cnt)
		printf("no tasks match\n");
}

/* Why a listing may be empty whatever is running: the config says so. */
static const char *state_note(const drv_config_t *cfg)
{
	if (cfg->worker.task_state == DRV_TASK_STATE_OFF)
		return "worker.task_state is off: workers record no task "
		       "state, so none is listed";
	if (!cfg->worker.task_index)
		return "worker.task_index is false: workers keep no index, "
		       "so no task is listed ('task show ID' still works)";
	if (cfg->worker.task_state == DRV_TASK_STATE_FAILURES)
		return "worker.task_state is failures: only tasks that failed "
		       "at least once are listed";
	return NULL;
}

/* A page of queued tasks, through a queue reader of its own. */
static drv_err_t list_queued(const drv_config_t *cfg, redisContext *c,
			     const drv_task_filter_t *f, const char *cursor,
			     size_t limit, drv_task_page_t *page, char *err,
			     size_t err_size)
{
	drv_queue_reader_t *r = drv_queue_reader_new(cfg, err, err_size);
	drv_err_t rc;

	if (!r)
		return DRV_ERR_KAFKA;
	rc = drv_task_list_queued(r, c, cfg->redis.key_prefix, f, cursor,
				  limit, page, err, err_size);
	drv_queue_reader_destroy(r);
	return rc;
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state",    required_argument, NULL, 't' },
		{ "handler",  required_argument, NULL, 'H' },
		{ "band",     required_argument, NULL, 'b' },
		{ "label",    required_argument, NULL, 'l' },
		{ "schedule", required_argument, NULL, 's' },
		{ "since",    required_argument, NULL, 'S' },
		{ "until",    required_argument, NULL, 'U' },
		{ "limit",    required_argument, NULL, 'n' },
		{ "cursor",   required_argument, NULL, 'c' },
		{ "json",     no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	drv_task_filter_t f = { 0 };
	drv_task_page_t page;
	int64_t now = drv_now_ms(), limit = DRV_TASK_LIST_DEFAULT;
	const char *cursor = NULL, *note = state_note(cfg);
	redisContext *c = NULL;
	char err[512];
	bool json = false, queued;
	drv_err_t rc;
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *name = NULL;

		for (const struct option *op = opts; op->name; op++)
			if (op->val == o)
				name = op->name;
		if (o == 'j') {
			json = true;
		} else if (o == 'c') {
			cursor = optarg;
		} else if (o == 'n') {
			if (drv_parse_int(optarg, 1, DRV_TASK_LIST_MAX, &limit))
				return ctl_usage_error(cmd, "--limit must be "
						       "1..%d",
						       DRV_TASK_LIST_MAX);
		} else if (!name) {
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		} else if (drv_task_filter_set(&f, cfg, name, optarg, now,
					       err, sizeof(err))) {
			return ctl_usage_error(cmd, "--%s: %s", name, err);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (f.since_ms && f.until_ms && f.since_ms >= f.until_ms)
		return ctl_usage_error(cmd, "--since must be before --until");
	queued = drv_task_list_from_kafka(&f, cursor);
	if (note && !queued)
		fprintf(stderr, "droverctl: note: %s\n", note);
	if ((rc = drv_redis_connect(cfg, &c, err, sizeof(err))) && !queued)
		return ctl_fail("task list: %s", err);
	if (rc) {   /* queued tasks are listed without Redis, unchecked */
		fprintf(stderr, "droverctl: note: %s: tasks already taken by "
			"a worker may be listed as queued\n", err);
		redisFree(c);
		c = NULL;
	}
	if (queued)
		rc = list_queued(cfg, c, &f, cursor, (size_t)limit, &page, err,
				 sizeof(err));
	else
		rc = drv_task_list(c, cfg->redis.key_prefix, &f, cursor,
				   (size_t)limit, &page, err, sizeof(err));
	redisFree(c);
	if (rc == DRV_ERR_INVALID)
		return ctl_usage_error(cmd, "%s", err);
	if (rc)
		return ctl_fail("task list: %s", err);
	if (json)
		ctl_print_json(drv_task_page_obj(&page));
	else
		print_page(&page);
	drv_task_page_release(&page);
	return CTL_EXIT_OK;
}

/* One line per task of a lineage, then its dead letters indented. */
static void print_lineage(const json_t *o)
{
	size_t i, j;
	json_t *t, *d;

	json_array_foreach(json_object_get(o, "tasks"), i, t) {
		json_t *st = json_object_get(t, "state");
		const char *dl = json_string_value(json_object_get(
			json_object_get(t, "origin"), "dead_letter_id"));

		printf("%s %s  %-9s %s%s%s\n", i ? "->" : "  ",
		       json_string_value(json_object_get(t, "id")),
		       st ? json_string_value(json_object_get(st, "state")) :
		       "(no state)", st ? json_string_value(json_object_get(
		       st, "handler")) : "", dl ? "  from dead letter " : "",
		       dl ? dl : "");
		json_array_foreach(json_object_get(t, "dead_letters"), j, d) {
			const char *as = json_string_value(json_object_get(d,
							"resubmitted_as"));

			bool gone = json_is_true(json_object_get(d,
							"discarded"));

			printf("     dead letter %s  %s%s%s%s\n",
			       json_string_value(json_object_get(d, "id")),
			       json_string_value(json_object_get(d, "reason")),
			       as ? "  resubmitted as " : "", as ? as : "",
			       gone ? "  discarded" : "");
		}
	}
	if (json_is_true(json_object_get(o, "truncated")))
		printf("(more than %d tasks: the rest left out)\n",
		       DRV_LINEAGE_MAX);
}

static int run_lineage(const ctl_cmd_t *cmd, drv_config_t *cfg,
		       int argc, char **argv)
{
	redisContext *c = NULL;
	bool json = false;
	char err[512];
	drv_err_t rc;
	json_t *o;
	int ex;

	if ((ex = id_args(cmd, argc, argv, &json)) != CTL_EXIT_OK)
		return ex;
	if ((rc = drv_redis_connect(cfg, &c, err, sizeof(err))))
		return ctl_fail("task lineage: %s", err);
	rc = drv_task_lineage(cfg, c, argv[optind], &o, err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("task lineage: %s", err);
	if (json) {
		ctl_print_json(o);
	} else {
		print_lineage(o);
		json_decref(o);
	}
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_task_show_cmds[] = {
	{ "task", "show", "ID [--json]",
	  "a task's state, attempts (times, workers, errors), waits and origin",
	  "  --json                one JSON object\n"
	  "Reads the task state workers keep in Redis (worker.task_state); "
	  "exit 1\nwhen there is none. Waits: the times an open breaker or a "
	  "limit turned\nthe task away without an attempt.\n"
	  "Example:\n"
	  "  droverctl task show 01HZY3K4M5N6P7Q8R9S0T1V2W3 --json\n",
	  true, run_show },
	{ "task", "lineage", "ID [--json]",
	  "the tasks resubmissions of dead letters link to this one",
	  "  --json                {\"id\", \"tasks\": [{\"id\", \"state\", "
	  "\"origin\",\n"
	  "                        \"dead_letters\": [...]}], \"truncated\"}\n"
	  "Oldest first: back through the dead letter each task was "
	  "resubmitted\nfrom, forward through the tasks its dead letters' "
	  "resubmissions sent\n(at most 16 tasks). Reads the task state "
	  "(Redis) and the DLQ through\nits index; exit 1 when neither knows "
	  "the task.\n"
	  "Example:\n"
	  "  droverctl task lineage 01HZY3K4M5N6P7Q8R9S0T1V2W3\n",
	  true, run_lineage },
	{ "task", "list", "[--state S[,S]] [--handler NAME] [--band BAND] "
	  "[--label K=V]... [--schedule ID] [--since T] [--until T] "
	  "[--limit N] [--cursor C] [--json]",
	  "tasks by state, newest update first, a page at a time",
	  "  --state S[,S]         queued, running, retrying, paused, succeeded,\n"
	  "                        dead, skipped or cancelled (default: every\n"
	  "                        state but queued)\n"
	  "  --handler NAME        only this handler's tasks\n"
	  "  --band BAND           only tasks of band high, normal or low\n"
	  "  --label K=V           only tasks with this label (repeatable)\n"
	  "  --schedule ID         only tasks fired by this schedule\n"
	  "  --since T             updated at or after T: RFC 3339 time or a\n"
	  "                        duration ago (2h = two hours ago)\n"
	  "  --until T             updated before T (same forms)\n"
	  "  --limit N             tasks per page, 1..500 (default 50)\n"
	  "  --cursor C            the next page: the cursor a page printed\n"
	  "  --json                {\"tasks\":[...],\"scanned\":n,"
	  "\"next_cursor\":\"...\"}\n"
	  "                        (no next_cursor on the last page)\n"
	  "Reads the index workers keep in Redis (worker.task_index), newest\n"
	  "update first; every recorded state unless --state says. A queued\n"
	  "task (waiting on a band topic, not taken yet) has no record: with\n"
	  "--state queued it is read from the band topics, bands highest\n"
	  "first, oldest first per partition; queued with other states comes\n"
	  "after them. A retrying task shows when it runs next (DUE). A page\n"
	  "reads at most 10,000 candidates: a narrow filter may give a short\n"
	  "page with a cursor to go on.\n"
	  "Examples:\n"
	  "  droverctl task list --state retrying,dead --since 1h\n"
	  "  droverctl task list --state queued --band high\n"
	  "  droverctl task list --handler email --label tenant=acme --json\n",
	  true, run_list },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
