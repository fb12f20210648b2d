/* session.c - one leakmond run over its event loop: the target list, timers, signals, the
 * backend's notes and stops, logs and reports. See session.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/util.h"
#include "image/debuginfod.h"
#include "output/alert.h"
#include "output/exports.h"
#include "output/report.h"
#include "output/statusline.h"
#include "session/profile.h"
#include "session/session.h"
#include "stack/symsvc.h"
#include "session/session_priv.h"

#define DISPATCH_BATCH 256 /* backend items handled before the loop's other events get a turn */

static int on_pidfd(int fd, uint32_t events, void *userdata);

size_t session_running_count(const struct session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_targets; i++)
		n += s->targets[i]->status == TARGET_RUNNING;
	return n;
}

struct pipeline_out session_out(struct session *s, struct target *t)
{
	struct pipeline_out out = { .log = t->own_log.f ? &t->own_log : &s->log,
				    .is_alert_stderr = s->opts->verbosity >= 0 };

	return out;
}

int session_add_target(struct session *s, struct target *t)
{
	struct target **nt = realloc(s->targets, (s->n_targets + 1) * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	s->targets = nt;
	s->targets[s->n_targets++] = t;
	return 0;
}

void session_drop_target(struct session *s, size_t i)
{
	struct target *t = s->targets[i];

	if (t->pidfd >= 0)
		(void)loop_remove(s->loop, t->pidfd);
	if (t->bproc)
		(void)backend_detach(s->backend, t->bproc);
	t->bproc = NULL;
	target_free(t);
	s->targets[i] = s->targets[--s->n_targets];
}

void session_watch_exit(struct session *s, struct target *t)
{
	/* a traced process's exit comes through the backend, with its status */
	if (!t->bproc && t->pidfd >= 0)
		(void)loop_add(s->loop, t->pidfd, on_pidfd, s);
}

void session_write_attach(struct session *s, struct target *t)
{
	struct pipeline_out out = session_out(s, t);

	(void)tslog_write(out.log, tslog_record_attach(wall_now(), t->pid, t->comm,
						       t->exe[0] ? t->exe : NULL,
						       options_mode_name(t->mode),
						       t->watch[0] ? t->watch : NULL));
}

void session_target_detached(struct session *s, struct target *t)
{
	struct pipeline_out out = session_out(s, t);

	t->status = TARGET_DETACHED;
	t->end_ns = now_ns();
	(void)tslog_write(out.log, tslog_record_detach(wall_now(), t->pid, s->stop_reason,
						       t->mode == MODE_TRACE || t->was_traced,
						       t->detach_error));
}

void session_settings_from_options(const struct options *o, struct watch_settings *ret)
{
	conf_settings_init(ret);
	ret->mode = o->mode;
	ret->interval_ns = o->interval_ns;
	ret->min_age_ns = o->min_age_ns;
	ret->depth = o->depth;
	ret->syslog = o->syslog;
	ret->alert_rss_growth = o->alert_rss_growth;
	ret->alert_leak_size = o->alert_leak_size;
	ret->backend = o->backend;
	ret->sample_bytes = o->sample_bytes;
	ret->escalate_after_ns = o->escalate_after_ns;
	ret->trace_window_ns = o->trace_window_ns;
	ret->max_overhead = o->max_overhead;
	ret->report_interval_ns = o->report_interval_ns;
	ret->max_traced = o->max_traced;
	ret->metrics_file[0] = '\0';
	if (o->metrics_path)
		snprintf(ret->metrics_file, sizeof(ret->metrics_file), "%s", o->metrics_path);
	ret->keep_files_ns = 0;
	ret->max_memory = o->max_memory;
}

const struct watch_settings *session_global(const struct session *s)
{
	return s->conf ? &s->conf->global : &s->cli;
}

void session_target_gone(struct session *s, struct target *t, int wstatus, bool has_wstatus)
{
	struct pipeline_out out = session_out(s, t);

	if (t->status != TARGET_RUNNING)
		return;
	if (t->is_escalated && !t->bproc)
		escalate_closed(s, t, "exit");
	if (!has_wstatus && t->is_child) {
		int st;
		pid_t r = waitpid(t->pid, &st, WNOHANG);

		if (r == 0)
			return; /* still exiting: its SIGCHLD brings the status */
		if (r == t->pid) {
			wstatus = st;
			has_wstatus = true;
		}
	}
	if (has_wstatus) {
		if (WIFSIGNALED(wstatus))
			t->exit_signal = WTERMSIG(wstatus);
		else if (WIFEXITED(wstatus))
			t->exit_status = WEXITSTATUS(wstatus);
	}
	t->status = TARGET_EXITED;
	t->end_ns = now_ns();
	if (t->pidfd >= 0)
		(void)loop_remove(s->loop, t->pidfd);
	(void)tslog_write(out.log, tslog_record_exit(wall_now(), t->pid, t->exit_status,
						     t->exit_signal));
	if (t->exit_signal >= 0)
		log_info("pid %d (%s): killed by signal %d", (int)t->pid, t->comm, t->exit_signal);
	else if (t->exit_status >= 0)
		log_info("pid %d (%s): exited with status %d", (int)t->pid, t->comm,
			 t->exit_status);
	else
		log_info("pid %d (%s): exited", (int)t->pid, t->comm);
	if (s->conf) {
		/* daemon mode: the exit is reported (its last report written) and it is dropped */
		session_write_target_report(s, t);
		s->is_gc_pending = true;
		return;
	}
	if (session_running_count(s) == 0) {
		s->stop_reason = "no target left";
		loop_quit(s->loop, 0);
	}
}

static struct target *find_target(struct session *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i]->pid == pid && s->targets[i]->status == TARGET_RUNNING)
			return s->targets[i];
	return NULL;
}

int session_trace(struct session *s, struct target *t, bool is_held, char *err, size_t errlen)
{
	unsigned depth = s->conf ? s->conf->global.depth : s->opts->depth;
	uint64_t budget = session_global(s)->max_memory;
	size_t max_blocks = TRACE_MAX_BLOCKS;
	int r;

	/* no one table may outgrow the memory budget (64 bytes per block just after a doubling) */
	if (budget && budget / 64 < max_blocks)
		max_blocks = budget / 64 > 4096 ? (size_t)(budget / 64) : 4096;
	if (!t->heap) {
		t->heap = heap_new(max_blocks, depth > 0);
		if (!t->heap) {
			snprintf(err, errlen, "pid %d: out of memory", (int)t->pid);
			return -ENOMEM;
		}
	}
	r = is_held ? backend_attach_held(s->backend, t->pid, t->heap, &t->bproc, err, errlen)
		    : backend_attach(s->backend, t->pid, t->heap, &t->bproc, err, errlen);
	if (r < 0) {
		t->bproc = NULL;
		return r;
	}
	t->window_start_ns = now_ns();
	t->was_traced = false;
	pipeline_snapshot(t, s->backend);
	return 0;
}

void session_untrace(struct session *s, struct target *t)
{
	int r;

	pipeline_snapshot(t, s->backend);
	r = backend_detach(s->backend, t->bproc);
	t->bproc = NULL;
	t->was_traced = true;
	if (r < 0) {
		t->detach_error = r;
		s->is_unclean = true;
		log_warning("pid %d (%s): detach was not clean (%s)", (int)t->pid, t->comm,
			    strerror(-r));
	}
}

static void on_note(void *userdata, pid_t pid, enum backend_note note, int64_t a)
{
	struct session *s = userdata;
	struct target *t = find_target(s, pid);
	struct pipeline_out out;

	if (!t)
		return;
	out = session_out(s, t);
	switch (note) {
	case BACKEND_EXITED:
		pipeline_snapshot(t, s->backend);
		t->bproc = NULL;
		session_target_gone(s, t, (int)a, true);
		break;
	case BACKEND_RELEASED:
		t->bproc = NULL;
		if (t->is_escalated)
			escalate_closed(s, t, "error");
		log_warning("pid %d (%s): tracing stopped (%s); the process was released, RSS sampling goes on",
			    (int)pid, t->comm, strerror((int)-a));
		session_watch_exit(s, t);
		break;
	case BACKEND_HOOKED:
		pipeline_snapshot(t, s->backend);
		pipeline_note(t, &out, note, a);
		break;
	case BACKEND_LOST_EVENTS:
		pipeline_snapshot(t, s->backend);
		pipeline_note(t, &out, note, a);
		break;
	default:
		pipeline_note(t, &out, note, a);
		break;
	}
}

static void sample_all(struct session *s)
{
	uint64_t now = now_ns();

	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];
		struct pipeline_out out;
		struct sample smp;
		int r;

		if (t->status != TARGET_RUNNING || now + s->tick_ns / 2 < t->next_sample_ns)
			continue;
		t->next_sample_ns = now + t->set.interval_ns;
		r = target_read_sample(t, now, s->start_ns, &smp);
		if (r == -ESRCH && t->bproc)
			continue; /* its exit comes through the backend, with its status */
		if (r == -ESRCH) {
			session_target_gone(s, t, 0, false);
			continue;
		}
		if (r < 0) {
			log_warning("pid %d (%s): cannot sample /proc (%s), skipping this interval",
				    (int)t->pid, t->comm, strerror(-r));
			continue;
		}
		out = session_out(s, t);
		pipeline_tick(t, &out, &smp, s->backend, t->heap ? heap_now_ms(t->heap) : 0);
	}
}

/* Write the exports p names from report, as its file holds it (output/exports.h). Returns 0, or
 * -1 when one could not be written (said once). */
static int write_exports(json_object *report, const struct export_paths *p, pid_t pid)
{
	json_object *parsed;
	char err[4200];
	int r = 0;

	if (!exports_any(p))
		return 0;
	parsed = exports_reparse(report);
	if (!parsed) {
		log_error("out of memory rendering the exports");
		return -1;
	}
	if (exports_write(parsed, p, err, sizeof(err)) < 0) {
		r = -1;
		if (pid > 0)
			log_warning("pid %d: cannot write export '%s'", (int)pid, err);
		else
			log_warning("cannot write export '%s'", err);
	}
	json_object_put(parsed);
	return r;
}

/* Make the reports of target t (of every target when t is NULL) ready to write: the sites of a
 * traced target judged now, and named with what the symbolizer helper can name by then (the pcs
 * of every site and profile asked, the answers awaited, bounded by SESSION_SYMBOLS_WAIT_MS: the
 * only place the loop waits for symbols; lookups elsewhere never do, see symsvc_set_async), then
 * the leak alerts held back for those names raised. The report is written from exactly these
 * verdicts: judging again after the wait (the blocks are older by then) could show a leak whose
 * alert was never raised. */
static void settle_reports(struct session *s, struct target *only)
{
	bool is_async = symsvc_is_async();

	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];

		if (only && t != only)
			continue;
		if (t->sites && t->bproc && t->status == TARGET_RUNNING)
			pipeline_prepare_reports(t);
		else
			pipeline_resymbolize(t);
		(void)profile_build(t);
	}
	if (is_async)
		(void)symsvc_flush(SESSION_SYMBOLS_WAIT_MS);
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];
		struct pipeline_out out;

		if (only && t != only)
			continue;
		if (is_async) {
			pipeline_resymbolize(t);
			(void)profile_build(t);
		}
		/* a leak found just before the end still has its alert, with its names */
		out = session_out(s, t);
		pipeline_raise_held_alerts(t, &out);
	}
}

void session_write_target_report(struct session *s, struct target *t)
{
	struct report_target model;
	json_object *report;
	int r;

	if (!t->report_path)
		return;
	settle_reports(s, t);
	pipeline_model(t, now_ns(), &model);
	report = report_build(&model, 1, time(NULL));
	if (t->sites)
		sites_mark_report(t->sites);
	if (!report)
		return;
	/* a name we chose, in report_dir: 0600, never through a symlink (base/atomicfile.h) */
	r = report_write_atomic(t->report_path, report, 0600, 0);
	if (r < 0)
		log_warning("pid %d (%s): cannot write report '%s' (%s)", (int)t->pid, t->comm,
			    t->report_path, strerror(-r));
	if (t->set.exports) {
		char folded[4200], pprof[4200], html[4200];
		struct export_paths p;

		exports_paths_beside(t->report_path, t->set.exports,
				     t->set.is_folded_blocks ? FOLDED_BLOCKS : FOLDED_BYTES, &p,
				     folded, pprof, html, sizeof(folded));
		p.mode = 0600;
		(void)write_exports(report, &p, t->pid);
	}
	json_object_put(report);
}

int session_write_reports(struct session *s, bool with_text)
{
	struct report_target *models;
	json_object *report;
	uint64_t now;
	int r, ret = 0;

	if (s->conf) {
		for (size_t i = 0; i < s->n_targets; i++)
			session_write_target_report(s, s->targets[i]);
		return 0;
	}
	settle_reports(s, NULL);
	now = now_ns();
	models = calloc(s->n_targets + 1, sizeof(*models));
	if (!models) {
		log_error("out of memory building the report");
		return -1;
	}
	for (size_t i = 0; i < s->n_targets; i++) {
		pipeline_model(s->targets[i], now, &models[i]);
	}
	report = report_build(models, s->n_targets, time(NULL));
	free(models);
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i]->sites)
			sites_mark_report(s->targets[i]->sites);
	if (!report) {
		log_error("out of memory building the report");
		return -1;
	}
	if (s->opts->report_path) {
		/* the user's path: "-" is stdout, a device or FIFO is written in place, a new file
		 * gets 0666 less the umask */
		r = report_write_atomic(s->opts->report_path, report, ATOMIC_MODE_DEFAULT,
					ATOMIC_USER_PATH);
		if (r < 0) {
			log_warning("cannot write report '%s' (%s)", s->opts->report_path,
				    strerror(-r));
			ret = -1;
		}
	}
	{
		struct export_paths p = {
			.folded = s->opts->folded_path,
			.pprof = s->opts->pprof_path,
			.html = s->opts->html_path,
			.folded_weight = s->opts->is_folded_blocks ? FOLDED_BLOCKS : FOLDED_BYTES,
			.mode = ATOMIC_MODE_DEFAULT,
			.file_flags = ATOMIC_USER_PATH,
		};

		if (write_exports(report, &p, 0) < 0)
			ret = -1;
	}
	if (s->is_text && with_text) {
		statusline_clear(stdout);
		report_print_text_full(stdout, report, s->opts->verbosity > 0);
		fflush(stdout);
	}
	json_object_put(report);
	return ret;
}

/* The live status line: elapsed time, and per target RSS, live heap and sites suspected. */
static void show_status(struct session *s)
{
	struct statusline_target st[4];
	struct winsize ws;
	char line[1024];
	size_t n = 0;

	for (size_t i = 0; i < s->n_targets && n < ARRAY_SIZE(st); i++) {
		const struct target *t = s->targets[i];
		size_t leaks = pipeline_leak_count(t), listed = 0;

		for (size_t k = 0; k < t->n_reports; k++)
			listed += t->reports[k].view.verdict != SITE_NONE;
		st[n++] = (struct statusline_target){
			.pid = t->pid, .comm = t->comm, .is_running = t->status == TARGET_RUNNING,
			.rss_bytes = t->last.rss_bytes, .has_heap = t->last.has_trace,
			.live_bytes = t->last.live_bytes, .leaks = leaks, .suspects = listed - leaks,
		};
	}
	statusline_format(line, sizeof(line), (double)(now_ns() - s->start_ns) / 1e9, st, n,
			  ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80);
	statusline_show(stdout, line);
}

/* report_interval: every report rewritten while its process runs (daemon mode: each target at
 * its watch's interval; command line: the one report). */
static void periodic_reports(struct session *s)
{
	uint64_t now = now_ns(), every;

	if (!s->conf) {
		every = s->cli.report_interval_ns;
		if (!every)
			return;
		if (!s->next_report_ns)
			s->next_report_ns = now + every;
		if (now + s->tick_ns / 2 < s->next_report_ns)
			return;
		s->next_report_ns = now + every;
		session_write_reports(s, true);
		return;
	}
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];

		every = t->set.report_interval_ns;
		if (!every || t->status != TARGET_RUNNING)
			continue;
		if (!t->next_report_ns)
			t->next_report_ns = t->attach_ns + every;
		if (now + s->tick_ns / 2 < t->next_report_ns)
			continue;
		t->next_report_ns = now + every;
		session_write_target_report(s, t);
	}
}

void session_write_metrics(struct session *s)
{
	const char *path = session_global(s)->metrics_file;
	struct metrics_target *m;
	char *text;
	int r;

	if (!path[0])
		return;
	m = calloc(s->n_targets + 1, sizeof(*m));
	if (!m)
		return;
	for (size_t i = 0; i < s->n_targets; i++)
		pipeline_metrics(s->targets[i], &m[i]);
	text = metrics_render(m, s->n_targets);
	free(m);
	if (!text) {
		log_warning("out of memory rendering the metrics");
		return;
	}
	r = metrics_write_atomic(path, text);
	free(text);
	if (r < 0 && !s->has_warned_metrics)
		log_warning("cannot write metrics file '%s' (%s), trying again every interval", path,
			    strerror(-r));
	s->has_warned_metrics = r < 0;
}

/* The symbolizer helper sent something (answers, or a request of its broker). */
static int on_symsvc(int fd, uint32_t events, void *userdata)
{
	(void)fd;
	(void)events;
	(void)userdata;
	symsvc_dispatch();
	return 0;
}

/* The helper's socket changed (it was restarted). */
static void symsvc_watch(int old_fd, int new_fd, void *ctx)
{
	struct session *s = ctx;

	if (old_fd >= 0)
		(void)loop_remove(s->loop, old_fd);
	if (new_fd >= 0 && loop_add(s->loop, new_fd, on_symsvc, s) < 0)
		log_warning("cannot watch the symbolizer helper: names come with reports only");
}

static int on_tick(int fd, uint32_t events, void *userdata)
{
	struct session *s = userdata;
	uint64_t expirations;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return -errno;
	symsvc_tick();
	if (s->conf)
		daemon_scan(s);
	sample_all(s);
	if (s->is_status)
		show_status(s);
	if (s->backend)
		escalate_tick(s);
	periodic_reports(s);
	session_write_metrics(s);
	if (s->conf) {
		daemon_gc(s);
		daemon_prune(s);
		daemon_notify(s, s->is_ready ? "" : "READY=1\n");
		s->is_ready = true;
	}
	return 0;
}

static int on_end(int fd, uint32_t events, void *userdata)
{
	struct session *s = userdata;
	uint64_t expirations;

	(void)events;
	(void)!read(fd, &expirations, sizeof(expirations));
	s->stop_reason = "duration";
	loop_quit(s->loop, 0);
	return 0;
}

static int on_pidfd(int fd, uint32_t events, void *userdata)
{
	struct session *s = userdata;

	(void)events;
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i]->pidfd == fd)
			session_target_gone(s, s->targets[i], 0, false);
	return 0;
}

static void reap_children(struct session *s)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid <= 0)
			return;
		for (size_t i = 0; i < s->n_targets; i++)
			if (s->targets[i]->pid == pid)
				session_target_gone(s, s->targets[i], st, true);
	}
}

/* Programs we started that are not traced now (mode auto between windows). */
static void reap_untraced_children(struct session *s)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];
		int st;

		if (t->is_child && !t->bproc && t->status == TARGET_RUNNING &&
		    waitpid(t->pid, &st, WNOHANG) == t->pid)
			session_target_gone(s, t, st, true);
	}
}

/* Let the backend handle what is pending, a batch at a time: when the batch is full, more is
 * pending and the kick eventfd brings us back here after the loop's other ready events (a
 * SIGTERM, a timer). */
static void dispatch_backend(struct session *s)
{
	int r = backend_dispatch(s->backend, DISPATCH_BATCH);

	if (r < 0)
		log_warning("the %s backend failed to dispatch (%s)", s->backend->ops->name,
			    strerror(-r));
	if (r == DISPATCH_BATCH && !s->is_kicked) {
		uint64_t one = 1;

		s->is_kicked = write(s->kick_fd, &one, sizeof(one)) == (ssize_t)sizeof(one);
	}
}

static int on_kick(int fd, uint32_t events, void *userdata)
{
	struct session *s = userdata;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	s->is_kicked = false;
	if (s->backend)
		dispatch_backend(s);
	return 0;
}

static int on_backend_fd(int fd, uint32_t events, void *userdata)
{
	(void)fd;
	(void)events;
	dispatch_backend(userdata);
	return 0;
}

static void reopen_logs(struct session *s)
{
	int r = tslog_reopen(&s->log);

	if (r < 0)
		log_warning("cannot reopen log '%s' (%s), keeping the old one", s->log.path,
			    strerror(-r));
	for (size_t i = 0; i < s->n_targets; i++)
		(void)tslog_reopen(&s->targets[i]->own_log);
}

static int on_signal(int fd, uint32_t events, void *userdata)
{
	struct session *s = userdata;
	struct signalfd_siginfo si;
	bool is_child = false;

	(void)events;
	/* Bounded: stops of a busy traced process raise SIGCHLD again while we handle them. They
	 * are handled once, after the signals read now, so the loop's other events get a turn. */
	for (int n = 0; n < 64 && read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si); n++) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			is_child = true;
			break;
		case SIGHUP:
			reopen_logs(s);
			if (s->conf)
				daemon_reload(s);
			break;
		case SIGUSR2:
			reopen_logs(s); /* for logrotate: reopen without reloading */
			break;
		case SIGUSR1:
			session_write_reports(s, true);
			break;
		default:
			if (signals_is_terminating((int)si.ssi_signo)) {
				signals_name((int)si.ssi_signo, s->stop_signal,
					     sizeof(s->stop_signal));
				s->stop_reason = s->stop_signal;
				loop_quit(s->loop, 0);
			}
			break;
		}
	}
	if (is_child)
		reap_untraced_children(s); /* before a ptrace backend's waitpid(-1) takes them */
	if (is_child && s->backend && s->backend->ops->is_ptrace)
		dispatch_backend(s);
	else if (is_child)
		reap_children(s);
	return 0;
}

static int timer_new(uint64_t first_ns, uint64_t interval_ns)
{
	struct itimerspec its = { 0 };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	its.it_value.tv_sec = (time_t)(first_ns / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(first_ns % NSEC_PER_SEC);
	its.it_interval.tv_sec = (time_t)(interval_ns / NSEC_PER_SEC);
	its.it_interval.tv_nsec = (long)(interval_ns % NSEC_PER_SEC);
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int r = -errno;

		(void)close(fd);
		return r;
	}
	return fd;
}

/* Each output path the user named can be written (base/atomicfile.h), and in daemon mode every
 * log_dir and report_dir is safe (base/safedir.h). Returns 0 or an exit status, said on stderr. */
static int check_outputs(struct session *s)
{
	const struct options *o = s->opts;
	const char *what[] = { "report", "folded stacks", "pprof profile", "HTML page" };
	const char *paths[] = { o->report_path, o->folded_path, o->pprof_path, o->html_path };
	char err[4200];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (!paths[i])
			continue;
		r = atomic_check_path(paths[i], ATOMIC_USER_PATH);
		if (r < 0) {
			fprintf(stderr, "leakmond: cannot write %s '%s' (%s)\n", what[i], paths[i],
				strerror(-r));
			return EXIT_RUNTIME;
		}
	}
	if (s->conf && daemon_check_dirs(s->conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "leakmond: %s\n", err);
		return EXIT_RUNTIME;
	}
	return 0;
}

static int setup(struct session *s)
{
	const struct options *o = s->opts;
	bool needs_backend = o->mode == MODE_TRACE || o->mode == MODE_AUTO;
	struct watch_settings cli;
	sigset_t mask;
	int r;

	s->loop = loop_new();
	if (!s->loop)
		return EXIT_RUNTIME;
	/* the program started with "--" gets the environment we were given, whatever we change */
	if (o->program) {
		size_t n = 0;

		while (environ[n])
			n++;
		s->child_env = calloc(n + 1, sizeof(*s->child_env));
		if (!s->child_env)
			return EXIT_RUNTIME;
		memcpy(s->child_env, environ, n * sizeof(*s->child_env));
	}
	session_settings_from_options(o, &cli);
	s->cli = cli;
	s->tick_ns = o->interval_ns;
	if (o->config_path) {
		char err[1024];

		r = conf_load(o->config_path, &s->conf, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "leakmond: %s\n", err);
			return EXIT_USAGE;
		}
		s->tick_ns = daemon_tick_ns(s->conf);
		daemon_say_idle(s);
		needs_backend = true; /* a watch may ask for trace mode, now or after a reload */
	}
	/* the files the user named, checked before any process is touched rather than after a
	 * whole run; in daemon mode the directories leakmond names its files in */
	r = check_outputs(s);
	if (r != 0)
		return r;
	/* the log too, before any process is touched (a FIFO nobody reads fails here, at once) */
	if (o->log_path) {
		r = tslog_open(&s->log, o->log_path, ATOMIC_MODE_DEFAULT, ATOMIC_USER_PATH);
		if (r < 0) {
			fprintf(stderr, "leakmond: cannot open log '%s' (%s)\n", o->log_path,
				strerror(-r));
			return EXIT_RUNTIME;
		}
	}
	/* before any module we use can read it: DEBUGINFOD_URLS gone unless opted in */
	if (debuginfod_setup(s->conf ? s->conf->global.debuginfod : o->debuginfod) < 0)
		return EXIT_RUNTIME;
	if (needs_backend) {
		enum trace_backend which = s->conf ? s->conf->global.backend : o->backend;
		struct backend_config cfg = {
			.depth = s->conf ? s->conf->global.depth : o->depth,
			.stack_copy = o->stack_copy,
			.sample_bytes = s->conf ? s->conf->global.sample_bytes : o->sample_bytes,
			.note = on_note,
			.userdata = s,
		};
		const struct backend_ops *ops = backend_find(options_backend_name(which));

		s->backend = ops ? ops->create(&cfg) : NULL;
		if (!s->backend) {
			fprintf(stderr, "leakmond: cannot start the %s backend (%s)\n",
				options_backend_name(which), strerror(errno ? errno : ENOMEM));
			return EXIT_RUNTIME;
		}
	}
	for (size_t i = 0; i < o->n_pids; i++) {
		char err[512];
		struct target *t;

		r = target_open(o->pids[i], false, o->mode, &t, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "leakmond: %s\n", err);
			return EXIT_TARGET;
		}
		t->set = cli;
		if (session_add_target(s, t) < 0) {
			target_free(t);
			return EXIT_RUNTIME;
		}
		if (s->backend && t->mode == MODE_TRACE) {
			r = session_trace(s, t, false, err, sizeof(err));
			if (r < 0) {
				fprintf(stderr, "leakmond: %s\n", err);
				return EXIT_TARGET;
			}
		}
	}
	if (o->program) {
		r = child_start(s);
		if (r != 0)
			return r;
	}

	signals_handled_set(&mask);
	s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->tick_fd = timer_new(1, s->tick_ns);
	s->end_fd = o->duration_ns ? timer_new(o->duration_ns, 0) : -1;
	if (s->sig_fd < 0 || s->tick_fd < 0 || (o->duration_ns && s->end_fd < 0)) {
		fprintf(stderr, "leakmond: cannot create signalfd/timerfd (%s)\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	s->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->kick_fd < 0) {
		fprintf(stderr, "leakmond: cannot create an eventfd (%s)\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (loop_add(s->loop, s->kick_fd, on_kick, s) < 0 ||
	    loop_add(s->loop, s->sig_fd, on_signal, s) < 0 ||
	    loop_add(s->loop, s->tick_fd, on_tick, s) < 0 ||
	    (s->end_fd >= 0 && loop_add(s->loop, s->end_fd, on_end, s) < 0))
		return EXIT_RUNTIME;
	if (s->backend && s->backend->ops->poll_fd(s->backend) >= 0 &&
	    loop_add(s->loop, s->backend->ops->poll_fd(s->backend), on_backend_fd, s) < 0)
		return EXIT_RUNTIME;
	symsvc_set_watch(symsvc_watch, s);
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];

		if (!t->bproc && t->pidfd >= 0 && loop_add(s->loop, t->pidfd, on_pidfd, s) < 0)
			return EXIT_RUNTIME;
		session_write_attach(s, t);
		log_info("pid %d (%s): watching, mode %s", (int)t->pid, t->comm,
			 options_mode_name(t->mode));
	}
	r = daemon_watchdog_setup(s);
	if (r < 0)
		log_warning("cannot set up the watchdog timer (%s), systemd's watchdog may stop us",
			    strerror(-r));
	if (o->syslog)
		alert_syslog_open();
	return 0;
}

static void finish(struct session *s)
{
	if (s->is_status)
		statusline_clear(stdout);
	if (s->conf)
		daemon_notify(s, "STOPPING=1\n");
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];
		int st;

		if (t->status != TARGET_RUNNING)
			continue;
		if (t->bproc) {
			session_untrace(s, t);
			if (t->status != TARGET_RUNNING)
				continue; /* it exited while we detached */
			if (t->is_escalated)
				escalate_closed(s, t, "stopped");
		}
		if (t->is_child) {
			/* a program leakmond started was started for this watch: end it with it */
			t->stopped_by = s->stop_reason ? s->stop_reason : "leakmond";
			if (child_stop(t, &st) == 0)
				session_target_gone(s, t, st, true);
			else
				session_target_gone(s, t, 0, false);
			continue;
		}
		session_target_detached(s, t);
	}
	/* the final report: a failure to write it is the run's failure (exit 1) */
	if (session_write_reports(s, true) < 0)
		s->has_write_failed = true;
	session_write_metrics(s);
}

static bool is_dash(const char *path)
{
	return path && strcmp(path, "-") == 0;
}

int session_run(const struct options *opts)
{
	struct session s = { .opts = opts, .sig_fd = -1, .tick_fd = -1, .end_fd = -1,
			     .kick_fd = -1, .watchdog_fd = -1 };
	int r;

	s.start_ns = now_ns();
	/* stdout carrying the log, the report or an export ("-") gets no text report unless asked
	 * for, and no status line */
	s.is_text = opts->text < 0 ? isatty(STDOUT_FILENO) && !is_dash(opts->report_path) &&
					     !is_dash(opts->folded_path) && !is_dash(opts->pprof_path) &&
					     !is_dash(opts->html_path)
				   : opts->text;
	/* the status line: on a terminal only, and never where stdout carries an output */
	s.is_status = s.is_text && isatty(STDOUT_FILENO) && !opts->config_path &&
		      !is_dash(opts->log_path) && !is_dash(opts->report_path) &&
		      !is_dash(opts->folded_path) && !is_dash(opts->pprof_path) &&
		      !is_dash(opts->html_path) && opts->verbosity >= 0;
	r = setup(&s);
	if (r == 0) {
		r = loop_run(s.loop);
		if (r < 0) {
			log_error("event loop failed (%s)", strerror(-r));
			r = EXIT_RUNTIME;
		}
		finish(&s);
	} else {
		/* nothing was watched yet: only our own child needs ending */
		for (size_t i = 0; i < s.n_targets; i++) {
			int st;

			if (s.targets[i]->is_child)
				(void)child_stop(s.targets[i], &st);
		}
	}
	for (size_t i = 0; i < s.n_targets; i++)
		s.targets[i]->bproc = NULL; /* the backend detaches them all */
	s.backend = backend_destroy(s.backend);
	if (r == 0 && s.is_unclean)
		r = EXIT_UNCLEAN;
	else if (r == 0 && s.has_write_failed)
		r = EXIT_RUNTIME;
	for (size_t i = 0; i < s.n_targets; i++)
		target_free(s.targets[i]);
	free(s.targets);
	symsvc_set_watch(NULL, NULL);
	loop_free(s.loop);
	if (s.sig_fd >= 0)
		(void)close(s.sig_fd);
	if (s.kick_fd >= 0)
		(void)close(s.kick_fd);
	if (s.tick_fd >= 0)
		(void)close(s.tick_fd);
	if (s.end_fd >= 0)
		(void)close(s.end_fd);
	if (s.watchdog_fd >= 0)
		(void)close(s.watchdog_fd);
	tslog_close(&s.log);
	conf_free(s.conf);
	free(s.refused);
	free(s.child_env);
	return r;
}
