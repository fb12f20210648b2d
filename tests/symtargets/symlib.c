/* symlib.c - libsymlib.so: my_malloc() and a function of a shared library that allocates. */
/* The expected lines and call chains assume unoptimised code, whatever CFLAGS the build uses. */
#pragma GCC optimize("O0")

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symtarget.h"

static void *last_ra;
static const char *last_file;
static int last_line;
static int last_outer_line;

__attribute__((noinline)) void *my_malloc(size_t size, const char *file, int line, int outer_line)
{
	last_ra = __builtin_return_address(0);
	last_file = file;
	last_line = line;
	last_outer_line = outer_line;
	return malloc(size);
}

void sym_print_site(const char *name)
{
	const char *base = strrchr(last_file, '/');

	printf("site %s %p %s %d %d\n", name, last_ra, base ? base + 1 : last_file, last_line,
	       last_outer_line);
	fflush(stdout);
}

__attribute__((noinline)) void *symlib_alloc(void)
{
	void *p = my_malloc(100048, __FILE__, __LINE__, 0);

	return p;
}
