/* live.h - the table of live heap blocks of one traced process: address -> block.
 *
 * Pure code: no I/O, no logging, no ptrace. Called on the hot path of every traced malloc/free
 * while the target thread is stopped, so every operation is O(1) expected and allocates only
 * when the table doubles.
 *
 * Implementation: open addressing with Robin Hood linear probing and backward-shift deletion
 * (no tombstones), power-of-two capacity, slots chosen by a 64-bit finalizer mix of the address
 * (murmur3 fmix64: 16-byte aligned addresses, consecutive ones and ones differing only in high
 * bits all spread well). The table doubles when a new block would push the load above 0.75.
 *
 * Slot layout, 24 bytes, addr 0 marking an empty slot:
 *	uint64_t addr;
 *	uint64_t size_kind;	bits 0-47 size (clamped to 2^48 - 1), 48-55 kind, 56-63 zero
 *	uint32_t time_ms;	milliseconds since the caller's epoch
 *	uint32_t stack_id;
 * At the maximum load of 0.75 this is 24 / 0.75 = 32 bytes per live block including the empty
 * slots, plus a fixed header (112 bytes on 64-bit); between doublings it is 32..64 bytes per
 * block. While doubling, the old and new arrays exist together for a moment (1.5x the new size).
 * The table never shrinks: after a spike it keeps its largest size until live_free().
 *
 * Counters are kept incrementally; at all times
 *	live_blocks == allocs - frees - replaced
 * and live_bytes is the sum of the (clamped) sizes of the live blocks.
 *
 * The table is not thread-safe: one owner, or the caller locks.
 */
#ifndef LEAKMOND_LIVE_H
#define LEAKMOND_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "heap/allocfn.h"

/* The allocator entry point that returned a block. Stored in 8 bits. */
/* Largest size stored exactly; larger sizes are stored as this value and counted as clamped. */
#define LIVE_SIZE_MAX ((UINT64_C(1) << 48) - 1)

/* Largest max_blocks accepted; live_new() lowers bigger values (and 0) to this. */
#define LIVE_BLOCKS_LIMIT (SIZE_MAX > UINT32_MAX ? (size_t) 3 << 30 : (size_t) 3 << 24)

/* One live block, as the caller passes it in and gets it back (the table stores it packed). */
struct live_block {
	uint64_t addr;	  /* user pointer the allocator returned; never 0 */
	uint64_t size;	  /* requested bytes; read back clamped to LIVE_SIZE_MAX */
	uint32_t time_ms; /* allocation time, ms since the caller's epoch (wraps after 49.7 days) */
	uint32_t stack_id; /* the caller's stack table id, opaque here */
	enum alloc_fn kind;
};

struct live_stats {
	uint64_t live_blocks;	  /* blocks in the table now */
	uint64_t live_bytes;	  /* sum of their sizes (clamped sizes for clamped blocks) */
	uint64_t peak_live_bytes; /* highest live_bytes ever seen */
	uint64_t allocs;	  /* successful inserts, replacing ones included */
	uint64_t frees;		  /* successful removes */
	uint64_t unknown_frees;	  /* removes of an absent address (allocated before tracing) */
	uint64_t replaced;	  /* inserts at a live address: old block implicitly freed */
	uint64_t dropped;	  /* inserts refused: -ENOSPC at max_blocks, or -ENOMEM */
	uint64_t clamped;	  /* inserts whose size was >= 2^48 and was clamped */
};

struct live_table;

/* A new empty table that will hold at most max_blocks blocks (0 or more than LIVE_BLOCKS_LIMIT
 * means LIVE_BLOCKS_LIMIT). Starts small and doubles as needed. Returns NULL on out-of-memory. */
struct live_table *live_new(size_t max_blocks);

/* Frees t and everything it holds. t may be NULL. Returns NULL. */
struct live_table *live_free(struct live_table *t);

/* Records block *b (copied; b is borrowed). Returns
 *	0	stored as a new block,
 *	1	stored, replacing a block at the same address: the old block counts as implicitly
 *		freed (stats.replaced) and its bytes leave live_bytes,
 *	-EINVAL	b->addr is 0 or b->kind is not a valid enum alloc_fn (nothing counted),
 *	-ENOSPC	the table already holds max_blocks blocks (counted in stats.dropped),
 *	-ENOMEM	the table had to double, could not, and has one empty slot left (counted in
 *		stats.dropped; while slots remain, a failed doubling just raises the load).
 * A size >= 2^48 is stored as LIVE_SIZE_MAX and counted in stats.clamped (on success). */
int live_insert(struct live_table *t, const struct live_block *b);

/* Same as live_insert(); when it returns 1 and ret_replaced is non-NULL, *ret_replaced receives
 * the block that was replaced (so the caller can release its stack reference, for instance). */
int live_insert_or_replace(struct live_table *t, const struct live_block *b,
			   struct live_block *ret_replaced);

/* Forgets the block at addr. Returns 0 and, if ret_removed is non-NULL, fills it with the block;
 * or -ENOENT if no block is live at addr (counted in stats.unknown_frees; not an error for the
 * caller: typically a block allocated before tracing began). addr 0 (free(NULL)) returns -ENOENT
 * and counts nothing. */
int live_remove(struct live_table *t, uint64_t addr, struct live_block *ret_removed);

/* Copies the block live at addr to *ret (if non-NULL). Returns 0, or -ENOENT. Counts nothing. */
int live_lookup(const struct live_table *t, uint64_t addr, struct live_block *ret);

/* Copies the counters to *ret. */
void live_get_stats(const struct live_table *t, struct live_stats *ret);

/* Bytes of memory the table itself uses now (header and slot array). */
size_t live_memory_bytes(const struct live_table *t);

/* Calls fn for every live block, in unspecified order; b is borrowed for the call only. fn must
 * not modify t. Stops at the first non-zero return of fn and returns that value; returns 0 after
 * visiting every block. */
int live_foreach(const struct live_table *t, int (*fn)(const struct live_block *b, void *userdata),
		 void *userdata);

/* Checks the table's internal invariants (Robin Hood probe order, every block found where it is,
 * counters against the slots), O(live blocks * probe length): for tests and debugging. Returns 0
 * and, if ret_max_probe is non-NULL, the longest distance of a block from its home slot (a
 * measure of clustering); or -EUCLEAN if the table is corrupt. */
int live_verify(const struct live_table *t, size_t *ret_max_probe);

#endif
