/* detect.c - verdicts over sampled series. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "verdict/detect.h"

int detect_rss(const struct series *rss, double threshold_bytes_per_s, struct rss_verdict *ret)
{
	const double *t, *y;
	size_t n, tail_n;
	double span;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!rss || threshold_bytes_per_s <= 0)
		return -EINVAL;
	if (rss->n == 0) {
		ret->recent.direction = ret->tail.direction = TREND_FLAT;
		ret->recent.p_value = ret->tail.p_value = 1.0;
		return 0;
	}
	r = trend_analyze_tail(rss->t, rss->y, rss->n, DETECT_RSS_WINDOW, DETECT_ALPHA, &ret->recent);
	if (r < 0)
		return r;
	n = ret->recent.n;
	t = rss->t + (rss->n - n);
	y = rss->y + (rss->n - n);
	tail_n = n / 3;
	if (tail_n < DETECT_RSS_TAIL_MIN)
		tail_n = DETECT_RSS_TAIL_MIN;
	if (tail_n > DETECT_RSS_TAIL_MAX)
		tail_n = DETECT_RSS_TAIL_MAX;
	r = trend_analyze_tail(t, y, n, tail_n, DETECT_ALPHA, &ret->tail);
	if (r < 0)
		return r;

	ret->window_direction = ret->recent.direction;
	span = n > 1 ? t[n - 1] - t[0] : 0;
	ret->window_change_bytes = ret->recent.slope * span;
	/* a rise that stopped (a warm-up, a cache that filled) is flat now */
	if (ret->tail.direction != ret->recent.direction)
		ret->recent.direction = TREND_FLAT;
	/* too small to matter for a process of this size, and slower than an alert */
	if (fabs(ret->window_change_bytes) < DETECT_RSS_MIN_FRACTION * y[n - 1] &&
	    fabs(ret->recent.slope) < threshold_bytes_per_s)
		ret->recent.direction = TREND_FLAT;
	ret->should_alert = n >= DETECT_RSS_MIN_POINTS && ret->recent.direction == TREND_RISING &&
			    ret->recent.slope >= threshold_bytes_per_s;
	return 0;
}
