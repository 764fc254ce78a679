/*
 * sched_trigger.c — a schedule fired now on request (`droverctl schedule
 * trigger`, POST /api/v1/schedules/{id}/trigger): the request is checked
 * and queued in Redis (P sched:trigger) with the id its task will have;
 * the leading coordinator drains the queue and fires each request as one
 * more fire of the schedule (coordinator/fire.c). See drover/sched_edit.h.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drover/clock.h"
#include "drover/redis_cmd.h"
#include "drover/sched_edit.h"
#include "drover/str.h"

char *drv_sched_trigger_to_json(const drv_sched_trigger_t *t)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "schedule", t->schedule,
			      "task_id", t->task_id, "requested_ms",
			      (json_int_t)t->requested_ms, "actor", t->actor);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

drv_err_t drv_sched_trigger_parse(const char *json, drv_sched_trigger_t *out,
				  char *errstr, size_t errstr_size)
{
	json_t *o = json_loads(json, 0, NULL);
	const char *s = NULL, *id = NULL, *actor = "";
	json_int_t ms = -1;
	drv_err_t rc = DRV_OK;

	memset(out, 0, sizeof(*out));
	if (json_unpack(o, "{s:s, s:s, s:I, s?:s}", "schedule", &s, "task_id",
			&id, "requested_ms", &ms, "actor", &actor) ||
	    !drv_name_valid(s) || strlen(id) != DRV_ID_LEN || ms < 0)
		rc = drv_error(errstr, errstr_size, DRV_ERR_INVALID, "not a "
			       "trigger request: %.80s", json);
	if (!rc) {
		drv_strlcpy(out->schedule, s, sizeof(out->schedule));
		drv_strlcpy(out->task_id, id, sizeof(out->task_id));
		drv_strlcpy(out->actor, actor, sizeof(out->actor));
		out->requested_ms = ms;
	}
	json_decref(o);
	return rc;
}

drv_err_t drv_sched_trigger(redisContext *c, const drv_config_t *cfg,
			    const char *id, const char *actor,
			    drv_sched_trigger_t *out, char *errstr,
			    size_t errstr_size)
{
	char *json = NULL;
	drv_err_t rc;

	if (!drv_name_valid(id))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID, "'%.64s' "
				 "is not a schedule id (1 to 64 of a-z 0-9 _ "
				 ". -)", id);
	if (!drv_config_schedule(cfg, id)) {
		rc = drv_sched_store_get(c, cfg->redis.key_prefix, id, &json,
					 errstr, errstr_size);
		free(json);
		if (rc == DRV_ERR_NOT_FOUND)
			return drv_error(errstr, errstr_size, rc, "no schedule "
					 "'%s' (not in the config file nor in "
					 "Redis)", id);
		if (rc)
			return rc;
	}
	memset(out, 0, sizeof(*out));
	drv_strlcpy(out->schedule, id, sizeof(out->schedule));
	drv_strlcpy(out->actor, actor ? actor : "", sizeof(out->actor));
	out->requested_ms = drv_now_ms();
	drv_id_new(out->task_id, out->requested_ms);
	if (!(json = drv_sched_trigger_to_json(out)))
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	rc = drv_redis_cmd(c, NULL, errstr, errstr_size,
			   "RPUSH %ssched:trigger %s", cfg->redis.key_prefix,
			   json);
	free(json);
	return rc;
}
