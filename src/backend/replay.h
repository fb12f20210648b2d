/* replay.h - the replay backend: a scripted sequence of allocator events and process notes, fed
 * to the session's heaps as if a real backend had seen them (like chrony's test drivers). No
 * ptrace, no process: attach accepts any pid. Tests push events and notes, then let the session
 * (or themselves) call dispatch, which applies everything queued in order.
 */
#ifndef LEAKMOND_REPLAY_H
#define LEAKMOND_REPLAY_H

#include <sys/types.h>

#include "backend/backend.h"

/* Queue one allocator call of process pid (ev->time_ms and ev->stack_id are used as given).
 * Returns 0, -ENOMEM, or -EINVAL when b is not a replay backend. */
int replay_push_event(struct backend *b, pid_t pid, const struct alloc_event *ev);

/* Queue the stack pcs[0..n) to be interned in pid's heap when dispatched; the event pushed next for
 * pid gets its id as stack_id. Returns 0 or -errno. */
int replay_push_stack(struct backend *b, pid_t pid, const uint64_t *pcs, size_t n);

/* Queue a note about pid (BACKEND_EXECED resets its heap first, BACKEND_EXITED and
 * BACKEND_RELEASED end its proc). Returns 0 or -errno. */
int replay_push_note(struct backend *b, pid_t pid, enum backend_note note, int64_t a);

/* Make the next attach to pid fail with err (a negative errno) and this message. */
int replay_refuse(struct backend *b, pid_t pid, int err);

#endif
