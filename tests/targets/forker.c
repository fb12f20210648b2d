/* forker - a parent that allocates around fork()s; each child allocates, frees and exits 0.
 *
 * Usage: forker [--wait] [CHILDREN=5] [BLOCKS=100]
 *
 * Prints "ready". The parent does 20 malloc/free pairs, then for each child: 10 pairs, allocates
 * an "inherited" block, flushes stdout and forks. The child mallocs BLOCKS blocks, frees them,
 * frees its copy of the inherited block too (a free of a block it never allocated), prints
 * "child counts allocs=BLOCKS frees=BLOCKS+1" and exits 0. The parent waits for that child
 * (so the lines come in order), frees the inherited block, and goes on. After the last child it
 * does 20 more pairs and prints "counts allocs=A frees=F" with A = F = 40 + 11 * CHILDREN.
 *
 * Defaults: five "child counts allocs=100 frees=101" lines, then "counts allocs=95 frees=95".
 * A child that does not exit 0 (say it died of SIGTRAP on a breakpoint left in its copy of the
 * code) is reported on stderr and the parent exits 1 without a counts line.
 *
 * --wait: block SIGUSR1 before "ready", then wait for it before allocating, so a test can attach
 *         a tracer first and see every counted call.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counted.h"


/* the child: counts start again from zero, and it never returns */
static __attribute__((noreturn, noinline)) void child_run(unsigned long blocks, void *inherited)
{
	void **list = NULL;

	n_allocs = n_frees = 0;
	/* each block links to the previous one: no bookkeeping allocation of our own */
	for (unsigned long i = 0; i < blocks; i++) {
		void **p = malloc(32 + i);

		if (!p)
			exit(1);
		n_allocs++;
		*p = list;
		list = p;
	}
	sink = list;
	while (list) {
		void **next = *list;

		free(list);
		n_frees++;
		list = next;
	}
	sink = inherited;
	free(inherited);
	n_frees++;
	printf("child counts allocs=%lu frees=%lu\n", n_allocs, n_frees);
	fflush(stdout);
	exit(0);
}

int main(int argc, char **argv)
{
	unsigned long args[2] = { 5, 100 }; /* children, blocks */
	int is_waiting = 0, nargs = 0;
	sigset_t go;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wait"))
			is_waiting = 1;
		else if (nargs < 2)
			args[nargs++] = strtoul(argv[i], NULL, 10);
	}

	if (ready_handshake(is_waiting, &go) < 0)
		return 1;

	if (pairs(20, 48) < 0)
		return 1;
	for (unsigned long c = 0; c < args[0]; c++) {
		void *inherited;
		char what[32];
		pid_t pid;

		if (pairs(10, 200) < 0)
			return 1;
		inherited = malloc(1000);
		if (!inherited)
			return 1;
		n_allocs++;
		sink = inherited;
		/* nothing buffered may be copied into the child, or it would be printed twice */
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0)
			child_run(args[1], inherited);
		snprintf(what, sizeof(what), "child %lu", c);
		if (wait_ok(pid, "forker", what) < 0)
			return 1;
		free(inherited);
		n_frees++;
	}
	if (pairs(20, 48) < 0)
		return 1;
	printf("counts allocs=%lu frees=%lu\n", n_allocs, n_frees);
	fflush(stdout);
	return 0;
}
