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

/* Issue 12, defect 9: a process that grew 60 KiB in steps during its first 30 s (a warm-up) and
 * was flat for its last 16 samples was reported "rising". The whole window rises; its tail does
 * not: flat, whatever the alert threshold. */
START_TEST(test_detect_rss_warmup_then_flat)
{
	struct series s;
	struct rss_verdict v;
	const double base = 9.0 * 1048576;

	ck_assert_int_eq(series_init(&s, SERIES_DEFAULT_CAP), 0);
	for (int i = 0; i < 15; i++) /* 2 s interval: 30 s of 4 KiB steps */
		series_append(&s, 2.0 * i, base + 4096.0 * (i + 1));
	for (int i = 15; i < 31; i++)
		series_append(&s, 2.0 * i, base + 60 * 1024.0);
	/* 1 B/s: the size rule never applies, the recency rule alone decides */
	ck_assert_int_eq(detect_rss(&s, 1.0, &v), 0);
	ck_assert_int_eq(v.window_direction, TREND_RISING); /* what was reported before */
	ck_assert_int_eq(v.tail.direction, TREND_FLAT);
	ck_assert_uint_eq(v.tail.n, 10);
	ck_assert_int_eq(v.recent.direction, TREND_FLAT);
	ck_assert(!v.should_alert);
	ck_assert_int_eq(detect_rss(&s, 64.0 * 1048576 / 3600, &v), 0);
	ck_assert_int_eq(v.recent.direction, TREND_FLAT);
	/* and it grows again: rising once the tail rises too */
	for (int i = 31; i < 45; i++)
		series_append(&s, 2.0 * i, base + 60 * 1024.0 + 65536.0 * (i - 30));
	ck_assert_int_eq(detect_rss(&s, 1.0, &v), 0);
	ck_assert_int_eq(v.tail.direction, TREND_RISING);
	ck_assert_int_eq(v.recent.direction, TREND_RISING);
	ck_assert(v.should_alert);
	series_done(&s);

	/* the same holds for a shrink that stopped */
	ck_assert_int_eq(series_init(&s, SERIES_DEFAULT_CAP), 0);
	for (int i = 0; i < 31; i++)
		series_append(&s, 2.0 * i, base - 4096.0 * (i < 15 ? i : 15));
	ck_assert_int_eq(detect_rss(&s, 1.0, &v), 0);
	ck_assert_int_eq(v.window_direction, TREND_FALLING);
	ck_assert_int_eq(v.recent.direction, TREND_FLAT);
	series_done(&s);
}
END_TEST

/* A steady rise that is a negligible fraction of the RSS over the window is not "rising" unless
 * it reaches the alert threshold; the same rise in a small process is. */
START_TEST(test_detect_rss_negligible)
{
	const double default_threshold = 64.0 * 1048576 / 3600; /* 64 MiB/h = 18641 B/s */
	struct series s;
	struct rss_verdict v;

	ck_assert_int_eq(series_init(&s, SERIES_DEFAULT_CAP), 0);
	for (int i = 0; i < 60; i++) /* 4 KiB/s for a minute: 240 KiB of 1 GiB */
		series_append(&s, i, 1073741824.0 + 4096.0 * i);
	ck_assert_int_eq(detect_rss(&s, default_threshold, &v), 0);
	ck_assert_int_eq(v.window_direction, TREND_RISING);
	ck_assert_int_eq(v.tail.direction, TREND_RISING);
	ck_assert_double_eq_tol(v.window_change_bytes, 59 * 4096.0, 1.0);
	ck_assert_int_eq(v.recent.direction, TREND_FLAT);
	ck_assert(!v.should_alert);
	/* as fast as the alert threshold: rising (and an alert) whatever the size */
	ck_assert_int_eq(detect_rss(&s, 1024.0, &v), 0);
	ck_assert_int_eq(v.recent.direction, TREND_RISING);
	ck_assert(v.should_alert);
	series_done(&s);

	/* 240 KiB of 10 MiB (2.3 %): rising, below the alert threshold */
	ck_assert_int_eq(series_init(&s, SERIES_DEFAULT_CAP), 0);
	for (int i = 0; i < 60; i++)
		series_append(&s, i, 10485760.0 + 4096.0 * i);
	ck_assert_int_eq(detect_rss(&s, default_threshold, &v), 0);
	ck_assert_int_eq(v.recent.direction, TREND_RISING);
	ck_assert(!v.should_alert);
	series_done(&s);
}
END_TEST

static Suite *series_suite(void)
{
	Suite *s = suite_create("series");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_decimate);
	tcase_add_test(tc, test_detect_rss);
	tcase_add_test(tc, test_detect_rss_warmup_then_flat);
	tcase_add_test(tc, test_detect_rss_negligible);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(series_suite)
