/* livemem - leakmond's own memory per live block, the way a traced process makes it: N blocks
 * allocated from S call stacks of depth D are interned (stacks.c), kept in the live table
 * (live.c) and sampled into call sites (sites.c) a few times, as the monitor does each interval.
 * Prints each structure's bytes per block, the process's peak RSS growth per block (what `ps`
 * would show, doubling transients included), and ns per insert+remove at that size.
 * Usage: livemem [N=1000000] [S=64] [D=16] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "heap/live.h"
#include "heap/stacks.h"
#include "verdict/sites.h"

/* Peak resident set size of this process, in bytes. */
static double peak_rss(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_maxrss * 1024;
}

/* Current resident set size (VmRSS), in bytes. */
static double current_rss(void)
{
	char line[256];
	double kib = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atof(line + 6);
	if (f)
		fclose(f);
	return kib * 1024;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long n_stacks = argc > 2 ? atol(argv[2]) : 64;
	long depth = argc > 3 ? atol(argv[3]) : 16;
	double rss0 = current_rss(), peak0 = peak_rss();
	struct live_table *t = live_new(0);
	struct stack_table *stacks = stacks_new(0);
	struct site_tracker *sites = sites_new();
	struct stacks_stats ss;
	struct timespec a, b;
	uint64_t pcs[STACKS_DEPTH_MAX];
	size_t site_bytes = 0;
	double rss1;

	if (!t || !stacks || !sites || n <= 0 || n_stacks <= 0 || depth <= 0 ||
	    depth > STACKS_DEPTH_MAX)
		return 1;
	for (long i = 0; i < n; i++) {
		struct live_block blk = {.addr = 0x10000 + (uint64_t) i * 48,
					 .size = 32,
					 .time_ms = (uint32_t) (i / 1000)};

		for (long d = 0; d < depth; d++)
			pcs[d] = 0x400000 + (uint64_t) (i % n_stacks) * 0x1000 + (uint64_t) d * 8;
		blk.stack_id = stacks_intern(stacks, pcs, (size_t) depth);
		live_insert(t, &blk);
		/* the monitor samples every interval while the table fills */
		if ((i + 1) % (n / 4 > 0 ? n / 4 : 1) == 0) {
			sites_sample(sites, t, (double) (i + 1) / (double) n * 4.0,
				     (uint32_t) (i / 1000));
			if (sites_memory_bytes(sites) > site_bytes)
				site_bytes = sites_memory_bytes(sites);
		}
	}
	rss1 = current_rss();
	stacks_get_stats(stacks, &ss);
	printf("live_blocks=%ld stacks=%ld depth=%ld: live_table %.1f B/block, stack_table %.2f "
	       "B/block, sites %.2f B/block (%zu bytes); process RSS +%.1f B/block now, peak +%.1f "
	       "B/block\n",
	       n, n_stacks, depth, (double) live_memory_bytes(t) / (double) n,
	       (double) ss.memory_bytes / (double) n, (double) site_bytes / (double) n, site_bytes,
	       (rss1 - rss0) / (double) n, (peak_rss() - peak0) / (double) n);

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < 1000000; i++) {
		struct live_block blk = {.addr = 0x7f0000000000ULL + (uint64_t) i * 16, .size = 32};

		live_insert(t, &blk);
		live_remove(t, blk.addr, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("insert_remove_ns=%.0f at %ld live blocks\n",
	       ((double) (b.tv_sec - a.tv_sec) * 1e9 + (double) (b.tv_nsec - a.tv_nsec)) / 1e6, n);
	sites_free(sites);
	stacks_free(stacks);
	live_free(t);
	return 0;
}
