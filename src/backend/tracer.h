/* tracer.h - the ptrace tracing engine: every thread of each traced process, their stops, and
 * the allocator calls they make.
 *
 * One thread (the caller's) makes every ptrace call. Processes are attached with PTRACE_SEIZE
 * (never PTRACE_O_EXITKILL: our death must not kill the target); every stop is handled by
 * tracer_dispatch() and ends with the thread resumed, listening (group-stop), or detached.
 * Each traced process owns a live-block table fed by its breakpoints (events.h).
 */
#ifndef LEAKMOND_TRACER_H
#define LEAKMOND_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "heap/events.h"
#include "heap/live.h"
#include "heap/stacks.h"

struct tracer;
struct tproc;

enum tracer_event {
	TRACER_EXITED,	 /* the process exited: a = wait status */
	TRACER_FORKED,	 /* it forked: a = child pid (the child is restored and released) */
	TRACER_EXECED,	 /* it executed a new program (hooks re-installed at its entry) */
	TRACER_HOOKED,	 /* hooks are installed (after attach, or at the entry of a new image) */
	TRACER_LOST,	 /* tracing stopped on an error: the process was released; a = -errno */
};

typedef void (*tracer_event_fn)(void *userdata, struct tproc *p, pid_t pid, enum tracer_event ev,
				int a);

struct trace_stats {
	struct live_stats live;
	struct event_counts calls;
	uint64_t stops;		/* ptrace stops handled */
	uint64_t nested;	/* allocator calls made from inside another (not counted twice) */
	uint64_t threads;	/* threads traced now */
	uint64_t threads_seen;	/* threads traced in all */
	unsigned hooks;		/* breakpoints armed */
	unsigned hooks_skipped; /* entry points found but not displaceable */
	bool is_hooked;
	uint64_t stacks;	  /* distinct allocation stacks */
	uint64_t unwind_failures; /* allocations whose stack stopped at the caller */
};

/* A new tracer. on_event is called from tracer_dispatch(). Returns NULL on out-of-memory. */
struct tracer *tracer_new(tracer_event_fn on_event, void *userdata, size_t max_blocks);
/* Capture stacks of depth frames (0: none) from a copy of copy_bytes of the stack at each
 * allocation. Applies to processes hooked afterwards. Defaults: 32 frames, 8 KiB. */
void tracer_set_stacks(struct tracer *tr, unsigned depth, size_t copy_bytes);

/* Borrowed views of a traced process's tables, valid until its next stop is handled. */
const struct live_table *tracer_live(const struct tproc *p);
const struct stack_table *tracer_stacks(const struct tproc *p);
/* The clock of the live table's block times: milliseconds since tracing of p began. */
uint32_t tracer_now_ms(const struct tproc *p);
/* Whether p's hooks are armed (not waiting for an exec, an entry point or SIGCONT). */
bool tracer_is_hooked(const struct tproc *p);

/* Detach every process still traced (as tracer_detach), then free. Returns NULL. */
struct tracer *tracer_free(struct tracer *tr);

/* Attach to every thread of running process pid and install the allocator hooks. The process runs
 * on when this returns. On failure nothing is left attached or patched and err holds a one-line
 * reason naming the pid: -EPERM (permission, or already traced: the message says by whom), -ESRCH,
 * -ENOTSUP (no hookable allocator), other -errno. */
int tracer_attach(struct tracer *tr, pid_t pid, struct tproc **ret, char *err, size_t errlen);

/* Seize a child that is held before exec (see monitor.c): once it executes, hooks are installed
 * at the entry point of the new program, before main(). Returns 0 or -errno with err. */
int tracer_seize_child(struct tracer *tr, pid_t pid, struct tproc **ret, char *err, size_t errlen);

/* Handle the stops that are pending, at most max of them (non-blocking): a busy process can keep
 * stops coming forever, and the caller's other events (signals, timers) must get their turn.
 * Returns the number handled (max: more may be pending, call again), or -errno. */
int tracer_dispatch(struct tracer *tr, int max);

/* Restore process p exactly and detach it: threads are stopped, moved out of displaced copies,
 * hijacked return addresses put back, original bytes restored, the scratch page unmapped, then
 * every thread detached (a group-stopped one stays stopped). p is freed. Returns 0 or -errno (the
 * process is detached in any case). */
int tracer_detach(struct tracer *tr, struct tproc *p);

void tracer_get_stats(const struct tproc *p, struct trace_stats *ret);
pid_t tracer_proc_pid(const struct tproc *p);

/* Whether pid is one of the tracer's threads (a waitpid result belongs to the tracer). */
bool tracer_owns(const struct tracer *tr, pid_t pid);

#endif
