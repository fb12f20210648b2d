/* detect.h - verdicts over sampled series: is a process's RSS rising, and fast enough to alert?
 *
 * Pure: works on a struct series, no I/O.
 */
#ifndef LEAKMOND_DETECT_H
#define LEAKMOND_DETECT_H

#include <stdbool.h>

#include "verdict/series.h"
#include "verdict/trend.h"

#define DETECT_RSS_WINDOW 60	/* the recent part of the series the verdict is about */
#define DETECT_RSS_MIN_POINTS 6 /* fewer samples are never evidence */
#define DETECT_ALPHA 0.01	/* significance level of the trend test */
/* The tail of the window that must move the same way (the sites' recency rule, sites.h):
 * a third of the window, at least DETECT_RSS_TAIL_MIN and at most DETECT_RSS_TAIL_MAX points. */
#define DETECT_RSS_TAIL_MIN 8
#define DETECT_RSS_TAIL_MAX 24
/* A change over the window smaller than this fraction of the RSS is not a trend (unless it is as
 * fast as the alert threshold): 60 KiB of a 10 MiB process is noise, whatever its significance. */
#define DETECT_RSS_MIN_FRACTION 0.01

struct rss_verdict {
	/* Mann-Kendall and Sen's slope over the last DETECT_RSS_WINDOW points. Its direction is
	 * the verdict: RISING (or FALLING) only when the test says so over the whole window AND
	 * over its tail, and the change over the window (slope x its duration) is at least
	 * DETECT_RSS_MIN_FRACTION of the last RSS or the slope reaches the alert threshold;
	 * FLAT otherwise. slope, z, p_value, s are the test's own figures. */
	struct trend_result recent;
	struct trend_result tail;		/* the test over the tail of the window */
	enum trend_direction window_direction;	/* what the test alone said over the window */
	double window_change_bytes;		/* slope x the window's duration */
	bool should_alert;
};

/* Judge the RSS series (see struct rss_verdict). should_alert when the verdict is RISING over at
 * least DETECT_RSS_MIN_POINTS points and Sen's slope (bytes per second) is at least
 * threshold_bytes_per_s. Returns 0, -EINVAL, -ENOMEM. */
int detect_rss(const struct series *rss, double threshold_bytes_per_s, struct rss_verdict *ret);

#endif
