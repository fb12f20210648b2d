/* report.h - the leak report: JSON (INTERFACE.md, doc/formats.md) and text for people.
 *
 * report_build() is pure (builds a json_object from targets); report_write_atomic() writes it to
 * a temporary file in the destination's directory and renames it into place, so a reader never sees
 * a partial report.
 */
#ifndef LEAKMOND_REPORT_H
#define LEAKMOND_REPORT_H

#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "session/target.h"

#define REPORT_VERSION 1

/* Build the report over n targets at wall-clock time now and monotonic now_ns. Returns a new
 * object owned by the caller, or NULL on out-of-memory. */
json_object *report_build(struct target *const *targets, size_t n, time_t now, uint64_t now_ns);

/* JSON array of frames (INTERFACE.md: pc, module, function, file, line, inlined; unknown fields
 * null). Returns a new array or NULL on out-of-memory. */
json_object *report_frames(const struct sym_frame *frames, size_t n);

/* Write report as pretty JSON to path atomically. Returns 0 or -errno (nothing is left behind
 * on failure: the temporary file is removed). */
int report_write_atomic(const char *path, json_object *report);

/* Print the human-readable report of a built JSON report to f. */
void report_print_text(FILE *f, json_object *report);

#endif
