/* daemon.c - daemon mode (--config): which processes the watches select, configuration reloads,
 * and the service manager's notifications. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/safedir.h"
#include "base/util.h"
#include "image/debuginfod.h"
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

/* dir (of key) exists and is safe for our files; else -errno and why in err. */
static int check_dir(const char *key, const char *dir, char *err, size_t errlen)
{
	char why[4600];
	int r = mkdir_p(dir);

	if (r < 0) {
		snprintf(err, errlen, "%s '%s': cannot create it (%s)", key, dir, strerror(-r));
		return r;
	}
	r = safedir_check(dir, geteuid(), why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen,
			 "%s '%s' is unsafe for the files leakmond writes there: %s; make it and every "
			 "directory above it writable only by root",
			 key, dir, why);
	return r;
}

int daemon_check_dirs(const struct conf *c, char *err, size_t errlen)
{
	int r;

	if ((r = check_dir("log_dir", c->global.log_dir, err, errlen)) < 0 ||
	    (r = check_dir("report_dir", c->global.report_dir, err, errlen)) < 0)
		return r;
	for (size_t i = 0; i < c->n_watches; i++)
		if ((r = check_dir("log_dir", c->watches[i].s.log_dir, err, errlen)) < 0 ||
		    (r = check_dir("report_dir", c->watches[i].s.report_dir, err, errlen)) < 0)
			return r;
	return 0;
}

/* "<comm>-<pid>" as a safe, visible file name: see escape_file_stem(). */
static void file_stem(const struct target *t, char *buf, size_t len)
{
	char comm[PROCFS_COMM_MAX];

	escape_file_stem(comm, sizeof(comm), t->comm);
	snprintf(buf, len, "%s-%d", comm, (int)t->pid);
}

/* Start watching process pid, selected by watch w. Failures are logged once per pid. */
static void daemon_add(struct session *s, pid_t pid, const struct watch_config *w)
{
	char err[9000], stem[96], path[4200];
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
	/* checked at each start and reload, and again now: a directory may have changed */
	if (check_dir("log_dir", w->s.log_dir, err, sizeof(err)) == 0) {
		snprintf(path, sizeof(path), "%s/%s.jsonl", w->s.log_dir, stem);
		/* a name we chose: 0600, never through a symlink, a regular file only */
		r = tslog_open(&t->own_log, path, 0600, 0);
		if (r < 0)
			log_warning("pid %d (%s): cannot open log '%s' (%s)", (int)pid, t->comm, path,
				    r == -EBADFD ? "not a regular file" : strerror(-r));
	} else
		log_warning("pid %d (%s): no log: %s", (int)pid, t->comm, err);
	if (check_dir("report_dir", w->s.report_dir, err, sizeof(err)) == 0) {
		snprintf(path, sizeof(path), "%s/%s.json", w->s.report_dir, stem);
		t->report_path = strdup(path);
	} else
		log_warning("pid %d (%s): no report: %s", (int)pid, t->comm, err);
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
	size_t leaks = 0, running = session_running_count(s), traced = 0;

	for (size_t i = 0; i < s->n_targets; i++) {
		leaks += pipeline_leak_count(s->targets[i]);
		traced += s->targets[i]->bproc != NULL;
	}
	if (s->conf && s->conf->n_watches == 0)
		(void)sd_notifyf(0, "%sSTATUS=idle: no watch configured%s%s", state,
				 s->reload_note[0] ? "; " : "", s->reload_note);
	else
		(void)sd_notifyf(0, "%sSTATUS=watching %zu process%s (%zu traced), %zu leak%s suspected%s%s",
				 state, running, running == 1 ? "" : "es", traced, leaks,
				 leaks == 1 ? "" : "s", s->reload_note[0] ? "; " : "",
				 s->reload_note);
#else
	(void)s;
	(void)state;
#endif
}

static int on_watchdog(int fd, uint32_t events, void *userdata)
{
	uint64_t expirations;

	(void)events;
	(void)userdata;
	(void)!read(fd, &expirations, sizeof(expirations));
#ifdef HAVE_LIBSYSTEMD
	(void)sd_notify(0, "WATCHDOG=1");
#endif
	return 0;
}

int daemon_watchdog_setup(struct session *s)
{
#ifdef HAVE_LIBSYSTEMD
	struct itimerspec its = { 0 };
	uint64_t usec = 0;
	int fd;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* the loop pings: a loop stuck for half the period misses one */
	its.it_value.tv_sec = (time_t)(usec / 2 / 1000000);
	its.it_value.tv_nsec = (long)(usec / 2 % 1000000) * 1000 + 1;
	its.it_interval = its.it_value;
	if (timerfd_settime(fd, 0, &its, NULL) < 0 || loop_add(s->loop, fd, on_watchdog, s) < 0) {
		int r = -errno;

		(void)close(fd);
		return r ? r : -EIO;
	}
	s->watchdog_fd = fd;
	(void)sd_notify(0, "WATCHDOG=1");
	log_debug("systemd watchdog: pinging every %llu ms", (unsigned long long)(usec / 2000));
#else
	(void)s;
#endif
	return 0;
}

/* Whether name is one of ours: "<stem>-<pid>.json", or "<stem>-<pid>.jsonl" with logrotate's
 * ".N" and ".gz" after it. Then *ret_stem_len is the length up to the first '.' after the pid. */
static bool is_ours(const char *name, size_t *ret_stem_len)
{
	const char *dot = strstr(name, ".json"), *p, *q;

	for (; dot; dot = strstr(dot + 1, ".json")) {
		p = dot;
		while (p > name && p[-1] >= '0' && p[-1] <= '9')
			p--;
		if (p == dot || p - 1 <= name || p[-1] != '-')
			continue;
		q = dot + 5;
		if (*q == '\0')
			break;
		if (*q != 'l')
			continue;
		q++;
		if (*q == '.' && q[1] >= '0' && q[1] <= '9') {
			q++;
			while (*q >= '0' && *q <= '9')
				q++;
		}
		if (strcmp(q, ".gz") == 0)
			q += 3;
		if (*q == '\0')
			break;
	}
	if (!dot)
		return false;
	*ret_stem_len = (size_t)(dot - name);
	return true;
}

/* Whether a file of stem (stem_len bytes) belongs to a process watched now. */
static bool is_watched_stem(const struct session *s, const char *name, size_t stem_len)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		char stem[96];

		if (s->targets[i]->status != TARGET_RUNNING)
			continue;
		file_stem(s->targets[i], stem, sizeof(stem));
		if (strlen(stem) == stem_len && memcmp(stem, name, stem_len) == 0)
			return true;
	}
	return false;
}

static void prune_dir(struct session *s, const char *dir, uint64_t keep_ns)
{
	time_t cutoff = time(NULL) - (time_t)(keep_ns / NSEC_PER_SEC);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		(void)close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;
		size_t stem_len;

		if (!is_ours(e->d_name, &stem_len) || is_watched_stem(s, e->d_name, stem_len))
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_mtime > cutoff)
			continue;
		if (unlinkat(dfd, e->d_name, 0) == 0)
			log_info("deleted '%s/%s': not written for longer than keep_files", dir,
				 e->d_name);
		else
			log_warning("cannot delete '%s/%s' (%s)", dir, e->d_name, strerror(errno));
	}
	(void)closedir(d);
}

void daemon_prune(struct session *s)
{
	uint64_t keep = s->conf->global.keep_files_ns, now = now_ns(), every;
	const char *done[2 * CONF_MAX_WATCHES + 2];
	size_t n = 0;

	if (!keep || now < s->next_prune_ns)
		return;
	every = keep / 4 < 3600 * NSEC_PER_SEC ? keep / 4 : 3600 * NSEC_PER_SEC;
	s->next_prune_ns = now + (every > s->tick_ns ? every : s->tick_ns);
	for (size_t i = 0; i <= s->conf->n_watches; i++) {
		const struct watch_settings *w =
			i < s->conf->n_watches ? &s->conf->watches[i].s : &s->conf->global;
		const char *dirs[2] = { w->log_dir, w->report_dir };

		for (int k = 0; k < 2; k++) {
			size_t j;

			for (j = 0; j < n && strcmp(done[j], dirs[k]) != 0; j++)
				;
			if (j < n)
				continue;
			done[n++] = dirs[k];
			prune_dir(s, dirs[k], keep);
		}
	}
}

void daemon_say_idle(const struct session *s)
{
	if (s->conf->n_watches == 0)
		log_warning("'%s' has no [watch] section (nor has any drop-in): nothing to watch, "
			    "idle until a reload brings one",
			    s->conf->path);
}

void daemon_reload(struct session *s)
{
	struct conf *c = NULL;
	char err[1024];
	int r;

#ifdef HAVE_LIBSYSTEMD
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading '%s'",
			 (unsigned long long)(now_ns() / 1000), s->conf->path);
#endif
	r = conf_load(s->conf->path, &c, err, sizeof(err));
	if (r < 0) {
		log_error("%s; keeping the configuration in use", err);
		snprintf(s->reload_note, sizeof(s->reload_note), "reload failed: %.400s", err);
		daemon_notify(s, "READY=1\n");
		return;
	}
	if (daemon_check_dirs(c, err, sizeof(err)) < 0) {
		log_error("%s; keeping the configuration in use", err);
		snprintf(s->reload_note, sizeof(s->reload_note), "reload failed: %.400s", err);
		conf_free(c);
		daemon_notify(s, "READY=1\n");
		return;
	}
	s->reload_note[0] = '\0';
	if (debuginfod_setup(c->global.debuginfod) < 0)
		log_warning("cannot change the debuginfod setting (out of memory)");
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
			if (t->is_escalated && t->status == TARGET_RUNNING)
				escalate_closed(s, t, "configuration");
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
	log_info("configuration '%s' reloaded: %zu watch%s, %zu drop-in%s", c->path, c->n_watches,
		 c->n_watches == 1 ? "" : "es", c->n_files - 1, c->n_files == 2 ? "" : "s");
	daemon_say_idle(s);
	daemon_scan(s); /* new watches apply now, before READY=1 says the reload is done */
	daemon_notify(s, "READY=1\n");
}
