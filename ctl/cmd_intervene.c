/*
 * cmd_intervene.c — task intervention: `droverctl task pause|resume|skip|
 * cancel ID` and `droverctl pause|resume --handler NAME`. Each writes the
 * intervention to Redis and announces it (drover/intervene.h); workers act
 * on their cached copy within a second. Every action is audited.
 * (`task retry` is a resubmission: cmd_dlq_resubmit.c.)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/intervene.h"
#include "drover/redis.h"
#include "drover/str.h"
#include "drover/task.h"

typedef enum verb { V_PAUSE, V_RESUME, V_SKIP, V_CANCEL } verb_t;

static const char *const verb_names[] = { "pause", "resume", "skip",
					  "cancel" };

static const drv_iv_action_t verb_actions[] = {
	DRV_IV_PAUSE, DRV_IV_NONE, DRV_IV_SKIP, DRV_IV_CANCEL
};

static int act(const drv_config_t *cfg, const char *field, const char *what,
	       verb_t v, const char *reason, const char *audit_action)
{
	const char *name = field + (field[0] == 't' ? 5 : 8);
	redisContext *c = NULL;
	bool no_state = false;
	char err[512];
	drv_err_t rc;
	int out;

	if ((rc = drv_redis_connect(cfg, &c, err, sizeof(err))))
		return ctl_fail("%s %s: %s (nothing changed)", what,
				verb_names[v], err);
	rc = drv_iv_request(c, cfg, field, verb_actions[v], reason,
			    ctl_actor_name(), &no_state, err, sizeof(err));
	redisFree(c);
	if (rc)
		return ctl_fail("%s %s: %s", what, verb_names[v], err);
	/* no state: queued, delayed, an attempt that started less than a
	 * state flush ago (workers record `running` as an attempt starts), or
	 * an id no worker has seen. The intervention holds for it wherever it
	 * is: a worker running it acts within a second. */
	if (no_state)
		fprintf(stderr, "droverctl: note: task %s has no state in Redis "
			"(not reached by a worker, just started, or an unknown "
			"id); the %s holds for it wherever it is\n", name,
			verb_names[v]);
	{
		json_t *o = json_pack("{s:s, s:s?}", "field", field, "reason",
				      reason);
		char *details = o ? json_dumps(o, JSON_COMPACT) : NULL;

		json_decref(o);
		out = ctl_audit(cfg, NULL, audit_action, name, 1, details,
				"ok");
		free(details);
	}
	return out;
}

static int run_task_verb(const ctl_cmd_t *cmd, drv_config_t *cfg,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL, *id;
	char field[64], action[32];
	verb_t v;
	int c, rc;

	for (v = V_PAUSE; strcmp(verb_names[v], cmd->name); v++)
		;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || v != V_SKIP)
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		reason = optarg;
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing task ID");
	if (optind + 1 < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind + 1]);
	id = argv[optind];
	if (!drv_id_valid(id))
		return ctl_usage_error(cmd, "'%s' is not a task id (26 "
				       "characters of Crockford base32)", id);
	if (v == V_SKIP && (!reason || !*reason))
		return ctl_usage_error(cmd, "--reason is required");
	drv_fmt(field, sizeof(field), "task:%s", id);
	drv_fmt(action, sizeof(action), "task.%s", cmd->name);
	if ((rc = act(cfg, field, "task", v, reason, action)))
		return rc;
	switch (v) {
	case V_PAUSE:
		printf("task %s: paused (parked when a worker reaches it; a "
		       "running exec task is stopped)\n", id);
		break;
	case V_RESUME:
		printf("task %s: resumed\n", id);
		break;
	case V_SKIP:
		printf("task %s: skipped (never run; dead-lettered with reason "
		       "skipped)\n", id);
		break;
	case V_CANCEL:
		printf("task %s: cancelled (killed if running, else never "
		       "run)\n", id);
		break;
	}
	return CTL_EXIT_OK;
}

static int run_handler_verb(const ctl_cmd_t *cmd, drv_config_t *cfg,
			    int argc, char **argv)
{
	bool pause = !strcmp(cmd->group, "pause");
	char field[300];
	int rc;

	/* argv[0] is "--handler" (the command's name), argv[1] the NAME */
	if (argc < 2 || !*argv[1] || argv[1][0] == '-')
		return ctl_usage_error(cmd, "--handler wants a handler name");
	if (argc > 2)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[2]);
	if (cfg->handler_cnt > 0 && !drv_config_handler(cfg, argv[1]))
		return ctl_usage_error(cmd, "no handler '%s' in %s", argv[1],
				       cfg->path ? cfg->path : "the config");
	if (!drv_fmt(field, sizeof(field), "handler:%s", argv[1]))
		return ctl_usage_error(cmd, "handler name too long");
	if ((rc = act(cfg, field, "handler", pause ? V_PAUSE : V_RESUME,
		      NULL, pause ? "handler.pause" : "handler.resume")))
		return rc;
	printf("handler %s: %s\n", argv[1], pause ? "paused (its tasks are "
	       "parked fleet-wide; running ones finish)" : "resumed");
	return CTL_EXIT_OK;
}

#define ID_EXAMPLE "01HZY3K4M5N6P7Q8R9S0T1V2W3"

const ctl_cmd_t ctl_intervene_cmds[] = {
	{ "task", "pause", "ID",
	  "park a queued or delayed task; stop a running exec task (SIGSTOP)",
	  "A queued or delayed task is parked on the delay topics when a "
	  "worker\nreaches it (no attempt is charged) until 'task resume'; a "
	  "running exec\ntask's process group is stopped. Workers learn of it "
	  "within a second.\n"
	  "Example:\n  droverctl task pause " ID_EXAMPLE "\n",
	  true, run_task_verb },
	{ "task", "resume", "ID",
	  "release a paused task, or continue its process (SIGCONT)",
	  "Exit 1 when the task is not paused.\n"
	  "Example:\n  droverctl task resume " ID_EXAMPLE "\n",
	  true, run_task_verb },
	{ "task", "skip", "ID --reason TEXT",
	  "never run a task; dead-letter it as skipped with the reason",
	  "  --reason TEXT         why (required; recorded in the task state, "
	  "the\n                        dead letter and the audit trail)\n"
	  "Example:\n  droverctl task skip " ID_EXAMPLE
	  " --reason 'customer deleted'\n",
	  true, run_task_verb },
	{ "task", "cancel", "ID",
	  "kill a running task, or never run a queued one; record it cancelled",
	  "A running exec task's process group is killed (SIGKILL); a task "
	  "of\nanother handler that is running is recorded cancelled when it "
	  "ends.\n"
	  "Example:\n  droverctl task cancel " ID_EXAMPLE "\n",
	  true, run_task_verb },
	{ "pause", "--handler", "NAME",
	  "park every task of one handler, fleet-wide, until resumed",
	  "Tasks of the handler that are running finish; the others are "
	  "parked on the\ndelay topics when a worker reaches them.\n"
	  "Example:\n  droverctl pause --handler resize\n",
	  true, run_handler_verb },
	{ "resume", "--handler", "NAME",
	  "release the tasks of a paused handler",
	  "Example:\n  droverctl resume --handler resize\n",
	  true, run_handler_verb },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
