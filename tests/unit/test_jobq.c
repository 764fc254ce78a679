/*
 * Unit tests for the runners' queue by band: a task of a higher band taken
 * later still starts before the lower ones already waiting, each band keeps
 * its own order, busy bands share the runners by weight, and a job past the
 * starvation bound goes first.
 */
#include <criterion/criterion.h>

#include "drover/clock.h"
#include "../../worker/worker.h"

static job_t jobs[400];

static job_t *job(int i, size_t band)
{
	jobs[i].band = band;
	jobs[i].queued_ms = 0;
	return &jobs[i];
}

static int pop_index(jobq_t *q)
{
	job_t *j = jobq_pop(q);

	return j ? (int)(j - jobs) : -1;
}

Test(jobq, higher_band_first_each_band_in_order)
{
	jobq_t q = { 0 };

	jobq_push(&q, job(0, 2));
	jobq_push(&q, job(1, 2));
	jobq_push(&q, job(2, 1));
	jobq_push(&q, job(3, 0));
	jobq_push(&q, job(4, 0));
	cr_assert_eq(pop_index(&q), 3);
	cr_assert_eq(pop_index(&q), 4);
	cr_assert_eq(pop_index(&q), 2);
	cr_assert_eq(pop_index(&q), 0);
	cr_assert_eq(pop_index(&q), 1);
	cr_assert_eq(pop_index(&q), -1, "empty");
}

Test(jobq, move_appends_band_by_band_and_empties_the_source)
{
	jobq_t todo = { 0 }, hand = { 0 };

	jobq_push(&todo, job(0, 2));
	jobq_push(&todo, job(1, 0));
	jobq_push(&hand, job(2, 2));
	jobq_push(&hand, job(3, 0));
	jobq_push(&hand, job(4, 1));
	jobq_move(&todo, &hand);
	cr_assert_null(jobq_pop(&hand));
	cr_assert_eq(pop_index(&todo), 1);
	cr_assert_eq(pop_index(&todo), 3, "after the high one already there");
	cr_assert_eq(pop_index(&todo), 4);
	cr_assert_eq(pop_index(&todo), 0);
	cr_assert_eq(pop_index(&todo), 2);
	cr_assert_eq(pop_index(&todo), -1);
	/* a queue emptied by pops takes jobs again */
	jobq_push(&todo, job(5, 1));
	cr_assert_eq(pop_index(&todo), 5);
}

Test(jobq, unknown_band_counts_as_the_lowest)
{
	jobq_t q = { 0 };

	jobq_push(&q, job(0, 7));
	jobq_push(&q, job(1, 2));
	jobq_push(&q, job(2, 1));
	cr_assert_eq(pop_index(&q), 2);
	cr_assert_eq(pop_index(&q), 0);
	cr_assert_eq(pop_index(&q), 1);
}

Test(jobq, busy_bands_share_by_weight)
{
	jobq_t q = { .wrr = { .weight = { 70, 25, 5 } } };
	int per_band[3] = { 0 };

	for (int i = 0; i < 300; i++)
		jobq_push(&q, job(i, (size_t)(i % 3)));
	/* 100 in each band: the first 100 taken go 70 / 25 / 5 */
	for (int i = 0; i < 100; i++)
		per_band[jobq_pop(&q)->band]++;
	cr_assert_eq(per_band[0], 70);
	cr_assert_eq(per_band[1], 25);
	cr_assert_eq(per_band[2], 5);
}

Test(jobq, a_job_past_the_bound_goes_first)
{
	jobq_t q = { .wrr = { .weight = { 70, 25, 0 }, .bound_ms = 1000 } };

	jobq_push(&q, job(0, 0));
	jobq_push(&q, job(1, 2));
	cr_assert_eq(pop_index(&q), 0, "weight 0 waits while under the bound");
	jobq_push(&q, job(2, 0));
	jobs[1].queued_ms = drv_mono_ms() - 1500;
	cr_assert_eq(pop_index(&q), 1, "waited 1.5 s with a 1 s bound");
	cr_assert_eq(pop_index(&q), 2);
}
