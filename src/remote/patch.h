/* patch.h - breakpoints with displaced instructions in one traced address space.
 *
 * A scratch page is mapped inside the target (an mmap run through inject_syscall) close enough to
 * the hooked module for rip-relative code. It holds a header, the return trampoline and, per hook,
 * the relocated first instruction followed by a jump back (insn.h). Each hook's first byte is then
 * replaced by int3. Breakpoints stay armed while tracing: a hit moves the thread to the displaced
 * copy. The page is read+execute, never writable; code is written through /proc/PID/mem.
 *
 * The page is never unmapped. Any saved context of the target may still point into it: a signal
 * handler frame pushed while a thread ran a displaced copy holds a rip inside the page, and a
 * thread interrupted between an allocator's `ret` and the trampoline's int3 holds rip == tramp.
 * Neither can be found and rewritten from outside, so the page stays, in a state that is correct
 * without us: every displaced copy keeps its code, and the trampoline, once disarmed, is
 * `nop; jmp *-8(%rsp)` - it returns to the real return address, which detach has written back
 * into the stack slot just below rsp (a signal frame never overwrites it: the kernel keeps the
 * 128-byte red zone). The header marks the page (PATCH_MAGIC), so the next attach finds it and
 * reuses it instead of mapping a second one; a slot is reused only for the same original address
 * with identical code, so a copy some saved context points into is never changed.
 *
 *   [0, 512)       struct patch_header (magic, the original address each slot displaces)
 *   [512, 576)     trampoline: int3 (a nop once disarmed), jmp *-8(%rsp), int3 padding
 *   [576, 4096)    PATCH_N_SLOTS slots of PATCH_SLOT bytes: displaced copies
 */
#ifndef LEAKMOND_PATCH_H
#define LEAKMOND_PATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/hooks.h"
#include "remote/inject.h"
#include "remote/insn.h"

#define PATCH_SCRATCH_SIZE 4096
#define PATCH_SLOT 64 /* bytes per displaced copy in the scratch page */
#define PATCH_TRAMP_OFF 512
#define PATCH_SLOTS_OFF 576
#define PATCH_N_SLOTS ((PATCH_SCRATCH_SIZE - PATCH_SLOTS_OFF) / PATCH_SLOT)
#define PATCH_MAGIC "\177LKMSCR1"
#define PATCH_VERSION 1

/* At offset 0 of the scratch page. */
struct patch_header {
	char magic[8];
	uint32_t version;
	uint32_t n_slots;
	uint64_t slot_addr[PATCH_N_SLOTS]; /* original address slot i displaces; 0: free */
};

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
	bool is_armed;	  /* int3s are in place */
	bool is_reused;	  /* the page was found in the target (left by an earlier attach) */
};

/* The scratch page an earlier attach left in process pid, if any: an anonymous r-x page of
 * PATCH_SCRATCH_SIZE bytes starting with PATCH_MAGIC, within reach of every hook. Returns 0 with
 * *ret_page (0: none found) or -errno. */
int patch_find_scratch(pid_t pid, int mem_fd, const struct hook_set *hooks, uint64_t *ret_page);

/* Reuse the page left by an earlier attach, or map a new one through thread tid (which must be in
 * a stop where a syscall can be injected: see inject_syscall), write the trampoline and displaced
 * copies, then arm a breakpoint on every hook found in hooks. A hook whose first instruction
 * cannot be displaced is skipped (counted in *ret_skipped); malloc and free are required
 * (-ENOTSUP without them). On failure nothing is left patched (a page mapped by this call is
 * unmapped again: no context can point into it yet). A signal that reached tid meanwhile is
 * returned in *ret_pending_sig. Returns 0 or -errno (-ENOSPC: the found page has no free slot). */
int patch_install(struct patch_set *ps, pid_t tid, int mem_fd, const struct inject_site *site,
		  const struct hook_set *hooks, unsigned *ret_skipped, int *ret_pending_sig);

/* The site whose int3 sits at addr (a thread stopped by it has rip == addr + 1), or NULL. */
const struct patch_site *patch_find(const struct patch_set *ps, uint64_t addr);

/* If rip lies inside a displaced copy, the equivalent address in the original code; else rip. */
uint64_t patch_map_back(const struct patch_set *ps, uint64_t rip);

/* Put the original bytes back (every site still holding our int3) and turn the trampoline into
 * its detached form (nop; jmp *-8(%rsp)). The page stays. Returns 0 or -errno. */
int patch_disarm(struct patch_set *ps, int mem_fd);

/* Where the disarmed trampoline's jump is: a thread at tramp + 1 returns through it by itself. */
static inline uint64_t patch_tramp_jump(const struct patch_set *ps)
{
	return ps->tramp + 1;
}

#endif
