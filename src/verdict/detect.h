/* detect.h - verdicts over sampled series: is a process's RSS growing fast enough to alert?
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

struct rss_verdict {
	struct trend_result recent; /* over the last DETECT_RSS_WINDOW points */
	bool should_alert;
};

/* Judge the RSS series: should_alert when the recent trend is rising with significance and its
 * Sen's slope (bytes per second) is at least threshold_bytes_per_s. Returns 0, -EINVAL, -ENOMEM. */
int detect_rss(const struct series *rss, double threshold_bytes_per_s, struct rss_verdict *ret);

#endif
