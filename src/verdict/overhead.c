/* overhead.c - the cost of tracing a process, estimated from counts. See overhead.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "verdict/overhead.h"

int overhead_estimate(const struct overhead_point *a, const struct overhead_point *b,
		      struct overhead_estimate *ret)
{
	double span, cpu, stops, cost;

	memset(ret, 0, sizeof(*ret));
	if (b->t_ns <= a->t_ns || b->cpu_ns < a->cpu_ns || b->events < a->events ||
	    b->stops < a->stops)
		return -EINVAL;
	span = (double)(b->t_ns - a->t_ns) / 1e9;
	cpu = (double)(b->cpu_ns - a->cpu_ns) / 1e9;
	stops = (double)(b->stops - a->stops) * (double)OVERHEAD_NS_PER_STOP / 1e9;
	cost = stops + (double)(b->events - a->events) * (double)OVERHEAD_NS_PER_EVENT / 1e9;
	ret->span_s = span;
	ret->cost_per_s = cost / span;
	if (cost <= 0)
		return 0;
	ret->share = cost / (cpu + stops);
	if (ret->share > 1)
		ret->share = 1; /* the agent's part is inside cpu: never above all of it */
	return 0;
}

bool overhead_is_over(const struct overhead_estimate *e, double max_share)
{
	return max_share > 0 && e->share > max_share &&
	       e->cost_per_s * 1e9 > (double)OVERHEAD_MIN_NS_PER_S;
}
