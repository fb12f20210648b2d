/* grow - RSS grows steadily: STEP KiB allocated and touched every PERIOD ms, up to CAP MiB.
 * Prints "ready" once running. Usage: grow [STEP_KIB=256] [PERIOD_MS=20] [CAP_MIB=1024] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* every block is linked from the previous one and a global: reachable, never optimised away */
void *volatile last_block;

static __attribute__((noinline)) void *grow_step(size_t bytes)
{
	char *p = malloc(bytes);

	if (p) {
		memset(p, 0x5a, bytes);
		*(void **)p = last_block;
		last_block = p;
	}
	return p;
}

int main(int argc, char **argv)
{
	size_t step = (argc > 1 ? (size_t)atol(argv[1]) : 256) * 1024;
	long period_ms = argc > 2 ? atol(argv[2]) : 20;
	size_t cap = (argc > 3 ? (size_t)atol(argv[3]) : 1024) * 1024 * 1024;
	struct timespec pause = { period_ms / 1000, (period_ms % 1000) * 1000000L };
	size_t total = 0;

	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (total + step <= cap && grow_step(step))
			total += step;
		nanosleep(&pause, NULL);
	}
}
