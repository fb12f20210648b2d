/* child.c - the program leakmond starts (-- PROGRAM ARGS): held before its exec until it is
 * validated and, in trace mode, seized, so that it is watched from its first instruction. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session/session.h"
#include "session/session_priv.h"

#define CHILD_STOP_TIMEOUT_MS 5000

/* Start PROGRAM as a child held before exec until released, with environment envp (NULL: ours).
 * Returns the child's pid and the two
 * pipe ends, or -errno. */
static pid_t spawn_held(char **argv, char **envp, int *ret_go_fd, int *ret_err_fd)
{
	int go[2], errp[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int r = -errno;

		(void)close(go[0]);
		(void)close(go[1]);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		(void)close(go[0]);
		(void)close(go[1]);
		(void)close(errp[0]);
		(void)close(errp[1]);
		return r;
	}
	if (pid == 0) {
		sigset_t none;
		char c;
		int e;

		(void)close(go[1]);
		(void)close(errp[0]);
		sigemptyset(&none);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (read(go[0], &c, 1) != 1)
			_exit(127); /* leakmond gave up on us */
		execvpe(argv[0], argv, envp ? envp : environ);
		e = errno;
		(void)!write(errp[1], &e, sizeof(e));
		_exit(127);
	}
	(void)close(go[0]);
	(void)close(errp[1]);
	*ret_go_fd = go[1];
	*ret_err_fd = errp[0];
	return pid;
}

int child_stop(struct target *t, int *ret_wstatus)
{
	int st;

	(void)kill(t->pid, SIGTERM);
	for (int waited = 0; waited < CHILD_STOP_TIMEOUT_MS; waited += 20) {
		if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
			*ret_wstatus = st;
			return 0;
		}
		(void)poll(NULL, 0, 20);
	}
	(void)kill(t->pid, SIGKILL);
	if (waitpid(t->pid, &st, 0) == t->pid) {
		*ret_wstatus = st;
		return 0;
	}
	return -errno;
}

int child_start(struct session *s)
{
	char err[512];
	struct target *t;
	int go_fd = -1, err_fd = -1, e, r;
	pid_t pid;
	ssize_t n;

	pid = spawn_held(s->opts->program, s->child_env, &go_fd, &err_fd);
	if (pid < 0) {
		fprintf(stderr, "leakmond: cannot start '%s' (%s)\n", s->opts->program[0],
			strerror(-pid));
		return EXIT_RUNTIME;
	}
	r = target_open(pid, true, s->opts->mode, &t, err, sizeof(err));
	if (r == 0)
		session_settings_from_options(s->opts, &t->set);
	if (r < 0 || session_add_target(s, t) < 0) {
		int st;

		fprintf(stderr, "leakmond: %s\n", r < 0 ? err : "out of memory");
		(void)close(go_fd);
		(void)close(err_fd);
		(void)waitpid(pid, &st, 0); /* it exits as soon as it reads EOF */
		if (r >= 0)
			target_free(t);
		return r < 0 ? EXIT_TARGET : EXIT_RUNTIME;
	}
	if (s->backend && t->mode == MODE_TRACE) {
		r = session_trace(s, t, true, err, sizeof(err));
		if (r < 0) {
			int st;

			fprintf(stderr, "leakmond: %s\n", err);
			(void)close(go_fd);
			(void)close(err_fd);
			(void)waitpid(pid, &st, 0);
			s->n_targets--;
			target_free(t);
			return EXIT_TARGET;
		}
	}
	(void)!write(go_fd, "g", 1);
	(void)close(go_fd);
	do
		n = read(err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	(void)close(err_fd);
	if (n == (ssize_t)sizeof(e)) {
		int st;

		fprintf(stderr, "leakmond: cannot run '%s' (%s)\n", s->opts->program[0],
			strerror(e));
		if (t->bproc)
			(void)backend_detach(s->backend, t->bproc);
		t->bproc = NULL;
		(void)waitpid(pid, &st, 0);
		s->n_targets--;
		target_free(t);
		return EXIT_TARGET;
	}
	/* exec succeeded: the target now shows the program's name and executable */
	n = readlinkat(t->proc_fd, "exe", t->exe, sizeof(t->exe) - 1);
	t->exe[n > 0 ? n : 0] = '\0';
	snprintf(t->comm, sizeof(t->comm), "%.15s",
		 strrchr(s->opts->program[0], '/') ? strrchr(s->opts->program[0], '/') + 1
						   : s->opts->program[0]);
	return 0;
}
