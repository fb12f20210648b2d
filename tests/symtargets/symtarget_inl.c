/* symtarget_inl.c - built with -O2: an always_inline helper calling my_malloc(), inlined into a
 * noinline function, so the recorded pc lies inside inlined code. The empty asm statements keep
 * the calls out of tail position (a tail call would leave no return address in these functions). */
#include "symtarget.h"

static inline __attribute__((always_inline)) void *inl_helper(int outer_line)
{
	void *p = my_malloc(100032, __FILE__, __LINE__, outer_line);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

__attribute__((noinline)) void *inl_outer(void)
{
	void *p = inl_helper(__LINE__);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}
