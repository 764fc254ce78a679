/*
 * breaker.c — the rules of a circuit breaker, for one process
 * (drv_breaker_local_t), plus state and breaker names. The Lua scripts in
 * breaker_redis.c apply the same rules to the shared state; keep the two
 * in step (tests/unit/test_breaker.c checks these).
 */
#include <string.h>

#include "drover/breaker.h"
#include "drover/str.h"

static const char *const state_names[DRV_BREAKER_STATE_CNT] = {
	"closed", "open", "half_open", "forced_open", "forced_closed",
	"disabled", "metrics_only",
};

const char *drv_breaker_state_name(drv_breaker_state_t s)
{
	if ((int)s >= 0 && (int)s < DRV_BREAKER_STATE_CNT)
		return state_names[s];
	return "unknown";
}

bool drv_breaker_state_parse(const char *name, drv_breaker_state_t *out)
{
	for (int i = 0; i < DRV_BREAKER_STATE_CNT; i++)
		if (!strcmp(name, state_names[i])) {
			*out = (drv_breaker_state_t)i;
			return true;
		}
	return false;
}

bool drv_breaker_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len < 1 || len > DRV_BREAKER_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_.-:", *p)))
			return false;
	return true;
}

void drv_breaker_name_for(const drv_handler_conf_t *h, const char *label,
			  char *buf, size_t size)
{
	if (drv_breaker_name_valid(label))
		drv_strlcpy(buf, label, size);
	else
		drv_strlcpy(buf, h->breaker ? h->breaker : h->name, size);
}

/* ------------------------------------------------------------- local */

static void clear_window(drv_breaker_local_t *b)
{
	memset(b->b, 0, sizeof(b->b));
}

static void clear_probes(drv_breaker_local_t *b)
{
	b->leased = b->probe_ok = b->probe_failed = 0;
}

void drv_breaker_local_init(drv_breaker_local_t *b,
			    const drv_breaker_conf_t *conf)
{
	memset(b, 0, sizeof(*b));
	b->conf = conf;
	b->state = DRV_BREAKER_CLOSED;
}

static int64_t window_secs(const drv_breaker_conf_t *c)
{
	int64_t s = c->window_ms / 1000;

	return s < 1 ? 1 : s > DRV_BREAKER_WINDOW_MAX ?
	       DRV_BREAKER_WINDOW_MAX : s;
}

/* Retry time of a call rejected in HALF_OPEN: the probes out decide soon. */
static int64_t probe_wait(const drv_breaker_conf_t *c)
{
	return c->wait_in_open_ms < 1000 ? c->wait_in_open_ms : 1000;
}

static void open_now(drv_breaker_local_t *b, int64_t now_ms)
{
	b->state = DRV_BREAKER_OPEN;
	b->open_until_ms = now_ms + b->conf->wait_in_open_ms;
	clear_window(b);
	clear_probes(b);
}

drv_breaker_verdict_t drv_breaker_local_acquire(drv_breaker_local_t *b,
						int64_t now_ms,
						int64_t *retry_at,
						bool *changed)
{
	const drv_breaker_conf_t *c = b->conf;

	if (changed)
		*changed = false;
	switch (b->state) {
	case DRV_BREAKER_FORCED_OPEN:
		*retry_at = now_ms + c->wait_in_open_ms;
		return DRV_BREAKER_REJECT;
	case DRV_BREAKER_OPEN:
		if (now_ms < b->open_until_ms) {
			*retry_at = b->open_until_ms;
			return DRV_BREAKER_REJECT;
		}
		b->state = DRV_BREAKER_HALF_OPEN;
		b->half_open_ms = now_ms;
		clear_probes(b);
		if (changed)
			*changed = true;
		/* fall through */
	case DRV_BREAKER_HALF_OPEN:
		/* leases of probes that never answered (their worker died)
		 * are given back after wait_in_open */
		if (b->leased >= c->half_open_calls &&
		    now_ms - b->half_open_ms >= c->wait_in_open_ms) {
			b->leased = b->probe_ok + b->probe_failed;
			b->half_open_ms = now_ms;
		}
		if (b->leased < c->half_open_calls) {
			b->leased++;
			return DRV_BREAKER_PROBE;
		}
		*retry_at = now_ms + probe_wait(c);
		return DRV_BREAKER_REJECT;
	default:
		return DRV_BREAKER_ALLOW;
	}
}

bool drv_breaker_local_record(drv_breaker_local_t *b, int64_t now_ms,
			      uint32_t calls, uint32_t failures, uint32_t slow,
			      uint32_t probe_ok, uint32_t probe_failed)
{
	const drv_breaker_conf_t *c = b->conf;
	int64_t sec = now_ms / 1000;
	drv_breaker_bucket_t *k = &b->b[sec % DRV_BREAKER_WINDOW_MAX];
	uint32_t n, f, s;

	switch (b->state) {
	case DRV_BREAKER_CLOSED:
	case DRV_BREAKER_METRICS_ONLY:
		if (!calls)
			return false;
		if (k->sec != sec) {
			memset(k, 0, sizeof(*k));
			k->sec = sec;
		}
		k->calls += calls;
		k->failures += failures;
		k->slow += slow;
		if (b->state != DRV_BREAKER_CLOSED)
			return false;
		drv_breaker_local_window(b, now_ms, &n, &f, &s);
		if (n < c->min_calls ||
		    ((double)f * 100.0 < c->failure_rate * n &&
		     (double)s * 100.0 < c->slow_call_rate * n))
			return false;
		open_now(b, now_ms);
		return true;
	case DRV_BREAKER_HALF_OPEN:
		b->probe_ok += probe_ok;
		b->probe_failed += probe_failed;
		if (b->probe_ok >= c->half_open_successes) {
			b->state = DRV_BREAKER_CLOSED;
			clear_window(b);
			clear_probes(b);
			return true;
		}
		if (b->probe_failed > c->half_open_calls -
				      c->half_open_successes) {
			open_now(b, now_ms);
			return true;
		}
		return false;
	default:
		/* OPEN: calls let out before it opened do not count; forced
		 * and disabled states do not count */
		return false;
	}
}

void drv_breaker_local_set(drv_breaker_local_t *b, drv_breaker_state_t s,
			   int64_t now_ms)
{
	(void)now_ms;
	b->state = s;
	b->open_until_ms = 0;
	clear_window(b);
	clear_probes(b);
}

void drv_breaker_local_window(const drv_breaker_local_t *b, int64_t now_ms,
			      uint32_t *calls, uint32_t *failures,
			      uint32_t *slow)
{
	int64_t sec = now_ms / 1000, w = window_secs(b->conf);

	*calls = *failures = *slow = 0;
	for (int64_t s = sec - w + 1; s <= sec; s++) {
		const drv_breaker_bucket_t *k =
			&b->b[((s % DRV_BREAKER_WINDOW_MAX) +
			       DRV_BREAKER_WINDOW_MAX) % DRV_BREAKER_WINDOW_MAX];

		if (k->sec != s)
			continue;
		*calls += k->calls;
		*failures += k->failures;
		*slow += k->slow;
	}
}
