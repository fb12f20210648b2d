/* trend.c - Mann-Kendall trend test and Sen's slope. See trend.h. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "verdict/trend.h"
#include "base/util.h"

/* Below this many points the normal approximation of S means nothing: report FLAT. */
#define TREND_MIN_POINTS 4

static int cmp_double(const void *a, const void *b)
{
	double da = *(const double *)a, db = *(const double *)b;

	return (da > db) - (da < db);
}

/* Median of v[0..n-1], n > 0; sorts v in place. */
static double median_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2)
		return v[n / 2];
	return v[n / 2 - 1] / 2 + v[n / 2] / 2;
}

/* Sum over groups of equal values in sorted v of t(t-1)(2t+5), t the group size. */
static double tie_term(const double *v, size_t n)
{
	double sum = 0;
	size_t i = 0;

	while (i < n) {
		size_t j = i + 1;

		while (j < n && v[j] == v[i])
			j++;
		if (j - i > 1) {
			double t = (double)(j - i);

			sum += t * (t - 1) * (2 * t + 5);
		}
		i = j;
	}
	return sum;
}

static int check_args(const double *x, const double *y, size_t n, double alpha,
		      const struct trend_result *ret)
{
	if (!ret || (n > 0 && (!x || !y)))
		return -EINVAL;
	/* Written so that a NaN alpha fails too. */
	if (!(alpha > 0 && alpha < 1))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]))
			return -EINVAL;
		if (i > 0 && !(x[i] > x[i - 1]))
			return -EINVAL;
	}
	return 0;
}

int trend_analyze(const double *x, const double *y, size_t n, double alpha,
		  struct trend_result *ret)
{
	_cleanup_free_ double *scratch = NULL;
	struct trend_result r = {
		.direction = TREND_FLAT,
		.slope = 0,
		.z = 0,
		.p_value = 1,
		.n = n,
	};
	size_t npairs, k = 0;
	long long s = 0;
	double dn = (double)n;
	int err;

	err = check_args(x, y, n, alpha, ret);
	if (err < 0)
		return err;

	if (n < 2) {
		*ret = r;
		return 0;
	}

	/* n(n-1)/2 pairwise slopes; the same buffer later holds a sorted copy of y. The bound
	 * (conservative by 2x) keeps n * (n - 1) / 2 * sizeof(double) from overflowing. */
	if (n > SIZE_MAX / 2 / (n - 1) / sizeof(double))
		return -ENOMEM;
	npairs = n * (n - 1) / 2;
	scratch = malloc((npairs > n ? npairs : n) * sizeof(double));
	if (!scratch)
		return -ENOMEM;

	for (size_t i = 0; i + 1 < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			s += (y[j] > y[i]) - (y[j] < y[i]);
			scratch[k++] = (y[j] - y[i]) / (x[j] - x[i]);
		}
	r.slope = median_sort(scratch, npairs);
	r.s = s;

	if (n < TREND_MIN_POINTS) {
		*ret = r;
		return 0;
	}

	for (size_t i = 0; i < n; i++)
		scratch[i] = y[i];
	qsort(scratch, n, sizeof(*scratch), cmp_double);
	r.var_s = (dn * (dn - 1) * (2 * dn + 5) - tie_term(scratch, n)) / 18;

	if (r.var_s > 0 && s != 0) {
		double num = s > 0 ? (double)(s - 1) : (double)(s + 1);

		r.z = num / sqrt(r.var_s);
		/* Two-sided: 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2)). */
		r.p_value = erfc(fabs(r.z) / sqrt(2.0));
	}
	if (s != 0 && r.p_value < alpha)
		r.direction = s > 0 ? TREND_RISING : TREND_FALLING;

	*ret = r;
	return 0;
}

int trend_analyze_tail(const double *x, const double *y, size_t n, size_t window, double alpha,
		       struct trend_result *ret)
{
	size_t skip = 0;

	if (window > 0 && window < n)
		skip = n - window;
	if (n > 0 && (!x || !y))
		return -EINVAL;
	return trend_analyze(x ? x + skip : NULL, y ? y + skip : NULL, n - skip, alpha, ret);
}

const char *trend_direction_name(enum trend_direction d)
{
	switch (d) {
	case TREND_RISING:
		return "rising";
	case TREND_FLAT:
		return "flat";
	case TREND_FALLING:
		return "falling";
	}
	return "unknown";
}
