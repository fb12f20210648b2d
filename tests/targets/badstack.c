/* badstack - allocations whose stacks are hard to unwind: deep recursion (DEPTH frames), and
 * calls of malloc made on a hand-made stack full of garbage and self-pointing "frames" (the CFI
 * of the caller no longer describes the stack). Prints its counts like the other targets.
 * Usage: badstack [DEPTH=20000] [ROUNDS=200] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile sink;
static unsigned long allocs, frees;

static __attribute__((noinline)) void recurse(int n)
{
	volatile char pad[32];

	pad[0] = (char)n;
	if (n > 0) {
		recurse(n - 1);
	} else {
		sink = malloc(48);
		allocs++;
		free(sink);
		frees++;
	}
	(void)pad[0];
}

static unsigned long garbage[8192] __attribute__((aligned(16)));

static __attribute__((noinline)) void *malloc_on_garbage(size_t n)
{
	void *top = &garbage[4096]; /* malloc runs below, garbage above */
	void *ret;

	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %[top], %%rsp\n\t"
			 "mov %[n], %%rdi\n\t"
			 "call malloc@PLT\n\t"
			 "mov %%rbx, %%rsp\n\t"
			 : "=a"(ret)
			 : [top] "r"(top), [n] "r"(n)
			 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory",
			   "cc");
	return ret;
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 20000;
	int rounds = argc > 2 ? atoi(argv[2]) : 200;

	/* above the fake stack's top: values that look like frames pointing at each other,
	 * small integers and text */
	for (int i = 4096; i < 8192; i++)
		garbage[i] = (i % 3 == 0) ? (unsigned long)&garbage[4096 + (i * 7) % 4096]
			     : (i % 3 == 1) ? 0x4141414141414141UL
					    : (unsigned long)i;
	printf("ready\n");
	fflush(stdout);
	for (int r = 0; r < rounds; r++) {
		void *p = malloc_on_garbage(64);

		allocs++;
		sink = p;
		free(p);
		frees++;
	}
	recurse(depth);
	printf("counts allocs=%lu frees=%lu\n", allocs, frees);
	return 0;
}
