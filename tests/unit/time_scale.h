/*
 * time_scale.h — time bounds in unit tests tell "never waits" or "stays
 * linear" from "waited for a timeout" or "blew up". Under valgrind on a
 * loaded machine everything is slower: scripts/test sets
 * DROVER_TEST_TIME_SCALE to stretch the bounds (and the timeouts they are
 * measured against) alike.
 */
#ifndef DROVER_TEST_TIME_SCALE_H
#define DROVER_TEST_TIME_SCALE_H

#include <stdint.h>
#include <stdlib.h>

/* \p ms times DROVER_TEST_TIME_SCALE (1 when unset or not positive). */
static inline int64_t scaled(int64_t ms)
{
	const char *f = getenv("DROVER_TEST_TIME_SCALE");
	long long k = f ? strtoll(f, NULL, 10) : 1;

	return ms * (k > 0 ? k : 1);
}

#endif
