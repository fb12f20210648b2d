/* sigpump - send a signal to a process at a steady rate until it is gone or we are told to stop.
 *
 * Usage: sigpump PID SIGNAL RATE_HZ
 * Sends SIGNAL (a number) to PID RATE_HZ times a second. Exits 0 when PID is gone or on SIGTERM;
 * 2 on bad usage. Prints "pumping" once started.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t is_stopping;

static void on_term(int sig)
{
	(void)sig;
	is_stopping = 1;
}

int main(int argc, char **argv)
{
	struct timespec ts;
	long rate;
	pid_t pid;
	int sig;

	if (argc != 4 || (pid = (pid_t)atoi(argv[1])) <= 0 || (sig = atoi(argv[2])) <= 0 ||
	    (rate = atol(argv[3])) <= 0 || rate > 1000000) {
		fprintf(stderr, "usage: sigpump PID SIGNAL RATE_HZ\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000L / rate;
	printf("pumping\n");
	fflush(stdout);
	while (!is_stopping) {
		if (kill(pid, sig) < 0 && errno == ESRCH)
			return 0;
		nanosleep(&ts, NULL);
	}
	return 0;
}
