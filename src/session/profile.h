/* profile.h - every live call site of a traced target, symbolized, for the exports: the report's
 * "profile" (output/report.h struct report_profile), made from the live-block table when a report
 * is written.
 *
 * Cost: building aggregates the live table by stack id (O(live blocks), like a sample of the site
 * series) and symbolizes each distinct pc through the target's symbolizer, whose cache answers
 * every pc but new ones. So that stacks of a process that has exited can still be named at its
 * last report, profile_warm() symbolizes (into that cache) the stacks interned since the previous
 * call, a bounded number per call, while the process is alive: at each sample.
 */
#ifndef LEAKMOND_PROFILE_H
#define LEAKMOND_PROFILE_H

#include "session/target.h"

#define PROFILE_WARM_STACKS 2048 /* stacks symbolized per profile_warm() at most */

/* Build t's profile now (t->profile, replacing the previous one; NULL when t is not traced).
 * Returns 0 or -ENOMEM (then t->profile is NULL). */
int profile_build(struct target *t);

/* Symbolize the stacks interned since the last call (at most PROFILE_WARM_STACKS), so that their
 * names are cached while the process can still be read. */
void profile_warm(struct target *t);

/* Forget t's profile and warm-up position (the process executed a new program: stack ids and
 * symbols start over). */
void profile_reset(struct target *t);

#endif
