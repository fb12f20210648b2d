/* report.h - the leak report: JSON (INTERFACE.md, doc/formats.md) and text for people.
 *
 * report_build() is pure (builds a json_object from the report model the session fills); report_write_atomic() writes it to
 * a temporary file in the destination's directory and renames it into place, so a reader never sees
 * a partial report.
 */
#ifndef LEAKMOND_REPORT_H
#define LEAKMOND_REPORT_H

#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "backend/backend.h"
#include "config/options.h"
#include "heap/heap.h"
#include "stack/symbols.h"
#include "verdict/sites.h"
#include "verdict/trend.h"

#define REPORT_VERSION 1
#define SITE_FRAMES_MAX 128

/* One call site as reported: its figures and its symbolized frames, innermost first (strings
 * borrowed from the target's symbolizer). */
struct site_report {
	struct site_view view;
	bool is_leak;	/* in the report's "leaks" (verdict leak or suspect) */
	bool is_top;	/* in "top_sites" (largest live bytes) */
	struct sym_frame frames[SITE_FRAMES_MAX];
	size_t n_frames;
};

enum report_status { REPORT_RUNNING, REPORT_EXITED, REPORT_DETACHED };

/* What the report says about one target: filled by the session's pipeline, read by the builders
 * here. Strings and sites are borrowed for the duration of report_build(). */
struct report_target {
	pid_t pid;
	const char *comm;
	const char *exe; /* NULL: unknown */
	enum watch_mode mode;
	enum report_status status;
	int exit_status;  /* -1: unknown */
	int exit_signal;  /* -1: none or unknown */
	int detach_error; /* 0, or -errno of an unclean detach */
	double observed_s;
	uint64_t rss_first, rss_last, rss_peak;
	struct trend_result rss_recent;
	size_t rss_samples;
	bool has_heap; /* traced: the figures below are filled */
	const char *backend;
	uint64_t sample_bytes; /* agent: OPTIONS_SAMPLE_AUTO, or the fixed period */
	struct heap_stats heap;
	struct backend_stats trace;
	const struct site_report *sites;
	size_t n_sites;
	const char *note; /* why RSS rises while the traced heap does not, or NULL */
};

/* Build the report over n targets at wall-clock time now. Returns a new object owned by the
 * caller, or NULL on out-of-memory. */
json_object *report_build(const struct report_target *targets, size_t n, time_t now);

/* JSON array of frames (INTERFACE.md: pc, module, function, file, line, inlined; unknown fields
 * null). Returns a new array or NULL on out-of-memory. */
json_object *report_frames(const struct sym_frame *frames, size_t n);

/* Write report as pretty JSON to path atomically. Returns 0 or -errno (nothing is left behind
 * on failure: the temporary file is removed). */
int report_write_atomic(const char *path, json_object *report);

/* Print the human-readable report of a built JSON report to f. */
void report_print_text(FILE *f, json_object *report);

#endif
