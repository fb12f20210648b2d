/* heap.h - the heap of one watched process as leakmond knows it: the sink every backend feeds.
 *
 * Owned by the session's target and handed to the backend at attach; the backend only applies
 * events to it (heap_apply) and interns stacks (heap_intern). The verdicts, reports and exports
 * read it; nothing here knows how the events were caught. Pure: no I/O.
 */
#ifndef LEAKMOND_HEAP_H
#define LEAKMOND_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap/events.h"
#include "heap/live.h"
#include "heap/stacks.h"

struct pyframes;

struct heap {
	struct live_table *live;     /* address -> block */
	struct stack_table *stacks;  /* interned stacks; NULL when stacks are off */
	struct event_counts calls;   /* calls that returned nothing (failed allocations, free(NULL)) */
	uint64_t events;	     /* allocator calls applied */
	uint64_t unwind_failures;    /* allocations whose stack stopped at the caller */
	uint64_t start_ns;	     /* block times are milliseconds since then */
	struct pyframes *py;	     /* names of the Python frames among the stacks' pcs
				      * (stack/pyframes.h, tagged pcs); set by the backend when the
				      * process is a CPython interpreter, owned by the heap, NULL
				      * otherwise */
	struct pyframes *(*py_free)(struct pyframes *); /* frees py (heap is below stack/) */
	char *py_version;	     /* "3.11.2" when py is set (owned) */
	size_t max_blocks;
};

struct heap_stats {
	struct live_stats live;
	struct event_counts calls;
	uint64_t events;
	uint64_t unwind_failures;
	uint64_t stacks; /* distinct stacks */
};

/* A new empty heap holding at most max_blocks live blocks (see live_new), with a stack table
 * when has_stacks. Its clock starts now. Returns NULL on out-of-memory. */
struct heap *heap_new(size_t max_blocks, bool has_stacks);
struct heap *heap_free(struct heap *h);

/* The process executed a new program: every block and stack is forgotten, the clock restarts.
 * Returns 0 or -ENOMEM (then the heap is empty and without a live table: events are ignored). */
int heap_reset(struct heap *h);

/* Apply one completed allocator call (events.h). Counts it in events. */
void heap_apply(struct heap *h, const struct alloc_event *ev);

/* Milliseconds since the heap's clock started (the time to stamp events with). */
uint32_t heap_now_ms(const struct heap *h);

/* The id of the stack pcs[0..n) (innermost first); 0 when stacks are off or cannot be kept. */
uint32_t heap_intern(struct heap *h, const uint64_t *pcs, size_t n);

void heap_get_stats(const struct heap *h, struct heap_stats *ret);

/* Bytes of memory the heap's tables use now (live table and stack table): what leakmond's
 * max_memory budget counts. Stack bytes alone in *ret_stacks when not NULL. */
size_t heap_memory_bytes(const struct heap *h, size_t *ret_stacks);

#endif
