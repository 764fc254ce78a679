/*
 * cmd_band.c — `droverctl band list|pause|resume`: pause a priority band
 * fleet-wide. The paused bands are a set in Redis
 * (<prefix>bands:paused); a message on <prefix>band makes every running
 * worker re-read it and pause (or resume) that band's partitions at once.
 * Every change is written to the audit topic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/kafka.h"
#include "drover/redis.h"
#include "drover/str.h"

/* --json and, when \p want_band, the BAND argument. */
static int parse(const ctl_cmd_t *cmd, int argc, char **argv, bool want_band,
		 bool *json, const char **band)
{
	int rc = ctl_parse_json_arg(cmd, argc, argv, want_band ? "a BAND is "
				    "needed (high, normal or low)" : NULL,
				    json, band);

	if (rc || !want_band)
		return rc;
	for (size_t i = 0; i < drv_band_cnt; i++)
		if (!strcmp(drv_bands[i].name, *band))
			return CTL_EXIT_OK;
	return ctl_usage_error(cmd, "no band '%s' (high, normal or low)",
			       *band);
}

/* Whether \p band is in the paused set; -1 on a Redis error. */
static int is_paused(redisContext *c, const drv_config_t *cfg,
		     const char *band)
{
	redisReply *r = redisCommand(c, "SISMEMBER %sbands:paused %s",
				     cfg->redis.key_prefix, band);
	int rc = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;

	freeReplyObject(r);
	return rc;
}

static int run_list(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		    char **argv)
{
	const char *band;
	redisContext *c = NULL;
	json_t *arr = NULL;
	char err[512];
	bool json;
	int rc;

	if ((rc = parse(cmd, argc, argv, false, &json, &band)))
		return rc;
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	if (json)
		arr = json_array();
	else
		printf("%-8s %-10s %s\n", "BAND", "PRIORITY", "STATE");
	for (size_t i = 0; i < drv_band_cnt; i++) {
		int p = is_paused(c, cfg, drv_bands[i].name);
		uint32_t lo, hi;
		char range[16];

		if (p < 0) {
			json_decref(arr);
			rc = ctl_fail("redis: %s", c->errstr[0] ? c->errstr :
				      "SISMEMBER failed");
			redisFree(c);
			return rc;
		}
		drv_band_range(cfg, i, &lo, &hi);
		drv_fmt(range, sizeof(range), "%u-%u", lo, hi);
		if (json)
			json_array_append_new(arr, json_pack(
				"{s:s, s:i, s:i, s:b}", "band",
				drv_bands[i].name, "min_priority", (int)lo,
				"max_priority", (int)hi, "paused", p));
		else
			printf("%-8s %-10s %s\n", drv_bands[i].name, range,
			       p ? "paused" : "serving");
	}
	redisFree(c);
	if (json)
		ctl_print_json(json_pack("{s:o}", "bands", arr));
	return CTL_EXIT_OK;
}

static int change(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		  char **argv, bool pause)
{
	const char *band;
	redisContext *c = NULL;
	redisReply *r;
	char err[512], action[32];
	bool json;
	int rc;

	if ((rc = parse(cmd, argc, argv, true, &json, &band)))
		return rc;
	if (drv_redis_connect(cfg, &c, err, sizeof(err)))
		return ctl_fail("%s", err);
	drv_fmt(action, sizeof(action), "band.%s", cmd->name);
	r = redisCommand(c, "%s %sbands:paused %s", pause ? "SADD" : "SREM",
			 cfg->redis.key_prefix, band);
	if (r && r->type == REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		r = redisCommand(c, "PUBLISH %sband %s", cfg->redis.key_prefix,
				 band);
	}
	if (!r || r->type == REDIS_REPLY_ERROR) {
		drv_fmt(err, sizeof(err), "redis: %s",
			r ? r->str : c->errstr);
		freeReplyObject(r);
		redisFree(c);
		ctl_audit(cfg, NULL, action, band, 0, NULL, err);
		return ctl_fail("%s", err);
	}
	freeReplyObject(r);
	redisFree(c);
	if ((rc = ctl_audit(cfg, NULL, action, band, 1, NULL, "ok")))
		return rc;
	if (json)
		ctl_print_json(json_pack("{s:s, s:b}", "band", band, "paused",
					 pause));
	else
		printf("band %s %s on every worker\n", band,
		       pause ? "paused" : "resumed");
	return CTL_EXIT_OK;
}

static int run_pause(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		     char **argv)
{
	return change(cmd, cfg, argc, argv, true);
}

static int run_resume(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		      char **argv)
{
	return change(cmd, cfg, argc, argv, false);
}

const ctl_cmd_t ctl_band_cmds[] = {
	{ "band", "list", "[--json]",
	  "list the priority bands and whether each is paused",
	  "  --json    print {\"bands\":[{band, min_priority, max_priority, "
	  "paused}]}\n\nExample:\n  droverctl band list\n",
	  true, run_list },
	{ "band", "pause", "BAND [--json]",
	  "stop every worker fetching a band's tasks (they stay in Kafka)",
	  "  --json    print {\"band\":...,\"paused\":true}\n\nRunning "
	  "workers pause the band's partitions at once; written to the\n"
	  "audit topic.\n\nExample:\n  droverctl band pause low\n",
	  true, run_pause },
	{ "band", "resume", "BAND [--json]",
	  "let every worker fetch a paused band's tasks again",
	  "  --json    print {\"band\":...,\"paused\":false}\n\nExample:\n"
	  "  droverctl band resume low\n",
	  true, run_resume },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
