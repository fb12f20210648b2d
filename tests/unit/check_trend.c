/* check_trend.c - unit tests for trend.c (Mann-Kendall test and Sen's slope). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/trend.h"

#define ALPHA 0.05
#define MAXN 128

/* Deterministic noise: a 64-bit LCG (Knuth's MMIX constants), not rand(). */
struct lcg {
	uint64_t state;
};

static void lcg_init(struct lcg *g, uint64_t seed)
{
	g->state = seed * 2862933555777941757ULL + 3037000493ULL;
}

/* Uniform in [0, 1). */
static double lcg_uniform(struct lcg *g)
{
	g->state = g->state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(g->state >> 11) * (1.0 / 9007199254740992.0);
}

/* Roughly normal, mean 0, standard deviation sd (sum of 12 uniforms). */
static double lcg_noise(struct lcg *g, double sd)
{
	double sum = 0;

	for (int i = 0; i < 12; i++)
		sum += lcg_uniform(g);
	return (sum - 6) * sd;
}

/* x[i] = i, y[i] = intercept + slope * i + noise(sd). */
static void make_linear(double *x, double *y, size_t n, double intercept, double slope, double sd,
			uint64_t seed)
{
	struct lcg g;

	lcg_init(&g, seed);
	for (size_t i = 0; i < n; i++) {
		x[i] = (double)i;
		y[i] = intercept + slope * (double)i + (sd > 0 ? lcg_noise(&g, sd) : 0);
	}
}

static void assert_slope_near(double got, double want, double rel)
{
	ck_assert_msg(fabs(got - want) <= rel * fabs(want), "slope %g, expected %g within %g%%",
		      got, want, rel * 100);
}

START_TEST(test_linear_growth_exact)
{
	double x[60], y[60];
	struct trend_result r;

	make_linear(x, y, 60, 1000, 2.5, 0, 0);
	ck_assert_int_eq(trend_analyze(x, y, 60, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	ck_assert_double_eq_tol(r.slope, 2.5, 1e-12);
	ck_assert_uint_eq(r.n, 60);
	/* Strictly increasing: every pair concordant. */
	ck_assert_int_eq(r.s, 60 * 59 / 2);
	ck_assert(r.z > 5);
	ck_assert(r.p_value < 1e-6);
}
END_TEST

START_TEST(test_linear_growth_noisy)
{
	double x[60], y[60];
	struct trend_result r;

	/* RSS-like magnitudes: 50 MiB growing 4 KiB per sample, noise sd 8 KiB. */
	make_linear(x, y, 60, 50.0 * 1024 * 1024, 4096, 8192, 7);
	ck_assert_int_eq(trend_analyze(x, y, 60, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	assert_slope_near(r.slope, 4096, 0.05);
	ck_assert(r.p_value < ALPHA);

	make_linear(x, y, 60, 1000, 2.5, 5, 99);
	ck_assert_int_eq(trend_analyze(x, y, 60, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	assert_slope_near(r.slope, 2.5, 0.05);
}
END_TEST

START_TEST(test_linear_decline)
{
	double x[50], y[50];
	struct trend_result r;

	make_linear(x, y, 50, 10000, -12, 10, 3);
	ck_assert_int_eq(trend_analyze(x, y, 50, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FALLING);
	assert_slope_near(r.slope, -12, 0.05);
	ck_assert(r.s < 0);
	ck_assert(r.z < -5);
	ck_assert(r.p_value < ALPHA);
	ck_assert_str_eq(trend_direction_name(r.direction), "falling");
}
END_TEST

START_TEST(test_noise_flat)
{
	static const uint64_t seeds[] = { 1, 2, 3, 42, 1234, 98765, 0xdeadbeef, 31337 };
	double x[80], y[80];
	struct trend_result r;

	/* A 5 % test calls 1 in 20 pure-noise series a trend (seed 0xdeadbeef is one: z 2.31),
	 * so single series are judged at 1 %; test_noise_calibration checks the 5 % rate itself. */
	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		make_linear(x, y, 80, 5000, 0, 100, seeds[k]);
		ck_assert_int_eq(trend_analyze(x, y, 80, 0.01, &r), 0);
		ck_assert_msg(r.direction == TREND_FLAT, "seed %llu: %s, z %g, p %g",
			      (unsigned long long)seeds[k], trend_direction_name(r.direction), r.z,
			      r.p_value);
		ck_assert(r.p_value >= 0.01);
		ck_assert(fabs(r.z) < 2.576);
		/* Slope standard error here is about 100 * sqrt(12 / 80^3) = 0.48 per sample. */
		ck_assert_msg(fabs(r.slope) < 2.5, "seed %llu: slope %g",
			      (unsigned long long)seeds[k], r.slope);
	}
}
END_TEST

START_TEST(test_noise_calibration)
{
	double x[40], y[40];
	struct trend_result r;
	int rising = 0, falling = 0;

	/* Under the null hypothesis about 2.5 % of series each way are flagged at alpha 0.05. */
	for (uint64_t seed = 1000; seed < 1400; seed++) {
		make_linear(x, y, 40, 5000, 0, 100, seed);
		ck_assert_int_eq(trend_analyze(x, y, 40, ALPHA, &r), 0);
		rising += r.direction == TREND_RISING;
		falling += r.direction == TREND_FALLING;
	}
	ck_assert_msg(rising + falling >= 8 && rising + falling <= 36,
		      "false positives %d + %d of 400", rising, falling);
	ck_assert(rising >= 1 && falling >= 1);
}
END_TEST

START_TEST(test_spike_flat)
{
	double x[61], y[61];
	struct trend_result r;

	/* Exactly constant with one spike in the middle: S = 30 - 30 = 0. */
	make_linear(x, y, 61, 700, 0, 0, 0);
	y[30] = 1e12;
	ck_assert_int_eq(trend_analyze(x, y, 61, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_int_eq(r.s, 0);
	ck_assert_double_eq(r.z, 0);
	ck_assert_double_eq(r.p_value, 1);
	ck_assert_double_eq(r.slope, 0);

	/* Noisy flat with a spike. */
	make_linear(x, y, 61, 700, 0, 10, 5);
	y[30] = 1e12;
	ck_assert_int_eq(trend_analyze(x, y, 61, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert(fabs(r.slope) < 0.5);
}
END_TEST

START_TEST(test_spike_growth)
{
	double x[60], y[60];
	struct trend_result r;

	make_linear(x, y, 60, 100, 2, 3, 11);
	y[30] += 1e9;
	ck_assert_int_eq(trend_analyze(x, y, 60, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	assert_slope_near(r.slope, 2, 0.05);
}
END_TEST

START_TEST(test_step_then_plateau)
{
	double x[60], y[60];
	struct trend_result r;
	struct lcg g;

	/* Rises 1000 per sample for the first 12 samples (20 %), then noisy plateau. */
	lcg_init(&g, 17);
	for (size_t i = 0; i < 60; i++) {
		x[i] = (double)i;
		y[i] = 1e6 + 1000.0 * (double)(i < 12 ? i : 12) + lcg_noise(&g, 50);
	}

	/* The whole series still reads as rising (the step dominates S) ... */
	ck_assert_int_eq(trend_analyze(x, y, 60, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);

	/* ... but the last 30 points are flat. */
	ck_assert_int_eq(trend_analyze_tail(x, y, 60, 30, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_uint_eq(r.n, 30);
	ck_assert(fabs(r.slope) < 10);

	/* The tail must really be the tail: the first 12 points alone rise. */
	ck_assert_int_eq(trend_analyze_tail(x, y, 12, 12, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	assert_slope_near(r.slope, 1000, 0.05);
}
END_TEST

START_TEST(test_tail_window_bounds)
{
	double x[40], y[40];
	struct trend_result r;

	make_linear(x, y, 40, 0, 1, 0, 0);
	ck_assert_int_eq(trend_analyze_tail(x, y, 40, 0, ALPHA, &r), 0);
	ck_assert_uint_eq(r.n, 40);
	ck_assert_int_eq(r.s, 40 * 39 / 2);
	ck_assert_int_eq(trend_analyze_tail(x, y, 40, 40, ALPHA, &r), 0);
	ck_assert_uint_eq(r.n, 40);
	ck_assert_int_eq(trend_analyze_tail(x, y, 40, 1000, ALPHA, &r), 0);
	ck_assert_uint_eq(r.n, 40);
	ck_assert_int_eq(trend_analyze_tail(x, y, 40, 10, ALPHA, &r), 0);
	ck_assert_uint_eq(r.n, 10);
	ck_assert_int_eq(r.s, 10 * 9 / 2);

	/* A bad x before the window is not looked at; one inside it is. */
	x[0] = 1e9;
	ck_assert_int_eq(trend_analyze_tail(x, y, 40, 10, ALPHA, &r), 0);
	ck_assert_int_eq(trend_analyze_tail(x, y, 40, 0, ALPHA, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze_tail(NULL, y, 40, 10, ALPHA, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze_tail(x, y, 40, 10, ALPHA, NULL), -EINVAL);
}
END_TEST

/* 8 teeth of 10 samples: each climbs 0..9 steps of `height` then drops back to the baseline. */
static void make_sawtooth(double *x, double *y, double height, double baseline_slope)
{
	for (size_t i = 0; i < 80; i++) {
		x[i] = (double)i;
		y[i] = 2e6 + height * (double)(i % 10) + baseline_slope * (double)i;
	}
}

START_TEST(test_sawtooth_flat)
{
	double x[80], y[80];
	struct trend_result r;

	/* S = 8 * 45 = 360 (within teeth; across teeth the pairs cancel), 10 tie groups of 8:
	 * Var = (80*79*165 - 10*8*7*21) / 18 = 57280, Z = 359 / sqrt(57280) = 1.50001. */
	make_sawtooth(x, y, 1000, 0);
	ck_assert_int_eq(trend_analyze(x, y, 80, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_int_eq(r.s, 360);
	ck_assert_double_eq_tol(r.var_s, 57280, 1e-9);
	ck_assert_double_eq_tol(r.z, 359 / sqrt(57280), 1e-9);
	/* The robust rate is small next to the 1000/sample climb of each tooth. */
	ck_assert(fabs(r.slope) < 100);
}
END_TEST

START_TEST(test_sawtooth_rising)
{
	double x[80], y[80];
	struct trend_result r;

	/* Same teeth, baseline rising 200 per sample (2000 per tooth). */
	make_sawtooth(x, y, 1000, 200);
	ck_assert_int_eq(trend_analyze(x, y, 80, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	ck_assert(r.p_value < 0.001);
	ck_assert(r.slope > 0);
}
END_TEST

START_TEST(test_constant)
{
	double x[30], y[30];
	struct trend_result r;

	make_linear(x, y, 30, 123456789, 0, 0, 0);
	ck_assert_int_eq(trend_analyze(x, y, 30, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_double_eq(r.slope, 0);
	ck_assert_double_eq(r.z, 0);
	ck_assert_double_eq(r.p_value, 1);
	ck_assert_int_eq(r.s, 0);
	ck_assert_double_eq(r.var_s, 0);
	ck_assert_uint_eq(r.n, 30);

	/* Even with alpha close to 1 a constant series is not a trend. */
	ck_assert_int_eq(trend_analyze(x, y, 30, 0.999, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
}
END_TEST

START_TEST(test_ties_staircase)
{
	static const double y[] = { 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3 };
	double x[12];
	struct trend_result r;

	/* n = 12, four tie groups of 3.
	 * S = 66 pairs - 4*3 tied pairs = 54 (no discordant pair).
	 * Var = (12*11*29 - 4 * 3*2*11) / 18 = (3828 - 264) / 18 = 198
	 *   (without the tie correction it would be 212.667, Z 3.6343).
	 * Z = (54 - 1) / sqrt(198) = 3.766546; p = erfc(Z / sqrt 2) = 1.6552e-4.
	 * Sen's slope: true step is 1 per 3 samples -> 1/3. */
	for (size_t i = 0; i < 12; i++)
		x[i] = (double)i;
	ck_assert_int_eq(trend_analyze(x, y, 12, ALPHA, &r), 0);
	ck_assert_int_eq(r.s, 54);
	ck_assert_double_eq_tol(r.var_s, 198, 1e-9);
	ck_assert_double_eq_tol(r.z, 3.766545988949118, 1e-9);
	ck_assert_double_eq_tol(r.p_value, 1.6552160560065154e-4, 1e-10);
	ck_assert_double_eq_tol(r.slope, 1.0 / 3, 1e-12);
	ck_assert_int_eq(r.direction, TREND_RISING);
}
END_TEST

START_TEST(test_hand_computed)
{
	static const double x[] = { 1, 2, 3, 4, 5 };
	static const double y[] = { 1, 3, 2, 4, 4 };
	struct trend_result r;

	/* Pairs (i<j), sign(y_j - y_i) and slope:
	 *   1->3 +  2      1->2 +  0.5    1->4 +  1      1->4 +  0.75
	 *   3->2 - -1      3->4 +  0.5    3->4 +  1/3
	 *   2->4 +  2      2->4 +  1
	 *   4->4 0  0
	 * S = 8 - 1 = 7. One tie group (4, 4), t = 2: 2*1*9 = 18.
	 * Var(S) = (5*4*15 - 18) / 18 = 282 / 18 = 15.6667.
	 * Z = (7 - 1) / sqrt(15.6667) = 1.515873; p = erfc(1.515873 / sqrt 2) = 0.129551.
	 * Sorted slopes -1 0 1/3 0.5 0.5 0.75 1 1 2 2: median (0.5 + 0.75) / 2 = 0.625. */
	ck_assert_int_eq(trend_analyze(x, y, 5, ALPHA, &r), 0);
	ck_assert_int_eq(r.s, 7);
	ck_assert_double_eq_tol(r.var_s, 282.0 / 18, 1e-12);
	ck_assert_double_eq_tol(r.z, 1.5158734579197342, 1e-9);
	ck_assert_double_eq_tol(r.p_value, 0.1295513529044089, 1e-9);
	ck_assert_double_eq_tol(r.slope, 0.625, 1e-12);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_uint_eq(r.n, 5);

	/* Same data, lenient alpha: now p < alpha and S > 0. */
	ck_assert_int_eq(trend_analyze(x, y, 5, 0.2, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
}
END_TEST

START_TEST(test_four_points_alpha)
{
	static const double x[] = { 0, 1, 2, 3 };
	static const double y[] = { 4, 3, 2, 1 };
	struct trend_result r;

	/* n = 4, S = -6, Var = 4*3*13/18 = 8.6667, Z = -5 / 2.94392 = -1.698416, p = 0.089429. */
	ck_assert_int_eq(trend_analyze(x, y, 4, 0.05, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_double_eq_tol(r.z, -1.6984155512168937, 1e-9);
	ck_assert_double_eq_tol(r.p_value, 0.08942935902899359, 1e-9);
	ck_assert_double_eq_tol(r.slope, -1, 1e-12);
	ck_assert_int_eq(trend_analyze(x, y, 4, 0.1, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FALLING);
}
END_TEST

START_TEST(test_few_points)
{
	static const double x[] = { 0, 1, 3 };
	static const double y[] = { 10, 1000, 100000 };
	struct trend_result r;

	memset(&r, 0xff, sizeof(r));
	ck_assert_int_eq(trend_analyze(NULL, NULL, 0, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_double_eq(r.slope, 0);
	ck_assert_double_eq(r.p_value, 1);
	ck_assert_uint_eq(r.n, 0);

	ck_assert_int_eq(trend_analyze(x, y, 1, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_double_eq(r.slope, 0);
	ck_assert_double_eq(r.p_value, 1);
	ck_assert_uint_eq(r.n, 1);

	ck_assert_int_eq(trend_analyze(x, y, 2, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_double_eq_tol(r.slope, 990, 1e-9);
	ck_assert_double_eq(r.p_value, 1);
	ck_assert_double_eq(r.z, 0);

	/* Slopes 990, 99990/2 = 49995, 99000/3 = 33330: median 33330. Still FLAT at any alpha. */
	ck_assert_int_eq(trend_analyze(x, y, 3, 0.99, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FLAT);
	ck_assert_double_eq_tol(r.slope, 33330, 1e-9);
	ck_assert_double_eq(r.p_value, 1);
	ck_assert_uint_eq(r.n, 3);
}
END_TEST

START_TEST(test_unequal_spacing)
{
	static const double gaps[] = { 1, 0.5, 3, 2, 0.25, 7, 1.5, 4, 0.75, 2.5 };
	double x[40], y[40], t = 1e9; /* large x offset, e.g. seconds since boot */
	struct trend_result r;
	struct lcg g;

	/* y = 3 x + 7 exactly on irregular x: Sen's slope is per unit of x, not per sample. */
	for (size_t i = 0; i < 40; i++) {
		t += gaps[i % 10];
		x[i] = t;
		y[i] = 3 * (t - 1e9) + 7;
	}
	ck_assert_int_eq(trend_analyze(x, y, 40, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	ck_assert_double_eq_tol(r.slope, 3, 1e-6);

	/* With noise and a decline, still per unit of x. */
	lcg_init(&g, 23);
	for (size_t i = 0; i < 40; i++)
		y[i] = 5000 - 20 * (x[i] - 1e9) + lcg_noise(&g, 5);
	ck_assert_int_eq(trend_analyze(x, y, 40, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_FALLING);
	assert_slope_near(r.slope, -20, 0.05);
}
END_TEST

START_TEST(test_bad_arguments)
{
	double x[MAXN], y[MAXN];
	struct trend_result r, sentinel;

	make_linear(x, y, 10, 0, 1, 0, 0);
	memset(&sentinel, 0x5a, sizeof(sentinel));
	r = sentinel;

	ck_assert_int_eq(trend_analyze(NULL, y, 10, ALPHA, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze(x, NULL, 10, ALPHA, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze(x, y, 10, ALPHA, NULL), -EINVAL);
	ck_assert_int_eq(trend_analyze(NULL, NULL, 0, ALPHA, NULL), -EINVAL);
	ck_assert_int_eq(trend_analyze(x, y, 10, 0, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze(x, y, 10, 1, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze(x, y, 10, -0.1, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze(x, y, 10, 1.5, &r), -EINVAL);
	ck_assert_int_eq(trend_analyze(x, y, 10, NAN, &r), -EINVAL);

	/* x equal, then decreasing. */
	x[5] = x[4];
	ck_assert_int_eq(trend_analyze(x, y, 10, ALPHA, &r), -EINVAL);
	x[5] = x[4] - 1;
	ck_assert_int_eq(trend_analyze(x, y, 10, ALPHA, &r), -EINVAL);
	/* Only the first 5 points are used: fine. */
	ck_assert_int_eq(trend_analyze(x, y, 5, ALPHA, &r), 0);
	ck_assert_uint_eq(r.n, 5);
	r = sentinel;
	x[5] = 5;

	/* Non-finite values. */
	y[3] = NAN;
	ck_assert_int_eq(trend_analyze(x, y, 10, ALPHA, &r), -EINVAL);
	y[3] = INFINITY;
	ck_assert_int_eq(trend_analyze(x, y, 10, ALPHA, &r), -EINVAL);
	y[3] = 3;
	x[9] = INFINITY;
	ck_assert_int_eq(trend_analyze(x, y, 10, ALPHA, &r), -EINVAL);
	x[9] = 9;

	/* *ret untouched by every failure above. */
	ck_assert_int_eq(memcmp(&r, &sentinel, sizeof(r)), 0);

	/* And the repaired input works. */
	ck_assert_int_eq(trend_analyze(x, y, 10, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
}
END_TEST

START_TEST(test_direction_names)
{
	ck_assert_str_eq(trend_direction_name(TREND_RISING), "rising");
	ck_assert_str_eq(trend_direction_name(TREND_FLAT), "flat");
	ck_assert_str_eq(trend_direction_name(TREND_FALLING), "falling");
	ck_assert_str_eq(trend_direction_name((enum trend_direction)42), "unknown");
	ck_assert_int_eq(TREND_FLAT, 0);
}
END_TEST

START_TEST(test_large_n)
{
	static double x[512], y[512];
	struct trend_result r;

	make_linear(x, y, 512, 1e8, 64, 4096, 77);
	ck_assert_int_eq(trend_analyze(x, y, 512, ALPHA, &r), 0);
	ck_assert_int_eq(r.direction, TREND_RISING);
	assert_slope_near(r.slope, 64, 0.05);
	ck_assert_uint_eq(r.n, 512);
}
END_TEST

static Suite *trend_suite(void)
{
	Suite *s = suite_create("trend");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_linear_growth_exact);
	tcase_add_test(tc, test_linear_growth_noisy);
	tcase_add_test(tc, test_linear_decline);
	tcase_add_test(tc, test_noise_flat);
	tcase_add_test(tc, test_noise_calibration);
	tcase_add_test(tc, test_spike_flat);
	tcase_add_test(tc, test_spike_growth);
	tcase_add_test(tc, test_step_then_plateau);
	tcase_add_test(tc, test_tail_window_bounds);
	tcase_add_test(tc, test_sawtooth_flat);
	tcase_add_test(tc, test_sawtooth_rising);
	tcase_add_test(tc, test_constant);
	tcase_add_test(tc, test_ties_staircase);
	tcase_add_test(tc, test_hand_computed);
	tcase_add_test(tc, test_four_points_alpha);
	tcase_add_test(tc, test_few_points);
	tcase_add_test(tc, test_unequal_spacing);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_direction_names);
	tcase_add_test(tc, test_large_n);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trend_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
