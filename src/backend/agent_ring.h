/* agent_ring.h - leakmond's side of the agent's shared region (agent/abi.h): laying it out,
 * initialising it, and draining its event and sample rings.
 *
 * Pure: works on memory the caller mapped (a memfd shared with the target, or any buffer in
 * tests); no system calls, no ptrace, no logging. Everything read from the region is hostile
 * input (the target can write all of it): a consumer validates the header once, keeps its own copy
 * of the layout, and from then on only trusts that copy; records with impossible contents are
 * counted and skipped.
 */
#ifndef LEAKMOND_AGENT_RING_H
#define LEAKMOND_AGENT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/abi.h"

/* Where everything sits in a shared region. All offsets are multiples of 64. */
struct agent_layout {
	uint32_t n_threads, n_events, n_samples; /* powers of 2 */
	uint32_t stack_copy;			 /* stack bytes per sample cell */
	uint32_t threads_off, events_off, samples_off;
	uint32_t sample_cell_size; /* sizeof(struct agent_sample) + stack_copy + AGENT_PY_RESERVE,
				    * rounded up to 64 */
	uint32_t pyset_off, n_pybuckets; /* the sampled Python blocks (AGENT_PYSET_BUCKETS) */
	uint64_t total_size;	   /* a multiple of 4096, below 4 GiB */
};

/* The agent's counters (struct agent_shared), as last read. */
struct agent_counters {
	uint64_t lost_events, lost_samples, nested, no_slot;
	uint64_t py_samples, py_set_full;
};

#define AGENT_PYSET_BUCKETS 8192 /* x AGENT_PYSET_WAYS: 64 Ki sampled Python blocks, 512 KiB */

/* What the consumer itself saw. */
struct agent_consumer_stats {
	uint64_t events;	  /* events delivered */
	uint64_t samples;	  /* samples delivered with their event */
	uint64_t corrupt_events;  /* consumed but not delivered: impossible contents */
	uint64_t missing_samples; /* sampled events delivered without a sample: none matched */
	uint64_t orphan_samples;  /* samples no event claimed: released unread */
	uint64_t bad_samples;	  /* samples whose stack_len exceeded the cell (clamped) */
};

/* One event, decoded and checked (fn < ALLOC_FN_MAX, size within 48 bits). */
struct agent_record {
	enum alloc_fn fn;
	uint64_t ptr, old, size;
	bool is_sampled; /* AGENT_EV_SAMPLED was set */
	bool is_python;	 /* AGENT_EV_PYTHON was set: a sampled Python block, or its end */
};

/* A sampled event's sample: a copy of the cell's fixed fields, and its stack bytes borrowed from
 * the shared region (valid until the callback returns; the target may still write them, so they
 * are data to unwind with, never to trust). stack_len is within the cell. */
struct agent_sample_view {
	uint64_t ptr, size, period;
	uint32_t fn, tid;
	uint64_t regs[AGENT_REG_MAX];
	const uint8_t *stack;
	uint32_t stack_len;
	bool is_python;	 /* from a CPython allocator domain (AGENT_EV_PYTHON) */
	uint32_t n_py;	 /* Python frames, innermost first (at most AGENT_PY_FRAMES_MAX) */
	struct agent_pyframe py[AGENT_PY_FRAMES_MAX];
};

/* Called once per event, in ring order. sample is NULL unless the event was sampled and its
 * sample was found. Both are borrowed for the duration of the call. */
typedef void (*agent_event_fn)(const struct agent_record *ev,
			       const struct agent_sample_view *sample, void *userdata);

/* Whether thread tid of the target still exists (for agent_threads_reclaim). */
typedef bool (*agent_tid_alive_fn)(uint32_t tid, void *userdata);

struct agent_consumer;

/* Compute the layout of a region for n_threads thread slots, n_events event cells and n_samples
 * sample cells of stack_copy stack bytes each. Returns 0, -EINVAL if a count is not a power of 2
 * (or 0), -E2BIG if the region would reach 4 GiB (its offsets are 32-bit). */
int agent_shared_layout(uint32_t n_threads, uint32_t n_events, uint32_t n_samples,
			uint32_t stack_copy, struct agent_layout *ret_layout);

/* Initialise a region of layout->total_size bytes at mem (64-byte aligned, writable, not yet
 * visible to the agent): zero it, write the header, the layout and the settings, and number every
 * ring cell. sample_bytes: the mean bytes between sampled allocations (0: sample every one). */
void agent_shared_init(void *mem, const struct agent_layout *layout, uint64_t sample_bytes);

/* Set the mean bytes between sampled Python allocations (0: never sample: the wrappers then
 * only pass through and match the frees of blocks already sampled). */
void agent_consumer_set_py_sampling(struct agent_consumer *c, uint64_t py_sample_bytes);

/* Attach a consumer to the region at mem, of which map_size bytes are mapped: check its header
 * (magic, ABI version, sizes, every array inside the region and apart from the others, powers of
 * 2, cell size) and take its ring positions from ev_tail and sm_tail. One consumer per region.
 * Returns 0 and *ret, -EBADMSG if mem is not a valid region (or not 8-byte aligned), -ENOMEM. */
int agent_consumer_new(void *mem, size_t map_size, struct agent_consumer **ret);

/* Free a consumer (NULL is fine). The region stays mapped: it is the caller's. Returns NULL. */
struct agent_consumer *agent_consumer_free(struct agent_consumer *c);

/* The layout the consumer validated (borrowed, valid while c lives). */
const struct agent_layout *agent_consumer_layout(const struct agent_consumer *c);

/* Deliver up to max ready events to fn, in ring order, each with its sample when it has one,
 * releasing their cells to the agent; release samples no event will claim (orphans). Stops at the
 * first cell not yet published (a producer still writing it) and never waits.
 * Returns the number of events consumed (delivered or counted corrupt). */
size_t agent_consumer_drain(struct agent_consumer *c, size_t max, agent_event_fn fn,
			    void *userdata);

/* Events claimed by producers but not consumed yet (0 when the ring is drained). */
uint64_t agent_consumer_backlog(const struct agent_consumer *c);

/* The agent's counters in the region, and what this consumer saw. */
void agent_consumer_counters(const struct agent_consumer *c, struct agent_counters *ret);
void agent_consumer_stats(const struct agent_consumer *c, struct agent_consumer_stats *ret);

/* Change the sampling settings the agent reads at each call: sample_bytes as in
 * agent_shared_init, stack_copy clamped to the sample cells' capacity. */
void agent_consumer_set_sampling(struct agent_consumer *c, uint64_t sample_bytes,
				 uint32_t stack_copy);

/* Free the thread slots of threads that no longer exist: every claimed slot whose recorded tid
 * is_alive() denies is cleared and released for another thread to claim. Meant to run while the
 * target is stopped (a thread that exits and a new one that reuses its thread pointer meanwhile
 * only costs a nested miscount, see agent.c). Returns the number of slots freed. */
unsigned agent_threads_reclaim(struct agent_consumer *c, agent_tid_alive_fn is_alive,
			       void *userdata);

#endif
