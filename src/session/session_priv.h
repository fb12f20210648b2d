/* session_priv.h - the session's state, shared by its files: session.c (loop glue, target list,
 * signals, reports), child.c (the program leakmond starts), daemon.c (scan, reload, notify).
 * Not for use outside src/session/.
 */
#ifndef LEAKMOND_SESSION_PRIV_H
#define LEAKMOND_SESSION_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend/backend.h"
#include "base/loop.h"
#include "config/conf.h"
#include "config/options.h"
#include "output/tslog.h"
#include "session/pipeline.h"
#include "session/target.h"

/* How long report writing waits for the names the symbolizer helper still owes (its budget per
 * request still applies: a hung helper is killed sooner). */
#define SESSION_SYMBOLS_WAIT_MS 20000

#define TRACE_MAX_BLOCKS (16U << 20) /* live blocks per process (about 512 MiB of table) */

struct session {
	const struct options *opts;
	struct loop *loop;
	struct target **targets;
	size_t n_targets;
	struct tslog log;
	bool is_text;
	uint64_t start_ns;
	int sig_fd, tick_fd, end_fd;
	int kick_fd;	/* eventfd: more backend work is pending than one batch handled */
	bool is_kicked;
	const char *stop_reason;
	char stop_signal[32]; /* the name of the signal that ended the session */
	struct backend *backend; /* trace mode */
	struct conf *conf;	 /* daemon mode (--config) */
	pid_t *refused;		 /* daemon mode: pids that matched but could not be watched */
	size_t n_refused;
	uint64_t tick_ns;
	bool is_gc_pending; /* daemon mode: exited targets to drop */
	bool is_ready;	    /* daemon mode: READY=1 sent */
	bool is_unclean;    /* a detach was not clean: exit EXIT_UNCLEAN */
	bool is_status;	    /* a live status line on stdout, a terminal (output/statusline.h) */
	struct watch_settings cli; /* the command line's settings (not daemon mode) */
	uint64_t next_report_ns;   /* command line: the next periodic report (0: none) */
	bool has_warned_metrics;   /* the metrics file could not be written (said once) */
	int watchdog_fd;	   /* timerfd pinging systemd's watchdog (WatchdogSec), or -1 */
	char reload_note[512];	   /* why the last reload failed ("" when it did not), for STATUS */
	uint64_t next_prune_ns;	   /* daemon mode: the next pruning of old logs and reports */
	bool has_write_failed; /* the final report or an export could not be written: exit 1 */
	char **child_env; /* our environment as we were given it (a copy of the array, the strings
			   * borrowed), for the program started with "--" */
};

/* session.c */
int session_add_target(struct session *s, struct target *t);
void session_drop_target(struct session *s, size_t i);
/* Where t's records and alerts go. */
struct pipeline_out session_out(struct session *s, struct target *t);
/* Start tracing t with the session's backend (its heap is made here): attach, or for a child held
 * before its exec (is_held) take it there. On failure err holds the reason. Returns 0/-errno. */
int session_trace(struct session *s, struct target *t, bool is_held, char *err, size_t errlen);
/* Stop tracing t, restoring it; an unclean detach is recorded (EXIT_UNCLEAN). */
void session_untrace(struct session *s, struct target *t);
/* t exited: record how (status known only for our children), stop watching it. */
void session_target_gone(struct session *s, struct target *t, int wstatus, bool has_wstatus);
/* t is released while it runs on: "detach" record. */
void session_target_detached(struct session *s, struct target *t);
void session_write_attach(struct session *s, struct target *t);
void session_write_target_report(struct session *s, struct target *t);
/* Watch t's pidfd for its exit (processes not traced: a traced one's exit comes as a note). */
void session_watch_exit(struct session *s, struct target *t);
size_t session_running_count(const struct session *s);
void session_settings_from_options(const struct options *o, struct watch_settings *ret);
/* The settings of the whole session: [global] in daemon mode, the command line's otherwise. */
const struct watch_settings *session_global(const struct session *s);
/* Write every report now (SIGUSR1, exit, periodic); with_text: the text report on stdout too.
 * Returns 0, or -1 when the report or an export the user named could not be written (a warning
 * was logged for each). */
int session_write_reports(struct session *s, bool with_text);
/* Rewrite the metrics file (metrics_file, --metrics), when there is one. */
void session_write_metrics(struct session *s);

/* escalate.c */
/* After each tick's samples: the overhead and memory governors, then mode auto's windows (end
 * the ones whose time is up, open new ones for processes whose RSS has risen long enough). */
void escalate_tick(struct session *s);
/* Stop tracing t and go back to RSS sampling (a window ends, a governor stops it): its sites
 * are named first, its tables freed (the report keeps their figures), a "deescalate" record
 * written with reason, and its report rewritten. */
void escalate_stop(struct session *s, struct target *t, const char *reason);
/* t's trace has ended another way (exit, error, leakmond stopping): close its window, if one
 * is open, and write the "deescalate" record. */
void escalate_closed(struct session *s, struct target *t, const char *reason);

/* child.c */
/* Start the program of --, held before exec until it is validated (and traced). Returns 0 or an
 * exit status. */
int child_start(struct session *s);
/* SIGTERM (then SIGKILL after a bound) and reap a child we started. Returns 0 or -errno. */
int child_stop(struct target *t, int *ret_wstatus);

/* daemon.c */
uint64_t daemon_tick_ns(const struct conf *c);
void daemon_scan(struct session *s);
void daemon_gc(struct session *s);
void daemon_reload(struct session *s);
/* Create every log_dir and report_dir of c that does not exist (0755) and check that each is safe
 * for the files leakmond names there (base/safedir.h). Returns 0, or -errno with a one-line
 * message naming the key and the directory in err. */
int daemon_check_dirs(const struct conf *c, char *err, size_t errlen);
void daemon_notify(struct session *s, const char *state);
/* WATCHDOG_USEC set for us (WatchdogSec=): a timer in the loop pings at half the period.
 * Returns 0 or -errno. */
int daemon_watchdog_setup(struct session *s);
/* keep_files: delete the logs and reports of processes gone that long (daemon mode). */
void daemon_prune(struct session *s);
/* A configuration without any watch: say once that the daemon is idle. */
void daemon_say_idle(const struct session *s);

#endif
