/* alert.h - alerts: when to raise one, its text, and sending it to syslog.
 *
 * alert_should_fire() and the alert_format_*() functions are pure. alert_send() is the only
 * function that talks to syslog (facility daemon, priority warning, ident "leakmond").
 */
#ifndef LEAKMOND_ALERT_H
#define LEAKMOND_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ALERT_MIN_REPEAT_NS (600ULL * 1000000000ULL)

/* Rate-limit state of one alert source (a target's RSS, or one call site). Zero-initialise. */
struct alert_state {
	bool has_fired;
	uint64_t last_ns;
	double last_figure;
	unsigned fired, suppressed;
};

/* Decide whether an alert with this figure (a positive size or rate) fires now: the first time,
 * then no more than once per ALERT_MIN_REPEAT_NS unless the figure has doubled since the last
 * alert. Updates *st when it fires (and counts suppressions). */
bool alert_should_fire(struct alert_state *st, uint64_t now_ns, double figure);

/* "pid 1234 (myservice): RSS rising 85.0 MiB/h (412.0 MiB now)" */
void alert_format_rss(char *buf, size_t len, pid_t pid, const char *comm, double growth_bytes_per_s,
		      uint64_t rss_bytes);

struct sym_frame;

/* "pid 1234 (myservice): leak: cache_put (cache.c:42) holds 12.5 MiB in 12800 blocks,
 * +1.2 MiB/min"; the site is named by its first frame (function, file basename, line), with
 * "?" for what is unknown. py (NULL: none) is the site's first Python frame:
 * "leak: PyDict_SetItem (dictobject.c:1811) from Python put (cache.py:12) holds ...", or
 * "leak: Python put (cache.py:12) holds ..." when it is the first frame. */
void alert_format_leak(char *buf, size_t len, pid_t pid, const char *comm,
		       const struct sym_frame *top, const struct sym_frame *py,
		       uint64_t live_bytes, uint64_t live_blocks, double growth_bytes_per_s);

/* "cache_put (cache.c:42)", "cache_put", "0x401234 (libfoo.so)": a frame for people. */
void alert_format_frame(char *buf, size_t len, const struct sym_frame *f);

/* Open the syslog connection (facility daemon, ident leakmond) once; harmless to call again. */
void alert_syslog_open(void);

/* Send one alert line to syslog at priority warning. */
void alert_send(const char *message);

/* What an alert is about, as structured fields of its journal entry. */
struct alert_info {
	pid_t pid;
	const char *comm;
	const char *kind;		/* "rss_growth" or "leak" */
	const struct sym_frame *site;	/* leak: the site's first frame, or NULL */
	uint64_t bytes;			/* leak: live bytes of the site; rss_growth: RSS now */
	double growth_bytes_per_s;
};

/* Send one alert to the systemd journal at priority warning, with the fields LEAKMOND_PID,
 * LEAKMOND_COMM, LEAKMOND_KIND, LEAKMOND_BYTES, LEAKMOND_GROWTH_BYTES_PER_S and for a leak
 * LEAKMOND_FUNCTION, LEAKMOND_FILE, LEAKMOND_LINE (what is known). Returns 0, -EOPNOTSUPP
 * without libsystemd, or -errno when the journal cannot be reached. */
int alert_journal_send(const char *message, const struct alert_info *info);

#endif
