/* restarts - threads that spend their life blocked in system calls the kernel restarts or ends with
 * EINTR, and check that each call ends only because a signal handler ran, with EINTR.
 *
 * The SIGUSR1 handler is installed without SA_RESTART, so every blocking call below must return -1
 * with errno EINTR exactly when the handler ran in its thread, and never otherwise: a tracer that
 * puts a thread's registers back the wrong way leaks the kernel's internal restart codes (512-516)
 * as errno, or makes a call return early. A driver thread signals each blocked thread in turn every
 * 50 ms. The leader blocks in read(2) on a pipe nobody writes to. On SIGTERM it prints
 * "restarts ok N" (N calls ended correctly) and exits 0; a wrong ending prints "BAD ..." and exits
 * 1 at once. Prints "ready" once every thread blocks. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { K_PAUSE, K_NANOSLEEP, K_POLL, K_SEM, K_READ, K_N };
static const char *const names[K_N] = { "pause", "nanosleep", "poll", "sem_wait", "read" };
static pthread_t threads[K_N];
static _Thread_local volatile sig_atomic_t got;
static volatile sig_atomic_t term;
static volatile long ended; /* calls that ended correctly */
static int pipe_fds[2];
static sem_t sem;
static pthread_barrier_t started;

static void on_usr1(int sig)
{
	(void)sig;
	got = 1;
}

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void bad(int kind, long r, int e)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "BAD %s returned %ld errno %d (%s) handler %s\n",
			 names[kind], r, e, strerror(e), got ? "ran" : "did not run");

	(void)!write(1, buf, (size_t)n);
	_exit(1);
}

static void blocked_loop(int kind)
{
	for (;;) {
		long r;
		int e;

		got = 0;
		errno = 0;
		switch (kind) {
		case K_PAUSE:
			r = pause();
			break;
		case K_NANOSLEEP: {
			struct timespec ts = { 100000, 0 };

			r = nanosleep(&ts, &ts);
			break;
		}
		case K_POLL: {
			struct pollfd pfd = { pipe_fds[0], POLLIN, 0 };

			r = poll(&pfd, 1, 100000000);
			break;
		}
		case K_SEM:
			r = sem_wait(&sem);
			break;
		default: {
			char c;

			r = read(pipe_fds[0], &c, 1);
			break;
		}
		}
		e = errno;
		if (term && kind == K_READ) {
			printf("restarts ok %ld\n", ended);
			fflush(stdout);
			_exit(0);
		}
		if (r != -1 || e != EINTR || !got)
			bad(kind, r, e);
		__atomic_add_fetch(&ended, 1, __ATOMIC_RELAXED);
	}
}

static void *blocker(void *arg)
{
	int kind = (int)(long)arg;

	pthread_barrier_wait(&started);
	blocked_loop(kind);
	return NULL;
}

static void *driver(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (unsigned i = 0;; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		if (term) {
			pthread_kill(threads[K_READ], SIGUSR1);
			continue;
		}
		pthread_kill(threads[i % K_N], SIGUSR1);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	sigset_t term_set;
	pthread_t d;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART: every blocked call ends with EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (pipe(pipe_fds) < 0 || sem_init(&sem, 0, 0) < 0)
		return 2;
	/* SIGTERM only reaches the driver's target, the leader, by a handler in the leader: the
	 * other threads block it */
	sigemptyset(&term_set);
	sigaddset(&term_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term_set, NULL);
	pthread_barrier_init(&started, NULL, K_N);
	threads[K_READ] = pthread_self();
	for (long k = 0; k < K_READ; k++)
		if (pthread_create(&threads[k], NULL, blocker, (void *)k) != 0)
			return 2;
	pthread_sigmask(SIG_UNBLOCK, &term_set, NULL);
	if (pthread_create(&d, NULL, driver, NULL) != 0)
		return 2;
	pthread_barrier_wait(&started);
	printf("ready\n");
	fflush(stdout);
	blocked_loop(K_READ);
	return 0;
}
