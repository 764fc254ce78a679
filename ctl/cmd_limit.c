/*
 * cmd_limit.c — `droverctl limit list`: the fleet-wide execution limits of
 * the config (`limits:`, docs/limits.md) with their settings and, for a
 * limit without a key, its state in Redis. The same core call as
 * GET /api/v1/limits.
 */
#include <stdio.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/limit.h"
#include "drover/redis.h"

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
	printf("%-24s %-16s %-20s %8s %8s %6s %6s %8s\n", "NAME", "HANDLER",
	       "KEY", "RATE", "PER_MS", "BURST", "CONC", "RUNNING");
	json_array_foreach(json_object_get(o, "limits"), i, l) {
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
	json_decref(o);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_limit_cmds[] = {
	{ "limit", "list", "[--json]",
	  "list the fleet-wide execution limits with their settings and state",
	  "  --json    print {\"limits\":[{name, handler, key, rate, per_ms, "
	  "burst, concurrency, running?, next_start_ms?}]}\n\nExample:\n"
	  "  droverctl limit list\n",
	  true, run_list },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
