/* pipeline.h - what happens to one watched process at each sample, and what its report says.
 *
 * sample -> RSS verdict -> RSS alert -> site series -> site verdicts -> selection of the sites a
 * report shows -> symbols -> leak alerts -> the RSS-versus-heap note; and the report model
 * (output/report.h) built from the target. Independent of how samples and allocator events
 * arrive: tests drive it with synthetic samples and the replay backend (tests/unit/check_pipeline.c).
 */
#ifndef LEAKMOND_PIPELINE_H
#define LEAKMOND_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "output/metrics.h"
#include "output/report.h"
#include "output/tslog.h"
#include "session/target.h"

#define PIPELINE_TOP_SITES 10 /* largest live sites a report shows besides the leaks */
#define PIPELINE_MAX_LEAKS 50

/* Where a target's records and alerts go. */
struct pipeline_out {
	struct tslog *log;	/* the target's log: its own (daemon mode) or the session's */
	bool is_alert_stderr;	/* alerts also on stderr */
};

/* Process one sample s of t (read from /proc, or made up by a test): RSS series and verdict, the
 * sample record, an RSS alert when due; when traced (heap_now_ms: the heap's clock now), the
 * backend's figures, site series, verdicts, report selection, symbols and leak alerts. */
void pipeline_tick(struct target *t, const struct pipeline_out *out, const struct sample *s,
		   const struct backend *b, uint32_t heap_now_ms);

/* Name the frames of the prepared reports again (from the symbolizer's cache, which answers
 * that came since have filled), when the target's stacks are still there. */
void pipeline_resymbolize(struct target *t);

/* Raise the leak alerts held back while their sites' names were on their way (after
 * pipeline_resymbolize: alerts already raised are not raised again). Called when a report is
 * written, after the wait for names: an alert then waits only for its site's own frame, the
 * frames below it are named as far as they are. */
void pipeline_raise_held_alerts(struct target *t, const struct pipeline_out *out);

/* Judge t's sites and symbolize the ones a report shows (every leak or suspect, and the largest
 * sites). Done while the process is alive; the result outlives it for the final report. */
void pipeline_prepare_reports(struct target *t);

/* Refresh t's copy of the backend's figures (kept after the process is gone). */
void pipeline_snapshot(struct target *t, const struct backend *b);

/* A note from the backend about t: records (fork, exec) and the state it resets (exec: sites and
 * symbols of the old program). Exits and releases are the session's (they end the proc). */
void pipeline_note(struct target *t, const struct pipeline_out *out, enum backend_note note,
		   int64_t a);

/* The report model of t at monotonic time now_ns (borrows t's strings and sites). */
void pipeline_model(const struct target *t, uint64_t now_ns, struct report_target *ret);

/* The leak sites of t's last report (verdict leak, not suspect). */
size_t pipeline_leak_count(const struct target *t);

/* What the metrics file shows of t (borrows t's strings), from the same state as its report. */
void pipeline_metrics(const struct target *t, struct metrics_target *ret);

#endif
