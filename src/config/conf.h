/* conf.h - the daemon's configuration file (leakmond.conf, INI), parsed and validated.
 *
 * The file has an optional [global] section (at most once) and [watch NAME] sections (none:
 * the daemon starts idle); see leakmond.conf(5) for every key. Parsing is all or nothing: a struct conf is only
 * handed out when the whole file is valid, with every watch's settings resolved (the [global]
 * values, wherever [global] sits in the file, with the watch's own keys applied over them).
 *
 * Errors are reported as one line, no trailing newline, in the caller's buffer:
 *   "FILE:LINE: key 'KEY': REASON"   a bad key or value
 *   "FILE:LINE: REASON"              a bad line or section header
 *   "FILE: REASON"                   the file as a whole (cannot read it, too large)
 * Only the first error (the one on the lowest line) is reported. Nothing logs here.
 */
#ifndef LEAKMOND_CONF_H
#define LEAKMOND_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/options.h"

#define CONF_DEFAULT_PATH	"/etc/leakmond.conf"
#define CONF_DEFAULT_LOG_DIR	"/var/log/leakmond"
#define CONF_DEFAULT_REPORT_DIR "/var/lib/leakmond"
#define CONF_MAX_WATCHES	1024
#define CONF_MAX_FILE_SIZE	(1024 * 1024)
#define CONF_COMM_MAX		15 /* TASK_COMM_LEN - 1: the kernel truncates comm to this */
#define CONF_MAX_DROPINS	256 /* files read from FILE.d/ */
#define CONF_DEFAULT_REPORT_INTERVAL_NS (60ULL * 1000000000ULL)
#define CONF_DEFAULT_KEEP_FILES_NS	(7ULL * 86400ULL * 1000000000ULL)
#define CONF_DEFAULT_MAX_MEMORY		(256ULL << 20)

/* How a watch picks its processes. */
enum watch_selector { SELECT_PID, SELECT_COMM, SELECT_EXE, SELECT_UNIT };

/* Every [global] key; each one may be overridden in a [watch] section. */
struct watch_settings {
	enum watch_mode mode;
	uint64_t interval_ns;
	uint64_t min_age_ns; /* 3 x interval_ns unless set in the file */
	unsigned depth;
	bool syslog;
	double alert_rss_growth; /* bytes per second */
	uint64_t alert_leak_size;
	enum trace_backend backend; /* [global] only: one backend per session */
	uint64_t sample_bytes;	    /* OPTIONS_SAMPLE_AUTO */
	char log_dir[4096];
	char report_dir[4096];
	unsigned exports;      /* OPTIONS_EXPORT_* written beside each report */
	bool is_folded_blocks; /* folded stacks weigh blocks, not bytes */
	uint64_t escalate_after_ns;  /* mode auto: RSS rising this long before a trace window */
	uint64_t trace_window_ns;    /* mode auto: one trace window */
	double max_overhead;	     /* OPTIONS_OVERHEAD_DEFAULT unless set; 0: none */
	uint64_t report_interval_ns; /* reports rewritten this often; 0: at exit and SIGUSR1 only */
	/* [global] only: settings of the whole daemon */
	unsigned max_traced;	  /* processes traced at once by auto escalations */
	char metrics_file[4096];  /* Prometheus textfile; "" for none */
	uint64_t keep_files_ns;	  /* logs and reports of processes gone this long are deleted; 0: never */
	uint64_t max_memory;	  /* budget of leakmond's tables; 0: none */
	bool debuginfod;	  /* debug info from debuginfod servers (default off) */
};

struct watch_config {
	char name[128]; /* the section's name: "[watch web]" -> "web" */
	enum watch_selector selector;
	pid_t pid;	  /* SELECT_PID; 0 otherwise */
	char value[4096]; /* SELECT_COMM: comm; SELECT_EXE: absolute path; SELECT_UNIT: unit name;
			   * SELECT_PID: the pid as written */
	struct watch_settings s; /* [global] values with this section's overrides applied */
	unsigned line;		 /* line of its section header */
	unsigned file;		 /* the file it is in: an index in struct conf's files */
};

struct conf {
	char path[4096]; /* the file (or the name given to conf_parse_string()) */
	struct watch_settings global; /* [global] as written, defaults for the keys it lacks */
	struct watch_config *watches; /* in file order */
	size_t n_watches;	      /* 0: nothing to watch, the daemon stays idle */
	char **files;		      /* the files read: path, then its drop-ins in order */
	size_t n_files;
};

/* Fill *s with the defaults: options_init()'s values, log_dir CONF_DEFAULT_LOG_DIR, report_dir
 * CONF_DEFAULT_REPORT_DIR, min_age 3 x interval. */
void conf_settings_init(struct watch_settings *s);

/* Read and parse the file at path, then the drop-ins of the directory "PATH.d": every regular
 * file whose name ends in ".conf" (not starting with '.'), in the byte order of their names, at
 * most CONF_MAX_DROPINS; a missing directory is no error. Every file has the same syntax; a
 * [global] key of a later file overrides an earlier one; watch names are unique across files.
 * On success returns 0 and a new struct conf in *ret (free it
 * with conf_free()). On failure *ret is left untouched, one line is written to err (see the top
 * of this file), and the result is -EINVAL for any content error, -errno when the file cannot be
 * opened or read (-ENOENT, -EACCES, -EISDIR, ...), -EFBIG above CONF_MAX_FILE_SIZE, -ENOMEM. */
int conf_load(const char *path, struct conf **ret, char *err, size_t errlen);

/* Parse NUL-terminated text the same way; name stands for the file in messages and in
 * struct conf's path. Same results as conf_load() except the I/O errors. */
int conf_parse_string(const char *text, const char *name, struct conf **ret, char *err,
		      size_t errlen);

/* Free a struct conf; NULL is fine. Returns NULL. */
struct conf *conf_free(struct conf *c);

/* "pid", "comm", "exe" or "unit": the selector's key in the file. Static storage. */
const char *conf_selector_name(enum watch_selector s);

#endif
