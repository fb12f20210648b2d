/* detect.c - verdicts over sampled series. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "verdict/detect.h"

int detect_rss(const struct series *rss, double threshold_bytes_per_s, struct rss_verdict *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!rss || threshold_bytes_per_s <= 0)
		return -EINVAL;
	if (rss->n == 0) {
		ret->recent.direction = TREND_FLAT;
		ret->recent.p_value = 1.0;
		return 0;
	}
	r = trend_analyze_tail(rss->t, rss->y, rss->n, DETECT_RSS_WINDOW, DETECT_ALPHA, &ret->recent);
	if (r < 0)
		return r;
	ret->should_alert = ret->recent.n >= DETECT_RSS_MIN_POINTS &&
			    ret->recent.direction == TREND_RISING &&
			    ret->recent.slope >= threshold_bytes_per_s;
	return 0;
}
