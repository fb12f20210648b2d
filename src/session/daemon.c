/* daemon.c - daemon mode (--config): which processes the watches select, configuration reloads,
 * and the service manager's notifications. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "config/match.h"
#include "session/session_priv.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

static bool is_refused(const struct session *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_refused; i++)
		if (s->refused[i] == pid)
			return true;
	return false;
}

static void refuse(struct session *s, pid_t pid)
{
	pid_t *r = realloc(s->refused, (s->n_refused + 1) * sizeof(*r));

	if (!r)
		return;
	s->refused = r;
	s->refused[s->n_refused++] = pid;
}

static int mkdir_p(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* "<comm>-<pid>" with anything but [A-Za-z0-9._-] replaced: a safe file name. */
static void file_stem(const struct target *t, char *buf, size_t len)
{
	char comm[PROCFS_COMM_MAX];

	snprintf(comm, sizeof(comm), "%s", t->comm);
	for (char *c = comm; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			*c = '_';
	snprintf(buf, len, "%s-%d", comm, (int)t->pid);
}

/* Start watching process pid, selected by watch w. Failures are logged once per pid. */
static void daemon_add(struct session *s, pid_t pid, const struct watch_config *w)
{
	char err[512], stem[96], path[4200];
	struct target *t;
	int r;

	r = target_open(pid, false, w->s.mode, &t, err, sizeof(err));
	if (r < 0) {
		log_warning("watch '%s': %s", w->name, err);
		refuse(s, pid);
		return;
	}
	t->set = w->s;
	snprintf(t->watch, sizeof(t->watch), "%s", w->name);
	file_stem(t, stem, sizeof(stem));
	if (mkdir_p(w->s.log_dir) == 0) {
		snprintf(path, sizeof(path), "%s/%s.jsonl", w->s.log_dir, stem);
		r = tslog_open(&t->own_log, path);
		if (r < 0)
			log_warning("pid %d (%s): cannot open log '%s' (%s)", (int)pid, t->comm, path,
				    strerror(-r));
	}
	if (mkdir_p(w->s.report_dir) == 0) {
		snprintf(path, sizeof(path), "%s/%s.json", w->s.report_dir, stem);
		t->report_path = strdup(path);
	}
	if (session_add_target(s, t) < 0) {
		target_free(t);
		return;
	}
	if (s->backend && t->mode == MODE_TRACE) {
		r = session_trace(s, t, false, err, sizeof(err));
		if (r < 0) {
			log_warning("watch '%s': %s", w->name, err);
			refuse(s, pid);
			session_drop_target(s, s->n_targets - 1);
			return;
		}
	}
	session_watch_exit(s, t);
	session_write_attach(s, t);
	log_info("pid %d (%s): watching for '%s', mode %s", (int)pid, t->comm, w->name,
		 options_mode_name(t->mode));
}

static bool is_watched(const struct session *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i]->pid == pid && s->targets[i]->status == TARGET_RUNNING)
			return true;
	return false;
}

void daemon_scan(struct session *s)
{
	DIR *dir = opendir("/proc");
	struct dirent *d;
	size_t k = 0;

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		const struct watch_config *w;
		pid_t pid = (pid_t)atoi(d->d_name);

		if (pid <= 0 || pid == getpid() || is_watched(s, pid) || is_refused(s, pid))
			continue;
		w = match_find(s->conf, pid);
		if (w)
			daemon_add(s, pid, w);
	}
	closedir(dir);
	/* forget refusals of processes that are gone (their pid may come back as another) */
	for (size_t i = 0; i < s->n_refused; i++)
		if (kill(s->refused[i], 0) == 0 || errno != ESRCH)
			s->refused[k++] = s->refused[i];
	s->n_refused = k;
}

void daemon_gc(struct session *s)
{
	if (!s->is_gc_pending)
		return;
	s->is_gc_pending = false;
	for (size_t i = s->n_targets; i > 0; i--)
		if (s->targets[i - 1]->status != TARGET_RUNNING)
			session_drop_target(s, i - 1);
}

uint64_t daemon_tick_ns(const struct conf *c)
{
	uint64_t tick = c->global.interval_ns;

	for (size_t i = 0; i < c->n_watches; i++)
		if (c->watches[i].s.interval_ns < tick)
			tick = c->watches[i].s.interval_ns;
	return tick;
}

void daemon_notify(struct session *s, const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	size_t leaks = 0, running = session_running_count(s);

	for (size_t i = 0; i < s->n_targets; i++)
		leaks += pipeline_leak_count(s->targets[i]);
	(void)sd_notifyf(0, "%sSTATUS=watching %zu process%s, %zu leak%s suspected", state,
			 running, running == 1 ? "" : "es", leaks, leaks == 1 ? "" : "s");
#else
	(void)s;
	(void)state;
#endif
}

void daemon_reload(struct session *s)
{
	struct conf *c = NULL;
	char err[1024];
	int r = conf_load(s->conf->path, &c, err, sizeof(err));

	if (r < 0) {
		log_error("%s; keeping the configuration in use", err);
		return;
	}
	for (size_t i = s->n_targets; i > 0; i--) {
		struct target *t = s->targets[i - 1];
		const struct watch_config *w = NULL;

		for (size_t k = 0; k < c->n_watches && !w; k++)
			if (strcmp(c->watches[k].name, t->watch) == 0)
				w = &c->watches[k];
		if (w && match_find(c, t->pid) == w) {
			enum watch_mode mode = t->set.mode;

			t->set = w->s;
			t->set.mode = mode; /* a mode change applies to processes found from now */
			continue;
		}
		if (t->status == TARGET_RUNNING) {
			log_info("pid %d (%s): no watch selects it any more, releasing it",
				 (int)t->pid, t->comm);
			s->stop_reason = "configuration";
			if (t->bproc)
				session_untrace(s, t);
			if (t->status == TARGET_RUNNING)
				session_target_detached(s, t);
			session_write_target_report(s, t);
		}
		session_drop_target(s, i - 1);
	}
	conf_free(s->conf);
	s->conf = c;
	s->n_refused = 0;
	s->tick_ns = daemon_tick_ns(c);
	{
		struct itimerspec its = { { (time_t)(s->tick_ns / NSEC_PER_SEC),
					    (long)(s->tick_ns % NSEC_PER_SEC) },
					  { 0, 1 } };

		(void)timerfd_settime(s->tick_fd, 0, &its, NULL);
	}
	log_info("configuration '%s' reloaded: %zu watch%s", c->path, c->n_watches,
		 c->n_watches == 1 ? "" : "es");
}
