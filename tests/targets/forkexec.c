/* forkexec - a parent that allocates around fork() + exec of another program.
 *
 * Usage: forkexec [--wait] [CHILDREN=3] [PROGRAM [ARG...]]
 *
 * PROGRAM (a path, default /bin/true) must exit 0. Prints "ready". The parent does 10
 * malloc/free pairs, then for each child: allocates a block held across the fork, flushes
 * stdout, forks; the child calls execv(PROGRAM, ...) at once (no allocation between fork and
 * exec; _exit(127) if exec fails). The parent waits, frees the held block and does 10 more pairs.
 * It ends with "counts allocs=A frees=F", A = F = 10 + 11 * CHILDREN
 * (defaults: "counts allocs=43 frees=43"). The exec'd program's output, if any, comes before it.
 * A child that does not exit 0 is reported on stderr and the parent exits 1 without a counts line.
 *
 * --wait: block SIGUSR1 before "ready", then wait for it before allocating, so a test can attach
 *         a tracer first and see every counted call. The children get SIGUSR1 unblocked again.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counted.h"

static char *default_argv[] = { "/bin/true", NULL };

static __attribute__((noinline)) int run_child(char **prog_argv, const sigset_t *go)
{
	pid_t pid;

	/* nothing buffered may be copied into the child */
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, go, NULL);
		execv(prog_argv[0], prog_argv);
		_exit(127);
	}
	return wait_ok(pid, "forkexec", prog_argv[0]);
}

int main(int argc, char **argv)
{
	unsigned long children = 3;
	char **prog_argv = default_argv;
	int is_waiting = 0, i = 1;
	sigset_t go;

	if (i < argc && !strcmp(argv[i], "--wait")) {
		is_waiting = 1;
		i++;
	}
	if (i < argc && isdigit((unsigned char) argv[i][0]))
		children = strtoul(argv[i++], NULL, 10);
	if (i < argc)
		prog_argv = argv + i;

	if (ready_handshake(is_waiting, &go) < 0)
		return 1;

	if (pairs(10, 64) < 0)
		return 1;
	for (unsigned long c = 0; c < children; c++) {
		void *held = malloc(2000);

		if (!held)
			return 1;
		n_allocs++;
		sink = held;
		if (run_child(prog_argv, &go) < 0)
			return 1;
		free(held);
		n_frees++;
		if (pairs(10, 300) < 0)
			return 1;
	}
	printf("counts allocs=%lu frees=%lu\n", n_allocs, n_frees);
	fflush(stdout);
	return 0;
}
