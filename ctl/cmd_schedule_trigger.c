/*
 * cmd_schedule_trigger.c — `droverctl schedule trigger ID`: fire a
 * schedule (file or run-time) now. The request is queued in Redis for the
 * leading coordinator (drv_sched_trigger()), which fires it within about a
 * second as one more fire of the schedule, under its overlap policy; this
 * prints the id the task will have, for `droverctl task show`.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_sched.h"
#include "drover/clock.h"
#include "drover/sched_edit.h"
#include "drover/str.h"

static int run_trigger(const ctl_cmd_t *cmd, drv_config_t *cfg, int argc,
		       char **argv)
{
	redisContext *c = NULL;
	drv_sched_trigger_t t;
	const char *id = NULL;
	bool json = false;
	char err[512], when[40], details[64];
	drv_err_t e;
	int rc;

	if ((rc = ctl_parse_json_arg(cmd, argc, argv, "missing ID", &json,
				     &id)))
		return rc;
	if ((rc = ctl_sched_redis(cfg, &c)))
		return rc;
	e = drv_sched_trigger(c, cfg, id, ctl_actor_name(), &t, err,
			      sizeof(err));
	redisFree(c);
	if (e == DRV_ERR_REDIS || e == DRV_ERR_TIMEOUT)
		ctl_audit(cfg, NULL, "schedule.trigger", id, 0, NULL,
			  err);
	if (e)
		return ctl_fail("%s", err);
	drv_fmt(details, sizeof(details), "{\"task_id\":\"%s\"}", t.task_id);
	if ((rc = ctl_audit(cfg, NULL, "schedule.trigger", t.schedule, 1,
			    details, "ok")))
		return rc;
	drv_format_time(t.requested_ms, when, sizeof(when));
	if (json)
		ctl_print_json(json_pack("{s:s, s:s, s:s, s:I}", "id",
					 t.task_id, "schedule", t.schedule,
					 "requested_at", when, "requested_ms",
					 (json_int_t)t.requested_ms));
	else
		printf("%s\n", t.task_id);
	return CTL_EXIT_OK;
}

const ctl_cmd_t ctl_schedule_trigger_cmds[] = {
	{ "schedule", "trigger", "ID [--json]",
	  "fire a schedule (file or run-time) now",
	  "Queued for the leading coordinator, which fires it within about a\n"
	  "second as one more fire of the schedule: its overlap policy applies\n"
	  "(skip drops it while a run is unfinished, buffer_one keeps it), it\n"
	  "counts in the schedule's statistics, and the task is labelled\n"
	  "drover.fire=manual and drover.actor (--as, else the user).\n"
	  "Prints the id the task will have.\n"
	  "  --json                 print id, schedule, requested_at\n"
	  "\nExample:\n  droverctl schedule trigger nightly-report\n"
	  "  droverctl task show \"$(droverctl schedule trigger "
	  "nightly-report)\"\n", true, run_trigger },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};
