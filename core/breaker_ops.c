/*
 * breaker_ops.c — what an operator's view and change of a shared breaker
 * need besides Redis: the JSON form of a breaker, and the breaker.* event
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

json_t *drv_breaker_view_json(const drv_breaker_view_t *v)
{
	double total = v->calls ? (double)v->calls : 1.0;

	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:i, s:f, s:f, "
			 "s:i, s:i, s:i}",
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
			 "probes_failed", (int)v->probe_failed);
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
