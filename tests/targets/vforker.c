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

extern char **environ;

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
	int status;
	pid_t pid;

	fflush(stdout);
	pid = spawn(prog_argv);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "vforker: '%s': %s %d\n", prog_argv[0],
			WIFSIGNALED(status) ? "killed by signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long children = 5;
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
