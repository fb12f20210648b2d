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
#include "output/timeline.h"
#include "stack/symbols.h"
#include "verdict/series.h"
#include "verdict/sites.h"
#include "verdict/trend.h"

#define REPORT_VERSION 1
#define SITE_FRAMES_MAX 128
/* How a report is serialized (the file, and what the exports parse back). */
#define REPORT_JSON_FLAGS \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/* One call site as reported: its figures and its symbolized frames, innermost first (strings
 * borrowed from the target's symbolizer). */
struct site_report {
	struct site_view view;
	bool is_leak;	/* in the report's "leaks" (verdict leak or suspect) */
	bool is_top;	/* in "top_sites" (largest live bytes) */
	struct sym_frame frames[SITE_FRAMES_MAX];
	size_t n_frames;
	const struct series *history; /* its live bytes over time (monotonic seconds), or NULL;
				       * borrowed from the site tracker */
};

#define REPORT_PROFILE_SITES_MAX 16384 /* sites a profile lists; the rest are summed in one */

/* One call site of a profile: its figures and its frames, refs[first .. first + n) of the profile,
 * innermost first (frames[0] the allocator's caller); n == 0: no stack was recorded, or
 * is_other: the sum of the sites beyond REPORT_PROFILE_SITES_MAX. */
struct report_profile_site {
	uint64_t live_bytes, live_blocks;
	enum alloc_fn kind;
	size_t first, n;
	bool is_other;
};

/* Every live call site of a traced target when a report is written (not only the ones the report
 * lists): what the exports (folded stacks, pprof) are made of. The sites' bytes and blocks add up
 * to live_bytes and live_blocks. frames holds each distinct pc once, with its inline chain on
 * consecutive entries; strings are borrowed from the target's symbolizer. Built by the session
 * (session/profile.c), freed with report_profile_free(). */
struct report_profile {
	struct sym_frame *frames;
	size_t n_frames;
	uint32_t *refs;
	size_t n_refs;
	struct report_profile_site *sites;
	size_t n_sites;
	uint64_t live_bytes, live_blocks;
	uint64_t omitted_sites; /* sites summed in the is_other one */
};

enum report_status { REPORT_RUNNING, REPORT_EXITED, REPORT_DETACHED };

/* One trace window of mode auto (or a trace the governors stopped). */
struct report_escalation {
	double start_ts;	   /* Unix time */
	double end_ts;		   /* 0: still tracing */
	const char *reason;	   /* static: "rss_rising" */
	double growth_bytes_per_s; /* RSS growth that started it */
	const char *outcome;	   /* static, as the deescalate record's reason; NULL while tracing */
	size_t leaks;		   /* leak sites found */
};

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
	/* for the exports (doc/formats.md): */
	const char *stopped_by; /* leakmond ended the program it started: "duration", "SIGTERM", ...
				 * (NULL otherwise) */
	const struct report_profile *profile; /* every live site (trace mode), or NULL */
	const struct timeline *timeline;      /* samples and alerts over time, or NULL */
	double wall_offset_s; /* Unix time minus monotonic seconds: site histories are written in
			       * Unix time */
	/* mode auto and the governors */
	bool is_traced;	   /* traced now (or when it was detached) */
	const struct report_escalation *escalations; /* the latest trace windows, oldest first */
	size_t n_escalations;
	uint64_t escalations_total; /* windows in all (more than n_escalations when old ones went) */
	double next_wait_s;	    /* mode auto: RSS must rise this long for the next window */
	double overhead;	    /* estimated share of its CPU spent on tracing; < 0: unknown */
	double max_overhead;	    /* the budget; 0: none */
};

/* Free a profile; NULL is fine. Returns NULL. */
struct report_profile *report_profile_free(struct report_profile *p);

/* Build the report over n targets at wall-clock time now. Returns a new object owned by the
 * caller, or NULL on out-of-memory. */
json_object *report_build(const struct report_target *targets, size_t n, time_t now);

/* JSON array of frames (INTERFACE.md: pc, module, function, file, line, inlined; unknown fields
 * null). Returns a new array or NULL on out-of-memory. */
json_object *report_frames(const struct sym_frame *frames, size_t n);

/* Write report as pretty JSON to path atomically, as atomic_write_file() does with mode and
 * flags (base/atomicfile.h). Returns 0 or -errno (nothing is left behind on failure: the
 * temporary file is removed). */
int report_write_atomic(const char *path, json_object *report, mode_t mode, unsigned flags);

/* Print the human-readable report of a built JSON report to f: each leak, then the other largest
 * sites, their stacks trimmed after main() or a thread's start. */
void report_print_text(FILE *f, json_object *report);

/* The same, with every frame of each stack when is_full_stacks (-v). */
void report_print_text_full(FILE *f, json_object *report, bool is_full_stacks);

/* How the watch of target t (an element of a JSON report's "targets") ended, for people:
 * "running", "detached", "exited, stopped by leakmond at --duration", "exited, killed by signal 9
 * (SIGKILL)", "exited with status 0", ... Writes at most len bytes. */
void report_describe_status(json_object *t, char *buf, size_t len);

enum report_verdict { REPORT_NOT_TRACED, REPORT_LEAKS, REPORT_NO_LEAK, REPORT_TOO_FEW_SAMPLES };

/* What the sites of target t come to, in one phrase ("2 leaks found", "no leaking call site
 * found", "too few samples yet (3 of 8)"). Returns which. */
enum report_verdict report_describe_verdict(json_object *t, char *buf, size_t len);

/* Whether a frame (of a JSON report) is where a stack stops being useful to people: main(), or
 * what starts a thread or the program (start_thread, clone, __libc_start_main, _start, ...). A
 * stack shown trimmed ends with main (kept) or before the thread start (dropped). */
bool report_frame_is_outer(json_object *frame, bool *ret_is_kept);

#endif
