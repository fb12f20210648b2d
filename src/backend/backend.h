/* backend.h - event sources behind one interface: how a process's allocator calls are seen.
 *
 * A backend is a const table of operations, in the style of strace's unwinder back-ends: the
 * session calls only the table and keeps each traced process's backend state as an opaque
 * pointer. Every backend feeds the same heap sink (heap/heap.h), owned by the session's target
 * and handed to the backend at attach; what happens to the process (hooked, forked, executed,
 * exited, released, events lost) comes back as notes.
 *
 * Backends: backend_breakpoint (int3 + ptrace, a stop per call: exact, nothing of ours runs in
 * the target), backend_replay (a scripted event sequence, for tests), and later the in-process
 * agent. Adding one: doc/design.md, "How to add a backend".
 */
#ifndef LEAKMOND_BACKEND_H
#define LEAKMOND_BACKEND_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heap/heap.h"

struct backend;
struct backend_proc;

enum backend_note {
	BACKEND_HOOKED,	     /* hooks are in (after attach, or at the entry of a new program) */
	BACKEND_FORKED,	     /* it forked: a = the child's pid (released untraced) */
	BACKEND_EXECED,	     /* it executed a new program: its heap was reset */
	BACKEND_EXITED,	     /* it exited: a = wait status; its backend_proc is gone */
	BACKEND_RELEASED,    /* tracing stopped on an error, the process was let go: a = -errno;
			      * its backend_proc is gone */
	BACKEND_LOST_EVENTS, /* a = allocator calls that could not be recorded since the last note */
};

typedef void (*backend_note_fn)(void *userdata, pid_t pid, enum backend_note note, int64_t a);

struct backend_config {
	unsigned depth;		/* stack frames kept per allocation; 0: no stacks */
	size_t stack_copy;	/* bytes of stack copied per allocation for unwinding */
	uint64_t sample_bytes;	/* backends that sample: mean bytes between sampled allocations */
	backend_note_fn note;
	void *userdata;
};

/* Neutral statistics of one traced process. */
struct backend_stats {
	uint64_t events;	  /* allocator calls recorded */
	uint64_t lost;		  /* calls that could not be recorded (dropped, no room) */
	uint64_t nested;	  /* calls made from inside another, counted once */
	uint64_t unwind_failures; /* allocations whose stack stopped at the caller */
	uint64_t threads;	  /* threads traced now */
	uint64_t threads_seen;	  /* threads traced in all */
	unsigned hooks;		  /* entry points hooked */
	unsigned hooks_skipped;	  /* entry points found but not hookable */
	bool is_hooked;
	/* the breakpoint backend's own figure (0 elsewhere) */
	uint64_t stops;		  /* ptrace stops handled */
};

struct backend_ops {
	const char *name;	/* "breakpoint", "replay", ... (the report's heap.backend) */
	bool is_ptrace;		/* its stops arrive as SIGCHLD: the session calls dispatch then */

	/* A new instance. Returns NULL on out-of-memory. */
	struct backend *(*create)(const struct backend_config *cfg);
	/* Detach every process still traced, then free. Returns NULL. */
	struct backend *(*destroy)(struct backend *b);

	/* Attach to running process pid, feeding heap (borrowed until detach or a note that ends
	 * the proc). The process runs on when this returns. On failure nothing is left attached or
	 * changed and err holds a one-line reason naming the pid: -EPERM (permission, or already
	 * traced), -ESRCH, -ENOTSUP (no hookable allocator), -EBUSY, other -errno. */
	int (*attach)(struct backend *b, pid_t pid, struct heap *heap, struct backend_proc **ret,
		      char *err, size_t errlen);
	/* Take a child that is held before its exec (session/child.c): it is hooked at the entry
	 * of the new program, before main(). Returns 0 or -errno with err. */
	int (*attach_held)(struct backend *b, pid_t pid, struct heap *heap,
			   struct backend_proc **ret, char *err, size_t errlen);
	/* Restore the process exactly and let it go; p is freed. Returns 0, or -errno when the
	 * restore was not clean (the process is let go in any case). */
	int (*detach)(struct backend *b, struct backend_proc *p);

	/* A descriptor the session polls for input (-1: none); when it is readable, or on SIGCHLD
	 * for a ptrace backend, the session calls dispatch. */
	int (*poll_fd)(const struct backend *b);
	/* Handle what is pending, at most max items (non-blocking). Returns the number handled
	 * (max: more may be pending, call again), or -errno. */
	int (*dispatch)(struct backend *b, int max);

	void (*get_stats)(const struct backend_proc *p, struct backend_stats *ret);
	/* Whether a waitpid result for pid belongs to the backend. */
	bool (*owns)(const struct backend *b, pid_t pid);

	/* Optional (NULL: not supported). Record stacks more coarsely from now on: at least
	 * sample_bytes bytes allocated, on average, between two allocations whose stack is kept
	 * (the session's overhead and memory governors). Returns 0 or -errno. */
	int (*set_sampling)(struct backend *b, struct backend_proc *p, uint64_t sample_bytes);
};

/* Every instance starts with this. */
struct backend {
	const struct backend_ops *ops;
};

extern const struct backend_ops backend_breakpoint;
extern const struct backend_ops backend_agent;
extern const struct backend_ops backend_replay;

/* The backend called name, or NULL. */
const struct backend_ops *backend_find(const char *name);

static inline int backend_attach(struct backend *b, pid_t pid, struct heap *heap,
				 struct backend_proc **ret, char *err, size_t errlen)
{
	return b->ops->attach(b, pid, heap, ret, err, errlen);
}

static inline int backend_attach_held(struct backend *b, pid_t pid, struct heap *heap,
				      struct backend_proc **ret, char *err, size_t errlen)
{
	return b->ops->attach_held(b, pid, heap, ret, err, errlen);
}

static inline int backend_detach(struct backend *b, struct backend_proc *p)
{
	return b->ops->detach(b, p);
}

static inline int backend_dispatch(struct backend *b, int max)
{
	return b->ops->dispatch(b, max);
}

static inline void backend_get_stats(const struct backend *b, const struct backend_proc *p,
				     struct backend_stats *ret)
{
	b->ops->get_stats(p, ret);
}

/* -EOPNOTSUPP when the backend cannot change its sampling. */
static inline int backend_set_sampling(struct backend *b, struct backend_proc *p,
				       uint64_t sample_bytes)
{
	return b->ops->set_sampling ? b->ops->set_sampling(b, p, sample_bytes) : -EOPNOTSUPP;
}

static inline struct backend *backend_destroy(struct backend *b)
{
	return b ? b->ops->destroy(b) : NULL;
}

#endif
