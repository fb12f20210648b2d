/* session.h - one leakmond run: its targets, their samples, logs, reports and alerts, driven by
 * the event loop until no target is left, --duration ends, or a terminating signal.
 */
#ifndef LEAKMOND_SESSION_H
#define LEAKMOND_SESSION_H

#include "config/options.h"

/* Exit statuses of INTERFACE.md */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_TARGET 3
#define EXIT_UNCLEAN 4 /* a target was detached, but not cleanly (see the report and log) */

/* Run a session with validated options. The signals of signals_handled_set() must already be
 * blocked in the calling thread. Returns the process exit status; errors are printed on stderr,
 * one line each. */
int session_run(const struct options *opts);

#endif
