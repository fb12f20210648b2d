/* workload - the benchmark's allocation workload: THREADS threads each doing PAIRS malloc+free
 * pairs (sizes 16..4111), each from DEPTH nested calls down (so stack unwinding has work),
 * waiting for SIGUSR1 first when --wait is given (so a tracer can attach before the timed
 * part). Prints "pairs=N seconds=S" for the timed part.
 * Usage: workload [--wait] PAIRS THREADS [DEPTH=0] */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long pairs;
static int depth;
void *volatile sink;

static __attribute__((noinline)) void pair(unsigned seed, int level)
{
	if (level > 0) {
		pair(seed, level - 1);
		__asm__ volatile("" ::: "memory"); /* no tail call: every level is a real frame */
		return;
	}
	char *p = malloc(16 + (seed >> 16) % 4096);

	sink = p;
	free(p);
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(long)arg;

	for (long i = 0; i < pairs; i++) {
		seed = seed * 1103515245u + 12345u;
		pair(seed, depth);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int wait = argc > 1 && strcmp(argv[1], "--wait") == 0;
	int nthreads;
	pthread_t t[64];
	struct timespec a, b;
	sigset_t set;
	int sig;

	if (argc < 3 + wait)
		return 2;
	pairs = atol(argv[1 + wait]);
	nthreads = atoi(argv[2 + wait]);
	depth = argc > 3 + wait ? atoi(argv[3 + wait]) : 0;
	if (nthreads < 1 || nthreads > 64)
		return 2;
	if (wait) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("ready\n");
		fflush(stdout);
		sigwait(&set, &sig);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)(i + 1));
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("pairs=%ld seconds=%.6f\n", pairs * nthreads,
	       (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	fflush(stdout);
	return 0;
}
