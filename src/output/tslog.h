/* tslog.h - the time-series log: one JSON object per line (JSON Lines), format in INTERFACE.md
 * and doc/formats.md.
 *
 * The tslog_record_*() builders are pure and return a new json_object (NULL on out-of-memory) that
 * the caller owns. tslog_write() appends one record as one line and flushes it.
 */
#ifndef LEAKMOND_TSLOG_H
#define LEAKMOND_TSLOG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct sample {
	double ts;	  /* Unix time, seconds */
	double t_s;	  /* monotonic seconds since leakmond started */
	uint64_t rss_bytes;
	uint64_t rss_anon_bytes;
	uint64_t rss_file_bytes;
	uint64_t swap_bytes;
	uint64_t heap_bytes;
	unsigned threads;
	bool has_trace; /* trace mode: the fields below are filled */
	uint64_t live_bytes, live_blocks, allocs_total, frees_total;
};

/* Common head of every record: {"type": type, "ts": ts, "pid": pid}. */
json_object *tslog_record_new(const char *type, double ts, pid_t pid);
json_object *tslog_record_sample(pid_t pid, const struct sample *s);
/* An exit record: status when exited normally (signal < 0), signal otherwise; both unknown (-1)
 * when the process was not our child: then neither field is written and "status_known" is false. */
json_object *tslog_record_exit(double ts, pid_t pid, int status, int signal);

/* "attach": comm, exe (null when unknown), mode, and watch (daemon mode, NULL: absent). */
json_object *tslog_record_attach(double ts, pid_t pid, const char *comm, const char *exe,
				 const char *mode, const char *watch);
/* "detach": reason (NULL: absent); for a traced target (is_traced) "clean", and "error" with
 * the reason when it was not (detach_error < 0). */
json_object *tslog_record_detach(double ts, pid_t pid, const char *reason, bool is_traced,
				 int detach_error);
/* "fork": the child's pid. */
json_object *tslog_record_fork(double ts, pid_t pid, pid_t child);
/* "lost": allocator calls that could not be recorded since the previous such record. */
json_object *tslog_record_lost(double ts, pid_t pid, uint64_t events);
/* "exec". */
json_object *tslog_record_exec(double ts, pid_t pid);
/* "alert" of kind "rss_growth": the message, the growth rate and RSS now. */
json_object *tslog_record_alert_rss(double ts, pid_t pid, const char *message,
				    double growth_bytes_per_s, uint64_t rss_bytes);
struct sym_frame;
/* "alert" of kind "leak": the message, the site's figures and its top frames. */
json_object *tslog_record_alert_leak(double ts, pid_t pid, const char *message,
				     double growth_bytes_per_s, uint64_t live_bytes,
				     uint64_t live_blocks, const struct sym_frame *frames,
				     size_t n_frames);

/* "escalate": mode auto starts a trace window: why (reason, "rss_rising"), the RSS growth rate,
 * how long RSS had been rising and how long the window will last, in seconds. */
json_object *tslog_record_escalate(double ts, pid_t pid, const char *reason,
				   double growth_bytes_per_s, double rising_s, double window_s);
/* "deescalate": tracing stops and RSS sampling goes on: why (reason: "window", "overhead",
 * "memory", "exit", "error", "configuration", "stopped"), the leaks the window found, how long it
 * traced, and (next_wait_s >= 0) how long RSS must rise again before the next window. */
json_object *tslog_record_deescalate(double ts, pid_t pid, const char *reason, size_t leaks,
				     double traced_s, double next_wait_s);

struct tslog {
	FILE *f;
	char *path; /* NULL for stdout */
	mode_t mode;	/* of a new file (base/atomicfile.h) */
	unsigned flags; /* ATOMIC_USER_PATH or 0 */
};

/* Open path for appending as atomic_open_append() does with mode and flags (base/atomicfile.h):
 * ATOMIC_USER_PATH for a path the user gave ("-" is stdout), 0 for a name leakmond chose (never
 * through a symlink, a regular file only). Returns 0 or -errno. */
int tslog_open(struct tslog *log, const char *path, mode_t mode, unsigned flags);
/* Reopen the file (after logrotate moved it). Returns 0 or -errno; the old stream is kept on failure. */
int tslog_reopen(struct tslog *log);
void tslog_close(struct tslog *log);
/* Write one record as a line, flushed. Takes ownership of rec (put). Does nothing when the log is
 * not open. Returns 0 or -errno. */
int tslog_write(struct tslog *log, json_object *rec);

#endif
