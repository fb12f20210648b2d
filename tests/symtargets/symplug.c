/* symplug.c - libsymplug.so, loaded by symtarget with dlopen() when told to. */
/* The expected lines and call chains assume unoptimised code, whatever CFLAGS the build uses. */
#pragma GCC optimize("O0")

#include "symtarget.h"

void *plug_alloc(void);

__attribute__((noinline)) void *plug_alloc(void)
{
	void *p = my_malloc(100064, __FILE__, __LINE__, 0);

	return p;
}
