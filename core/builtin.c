/*
 * builtin.c — the handlers built into the worker: `noop`, which succeeds at
 * once so a benchmark measures the queue and not the work, and `sleep`,
 * which sleeps for the handler's `sleep` or the task's {"sleep_ms": N}, for
 * load tests and timeout demos. Both run in the calling worker thread.
 *
 * The sleep is on CLOCK_MONOTONIC with an absolute end time, so signals
 * (EINTR) and wall-clock jumps neither shorten nor stretch it.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "drover/builtin.h"
#include "drover/clock.h"
#include "drover/str.h"

static int64_t clamp_sleep(int64_t ms)
{
	if (ms < 0)
		return 0;
	if (ms > DRV_BUILTIN_SLEEP_MAX_MS)
		return DRV_BUILTIN_SLEEP_MAX_MS;
	return ms;
}

bool drv_builtin_handles(drv_handler_type_t type)
{
	return type == DRV_HANDLER_NOOP || type == DRV_HANDLER_SLEEP;
}

int64_t drv_builtin_sleep_ms(const drv_handler_conf_t *h, const drv_task_t *t)
{
	int64_t ms = h->sleep_ms;
	json_t *root, *v;

	if (!t->payload || t->payload_len == 0)
		return clamp_sleep(ms);
	root = json_loadb((const char *)t->payload, t->payload_len, 0, NULL);
	v = json_is_object(root) ? json_object_get(root, "sleep_ms") : NULL;
	if (json_is_integer(v)) {
		ms = (int64_t)json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		ms = d <= 0 ? 0 : d >= (double)DRV_BUILTIN_SLEEP_MAX_MS ?
		     DRV_BUILTIN_SLEEP_MAX_MS : (int64_t)d;
	}
	json_decref(root);
	return clamp_sleep(ms);
}

/* Sleep \p ms on the monotonic clock, whatever signals arrive. */
static void sleep_for(int64_t ms)
{
	struct timespec end = drv_deadline(CLOCK_MONOTONIC, ms);
	int rc;

	do
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL);
	while (rc == EINTR);
}

void drv_builtin_run(const drv_handler_conf_t *h, const drv_task_t *t,
		     drv_result_t *res)
{
	int64_t start = drv_mono_ms(), ms;

	memset(res, 0, sizeof(*res));
	switch (h->type) {
	case DRV_HANDLER_NOOP:
		break;
	case DRV_HANDLER_SLEEP:
		ms = drv_builtin_sleep_ms(h, t);
		if (h->timeout_ms > 0 && ms > h->timeout_ms) {
			sleep_for(h->timeout_ms);
			res->failure = DRV_FAILURE_TIMEOUT;
			drv_fmt(res->message, sizeof(res->message),
				"timed out after %lld ms (sleep of %lld ms)",
				(long long)h->timeout_ms, (long long)ms);
		} else {
			sleep_for(ms);
		}
		break;
	default:
		res->failure = DRV_FAILURE_PERMANENT;
		drv_fmt(res->message, sizeof(res->message),
			"handler '%s' of type %s is not a built-in handler",
			h->name ? h->name : "",
			drv_handler_type_name(h->type));
		break;
	}
	res->duration_ms = drv_mono_ms() - start;
}
