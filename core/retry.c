/*
 * retry.c — retry backoff. A seedable xoroshiro128++ generator that each
 * runner thread owns (so delays need no lock and tests are reproducible),
 * the delay before each retry under a policy (exponential growth with a
 * cap, then none / full / equal / decorrelated jitter), and the "may it run
 * again?" test against max_attempts. All arithmetic saturates: no retry
 * number, multiplier or previous delay can overflow.
 */
#include <errno.h>
#include <math.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "drover/retry.h"

/* --- generator ------------------------------------------------------------ */

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads one 64-bit seed over the 128-bit state, as the
 * xoroshiro authors recommend. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 64 bits from getrandom(2), or from clocks and the pid if it fails. */
static uint64_t random_seed(void)
{
	uint64_t seed = 0;
	int saved_errno = errno;
	ssize_t r;

	do
		r = getrandom(&seed, sizeof(seed), 0);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(seed)) {
		struct timespec rt, mt;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mt);
		seed ^= (uint64_t)rt.tv_sec * 1000000007ULL ^
			(uint64_t)rt.tv_nsec ^ ((uint64_t)mt.tv_nsec << 20) ^
			((uint64_t)getpid() << 42) ^ (uint64_t)(uintptr_t)&seed;
	}
	errno = saved_errno;
	return seed ? seed : 1;
}

void drv_rng_seed(drv_rng_t *r, uint64_t seed)
{
	uint64_t x = seed ? seed : random_seed();

	r->s[0] = splitmix64(&x);
	r->s[1] = splitmix64(&x);
	if (!r->s[0] && !r->s[1]) /* the one state xoroshiro cannot leave */
		r->s[0] = 1;
}

uint64_t drv_rng_next(drv_rng_t *r)
{
	uint64_t s0 = r->s[0], s1 = r->s[1];
	uint64_t out = rotl(s0 + s1, 17) + s0;

	s1 ^= s0;
	r->s[0] = rotl(s0, 49) ^ s1 ^ (s1 << 21);
	r->s[1] = rotl(s1, 28);
	return out;
}

int64_t drv_rng_range(drv_rng_t *r, int64_t lo, int64_t hi)
{
	uint64_t span, n, limit, x;

	if (hi <= lo)
		return lo;
	/* hi - lo as unsigned never overflows; the offset is added back in
	 * unsigned arithmetic and lands in [lo, hi]. */
	span = (uint64_t)hi - (uint64_t)lo;
	if (span == UINT64_MAX)
		return (int64_t)drv_rng_next(r);
	n = span + 1;
	/* Reject the top (2^64 mod n) values so every result is equally
	 * likely; fewer than half are rejected, usually almost none. */
	limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
	do
		x = drv_rng_next(r);
	while (x > limit);
	return (int64_t)((uint64_t)lo + x % n);
}

/* --- backoff ---------------------------------------------------------------- */

/* The policy's numbers made safe to compute with (see retry.h). */
typedef struct backoff {
	int64_t base;
	int64_t cap;
	double  mult;
} backoff_t;

static backoff_t backoff_of(const drv_retry_policy_t *p)
{
	backoff_t b;

	b.base = p->base_delay_ms > 0 ? p->base_delay_ms : 0;
	b.cap = p->max_delay_ms > b.base ? p->max_delay_ms : b.base;
	/* !(x >= 1) also catches NaN */
	b.mult = !(p->multiplier >= 1.0) ? 1.0 : p->multiplier;
	return b;
}

/* min(cap, base * mult^(retry-1)), rounded to the nearest ms. */
static int64_t nominal_delay(const backoff_t *b, uint32_t retry)
{
	double d;

	if (b->base == 0 || b->mult == 1.0 || retry <= 1)
		return b->base;
	d = (double)b->base * pow(b->mult, (double)(retry - 1));
	/* inf for huge exponents; cap <= INT64_MAX, so d < cap converts */
	if (!(d < (double)b->cap))
		return b->cap;
	d = floor(d + 0.5);
	return d < (double)b->cap ? (int64_t)d : b->cap;
}

/* a * 3 without overflow */
static int64_t times3(int64_t a)
{
	return a > INT64_MAX / 3 ? INT64_MAX : a * 3;
}

int64_t drv_retry_delay(const drv_retry_policy_t *p, uint32_t retry,
			int64_t prev_ms, drv_rng_t *rng)
{
	backoff_t b = backoff_of(p);
	int64_t nominal, prev, hi, half, d;

	switch (p->jitter) {
	case DRV_JITTER_FULL:
		nominal = nominal_delay(&b, retry);
		return rng ? drv_rng_range(rng, 0, nominal) : nominal;
	case DRV_JITTER_EQUAL:
		nominal = nominal_delay(&b, retry);
		half = nominal / 2;
		return rng ? half + drv_rng_range(rng, 0, nominal - half)
			   : nominal;
	case DRV_JITTER_DECORRELATED:
		prev = retry <= 1 || prev_ms <= 0 ? b.base : prev_ms;
		hi = times3(prev);
		if (hi < b.base)
			hi = b.base;
		/* As AWS has it: draw, then cap (so once the delays reach
		 * the cap, most of them are the cap). */
		d = rng ? drv_rng_range(rng, b.base, hi) : hi;
		return d < b.cap ? d : b.cap;
	case DRV_JITTER_NONE:
	default:
		return nominal_delay(&b, retry);
	}
}

int64_t drv_retry_after_delay(const drv_retry_policy_t *p,
			      int64_t policy_delay_ms, int64_t retry_after_ms,
			      int64_t now_ms, int64_t deadline_ms)
{
	backoff_t b = backoff_of(p);
	int64_t d = policy_delay_ms > 0 ? policy_delay_ms : 0;
	int64_t asked = retry_after_ms < b.cap ? retry_after_ms : b.cap;

	if (deadline_ms) {
		/* deadline - now, computed in uint64_t: exact when positive
		 * (below 2^64), then saturated */
		uint64_t left = deadline_ms > now_ms ?
			(uint64_t)deadline_ms - (uint64_t)now_ms : 0;

		if (left < (uint64_t)INT64_MAX && asked > (int64_t)left)
			asked = (int64_t)left;
	}
	return asked > d ? asked : d;
}

bool drv_retry_allowed(const drv_retry_policy_t *p, uint32_t attempts_made,
		       uint32_t max_attempts_override)
{
	uint32_t max = max_attempts_override ? max_attempts_override
					     : p ? p->max_attempts : 0;

	return attempts_made < max;
}
