/* ptrace_floor - the floor of breakpoint tracing on this machine: the cost of one ptrace stop
 * round trip (the tracee executes int3; the tracer's waitpid returns; PTRACE_CONT) with nothing
 * else done, and the same with GETREGS+SETREGS added (what every traced hit needs at least).
 * Prints "floor_us=X floor_regs_us=Y". Usage: ptrace_floor [ROUNDS=20000] */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double run(long rounds, int with_regs)
{
	pid_t pid = fork();
	double t0, t1;
	int st;

	if (pid == 0) {
		raise(SIGSTOP);
		for (long i = 0; i < rounds; i++)
			__asm__ volatile("int3");
		_exit(0);
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		perror("PTRACE_SEIZE");
		exit(77);
	}
	waitpid(pid, &st, 0); /* the SIGSTOP */
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	waitpid(pid, &st, 0); /* group-stop notification */
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	t0 = now_s();
	for (long i = 0; i < rounds; i++) {
		struct user_regs_struct regs;

		if (waitpid(pid, &st, __WALL) < 0 || !WIFSTOPPED(st))
			break;
		if (with_regs) {
			ptrace(PTRACE_GETREGS, pid, NULL, &regs);
			ptrace(PTRACE_SETREGS, pid, NULL, &regs);
		}
		ptrace(PTRACE_CONT, pid, NULL, NULL);
	}
	t1 = now_s();
	waitpid(pid, &st, 0);
	return (t1 - t0) / rounds * 1e6;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 20000;

	printf("floor_us=%.2f floor_regs_us=%.2f\n", run(rounds, 0), run(rounds, 1));
	return 0;
}
