/* unwind.h - registers + a copy of the top of a stopped thread's stack -> program counters.
 *
 * Uses elfutils libdwfl: the process's modules are reported from /proc/PID/maps once (and again
 * after an exec or when asked), and dwfl_attach_state() is given our own thread callbacks, whose
 * memory reads are served from the stack copy and fall back to /proc/PID/mem outside it. CFI
 * (.eh_frame, .debug_frame) drives the unwinding; libdwfl falls back to frame pointers where a
 * module has none. Called on the hot path, while the thread is stopped: no symbolization here.
 */
#ifndef LEAKMOND_UNWIND_H
#define LEAKMOND_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct unwinder;

/* An unwinder for process pid, reading memory through mem_fd (borrowed: valid as long as the
 * unwinder). Returns NULL on failure (errno set). */
struct unwinder *unwinder_new(pid_t pid, int mem_fd);
struct unwinder *unwinder_free(struct unwinder *u);

/* Report the modules again (after dlopen or exec). Returns 0 or -errno. */
int unwinder_refresh(struct unwinder *u);

/* Unwind thread tid, stopped at the first instruction of a function (rip = its entry), from
 * regs and the stack copy stack[0..stack_len) taken at regs->rsp. Stores up to max return
 * addresses in pcs, the function's caller first (the stopped function itself is skipped).
 * Returns how many, or -errno when not even the caller was found. */
int unwinder_unwind(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs,
		    const uint8_t *stack, size_t stack_len, uint64_t *pcs, size_t max);

#endif
