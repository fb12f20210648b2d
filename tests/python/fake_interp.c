/* fake_interp.c - a program that looks like a CPython interpreter leakmond does not support, for
 * py_fallback.test: it exports CPython's allocator API names, _PyRuntime and (unless built with
 * -DNO_VERSION) a Py_Version of 3.12.1, and mallocs in a loop like any native program. leakmond
 * must say once that its Python allocations are traced natively only, never call these functions,
 * and trace it natively. Usage: fake_interp READY_FILE STOP_FILE (built with -rdynamic). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NO_VERSION
const unsigned long Py_Version = 0x030c01f0;
#endif
char _PyRuntime[4096];
static int called;

void PyMem_GetAllocator(int domain, void *allocator)
{
	(void)domain;
	(void)allocator;
	called++;
}

void PyMem_SetAllocator(int domain, void *allocator)
{
	(void)domain;
	(void)allocator;
	called++;
}

void *_PyEval_EvalFrameDefault(void *tstate, void *frame, int throwflag)
{
	(void)tstate;
	(void)throwflag;
	called++;
	return frame;
}

int main(int argc, char **argv)
{
	FILE *f;
	unsigned long rounds = 0;
	void *keep[64] = { 0 };

	if (argc != 3)
		return 2;
	f = fopen(argv[1], "w");
	if (!f)
		return 2;
	fputs("ready\n", f);
	fclose(f);
	while (access(argv[2], F_OK) != 0 || rounds < 100) {
		for (int i = 0; i < 64; i++) {
			free(keep[i]);
			keep[i] = malloc(32 + (size_t)i * 8);
			if (keep[i])
				memset(keep[i], i, 32);
		}
		rounds++;
		usleep(1000);
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	printf("called=%d\n", called);
	return 0;
}
