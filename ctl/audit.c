/*
 * audit.c — every operator action droverctl takes is written to the audit
 * topic: who (--as, else the login name), from which host, what, on what,
 * how many, and how it ended.
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "drover/audit.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

const char *ctl_actor;

/* --as, else $USER or the login name of the real user, else "unknown" */
const char *ctl_actor_name(void)
{
	static char login[256];
	const struct passwd *pw;
	const char *u;

	if (ctl_actor && *ctl_actor)
		return ctl_actor;
	if ((u = getenv("USER")) && *u)
		return u;
	/* once: a resubmission asks for every task it builds */
	if (!login[0] && (pw = getpwuid(getuid())) && pw->pw_name)
		drv_strlcpy(login, pw->pw_name, sizeof(login));
	return login[0] ? login : "unknown";
}

int ctl_audit(const drv_config_t *cfg, rd_kafka_t *rk, const char *action,
	      const char *target, uint64_t count, const char *details_json,
	      const char *result)
{
	char host[256] = "", err[512];
	rd_kafka_t *own = NULL;
	drv_audit_t a;
	drv_err_t rc;

	if (!rk && !(rk = own = drv_kafka_producer_new(cfg, err, sizeof(err))))
		return ctl_fail("cannot write the audit record: %s", err);
	gethostname(host, sizeof(host) - 1);
	drv_audit_init(&a);
	a.time_ms = drv_now_ms();
	drv_id_new(a.id, a.time_ms);
	a.count = count;
	if (!(a.actor = strdup(ctl_actor_name())) || !(a.host = strdup(host)) ||
	    !(a.action = strdup(action)) ||
	    (target && !(a.target = strdup(target))) ||
	    (details_json && !(a.details_json = strdup(details_json))) ||
	    !(a.result = strdup(result ? result : "ok")))
		rc = drv_error(err, sizeof(err), DRV_ERR_NOMEM, "out of memory");
	else
		rc = drv_audit_publish(rk, cfg, &a, cfg->kafka.connect_timeout_ms,
				       err, sizeof(err));
	drv_audit_release(&a);
	if (own)
		rd_kafka_destroy(own);
	if (rc)
		return ctl_fail("cannot write the audit record: %s", err);
	return CTL_EXIT_OK;
}
