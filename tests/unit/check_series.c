#include "config.h"

#include <errno.h>

#include "check_main.h"
#include "verdict/detect.h"
#include "verdict/series.h"

START_TEST(test_append_and_decimate)
{
	struct series s;

	ck_assert_int_eq(series_init(&s, 8), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(series_append(&s, i, i * 10), 1);
	ck_assert_uint_eq(s.n, 8);
	/* a time that does not move forward is ignored */
	ck_assert_int_eq(series_append(&s, 7, 99), 0);
	ck_assert_uint_eq(s.n, 8);
	/* full: thinned to every other point, then appended */
	ck_assert_int_eq(series_append(&s, 8, 80), 1);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_uint_eq(s.decimations, 1);
	ck_assert_double_eq(s.t[0], 0);
	ck_assert_double_eq(s.t[1], 2);
	ck_assert_double_eq(s.t[3], 6);
	ck_assert_double_eq(s.t[4], 8);
	ck_assert_double_eq(s.y[4], 80);
	series_done(&s);
	ck_assert_int_eq(series_init(&s, 2), -EINVAL);
}
END_TEST

START_TEST(test_detect_rss)
{
	struct series s;
	struct rss_verdict v;
	double threshold = 1024.0; /* 1 KiB/s */

	ck_assert_int_eq(series_init(&s, 64), 0);
	/* too few points: never an alert, even when steep */
	for (int i = 0; i < DETECT_RSS_MIN_POINTS - 1; i++)
		series_append(&s, i, 1e6 + i * 1e6);
	ck_assert_int_eq(detect_rss(&s, threshold, &v), 0);
	ck_assert(!v.should_alert);
	for (int i = DETECT_RSS_MIN_POINTS - 1; i < 20; i++)
		series_append(&s, i, 1e6 + i * 1e6);
	ck_assert_int_eq(detect_rss(&s, threshold, &v), 0);
	ck_assert(v.should_alert);
	ck_assert_int_eq(v.recent.direction, TREND_RISING);
	ck_assert_double_eq_tol(v.recent.slope, 1e6, 1.0);
	/* a rise slower than the threshold is not an alert */
	ck_assert_int_eq(detect_rss(&s, 2e6, &v), 0);
	ck_assert(!v.should_alert);
	series_done(&s);

	/* growth that stopped: the recent window is flat */
	ck_assert_int_eq(series_init(&s, 512), 0);
	for (int i = 0; i < 200; i++)
		series_append(&s, i, i < 50 ? i * 1e6 : 50e6 + (i % 3) * 4096);
	ck_assert_int_eq(detect_rss(&s, threshold, &v), 0);
	ck_assert(!v.should_alert);
	ck_assert_int_eq(v.recent.direction, TREND_FLAT);
	series_done(&s);
	ck_assert_int_eq(detect_rss(NULL, threshold, &v), -EINVAL);
}
END_TEST

static Suite *series_suite(void)
{
	Suite *s = suite_create("series");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_decimate);
	tcase_add_test(tc, test_detect_rss);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(series_suite)
