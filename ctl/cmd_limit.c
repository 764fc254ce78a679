/*
 * cmd_limit.c — `droverctl limit list|show|set|reset`: the fleet-wide
 * execution limits of the config (`limits:`, docs/limits.md) with their
 * settings in force and, for a limit without a key, its state in Redis;
 * changing a limit for the whole fleet at run time, and going back to the
 * config's settings. The same core calls as /api/v1/limits.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/limit.h"
#include "drover/redis.h"
#include "drover/str.h"

/* One text cell: the integer field \p key of \p o, or "-" (0 or absent
 * when \p zero_dash). */
static void cell(const json_t *o, const char *key, bool zero_dash,
		 const char *fmt)
{
	const json_t *v = json_object_get(o, key);
	char buf[32] = "-";

	if (v && !(zero_dash && !json_integer_value(v)))
		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(v));
	printf(fmt, buf);
}

static void print_header(void)
{
	printf("%-24s %-16s %-20s %8s %8s %6s %6s %8s\n", "NAME", "HANDLER",
	       "KEY", "RATE", "PER_MS", "BURST", "CONC", "RUNNING");
}

static void print_row(const json_t *l)
{
	const char *key = json_string_value(json_object_get(l, "key"));

	printf("%-24s %-16s %-20s ",
	       json_string_value(json_object_get(l, "name")),
	       json_string_value(json_object_get(l, "handler")),
	       key ? key : "-");
	cell(l, "rate", true, "%8s ");
	cell(l, "per_ms", false, "%8s ");
	cell(l, "burst", false, "%6s ");
	cell(l, "concurrency", true, "%6s ");
	cell(l, "running", false, "%8s\n");
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	redisContext *c = NULL;
	const char *none;
	char err[512];
	json_t *o = NULL, *l;
	size_t i;
	bool json;
	int rc;

	if ((rc = ctl_parse_json_arg(cmd, argc, argv, NULL, &json, &none)))
		return rc;
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	rc = drv_limit_list(c, cfg, &o, err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	if (json) {
		ctl_print_json(o);
		return CTL_EXIT_OK;
	}
	print_header();
	json_array_foreach(json_object_get(o, "limits"), i, l)
		print_row(l);
	json_decref(o);
	return CTL_EXIT_OK;
}

/* Print limit \p name as it is now, from \p c, which it closes. */
static int print_limit(redisContext *c, drv_config_t *cfg, const char *name,
		       bool json)
{
	json_t *o = NULL, *conf;
	char err[512];
	int rc = drv_limit_show(c, cfg, name, &o, err, sizeof(err));

	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	if (json) {
		ctl_print_json(o);
		return CTL_EXIT_OK;
	}
	print_header();
	print_row(o);
	if ((conf = json_object_get(o, "config"))) {
		ctl_time_field(0, "changed at run time", json_integer_value(
			       json_object_get(o, "changed_ms")));
		printf("  the config's: rate %lld per_ms %lld burst %lld "
		       "concurrency %lld (droverctl limit reset %s)\n",
		       (long long)json_integer_value(json_object_get(conf,
								     "rate")),
		       (long long)json_integer_value(json_object_get(conf,
								     "per_ms")),
		       (long long)json_integer_value(json_object_get(conf,
								     "burst")),
		       (long long)json_integer_value(json_object_get(
			       conf, "concurrency")), name);
	}
	json_decref(o);
	return CTL_EXIT_OK;
}

/* A limit NAME of the config, or the usage error. */
static int name_ok(const ctl_cmd_t *cmd, const drv_config_t *cfg,
		   const char *name)
{
	if (!drv_config_limit(cfg, name))
		return ctl_usage_error(cmd, "no limit '%s' in the config",
				       name);
	return CTL_EXIT_OK;
}

/* NAME [--json], a limit of the config, and a Redis connection to it. */
static int named(const ctl_cmd_t *cmd, const drv_config_t *cfg, int argc,
		 char **argv, const char **name, bool *json, redisContext **c)
{
	char err[512];
	int rc;

	if ((rc = ctl_parse_json_arg(cmd, argc, argv, "a limit NAME is needed",
				     json, name)) ||
	    (rc = name_ok(cmd, cfg, *name)))
		return rc;
	if (drv_redis_connect(cfg, c, err, sizeof(err)))
		return ctl_fail("%s", err);
	return CTL_EXIT_OK;
}

static int run_show(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	redisContext *c = NULL;
	const char *name;
	bool json;
	int rc;

	if ((rc = named(cmd, cfg, argc, argv, &name, &json, &c)))
		return rc;
	return print_limit(c, cfg, name, json);
}

static int run_set(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		   char **argv)
{
	static const struct option opts[] = {
		{ "rate",        required_argument, NULL, 'r' },
		{ "per",         required_argument, NULL, 'p' },
		{ "burst",       required_argument, NULL, 'b' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "json",        no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	drv_limit_change_t ch = { -1, -1, -1, -1 };
	redisContext *c = NULL;
	const char *name;
	char err[512], details[160] = "";
	bool json = false;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t *to = opt == 'r' ? &ch.rate : opt == 'b' ? &ch.burst :
			      &ch.concurrency;

		switch (opt) {
		case 'j': json = true; break;
		case 'p':
			if (drv_parse_duration(optarg, &ch.per_ms))
				return ctl_usage_error(cmd, "--per takes a "
					"duration (1s, 1m), got '%s'", optarg);
			break;
		case 'r': case 'b': case 'c':
			if (drv_parse_int(optarg, 0, INT32_MAX, to))
				return ctl_usage_error(cmd, "--%s takes a "
					"whole number, got '%s'",
					argv[optind - 1] + 2, optarg);
			break;
		default:
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return ctl_usage_error(cmd, optind < argc ? "one limit NAME, "
				       "not more" : "a limit NAME is needed");
	name = argv[optind];
	if ((rc = name_ok(cmd, cfg, name)))
		return rc;
	if (ch.rate < 0 && ch.per_ms < 0 && ch.burst < 0 && ch.concurrency < 0)
		return ctl_usage_error(cmd, "nothing to change: give --rate, "
				       "--per, --burst or --concurrency");
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	if ((rc = drv_limit_change(c, cfg, name, &ch, err, sizeof(err)))) {
		redisFree(c);
		if (rc == DRV_ERR_RANGE || rc == DRV_ERR_INVALID)
			return ctl_usage_error(cmd, "%s", err);
		ctl_audit(cfg, NULL, "limit.change", name, 0, NULL, err);
		return ctl_fail("%s", err);
	}
	/* the audit's details: what was given */
	for (size_t i = 0; i < 4; i++) {
		static const char *const key[] = { "rate", "per_ms", "burst",
						   "concurrency" };
		const int64_t v[] = { ch.rate, ch.per_ms, ch.burst,
				      ch.concurrency };

		if (v[i] >= 0)
			drv_fmt(details + strlen(details),
				sizeof(details) - strlen(details), "%s\"%s\":"
				"%lld", *details ? "," : "{", key[i],
				(long long)v[i]);
	}
	strcat(details, "}");
	if ((rc = ctl_audit(cfg, NULL, "limit.change", name, 1, details,
			    "ok"))) {
		redisFree(c);
		return rc;
	}
	return print_limit(c, cfg, name, json);
}

static int run_reset(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		     char **argv)
{
	redisContext *c = NULL;
	const char *name;
	char err[512];
	bool json;
	int rc;

	if ((rc = named(cmd, cfg, argc, argv, &name, &json, &c)))
		return rc;
	if (drv_limit_reset(c, cfg, name, err, sizeof(err))) {
		redisFree(c);
		ctl_audit(cfg, NULL, "limit.reset", name, 0, NULL, err);
		return ctl_fail("%s", err);
	}
	if ((rc = ctl_audit(cfg, NULL, "limit.reset", name, 1, NULL, "ok"))) {
		redisFree(c);
		return rc;
	}
	return print_limit(c, cfg, name, json);
}

const ctl_cmd_t ctl_limit_cmds[] = {
	{ "limit", "list", "[--json]",
	  "list the fleet-wide execution limits with their settings and state",
	  "  --json    print {\"limits\":[{name, handler, key, rate, per_ms, "
	  "burst, concurrency, running?, next_start_ms?}]}\n\nExample:\n"
	  "  droverctl limit list\n",
	  true, run_list },
	{ "limit", "show", "NAME [--json]",
	  "show one limit: its settings in force (and the config's, when "
	  "changed at run time) and its state",
	  "  --json    print the limit as GET /api/v1/limits/NAME does\n\n"
	  "Example:\n  droverctl limit show billing-api\n",
	  true, run_show },
	{ "limit", "set",
	  "NAME [--rate N] [--per DURATION] [--burst N] [--concurrency N] "
	  "[--json]",
	  "change a limit for the whole fleet at run time (kept in Redis)",
	  "  --rate N          tasks started per --per; 0 = no rate\n"
	  "  --per DURATION    the rate's period (1s, 1m)\n"
	  "  --burst N         tasks that may start back to back\n"
	  "  --concurrency N   tasks running at once; 0 = no cap\n"
	  "  --json            print the limit as it is now\n\n"
	  "Every worker's next admission uses the new settings; the config "
	  "file's\nbounds hold, and the limit keeps a rate or a concurrency. "
	  "`droverctl limit\nreset NAME` goes back to the config's. Audited "
	  "as limit.change.\n\nExample:\n"
	  "  droverctl limit set billing-api --rate 20 --burst 5\n",
	  true, run_set },
	{ "limit", "reset", "NAME [--json]",
	  "drop a limit's run-time change: the config's settings hold again",
	  "  --json    print the limit as it is now\n\n"
	  "Audited as limit.reset.\n\nExample:\n"
	  "  droverctl limit reset billing-api\n",
	  true, run_reset },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
