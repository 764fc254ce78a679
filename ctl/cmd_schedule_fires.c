/*
 * cmd_schedule_fires.c — `droverctl schedule fires ID`: a schedule's fire
 * history in a time range, newest first: when each fire was for, what
 * happened to it (published, caught up, manual, skipped, buffered), its
 * task and the outcome and duration of the run. The same core call
 * (drv_sched_fires_read()) as GET /api/v1/schedules/{id}/fires.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_sched.h"
#include "drover/clock.h"
#include "drover/sched_fires.h"
#include "drover/sched_view.h"
#include "drover/str.h"

#define DAY_MS (24LL * 3600 * 1000)
#define LIMIT_MAX 10000

/* Print the fires of \p f as a table. */
static void print_table(const drv_sched_fires_t *f)
{
	printf("%-24s  %-15s  %-26s  %-9s  %s\n", "SCHEDULED", "KIND",
	       "TASK", "OUTCOME", "DURATION");
	for (size_t i = 0; i < f->cnt; i++) {
		const drv_sched_fire_t *x = &f->fires[i];
		char when[40], dur[32] = "-";

		drv_format_time(x->nominal_ms, when, sizeof(when));
		if (x->outcome[0])
			drv_fmt(dur, sizeof(dur), "%lldms",
				(long long)x->duration_ms);
		printf("%-24s  %-15s  %-26s  %-9s  %s\n", when,
		       drv_sched_fire_kinds[x->kind],
		       x->task_id[0] ? x->task_id : "-",
		       x->outcome[0] ? x->outcome :
		       x->published_ms ? "running" : "-", dur);
	}
	if (f->truncated)
		printf("(more fires in the range: --limit)\n");
}

static int run_fires(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		     char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json",  no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t now = drv_now_ms(), since = 0, until = 0, limit = 50;
	drv_sched_fires_t *f = NULL;
	drv_sched_row_t *rows = NULL;
	redisContext *c = NULL;
	const char *id;
	bool json = false;
	char err[512];
	size_t n = 0;
	drv_err_t e;
	int o, rc = CTL_EXIT_OK;

	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			rc = ctl_when_arg(cmd, "--since", optarg, now, &since);
			break;
		case 'u':
			rc = ctl_when_arg(cmd, "--until", optarg, now, &until);
			break;
		case 'n':
			if (drv_parse_int(optarg, 1, LIMIT_MAX, &limit))
				rc = ctl_usage_error(cmd, "--limit: '%s' is "
						     "not a number from 1 to "
						     "%d", optarg, LIMIT_MAX);
			break;
		case 'j':
			json = true;
			break;
		default:
			rc = ctl_usage_error(cmd, "unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (rc == CTL_EXIT_OK && optind != argc - 1)
		rc = ctl_usage_error(cmd, optind >= argc ? "missing ID" :
				     "unexpected argument '%s'",
				     argv[optind + 1]);
	if (rc)
		return rc;
	id = argv[optind];
	if (!until)
		until = now;
	if (!since)
		since = until - DAY_MS;
	if ((rc = ctl_sched_redis(cfg, &c)))
		return rc;
	if ((e = drv_sched_rows(cfg, c, id, &rows, &n, err, sizeof(err)))) {
		drv_sched_rows_free(rows, n);
		redisFree(c);
		return ctl_fail("%s", err);
	}
	drv_sched_rows_free(rows, n);
	if (!n) {
		redisFree(c);
		return ctl_fail("no schedule '%s' (not in the config file nor "
				"in Redis)", id);
	}
	e = drv_sched_fires_read(c, cfg->redis.key_prefix, &id, 1, since,
				 until, (size_t)limit, true, &f, err,
				 sizeof(err));
	redisFree(c);
	if (e)
		return ctl_fail("%s", err);
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < f->cnt; i++)
			json_array_append_new(arr,
					      drv_sched_fire_obj(&f->fires[i]));
		ctl_print_json(json_pack("{s:s, s:I, s:I, s:o, s:b}",
					 "schedule", id, "since_ms",
					 (json_int_t)since, "until_ms",
					 (json_int_t)until, "fires", arr,
					 "truncated", f->truncated));
	} else {
		print_table(f);
	}
	drv_sched_fires_free(f, 1);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_schedule_fires_cmds[] = {
	{ "schedule", "fires", "ID [--since T] [--until T] [--limit N] "
	  "[--json]",
	  "a schedule's fire history, newest first",
	  "Every fire the leading coordinator handled in the range (kept 14\n"
	  "days, at most 10,000 per schedule): the time it was for, its kind\n"
	  "(published; caught_up: published later than\n"
	  "coordinator.misfire_grace, after a leader gap; manual;\n"
	  "skipped_overlap; buffered), its task, and the outcome (succeeded,\n"
	  "dead, running) and duration of the run.\n"
	  "  --since T              from (RFC 3339, a date, or a duration ago:\n"
	  "                         2h); default 24 hours before --until\n"
	  "  --until T              to; default now\n"
	  "  --limit N              at most N fires, the newest (default 50)\n"
	  "  --json                 print {schedule, since_ms, until_ms,\n"
	  "                         fires, truncated}\n"
	  "\nExample:\n  droverctl schedule fires nightly-report --since 7d\n",
	  true, run_fires },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
