/* counted.h - what the fork/exec test targets share: counted malloc/free pairs, the "ready"
 * handshake (--wait), and a check that a child exited 0. Header-only, for tests/targets. */
#ifndef COUNTED_H
#define COUNTED_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* every block is stored here before it is freed: it escapes, so -O2 cannot drop the pair */
void *volatile sink;

static unsigned long n_allocs, n_frees;

/* n malloc/free pairs of size, size+1, ...; counted. Returns 0 or -1. */
static __attribute__((noinline)) int pairs(unsigned long n, size_t size)
{
	for (unsigned long i = 0; i < n; i++) {
		char *p = malloc(size + i);

		if (!p)
			return -1;
		n_allocs++;
		p[0] = (char)i;
		sink = p;
		free(p);
		n_frees++;
	}
	return 0;
}

/* Print "ready"; with is_waiting, SIGUSR1 (blocked in *go before) must come first. Returns 0
 * or -1. *go is left holding SIGUSR1, blocked when waiting. */
static int ready_handshake(int is_waiting, sigset_t *go)
{
	int sig;

	sigemptyset(go);
	sigaddset(go, SIGUSR1);
	if (is_waiting && sigprocmask(SIG_BLOCK, go, NULL) < 0)
		return -1;
	printf("ready\n");
	fflush(stdout);
	if (is_waiting && sigwait(go, &sig) != 0)
		return -1;
	return 0;
}

/* Wait for child pid; 0 if it exited 0, else a message on stderr naming what and -1. */
static int wait_ok(pid_t pid, const char *me, const char *what)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: '%s': %s %d\n", me, what,
			WIFSIGNALED(status) ? "killed by signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return -1;
	}
	return 0;
}

#endif
