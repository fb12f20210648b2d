/* agentload.h - the in-process agent (agent/abi.h) in a stopped process: found or mapped, its
 * shared region made, each allocator entry point hooked with a 5-byte jmp, and unhooked.
 *
 * Everything here runs while every thread of the target is stopped (the caller's job, and the
 * caller also checks that no thread's saved context lies inside a range about to be patched:
 * agentload_in_patch). Code and data are written through /proc/PID/mem; system calls (mmap,
 * mprotect, memfd_create, ftruncate, close, munmap) are injected through one thread in a safe stop
 * (inject.h).
 *
 * Each hook's trampoline slot (AGENT_TRAMP_SIZE bytes in the agent's code) holds the displaced
 * prologue relocated, then a jump back; its last 16 bytes hold a record of what the jmp replaced
 * (struct agent_slot_record), so that a leakmond attaching after one that was killed can restore
 * the original bytes. The agent mapping is never unmapped (a thread may be inside a hook, or
 * return through a trampoline, at any time); at detach it is set to AGENT_OFF and the next attach
 * reuses it.
 */
#ifndef LEAKMOND_AGENTLOAD_H
#define LEAKMOND_AGENTLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/abi.h"
#include "image/hooks.h"
#include "remote/inject.h"

#define AGENTLOAD_JMP_LEN 5
#define AGENTLOAD_RECORD_MAGIC UINT32_C(0x4c4b4d52) /* "RMKL" */

/* At the end of each trampoline slot. */
struct agent_slot_record {
	uint32_t magic;	  /* AGENTLOAD_RECORD_MAGIC once the slot is in use */
	uint8_t covered;  /* bytes of whole instructions displaced */
	uint8_t saved[AGENTLOAD_JMP_LEN]; /* what the jmp replaced */
	uint8_t pad[6];
};

struct agent_hook {
	enum alloc_fn fn;
	uint64_t addr;	  /* the function's entry */
	uint64_t tramp;	  /* its relocated prologue, in the agent */
	size_t covered;	  /* bytes of the displaced instructions (>= AGENTLOAD_JMP_LEN) */
	uint8_t saved[AGENTLOAD_JMP_LEN];
	bool was_armed;	  /* found hooked already (a killed leakmond's jmp) */
};

struct agent_place {
	uint64_t base; /* the agent mapping in the target; 0: none */
	struct agent_header hdr;
	struct agent_hook hooks[ALLOC_FN_MAX];
	size_t n_hooks;
	unsigned skipped; /* entry points that could not be hooked */
	bool is_reused;	  /* found in the target (left by an earlier attach) */
	bool is_armed;	  /* our jmps are in place */
	uint64_t shared;  /* the shared region in the target; 0: none */
	uint64_t shared_size;
	void *shared_map; /* our mapping of it */
};

/* The agent an earlier attach left in process pid, if any: an anonymous mapping whose header is
 * valid, within +-2 GiB of every hook. Returns 0 with *ret_base (0: none) and its header, or -errno. */
int agentload_find(pid_t pid, int mem_fd, const struct hook_set *hooks, uint64_t *ret_base,
		   struct agent_header *ret_hdr);

/* Reuse the agent left in the target or map a new one (through thread tid) within reach of every
 * hook, and make sure a shared region of shared_size bytes is mapped in both the target and us
 * (an existing one is reused when its pages can be opened through its mapping, by
 * image_open_mapping; else a new memfd is made). Nothing is hooked yet. *ret_is_new_shared tells whether the region is fresh
 * (to be initialised by the caller). Returns 0 or -errno (nothing new left mapped on failure). */
int agentload_map(struct agent_place *ap, pid_t pid, pid_t tid, int mem_fd, const struct inject_site *site,
		  const struct hook_set *hooks, uint64_t shared_size, bool *ret_is_new_shared,
		  int *ret_pending_sig);

/* Plan and write each hook's trampoline (the displaced prologue relocated into its slot), and the
 * agent's data: original functions, entries, the shared region, state ON. A function whose
 * prologue cannot be displaced, or that something jumps into, is skipped (counted); malloc and free
 * are required (-ENOTSUP). Returns 0 or -errno. */
int agentload_prepare(struct agent_place *ap, int mem_fd, const struct hook_set *hooks);

/* Whether pc lies strictly inside a range a hook's jmp covers (a thread resuming there would
 * execute half an instruction): such a thread must not exist when arming. */
bool agentload_in_patch(const struct agent_place *ap, uint64_t pc);

/* Whether pc lies in the agent's code (a hook or a trampoline). */
bool agentload_in_agent(const struct agent_place *ap, uint64_t pc);

/* Write the jmps. Returns 0 or -errno (then none is left). */
int agentload_arm(struct agent_place *ap, int mem_fd);

/* Put the original bytes back and set the agent to AGENT_OFF in this address space. The agent
 * stays mapped. Returns 0 or -errno. */
int agentload_disarm(struct agent_place *ap, int mem_fd);

/* Set the agent's state in the address space behind mem_fd (a fork child's, for one). */
int agentload_set_state(const struct agent_place *ap, int mem_fd, enum agent_state state);

/* Unmap the shared region in the target (through tid; only when no thread is inside the agent:
 * the caller checks) and forget it there (data->shared = 0). Returns 0 or -errno. */
int agentload_unmap_shared(struct agent_place *ap, pid_t tid, int mem_fd, const struct inject_site *site,
			   int *ret_pending_sig);

/* Our side: unmap our view of the shared region. */
void agentload_release(struct agent_place *ap);

#endif
