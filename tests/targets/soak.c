/* soak - a target built to be hurt while leakmond attaches and detaches again and again.
 *
 * Usage: soak [--threads N] [--fork-ms MS | --no-fork] [--alarm-us US]
 *
 * N worker threads (default 4, 1..512) allocate blocks of varied sizes, fill each with a pattern
 * of its own, check every pattern, reallocate some, check again, and free them; a block whose
 * pattern changed is corruption. Every MS milliseconds (default 50; 0: flat out) the main thread
 * forks, unless --no-fork: the child allocates, fills and checks blocks of its own and exits 0 if they were intact;
 * the parent requires fork() to succeed and waitpid() to report exactly that child with status 0.
 * A SIGUSR1 handler counts (send it at any rate: it interrupts the workers anywhere, inside malloc
 * included). A dedicated thread runs malloc/free of small blocks with SIGALRM arriving every US
 * microseconds (default 1000; 0: none) from a timer; its handler mallocs, checks and frees a block
 * of another size class (so it never shares a tcache bin with the code it interrupts).
 *
 * Prints "ready" once running. On SIGTERM: joins everything, prints
 * "soak ok forks=F usr1=U alarms=A checks=C" and exits 0. Any failed check prints
 * "soak FAIL: <what>" and exits 1 at once.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCKS 16

static volatile sig_atomic_t is_stopping;
static volatile sig_atomic_t usr1_count, alarm_count, alarm_bad;
static uint64_t checks[512];

static void fail(const char *what)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "soak FAIL: %s\n", what);

	(void)!write(STDERR_FILENO, msg, (size_t)n);
	(void)!write(STDOUT_FILENO, msg, (size_t)n);
	_exit(1);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ULL ^ (id + 1);
	unsigned char *b[BLOCKS];
	size_t len[BLOCKS];

	while (!is_stopping) {
		for (int i = 0; i < BLOCKS; i++) {
			len[i] = 16 + rnd(&s) % 4080;
			b[i] = malloc(len[i]);
			if (!b[i])
				fail("malloc returned NULL");
			fill(b[i], len[i], id * 31 + (unsigned)i);
		}
		for (int i = 0; i < BLOCKS; i += 3) {
			size_t n = 16 + rnd(&s) % 4080;
			unsigned char *r = realloc(b[i], n);

			if (!r)
				fail("realloc returned NULL");
			if (!intact(r, n < len[i] ? n : len[i], id * 31 + (unsigned)i))
				fail("a block changed across realloc");
			b[i] = r;
			len[i] = n;
			fill(b[i], len[i], id * 31 + (unsigned)i);
		}
		for (int i = 0; i < BLOCKS; i++) {
			if (!intact(b[i], len[i], id * 31 + (unsigned)i))
				fail("a worker's block was corrupted");
			free(b[i]);
		}
		checks[id]++;
	}
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static void on_alarm(int sig)
{
	unsigned char *p = malloc(200);

	(void)sig;
	if (!p)
		return;
	fill(p, 200, 77);
	if (!intact(p, 200, 77))
		alarm_bad = 1;
	free(p);
	alarm_count++;
}

static void on_term(int sig)
{
	(void)sig;
	is_stopping = 1;
}

static void *alarm_thread(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!is_stopping) {
		void *volatile p = malloc(24);

		free(p);
	}
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return NULL;
}

static int child_check(void)
{
	unsigned char *b[32];

	for (int i = 0; i < 32; i++) {
		b[i] = malloc(64 + (size_t)i * 40);
		if (!b[i])
			return 2;
		fill(b[i], 64 + (size_t)i * 40, (unsigned)i);
	}
	for (int i = 0; i < 32; i++) {
		if (!intact(b[i], 64 + (size_t)i * 40, (unsigned)i))
			return 3;
		free(b[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned n_threads = 4;
	long fork_ms = 50, alarm_us = 1000;
	pthread_t th[512], al;
	unsigned long forks = 0;
	struct sigaction sa;
	sigset_t set;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			n_threads = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--fork-ms") == 0 && i + 1 < argc)
			fork_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--no-fork") == 0)
			fork_ms = -1;
		else if (strcmp(argv[i], "--alarm-us") == 0 && i + 1 < argc)
			alarm_us = atol(argv[++i]);
		else {
			fprintf(stderr,
				"usage: soak [--threads N] [--fork-ms MS | --no-fork] [--alarm-us US]\n");
			return 2;
		}
	}
	if (n_threads < 1 || n_threads > 512)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_term;
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);

	/* SIGALRM only in its own thread; SIGTERM only in the main thread */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < n_threads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i) != 0)
			fail("pthread_create");
	if (pthread_create(&al, NULL, alarm_thread, NULL) != 0)
		fail("pthread_create");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (alarm_us > 0) {
		struct itimerval it = { { 0, alarm_us }, { 0, alarm_us } };

		setitimer(ITIMER_REAL, &it, NULL);
	}
	printf("ready\n");
	fflush(stdout);

	while (!is_stopping) {
		struct timespec ts = { fork_ms / 1000, (fork_ms % 1000) * 1000000L };
		pid_t pid, w;
		int st;

		if (fork_ms < 0)
			ts.tv_sec = 1, ts.tv_nsec = 0;
		while (fork_ms != 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR && !is_stopping)
			;
		if (is_stopping || fork_ms < 0)
			continue;
		pid = fork();
		if (pid < 0) {
			char what[96];

			snprintf(what, sizeof(what), "fork failed (%s)", strerror(errno));
			fail(what);
		}
		if (pid == 0)
			_exit(child_check());
		do
			w = waitpid(pid, &st, 0);
		while (w < 0 && errno == EINTR);
		if (w != pid) {
			char what[96];

			snprintf(what, sizeof(what), "waitpid(%d) returned %d (%s)", (int)pid, (int)w,
				 w < 0 ? strerror(errno) : "another pid");
			fail(what);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char what[96];

			snprintf(what, sizeof(what), "child %d ended with status 0x%x", (int)pid, st);
			fail(what);
		}
		forks++;
	}
	{
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		uint64_t total = 0;

		setitimer(ITIMER_REAL, &off, NULL);
		for (unsigned i = 0; i < n_threads; i++)
			pthread_join(th[i], NULL);
		pthread_join(al, NULL);
		if (alarm_bad)
			fail("the SIGALRM handler's block was corrupted");
		for (unsigned i = 0; i < n_threads; i++)
			total += checks[i];
		printf("soak ok forks=%lu usr1=%d alarms=%d checks=%llu\n", forks, (int)usr1_count,
		       (int)alarm_count, (unsigned long long)total);
	}
	return 0;
}
