/*
 * park.c — tasks waiting for a half-open breaker's probes wait here, in
 * memory, instead of on the delay topics; so do tasks whose start under a
 * rate limit is near (limits.c), each until its own time.
 *
 * While a breaker is half-open its few probes decide, usually within one
 * call's time, whether it closes or opens again. A task turned away then
 * used to go to a delay tier and come back a second later, over and over:
 * 10,000 waiting tasks cost 10,000 produces and consumes a second. Parked,
 * it costs nothing until the breaker changes state (breakers.c kicks us)
 * or the probes' leases may have lapsed (a probe that hangs, or whose
 * worker died, is replaced after the breaker's wait_in_open), and runs the
 * moment the breaker closes.
 *
 * A parked job is still in flight: its offset is not stored, so a crash
 * runs it again (at-least-once), and every finished task behind it in its
 * partition waits for the commit. So a job parks at most PARK_MAX_MS in
 * all, at most PARK_CAP jobs park at once, and a revocation or a shutdown
 * sends the parked jobs of its partitions to the delay tiers at once. What
 * cannot park waits on the delay tiers as before.
 *
 * @locality main thread, except park_kick() (any thread).
 */
#include <string.h>

#include "drover/clock.h"
#include "worker.h"

#define PARK_MAX_MS 10000  /* in all, per job: then the delay tiers */
#define PARK_CAP    1024   /* jobs parked at once, per worker */

int64_t park_until(const job_t *job, int64_t now_mono, int64_t lease_ms)
{
	int64_t since = job->parked_ms ? job->parked_ms : now_mono;
	int64_t until = now_mono + lease_ms;

	if (now_mono - since >= PARK_MAX_MS)
		return 0;
	return until < since + PARK_MAX_MS ? until : since + PARK_MAX_MS;
}

/* The flag is set even with nothing parked: a job turned away just before
 * this transition may be on its way to park_add(), and must ask again at
 * once rather than sleep through the change it missed. */
void park_kick(worker_t *w)
{
	__atomic_store_n(&w->park_kicked, true, __ATOMIC_RELAXED);
	if (__atomic_load_n(&w->parked_cnt, __ATOMIC_RELAXED))
		worker_wake(w);
}

void park_add(worker_t *w, job_t *job)
{
	int64_t now = drv_mono_ms();

	if (w->parked_cnt >= PARK_CAP) {
		job->step = STEP_RELEASE;  /* not_before_ms was set for it */
		forward_start(w, job);
		return;
	}
	if (!job->parked_ms)
		job->parked_ms = now;
	job->next = w->parked;
	w->parked = job;
	__atomic_store_n(&w->parked_cnt, w->parked_cnt + 1, __ATOMIC_RELAXED);
	w->stats.parked++;
	if (!w->park_due || job->park_until < w->park_due)
		w->park_due = job->park_until;
}

/* Take the parked jobs \p take says yes to off the list, in the order
 * they parked; the rest stay (and set the next due time). */
static job_t *unpark(worker_t *w,
		     bool (*take)(const job_t *, const void *), const void *arg)
{
	job_t *out = NULL, **keep = &w->parked;

	w->park_due = 0;
	while (*keep) {
		job_t *j = *keep;

		if (!take(j, arg)) {
			if (!w->park_due || j->park_until < w->park_due)
				w->park_due = j->park_until;
			keep = &j->next;
			continue;
		}
		*keep = j->next;
		j->next = out;  /* reversed: newest parked first ... */
		out = j;        /* ... so this list is oldest first */
		__atomic_store_n(&w->parked_cnt, w->parked_cnt - 1,
				 __ATOMIC_RELAXED);
	}
	return out;
}

typedef struct wake {
	int64_t now;
	bool    kicked;
} wake_t;

/* Its park is over, or a breaker moved and it waits for breakers. */
static bool woken(const job_t *job, const void *arg)
{
	const wake_t *k = arg;

	return job->park_until <= k->now || (k->kicked && !job->park_limit);
}

void park_serve(worker_t *w)
{
	wake_t k;
	job_t *j;

	if (!w->parked)
		return;
	k.kicked = __atomic_exchange_n(&w->park_kicked, false,
				       __ATOMIC_RELAXED);
	k.now = drv_mono_ms();
	if (!k.kicked && k.now < w->park_due)
		return;
	/* ask the breakers (or the limits) again; a job past PARK_MAX_MS
	 * that is still turned away goes to a delay tier */
	for (j = unpark(w, woken, &k); j;) {
		job_t *next = j->next;

		j->next = NULL;
		job_hand(w, j);
		j = next;
	}
}

static bool in_parts(const job_t *job, const void *arg)
{
	const rd_kafka_topic_partition_list_t *parts = arg;

	if (!parts)
		return true;
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].partition == job->msg->partition &&
		    !strcmp(parts->elems[i].topic,
			    rd_kafka_topic_name(job->msg->rkt)))
			return true;
	return false;
}

void park_release(worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
	job_t *j = unpark(w, in_parts, parts);

	while (j) {
		job_t *next = j->next;

		j->next = NULL;
		j->step = STEP_RELEASE;
		forward_start(w, j);
		j = next;
	}
}
