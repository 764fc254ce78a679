/*
 * webhook_send.c — one attempt of a webhook delivery task, run by a worker
 * (handler type `webhook`): the subscription and its secret(s) are read
 * from Redis at send time (a rotation or a deletion counts at once), the
 * body is signed the Standard Webhooks way and POSTed through the http
 * runner (drv_http_run(): no redirects followed, Retry-After read), and the
 * outcome is written to the subscription's delivery log. The webhook-id
 * comes from the task, so every retry of one delivery carries the same one.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/clock.h"
#include "drover/str.h"
#include "drover/webhook.h"

/* The headers of one attempt at time \p ts: webhook-id, webhook-timestamp,
 * webhook-signature (the current secret's, then the previous one's while
 * the rotation overlaps), Content-Type. */
static drv_err_t sign_headers(const json_t *rec, const char *msg_id,
			      int64_t ts, const char *body, int64_t now_ms,
			      drv_kv_t *hdr, char ts_text[32], char *sigs,
			      size_t sigs_size, char *err, size_t errlen)
{
	const char *cur = json_string_value(json_object_get(rec, "secret")),
		   *prev = json_string_value(json_object_get(rec,
							"previous_secret"));
	json_int_t until = json_integer_value(json_object_get(rec,
						"previous_until_ms"));
	char one[128];
	drv_err_t rc;

	if ((rc = drv_webhook_sign(cur, msg_id, ts, body, strlen(body), sigs,
				   sigs_size, err, errlen)))
		return rc;
	if (prev && until > now_ms &&
	    !drv_webhook_sign(prev, msg_id, ts, body, strlen(body), one,
			      sizeof(one), NULL, 0)) {
		size_t n = strlen(sigs);

		drv_fmt(sigs + n, sigs_size - n, " %s", one);
	}
	drv_fmt(ts_text, 32, "%lld", (long long)ts);
	hdr[0] = (drv_kv_t){ "webhook-id", (char *)msg_id };
	hdr[1] = (drv_kv_t){ "webhook-timestamp", ts_text };
	hdr[2] = (drv_kv_t){ "webhook-signature", sigs };
	hdr[3] = (drv_kv_t){ "Content-Type", "application/json" };
	return DRV_OK;
}

/* The attempt's line in the delivery log. */
static void log_attempt(redisContext *rc, const drv_config_t *cfg,
			const char *sid, const char *msg_id, const char *type,
			const drv_task_t *t, int64_t now_ms,
			const drv_result_t *res, const char *outcome)
{
	json_t *e = json_pack("{s:s, s:s, s:s?, s:i, s:I, s:s, s:i, s:I, s:s}",
			      "webhook_id", msg_id, "task_id", t->id,
			      "type", type, "attempt", (int)t->attempt + 1,
			      "time_ms", (json_int_t)now_ms,
			      "outcome", outcome,
			      "http_status", (int)res->http_status,
			      "duration_ms", (json_int_t)res->duration_ms,
			      "message", res->message);

	if (e)
		drv_webhook_log(rc, cfg, sid, e, NULL, 0);
	json_decref(e);
}

static void fail(drv_result_t *res, drv_failure_class_t f, const char *msg)
{
	res->failure = f;
	drv_strlcpy(res->message, msg, sizeof(res->message));
}

const char *drv_webhook_deliver(redisContext *rc, drv_http_client_t *http,
				const drv_config_t *cfg,
				const drv_handler_conf_t *h,
				const drv_task_t *t, drv_result_t *res)
{
	json_t *p = NULL, *rec = NULL;
	const char *sid, *msg_id;
	char err[512], ts_text[32], sigs[512], *body = NULL;
	int64_t now = drv_now_ms(), start = drv_mono_ms();
	drv_handler_conf_t hc;
	drv_kv_t hdr[4];
	drv_task_t tc;
	drv_err_t e;
	const char *outcome = "error";

	memset(res, 0, sizeof(*res));
	if (t->payload)
		p = json_loadb((const char *)t->payload, t->payload_len, 0,
			       NULL);
	sid = json_string_value(json_object_get(p, "subscription"));
	msg_id = json_string_value(json_object_get(p, "webhook_id"));
	if (!sid || !msg_id || !json_is_object(json_object_get(p, "body")) ||
	    !(body = json_dumps(json_object_get(p, "body"), JSON_COMPACT))) {
		fail(res, DRV_FAILURE_PERMANENT, "not a webhook delivery: the "
		     "payload needs subscription, webhook_id and body");
		goto out;
	}
	if (!rc) {
		fail(res, DRV_FAILURE_TRANSIENT, "no Redis connection to read "
		     "the subscription");
		res->retry_after_ms = drv_webhook_backoff_ms(t->attempt + 1);
		goto out;
	}
	e = drv_webhook_get(rc, cfg, sid, &rec, err, sizeof(err));
	if (e == DRV_ERR_NOT_FOUND ||
	    (!e && !json_is_true(json_object_get(rec, "enabled")))) {
		/* nobody to send to any more: done, not a failure */
		drv_fmt(res->message, sizeof(res->message), "webhook %s is %s; "
			"not sent", sid, e ? "deleted" : "disabled");
		outcome = "not_sent";
		goto out;
	}
	if (e) {
		fail(res, DRV_FAILURE_TRANSIENT, err);
		res->retry_after_ms = drv_webhook_backoff_ms(t->attempt + 1);
		goto out;
	}
	if (sign_headers(rec, msg_id, now / 1000, body, now, hdr, ts_text,
			 sigs, sizeof(sigs), err, sizeof(err))) {
		fail(res, DRV_FAILURE_PERMANENT, err);
		goto out;
	}
	hc = *h;
	hc.url = (char *)json_string_value(json_object_get(rec, "url"));
	hc.method = "POST";
	hc.headers = hdr;
	hc.header_cnt = sizeof(hdr) / sizeof(hdr[0]);
	if (hc.timeout_ms <= 0 || hc.timeout_ms > DRV_WEBHOOK_TIMEOUT_MAX_MS)
		hc.timeout_ms = DRV_WEBHOOK_TIMEOUT_MS;
	if (hc.output_limit <= 0 || hc.output_limit > 4096)
		hc.output_limit = 4096;
	tc = *t;
	tc.payload = (uint8_t *)body;
	tc.payload_len = strlen(body);
	drv_http_run(http, &hc, &tc, res);

	if (res->failure == DRV_FAILURE_UNSPECIFIED) {
		outcome = "delivered";
	} else if (res->http_status == 410) {
		outcome = "gone";
		drv_webhook_disable(rc, cfg, sid, "the endpoint answered 410 "
				    "Gone", NULL, 0);
		fail(res, DRV_FAILURE_PERMANENT, "410 Gone: webhook disabled");
	} else if (res->http_status >= 300 && res->http_status < 400) {
		/* never followed: the receiver must give its final URL */
		outcome = "redirected";
	} else {
		int64_t wait = drv_webhook_backoff_ms(t->attempt + 1);

		outcome = "failed";
		/* every other failure waits the spec's schedule, or longer
		 * when the receiver said so */
		if (res->failure == DRV_FAILURE_PERMANENT &&
		    res->http_status >= 400)
			res->failure = DRV_FAILURE_TRANSIENT;
		if (res->retry_after_ms < wait)
			res->retry_after_ms = wait;
	}
	res->duration_ms = drv_mono_ms() - start;
	log_attempt(rc, cfg, sid, msg_id, json_string_value(json_object_get(
		json_object_get(p, "body"), "type")), t, now, res, outcome);
out:
	free(body);
	json_decref(rec);
	json_decref(p);
	if (!res->duration_ms)
		res->duration_ms = drv_mono_ms() - start;
	return outcome;
}
