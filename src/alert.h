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

/* Open the syslog connection (facility daemon, ident leakmond) once; harmless to call again. */
void alert_syslog_open(void);

/* Send one alert line to syslog at priority warning. */
void alert_send(const char *message);

#endif
