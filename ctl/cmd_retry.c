/*
 * cmd_retry.c — `droverctl retry analytics`: per handler, how many attempts
 * finished tasks took to succeed or to die, the share that succeeded
 * within n attempts, failed attempts by class and how late retries
 * started, summed over a time range of the workers' per-minute counters
 * in Redis. The same core call as GET /api/v1/retries/analytics.
 */
#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/redis.h"
#include "drover/retry_stats.h"

/* The integer \p key of object \p o. */
static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* One "  LABEL  KEY:N ..." row of the counts in object \p by that are not
 * 0 ("-" when all are). */
static void counts(const char *label, const json_t *by)
{
	bool any = false;
	const char *k;
	json_t *v;

	printf("  %-20s", label);
	json_object_foreach((json_t *)by, k, v)
		if (json_integer_value(v)) {
			printf(" %s:%lld", k, (long long)json_integer_value(v));
			any = true;
		}
	printf("%s\n", any ? "" : " -");
}

static void print_handler(const json_t *h)
{
	const json_t *within = json_object_get(h, "success_within"),
		     *ok = json_object_get(h, "succeeded_by_attempt"),
		     *dead = json_object_get(h, "dead_by_attempt"),
		     *late = json_object_get(h, "lateness_ms"),
		     *dur = json_object_get(h, "duration_ms");
	double share = -1;
	const char *k;
	json_t *v;

	printf("%s: %lld finished (%lld succeeded, %lld dead), %lld attempts, "
	       "%lld skipped, %lld cancelled\n",
	       json_string_value(json_object_get(h, "handler")),
	       num(h, "finished"), num(h, "succeeded"), num(h, "dead"),
	       num(h, "attempts"), num(h, "skipped"), num(h, "cancelled"));
	counts("succeeded on attempt", ok);
	counts("dead after attempts", dead);
	/* the share after each attempt number until it stops changing */
	printf("  %-20s", "success within");
	json_object_foreach((json_t *)within, k, v)
		if (json_real_value(v) != share) {
			share = json_real_value(v);
			printf(" %s:%.0f%%", k, 100.0 * share);
		}
	printf("\n");
	counts("failed attempts", json_object_get(h, "failures"));
	printf("  %-20s n=%lld mean=%lld p50<=%lld p95<=%lld\n",
	       "retry lateness ms", num(late, "count"), num(late, "mean"),
	       num(late, "p50"), num(late, "p95"));
	printf("  %-20s n=%lld mean=%lld p50<=%lld p95<=%lld\n",
	       "duration ms", num(dur, "count"), num(dur, "mean"),
	       num(dur, "p50"), num(dur, "p95"));
}

static int run_analytics(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
			 char **argv)
{
	static const struct option opts[] = {
		{ "handler", required_argument, NULL, 'H' },
		{ "since",   required_argument, NULL, 'S' },
		{ "until",   required_argument, NULL, 'U' },
		{ "json",    no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *handler = NULL;
	int64_t now = drv_now_ms(), since = 0, until = 0;
	redisContext *c = NULL;
	bool json = false;
	json_t *o = NULL, *h;
	char err[512];
	size_t i;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			handler = optarg;
			break;
		case 'S':
		case 'U':
			if ((rc = ctl_when_arg(cmd, opt == 'S' ? "--since" :
					       "--until", optarg, now, opt == 'S' ?
					       &since : &until)))
				return rc;
			break;
		case 'j':
			json = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (handler && !*handler)
		return ctl_usage_error(cmd, "--handler: empty");
	drv_retry_stats_range(&since, &until, now);
	if (since > until)
		return ctl_usage_error(cmd, "--since must be before --until");
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	if (drv_retry_analytics(cfg, c, handler, since, until, &o, err,
				sizeof(err))) {
		redisFree(c);
		return ctl_fail("%s", err);
	}
	redisFree(c);
	if (json) {
		ctl_print_json(o);
		return CTL_EXIT_OK;
	}
	json_array_foreach(json_object_get(o, "handlers"), i, h)
		print_handler(h);
	if (!json_array_size(json_object_get(o, "handlers")))
		printf("no handlers in the config; name one with --handler\n");
	json_decref(o);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_retry_cmds[] = {
	{ "retry", "analytics", "[--handler H] [--since T] [--until T] "
	  "[--json]",
	  "attempts to success or death, failures by class and retry "
	  "lateness per handler",
	  "  --handler H   only handler H (default: every handler in the "
	  "config)\n"
	  "  --since T     from T: RFC 3339 time or a duration ago (default: "
	  "24h before --until)\n"
	  "  --until T     to T (same forms; default: now); a range over 14 "
	  "days (what\n"
	  "                is kept) starts 14 days before T\n"
	  "  --json        one JSON object, as GET /api/v1/retries/analytics\n"
	  "Counts come from the workers (worker.retry_analytics), one bucket "
	  "per minute,\nkept 14 days. Percentiles are the upper bounds of "
	  "histogram buckets.\n"
	  "Example:\n"
	  "  droverctl retry analytics --handler billing --since 1h\n",
	  true, run_analytics },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
