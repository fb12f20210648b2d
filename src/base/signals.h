/* signals.h - which signals leakmond handles, and its last resort when it crashes.
 *
 * Every catchable signal whose default action would end leakmond is handled: the ones a user or a
 * service manager sends on purpose (SIGINT, SIGTERM, SIGQUIT, SIGALRM, SIGVTALRM, SIGPROF, SIGPWR,
 * SIGXCPU, SIGXFSZ, SIGSTKFLT, SIGIO and the real-time signals) arrive through the session's
 * signalfd and end the session cleanly, like SIGTERM: every target is restored and detached. The
 * ones that mean leakmond itself is broken (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS,
 * SIGTRAP) run crash_handler: it calls the registered rescue functions (which put the targets'
 * original code back), then dies of the signal as it would have. SIGKILL cannot be handled.
 */
#ifndef LEAKMOND_SIGNALS_H
#define LEAKMOND_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

/* The signals the session reads from its signalfd: SIGCHLD, SIGHUP, SIGUSR1, SIGUSR2 and every
 * terminating one (see above). Blocked in main() before anything else. */
void signals_handled_set(sigset_t *ret);

/* Whether sig ends the session (stops watching, restores the targets). */
bool signals_is_terminating(int sig);

/* The name of sig ("SIGTERM", "SIGRTMIN+3"). Returns buf. */
const char *signals_name(int sig, char *buf, size_t len);

/* A rescue function: async-signal-safe, called from the crash handler in the crashing thread.
 * It may touch leakmond's own data, which may be inconsistent: wrap each step in crash_try(). */
typedef void (*crash_rescue_fn)(void *userdata);

/* Install the crash handler (on an alternate signal stack, so a stack overflow is handled too).
 * Returns 0 or -errno. */
int crash_handler_install(void);

/* Register / unregister a rescue function (at most a few; -ENOSPC beyond). Not async-signal-safe:
 * call from normal code. Returns 0 or -errno. */
int crash_rescue_add(crash_rescue_fn fn, void *userdata);
void crash_rescue_remove(crash_rescue_fn fn, void *userdata);

/* Inside a rescue function: run fn(arg); if it faults (SIGSEGV, SIGBUS), return false instead of
 * dying, so the next step can still run. Returns true when fn returned normally. */
bool crash_try(void (*fn)(void *), void *arg);

#endif
