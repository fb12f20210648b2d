/* flat - allocates MIB MiB once (touched), then only churns small blocks: RSS stays flat.
 * Prints "ready" after the allocation. Usage: flat [MIB=32] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the block stays reachable through a global, so no compiler can drop the allocation */
char *volatile kept;

int main(int argc, char **argv)
{
	size_t bytes = (argc > 1 ? (size_t)atol(argv[1]) : 32) * 1024 * 1024;
	struct timespec pause = { 0, 20 * 1000000L };
	char *big = malloc(bytes);

	if (!big)
		return 1;
	memset(big, 0x11, bytes);
	kept = big;
	printf("ready\n");
	fflush(stdout);
	for (unsigned i = 0;; i++) {
		char *p = malloc(4096 + i % 64);

		if (p) {
			memset(p, (int)i, 4096);
			free(p);
		}
		nanosleep(&pause, NULL);
	}
}
