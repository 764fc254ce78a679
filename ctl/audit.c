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
	rd_kafka_t *own = NULL;
	char err[512], topic[256];
	drv_err_t rc;

	drv_topic_name(cfg, DRV_TOPIC_AUDIT, NULL, 0, topic, sizeof(topic));
	if (!rk && !(rk = own = ctl_producer_new(cfg, topic, 0, err,
						 sizeof(err))))
		return ctl_fail("cannot write the audit record: %s", err);
	rc = drv_audit_write(rk, cfg, ctl_actor_name(), action, target, count,
			     details_json, result, NULL, err, sizeof(err));
	if (own)
		rd_kafka_destroy(own);
	if (rc)
		return ctl_fail("cannot write the audit record: %s", err);
	return CTL_EXIT_OK;
}
