/*
 * cmd_schedule.c — `droverctl schedule next EXPR`: show when a cron
 * expression will fire in a time zone, the same computation the coordinator
 * makes (drover/cron.h), so a schedule and its DST behaviour can be checked
 * before it is deployed. Only literal expressions for now; looking schedules
 * up by ID (config, Redis) comes with the scheduler.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/cron.h"
#include "drover/str.h"
#include "drover/tz.h"

#define COUNT_MAX 1000

static void format_local(const drv_civil_t *c, char *buf, size_t size)
{
	int32_t off = c->utoff < 0 ? -c->utoff : c->utoff;

	drv_fmt(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		c->year, c->month, c->day, c->hour, c->minute, c->second,
		c->utoff < 0 ? '-' : '+', off / 3600, off / 60 % 60);
}

static void format_utc(int64_t s, char *buf, size_t size)
{
	drv_civil_t c;

	drv_seconds_to_civil(s, &c);
	drv_fmt(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month,
		c.day, c.hour, c.minute, c.second);
}

static int run_next(const ctl_cmd_t *cmd, drv_config_t *unused,
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
	int64_t count = 5, after = drv_now_ms(), next;
	drv_cron_t *cron = NULL;
	drv_tz_t *tz = NULL;
	bool json = false;
	char err[512];
	int c, n, rc = CTL_EXIT_OK;

	(void)unused;
	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'z':
			zone = optarg;
			break;
		case 'n':
			if (drv_parse_int(optarg, 1, COUNT_MAX, &count))
				rc = ctl_usage_error(cmd, "--count: '%s' is not "
						     "a number from 1 to %d",
						     optarg, COUNT_MAX);
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
	if (rc == CTL_EXIT_OK &&
	    drv_cron_parse(argv[optind], &cron, err, sizeof(err)))
		rc = ctl_usage_error(cmd, "%s", err);
	if (rc == CTL_EXIT_OK && drv_tz_load(zone, &tz, err, sizeof(err)))
		rc = ctl_usage_error(cmd, "--tz: %s", err);
	for (n = 0; rc == CTL_EXIT_OK && n < count; n++) {
		char local[40], utc[32];
		drv_civil_t lc;

		if (drv_cron_next(cron, tz, after, &next)) {
			if (n == 0)
				rc = ctl_fail("'%s' never fires within %d "
					      "years", argv[optind],
					      DRV_CRON_SEARCH_YEARS);
			else
				fprintf(stderr, "droverctl: no further fire "
					"time within %d years\n",
					DRV_CRON_SEARCH_YEARS);
			break;
		}
		drv_tz_to_civil(tz, next / 1000, &lc);
		format_local(&lc, local, sizeof(local));
		format_utc(next / 1000, utc, sizeof(utc));
		if (json)
			ctl_print_json(json_pack("{s:s, s:s, s:s, s:s, s:I}",
				"local", local, "abbr", lc.abbr,
				"zone", drv_tz_name(tz), "utc", utc,
				"unix_ms", (json_int_t)next));
		else
			printf("%s %s  (%s)\n", local, lc.abbr, utc);
		after = next;
	}
	drv_cron_free(cron);
	drv_tz_free(tz);
	return rc;
}

const ctl_cmd_t ctl_schedule_cmds[] = {
	{ "schedule", "next", "EXPR [--tz ZONE] [--count N] [--after TIME] "
	  "[--json]",
	  "print the next fire times of a cron expression",
	  "EXPR is a cron expression (5 fields, or 6 with leading seconds, or\n"
	  "an @macro) and must be one argument: quote it. Schedule IDs from\n"
	  "the config or Redis are not accepted yet.\n\n"
	  "  --tz ZONE     IANA time zone the expression is in (default UTC)\n"
	  "  --count N     how many fire times, 1-1000 (default 5)\n"
	  "  --after TIME  start after this RFC 3339 time (default now)\n"
	  "  --json        one JSON object per line: local, abbr, zone, utc,\n"
	  "                unix_ms\n\n"
	  "Each line is the local time with its UTC offset and zone\n"
	  "abbreviation, then the UTC instant. DST: a time skipped by\n"
	  "spring-forward fires at the jump; a repeated time fires once, at\n"
	  "its first occurrence.\n",
	  false, run_next },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
