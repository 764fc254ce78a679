/*
 * cmd_schedule_edit.c — `droverctl schedule add|update|delete|enable|
 * disable`: run-time schedules kept in Redis (drover/sched_store.h). Every
 * coordinator picks a change up within a second and keeps it across
 * restarts. A definition is checked exactly as a `schedules:` entry of the
 * config file is (drv_schedule_conf_from_json()); enable and disable work
 * on file schedules too (an override kept in Redis).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_sched.h"
#include "drover/redis.h"
#include "drover/sched_edit.h"
#include "drover/sched_store.h"
#include "drover/schedule.h"
#include "drover/str.h"

/* Option -> schedule key, for the options that take a value as is. */
static const struct { const char *opt, *key; } plain[] = {
	{ "cron", "cron" }, { "tz", "timezone" }, { "handler", "handler" },
	{ "priority", "priority" }, { "policy", "policy" },
	{ "max-attempts", "max_attempts" }, { "deadline", "deadline" },
	{ "jitter", "jitter" }, { "overlap", "overlap" },
	{ "catchup", "catchup" }, { "catchup-window", "catchup_window" },
	{ "start", "start" }, { "end", "end" },
};
#define PLAIN_CNT (sizeof(plain) / sizeof(plain[0]))

/* Apply the options to \p def. @returns CTL_EXIT_OK or a usage error. */
static int parse_opts(const ctl_cmd_t *cmd, int argc, char **argv,
		      json_t *def, bool *json_out)
{
	struct option opts[PLAIN_CNT + 6];
	size_t n = 0;
	int c, idx, rc = CTL_EXIT_OK;

	for (; n < PLAIN_CNT; n++)
		opts[n] = (struct option){ plain[n].opt, required_argument,
					   NULL, 1000 + (int)n };
	opts[n++] = (struct option){ "payload", required_argument, NULL, 'p' };
	opts[n++] = (struct option){ "label", required_argument, NULL, 'l' };
	opts[n++] = (struct option){ "disabled", no_argument, NULL, 'd' };
	opts[n++] = (struct option){ "enabled", no_argument, NULL, 'e' };
	opts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (c >= 1000) {
			json_object_set_new(def, plain[c - 1000].key,
					    json_string(optarg));
			continue;
		}
		switch (c) {
		case 'p': {
			char *text = NULL;
			size_t len;

			rc = ctl_json_arg(cmd, "--payload", optarg, &text,
					  &len);
			if (rc == CTL_EXIT_OK)
				json_object_set_new(def, "payload",
					json_loads(text, JSON_DECODE_ANY,
						   NULL));
			free(text);
			break;
		}
		case 'l': {
			json_t *labels = json_object_get(def, "labels");
			char *v = ctl_split_kv(cmd, "--label", optarg);

			if (!v) {
				rc = CTL_EXIT_USAGE;
				break;
			}
			if (!json_is_object(labels)) {
				labels = json_object();
				json_object_set_new(def, "labels", labels);
			}
			json_object_set_new(labels, optarg, json_string(v));
			break;
		}
		case 'd':
		case 'e':
			json_object_set_new(def, "enabled",
					    json_boolean(c == 'e'));
			break;
		case 'j':
			*json_out = true;
			break;
		default:
			rc = ctl_usage_error(cmd, "unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	return rc;
}

/* A failed edit: a bad definition is a usage error. */
static int edit_failed(const ctl_cmd_t *cmd, drv_err_t e, const char *err)
{
	return e == DRV_ERR_INVALID ? ctl_usage_error(cmd, "%s", err) :
	       ctl_fail("%s", err);
}

/* add and update: the options are the changes the core merges in. */
static int run_put(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		   char **argv)
{
	bool create = !strcmp(cmd->name, "add"), json_out = false;
	json_t *changes = json_object();
	redisContext *c = NULL;
	const char *id;
	char err[512], *text = NULL, *def = NULL;
	drv_err_t e;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		json_decref(changes);
		return ctl_usage_error(cmd, "missing ID");
	}
	id = argv[1];
	argv[1] = argv[0];   /* options after the ID */
	if ((rc = parse_opts(cmd, argc - 1, argv + 1, changes, &json_out)))
		goto out;
	text = json_dumps(changes, JSON_COMPACT);
	/* a new definition is checked before Redis is needed */
	if (create && (e = drv_sched_def_merge(cfg, id, NULL, text, &def, err,
					       sizeof(err)))) {
		rc = edit_failed(cmd, e, err);
		goto out;
	}
	free(def);
	def = NULL;
	if ((rc = ctl_sched_redis(cfg, &c)))
		goto out;
	if ((e = drv_sched_edit_put(c, cfg, id, create, text, &def, err,
				    sizeof(err)))) {
		rc = edit_failed(cmd, e, err);
		goto out;
	}
	if (json_out)
		printf("%s\n", def);
	else
		printf("schedule %s %s\n", id, create ? "added" : "updated");
	rc = CTL_EXIT_OK;
out:
	json_decref(changes);
	free(text);
	free(def);
	redisFree(c);
	return rc;
}

/* delete, enable and disable. */
static int run_simple(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		      char **argv)
{
	bool del = !strcmp(cmd->name, "delete");
	redisContext *c = NULL;
	const char *id;
	char err[512], *json = NULL;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error(cmd, argc < 2 ? "missing ID" :
				       "unexpected argument '%s'",
				       argc < 2 ? "" : argv[argc - 1]);
	id = argv[1];
	if ((rc = ctl_sched_redis(cfg, &c)))
		return rc;
	if (!del && !drv_config_schedule(cfg, id) &&
	    (rc = ctl_sched_runtime_json(c, cfg, id, false, &json))) {
		redisFree(c);
		return rc;
	}
	free(json);
	if (del)
		rc = drv_sched_edit_delete(c, cfg, id, err, sizeof(err));
	else
		rc = drv_sched_store_enable(c, cfg->redis.key_prefix, id,
					    !strcmp(cmd->name, "enable"), err,
					    sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s", err);
	printf("schedule %s %sd\n", id, del ? "delete" : cmd->name);
	return CTL_EXIT_OK;
}

#define DEF_OPTS \
	"  --cron EXPR            cron expression (5 fields, 6 with seconds, " \
	"@macro)\n" \
	"  --tz ZONE              IANA time zone (default UTC)\n" \
	"  --handler NAME         handler of the task\n" \
	"  --payload JSON|@FILE   payload of the task (default {})\n" \
	"  --priority N           1-10 (default 5)\n" \
	"  --policy NAME          retry policy\n" \
	"  --max-attempts N       attempts (0 = the policy's)\n" \
	"  --deadline DURATION    the task must start within this\n" \
	"  --label K=V            label of the task (repeatable)\n" \
	"  --jitter DURATION      publish up to this long after the time\n" \
	"  --overlap MODE         allow | skip | buffer_one\n" \
	"  --catchup MODE         skip | once | all (after downtime)\n" \
	"  --catchup-window DUR   how far back catch-up goes (default 1h)\n" \
	"  --start TIME, --end TIME   RFC 3339 bounds\n" \
	"  --disabled, --enabled  start disabled / enabled\n" \
	"  --json                 print the stored definition\n"

const ctl_cmd_t ctl_schedule_edit_cmds[] = {
	{ "schedule", "add", "ID --cron EXPR --handler NAME [options]",
	  "add a run-time schedule (kept in Redis)",
	  DEF_OPTS "\nExample:\n  droverctl schedule add backup --cron '0 3 "
	  "* * *' --tz Europe/Paris \\\n      --handler backup --payload "
	  "'{\"full\":true}' --catchup once\n", true, run_put },
	{ "schedule", "update", "ID [options]",
	  "change a run-time schedule (options as for add)",
	  DEF_OPTS "\nOnly the options given change.\nExample:\n  droverctl "
	  "schedule update backup --cron '0 4 * * *'\n", true, run_put },
	{ "schedule", "delete", "ID", "delete a run-time schedule",
	  "Example:\n  droverctl schedule delete backup\n", true, run_simple },
	{ "schedule", "enable", "ID",
	  "enable a schedule (file or run-time) until disabled",
	  "Kept in Redis; overrides the file's enabled flag.\nExample:\n"
	  "  droverctl schedule enable nightly-report\n", true, run_simple },
	{ "schedule", "disable", "ID",
	  "stop a schedule from firing (file or run-time)",
	  "Kept in Redis; overrides the file's enabled flag.\nExample:\n"
	  "  droverctl schedule disable nightly-report\n", true, run_simple },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
