/* vforkstall - a process whose only thread cannot be stopped for a while: it vforks a child that
 * sleeps before exiting, and a vfork parent waits for its child uninterruptibly (ptrace cannot
 * stop it until the child exits or executes).
 *
 * Usage: vforkstall DELAY_MS|usr1 STALL_MS
 * Prints "ready", churns malloc/free for DELAY_MS (or until SIGUSR1), vforks a child that sleeps
 * STALL_MS then exits, then churns again until SIGTERM: prints "vforkstall ok" and exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t is_stopping, is_go;

static void on_term(int sig)
{
	(void)sig;
	is_stopping = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	is_go = 1;
}

static void churn_for(long ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		void *volatile p = malloc(100);

		free(p);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!is_stopping && !(ms == -2 && is_go) &&
		 (ms < 0 || (now.tv_sec - start.tv_sec) * 1000 +
						    (now.tv_nsec - start.tv_nsec) / 1000000 < ms));
}

int main(int argc, char **argv)
{
	long delay_ms, stall_ms;
	pid_t pid;
	int st;

	if (argc != 3)
		return 2;
	delay_ms = strcmp(argv[1], "usr1") == 0 ? -2 : atol(argv[1]);
	stall_ms = atol(argv[2]);
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	printf("ready\n");
	fflush(stdout);
	churn_for(delay_ms);
	pid = vfork();
	if (pid == 0) {
		struct timespec ts = { stall_ms / 1000, (stall_ms % 1000) * 1000000L };

		syscall(SYS_nanosleep, &ts, NULL);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 1;
	churn_for(-1);
	printf("vforkstall ok\n");
	return 0;
}
