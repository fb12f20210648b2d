/* events.h - what one traced allocator call means for the live-block table.
 *
 * Pure: the tracing engine decodes a call (which function, its arguments, its result) into a
 * struct alloc_event and events_apply() updates the table and counters according to the counting
 * contract of INTERFACE.md: an allocation is any call that returned a block; a free is any block
 * released (free of a non-NULL pointer, and realloc's old block). A realloc that moved or resized a
 * block counts once in each, even when the address did not change. Backend-neutral: a later
 * in-process backend feeds the same events.
 */
#ifndef LEAKMOND_EVENTS_H
#define LEAKMOND_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "heap/allocfn.h"
#include "heap/live.h"

struct alloc_event {
	enum alloc_fn fn;
	uint64_t arg[3];  /* the call's integer arguments, in order */
	uint64_t result;  /* rax at return; for posix_memalign: its return code */
	uint64_t out_ptr; /* posix_memalign: the pointer stored through memptr (when result is 0) */
	uint32_t time_ms;
	uint32_t stack_id;
};

/* Counters the table does not keep: calls that returned nothing. */
struct event_counts {
	uint64_t failed;      /* allocation calls that returned NULL or an error */
	uint64_t free_null;   /* free(NULL) */
};

/* True for the functions whose result matters (everything but free). */
bool events_needs_return(enum alloc_fn fn);

/* Apply one completed call. free() is applied at entry (its result does not matter). */
void events_apply(struct live_table *t, struct event_counts *c, const struct alloc_event *ev);

#endif
