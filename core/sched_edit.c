/*
 * sched_edit.c — run-time schedules added, changed and deleted: the merge
 * of a change into a definition, its checks, and the store (see
 * drover/sched_edit.h). droverctl and the API both come here.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drover/sched_edit.h"
#include "drover/sched_store.h"
#include "drover/schedule.h"
#include "drover/str.h"

/* A file schedule, or an id that cannot be one: refused. */
static drv_err_t check_id(const drv_config_t *cfg, const char *id,
			  char *errstr, size_t errstr_size)
{
	if (!drv_name_valid(id))
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID, "'%.64s' "
				 "is not a schedule id (1 to 64 of a-z 0-9 _ "
				 ". -)", id);
	if (drv_config_schedule(cfg, id))
		return drv_error(errstr, errstr_size, DRV_ERR_UNSUPPORTED,
				 "schedule '%s' is defined in %s; change it "
				 "there (enable and disable work at run time)",
				 id, cfg->path ? cfg->path : "the config file");
	return DRV_OK;
}

/* \p changes into \p def: members replace, null removes, labels merge. */
static void merge(json_t *def, json_t *changes)
{
	const char *k, *lk;
	json_t *v, *lv, *labels;

	json_object_foreach(changes, k, v) {
		if (json_is_null(v)) {
			json_object_del(def, k);
		} else if (!strcmp(k, "labels") && json_is_object(v) &&
			   json_is_object(labels = json_object_get(def, k))) {
			json_object_foreach(v, lk, lv) {
				if (json_is_null(lv))
					json_object_del(labels, lk);
				else
					json_object_set(labels, lk, lv);
			}
		} else {
			json_object_set(def, k, v);
		}
	}
}

drv_err_t drv_sched_def_merge(const drv_config_t *cfg, const char *id,
			      const char *base, const char *changes,
			      char **out, char *errstr, size_t errstr_size)
{
	drv_schedule_conf_t conf;
	json_t *def, *ch;
	char *text;
	drv_err_t rc;

	if ((rc = check_id(cfg, id, errstr, errstr_size)))
		return rc;
	ch = json_loads(changes ? changes : "{}", JSON_ALLOW_NUL, NULL);
	def = base ? json_loads(base, JSON_ALLOW_NUL, NULL) : json_object();
	if (!json_is_object(ch) || !json_is_object(def)) {
		json_decref(ch);
		json_decref(def);
		return drv_error(errstr, errstr_size, DRV_ERR_INVALID,
				 "a schedule definition is a JSON object");
	}
	merge(def, ch);
	json_decref(ch);
	text = json_dumps(def, JSON_COMPACT);
	json_decref(def);
	if (!text)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	memset(&conf, 0, sizeof(conf));
	rc = drv_schedule_conf_from_json(id, text, &conf, errstr,
					 errstr_size);
	free(text);
	if (rc)
		return rc == DRV_ERR_NOMEM ? rc : DRV_ERR_INVALID;
	if (cfg->handler_cnt && !drv_config_handler(cfg, conf.task.handler))
		rc = drv_error(errstr, errstr_size, DRV_ERR_INVALID, "unknown "
			       "handler '%s' (not under handlers: in %s)",
			       conf.task.handler, cfg->path ? cfg->path :
			       "the config");
	else if (conf.task.policy && !drv_config_policy(cfg, conf.task.policy))
		rc = drv_error(errstr, errstr_size, DRV_ERR_INVALID, "unknown "
			       "retry policy '%s'", conf.task.policy);
	else if (!(*out = drv_schedule_conf_to_json(&conf)))
		rc = drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
			       "out of memory");
	drv_schedule_conf_release(&conf);
	return rc;
}

drv_err_t drv_sched_store_get(redisContext *c, const char *prefix,
			      const char *id, char **json, char *errstr,
			      size_t errstr_size)
{
	drv_sched_entry_t *e = NULL;
	size_t n = 0;
	drv_err_t rc;

	*json = NULL;
	if ((rc = drv_sched_store_list(c, prefix, &e, &n, NULL, NULL, NULL,
				       errstr, errstr_size)))
		return rc;
	for (size_t i = 0; i < n && !*json; i++)
		if (!strcmp(e[i].id, id)) {
			*json = e[i].json;
			e[i].json = NULL;
		}
	drv_sched_entries_free(e, n);
	if (!*json)
		return drv_error(errstr, errstr_size, DRV_ERR_NOT_FOUND,
				 "no run-time schedule '%s'", id);
	return DRV_OK;
}

drv_err_t drv_sched_edit_put(redisContext *c, const drv_config_t *cfg,
			     const char *id, bool create, const char *changes,
			     char **stored, char *errstr, size_t errstr_size)
{
	char *old = NULL, *def = NULL;
	drv_err_t rc;

	if ((rc = check_id(cfg, id, errstr, errstr_size)))
		return rc;
	if (!create && (rc = drv_sched_store_get(c, cfg->redis.key_prefix, id,
						 &old, errstr, errstr_size)))
		return rc;
	rc = drv_sched_def_merge(cfg, id, old, changes, &def, errstr,
				 errstr_size);
	free(old);
	if (!rc)
		rc = drv_sched_store_put(c, cfg->redis.key_prefix, id, def,
					 create ? DRV_SCHED_CREATE :
					 DRV_SCHED_REPLACE, errstr,
					 errstr_size);
	if (!rc && stored)
		*stored = def;
	else
		free(def);
	return rc;
}

drv_err_t drv_sched_edit_delete(redisContext *c, const drv_config_t *cfg,
				const char *id, char *errstr,
				size_t errstr_size)
{
	drv_err_t rc;

	if ((rc = check_id(cfg, id, errstr, errstr_size)))
		return rc;
	return drv_sched_store_delete(c, cfg->redis.key_prefix, id, errstr,
				      errstr_size);
}
