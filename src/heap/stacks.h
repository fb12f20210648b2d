/* stacks.h - interned call stacks: a unique id per distinct sequence of program counters.
 *
 * Pure: no I/O. The hot path (stacks_intern) hashes the pcs and finds or adds the stack; ids are
 * small dense integers, so the live table stores 4 bytes per block. Id 0 means "no stack"
 * (capture failed, or the table is full: counted in stats.overflow).
 */
#ifndef LEAKMOND_STACKS_H
#define LEAKMOND_STACKS_H

#include <stddef.h>
#include <stdint.h>

#define STACKS_DEPTH_MAX 128

struct stack_table;

struct stacks_stats {
	uint64_t stacks;   /* distinct stacks */
	uint64_t pcs;      /* program counters stored */
	uint64_t overflow; /* interns refused at the cap (id 0 returned) */
	size_t memory_bytes;
};

/* A table holding at most max_stacks stacks (0: 1 << 20). NULL on out-of-memory. */
struct stack_table *stacks_new(size_t max_stacks);
struct stack_table *stacks_free(struct stack_table *t);

/* The id of the stack pcs[0..depth) (innermost first), added if new. depth 0 or over
 * STACKS_DEPTH_MAX, the cap, or out-of-memory return 0. */
uint32_t stacks_intern(struct stack_table *t, const uint64_t *pcs, size_t depth);

/* The pcs of stack id (borrowed, valid until stacks_free). Returns the depth, 0 for id 0 or an
 * unknown id. */
size_t stacks_get(const struct stack_table *t, uint32_t id, const uint64_t **ret_pcs);

void stacks_get_stats(const struct stack_table *t, struct stacks_stats *ret);

#endif
