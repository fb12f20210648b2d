/* early_exit - runs for MS milliseconds, then exits with STATUS (or kills itself with SIGNAL).
 * Usage: early_exit [MS=300] [STATUS=7] [SIGNAL=0] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 300;
	int status = argc > 2 ? atoi(argv[2]) : 7;
	int sig = argc > 3 ? atoi(argv[3]) : 0;
	struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };

	printf("ready\n");
	fflush(stdout);
	nanosleep(&pause, NULL);
	if (sig)
		raise(sig);
	return status;
}
