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

/* every block is stored here before it is freed: it escapes, so -O2 cannot drop the pair */
void *volatile sink;

static unsigned long n_allocs, n_frees;
static char *default_argv[] = { "/bin/true", NULL };

static __attribute__((noinline)) int pairs(unsigned long n, size_t size)
{
	for (unsigned long i = 0; i < n; i++) {
		char *p = malloc(size + i);

		if (!p)
			return -1;
		n_allocs++;
		p[0] = (char) i;
		sink = p;
		free(p);
		n_frees++;
	}
	return 0;
}

static __attribute__((noinline)) int run_child(char **prog_argv, const sigset_t *go)
{
	int status;
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
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "forkexec: '%s': %s %d\n", prog_argv[0],
			WIFSIGNALED(status) ? "killed by signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long children = 3;
	char **prog_argv = default_argv;
	int is_waiting = 0, i = 1, sig;
	sigset_t go;

	if (i < argc && !strcmp(argv[i], "--wait")) {
		is_waiting = 1;
		i++;
	}
	if (i < argc && isdigit((unsigned char) argv[i][0]))
		children = strtoul(argv[i++], NULL, 10);
	if (i < argc)
		prog_argv = argv + i;

	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	if (is_waiting && sigprocmask(SIG_BLOCK, &go, NULL) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (is_waiting && sigwait(&go, &sig) != 0)
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
