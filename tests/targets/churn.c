/* churn - single-threaded malloc/free churn with known counts. Also built with -static as
 * static_churn: then its malloc lives in the executable.
 *
 * Usage: churn [--wait] [ITERATIONS=20000]
 *        churn --forever
 *
 * Prints "ready", keeps KEEP (8) blocks until exit (never freed), then runs ITERATIONS
 * malloc/free pairs of varying sizes (16 B .. 8 KiB, always below the mmap threshold) and prints
 * "counts allocs=A frees=F": A = ITERATIONS + 8, F = ITERATIONS (defaults: 20008 and 20000).
 *
 * --wait:    block SIGUSR1 before "ready", then wait for it before the churn, so a test can attach
 *            a tracer first and see every counted call.
 * --forever: churn until SIGTERM, with a 100 us nanosleep every 1000 pairs and nothing printed per
 *            iteration; on SIGTERM print the counts line (not deterministic then) and exit 0.
 *
 * Counting follows INTERFACE.md: a malloc that returned a block is one allocation, a free of a
 * non-NULL pointer one free. Nothing else in this file calls the allocator (stdio may, inside
 * libc).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEP 8

/* every block is stored here before it is freed: it escapes, so -O2 cannot drop the pair */
void *volatile sink;
/* the blocks kept until exit stay reachable through this array */
void *volatile kept[KEEP];

static unsigned long n_allocs, n_frees;
static volatile sig_atomic_t is_stopping;

static void on_sigterm(int sig)
{
	(void) sig;
	is_stopping = 1;
}

static __attribute__((noinline)) int churn_keep(void)
{
	for (int i = 0; i < KEEP; i++) {
		char *p = malloc(64 * (size_t) (i + 1));

		if (!p)
			return -1;
		n_allocs++;
		p[0] = (char) i;
		kept[i] = p;
	}
	return 0;
}

/* one malloc/free pair; the size cycles through 16 B .. 8 KiB */
static __attribute__((noinline)) int churn_pair(unsigned long i)
{
	size_t size = 16 + (i * 37) % 8192;
	char *p = malloc(size);

	if (!p)
		return -1;
	n_allocs++;
	p[0] = (char) i;
	p[size - 1] = (char) i;
	sink = p;
	free(p);
	n_frees++;
	return 0;
}

static void print_counts(void)
{
	printf("counts allocs=%lu frees=%lu\n", n_allocs, n_frees);
	fflush(stdout);
}

static int run_forever(void)
{
	struct timespec nap = { 0, 100 * 1000L };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigterm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		return 1;
	if (churn_keep() < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (unsigned long i = 0; !is_stopping; i++) {
		if (churn_pair(i) < 0)
			return 1;
		if (i % 1000 == 999)
			nanosleep(&nap, NULL);
	}
	print_counts();
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 20000;
	int is_forever = 0, is_waiting = 0, sig;
	sigset_t go;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--forever"))
			is_forever = 1;
		else if (!strcmp(argv[i], "--wait"))
			is_waiting = 1;
		else
			iterations = strtoul(argv[i], NULL, 10);
	}
	if (is_forever)
		return run_forever();

	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	if (is_waiting && sigprocmask(SIG_BLOCK, &go, NULL) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (is_waiting && sigwait(&go, &sig) != 0)
		return 1;

	if (churn_keep() < 0)
		return 1;
	for (unsigned long i = 0; i < iterations; i++)
		if (churn_pair(i) < 0)
			return 1;
	print_counts();
	return 0;
}
