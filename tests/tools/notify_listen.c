/* notify_listen - a stand-in for systemd's notification socket: binds a datagram socket at PATH
 * and prints every message received (newlines inside a message become " | "), one per line,
 * flushed, until SIGTERM or SECONDS pass. Usage: notify_listen PATH [SECONDS=60] */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t is_done;

static void on_term(int sig)
{
	(void)sig;
	is_done = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int secs = argc > 2 ? atoi(argv[2]) : 60;
	time_t end = time(NULL) + secs;
	char buf[4096];
	int fd;

	if (argc < 2 || strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	signal(SIGTERM, on_term);
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify_listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	while (!is_done && time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = '|';
		printf("%s\n", buf);
		fflush(stdout);
	}
	unlink(argv[1]);
	return 0;
}
