/* livemem - leakmond's own memory per live block: fills a live table with N blocks and prints
 * live_memory_bytes / N, and ns per insert+remove at that size. Usage: livemem [N=1000000] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "heap/live.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct live_table *t = live_new(0);
	struct timespec a, b;
	uint64_t x = 0x10000;

	for (long i = 0; i < n; i++) {
		struct live_block blk = { .addr = x + (uint64_t)i * 48, .size = 32 };

		live_insert(t, &blk);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < 1000000; i++) {
		struct live_block blk = { .addr = 0x7f0000000000ULL + (uint64_t)i * 16, .size = 32 };

		live_insert(t, &blk);
		live_remove(t, blk.addr, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("live_blocks=%ld table_bytes=%zu bytes_per_block=%.1f insert_remove_ns=%.0f\n", n,
	       live_memory_bytes(t), (double)live_memory_bytes(t) / n,
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e6);
	live_free(t);
	return 0;
}
