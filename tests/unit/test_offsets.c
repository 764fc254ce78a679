/*
 * Unit tests for the worker's commit-point tracker: out-of-order completion
 * must never move the commit point past an unfinished task.
 */
#include <criterion/criterion.h>

#include "../../worker/offsets.h"

Test(offsets, commit_point_waits_for_oldest)
{
	offsets_t *o = offsets_new();

	for (int64_t off = 10; off < 15; off++)
		cr_assert_eq(1, offsets_add(o, "t", 0, off));
	cr_assert_eq(offsets_pending(o, NULL, 0), 5);
	cr_assert_eq(offsets_done(o, "t", 0, 12), -1, "12 done, 10 still running");
	cr_assert_eq(offsets_done(o, "t", 0, 11), -1);
	cr_assert_eq(offsets_done(o, "t", 0, 10), 13, "10..12 done: commit 13");
	cr_assert_eq(offsets_done(o, "t", 0, 14), -1);
	cr_assert_eq(offsets_done(o, "t", 0, 13), 15);
	cr_assert_eq(offsets_pending(o, NULL, 0), 0);
	offsets_destroy(o);
}

Test(offsets, partitions_are_independent)
{
	offsets_t *o = offsets_new();

	offsets_add(o, "a", 0, 5);
	offsets_add(o, "a", 1, 5);
	offsets_add(o, "b", 0, 7);
	cr_assert_eq(offsets_pending(o, "a", 1), 1);
	cr_assert_eq(offsets_done(o, "a", 1, 5), 6);
	cr_assert_eq(offsets_pending(o, "a", 0), 1);
	cr_assert_eq(offsets_done(o, "b", 0, 7), 8);
	cr_assert_eq(offsets_done(o, "a", 0, 5), 6);
	offsets_destroy(o);
}

Test(offsets, unknown_and_forgotten_offsets_commit_nothing)
{
	offsets_t *o = offsets_new();

	offsets_add(o, "t", 3, 100);
	cr_assert_eq(offsets_done(o, "t", 3, 99), -1);
	cr_assert_eq(offsets_done(o, "x", 3, 100), -1);
	offsets_forget(o, "t", 3);
	cr_assert_eq(offsets_done(o, "t", 3, 100), -1, "revoked partition");
	cr_assert_eq(offsets_pending(o, NULL, 0), 0);
	offsets_destroy(o);
}

Test(offsets, many_in_flight_grow_and_slide)
{
	offsets_t *o = offsets_new();
	int64_t commit = -1;

	/* finish in reverse order: only the last completion moves the point */
	for (int64_t off = 0; off < 1000; off++)
		cr_assert_eq(1, offsets_add(o, "t", 0, off));
	for (int64_t off = 999; off > 0; off--)
		cr_assert_eq(offsets_done(o, "t", 0, off), -1);
	commit = offsets_done(o, "t", 0, 0);
	cr_assert_eq(commit, 1000);
	/* pairs finish newest first, so the array keeps sliding */
	for (int64_t off = 1000; off < 5000; off++) {
		cr_assert_eq(1, offsets_add(o, "t", 0, off));
		if (off % 2) {
			cr_assert_eq(offsets_done(o, "t", 0, off), -1);
			cr_assert_eq(offsets_done(o, "t", 0, off - 1), off + 1);
		}
	}
	cr_assert_eq(offsets_pending(o, NULL, 0), 0);
	offsets_destroy(o);
}

Test(offsets, redelivered_offsets_are_refused)
{
	offsets_t *o = offsets_new();

	cr_assert_eq(offsets_add(o, "t", 0, 5), 1);
	cr_assert_eq(offsets_add(o, "t", 0, 6), 1);
	cr_assert_eq(offsets_add(o, "t", 0, 6), 0, "same offset again");
	cr_assert_eq(offsets_add(o, "t", 0, 3), 0, "rewound");
	cr_assert_eq(offsets_done(o, "t", 0, 5), 6);
	cr_assert_eq(offsets_done(o, "t", 0, 6), 7);
	cr_assert_eq(offsets_add(o, "t", 0, 6), 0, "even after it ended");
	cr_assert_eq(offsets_add(o, "t", 0, 7), 1);
	offsets_forget(o, "t", 0);
	cr_assert_eq(offsets_add(o, "t", 0, 3), 1, "a new assignment starts over");
	offsets_destroy(o);
}
