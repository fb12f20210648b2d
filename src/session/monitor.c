/* monitor.c - one leakmond session over its event loop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "heap/allocfn.h"
#include "output/alert.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/loop.h"
#include "config/match.h"
#include "session/monitor.h"
#include "output/report.h"
#include "verdict/sites.h"
#include "heap/stacks.h"
#include "stack/symbols.h"
#include "session/target.h"
#include "backend/tracer.h"
#include "output/tslog.h"
#include "base/units.h"
#include "base/util.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define CHILD_STOP_TIMEOUT_MS 5000
#define DISPATCH_BATCH 256 /* ptrace stops handled before the loop's other events get a turn */

struct monitor {
	const struct options *opts;
	struct loop *loop;
	struct target **targets;
	size_t n_targets;
	struct tslog log;
	bool is_text;
	uint64_t start_ns;
	int sig_fd, tick_fd, end_fd;
	int kick_fd;	/* eventfd: more ptrace stops are pending than one batch handled */
	bool is_kicked;
	const char *stop_reason;
	char stop_signal[32];  /* the name of the signal that ended the session */
	struct tracer *tracer; /* trace mode */
	struct conf *conf;     /* daemon mode (--config) */
	pid_t *refused;	       /* daemon mode: pids that matched but could not be watched */
	size_t n_refused;
	uint64_t tick_ns;
	bool is_gc_pending; /* daemon mode: exited targets to drop */
	bool is_ready;	    /* daemon mode: READY=1 sent */
	bool is_unclean;    /* a detach was not clean: exit EXIT_UNCLEAN */
};

static void write_target_report(struct monitor *m, struct target *t);
static void daemon_scan(struct monitor *m);
static void daemon_gc(struct monitor *m);
static void daemon_reload(struct monitor *m);
static void notify_status(struct monitor *m, const char *state);
static void settings_from_options(const struct options *o, struct watch_settings *s);

#define TRACE_MAX_BLOCKS (16U << 20) /* live blocks per process (about 512 MiB of table) */

static size_t running_count(const struct monitor *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_targets; i++)
		n += m->targets[i]->status == TARGET_RUNNING;
	return n;
}

/* The log a target's records go to: its own in daemon mode, else the session's. */
static struct tslog *log_of(struct monitor *m, struct target *t)
{
	return t->own_log.f ? &t->own_log : &m->log;
}

static void write_event(struct monitor *m, struct target *t, const char *type)
{
	json_object *rec = tslog_record_new(type, wall_now(), t->pid);

	if (rec && strcmp(type, "attach") == 0) {
		json_object_object_add(rec, "comm", json_object_new_string(t->comm));
		json_object_object_add(rec, "exe", t->exe[0] ? json_object_new_string(t->exe) : NULL);
		json_object_object_add(rec, "mode",
				       json_object_new_string(options_mode_name(t->mode)));
	}
	if (rec && strcmp(type, "attach") == 0 && t->watch[0])
		json_object_object_add(rec, "watch", json_object_new_string(t->watch));
	if (rec && strcmp(type, "detach") == 0 && m->stop_reason)
		json_object_object_add(rec, "reason", json_object_new_string(m->stop_reason));
	if (rec && strcmp(type, "detach") == 0 && t->mode == MODE_TRACE) {
		json_object_object_add(rec, "clean", json_object_new_boolean(t->detach_error == 0));
		if (t->detach_error)
			json_object_object_add(rec, "error",
					       json_object_new_string(strerror(-t->detach_error)));
	}
	(void)tslog_write(log_of(m, t), rec);
}

/* The target has exited: record how (status known only for our children), stop watching it. */
static void target_gone(struct monitor *m, struct target *t, int wstatus, bool has_wstatus)
{
	if (t->status != TARGET_RUNNING)
		return;
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
		(void)loop_remove(m->loop, t->pidfd);
	(void)tslog_write(log_of(m, t), tslog_record_exit(wall_now(), t->pid, t->exit_status,
							  t->exit_signal));
	if (t->exit_signal >= 0)
		log_info("pid %d (%s): killed by signal %d", (int)t->pid, t->comm, t->exit_signal);
	else if (t->exit_status >= 0)
		log_info("pid %d (%s): exited with status %d", (int)t->pid, t->comm,
			 t->exit_status);
	else
		log_info("pid %d (%s): exited", (int)t->pid, t->comm);
	if (m->conf) {
		/* daemon mode: the exit is reported (its last report written) and it is dropped */
		write_target_report(m, t);
		m->is_gc_pending = true;
		return;
	}
	if (running_count(m) == 0) {
		m->stop_reason = "no target left";
		loop_quit(m->loop, 0);
	}
}

static void raise_rss_alert(struct monitor *m, struct target *t)
{
	char msg[256];
	json_object *rec;

	if (!alert_should_fire(&t->rss_alert, now_ns(), t->verdict.recent.slope))
		return;
	alert_format_rss(msg, sizeof(msg), t->pid, t->comm, t->verdict.recent.slope,
			 t->last.rss_bytes);
	if (t->set.syslog)
		alert_send(msg);
	if (m->opts->verbosity >= 0)
		fprintf(stderr, "leakmond: alert: %s\n", msg);
	rec = tslog_record_new("alert", wall_now(), t->pid);
	if (rec) {
		json_object_object_add(rec, "kind", json_object_new_string("rss_growth"));
		json_object_object_add(rec, "message", json_object_new_string(msg));
		json_object_object_add(rec, "growth_bytes_per_s",
				       json_object_new_double(t->verdict.recent.slope));
		json_object_object_add(rec, "rss_bytes", json_object_new_uint64(t->last.rss_bytes));
	}
	(void)tslog_write(log_of(m, t), rec);
}

static int on_pidfd(int fd, uint32_t events, void *userdata);

static struct target *find_target(struct monitor *m, pid_t pid)
{
	for (size_t i = 0; i < m->n_targets; i++)
		if (m->targets[i]->pid == pid && m->targets[i]->status == TARGET_RUNNING)
			return m->targets[i];
	return NULL;
}

static void snapshot_trace(struct target *t)
{
	if (!t->trace)
		return;
	tracer_get_stats(t->trace, &t->tstats);
	t->has_tstats = true;
}

/* Stop tracing t, restoring it. An unclean detach (some thread could not be stopped in time: its
 * breakpoints are gone but the scratch page stays for it) is logged, recorded in t for the log
 * record and the report, and makes leakmond's exit status EXIT_UNCLEAN. */
static void detach_trace(struct monitor *m, struct target *t)
{
	int r;

	snapshot_trace(t);
	r = tracer_detach(m->tracer, t->trace);
	t->trace = NULL;
	if (r < 0) {
		t->detach_error = r;
		m->is_unclean = true;
		log_warning("pid %d (%s): detach was not clean (%s)", (int)t->pid, t->comm,
			    strerror(-r));
	}
}

static void on_trace_event(void *userdata, struct tproc *p, pid_t pid, enum tracer_event ev, int a)
{
	struct monitor *m = userdata;
	struct target *t = find_target(m, pid);
	json_object *rec;

	if (!t)
		return;
	switch (ev) {
	case TRACER_EXITED:
		snapshot_trace(t);
		t->trace = NULL;
		target_gone(m, t, a, true);
		break;
	case TRACER_FORKED:
		rec = tslog_record_new("fork", wall_now(), pid);
		if (rec)
			json_object_object_add(rec, "child", json_object_new_int(a));
		(void)tslog_write(log_of(m, t), rec);
		log_info("pid %d (%s): forked child %d, released untraced", (int)pid, t->comm, a);
		break;
	case TRACER_EXECED:
		/* stack ids and modules of the old program mean nothing now */
		t->sites = sites_free(t->sites);
		t->sym = symbolizer_free(t->sym);
		free(t->reports);
		t->reports = NULL;
		t->n_reports = 0;
		(void)tslog_write(log_of(m, t), tslog_record_new("exec", wall_now(), pid));
		log_info("pid %d (%s): executed a new program", (int)pid, t->comm);
		break;
	case TRACER_HOOKED:
		snapshot_trace(t);
		log_info("pid %d (%s): %u allocator hooks installed", (int)pid, t->comm,
			 t->tstats.hooks);
		break;
	case TRACER_LOST:
		(void)p;
		t->trace = NULL;
		log_warning("pid %d (%s): tracing stopped (%s); the process was released, RSS sampling goes on",
			    (int)pid, t->comm, strerror(-a));
		if (t->pidfd >= 0)
			(void)loop_add(m->loop, t->pidfd, on_pidfd, m);
		break;
	}
}

#define REPORT_TOP_SITES 10
#define REPORT_MAX_LEAKS 50


static void symbolize_site(struct target *t, const struct stack_table *stacks,
			   struct site_report *r)
{
	const uint64_t *pcs;
	size_t depth = stacks ? stacks_get(stacks, r->view.stack_id, &pcs) : 0;

	r->n_frames = 0;
	for (size_t i = 0; i < depth && r->n_frames < SITE_FRAMES_MAX; i++) {
		int n = symbolizer_lookup(t->sym, pcs[i], true, r->frames + r->n_frames,
					  SITE_FRAMES_MAX - r->n_frames);

		if (n <= 0)
			break;
		r->n_frames += (size_t)n;
	}
	/* frames[0] is the allocator's caller */
	while (r->n_frames > 1 && alloc_fn_is_allocator_name(r->frames[0].function)) {
		memmove(r->frames, r->frames + 1, (r->n_frames - 1) * sizeof(r->frames[0]));
		r->n_frames--;
	}
}

/* Judge the target's sites and symbolize the ones a report shows: every leak or suspect and
 * the largest sites. Done while the process is alive (its maps are readable); the result
 * outlives it for the final report. */
static void prepare_site_reports(struct monitor *m, struct target *t)
{
	struct site_view *views = NULL;
	const struct stack_table *stacks = t->trace ? tracer_stacks(t->trace) : NULL;
	struct site_report *reports;
	double min_age = (double)t->set.min_age_ns / 1e9;
	ssize_t n = sites_judge(t->sites, min_age, DETECT_ALPHA, &views);
	size_t k = 0, n_leaks = 0;

	if (n < 0)
		return;
	if (!t->sym)
		t->sym = symbolizer_new(t->pid);
	reports = calloc((size_t)n + 1, sizeof(*reports));
	if (!reports || !t->sym) {
		free(reports);
		free(views);
		return;
	}
	/* views are sorted leaks first; mark the largest REPORT_TOP_SITES by bytes as top */
	for (ssize_t i = 0; i < n; i++) {
		bool is_leak = views[i].verdict != SITE_NONE && n_leaks < REPORT_MAX_LEAKS;
		size_t bigger = 0;

		for (ssize_t j = 0; j < n && bigger < REPORT_TOP_SITES; j++)
			if (views[j].live_bytes > views[i].live_bytes ||
			    (views[j].live_bytes == views[i].live_bytes && j < i))
				bigger++;
		if (!is_leak && bigger >= REPORT_TOP_SITES)
			continue;
		reports[k].view = views[i];
		reports[k].is_leak = is_leak;
		reports[k].is_top = bigger < REPORT_TOP_SITES;
		n_leaks += is_leak;
		symbolize_site(t, stacks, &reports[k]);
		k++;
	}
	free(views);
	free(t->reports);
	t->reports = reports;
	t->n_reports = k;
}

static struct alert_state *site_alert_state(struct target *t, uint32_t stack_id)
{
	struct site_alert *a;

	for (size_t i = 0; i < t->n_site_alerts; i++)
		if (t->site_alerts[i].stack_id == stack_id)
			return &t->site_alerts[i].state;
	a = realloc(t->site_alerts, (t->n_site_alerts + 1) * sizeof(*a));
	if (!a)
		return NULL;
	t->site_alerts = a;
	a = &t->site_alerts[t->n_site_alerts++];
	memset(a, 0, sizeof(*a));
	a->stack_id = stack_id;
	return &a->state;
}

static void raise_leak_alerts(struct monitor *m, struct target *t)
{
	for (size_t i = 0; i < t->n_reports; i++) {
		const struct site_report *r = &t->reports[i];
		struct alert_state *st;
		json_object *rec, *frames;
		char msg[512];

		if (r->view.verdict != SITE_LEAK || r->view.live_bytes < t->set.alert_leak_size)
			continue;
		st = site_alert_state(t, r->view.stack_id);
		if (!st || !alert_should_fire(st, now_ns(), (double)r->view.live_bytes))
			continue;
		alert_format_leak(msg, sizeof(msg), t->pid, t->comm,
				  r->n_frames ? &r->frames[0] : NULL, r->view.live_bytes,
				  r->view.live_blocks, r->view.growth_bytes_per_s);
		if (t->set.syslog)
			alert_send(msg);
		if (m->opts->verbosity >= 0)
			fprintf(stderr, "leakmond: alert: %s\n", msg);
		rec = tslog_record_new("alert", wall_now(), t->pid);
		if (!rec)
			continue;
		json_object_object_add(rec, "kind", json_object_new_string("leak"));
		json_object_object_add(rec, "message", json_object_new_string(msg));
		json_object_object_add(rec, "growth_bytes_per_s",
				       json_object_new_double(r->view.growth_bytes_per_s));
		json_object_object_add(rec, "live_bytes", json_object_new_uint64(r->view.live_bytes));
		json_object_object_add(rec, "live_blocks",
				       json_object_new_uint64(r->view.live_blocks));
		frames = report_frames(r->frames, r->n_frames < 5 ? r->n_frames : 5);
		json_object_object_add(rec, "frames", frames);
		(void)tslog_write(log_of(m, t), rec);
	}
}

static void sample_sites(struct monitor *m, struct target *t, double t_s)
{
	if (!t->trace || !tracer_is_hooked(t->trace))
		return;
	if (!t->sites)
		t->sites = sites_new();
	if (!t->sites || sites_sample(t->sites, tracer_live(t->trace), t_s,
				      tracer_now_ms(t->trace)) < 0)
		return;
	prepare_site_reports(m, t);
	raise_leak_alerts(m, t);
}

/* RSS rising while the traced live bytes are not: nothing malloc hands out explains it. */
static void judge_rss_vs_heap(struct target *t)
{
	struct trend_result live;

	(void)series_append(&t->live, t->last.t_s, (double)t->last.live_bytes);
	t->rss_unexplained = NULL;
	if (t->verdict.recent.direction != TREND_RISING || t->verdict.recent.n < DETECT_RSS_MIN_POINTS)
		return;
	if (trend_analyze_tail(t->live.t, t->live.y, t->live.n, DETECT_RSS_WINDOW, DETECT_ALPHA,
			       &live) < 0)
		return;
	if (live.direction != TREND_RISING || live.slope < t->verdict.recent.slope / 10)
		t->rss_unexplained = "RSS is rising while the traced heap is not: fragmentation, or "
				     "memory from outside malloc (mmap, thread stacks, "
				     "another allocator)";
}

static void sample_all(struct monitor *m)
{
	uint64_t now = now_ns();

	for (size_t i = 0; i < m->n_targets; i++) {
		struct target *t = m->targets[i];
		int r;

		if (t->status != TARGET_RUNNING || now + m->tick_ns / 2 < t->next_sample_ns)
			continue;
		t->next_sample_ns = now + t->set.interval_ns;
		r = target_sample(t, now, m->start_ns, t->set.alert_rss_growth);
		if (r == -ESRCH && t->trace)
			continue; /* its exit comes through the tracer, with its status */
		if (r == -ESRCH) {
			target_gone(m, t, 0, false);
			continue;
		}
		if (r < 0) {
			log_warning("pid %d (%s): cannot sample /proc (%s), skipping this interval",
				    (int)t->pid, t->comm, strerror(-r));
			continue;
		}
		if (t->trace) {
			snapshot_trace(t);
			t->last.has_trace = true;
			t->last.live_bytes = t->tstats.live.live_bytes;
			t->last.live_blocks = t->tstats.live.live_blocks;
			t->last.allocs_total = t->tstats.live.allocs;
			/* blocks released; frees of blocks never seen allocated are counted apart */
			t->last.frees_total = t->tstats.live.frees + t->tstats.live.replaced;
		}
		(void)tslog_write(log_of(m, t), tslog_record_sample(t->pid, &t->last));
		if (t->verdict.should_alert)
			raise_rss_alert(m, t);
		sample_sites(m, t, t->last.t_s);
		if (t->trace)
			judge_rss_vs_heap(t);
	}
}

/* Daemon mode: one report per target, in its own file. */
static void write_target_report(struct monitor *m, struct target *t)
{
	json_object *report;
	int r;

	if (!t->report_path)
		return;
	if (t->sites && t->trace && t->status == TARGET_RUNNING)
		prepare_site_reports(m, t);
	report = report_build(&t, 1, time(NULL), now_ns());
	if (t->sites)
		sites_mark_report(t->sites);
	if (!report)
		return;
	r = report_write_atomic(t->report_path, report);
	if (r < 0)
		log_warning("pid %d (%s): cannot write report '%s' (%s)", (int)t->pid, t->comm,
			    t->report_path, strerror(-r));
	json_object_put(report);
}

static void write_reports(struct monitor *m)
{
	json_object *report;
	int r;

	if (m->conf) {
		for (size_t i = 0; i < m->n_targets; i++)
			write_target_report(m, m->targets[i]);
		return;
	}

	for (size_t i = 0; i < m->n_targets; i++) {
		struct target *t = m->targets[i];

		if (t->sites && t->trace && t->status == TARGET_RUNNING)
			prepare_site_reports(m, t);
	}
	report = report_build(m->targets, m->n_targets, time(NULL), now_ns());
	for (size_t i = 0; i < m->n_targets; i++)
		if (m->targets[i]->sites)
			sites_mark_report(m->targets[i]->sites);

	if (!report) {
		log_error("out of memory building the report");
		return;
	}
	if (m->opts->report_path) {
		r = report_write_atomic(m->opts->report_path, report);
		if (r < 0)
			log_error("cannot write report '%s' (%s)", m->opts->report_path,
				  strerror(-r));
	}
	if (m->is_text) {
		report_print_text(stdout, report);
		fflush(stdout);
	}
	json_object_put(report);
}

static int on_tick(int fd, uint32_t events, void *userdata)
{
	struct monitor *m = userdata;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return -errno;
	if (m->conf)
		daemon_scan(m);
	sample_all(m);
	if (m->conf) {
		daemon_gc(m);
		notify_status(m, m->is_ready ? "" : "READY=1\n");
		m->is_ready = true;
	}
	return 0;
}

static int on_end(int fd, uint32_t events, void *userdata)
{
	struct monitor *m = userdata;
	uint64_t expirations;

	(void)read(fd, &expirations, sizeof(expirations));
	m->stop_reason = "duration";
	loop_quit(m->loop, 0);
	return 0;
}

static int on_pidfd(int fd, uint32_t events, void *userdata)
{
	struct monitor *m = userdata;

	for (size_t i = 0; i < m->n_targets; i++)
		if (m->targets[i]->pidfd == fd)
			target_gone(m, m->targets[i], 0, false);
	return 0;
}

static void reap_children(struct monitor *m)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid <= 0)
			return;
		for (size_t i = 0; i < m->n_targets; i++)
			if (m->targets[i]->pid == pid)
				target_gone(m, m->targets[i], st, true);
	}
}

/* Handle pending ptrace stops, a batch at a time: when the batch is full, more are pending and
 * the kick eventfd brings us back here after the loop's other ready events (a SIGTERM, a timer). */
static void dispatch_stops(struct monitor *m)
{
	int r = tracer_dispatch(m->tracer, DISPATCH_BATCH);

	if (r < 0)
		log_warning("waiting for traced threads failed (%s)", strerror(-r));
	if (r == DISPATCH_BATCH && !m->is_kicked) {
		uint64_t one = 1;

		m->is_kicked = write(m->kick_fd, &one, sizeof(one)) == (ssize_t)sizeof(one);
	}
}

static int on_kick(int fd, uint32_t events, void *userdata)
{
	struct monitor *m = userdata;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	m->is_kicked = false;
	if (m->tracer)
		dispatch_stops(m);
	return 0;
}

static void reopen_logs(struct monitor *m)
{
	int r = tslog_reopen(&m->log);

	if (r < 0)
		log_warning("cannot reopen log '%s' (%s), keeping the old one", m->log.path,
			    strerror(-r));
	for (size_t i = 0; i < m->n_targets; i++)
		(void)tslog_reopen(&m->targets[i]->own_log);
}

static int on_signal(int fd, uint32_t events, void *userdata)
{
	struct monitor *m = userdata;
	struct signalfd_siginfo si;
	bool is_child = false;

	/* Bounded: stops of a busy traced process raise SIGCHLD again while we handle them. They
	 * are handled once, after the signals read now, so the loop's other events get a turn. */
	for (int n = 0; n < 64 && read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si); n++) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			is_child = true;
			break;
		case SIGHUP:
			reopen_logs(m);
			if (m->conf)
				daemon_reload(m);
			break;
		case SIGUSR2:
			reopen_logs(m); /* for logrotate: reopen without reloading */
			break;
		case SIGUSR1:
			write_reports(m);
			break;
		default:
			if (signals_is_terminating((int)si.ssi_signo)) {
				signals_name((int)si.ssi_signo, m->stop_signal,
					     sizeof(m->stop_signal));
				m->stop_reason = m->stop_signal;
				loop_quit(m->loop, 0);
			}
			break;
		}
	}
	if (is_child && m->tracer)
		dispatch_stops(m);
	else if (is_child)
		reap_children(m);
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

/* Start PROGRAM as a child held before exec until released, so it can be validated (and, in trace
 * mode, attached) first. Returns the child's pid and the two pipe ends, or -errno. */
static pid_t spawn_held(char **argv, int *ret_go_fd, int *ret_err_fd)
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
		execvp(argv[0], argv);
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

/* Kill and reap a child we started, by its pid, bounded in time. */
static int stop_child(struct target *t, int *ret_wstatus)
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

static int add_target(struct monitor *m, struct target *t)
{
	struct target **nt = realloc(m->targets, (m->n_targets + 1) * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	m->targets = nt;
	m->targets[m->n_targets++] = t;
	return 0;
}

static int start_program(struct monitor *m)
{
	char err[512];
	struct target *t;
	int go_fd = -1, err_fd = -1, e, r;
	pid_t pid;
	ssize_t n;

	pid = spawn_held(m->opts->program, &go_fd, &err_fd);
	if (pid < 0) {
		fprintf(stderr, "leakmond: cannot start '%s' (%s)\n", m->opts->program[0],
			strerror(-pid));
		return EXIT_RUNTIME;
	}
	r = target_open(pid, true, m->opts->mode, &t, err, sizeof(err));
	if (r == 0)
		settings_from_options(m->opts, &t->set);
	if (r < 0 || add_target(m, t) < 0) {
		int st;

		fprintf(stderr, "leakmond: %s\n", r < 0 ? err : "out of memory");
		(void)close(go_fd);
		(void)close(err_fd);
		(void)waitpid(pid, &st, 0); /* it exits as soon as it reads EOF */
		if (r >= 0)
			target_free(t);
		return r < 0 ? EXIT_TARGET : EXIT_RUNTIME;
	}
	if (m->tracer) {
		r = tracer_seize_child(m->tracer, pid, &t->trace, err, sizeof(err));
		if (r < 0) {
			int st;

			fprintf(stderr, "leakmond: %s\n", err);
			(void)close(go_fd);
			(void)close(err_fd);
			(void)waitpid(pid, &st, 0);
			m->n_targets--;
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

		fprintf(stderr, "leakmond: cannot run '%s' (%s)\n", m->opts->program[0],
			strerror(e));
		if (t->trace)
			(void)tracer_detach(m->tracer, t->trace);
		(void)waitpid(pid, &st, 0);
		m->n_targets--;
		target_free(t);
		return EXIT_TARGET;
	}
	/* exec succeeded: the target now shows the program's name and executable */
	n = readlinkat(t->proc_fd, "exe", t->exe, sizeof(t->exe) - 1);
	t->exe[n > 0 ? n : 0] = '\0';
	snprintf(t->comm, sizeof(t->comm), "%.15s",
		 strrchr(m->opts->program[0], '/') ? strrchr(m->opts->program[0], '/') + 1
						   : m->opts->program[0]);
	return 0;
}

static void settings_from_options(const struct options *o, struct watch_settings *s)
{
	conf_settings_init(s);
	s->mode = o->mode;
	s->interval_ns = o->interval_ns;
	s->min_age_ns = o->min_age_ns;
	s->depth = o->depth;
	s->syslog = o->syslog;
	s->alert_rss_growth = o->alert_rss_growth;
	s->alert_leak_size = o->alert_leak_size;
}

/* --- daemon mode ------------------------------------------------------------------------- */

static bool is_refused(const struct monitor *m, pid_t pid)
{
	for (size_t i = 0; i < m->n_refused; i++)
		if (m->refused[i] == pid)
			return true;
	return false;
}

static void refuse(struct monitor *m, pid_t pid)
{
	pid_t *r = realloc(m->refused, (m->n_refused + 1) * sizeof(*r));

	if (!r)
		return;
	m->refused = r;
	m->refused[m->n_refused++] = pid;
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

static int add_target(struct monitor *m, struct target *t);
static void drop_target(struct monitor *m, size_t i);

/* Start watching process pid, selected by watch w. Failures are logged once per pid. */
static void daemon_add(struct monitor *m, pid_t pid, const struct watch_config *w)
{
	char err[512], stem[96], path[4200];
	struct target *t;
	int r;

	r = target_open(pid, false, w->s.mode, &t, err, sizeof(err));
	if (r < 0) {
		log_warning("watch '%s': %s", w->name, err);
		refuse(m, pid);
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
	if (add_target(m, t) < 0) {
		target_free(t);
		return;
	}
	if (m->tracer && t->mode == MODE_TRACE) {
		r = tracer_attach(m->tracer, pid, &t->trace, err, sizeof(err));
		if (r < 0) {
			log_warning("watch '%s': %s", w->name, err);
			refuse(m, pid);
			drop_target(m, m->n_targets - 1);
			return;
		}
		snapshot_trace(t);
	}
	if (!t->trace && t->pidfd >= 0)
		(void)loop_add(m->loop, t->pidfd, on_pidfd, m);
	write_event(m, t, "attach");
	log_info("pid %d (%s): watching for '%s', mode %s", (int)pid, t->comm, w->name,
		 options_mode_name(t->mode));
}

static bool is_watched(const struct monitor *m, pid_t pid)
{
	for (size_t i = 0; i < m->n_targets; i++)
		if (m->targets[i]->pid == pid && m->targets[i]->status == TARGET_RUNNING)
			return true;
	return false;
}

/* Pick up every process a watch selects and that is not watched yet. */
static void daemon_scan(struct monitor *m)
{
	DIR *dir = opendir("/proc");
	struct dirent *d;
	size_t k = 0;

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		const struct watch_config *w;
		pid_t pid = (pid_t)atoi(d->d_name);

		if (pid <= 0 || pid == getpid() || is_watched(m, pid) || is_refused(m, pid))
			continue;
		w = match_find(m->conf, pid);
		if (w)
			daemon_add(m, pid, w);
	}
	closedir(dir);
	/* forget refusals of processes that are gone (their pid may come back as another) */
	for (size_t i = 0; i < m->n_refused; i++)
		if (kill(m->refused[i], 0) == 0 || errno != ESRCH)
			m->refused[k++] = m->refused[i];
	m->n_refused = k;
}

static void drop_target(struct monitor *m, size_t i)
{
	struct target *t = m->targets[i];

	if (t->pidfd >= 0)
		(void)loop_remove(m->loop, t->pidfd);
	if (t->trace)
		(void)tracer_detach(m->tracer, t->trace);
	target_free(t);
	m->targets[i] = m->targets[--m->n_targets];
}

/* Daemon mode: exited targets have had their last report; let them go. */
static void daemon_gc(struct monitor *m)
{
	if (!m->is_gc_pending)
		return;
	m->is_gc_pending = false;
	for (size_t i = m->n_targets; i > 0; i--)
		if (m->targets[i - 1]->status != TARGET_RUNNING)
			drop_target(m, i - 1);
}

static uint64_t daemon_tick_ns(const struct conf *c)
{
	uint64_t tick = c->global.interval_ns;

	for (size_t i = 0; i < c->n_watches; i++)
		if (c->watches[i].s.interval_ns < tick)
			tick = c->watches[i].s.interval_ns;
	return tick;
}

static void notify_status(struct monitor *m, const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	size_t leaks = 0, running = running_count(m);

	for (size_t i = 0; i < m->n_targets; i++)
		for (size_t k = 0; k < m->targets[i]->n_reports; k++)
			leaks += m->targets[i]->reports[k].view.verdict == SITE_LEAK;
	(void)sd_notifyf(0, "%sSTATUS=watching %zu process%s, %zu leak%s suspected", state,
			 running, running == 1 ? "" : "es", leaks, leaks == 1 ? "" : "s");
#else
	(void)m;
	(void)state;
#endif
}

/* SIGHUP in daemon mode: read the configuration again; a bad one is logged and the old kept.
 * Targets whose watch is gone are released; the others take their watch's new settings. */
static void daemon_reload(struct monitor *m)
{
	struct conf *c = NULL;
	char err[1024];
	int r = conf_load(m->conf->path, &c, err, sizeof(err));

	if (r < 0) {
		log_error("%s; keeping the configuration in use", err);
		return;
	}
	for (size_t i = m->n_targets; i > 0; i--) {
		struct target *t = m->targets[i - 1];
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
			m->stop_reason = "configuration";
			if (t->trace)
				detach_trace(m, t);
			if (t->status == TARGET_RUNNING) {
				t->status = TARGET_DETACHED;
				t->end_ns = now_ns();
				write_event(m, t, "detach");
			}
			write_target_report(m, t);
		}
		drop_target(m, i - 1);
	}
	conf_free(m->conf);
	m->conf = c;
	m->n_refused = 0;
	m->tick_ns = daemon_tick_ns(c);
	{
		struct itimerspec its = { { (time_t)(m->tick_ns / NSEC_PER_SEC),
					    (long)(m->tick_ns % NSEC_PER_SEC) },
					  { 0, 1 } };

		(void)timerfd_settime(m->tick_fd, 0, &its, NULL);
	}
	log_info("configuration '%s' reloaded: %zu watch%s", c->path, c->n_watches,
		 c->n_watches == 1 ? "" : "es");
}

static int setup(struct monitor *m)
{
	const struct options *o = m->opts;
	sigset_t mask;
	int r;

	bool needs_tracer = o->mode == MODE_TRACE;
	struct watch_settings cli;

	m->loop = loop_new();
	if (!m->loop)
		return EXIT_RUNTIME;
	settings_from_options(o, &cli);
	m->tick_ns = o->interval_ns;
	if (o->config_path) {
		char err[1024];

		r = conf_load(o->config_path, &m->conf, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "leakmond: %s\n", err);
			return EXIT_USAGE;
		}
		m->tick_ns = daemon_tick_ns(m->conf);
		needs_tracer = true; /* a watch may ask for trace mode, now or after a reload */
	}
	if (needs_tracer) {
		m->tracer = tracer_new(on_trace_event, m, TRACE_MAX_BLOCKS);
		if (!m->tracer)
			return EXIT_RUNTIME;
		tracer_set_stacks(m->tracer, m->conf ? m->conf->global.depth : o->depth,
				  o->stack_copy);
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
		if (add_target(m, t) < 0) {
			target_free(t);
			return EXIT_RUNTIME;
		}
		if (m->tracer) {
			r = tracer_attach(m->tracer, t->pid, &t->trace, err, sizeof(err));
			if (r < 0) {
				fprintf(stderr, "leakmond: %s\n", err);
				return EXIT_TARGET;
			}
			snapshot_trace(t);
		}
	}
	if (o->log_path) {
		r = tslog_open(&m->log, o->log_path);
		if (r < 0) {
			fprintf(stderr, "leakmond: cannot open log '%s' (%s)\n", o->log_path,
				strerror(-r));
			return EXIT_RUNTIME;
		}
	}
	if (o->program) {
		r = start_program(m);
		if (r != 0)
			return r;
	}

	signals_handled_set(&mask);
	m->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	m->tick_fd = timer_new(1, m->tick_ns);
	m->end_fd = o->duration_ns ? timer_new(o->duration_ns, 0) : -1;
	if (m->sig_fd < 0 || m->tick_fd < 0 || (o->duration_ns && m->end_fd < 0)) {
		fprintf(stderr, "leakmond: cannot create signalfd/timerfd (%s)\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	m->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->kick_fd < 0) {
		fprintf(stderr, "leakmond: cannot create an eventfd (%s)\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (loop_add(m->loop, m->kick_fd, on_kick, m) < 0 ||
	    loop_add(m->loop, m->sig_fd, on_signal, m) < 0 ||
	    loop_add(m->loop, m->tick_fd, on_tick, m) < 0 ||
	    (m->end_fd >= 0 && loop_add(m->loop, m->end_fd, on_end, m) < 0))
		return EXIT_RUNTIME;
	for (size_t i = 0; i < m->n_targets; i++) {
		struct target *t = m->targets[i];

		/* a traced process's exit comes through the tracer, with its status */
		if (!t->trace && t->pidfd >= 0 && loop_add(m->loop, t->pidfd, on_pidfd, m) < 0)
			return EXIT_RUNTIME;
		write_event(m, t, "attach");
		log_info("pid %d (%s): watching, mode %s", (int)t->pid, t->comm,
			 options_mode_name(t->mode));
	}
	if (o->syslog)
		alert_syslog_open();
	return 0;
}

static void finish(struct monitor *m)
{
	if (m->conf)
		notify_status(m, "STOPPING=1\n");
	for (size_t i = 0; i < m->n_targets; i++) {
		struct target *t = m->targets[i];
		int st;

		if (t->status != TARGET_RUNNING)
			continue;
		if (t->trace) {
			detach_trace(m, t);
			if (t->status != TARGET_RUNNING)
				continue; /* it exited while we detached */
		}
		if (t->is_child) {
			/* a program leakmond started was started for this watch: end it with it */
			if (stop_child(t, &st) == 0)
				target_gone(m, t, st, true);
			else
				target_gone(m, t, 0, false);
			continue;
		}
		t->status = TARGET_DETACHED;
		t->end_ns = now_ns();
		write_event(m, t, "detach");
	}
	write_reports(m);
}

int monitor_run(const struct options *opts)
{
	struct monitor m = { .opts = opts, .sig_fd = -1, .tick_fd = -1, .end_fd = -1,
			     .kick_fd = -1 };
	int r;

	m.start_ns = now_ns();
	m.is_text = opts->text < 0 ? isatty(STDOUT_FILENO) : opts->text;
	r = setup(&m);
	if (r == 0) {
		r = loop_run(m.loop);
		if (r < 0) {
			log_error("event loop failed (%s)", strerror(-r));
			r = EXIT_RUNTIME;
		}
		finish(&m);
	} else {
		/* nothing was watched yet: only our own child needs ending */
		for (size_t i = 0; i < m.n_targets; i++) {
			int st;

			if (m.targets[i]->is_child)
				(void)stop_child(m.targets[i], &st);
		}
	}
	m.tracer = tracer_free(m.tracer); /* detaches anything still traced */
	if (r == 0 && m.is_unclean)
		r = EXIT_UNCLEAN;
	for (size_t i = 0; i < m.n_targets; i++)
		target_free(m.targets[i]);
	free(m.targets);
	loop_free(m.loop);
	if (m.sig_fd >= 0)
		(void)close(m.sig_fd);
	if (m.kick_fd >= 0)
		(void)close(m.kick_fd);
	if (m.tick_fd >= 0)
		(void)close(m.tick_fd);
	if (m.end_fd >= 0)
		(void)close(m.end_fd);
	tslog_close(&m.log);
	conf_free(m.conf);
	free(m.refused);
	return r;
}
