/*
 * jobq.c — the order of work by band: the weighted round robin that both
 * the fetch (bands.c) and the runners' queue use, and that queue.
 *
 * A worker holds more tasks than it runs (its read-ahead). Were that hand
 * first in, first out, a high task taken while the runners still hold low
 * ones would wait for all of them: with one-second tasks and 16 in hand,
 * 4 s. So each band has its own list, and a runner takes the next job by
 * the same weights and starvation bound that decide what is fetched: with
 * every band busy the shares are the weights', and a lone high task goes
 * next.
 *
 * @locality the caller's: `hand` is the main thread's, `todo` is guarded
 * by the worker's lock.
 */
#include "drover/clock.h"
#include "worker.h"

int wrr_pick(wrr_t *r, size_t cnt, const int64_t *since, int64_t now,
	     bool *starved)
{
	int64_t total = 0;
	int best = -1, oldest = -1;

	for (size_t i = 0; i < cnt; i++) {
		if (!since[i])
			continue;
		if (r->bound_ms && now - since[i] >= r->bound_ms &&
		    (oldest < 0 || since[i] < since[oldest]))
			oldest = (int)i;
		r->current[i] += r->weight[i];
		total += r->weight[i];
		if (best < 0 || r->current[i] > r->current[best])
			best = (int)i;
	}
	*starved = oldest >= 0;
	if (oldest >= 0)
		best = oldest;
	if (best >= 0)
		r->current[best] -= total;
	return best;
}

void jobq_push(jobq_t *q, job_t *job)
{
	size_t b = job->band < JOBQ_BANDS ? job->band : JOBQ_BANDS - 1;

	job->next = NULL;
	if (!job->queued_ms)
		job->queued_ms = drv_mono_ms();
	if (q->tail[b])
		q->tail[b]->next = job;
	else
		q->head[b] = job;
	q->tail[b] = job;
}

job_t *jobq_pop(jobq_t *q)
{
	int64_t since[JOBQ_BANDS];
	bool starved;
	job_t *job;
	int b;

	for (size_t i = 0; i < JOBQ_BANDS; i++)
		since[i] = q->head[i] ? q->head[i]->queued_ms : 0;
	if ((b = wrr_pick(&q->wrr, JOBQ_BANDS, since, drv_mono_ms(),
			  &starved)) < 0)
		return NULL;
	job = q->head[b];
	if (!(q->head[b] = job->next))
		q->tail[b] = NULL;
	job->next = NULL;
	return job;
}

void jobq_move(jobq_t *to, jobq_t *from)
{
	for (size_t b = 0; b < JOBQ_BANDS; b++) {
		if (!from->head[b])
			continue;
		if (to->tail[b])
			to->tail[b]->next = from->head[b];
		else
			to->head[b] = from->head[b];
		to->tail[b] = from->tail[b];
		from->head[b] = from->tail[b] = NULL;
	}
}
