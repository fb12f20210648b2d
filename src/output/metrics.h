/* metrics.h - the Prometheus textfile (--metrics FILE, metrics_file): the exposition format of
 * node_exporter's textfile collector, one file rewritten atomically at every interval.
 *
 * metrics_render() is pure; metrics_write_atomic() writes a temporary file next to the
 * destination (its name does not end in .prom, so the collector never reads a partial one) and
 * renames it into place. Metric names are INTERFACE.md's; every series is labelled pid, comm and
 * watch, and nothing else but the alert kind: one set of series per watched process, at most
 * METRICS_MAX_TARGETS of them (the others are counted in leakmond_metrics_targets_dropped).
 */
#ifndef LEAKMOND_METRICS_H
#define LEAKMOND_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define METRICS_MAX_TARGETS 1000

/* One watched process, as the metrics show it (strings borrowed for metrics_render()). */
struct metrics_target {
	pid_t pid;
	const char *comm;
	const char *watch; /* NULL: "" (not daemon mode) */
	uint64_t rss_bytes;
	double growth_bytes_per_s; /* RSS, Sen's slope of the recent window */
	int trend;		   /* -1 falling, 0 flat, 1 rising */
	bool has_heap;		   /* traced now or before: the heap figures mean something */
	uint64_t live_bytes, live_blocks;
	size_t leak_sites; /* sites judged to leak (verdict leak, as the report's) */
	uint64_t leak_bytes;
	uint64_t alerts_rss, alerts_leak; /* alerts raised since it was first watched */
	bool is_traced;
	uint64_t lost_events; /* allocator calls not recorded, every trace of it added up */
};

/* The exposition text for n targets: HELP and TYPE for each metric, then its series. Returns a
 * new NUL-terminated string (free it), or NULL on out-of-memory. */
char *metrics_render(const struct metrics_target *targets, size_t n);

/* Write text to path atomically (temporary file in the same directory, mode 0644, rename).
 * Returns 0 or -errno; nothing is left behind on failure. */
int metrics_write_atomic(const char *path, const char *text);

#endif
