/*
 * cmd_breaker.c — `droverctl breaker
 * list|show|history|open|close|disable|reset`: read the circuit breakers
 * shared in Redis and their transition logs, and change them by hand. A
 * change goes through the same Lua script as the workers' transitions, is
 * published (running workers apply it within milliseconds), told as a
 * breaker.* event and written to the audit topic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/breaker.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"

/* --json and at most one positional NAME (\p want_name: required). */
static int parse(const ctl_cmd_t *cmd, int argc, char **argv, bool want_name,
		 bool *json, const char **name)
{
	int rc = ctl_parse_json_arg(cmd, argc, argv, want_name ? "a breaker "
				    "NAME is needed" : NULL, json, name);

	if (!rc && want_name && !drv_breaker_name_valid(*name))
		return ctl_usage_error(cmd, "'%s' is not a breaker name (1 to "
				       "64 of a-z A-Z 0-9 _ . - :)", *name);
	return rc;
}

static void print_row(const drv_breaker_view_t *v)
{
	char until[32] = "-";

	if (v->state == DRV_BREAKER_OPEN && v->open_until_ms > drv_now_ms())
		drv_fmt(until, sizeof(until), "in %lld ms",
			(long long)(v->open_until_ms - drv_now_ms()));
	printf("%-32s %-14s %8u %8u %8u  %s\n", v->name,
	       drv_breaker_state_name(v->state), v->calls, v->failures,
	       v->slow, until);
}

static int connect_redis(const drv_config_t *cfg, redisContext **c)
{
	char err[512];

	if (drv_redis_connect(cfg, c, err, sizeof(err)))
		return ctl_fail("%s", err);
	return CTL_EXIT_OK;
}

static int read_one(redisContext *c, const drv_config_t *cfg,
		    const char *name, drv_breaker_view_t *v)
{
	const drv_breaker_conf_t *bc = drv_config_breaker(cfg, name);
	char err[512];

	if (drv_breaker_redis_read(c, cfg, name, bc->window_ms, v, err,
				   sizeof(err)))
		return ctl_fail("%s", err);
	return CTL_EXIT_OK;
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	const char *name;
	redisContext *c = NULL;
	char **names = NULL, err[512];
	size_t cnt = 0;
	json_t *arr = NULL;
	bool json;
	int rc;

	if ((rc = parse(cmd, argc, argv, false, &json, &name)) ||
	    (rc = connect_redis(cfg, &c)))
		return rc;
	if (drv_breaker_redis_list(c, cfg, &names, &cnt, err, sizeof(err))) {
		redisFree(c);
		return ctl_fail("%s", err);
	}
	if (json)
		arr = json_array();
	else
		printf("%-32s %-14s %8s %8s %8s  %s\n", "NAME", "STATE",
		       "CALLS", "FAILED", "SLOW", "OPEN");
	for (size_t i = 0; i < cnt && !rc; i++) {
		drv_breaker_view_t v;

		if ((rc = read_one(c, cfg, names[i], &v)))
			break;
		if (json)
			json_array_append_new(arr,
					      drv_breaker_view_json(cfg, &v));
		else
			print_row(&v);
	}
	if (json && !rc)
		ctl_print_json(json_pack("{s:o}", "breakers", arr));
	else
		json_decref(arr);
	drv_breaker_names_free(names, cnt);
	redisFree(c);
	return rc;
}

static int run_show(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	const drv_breaker_conf_t *bc;
	drv_breaker_view_t v;
	const char *name;
	redisContext *c = NULL;
	bool json;
	int rc;

	if ((rc = parse(cmd, argc, argv, true, &json, &name)) ||
	    (rc = connect_redis(cfg, &c)))
		return rc;
	rc = read_one(c, cfg, name, &v);
	redisFree(c);
	if (rc)
		return rc;
	bc = drv_config_breaker(cfg, name);
	if (json) {
		ctl_print_json(drv_breaker_view_json(cfg, &v));
		return CTL_EXIT_OK;
	}
	printf("%-32s %-14s %8s %8s %8s  %s\n", "NAME", "STATE", "CALLS",
	       "FAILED", "SLOW", "OPEN");
	print_row(&v);
	printf("settings: %s (window %llds, min_calls %u, failure_rate %g%%, "
	       "slow_call %lldms at %g%%, wait_in_open %lldms, probes %u of "
	       "which %u must succeed)\n",
	       strcmp(bc->name, name) ? "default" : bc->name,
	       (long long)(bc->window_ms / 1000), bc->min_calls,
	       bc->failure_rate, (long long)bc->slow_call_ms,
	       bc->slow_call_rate, (long long)bc->wait_in_open_ms,
	       bc->half_open_calls, bc->half_open_successes);
	if (v.state == DRV_BREAKER_HALF_OPEN)
		printf("probes: %u leased, %u ok, %u failed\n", v.leased,
		       v.probe_ok, v.probe_failed);
	return CTL_EXIT_OK;
}

static int run_history(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		       char **argv)
{
	drv_breaker_transition_t *t;
	const char *name;
	redisContext *c = NULL;
	char err[512], when[40];
	int64_t next;
	size_t cnt;
	json_t *arr;
	bool json;
	int rc;

	if ((rc = parse(cmd, argc, argv, true, &json, &name)) ||
	    (rc = connect_redis(cfg, &c)))
		return rc;
	if (!(t = calloc(DRV_BREAKER_LOG_MAX, sizeof(*t)))) {
		redisFree(c);
		return ctl_fail("out of memory");
	}
	if (drv_breaker_redis_transitions(c, cfg, name, 0, DRV_BREAKER_LOG_MAX,
					  t, &cnt, &next, err, sizeof(err))) {
		redisFree(c);
		free(t);
		return ctl_fail("%s", err);
	}
	redisFree(c);
	if (json) {
		arr = json_array();
		for (size_t i = 0; i < cnt; i++)
			json_array_append_new(arr,
					      drv_breaker_transition_json(&t[i]));
		ctl_print_json(json_pack("{s:s, s:o}", "name", name,
					 "transitions", arr));
	} else {
		printf("%-24s %-13s %-13s %s\n", "TIME", "FROM", "TO", "WHY");
		for (size_t i = 0; i < cnt; i++) {
			drv_format_time(t[i].at_ms, when, sizeof(when));
			printf("%-24s %-13s %-13s %s\n", when,
			       drv_breaker_state_name(t[i].from),
			       drv_breaker_state_name(t[i].to), t[i].why);
		}
		if (!cnt)
			printf("(no transition logged for %s)\n", name);
	}
	free(t);
	return CTL_EXIT_OK;
}

static int change(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		  char **argv, drv_breaker_state_t state)
{
	drv_breaker_view_t v;
	const char *name;
	redisContext *c = NULL;
	rd_kafka_t *rk;
	char err[512], action[32], details[256], by[160], topic[256];
	bool json;
	int rc;

	if ((rc = parse(cmd, argc, argv, true, &json, &name)) ||
	    (rc = connect_redis(cfg, &c)))
		return rc;
	drv_fmt(action, sizeof(action), "breaker.%s", cmd->name);
	drv_fmt(by, sizeof(by), "droverctl:%s", ctl_actor_name());
	if (drv_breaker_redis_set(c, cfg, name, state, by, &v, err,
				  sizeof(err))) {
		redisFree(c);
		ctl_audit(cfg, NULL, action, name, 0, NULL, err);
		return ctl_fail("%s", err);
	}
	redisFree(c);
	drv_topic_name(cfg, DRV_TOPIC_EVENTS, NULL, 0, topic, sizeof(topic));
	if (!(rk = ctl_producer_new(cfg, topic, 0, err, sizeof(err))))
		return ctl_fail("the breaker is %s, but Kafka: %s",
				drv_breaker_state_name(v.state), err);
	if (drv_breaker_tell(rk, cfg, &v, cmd->name, "droverctl", err,
			     sizeof(err)))
		fprintf(stderr, "droverctl: warning: breaker event not "
			"written: %s\n", err);
	drv_fmt(details, sizeof(details), "{\"state\":\"%s\"}",
		drv_breaker_state_name(v.state));
	rc = ctl_audit(cfg, rk, action, name, 1, details, "ok");
	rd_kafka_destroy(rk);
	if (rc)
		return rc;
	if (json)
		ctl_print_json(drv_breaker_view_json(cfg, &v));
	else
		printf("breaker %s is %s\n", name,
		       drv_breaker_state_name(v.state));
	return CTL_EXIT_OK;
}

static int run_open(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	return change(cmd, cfg, argc, argv, DRV_BREAKER_FORCED_OPEN);
}

static int run_close(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		     char **argv)
{
	return change(cmd, cfg, argc, argv, DRV_BREAKER_FORCED_CLOSED);
}

static int run_disable(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		       char **argv)
{
	return change(cmd, cfg, argc, argv, DRV_BREAKER_DISABLED);
}

static int run_metrics_only(const ctl_cmd_t *cmd, drv_config_t *cfg,
			    int argc, char **argv)
{
	return change(cmd, cfg, argc, argv, DRV_BREAKER_METRICS_ONLY);
}

static int run_reset(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		     char **argv)
{
	return change(cmd, cfg, argc, argv, DRV_BREAKER_CLOSED);
}

#define CHANGE_HELP(what) \
	"  --json    print the breaker's state after the change as JSON\n\n" \
	what "\nThe change reaches running workers at once (Redis pub/sub) " \
	"and is written\nto the audit topic.\n\nExample:\n"

const ctl_cmd_t ctl_breaker_cmds[] = {
	{ "breaker", "list", "[--json]",
	  "list the circuit breakers shared in Redis with their state",
	  "  --json    print {\"breakers\":[{name, state, calls, failures, "
	  "..., policy}]}\n\nExample:\n  droverctl breaker list\n",
	  true, run_list },
	{ "breaker", "show", "NAME [--json]",
	  "show one breaker: state, window counts, probes and settings",
	  "  --json    print the breaker as one JSON object, its settings "
	  "as \"policy\"\n\nExample:\n"
	  "  droverctl breaker show payments --json\n",
	  true, run_show },
	{ "breaker", "history", "NAME [--json]",
	  "show a breaker's transitions, newest first",
	  "  --json    print {\"name\", \"transitions\":[{at_ms, from, to, "
	  "gen, why}]}\n\nEvery transition any worker or operator made, "
	  "logged in Redis by the\nscript that made it: the last 200, kept 30 "
	  "days after the last one.\nWHY is the failure or slow-call rate "
	  "that opened it, the probes that\nclosed or reopened it, \"wait in "
	  "open over\", or who forced it.\n\nExample:\n"
	  "  droverctl breaker history payments\n",
	  true, run_history },
	{ "breaker", "open", "NAME [--json]",
	  "force a breaker open: its tasks wait, no calls go out",
	  CHANGE_HELP("Stays FORCED_OPEN until `breaker reset` or `breaker "
		      "close`.")
	  "  droverctl --as alice breaker open payments\n",
	  true, run_open },
	{ "breaker", "close", "NAME [--json]",
	  "force a breaker closed: calls go out whatever their outcome",
	  CHANGE_HELP("Stays FORCED_CLOSED until `breaker reset`.")
	  "  droverctl breaker close payments\n",
	  true, run_close },
	{ "breaker", "disable", "NAME [--json]",
	  "disable a breaker: not consulted, nothing counted",
	  CHANGE_HELP("Stays DISABLED until `breaker reset`.")
	  "  droverctl breaker disable payments\n",
	  true, run_disable },
	{ "breaker", "metrics-only", "NAME [--json]",
	  "count and report a breaker's calls but never reject any",
	  CHANGE_HELP("Stays METRICS_ONLY until `breaker reset`.")
	  "  droverctl breaker metrics-only payments\n",
	  true, run_metrics_only },
	{ "breaker", "reset", "NAME [--json]",
	  "reset a breaker: CLOSED with an empty window, rules apply again",
	  CHANGE_HELP("Leaves any forced state.")
	  "  droverctl breaker reset payments\n",
	  true, run_reset },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
