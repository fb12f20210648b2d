/* threads - malloc/free churn from several threads, created and joined repeatedly.
 *
 * Usage: threads [--wait] [ROUNDS=10] [THREADS=4] [PAIRS=2000]
 *        threads --forever [THREADS=4]
 *
 * Prints "ready". Each round starts THREADS threads; each does PAIRS malloc/free pairs (16 B ..
 * 4 KiB) and hands one extra block back to the main thread, which frees it after the join (a
 * cross-thread free). Per-thread counters are summed after each join, and the run ends with
 * "counts allocs=A frees=F", A = F = ROUNDS * THREADS * (PAIRS + 1) (defaults: 80040 and 80040).
 * THREADS is 1..64.
 *
 * --wait:    block SIGUSR1 before "ready", then wait for it before the first round, so a test can
 *            attach a tracer first and see every counted call.
 * --forever: THREADS threads churn without pause until SIGTERM; the main thread bumps the global
 *            `heartbeat` about once a second and each thread its own `progress[]` slot (neither
 *            is printed). On SIGTERM the threads are joined, the counts line is printed (not
 *            deterministic then) and the exit status is 0.
 *
 * Not counted, libc's own: pthread_create callocs a dtv per new thread stack (4 with the defaults:
 * stacks are cached and reused), thread exit calls free(NULL) a few times, and glibc 2.36 empties
 * the exiting thread's tcache with __libc_free (a direct call to free's address, not through the
 * PLT): 64 frees per thread exit with the default PAIRS, of chunks the program had freed already,
 * and the tcache itself, which never went through malloc.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64

struct worker {
	pthread_t thread;
	unsigned index;
	unsigned long pairs; /* 0: until is_stopping */
	unsigned long allocs, frees;
	void *handed_back;
};

/* every block is stored here before it is freed: it escapes, so -O2 cannot drop the pair */
void *volatile sink;
/* --forever: bumped about once a second by the main thread, and per pair by each worker */
volatile unsigned long heartbeat;
volatile unsigned long progress[MAX_THREADS];

static struct worker workers[MAX_THREADS];
static volatile int is_stopping;

static __attribute__((noinline)) int worker_pair(struct worker *w, unsigned long i)
{
	size_t size = 16 + (i * 53 + w->index * 101) % 4096;
	char *p = malloc(size);

	if (!p)
		return -1;
	w->allocs++;
	p[0] = (char) i;
	sink = p;
	free(p);
	w->frees++;
	return 0;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	if (w->pairs) {
		for (unsigned long i = 0; i < w->pairs; i++)
			if (worker_pair(w, i) < 0)
				return NULL;
	} else {
		for (unsigned long i = 0; !__atomic_load_n(&is_stopping, __ATOMIC_RELAXED); i++) {
			if (worker_pair(w, i) < 0)
				return NULL;
			progress[w->index]++;
		}
	}
	w->handed_back = malloc(128);
	if (w->handed_back)
		w->allocs++;
	return NULL;
}

/* start n workers doing `pairs` pairs each (0: until is_stopping) */
static int workers_start(unsigned n, unsigned long pairs)
{
	for (unsigned i = 0; i < n; i++) {
		workers[i].index = i;
		workers[i].pairs = pairs;
		workers[i].allocs = workers[i].frees = 0;
		workers[i].handed_back = NULL;
		if (pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]) != 0)
			return -1;
	}
	return 0;
}

/* join n workers, free what they handed back, and add their counters to ours */
static void workers_join(unsigned n, unsigned long *allocs, unsigned long *frees)
{
	for (unsigned i = 0; i < n; i++) {
		pthread_join(workers[i].thread, NULL);
		*allocs += workers[i].allocs;
		*frees += workers[i].frees;
		if (workers[i].handed_back) {
			sink = workers[i].handed_back;
			free(workers[i].handed_back);
			(*frees)++;
		}
	}
}

static void print_counts(unsigned long allocs, unsigned long frees)
{
	printf("counts allocs=%lu frees=%lu\n", allocs, frees);
	fflush(stdout);
}

static int run_forever(unsigned n)
{
	struct timespec second = { 1, 0 };
	unsigned long allocs = 0, frees = 0;
	sigset_t term;

	/* blocked in every thread (they inherit the mask); only the main thread takes it */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &term, NULL) != 0)
		return 1;
	if (workers_start(n, 0) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (sigtimedwait(&term, NULL, &second) != SIGTERM)
		heartbeat++;
	__atomic_store_n(&is_stopping, 1, __ATOMIC_RELAXED);
	workers_join(n, &allocs, &frees);
	print_counts(allocs, frees);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long args[3] = { 10, 4, 2000 }; /* rounds, threads, pairs */
	unsigned long allocs = 0, frees = 0;
	int is_forever = 0, is_waiting = 0, nargs = 0, sig;
	sigset_t go;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--forever"))
			is_forever = 1;
		else if (!strcmp(argv[i], "--wait"))
			is_waiting = 1;
		else if (nargs < 3)
			args[nargs++] = strtoul(argv[i], NULL, 10);
	}
	if (is_forever) {
		/* the only number --forever takes is THREADS */
		unsigned long n = nargs ? args[0] : 4;

		return run_forever(n >= 1 && n <= MAX_THREADS ? (unsigned) n : 4);
	}
	if (args[1] < 1 || args[1] > MAX_THREADS || args[2] < 1) {
		fprintf(stderr, "usage: threads [--wait] [ROUNDS] [THREADS 1..64] [PAIRS >= 1]\n");
		return 2;
	}

	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	if (is_waiting && sigprocmask(SIG_BLOCK, &go, NULL) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (is_waiting && sigwait(&go, &sig) != 0)
		return 1;

	for (unsigned long r = 0; r < args[0]; r++) {
		if (workers_start((unsigned) args[1], args[2]) < 0)
			return 1;
		workers_join((unsigned) args[1], &allocs, &frees);
	}
	print_counts(allocs, frees);
	return 0;
}
