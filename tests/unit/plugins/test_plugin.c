/*
 * test_plugin.c — plugins for tests/unit/test_plugin.c, one source built
 * several times (tests/meson.build) with one TP_* macro each:
 *
 *   TP_OK          a working plugin whose behaviour the payload picks
 *                  ("ok", "transient", "echo"...; see tp_handle), with
 *                  init/destroy counters the test reads through dlsym;
 *   TP_BAD_ABI     drover_plugin_v1 returns a table claiming ABI 2;
 *   TP_V2_ONLY     exports only drover_plugin_v2, as an ABI 2 plugin would;
 *   TP_NO_ENTRY    exports no entry point at all;
 *   TP_NO_HANDLE   a table without a handle function;
 *   TP_SMALL       a table whose size is smaller than a v1 table.
 *
 * Like any plugin it includes only drover/plugin.h and the C library.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drover/plugin.h>

#if defined(TP_OK)

/* Read by the test through dlsym() on the same (shared) load. */
DRV_PLUGIN_EXPORT atomic_int tp_init_calls;
DRV_PLUGIN_EXPORT atomic_int tp_destroy_calls;
/* Set by the test to let "hang" calls return. */
DRV_PLUGIN_EXPORT atomic_int tp_release;

struct tp_state {
	char tag[64];
	atomic_long calls;
	atomic_int in_flight;
	atomic_int max_in_flight;
};

static int tp_init(void **state, const char *const *config, char *err,
		   size_t err_size)
{
	struct tp_state *st;

	atomic_fetch_add(&tp_init_calls, 1);
	for (size_t i = 0; config[i]; i += 2) {
		if (strcmp(config[i], "fail_init") == 0) {
			snprintf(err, err_size, "told to fail: %s",
				 config[i + 1]);
			return 1;
		}
		if (strcmp(config[i], "fail_init_silent") == 0)
			return 7;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return 1;
	snprintf(st->tag, sizeof(st->tag), "-");
	for (size_t i = 0; config[i]; i += 2)
		if (strcmp(config[i], "tag") == 0)
			snprintf(st->tag, sizeof(st->tag), "%s",
				 config[i + 1]);
	*state = st;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The payload is \p word, bare or as a JSON string (as droverctl sends
 * it). */
static int payload_is(const drv_plugin_task_t *t, const char *word)
{
	const char *p = t->payload;
	size_t n = strlen(word);

	if (t->payload_len == n + 2 && p[0] == '"' && p[n + 1] == '"')
		p++;
	else if (t->payload_len != n)
		return 0;
	return memcmp(p, word, n) == 0;
}

/* "echo": every field of the task, as a failure message the test reads. */
static void echo(const struct tp_state *st, const drv_plugin_task_t *t,
		 drv_plugin_reply_t *r)
{
	size_t n, labels = 0;

	n = (size_t)snprintf(r->msg, sizeof(r->msg),
			     "size=%u id=%s handler=%s attempt=%u priority=%u "
			     "max=%u deadline=%lld timeout=%lld len=%zu tag=%s "
			     "labels=", (unsigned)t->size, t->id, t->handler,
			     (unsigned)t->attempt, (unsigned)t->priority,
			     (unsigned)t->max_attempts,
			     (long long)t->deadline_ms,
			     (long long)t->timeout_ms, t->payload_len, st->tag);
	for (size_t i = 0; t->labels[i]; i += 2) {
		labels++;
		if (n < sizeof(r->msg))
			n += (size_t)snprintf(r->msg + n, sizeof(r->msg) - n,
					      "%s%s=%s", i ? "," : "",
					      t->labels[i], t->labels[i + 1]);
	}
	if (n < sizeof(r->msg))
		snprintf(r->msg + n, sizeof(r->msg) - n, " nlabels=%zu",
			 labels);
}

static drv_plugin_status_t tp_handle(void *state,
				     const drv_plugin_task_t *t,
				     drv_plugin_reply_t *r)
{
	struct tp_state *st = state;
	int now, max;

	atomic_fetch_add(&st->calls, 1);
	if (payload_is(t, "ok"))
		return DRV_PLUGIN_OK;
	if (payload_is(t, "ok-noisy")) {
		snprintf(r->msg, sizeof(r->msg), "all good");
		r->retry_after_ms = 99;
		return DRV_PLUGIN_OK;
	}
	if (payload_is(t, "transient")) {
		snprintf(r->msg, sizeof(r->msg), "try again");
		return DRV_PLUGIN_TRANSIENT;
	}
	if (payload_is(t, "transient-retry")) {
		snprintf(r->msg, sizeof(r->msg), "busy");
		r->retry_after_ms = 1500;
		return DRV_PLUGIN_TRANSIENT;
	}
	if (payload_is(t, "transient-silent"))
		return DRV_PLUGIN_TRANSIENT;
	if (payload_is(t, "permanent")) {
		snprintf(r->msg, sizeof(r->msg), "no way");
		r->retry_after_ms = 1500; /* ignored: not transient */
		return DRV_PLUGIN_PERMANENT;
	}
	if (payload_is(t, "permanent-silent"))
		return DRV_PLUGIN_PERMANENT;
	if (payload_is(t, "unknown")) {
		snprintf(r->msg, sizeof(r->msg), "confused");
		return (drv_plugin_status_t)42;
	}
	if (payload_is(t, "long-msg")) {
		memset(r->msg, 'x', sizeof(r->msg)); /* no NUL */
		return DRV_PLUGIN_PERMANENT;
	}
	if (payload_is(t, "echo")) {
		echo(st, t, r);
		return DRV_PLUGIN_PERMANENT;
	}
	if (payload_is(t, "hang")) {  /* ignores its timeout: 30 s at most */
		for (int i = 0; i < 3000 && !atomic_load(&tp_release); i++)
			sleep_ms(10);
		return DRV_PLUGIN_OK;
	}
	if (payload_is(t, "slow")) {
		now = atomic_fetch_add(&st->in_flight, 1) + 1;
		max = atomic_load(&st->max_in_flight);
		while (now > max &&
		       !atomic_compare_exchange_weak(&st->max_in_flight, &max,
						     now))
			;
		sleep_ms(5);
		atomic_fetch_sub(&st->in_flight, 1);
		return DRV_PLUGIN_OK;
	}
	if (payload_is(t, "stats")) {
		snprintf(r->msg, sizeof(r->msg), "calls=%ld max_in_flight=%d",
			 atomic_load(&st->calls) - 1,
			 atomic_load(&st->max_in_flight));
		return DRV_PLUGIN_PERMANENT;
	}
	snprintf(r->msg, sizeof(r->msg), "unexpected payload");
	return DRV_PLUGIN_PERMANENT;
}

static void tp_destroy(void *state)
{
	atomic_fetch_add(&tp_destroy_calls, 1);
	free(state);
}

static const drv_plugin_v1_t table = {
	.abi_version = DRV_PLUGIN_ABI_VERSION,
	.size        = sizeof(drv_plugin_v1_t),
	.name        = "test-ok",
	.init        = tp_init,
	.handle      = tp_handle,
	.destroy     = tp_destroy,
};

DRV_PLUGIN_EXPORT const drv_plugin_v1_t *drover_plugin_v1(void)
{
	return &table;
}

#elif defined(TP_BAD_ABI) || defined(TP_NO_HANDLE) || defined(TP_SMALL)

#if !defined(TP_NO_HANDLE)
static drv_plugin_status_t tp_handle(void *state,
				     const drv_plugin_task_t *t,
				     drv_plugin_reply_t *r)
{
	(void)state;
	(void)t;
	(void)r;
	return DRV_PLUGIN_OK;
}
#endif

static const drv_plugin_v1_t table = {
#if defined(TP_BAD_ABI)
	.abi_version = 2,
#else
	.abi_version = DRV_PLUGIN_ABI_VERSION,
#endif
#if defined(TP_SMALL)
	.size        = 8,
#else
	.size        = sizeof(drv_plugin_v1_t),
#endif
#if !defined(TP_NO_HANDLE)
	.handle      = tp_handle,
#endif
};

DRV_PLUGIN_EXPORT const drv_plugin_v1_t *drover_plugin_v1(void)
{
	return &table;
}

#elif defined(TP_V2_ONLY)

/* What a plugin built for a future ABI 2 would export instead. */
struct tp_v2 {
	uint32_t abi_version;
	uint32_t size;
};

static const struct tp_v2 table = { 2, sizeof(struct tp_v2) };

DRV_PLUGIN_EXPORT const void *drover_plugin_v2(void);

DRV_PLUGIN_EXPORT const void *drover_plugin_v2(void)
{
	return &table;
}

#elif defined(TP_NO_ENTRY)

DRV_PLUGIN_EXPORT int not_a_drover_plugin(void);

DRV_PLUGIN_EXPORT int not_a_drover_plugin(void)
{
	return 1;
}

#else
#error "build with one of TP_OK, TP_BAD_ABI, TP_V2_ONLY, TP_NO_ENTRY, TP_NO_HANDLE, TP_SMALL"
#endif
