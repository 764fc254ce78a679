/*
 * plugin_call.c — a plugin call the runner can give up on.
 *
 * Each runner hands its calls to a thread of its own (made on its first
 * call) and waits for the reply with a deadline: the handler's timeout
 * plus DRV_PLUGIN_GRACE_MS. A plugin cannot be interrupted, so at the
 * deadline the runner leaves the thread to the call: the thread keeps
 * the task's memory (the runner takes a deep copy for itself), frees it
 * and itself when handle() returns, and the runner makes a new thread for
 * its next call. The hand-over costs two wake-ups per call.
 *
 *   runner                          caller thread
 *   ------                          -------------
 *   c->task = *t, c->p = p, signal
 *   wait (deadline, stop every      drv_plugin_run(p, &c->task, &c->res)
 *   100 ms)                         done: signal (or, given up: free all)
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/clock.h"
#include "drover/plugin_host.h"
#include "drover/str.h"
#include "plugin_int.h"

/* How often a waiting runner asks its stop callback. */
#define STOP_POLL_MS 100

struct drv_plugin_caller {
	pthread_t       thread;
	pthread_mutex_t lock;
	pthread_cond_t  cond;         /* CLOCK_MONOTONIC */
	drv_plugin_handle_t *p;       /* the call asked for; NULL: none */
	drv_task_t      task;         /* a shallow copy of the runner's task;
					 owns its memory once given up on */
	drv_result_t    res;
	bool            done;         /* the call returned */
	bool            given_up;     /* the runner went on without it */
	bool            quit;
};

static void caller_destroy(drv_plugin_caller_t *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

static void *caller_main(void *arg)
{
	drv_plugin_caller_t *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		drv_plugin_handle_t *p;

		while (!c->p && !c->quit)
			pthread_cond_wait(&c->cond, &c->lock);
		if (!c->p)
			break;
		p = c->p;
		pthread_mutex_unlock(&c->lock);
		drv_plugin_run(p, &c->task, &c->res);
		pthread_mutex_lock(&c->lock);
		c->p = NULL;
		if (c->given_up) {
			pthread_mutex_unlock(&c->lock);
			drv_task_release(&c->task);
			__atomic_sub_fetch(&p->hung, 1, __ATOMIC_RELAXED);
			caller_destroy(c);
			return NULL;
		}
		c->done = true;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static drv_plugin_caller_t *caller_new(void)
{
	drv_plugin_caller_t *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (!c)
		return NULL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&c->thread, NULL, caller_main, c)) {
		caller_destroy(c);
		return NULL;
	}
	return c;
}

/* Wait on \p c until \p mono_ms (CLOCK_MONOTONIC ms). */
static void wait_until(drv_plugin_caller_t *c, int64_t mono_ms)
{
	struct timespec ts = {
		.tv_sec = mono_ms / 1000,
		.tv_nsec = (mono_ms % 1000) * 1000000L,
	};

	pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

void drv_plugin_call(drv_plugin_caller_t **cp, drv_plugin_handle_t *p,
		     drv_task_t *t, bool (*stop)(void *arg), void *stop_arg,
		     drv_result_t *res)
{
	drv_plugin_caller_t *c = *cp ? *cp : (*cp = caller_new());
	int64_t start = drv_mono_ms();
	int64_t deadline = start + p->timeout_ms + DRV_PLUGIN_GRACE_MS;
	bool stopped = false;
	drv_task_t mine;

	if (!c || !p->timeout_ms) {   /* no thread: as before, unbounded */
		drv_plugin_run(p, t, res);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->task = *t;
	c->done = false;
	c->p = p;
	pthread_cond_broadcast(&c->cond);
	while (!c->done) {
		int64_t now = drv_mono_ms();

		if (now >= deadline || (stopped = stop && stop(stop_arg)))
			break;
		wait_until(c, now + STOP_POLL_MS < deadline ?
			   now + STOP_POLL_MS : deadline);
	}
	if (c->done) {
		*res = c->res;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	/* give up: the thread keeps what t owns, t gets a copy */
	drv_task_init(&mine);
	if (drv_task_copy(&mine, t) != DRV_OK) {
		while (!c->done)  /* no memory to leave it: wait it out */
			pthread_cond_wait(&c->cond, &c->lock);
		*res = c->res;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	*t = mine;
	c->given_up = true;
	__atomic_add_fetch(&p->hung, 1, __ATOMIC_RELAXED);
	pthread_detach(c->thread);
	pthread_mutex_unlock(&c->lock);
	*cp = NULL;

	memset(res, 0, sizeof(*res));
	res->failure = DRV_FAILURE_TIMEOUT;
	res->duration_ms = drv_mono_ms() - start;
	if (stopped)
		drv_strlcpy(res->message, "plugin call abandoned at shutdown",
			    sizeof(res->message));
	else
		drv_fmt(res->message, sizeof(res->message),
			"plugin %s did not return within its timeout of %lld ms "
			"(+%d ms grace); the call is left running on its own "
			"thread", p->name, (long long)p->timeout_ms,
			DRV_PLUGIN_GRACE_MS);
}

void drv_plugin_caller_free(drv_plugin_caller_t *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	caller_destroy(c);
}
