/* trend.h - is a time series rising, flat or falling?
 *
 * Mann-Kendall trend test (normal approximation, continuity correction, tie correction of the
 * variance) with Sen's slope as the robust rate estimate. Pure code: no I/O, no logging, no
 * globals; the only allocation is a scratch buffer freed before return. O(n^2) time and memory in
 * the number of points, meant for series of up to a few hundred samples. Link with -lm (erfc()).
 */
#ifndef LEAKMOND_TREND_H
#define LEAKMOND_TREND_H

#include <stddef.h>

enum trend_direction { TREND_FLAT = 0, TREND_RISING, TREND_FALLING };

struct trend_result {
	enum trend_direction direction;
	/* Sen's slope: median of pairwise (y_j - y_i)/(x_j - x_i), units of y per unit of x */
	double slope;
	/* Mann-Kendall Z statistic, with continuity correction and tie-corrected variance */
	double z;
	double p_value; /* two-sided p-value of Z under the normal approximation */
	size_t n;	/* number of points used */
	long long s;	/* Mann-Kendall S: sum over i<j of sign(y_j - y_i) */
	double var_s;	/* Var(S) after the tie correction; 0 when every y is equal or n < 4 */
};

/* Mann-Kendall trend test with Sen's slope over points (x[i], y[i]), x strictly increasing.
 * direction is RISING/FALLING when p_value < alpha and the sign of S says so, else FLAT.
 * Fewer than 4 points: FLAT with z 0 and p_value 1, slope computed if n>=2 (0 otherwise).
 * A series whose y values are all equal is FLAT with slope 0, z 0, p_value 1.
 * x and y are borrowed and only read; they may be NULL only when n is 0.
 * *ret is written only on success.
 * Returns 0, -EINVAL on bad arguments (NULL, alpha outside (0,1), x not strictly increasing,
 * a NaN or infinite x or y), -ENOMEM. */
int trend_analyze(const double *x, const double *y, size_t n, double alpha,
		  struct trend_result *ret);

/* Same as trend_analyze over the last `window` points only (all points if window==0 or >= n).
 * Only the points used are validated. Returns as trend_analyze(). */
int trend_analyze_tail(const double *x, const double *y, size_t n, size_t window, double alpha,
		       struct trend_result *ret);

/* Static name of a direction: "rising", "flat", "falling"; "unknown" for any other value. */
const char *trend_direction_name(enum trend_direction d);

#endif
