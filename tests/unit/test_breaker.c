/*
 * test_breaker.c — the rules of a circuit breaker (drv_breaker_local_t,
 * the same rules the shared Lua scripts apply), state and breaker names,
 * and the transition message.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drover/breaker.h"

static drv_breaker_conf_t conf(void)
{
	drv_breaker_conf_t c = {
		.name = "b", .mode = DRV_BREAKER_MODE_AUTO,
		.window_ms = 5000, .min_calls = 4, .failure_rate = 50,
		.slow_call_ms = 1000, .slow_call_rate = 100,
		.wait_in_open_ms = 2000, .half_open_calls = 3,
		.half_open_successes = 2,
	};
	return c;
}

#define T0 INT64_C(1700000000000)

Test(breaker, opens_at_the_failure_rate_after_min_calls)
{
	drv_breaker_conf_t c = conf();
	drv_breaker_local_t b;
	int64_t retry = 0;

	drv_breaker_local_init(&b, &c);
	/* 3 failures: fewer than min_calls, stays closed */
	cr_assert_not(drv_breaker_local_record(&b, T0, 3, 3, 0, 0, 0));
	cr_assert_eq(b.state, DRV_BREAKER_CLOSED);
	cr_assert_eq(drv_breaker_local_acquire(&b, T0, &retry, NULL),
		     DRV_BREAKER_ALLOW);
	/* 4th call succeeds: 3/4 = 75% >= 50% opens */
	cr_assert(drv_breaker_local_record(&b, T0 + 10, 1, 0, 0, 0, 0));
	cr_assert_eq(b.state, DRV_BREAKER_OPEN);
	cr_assert_eq(b.open_until_ms, T0 + 10 + 2000);
	cr_assert_eq(drv_breaker_local_acquire(&b, T0 + 500, &retry, NULL),
		     DRV_BREAKER_REJECT);
	cr_assert_eq(retry, T0 + 2010);
	/* outcomes of calls let out before it opened do not count */
	cr_assert_not(drv_breaker_local_record(&b, T0 + 600, 5, 0, 0, 0, 0));
	cr_assert_eq(b.state, DRV_BREAKER_OPEN);
}

Test(breaker, below_the_rate_stays_closed_and_the_window_slides)
{
	drv_breaker_conf_t c = conf();
	drv_breaker_local_t b;
	uint32_t n, f, s;

	drv_breaker_local_init(&b, &c);
	cr_assert_not(drv_breaker_local_record(&b, T0, 10, 4, 0, 0, 0));
	cr_assert_eq(b.state, DRV_BREAKER_CLOSED);
	drv_breaker_local_window(&b, T0 + 4000, &n, &f, &s);
	cr_assert_eq(n, 10);
	cr_assert_eq(f, 4);
	/* 5 s later the first second has left the window */
	drv_breaker_local_window(&b, T0 + 5000, &n, &f, &s);
	cr_assert_eq(n, 0);
	/* so 3 failures out of 4 now open it although 7/14 would not */
	cr_assert(drv_breaker_local_record(&b, T0 + 5000, 4, 3, 0, 0, 0));
	cr_assert_eq(b.state, DRV_BREAKER_OPEN);
}

Test(breaker, slow_calls_open_it)
{
	drv_breaker_conf_t c = conf();
	drv_breaker_local_t b;

	c.slow_call_rate = 75;
	drv_breaker_local_init(&b, &c);
	cr_assert_not(drv_breaker_local_record(&b, T0, 4, 0, 2, 0, 0));
	cr_assert(drv_breaker_local_record(&b, T0, 4, 0, 4, 0, 0));
	cr_assert_eq(b.state, DRV_BREAKER_OPEN);
}

static void open_it(drv_breaker_local_t *b)
{
	cr_assert(drv_breaker_local_record(b, T0, 4, 4, 0, 0, 0));
}

Test(breaker, half_open_leases_exactly_the_permitted_probes)
{
	drv_breaker_conf_t c = conf();
	drv_breaker_local_t b;
	int64_t retry = 0;
	bool changed = false;
	int probes = 0;

	drv_breaker_local_init(&b, &c);
	open_it(&b);
	cr_assert_eq(drv_breaker_local_acquire(&b, T0 + 2000, &retry,
					       &changed), DRV_BREAKER_PROBE);
	cr_assert(changed);
	cr_assert_eq(b.state, DRV_BREAKER_HALF_OPEN);
	probes++;
	for (int i = 0; i < 10; i++)
		if (drv_breaker_local_acquire(&b, T0 + 2001, &retry,
					      &changed) == DRV_BREAKER_PROBE)
			probes++;
	cr_assert_eq(probes, 3);
	cr_assert_eq(retry, T0 + 2001 + 1000);
	/* one success: not yet; the second closes it */
	cr_assert_not(drv_breaker_local_record(&b, T0 + 2100, 0, 0, 0, 1, 0));
	cr_assert(drv_breaker_local_record(&b, T0 + 2100, 0, 0, 0, 1, 0));
	cr_assert_eq(b.state, DRV_BREAKER_CLOSED);
	cr_assert_eq(drv_breaker_local_acquire(&b, T0 + 2200, &retry, NULL),
		     DRV_BREAKER_ALLOW);
}

Test(breaker, failed_probes_open_it_again)
{
	drv_breaker_conf_t c = conf();
	drv_breaker_local_t b;
	int64_t retry = 0;

	drv_breaker_local_init(&b, &c);
	open_it(&b);
	for (int i = 0; i < 3; i++)
		drv_breaker_local_acquire(&b, T0 + 2000, &retry, NULL);
	/* 3 calls, 2 must succeed: one failure may still close it */
	cr_assert_not(drv_breaker_local_record(&b, T0 + 2100, 0, 0, 0, 0, 1));
	cr_assert(drv_breaker_local_record(&b, T0 + 2100, 0, 0, 0, 0, 1));
	cr_assert_eq(b.state, DRV_BREAKER_OPEN);
	cr_assert_eq(b.open_until_ms, T0 + 4100);
}

Test(breaker, unanswered_probe_leases_come_back)
{
	drv_breaker_conf_t c = conf();
	drv_breaker_local_t b;
	int64_t retry = 0;

	drv_breaker_local_init(&b, &c);
	open_it(&b);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(drv_breaker_local_acquire(&b, T0 + 2000, &retry,
						       NULL), DRV_BREAKER_PROBE);
	cr_assert_eq(drv_breaker_local_acquire(&b, T0 + 3000, &retry, NULL),
		     DRV_BREAKER_REJECT);
	/* a whole wait_in_open later the leases are given back */
	cr_assert_eq(drv_breaker_local_acquire(&b, T0 + 4000, &retry, NULL),
		     DRV_BREAKER_PROBE);
}

Test(breaker, forced_states)
{
	drv_breaker_conf_t c = conf();
	drv_breaker_local_t b;
	int64_t retry = 0;

	drv_breaker_local_init(&b, &c);
	drv_breaker_local_set(&b, DRV_BREAKER_FORCED_OPEN, T0);
	cr_assert_eq(drv_breaker_local_acquire(&b, T0 + 9000, &retry, NULL),
		     DRV_BREAKER_REJECT);
	cr_assert_eq(retry, T0 + 9000 + 2000);
	cr_assert_not(drv_breaker_local_record(&b, T0, 0, 0, 0, 5, 0));
	cr_assert_eq(b.state, DRV_BREAKER_FORCED_OPEN);

	drv_breaker_local_set(&b, DRV_BREAKER_FORCED_CLOSED, T0);
	cr_assert_not(drv_breaker_local_record(&b, T0, 100, 100, 0, 0, 0));
	cr_assert_eq(drv_breaker_local_acquire(&b, T0, &retry, NULL),
		     DRV_BREAKER_ALLOW);

	drv_breaker_local_set(&b, DRV_BREAKER_METRICS_ONLY, T0);
	cr_assert_not(drv_breaker_local_record(&b, T0, 100, 100, 0, 0, 0));
	cr_assert_eq(b.state, DRV_BREAKER_METRICS_ONLY);
	{
		uint32_t n, f, s;
		drv_breaker_local_window(&b, T0, &n, &f, &s);
		cr_assert_eq(n, 100, "metrics_only still counts");
	}
	drv_breaker_local_set(&b, DRV_BREAKER_DISABLED, T0);
	cr_assert_eq(drv_breaker_local_acquire(&b, T0, &retry, NULL),
		     DRV_BREAKER_ALLOW);
	drv_breaker_local_set(&b, DRV_BREAKER_CLOSED, T0);
	cr_assert_eq(b.state, DRV_BREAKER_CLOSED);
	open_it(&b);
}

Test(breaker, names)
{
	drv_handler_conf_t h = { .name = "pay" };
	drv_breaker_state_t s;
	char buf[80];

	for (int i = 0; i < DRV_BREAKER_STATE_CNT; i++) {
		cr_assert(drv_breaker_state_parse(
			drv_breaker_state_name((drv_breaker_state_t)i), &s));
		cr_assert_eq((int)s, i);
	}
	cr_assert_not(drv_breaker_state_parse("ajar", &s));
	cr_assert_str_eq(drv_breaker_state_name((drv_breaker_state_t)42),
			 "unknown");
	cr_assert(drv_breaker_name_valid("api.example.com:443"));
	cr_assert_not(drv_breaker_name_valid(""));
	cr_assert_not(drv_breaker_name_valid("a b"));
	drv_breaker_name_for(&h, NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "pay");
	h.breaker = "payments";
	drv_breaker_name_for(&h, "bad name", buf, sizeof(buf));
	cr_assert_str_eq(buf, "payments");
	drv_breaker_name_for(&h, "host1:443", buf, sizeof(buf));
	cr_assert_str_eq(buf, "host1:443");
}

Test(breaker, transition_message)
{
	static const char msg[] = "pay 1 1700000002000 7 1700000000000";
	drv_breaker_view_t v;

	cr_assert(drv_breaker_parse_message(msg, strlen(msg), &v));
	cr_assert_str_eq(v.name, "pay");
	cr_assert_eq(v.state, DRV_BREAKER_OPEN);
	cr_assert_eq(v.open_until_ms, INT64_C(1700000002000));
	cr_assert_eq(v.gen, 7);
	cr_assert_not(drv_breaker_parse_message("pay 9 1 1 1", 11, &v));
	cr_assert_not(drv_breaker_parse_message("pay 1 x", 7, &v));
	cr_assert_not(drv_breaker_parse_message("nospace", 7, &v));
}
