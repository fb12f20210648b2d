/* silent_server - a TCP server that accepts connections and never answers (a stand-in for a
 * debuginfod server that hangs): listens on 127.0.0.1, prints "listening PORT", flushed, then
 * accepts and holds every connection open without reading or writing ("accepted N" for each),
 * until SIGTERM or SECONDS pass. Prints "connections N" at the end. Usage: silent_server
 * [SECONDS=60] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t is_done;

static void on_term(int sig)
{
	(void) sig;
	is_done = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int secs = argc > 1 ? atoi(argv[1]) : 60;
	time_t end = time(NULL) + secs;
	unsigned long n = 0;
	int fd;

	signal(SIGTERM, on_term);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *) &sa, &len) < 0) {
		perror("silent_server");
		return 1;
	}
	printf("listening %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	while (!is_done && time(NULL) < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 200) <= 0)
			continue;
		if (accept4(fd, NULL, NULL, SOCK_CLOEXEC) >= 0) { /* held open, never answered */
			printf("accepted %lu\n", ++n);
			fflush(stdout);
		}
	}
	printf("connections %lu\n", n);
	return 0;
}
