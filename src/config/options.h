/* options.h - the command line of INTERFACE.md, parsed and validated.
 *
 * options_parse() is pure: it prints nothing and never exits; the caller prints the message it
 * returns and chooses the exit status. Strings in struct options point into argv (borrowed, valid
 * as long as argv).
 */
#ifndef LEAKMOND_OPTIONS_H
#define LEAKMOND_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OPTIONS_MAX_PIDS 256
#define OPTIONS_MIN_INTERVAL_NS (10ULL * 1000000ULL)
#define OPTIONS_MAX_INTERVAL_NS (86400ULL * 1000000000ULL)

/* trace: traced from the start; rss: /proc only; auto: rss, traced for a window while RSS rises */
enum watch_mode { MODE_TRACE, MODE_RSS, MODE_AUTO };

/* How trace mode sees allocator calls (backend/backend.h names them "breakpoint", "agent"). */
enum trace_backend { TRACE_BREAKPOINT, TRACE_AGENT };
#define TRACE_BACKEND_DEFAULT TRACE_AGENT

#define OPTIONS_SAMPLE_AUTO UINT64_MAX /* --sample-bytes auto */

/* The exports a daemon writes beside each report (leakmond.conf key "export"). */
#define OPTIONS_EXPORT_FOLDED (1U << 0)
#define OPTIONS_EXPORT_PPROF (1U << 1)
#define OPTIONS_EXPORT_HTML (1U << 2)
/* --mode auto and the governors (INTERFACE.md, "Planned additions") */
#define OPTIONS_ESCALATE_AFTER_NS (600ULL * 1000000000ULL) /* RSS rising this long: trace */
#define OPTIONS_TRACE_WINDOW_NS (300ULL * 1000000000ULL)   /* then trace this long */
#define OPTIONS_MAX_TRACED 2				    /* processes traced at once (auto) */
#define OPTIONS_OVERHEAD_DEFAULT (-1.0) /* max_overhead unset: 5% in auto mode, none in trace */
#define OPTIONS_AUTO_MAX_OVERHEAD 0.05

enum options_action { OPTIONS_RUN, OPTIONS_HELP, OPTIONS_VERSION };

struct options {
	pid_t pids[OPTIONS_MAX_PIDS];
	size_t n_pids;
	char **program; /* argv after "--", NULL-terminated, or NULL */
	const char *config_path;
	enum watch_mode mode;
	uint64_t interval_ns;
	uint64_t duration_ns; /* 0: until signalled */
	uint64_t min_age_ns;  /* 0 before parse: defaults to 3 x interval */
	unsigned depth;
	uint64_t stack_copy; /* bytes of stack copied at each allocation */
	enum trace_backend backend;
	uint64_t sample_bytes; /* agent: mean bytes between stacks; OPTIONS_SAMPLE_AUTO */
	const char *log_path;	 /* "-" is stdout */
	const char *report_path; /* NULL: no JSON report */
	int text;		 /* -1 auto (stdout is a terminal), 0 off, 1 on */
	bool syslog;
	double alert_rss_growth; /* bytes per second */
	uint64_t alert_leak_size;
	int verbosity; /* 0 normal, >0 verbose, <0 quiet */
	/* exports written with each report (NULL: not written) */
	const char *folded_path;
	const char *pprof_path;
	const char *html_path;
	bool is_folded_blocks; /* --folded-weight blocks */
	uint64_t escalate_after_ns;  /* auto: RSS rising this long before tracing */
	uint64_t trace_window_ns;    /* auto: how long one trace window lasts */
	unsigned max_traced;	     /* auto: processes traced at once, at most */
	double max_overhead;	     /* fraction of the target's CPU; OPTIONS_OVERHEAD_DEFAULT; 0: none */
	uint64_t report_interval_ns; /* 0: reports only at exit and on SIGUSR1 */
	const char *metrics_path;    /* Prometheus textfile, or NULL */
	uint64_t max_memory;	     /* leakmond's tables, bytes; 0: no budget */
	bool debuginfod;	     /* debug info from DEBUGINFOD_URLS servers (image/debuginfod.h) */
};

/* Fill *opts with the defaults of INTERFACE.md. */
void options_init(struct options *opts);

/* Parse argv into *opts (initialised here). Returns OPTIONS_RUN, OPTIONS_HELP or OPTIONS_VERSION,
 * or -EINVAL with a one-line message (no trailing newline) in err. Resets getopt state itself. */
int options_parse(int argc, char **argv, struct options *opts, char *err, size_t errlen);

/* The --help text. Static storage. */
const char *options_usage(void);

const char *options_mode_name(enum watch_mode mode);
const char *options_backend_name(enum trace_backend b);
/* "breakpoint" or "agent". Returns 0 or -EINVAL. */
int options_parse_backend(const char *s, enum trace_backend *ret);
/* A size, or "auto". Returns 0 or -EINVAL. */
int options_parse_sample_bytes(const char *s, uint64_t *ret);
/* A list of exports, "folded, pprof, html" (separated by commas and/or blanks; "none" alone for
 * none), into OPTIONS_EXPORT_* bits. Returns 0 or -EINVAL. */
int options_parse_exports(const char *s, unsigned *ret);
/* "bytes" (false) or "blocks" (true): the weight of folded stacks. Returns 0 or -EINVAL. */
int options_parse_folded_weight(const char *s, bool *ret_is_blocks);
/* "trace", "rss" or "auto". Returns 0 or -EINVAL. */
int options_parse_mode(const char *s, enum watch_mode *ret);
/* The overhead budget that applies to a target of this mode: max_overhead, or its default when
 * unset (OPTIONS_OVERHEAD_DEFAULT). 0 means none. */
double options_effective_overhead(double max_overhead, enum watch_mode mode);

#endif
