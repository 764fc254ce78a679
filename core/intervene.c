/*
 * intervene.c — operator interventions in Redis: the stored form, the
 * writes, and the checks an operator's request passes first (droverctl and
 * the API make the same request; see drover/intervene.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drover/clock.h"
#include "drover/intervene.h"
#include "drover/redis.h"
#include "drover/state.h"
#include "drover/str.h"

static const char *const names[] = { "none", "pause", "skip", "cancel" };

const char *drv_iv_action_name(drv_iv_action_t a)
{
	return (unsigned)a < 4 ? names[a] : "none";
}

void drv_iv_release(drv_iv_t *iv)
{
	free(iv->reason);
	free(iv->actor);
	memset(iv, 0, sizeof(*iv));
}

drv_err_t drv_iv_parse(const char *json, size_t len, drv_iv_t *out)
{
	json_t *o = json_loadb(json, len, 0, NULL), *v;
	const char *a;
	drv_err_t rc = DRV_ERR_DECODE;

	memset(out, 0, sizeof(*out));
	if (!o)
		return DRV_ERR_DECODE;
	a = json_string_value(json_object_get(o, "action"));
	for (int i = 1; a && i < 4; i++)
		if (!strcmp(a, names[i])) {
			out->action = (drv_iv_action_t)i;
			rc = DRV_OK;
		}
	if (!rc && (v = json_object_get(o, "reason")) && json_is_string(v) &&
	    !(out->reason = strdup(json_string_value(v))))
		rc = DRV_ERR_NOMEM;
	if (!rc && (v = json_object_get(o, "actor")) && json_is_string(v) &&
	    !(out->actor = strdup(json_string_value(v))))
		rc = DRV_ERR_NOMEM;
	if (!rc)
		out->time_ms = json_integer_value(json_object_get(o, "time_ms"));
	json_decref(o);
	if (rc)
		drv_iv_release(out);
	return rc;
}

bool drv_iv_key(const drv_config_t *cfg, char *buf, size_t size)
{
	return drv_fmt(buf, size, "%sinterventions", cfg->redis.key_prefix);
}

/* Run a command whose reply only has to be no error. */
static drv_err_t command(redisContext *c, int argc, const char **argv,
			 char *errstr, size_t errstr_size)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	drv_err_t rc = DRV_OK;

	if (!r)
		rc = drv_error(errstr, errstr_size, drv_redis_err(c),
			       "redis %s: %s", argv[0], c->errstr);
	else if (r->type == REDIS_REPLY_ERROR)
		rc = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
			       "redis %s: %s", argv[0], r->str);
	freeReplyObject(r);
	return rc;
}

drv_err_t drv_iv_set(redisContext *c, const drv_config_t *cfg,
		     const char *field, drv_iv_action_t action,
		     const char *reason, const char *actor,
		     char *errstr, size_t errstr_size)
{
	char key[600], *value;
	json_t *o;
	drv_err_t rc;

	drv_iv_key(cfg, key, sizeof(key));
	o = json_pack("{s:s, s:s?, s:s?, s:I}", "action",
		      drv_iv_action_name(action), "reason", reason, "actor",
		      actor, "time_ms", (json_int_t)drv_now_ms());
	value = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!value)
		return drv_error(errstr, errstr_size, DRV_ERR_NOMEM,
				 "out of memory");
	{
		const char *hset[] = { "HSET", key, field, value };
		const char *pub[] = { "PUBLISH", key, field };

		rc = command(c, 4, hset, errstr, errstr_size);
		if (!rc)
			rc = command(c, 3, pub, errstr, errstr_size);
	}
	free(value);
	return rc;
}

drv_err_t drv_iv_get(redisContext *c, const drv_config_t *cfg,
		     const char *field, drv_iv_t *out,
		     char *errstr, size_t errstr_size)
{
	char key[600];
	const char *argv[] = { "HGET", key, field };
	redisReply *r;
	drv_err_t rc = DRV_OK;

	memset(out, 0, sizeof(*out));
	drv_iv_key(cfg, key, sizeof(key));
	if (!(r = redisCommandArgv(c, 3, argv, NULL)))
		return drv_error(errstr, errstr_size, drv_redis_err(c),
				 "redis HGET: %s", c->errstr);
	if (r->type == REDIS_REPLY_STRING) {
		if ((rc = drv_iv_parse(r->str, r->len, out)))
			drv_error(errstr, errstr_size, rc, "%s %s: not an "
				  "intervention drover wrote", key, field);
	} else if (r->type != REDIS_REPLY_NIL)
		rc = drv_error(errstr, errstr_size, DRV_ERR_REDIS,
			       "redis HGET: %s", r->type == REDIS_REPLY_ERROR ?
			       r->str : "unexpected reply");
	freeReplyObject(r);
	return rc;
}

drv_err_t drv_iv_clear(redisContext *c, const drv_config_t *cfg,
		       const char *field, char *errstr, size_t errstr_size)
{
	char key[600];
	const char *hdel[] = { "HDEL", key, field };
	const char *pub[] = { "PUBLISH", key, field };
	drv_err_t rc;

	drv_iv_key(cfg, key, sizeof(key));
	rc = command(c, 3, hdel, errstr, errstr_size);
	if (!rc)
		rc = command(c, 3, pub, errstr, errstr_size);
	return rc;
}

/* A task whose recorded state says it ended cannot be acted on. */
static drv_err_t check_task(redisContext *c, const drv_config_t *cfg,
			    const char *id, drv_iv_action_t action,
			    bool *no_state, char *errstr, size_t errstr_size)
{
	drv_state_task_t t;
	drv_err_t rc;

	drv_state_task_init(&t);
	rc = drv_state_get(c, cfg->redis.key_prefix, id, &t, errstr,
			   errstr_size);
	if (rc == DRV_ERR_NOT_FOUND) {
		*no_state = true;
		rc = DRV_OK;
	} else if (!rc && (t.state == DRV_TASK_SUCCEEDED ||
			   t.state == DRV_TASK_DEAD ||
			   t.state == DRV_TASK_CANCELLED ||
			   (t.state == DRV_TASK_SKIPPED &&
			    action != DRV_IV_NONE))) {
		rc = drv_error(errstr, errstr_size, DRV_ERR_EXISTS,
			       "task %s has already ended (%s)%s", id,
			       drv_task_state_name(t.state),
			       t.state == DRV_TASK_DEAD ?
			       "; retry it instead" : "");
	}
	drv_state_task_release(&t);
	return rc;
}

drv_err_t drv_iv_request(redisContext *c, const drv_config_t *cfg,
			 const char *field, drv_iv_action_t action,
			 const char *reason, const char *actor,
			 bool *no_state, char *errstr, size_t errstr_size)
{
	const char *name = strchr(field, ':') ? strchr(field, ':') + 1 : field;
	bool none = false;
	drv_iv_t cur;
	drv_err_t rc;

	if (!strncmp(field, "task:", 5) &&
	    (rc = check_task(c, cfg, name, action, &none, errstr,
			     errstr_size)))
		return rc;
	if (no_state)
		*no_state = none;
	if ((rc = drv_iv_get(c, cfg, field, &cur, errstr, errstr_size)))
		return rc;
	if (action == DRV_IV_NONE && cur.action != DRV_IV_PAUSE)
		rc = drv_error(errstr, errstr_size, DRV_ERR_EXISTS,
			       "%s is not paused%s%s", name,
			       cur.action ? "; it is marked " : "",
			       cur.action ? drv_iv_action_name(cur.action) :
			       "");
	else if (action != DRV_IV_NONE && cur.action &&
		 cur.action != DRV_IV_PAUSE)
		rc = drv_error(errstr, errstr_size, DRV_ERR_EXISTS,
			       "%s is already marked %s", name,
			       drv_iv_action_name(cur.action));
	drv_iv_release(&cur);
	if (rc)
		return rc;
	if (action == DRV_IV_NONE)
		return drv_iv_clear(c, cfg, field, errstr, errstr_size);
	return drv_iv_set(c, cfg, field, action, reason, actor, errstr,
			  errstr_size);
}
