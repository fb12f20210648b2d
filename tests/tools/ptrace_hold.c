/* ptrace_hold - trace a process (PTRACE_SEIZE, no stop) and hold it until SIGTERM, to test that
 * leakmond refuses a target another debugger traces. Prints "holding" once attached.
 * Usage: ptrace_hold PID */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;
	pid_t pid;

	if (argc != 2)
		return 2;
	pid = atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		perror("PTRACE_SEIZE");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("holding\n");
	fflush(stdout);
	sigwait(&set, &sig);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}
