/* lateleak - flat for FLAT_S seconds (small blocks allocated and freed: RSS stays put), then
 * leaks STEP_KIB KiB (touched) every PERIOD_MS ms through late_leak_store(), up to CAP_MIB MiB,
 * churning on. Prints "ready" at start and "leaking" when the leak begins.
 * Usage: lateleak [FLAT_S=5] [STEP_KIB=32] [PERIOD_MS=50] [CAP_MIB=256] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* every leaked block is linked from the previous one and a global: reachable, never optimised
 * away, never freed */
void *volatile leak_head;

static __attribute__((noinline)) void *late_leak_store(size_t bytes)
{
	char *p = malloc(bytes);

	if (p) {
		memset(p, 0x6c, bytes);
		*(void **)p = leak_head;
		leak_head = p;
	}
	return p;
}

static __attribute__((noinline)) void churn_once(unsigned i)
{
	char *p = malloc(1024 + i % 512);

	if (p) {
		memset(p, (int)i, 1024);
		free(p);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double flat_s = argc > 1 ? atof(argv[1]) : 5;
	size_t step = (argc > 2 ? (size_t)atol(argv[2]) : 32) * 1024;
	long period_ms = argc > 3 ? atol(argv[3]) : 50;
	size_t cap = (argc > 4 ? (size_t)atol(argv[4]) : 256) * 1024 * 1024;
	struct timespec pause = { period_ms / 1000, (period_ms % 1000) * 1000000L };
	double start = now_s();
	int is_leaking = 0;
	size_t total = 0;

	printf("ready\n");
	fflush(stdout);
	for (unsigned i = 0;; i++) {
		churn_once(i);
		if (!is_leaking && now_s() - start >= flat_s) {
			is_leaking = 1;
			printf("leaking\n");
			fflush(stdout);
		}
		if (is_leaking && total + step <= cap && late_leak_store(step))
			total += step;
		nanosleep(&pause, NULL);
	}
}
