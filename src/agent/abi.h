/* abi.h - the contract between leakmond and its in-process agent (the agent backend).
 *
 * The agent is a small freestanding, position-independent blob (src/agent/agent.c, no libc, raw
 * system calls) that leakmond maps into a target and reaches by patching a 5-byte `jmp rel32` over
 * the first instructions of each allocator entry point. This header is included by both sides:
 * the agent (compiled with -DLEAKMOND_AGENT, freestanding) and leakmond. Everything here is plain
 * data with fixed sizes; every offset is in bytes.
 *
 * Memory the agent uses in the target:
 *
 *   agent mapping (anonymous, MAP_PRIVATE, injected mmap; placed within +-2 GiB of the hooks)
 *     [0, code_size)            r-x  the blob's code and read-only data; struct agent_header at 0;
 *                                    the trampoline area (tramp_off) written by leakmond through
 *                                    /proc/PID/mem: per hooked function, its displaced prologue
 *                                    relocated, then a jmp back to the rest of the function
 *     [data_off, total_size)    rw-  struct agent_data: private to the process (a fork child gets
 *                                    its own copy, so disabling the agent in a child leaves the
 *                                    parent traced)
 *   shared region (a memfd, MAP_SHARED, mapped by the agent and by leakmond)
 *     struct agent_shared, then the thread slots, the event ring and the sample ring
 *
 * Hooks: leakmond writes `jmp entry_off[fn]` at fn's entry. The entry stub saves the callee-saved
 * registers, calls the C hook with the original arguments, and returns the C hook's result to the
 * allocator's caller. The C hook calls the original function through data->orig[fn] (the
 * relocated prologue in the trampoline area), and, when the agent is enabled and the call is not
 * nested in another hooked call of the same thread, records one event. Nothing in a hook ever
 * blocks, waits, or allocates: when a ring is full the record is dropped and counted.
 */
#ifndef LEAKMOND_AGENT_ABI_H
#define LEAKMOND_AGENT_ABI_H

#include <stdint.h>

#include "heap/allocfn.h"

#define AGENT_MAGIC UINT64_C(0x31544e474d4b4c7f)	/* "\x7fLKMGNT1" in memory */
#define AGENT_SHARED_MAGIC UINT64_C(0x3148534d4b4c7f)	/* "\x7fLKMSH1" */
#define AGENT_ABI_VERSION 2 /* 2: CPython allocator domains (py_*) */
#define AGENT_TRAMP_SIZE 64 /* bytes of trampoline area per allocator function */

/* CPython's allocator domains (PyMemAllocatorDomain) and the entries of a PyMemAllocatorEx. */
enum agent_py_domain { AGENT_PY_RAW, AGENT_PY_MEM, AGENT_PY_OBJ, AGENT_PY_DOMAINS };
enum agent_py_fn { AGENT_PY_MALLOC, AGENT_PY_CALLOC, AGENT_PY_REALLOC, AGENT_PY_FREE, AGENT_PY_FNS };
#define AGENT_PY_TABLE_WORDS 5 /* PyMemAllocatorEx: ctx, malloc, calloc, realloc, free */
#define AGENT_PY_FRAMES_MAX  24 /* Python frames recorded per sample */

/* At offset 0 of the blob (and so of the agent mapping). Offsets from the mapping's start. */
struct agent_header {
	uint64_t magic;	       /* AGENT_MAGIC */
	uint32_t abi_version;  /* AGENT_ABI_VERSION */
	uint32_t header_size;  /* sizeof(struct agent_header) */
	uint32_t code_size;    /* [0, code_size) is mapped r-x; a multiple of 4096 */
	uint32_t total_size;   /* code + data; a multiple of 4096 */
	uint32_t data_off;     /* struct agent_data (rw); a multiple of 4096, == code_size */
	uint32_t tramp_off;    /* ALLOC_FN_MAX * AGENT_TRAMP_SIZE bytes of int3, inside the code */
	uint32_t entry_off[ALLOC_FN_MAX]; /* the hook entry stub of each function */
	uint32_t blob_size;    /* bytes of the blob image (<= total_size), data page(s) included
				* with struct agent_data initialised; the rest of the mapping is 0 */
	uint32_t landing_off;  /* `mov %rax, %rdi; rt_sigreturn`: where an injected call returns
				* (remote/inject.h inject_call) */
	uint32_t py_entry_off[AGENT_PY_DOMAINS * AGENT_PY_FNS]; /* the CPython allocator wrappers,
				* domain-major (raw, mem, obj), each malloc, calloc, realloc, free */
	uint32_t reserved[2];
};

enum agent_state {
	AGENT_OFF = 0, /* hooks call the original and record nothing */
	AGENT_ON = 1,  /* hooks record into the shared region */
};

/* The agent's private, writable data (at data_off). Written by leakmond through /proc/PID/mem
 * while every thread of the target is stopped, read by the hooks. */
struct agent_data {
	uint64_t magic;			/* AGENT_MAGIC: lets leakmond check a mapping it finds */
	uint64_t orig[ALLOC_FN_MAX];	/* address to call for the original function; 0: unhooked */
	uint64_t entry[ALLOC_FN_MAX];	/* the hooked function's own entry address (reported as
					 * the pc of sampled events) */
	uint64_t shared;		/* address of struct agent_shared in this process; 0: none */
	uint32_t state;			/* enum agent_state */
	uint32_t generation;		/* bumped by leakmond at each attach */
	uint64_t reserved[4];

	/* CPython (ABI 2). The wrappers call py_orig[domain] (the PyMemAllocatorEx the process had
	 * before we installed ours; kept after detach: a table that replaced ours may still chain to
	 * a wrapper, which then passes every call through). py_table is leakmond's scratch for the
	 * PyMem_GetAllocator / PyMem_SetAllocator calls it injects. */
	uint64_t py_orig[AGENT_PY_DOMAINS][AGENT_PY_TABLE_WORDS];
	uint64_t py_table[AGENT_PY_TABLE_WORDS];
	uint32_t py_state;		/* enum agent_state: the wrappers record when ON */
	uint32_t py_generation;
	int64_t py_countdown;		/* bytes before the next sampled Python allocation; shared
					 * by the threads (the GIL serialises most calls; a race
					 * only perturbs the sampling) */
	uint64_t py_rng;
	/* the frame walk (image/pyinfo.h offsets); py_tstate_addr 0: no Python frames */
	uint64_t py_tstate_addr;	/* &_PyRuntime.gilstate.tstate_current */
	uint32_t py_ts_thread_id, py_ts_cframe, py_cframe_current, py_frame_code;
	uint32_t py_frame_previous, py_frame_prev_instr, py_frame_is_entry, py_frame_size;
	uint32_t py_code_adaptive, py_reserved;
	/* a thread that released the GIL (a C call made through ctypes): its state is found in
	 * the main interpreter's thread list, its frames stay put while it runs C code */
	uint64_t py_interp_addr;	/* &_PyRuntime.interpreters.main */
	uint32_t py_interp_threads;	/* PyInterpreterState.threads.head */
	uint32_t py_ts_next;		/* PyThreadState.next */
	/* the shared set of sampled blocks for the frees' fast look (0: none; cleared before the
	 * shared region is unmapped) and its bucket mask */
	uint64_t py_set;
	uint64_t py_set_mask;
};

/* One Python frame of a sample: the code object and the code unit being run. */
struct agent_pyframe {
	uint64_t code;	 /* PyCodeObject * */
	int32_t instr;	 /* index of the code unit (prev_instr - co_code_adaptive, in units) */
	uint32_t flags;	 /* AGENT_PYFRAME_ENTRY: the first frame of its _PyEval_EvalFrameDefault */
};
#define AGENT_PYFRAME_ENTRY 0x01

/* One thread's slot in the shared region, found by hashing the thread pointer (%fs:0). */
struct agent_thread {
	uint64_t key;		/* the owner's thread pointer; 0: free (claimed with a CAS) */
	uint32_t tid;		/* the owner's tid (gettid at claim), for leakmond to reclaim slots
				 * of threads that exited */
	uint32_t depth;		/* > 0 while the owner is inside a hook */
	int64_t until_sample;	/* bytes left before the next sampled allocation */
	uint64_t rng;		/* xorshift64 state, seeded at claim */
};

/* One allocator call (32 bytes). Normalised by the agent (every size saturated at 2^48 - 1):
 *   malloc, valloc, pvalloc     size = arg0,            ptr = result
 *   calloc                      size = n * size (saturated on overflow), ptr = result
 *   realloc                     size = arg1, old = arg0, ptr = result
 *   reallocarray                size = n * size,  old = arg0, ptr = result
 *   memalign, aligned_alloc     size = arg1,            ptr = result
 *   posix_memalign              size = arg2, ptr = *memptr when it returned 0, else 0
 *   free                        ptr = arg0 (free(NULL) records nothing)
 * ptr == 0 for an allocating function means it failed (realloc(p, 0) returning NULL: see
 * events.h for what that means).
 * Order: free's event is published before the original free runs (so that another thread's
 * allocation of the same address can never precede it in the ring); every other event after the
 * original returns. A sampled allocation claims its event cell first, then publishes its sample,
 * then the event: every published sample has an event, and when the consumer sees a sampled
 * event its sample is already visible (the oldest unconsumed one with the same ptr, fn, size). */
struct agent_event {
	uint64_t seq;	  /* ring protocol (see below) */
	uint64_t ptr;
	uint64_t old;
	uint64_t size_fn; /* bits 0-47 size, 48-55 enum alloc_fn, 56-63 AGENT_EV_* flags */
};

#define AGENT_EV_SIZE_MASK ((UINT64_C(1) << 48) - 1)
#define AGENT_EV_FN_SHIFT 48
#define AGENT_EV_FLAGS_SHIFT 56
#define AGENT_EV_SAMPLED 0x01 /* a struct agent_sample with the same ptr was published first */
#define AGENT_EV_PYTHON	 0x02 /* from a CPython allocator domain: a sampled block (its size
			       * stands for the sample's period) or the free of one */

/* Registers at the hooked function's entry, for unwinding its caller's stack. */
enum agent_reg { AGENT_REG_RIP, AGENT_REG_RSP, AGENT_REG_RBP, AGENT_REG_RBX, AGENT_REG_R12,
		 AGENT_REG_R13, AGENT_REG_R14, AGENT_REG_R15, AGENT_REG_MAX };

/* A sampled allocation: registers and a copy of the top of the stack at the allocator's entry
 * (rip = the hooked function's entry, rsp points at the return address into its caller). The
 * cell is shared->sample_cell_size bytes; stack[] holds stack_len bytes copied from rsp (the copy
 * is made with process_vm_readv on the agent's own process, so it stops safely at the end of the
 * stack mapping). */
struct agent_sample {
	uint64_t seq;	     /* ring protocol */
	uint64_t ptr;	     /* the block, as in the event */
	uint64_t size;	     /* the size, as in the event */
	uint64_t period;     /* shared->sample_bytes when this sample was taken (0: every alloc) */
	uint32_t fn;	     /* enum alloc_fn */
	uint32_t tid;
	uint32_t stack_len;
	uint32_t n_py;	     /* Python frames, innermost first, in the cell's last
			      * AGENT_PY_FRAMES_MAX * sizeof(struct agent_pyframe) bytes */
	uint64_t regs[AGENT_REG_MAX];
	uint8_t stack[];
};
#define AGENT_PY_RESERVE (AGENT_PY_FRAMES_MAX * 16) /* bytes at the end of each sample cell */

#define AGENT_PYSET_WAYS 8 /* one cache line per bucket */
/* After the set: one byte per page hash, the number of sampled blocks in the pages that hash
 * there (255: saturated, stays), so that most frees look at a small, hot table only. */
#define AGENT_PYFILTER_BITS 14
#define AGENT_PYFILTER_BYTES (1U << AGENT_PYFILTER_BITS)

/* The shared region's header. Layout fields and settings are written by leakmond before it
 * publishes the region (data->shared); counters by the agent with atomic adds; each ring index
 * sits on its own cache line.
 *
 * Rings (events and samples alike) are bounded multi-producer, single-consumer queues with a
 * sequence number per cell (D. Vyukov's scheme). Cell i starts with seq = i. A producer loads
 * head, and for cell = head & (n - 1): seq == head -> it claims the cell with a CAS of head to
 * head + 1, writes the record, then stores seq = head + 1 (release); seq < head -> the ring is
 * full: the record is dropped and the lost counter incremented; seq > head -> another producer
 * won: reload head and retry (bounded number of retries, then drop). The consumer (leakmond) at
 * tail reads the cell when seq == tail + 1 (acquire), then stores seq = tail + n (release) and
 * advances tail. */
struct agent_shared {
	uint64_t magic;		/* AGENT_SHARED_MAGIC */
	uint32_t abi_version;
	uint32_t header_size;	/* sizeof(struct agent_shared) */
	uint64_t total_size;	/* bytes of the region */

	/* settings (leakmond; may change at any time, read with relaxed loads) */
	uint64_t sample_bytes;	/* mean bytes between sampled allocations; 0: sample every one */
	uint32_t stack_copy;	/* bytes of stack to copy per sample (<= cell capacity) */
	uint32_t flags;		/* reserved, 0 */

	/* layout (leakmond, before publication) */
	uint32_t threads_off, n_threads;	 /* struct agent_thread[n_threads], a power of 2 */
	uint32_t events_off, n_events;		 /* struct agent_event[n_events], a power of 2 */
	uint32_t samples_off, n_samples;	 /* n_samples cells, a power of 2 */
	uint32_t sample_cell_size;		 /* bytes per sample cell, a multiple of 64; its last
						  * AGENT_PY_RESERVE bytes hold Python frames */
	uint32_t pyset_off, n_pybuckets;	 /* uint64_t[n_pybuckets][AGENT_PYSET_WAYS]: the
						  * addresses of the sampled Python blocks still
						  * live (0: free way), then the page filter
						  * (AGENT_PYFILTER_BYTES) */
	uint64_t py_sample_bytes;		 /* mean bytes between sampled Python allocations */

	/* counters (agent) */
	uint64_t lost_events;	/* events dropped: ring full, or no thread slot */
	uint64_t lost_samples;	/* samples dropped: sample ring full (the event is kept) */
	uint64_t nested;	/* hooked calls made inside another hooked call: not recorded */
	uint64_t no_slot;	/* calls made by a thread that found no free thread slot */
	uint64_t py_samples;	/* sampled Python allocations recorded */
	uint64_t py_set_full;	/* sampled Python allocations dropped: their bucket was full */
	uint64_t reserved1[2];

	uint64_t ev_head __attribute__((aligned(64)));
	uint64_t ev_tail __attribute__((aligned(64)));
	uint64_t sm_head __attribute__((aligned(64)));
	uint64_t sm_tail __attribute__((aligned(64)));
	uint8_t pad[56];
} __attribute__((aligned(64)));

#endif
