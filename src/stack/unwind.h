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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Most frames one unwind returns (as stacks.h's STACKS_DEPTH_MAX). */
#define UNWIND_DEPTH_MAX 128
/* A frame whose stack pointer is more than this above the previous frame's is implausible: no
 * frame is larger than the default stack limit (RLIMIT_STACK, 8 MiB). */
#define UNWIND_FRAME_BYTES_MAX (8U << 20)
/* The executable mappings are read again when a pc falls outside all of them (code mapped since:
 * dlopen, JIT): the first time at once, then at most this often (garbage pcs from bad CFI fall
 * outside at every call). */
#define UNWIND_MAPS_REREAD_NS (100ULL * 1000 * 1000)

/* An executable mapping of the process, [start, end). */
struct unwind_range {
	uint64_t start, end;
};

/* The cut rule: how many of the frames pcs[0..n) to keep, where sps[i] is the stack pointer in
 * frame i (its CFA: the stack pointer just after its return) and sp0 the stack pointer of the
 * stopped function. Unwinding through bad CFI (a corrupt .eh_frame, code that moved its stack)
 * reads garbage as return addresses and gives each call its own stack; so the stack ends at the
 * first frame that is implausible:
 *   - its pc lies in no executable mapping (exec[0..n_exec), sorted, not overlapping; with
 *     none known, n_exec 0, this rule is not applied);
 *   - its stack pointer is not above the previous frame's (stacks grow down: a caller's frame
 *     is higher; this also ends loops of repeated frames), or more than UNWIND_FRAME_BYTES_MAX
 *     above it.
 * The first frame (the allocator's caller, read from the return address itself) is always kept.
 * Pure. Returns the number of frames kept (0 only when n is 0). */
size_t unwind_plausible_depth(const uint64_t *pcs, const uint64_t *sps, size_t n, uint64_t sp0,
			      const struct unwind_range *exec, size_t n_exec);

/* Whether pc lies in one of exec[0..n_exec) (sorted, not overlapping). Pure. */
bool unwind_in_ranges(const struct unwind_range *exec, size_t n_exec, uint64_t pc);

struct unwinder;

/* An unwinder for process pid, reading memory through mem_fd (borrowed: valid as long as the
 * unwinder). Returns NULL on failure (errno set). */
struct unwinder *unwinder_new(pid_t pid, int mem_fd);
struct unwinder *unwinder_free(struct unwinder *u);

/* Report the modules again (after dlopen or exec). Returns 0 or -errno. */
int unwinder_refresh(struct unwinder *u);

/* Unwind thread tid, stopped at the first instruction of a function (rip = its entry), from
 * regs and the stack copy stack[0..stack_len) taken at regs->rsp. Stores up to max return
 * addresses in pcs, the function's caller first (the stopped function itself is skipped), cut
 * by unwind_plausible_depth() against the process's executable mappings (read from
 * /proc/PID/maps when the unwinder is made, and again when a pc falls outside them, see
 * UNWIND_MAPS_REREAD_NS). Returns how many, or -errno when not even the caller was found. */
int unwinder_unwind(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs,
		    const uint8_t *stack, size_t stack_len, uint64_t *pcs, size_t max);

#endif
