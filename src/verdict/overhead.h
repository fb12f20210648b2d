/* overhead.h - what tracing costs a process: an estimate the overhead governor acts on.
 *
 * Pure: figures in, an estimate out. Nothing is timed inside the target; the estimate multiplies
 * what the backend counted over a span of time by costs measured on these machines (make bench,
 * doc/design.md "Cost"), and divides by the CPU time the process used over the same span
 * (utime + stime from /proc/PID/stat):
 *
 *	cost  = stops x OVERHEAD_NS_PER_STOP + events x OVERHEAD_NS_PER_EVENT
 *	share = cost / (cpu + stops x OVERHEAD_NS_PER_STOP)
 *
 * A ptrace stop (breakpoint backend) blocks the thread while leakmond works, so its cost is not in
 * the process's own CPU time and is added to it; the agent's cost is spent by the process itself
 * and already counted in its CPU time. The share is what the process would have done otherwise.
 * A process that barely runs gets a large share of a tiny cost: the governor only acts when the
 * cost is also above OVERHEAD_MIN_NS_PER_S of wall time (see overhead_is_over()).
 */
#ifndef LEAKMOND_OVERHEAD_H
#define LEAKMOND_OVERHEAD_H

#include <stdbool.h>
#include <stdint.h>

/* A ptrace stop with a stack captured: 137 us per malloc+free pair (3 stops) measured */
#define OVERHEAD_NS_PER_STOP 45000ULL
/* The agent's hook and ring write: 15-27 ns per call measured (bench/agent_inproc, 1 and 4
 * threads), doubled for sampled stacks and cache effects of a real program */
#define OVERHEAD_NS_PER_EVENT 50ULL
/* Below 1 ms of tracing per second of wall time (0.1% of a CPU) the governor never acts */
#define OVERHEAD_MIN_NS_PER_S 1000000ULL

/* What was counted at one moment: monotonic time, the process's CPU time, the backend's figures. */
struct overhead_point {
	uint64_t t_ns;
	uint64_t cpu_ns;
	uint64_t events;
	uint64_t stops;
};

struct overhead_estimate {
	double share;	     /* of the process's CPU, 0..1 */
	double cost_per_s;   /* seconds of tracing per second of wall time */
	double span_s;	     /* the span it was judged over */
};

/* Estimate the cost between a and b (b later). Returns 0, or -EINVAL when b is not after a or a
 * counter went backwards (a new trace, an exec). */
int overhead_estimate(const struct overhead_point *a, const struct overhead_point *b,
		      struct overhead_estimate *ret);

/* Whether the estimate exceeds a budget (a share; 0: none): the share is above it and the cost
 * is above OVERHEAD_MIN_NS_PER_S. */
bool overhead_is_over(const struct overhead_estimate *e, double max_share);

#endif
