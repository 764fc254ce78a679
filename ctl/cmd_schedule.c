/*
 * cmd_schedule.c — the read-only schedule commands. `droverctl schedule
 * next EXPR|ID` shows when a cron expression (or a schedule of the config
 * file or Redis) will fire in its time zone, the same computation the
 * coordinator makes (drover/cron.h), so a schedule and its DST behaviour can
 * be checked before it is deployed. `schedule list` and `schedule show`
 * print every schedule (file and run-time) with its statistics from Redis
 * (drover/sched_store.h). The editing commands are in cmd_schedule_edit.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_sched.h"
#include "drover/redis.h"
#include "drover/sched_view.h"
#include "drover/schedule.h"
#include "drover/clock.h"
#include "drover/cron.h"
#include "drover/fire_times.h"
#include "drover/str.h"
#include "drover/tz.h"

/* A schedule id (not an expression): the cron and zone of schedule \p id
 * from the config or Redis into *cron / *zone (malloc'd), or false. */
static bool lookup(const drv_config_t *cfg, const char *id, char **cron,
		   char **zone)
{
	const drv_schedule_conf_t *f = drv_config_schedule(cfg, id);
	drv_schedule_conf_t conf;
	redisContext *c = NULL;
	char *json = NULL, err[256];
	bool ok = false;

	if (strchr(id, ' ') || id[0] == '@')
		return false;
	if (f) {
		*cron = drv_strdup(f->cron);
		*zone = drv_strdup(f->timezone);
		return true;
	}
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return false;
	if (!ctl_sched_runtime_json(c, cfg, id, true, &json) &&
	    !drv_schedule_conf_from_json(id, json, &conf, err, sizeof(err))) {
		*cron = drv_strdup(conf.cron);
		*zone = drv_strdup(conf.timezone);
		drv_schedule_conf_release(&conf);
		ok = true;
	}
	free(json);
	redisFree(c);
	return ok;
}

static int run_next(const ctl_cmd_t *cmd, drv_config_t *cfg,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tz",    required_argument, NULL, 'z' },
		{ "count", required_argument, NULL, 'n' },
		{ "after", required_argument, NULL, 'a' },
		{ "json",  no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *zone = NULL;
	char *own_cron = NULL, *own_zone = NULL;
	const char *expr;
	int64_t count = 5, after = drv_now_ms();
	drv_fire_time_t *times = NULL;
	drv_cron_t *cron = NULL;
	drv_tz_t *tz = NULL;
	bool json = false;
	char err[512];
	int c, rc = CTL_EXIT_OK;
	size_t n = 0;

	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'z':
			zone = optarg;
			break;
		case 'n':
			if (drv_parse_int(optarg, 1, DRV_FIRE_TIMES_MAX,
					  &count))
				rc = ctl_usage_error(cmd, "--count: '%s' is not "
						     "a number from 1 to %d",
						     optarg,
						     DRV_FIRE_TIMES_MAX);
			break;
		case 'a':
			if (drv_parse_time(optarg, &after))
				rc = ctl_usage_error(cmd, "--after: '%s' is not "
						     "an RFC 3339 time such as "
						     "2026-03-08T01:30:00Z",
						     optarg);
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
		rc = ctl_usage_error(cmd, optind >= argc ? "missing EXPR" :
				     "unexpected argument '%s' (quote the "
				     "expression: '0 9 * * MON-FRI')",
				     argv[optind + 1]);
	expr = rc == CTL_EXIT_OK ? argv[optind] : "";
	if (rc == CTL_EXIT_OK && lookup(cfg, expr, &own_cron, &own_zone)) {
		expr = own_cron;
		if (!zone)
			zone = own_zone;
	} else if (rc == CTL_EXIT_OK && !strchr(expr, ' ') && expr[0] != '@') {
		rc = ctl_usage_error(cmd, "'%s' is neither a schedule (config "
				     "or Redis) nor a cron expression", expr);
	}
	if (rc == CTL_EXIT_OK &&
	    drv_cron_parse(expr, &cron, err, sizeof(err)))
		rc = ctl_usage_error(cmd, "%s", err);
	if (rc == CTL_EXIT_OK && drv_tz_load(zone, &tz, err, sizeof(err)))
		rc = ctl_usage_error(cmd, "--tz: %s", err);
	if (rc == CTL_EXIT_OK && !(times = calloc((size_t)count,
						 sizeof(*times))))
		rc = ctl_fail("out of memory");
	if (rc == CTL_EXIT_OK)
		n = drv_fire_times(cron, tz, after, times, (size_t)count);
	if (rc == CTL_EXIT_OK && n == 0)
		rc = ctl_fail("'%s' never fires within %d years (nor before "
			      "the year 10000)", expr, DRV_CRON_SEARCH_YEARS);
	for (size_t i = 0; rc == CTL_EXIT_OK && i < n; i++) {
		if (json)
			ctl_print_json(drv_fire_time_obj(&times[i], tz));
		else
			printf("%s %s  (%s)\n", times[i].local, times[i].abbr,
			       times[i].utc);
	}
	if (rc == CTL_EXIT_OK && n < (size_t)count)
		fprintf(stderr, "droverctl: no further fire time within %d "
			"years (nor before the year 10000)\n",
			DRV_CRON_SEARCH_YEARS);
	free(times);
	drv_cron_free(cron);
	drv_tz_free(tz);
	free(own_cron);
	free(own_zone);
	return rc;
}

/* ------------------------------------------------------------------ */
/* list and show                                                       */
/* ------------------------------------------------------------------ */

static void time_or_dash(int64_t ms, char *buf, size_t size)
{
	if (ms <= 0)
		drv_strlcpy(buf, "-", size);
	else
		drv_format_time_s(ms / 1000, buf, size);
}

/* Every schedule or only \p only (\p limit 0), or the page of \p limit
 * after \p cursor with its next cursor in \p next, with what Redis knows
 * when it answers (the file's schedules alone, and a warning, when it does
 * not). */
static int collect(const ctl_cmd_t *cmd, const drv_config_t *cfg,
		   const char *only, const char *cursor, size_t limit,
		   drv_sched_row_t **out, size_t *cnt, char *next)
{
	redisContext *c = NULL;
	char err[512];
	drv_err_t rc;

	if (drv_redis_connect(cfg, &c, err, sizeof(err))) {
		fprintf(stderr, "droverctl: %s; showing the config file's "
			"schedules without statistics\n", err);
		redisFree(c);
		c = NULL;
	}
	rc = limit ? drv_sched_rows_page(cfg, c, cursor, limit, out, cnt,
					 next, DRV_SCHED_CURSOR_SIZE, err,
					 sizeof(err))
		   : drv_sched_rows(cfg, c, only, out, cnt, err, sizeof(err));
	redisFree(c);
	if (rc == DRV_ERR_INVALID)
		return ctl_usage_error(cmd, "%s", err);
	if (rc == DRV_ERR_NOMEM)
		return ctl_fail("out of memory");
	if (rc)
		fprintf(stderr, "droverctl: %s\n", err);
	return CTL_EXIT_OK;
}

static void print_row(const drv_sched_row_t *r)
{
	char next[32], last[32];

	time_or_dash(r->enabled ? r->st.next_ms : 0, next, sizeof(next));
	time_or_dash(r->st.last_run_ms, last, sizeof(last));
	printf("%-20s %-7s %-3s %-16s %-16s %-20s %-20s %-9s %5lld "
	       "%5lld %5lld %7lld %7lld\n", r->conf.name,
	       r->runtime ? "runtime" : "file",
	       r->enabled ? "yes" : "no", r->conf.cron,
	       r->conf.timezone ? r->conf.timezone : "UTC", next, last,
	       r->st.last_outcome[0] ? r->st.last_outcome : "-",
	       (long long)r->st.runs, (long long)r->st.successes,
	       (long long)r->st.failures, (long long)r->st.avg_ms,
	       (long long)r->st.p95_ms);
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	static const struct option opts[] = {
		{ "json",   no_argument,       NULL, 'j' },
		{ "limit",  required_argument, NULL, 'n' },
		{ "cursor", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	char next[DRV_SCHED_CURSOR_SIZE] = "";
	const char *cursor = NULL;
	drv_sched_row_t *rows = NULL;
	bool json = false, paged = false;
	int64_t limit = DRV_SCHED_PAGE_DEFAULT;
	size_t n = 0;
	int rc, o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			json = true;
			break;
		case 'n':
			if (drv_parse_int(optarg, 1, DRV_SCHED_PAGE_MAX, &limit))
				return ctl_usage_error(cmd, "--limit must be "
						       "1..%d", DRV_SCHED_PAGE_MAX);
			paged = true;
			break;
		case 'c':
			cursor = optarg;
			paged = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if ((rc = collect(cmd, cfg, NULL, cursor, paged ? (size_t)limit : 0,
			  &rows, &n, next)))
		return rc;
	if (json && paged) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, drv_sched_row_obj(&rows[i]));
		ctl_print_json(json_pack("{s:o, s:s?}", "schedules", arr,
					 "next_cursor",
					 next[0] ? next : NULL));
	} else if (json) {
		for (size_t i = 0; i < n; i++)
			ctl_print_json(drv_sched_row_obj(&rows[i]));
	} else {
		printf("%-20s %-7s %-3s %-16s %-16s %-20s %-20s %-9s %5s %5s "
		       "%5s %7s %7s\n", "ID", "SOURCE", "ON", "CRON", "TZ",
		       "NEXT", "LAST RUN", "OUTCOME", "RUNS", "OK", "FAIL",
		       "AVG_MS", "P95_MS");
		for (size_t i = 0; i < n; i++)
			print_row(&rows[i]);
		if (next[0])
			printf("more: droverctl schedule list --limit %lld "
			       "--cursor %s\n", (long long)limit, next);
	}
	drv_sched_rows_free(rows, n);
	return CTL_EXIT_OK;
}

static int run_show(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	bool json = false;
	const char *id = NULL;
	drv_sched_row_t *rows = NULL;
	size_t n = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!id && argv[i][0] != '-')
			id = argv[i];
		else
			return ctl_usage_error(cmd, "unexpected argument "
					       "'%s'", argv[i]);
	}
	if (!id)
		return ctl_usage_error(cmd, "missing ID");
	if ((rc = collect(cmd, cfg, id, NULL, 0, &rows, &n, NULL)))
		return rc;
	if (!n) {
		drv_sched_rows_free(rows, n);
		return ctl_fail("no schedule '%s' (not in %s nor in Redis)",
				id, cfg->path ? cfg->path : "the config");
	}
	if (json) {
		ctl_print_json(drv_sched_row_obj(&rows[0]));
	} else {
		json_t *o = drv_sched_row_obj(&rows[0]);
		char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("%s\n", text ? text : "");
		free(text);
		json_decref(o);
	}
	drv_sched_rows_free(rows, n);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_schedule_cmds[] = {
	{ "schedule", "next", "EXPR|ID [--tz ZONE] [--count N] [--after TIME] "
	  "[--json]",
	  "print the next fire times of a cron expression or schedule",
	  "EXPR is a cron expression (5 fields, or 6 with leading seconds, or\n"
	  "an @macro) and must be one argument: quote it. ID names a schedule\n"
	  "of the config file or a run-time one (Redis); its zone is used\n"
	  "unless --tz is given.\n\n"
	  "  --tz ZONE     IANA time zone the expression is in (default UTC)\n"
	  "  --count N     how many fire times, 1-1000 (default 5)\n"
	  "  --after TIME  start after this RFC 3339 time (default now)\n"
	  "  --json        one JSON object per line: local, abbr, zone, utc,\n"
	  "                unix_ms\n\n"
	  "Each line is the local time with its UTC offset and zone\n"
	  "abbreviation, then the UTC instant. DST: a time skipped by\n"
	  "spring-forward fires at the jump; a repeated time fires once, at\n"
	  "its first occurrence.\n"
	  "\nExample:\n  droverctl schedule next '30 2 * * *' --tz "
	  "America/New_York --count 3\n",
	  true, run_next },
	{ "schedule", "list", "[--limit N] [--cursor C] [--json]",
	  "list every schedule with its statistics",
	  "Schedules of the config file and run-time ones (Redis), with the\n"
	  "next fire, the last run and its outcome, runs, successes,\n"
	  "failures, average and p95 duration (ms) of the last 100 runs.\n"
	  "Without --limit or --cursor: every schedule, the file's first.\n"
	  "  --limit N    one page of N (1..500; default 50 with --cursor),\n"
	  "               by id, as GET /api/v1/schedules pages them\n"
	  "  --cursor C   the page after the one that printed C\n"
	  "  --json       one JSON object per schedule: id, source, enabled,\n"
	  "               definition, stats; with a page: {\"schedules\":\n"
	  "               [...], \"next_cursor\": ...} (none on the last)\n"
	  "\nExamples:\n  droverctl schedule list --json\n"
	  "  droverctl schedule list --limit 100\n", true, run_list },
	{ "schedule", "show", "ID [--json]",
	  "show one schedule: definition and statistics",
	  "  --json  one line of JSON (default: indented JSON)\n\nExample:\n"
	  "  droverctl schedule show nightly-report\n", true, run_show },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
