/* allocfn.h - the allocator functions leakmond traces, named once.
 *
 * Every layer that speaks of "which allocator function" uses enum alloc_fn: the hook resolver
 * (which entry points to patch), the backends (which call an event is), the live table (which
 * function allocated a block), the report ("allocator") and the frame filter. Freestanding: the
 * in-process agent includes this header too, so it holds no declarations needing libc.
 */
#ifndef LEAKMOND_ALLOCFN_H
#define LEAKMOND_ALLOCFN_H

enum alloc_fn {
	ALLOC_MALLOC,
	ALLOC_CALLOC,
	ALLOC_REALLOC,
	ALLOC_REALLOCARRAY,
	ALLOC_FREE,
	ALLOC_POSIX_MEMALIGN,
	ALLOC_ALIGNED_ALLOC,
	ALLOC_MEMALIGN,
	ALLOC_VALLOC,
	ALLOC_PVALLOC,
	ALLOC_FN_MAX
};

#ifndef LEAKMOND_AGENT
#include <stdbool.h>

/* The C name of fn ("malloc", ...), or NULL when fn is out of range. Static storage. */
const char *alloc_fn_name(enum alloc_fn fn);

/* Whether name is one of the functions above or an alias a user would still call "the
 * allocator" (glibc's __libc_malloc, __libc_calloc, __libc_realloc, __libc_free; C++'s
 * operator new and new[] in any overload). Used to drop the allocator's own frames from stacks. */
bool alloc_fn_is_allocator_name(const char *name);
#endif

#endif
