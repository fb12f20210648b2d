/* leaky_native.c - a tiny C library for tests/python/leaky_service.py: leaks when Python calls
 * it through ctypes. Built by tests/py_leaks.test with gcc -shared -g. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void *make_block(size_t n)
{
	void *p = malloc(n);

	if (p)
		memset(p, 0x5a, n);
	return p;
}

void *leaky_native_alloc(size_t n)
{
	return make_block(n); /* never freed */
}
