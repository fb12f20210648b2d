/* check_overhead - the tracing cost estimate the overhead governor acts on. */
#include "config.h"

#include <errno.h>

#include "check_main.h"
#include "verdict/overhead.h"

#define S(n) ((uint64_t)(n) * 1000000000ULL)
#define MS(n) ((uint64_t)(n) * 1000000ULL)

START_TEST(test_breakpoint)
{
	/* 10 s, 2000 stops/s (45 us each: 0.9 s/s), the process's own CPU 0.1 s/s */
	struct overhead_point a = { S(100), S(3), 1000, 500 };
	struct overhead_point b = { S(110), S(4), 1000 + 7000, 500 + 20000 };
	struct overhead_estimate e;

	ck_assert_int_eq(overhead_estimate(&a, &b, &e), 0);
	ck_assert_double_eq_tol(e.span_s, 10, 1e-9);
	ck_assert_double_eq_tol(e.cost_per_s, (20000 * 45e-6 + 7000 * 50e-9) / 10, 1e-9);
	ck_assert_double_eq_tol(e.share, (0.9 + 0.00035) / (1.0 + 0.9), 1e-6);
	ck_assert(overhead_is_over(&e, 0.05));
	ck_assert(!overhead_is_over(&e, 0.5));
	ck_assert(!overhead_is_over(&e, 0)); /* 0: no budget */
}
END_TEST

START_TEST(test_agent)
{
	/* 100k events/s for 5 s (5 ms/s), a process busy on one CPU: 0.5% */
	struct overhead_point a = { S(0), S(0), 0, 3 };
	struct overhead_point b = { S(5), S(5), 500000, 3 };
	struct overhead_estimate e;

	ck_assert_int_eq(overhead_estimate(&a, &b, &e), 0);
	ck_assert_double_eq_tol(e.share, 0.005, 1e-9);
	ck_assert(!overhead_is_over(&e, 0.05));
	ck_assert(overhead_is_over(&e, 0.001));
	/* the same calls in a process that hardly runs: the share is capped at all of its CPU */
	b.cpu_ns = MS(1);
	ck_assert_int_eq(overhead_estimate(&a, &b, &e), 0);
	ck_assert_double_eq_tol(e.share, 1.0, 1e-9);
}
END_TEST

START_TEST(test_small_cost)
{
	/* a mostly idle process: 20 events/s, 0.2 ms of CPU per second: a large share of nothing */
	struct overhead_point a = { S(0), 0, 0, 0 };
	struct overhead_point b = { S(10), MS(2), 200, 0 };
	struct overhead_estimate e;

	ck_assert_int_eq(overhead_estimate(&a, &b, &e), 0);
	ck_assert(e.share > 0.004);
	ck_assert(!overhead_is_over(&e, 0.001)); /* 1 us/s is below the floor */
	b.events = 0;
	ck_assert_int_eq(overhead_estimate(&a, &b, &e), 0);
	ck_assert_double_eq_tol(e.share, 0, 1e-12);
}
END_TEST

START_TEST(test_bad)
{
	struct overhead_point a = { S(5), S(1), 10, 10 };
	struct overhead_point b = a;
	struct overhead_estimate e;

	ck_assert_int_eq(overhead_estimate(&a, &b, &e), -EINVAL); /* no time passed */
	b.t_ns = S(6);
	b.events = 5; /* a new trace: counters restarted */
	ck_assert_int_eq(overhead_estimate(&a, &b, &e), -EINVAL);
	b.events = 10;
	b.cpu_ns = 0;
	ck_assert_int_eq(overhead_estimate(&a, &b, &e), -EINVAL);
}
END_TEST

static Suite *overhead_suite(void)
{
	Suite *s = suite_create("overhead");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_breakpoint);
	tcase_add_test(tc, test_agent);
	tcase_add_test(tc, test_small_cost);
	tcase_add_test(tc, test_bad);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(overhead_suite)
