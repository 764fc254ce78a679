/*
 * breaker_ops.c — what an operator's view and change of a shared breaker
 * need besides Redis: the JSON form of a breaker (with its policy from the
 * config), and the breaker.* event
 * that tells the fleet's listeners of a forced change. droverctl and the
 * API both use them.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drover/breaker.h"
#include "drover/clock.h"
#include "drover/event.h"
#include "drover/kafka.h"
#include "drover/str.h"

#include "config_int.h"

/* The `breakers:` entry \p bc as JSON, one member per row of the config's
 * own table: its key names, durations in milliseconds as `<key>_ms`, and
 * "entry": the name of the entry it came from (the breaker's or
 * `default`). */
static json_t *policy_json(const drv_breaker_conf_t *bc)
{
	json_t *o = json_pack("{s:s}", "entry", bc->name), *val;
	char name[64];

	for (size_t i = 0; o && i < drv_cfg_breaker_key_cnt; i++) {
		const drv_cfg_key_t *k = &drv_cfg_breaker_keys[i];
		const void *p = (const char *)bc + k->offset;

		drv_fmt(name, sizeof(name), "%s", k->name);
		switch (k->type) {
		case DRV_CFG_ENUM:
			val = json_string(k->enums[*(const int *)p]);
			break;
		case DRV_CFG_DURATION:
			drv_fmt(name, sizeof(name), "%s_ms", k->name);
			val = json_integer(*(const int64_t *)p);
			break;
		case DRV_CFG_U32:
			val = json_integer(*(const uint32_t *)p);
			break;
		case DRV_CFG_DOUBLE:
			val = json_real(*(const double *)p);
			break;
		default:
			continue;
		}
		if (json_object_set_new(o, name, val)) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

json_t *drv_breaker_view_json(const drv_config_t *cfg,
			      const drv_breaker_view_t *v)
{
	double total = v->calls ? (double)v->calls : 1.0;

	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:i, s:f, s:f, "
			 "s:i, s:i, s:i, s:o}",
			 "name", v->name,
			 "state", drv_breaker_state_name(v->state),
			 "open_until_ms", (json_int_t)v->open_until_ms,
			 "changed_ms", (json_int_t)v->changed_ms,
			 "transitions", (json_int_t)v->gen,
			 "calls", (int)v->calls, "failures", (int)v->failures,
			 "slow", (int)v->slow,
			 "failure_rate", 100.0 * v->failures / total,
			 "slow_call_rate", 100.0 * v->slow / total,
			 "probes_leased", (int)v->leased,
			 "probes_ok", (int)v->probe_ok,
			 "probes_failed", (int)v->probe_failed,
			 "policy", policy_json(drv_config_breaker(cfg,
								  v->name)));
}

drv_err_t drv_breaker_tell(rd_kafka_t *rk, const drv_config_t *cfg,
			   const drv_breaker_view_t *v, const char *action,
			   const char *source, char *errstr,
			   size_t errstr_size)
{
	drv_event_t e;
	drv_err_t rc = DRV_ERR_NOMEM;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "breaker", v->name,
			      "state", drv_breaker_state_name(v->state),
			      "scope", "shared", "action", action);

	drv_event_init(&e);
	if (o && !drv_event_new_json(&e, v->state == DRV_BREAKER_FORCED_OPEN ?
				     "breaker.opened" : "breaker.closed",
				     source, o) &&
	    !drv_event_set_attribute(&e, "breaker", v->name) &&
	    !drv_event_set_attribute(&e, "state",
				     drv_breaker_state_name(v->state)))
		rc = drv_event_publish(rk, cfg, &e,
				       cfg->kafka.connect_timeout_ms, errstr,
				       errstr_size);
	else
		drv_error(errstr, errstr_size, rc, "out of memory");
	json_decref(o);
	drv_event_release(&e);
	return rc;
}
