/*
 * cmd_task_show.c — `droverctl task show ID`: what Redis knows about a task
 * (the worker's task state, see drover/state.h): its state, every attempt
 * with its times, worker and error, and where it came from.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"

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
}

static int run_show(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	drv_state_task_t t;
	redisContext *c = NULL;
	char err[512], *s;
	bool json = false;
	drv_err_t rc;
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'j')
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		json = true;
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

const ctl_cmd_t ctl_task_show_cmds[] = {
	{ "task", "show", "ID [--json]",
	  "a task's state, attempts (times, workers, errors) and origin",
	  "  --json                one JSON object\n"
	  "Reads the task state workers keep in Redis (worker.task_state); "
	  "exit 1\nwhen there is none.\n"
	  "Example:\n"
	  "  droverctl task show 01HZY3K4M5N6P7Q8R9S0T1V2W3 --json\n",
	  true, run_show },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
