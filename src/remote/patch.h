/* patch.h - breakpoints with displaced instructions in one traced address space.
 *
 * A scratch page is mapped inside the target (an mmap run through inject_syscall) close enough to
 * the hooked module for rip-relative code. It holds, at offset 0, the return trampoline (one int3)
 * and, per hook, the relocated first instruction followed by a jump back (insn.h). Each hook's
 * first byte is then replaced by int3. Breakpoints stay armed while tracing: a hit moves the thread
 * to the displaced copy. The page is read+execute, never writable; code is written through
 * /proc/PID/mem.
 */
#ifndef LEAKMOND_PATCH_H
#define LEAKMOND_PATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/hooks.h"
#include "remote/insn.h"

#define PATCH_SCRATCH_SIZE 4096
#define PATCH_SLOT 64 /* bytes per displaced copy in the scratch page */

struct patch_site {
	enum alloc_fn fn;
	uint64_t addr;	    /* the hooked function's entry */
	uint8_t orig_byte;  /* the byte the int3 replaced */
	uint64_t copy_addr; /* where its displaced copy runs */
	struct insn_copy copy;
};

struct patch_set {
	uint64_t scratch; /* address of the scratch page in the target, 0 when none */
	uint64_t tramp;	  /* the return trampoline (an int3): a return lands at tramp + 1 */
	struct patch_site sites[ALLOC_FN_MAX];
	size_t n_sites;
	bool is_armed; /* int3s are in place */
};

/* Map the scratch page in the target through thread tid (in a ptrace-stop), write the trampoline
 * and displaced copies, then arm a breakpoint on every hook found in hooks. A hook whose first
 * instruction cannot be displaced is skipped (counted in *ret_skipped); malloc and free are
 * required (-ENOTSUP without them). On failure nothing is left mapped or patched.
 * A signal that reached tid meanwhile is returned in *ret_pending_sig. Returns 0 or -errno. */
int patch_install(struct patch_set *ps, pid_t tid, int mem_fd, uint64_t syscall_insn,
		  const struct hook_set *hooks, unsigned *ret_skipped, int *ret_pending_sig);

/* The site whose int3 sits at addr (a thread stopped by it has rip == addr + 1), or NULL. */
const struct patch_site *patch_find(const struct patch_set *ps, uint64_t addr);

/* If rip lies inside a displaced copy, the equivalent address in the original code; else rip. */
uint64_t patch_map_back(const struct patch_set *ps, uint64_t rip);

/* Put the original bytes back (every site still holding our int3). Returns 0 or -errno. */
int patch_disarm(struct patch_set *ps, int mem_fd);

/* Unmap the scratch page through thread tid. Returns 0 or -errno. */
int patch_unmap(struct patch_set *ps, pid_t tid, uint64_t syscall_insn, int *ret_pending_sig);

#endif
