/* series.h - a bounded time series of (t, y) points.
 *
 * Holds at most `cap` points: when full, every other point is dropped (the oldest kept), so a
 * series over days keeps its shape at half the resolution instead of growing without bound.
 * Pure: no I/O.
 */
#ifndef LEAKMOND_SERIES_H
#define LEAKMOND_SERIES_H

#include <stddef.h>

#define SERIES_DEFAULT_CAP 512

struct series {
	double *t; /* seconds, strictly increasing */
	double *y;
	size_t n, cap;
	size_t decimations; /* how many times the series was thinned */
};

/* Returns 0 or -ENOMEM. cap must be >= 4 (-EINVAL). */
int series_init(struct series *s, size_t cap);
void series_done(struct series *s);

/* Append a point. A t not greater than the last one is ignored (returns 0, nothing added).
 * Returns 1 when added. */
int series_append(struct series *s, double t, double y);

#endif
