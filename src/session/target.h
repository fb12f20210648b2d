/* target.h - one watched process: how it was found, its samples, its fate.
 *
 * A target holds a directory descriptor of /proc/PID opened when it was validated, so that a
 * later reuse of the PID by another process is never mistaken for the target (reads through a
 * stale descriptor fail with ESRCH), and a pidfd that becomes readable when it exits.
 */
#ifndef LEAKMOND_TARGET_H
#define LEAKMOND_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend/backend.h"
#include "base/procfs.h"
#include "config/conf.h"
#include "config/options.h"
#include "heap/heap.h"
#include "output/alert.h"
#include "output/report.h"
#include "output/timeline.h"
#include "output/tslog.h"
#include "stack/symbols.h"
#include "verdict/detect.h"
#include "verdict/overhead.h"
#include "verdict/series.h"
#include "verdict/sites.h"

enum target_status { TARGET_RUNNING, TARGET_EXITED, TARGET_DETACHED };

#define TARGET_ESCALATIONS_KEPT 16 /* trace windows a report lists */

struct site_alert {
	uint32_t stack_id;
	struct alert_state state;
};

struct target {
	pid_t pid;
	int proc_fd; /* O_DIRECTORY of /proc/PID */
	int pidfd;   /* -1 where pidfd_open is not available */
	bool is_child;
	enum watch_mode mode;
	struct watch_settings set; /* thresholds and intervals for this target */
	char watch[128];	   /* daemon mode: the [watch NAME] that matched it */
	struct tslog own_log;	   /* daemon mode: its own log (own_log.f NULL otherwise) */
	char *report_path;	   /* daemon mode: its own report */
	uint64_t next_sample_ns;
	char comm[PROCFS_COMM_MAX];
	char exe[PATH_MAX];
	enum target_status status;
	double attach_ts;    /* wall clock */
	uint64_t attach_ns;  /* monotonic */
	uint64_t end_ns;     /* when it exited or was detached, else 0 */

	struct series rss;
	struct sample last;
	bool has_sample;
	uint64_t first_rss, peak_rss;
	struct rss_verdict verdict;
	struct alert_state rss_alert;

	/* trace mode */
	struct heap *heap;		/* what the backend feeds; kept after the process is gone */
	struct backend_proc *bproc;	/* the backend's state; NULL when not traced (rss mode,
					 * released, gone) */
	const char *backend_name;	/* the backend that traced it */
	struct backend_stats bstats;	/* last snapshot of the backend's figures */
	bool has_stats;			/* it was traced: heap and bstats mean something */
	bool has_warned_lost;		/* lost events were warned about (once) */
	struct site_tracker *sites;	/* allocation sites over time */
	struct symbolizer *sym;		/* pc -> function, file, line (cold path, cached) */
	struct site_report *reports;	/* the sites of the last report, symbolized */
	size_t n_reports;
	struct series live;		/* traced live bytes, sampled with the RSS */
	const char *rss_unexplained;	/* static text when RSS rises but traced bytes do not */
	struct site_alert *site_alerts; /* rate limits of leak alerts, per stack id */
	size_t n_site_alerts;

	int exit_status; /* -1 unknown */
	int exit_signal; /* -1 none/unknown */
	int detach_error; /* 0, or -errno of an unclean detach */

	/* exports (session/profile.c, output/exports.h) */
	const char *stopped_by;		 /* leakmond ended the program it started: why, or NULL */
	struct timeline timeline;	 /* its log records over time, for the HTML page */
	struct report_profile *profile;	 /* every live site at the last report, or NULL */
	size_t warm_next;		 /* the next stack id profile_warm() symbolizes */
	/* mode auto: trace windows while RSS rises (session/escalate.c) */
	bool is_escalated;	     /* a window is open: traced by escalation */
	bool was_traced;	     /* traced when tracing last stopped (for the detach record) */
	uint64_t rising_since_ns;    /* RSS trend rising since then; 0: not rising */
	uint64_t escalate_wait_ns;   /* how long the rise must last now (0: the watch's setting) */
	uint64_t window_start_ns;
	uint64_t window_end_ns;
	bool has_warned_wait;	     /* "max_traced reached" said for this rise */
	struct report_escalation escalations[TARGET_ESCALATIONS_KEPT]; /* oldest first */
	size_t n_escalations;
	uint64_t escalations_total;
	/* the overhead governor */
	struct overhead_point gov_base; /* start of the span being judged */
	bool has_gov_base;
	double overhead;		/* last estimate, < 0 unknown */
	uint64_t sample_bytes_now;	/* sampling made coarser by a governor; 0: as configured */
	unsigned coarser_steps;
	/* what is left of a trace whose tables were freed (deescalation, memory budget) */
	struct heap_stats heap_snap;
	bool has_heap_snap;
	/* counters for the metrics */
	uint64_t alerts_rss, alerts_leak;
	uint64_t lost_before; /* lost events of earlier traces */
	uint64_t next_report_ns; /* daemon mode: its next periodic report (0: not yet planned) */
};

/* Validate that pid can be watched and open it. On failure returns -errno and a one-line reason
 * naming the pid in err: -ESRCH no such process (or a zombie), -EACCES permission denied,
 * -EPERM a kernel thread or leakmond itself, -EINVAL a thread id that is not a process.
 * On success *ret is a new target (status RUNNING). */
int target_open(pid_t pid, bool is_child, enum watch_mode mode, struct target **ret, char *err,
		size_t errlen);

/* Free a target (closes its descriptors). Returns NULL. */
struct target *target_free(struct target *t);

/* Read one sample of t from /proc into *ret (rss, threads, heap mapping; ts and t_s from now and
 * start_ns) and refresh t->comm. Returns 0, -ESRCH when the process is gone (or a zombie), other
 * -errno on read/parse failure. */
int target_read_sample(struct target *t, uint64_t now, uint64_t start_ns, struct sample *ret);

/* The CPU time t has used (utime + stime), in nanoseconds. Returns 0, -ESRCH, other -errno. */
int target_read_cpu(struct target *t, uint64_t *ret_ns);

/* A target that is no process (for tests): pid and comm given, no /proc descriptors, status
 * RUNNING, mode trace. Returns NULL on out-of-memory. */
struct target *target_new_detached(pid_t pid, const char *comm);

#endif
