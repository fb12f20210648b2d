/* vforker - a parent that allocates between vfork() + execve() of another program.
 *
 * Usage: vforker [--wait] [CHILDREN=5] [PROGRAM [ARG...]]
 *
 * PROGRAM (a path, default /bin/true) must exit 0. Prints "ready". The parent does 10
 * malloc/free pairs, then for each child: allocates a block held across the vfork, vforks; the
 * child only calls execve(PROGRAM, ...) (or _exit(127)) while it shares the parent's memory. The
 * parent, resumed at the exec, waits, frees the held block and does 10 more pairs. It ends with
 * "counts allocs=A frees=F", A = F = 10 + 11 * CHILDREN (defaults: "counts allocs=65 frees=65").
 * A child that does not exit 0 is reported on stderr and the parent exits 1 without a counts line.
 *
 * --wait: block SIGUSR1 before "ready", then wait for it before allocating, so a test can attach
 *         a tracer first and see every counted call. SIGUSR1 stays blocked in the exec'd program.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counted.h"

extern char **environ;

static char *default_argv[] = { "/bin/true", NULL };

/* vfork and exec; the child touches no variable and calls nothing but execve and _exit */
static __attribute__((noinline)) pid_t spawn(char **prog_argv)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execve(prog_argv[0], prog_argv, environ);
		_exit(127);
	}
	return pid;
}

static int run_child(char **prog_argv)
{
	fflush(stdout);
	return wait_ok(spawn(prog_argv), "vforker", prog_argv[0]);
}

int main(int argc, char **argv)
{
	unsigned long children = 5;
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
		if (run_child(prog_argv) < 0)
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
