/* reexec - allocates a little, then executes itself again, forever: a target that is in the
 * middle of an exec whenever leakmond happens to attach or detach. Usage: reexec */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void *volatile sink;

int main(int argc, char **argv)
{
	struct timespec pause = { 0, 2 * 1000000L };

	(void)argc;
	for (int i = 0; i < 50; i++) {
		sink = malloc(100);
		free(sink);
	}
	nanosleep(&pause, NULL);
	execv("/proc/self/exe", argv);
	return 1;
}
