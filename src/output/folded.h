/* folded.h - folded stacks (Brendan Gregg's format, read by flamegraph.pl, speedscope, inferno):
 * one line per distinct stack, "outermost;...;innermost WEIGHT", over every live call site of
 * the report's "profile" (doc/formats.md).
 *
 * The weight is a site's live bytes (or live blocks); the lines add up to the profile's total.
 * Frames are function names (inlined functions are frames of their own), "[module]" when the
 * function is unknown, "[no stack]" for blocks whose stack was not recorded and "[N other
 * sites]" for the sites beyond the profile's cap. When the report holds several targets, each
 * stack starts with a "comm (pid N)" frame. Lines are sorted and identical stacks merged, so the
 * output depends on the report only. Pure: writes to a stream the caller owns.
 */
#ifndef LEAKMOND_FOLDED_H
#define LEAKMOND_FOLDED_H

#include <json-c/json.h>
#include <stdio.h>

enum folded_weight { FOLDED_BYTES, FOLDED_BLOCKS };

/* Write the folded stacks of report (a parsed JSON report) to f. Returns the number of lines, or
 * -ENOMEM, or -EIO when writing to f failed. A report without any profile gives no line. */
int folded_write(FILE *f, json_object *report, enum folded_weight weight);

#endif
