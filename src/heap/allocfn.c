/* allocfn.c - names of the allocator functions. */
#include "config.h"

#include <string.h>

#include "base/util.h"
#include "heap/allocfn.h"

static const char *const names[ALLOC_FN_MAX] = {
	[ALLOC_MALLOC] = "malloc",
	[ALLOC_CALLOC] = "calloc",
	[ALLOC_REALLOC] = "realloc",
	[ALLOC_REALLOCARRAY] = "reallocarray",
	[ALLOC_FREE] = "free",
	[ALLOC_POSIX_MEMALIGN] = "posix_memalign",
	[ALLOC_ALIGNED_ALLOC] = "aligned_alloc",
	[ALLOC_MEMALIGN] = "memalign",
	[ALLOC_VALLOC] = "valloc",
	[ALLOC_PVALLOC] = "pvalloc",
};

const char *alloc_fn_name(enum alloc_fn fn)
{
	if ((unsigned)fn >= ALLOC_FN_MAX)
		return NULL;
	return names[fn];
}

bool alloc_fn_is_allocator_name(const char *name)
{
	static const char *const aliases[] = { "__libc_malloc", "__libc_calloc", "__libc_realloc",
					       "__libc_free" };

	if (!name)
		return false;
	if (strncmp(name, "operator new", 12) == 0)
		return true;
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++)
		if (strcmp(name, names[fn]) == 0)
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(name, aliases[i]) == 0)
			return true;
	return false;
}
