/* alert.c - alert rate limiting, formatting and syslog. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <syslog.h>

#include <string.h>

#include "output/alert.h"
#include "stack/symbols.h"
#include "base/escape.h"
#include "base/units.h"

#ifdef HAVE_LIBSYSTEMD
#define SD_JOURNAL_SUPPRESS_LOCATION /* CODE_FILE= of our build tree means nothing to readers */
#include <systemd/sd-journal.h>
#endif

bool alert_should_fire(struct alert_state *st, uint64_t now_ns, double figure)
{
	bool fire;

	if (!st->has_fired)
		fire = true;
	else if (now_ns - st->last_ns >= ALERT_MIN_REPEAT_NS)
		fire = true;
	else
		fire = figure >= 2.0 * st->last_figure;
	if (!fire) {
		st->suppressed++;
		return false;
	}
	st->has_fired = true;
	st->last_ns = now_ns;
	st->last_figure = figure;
	st->fired++;
	return true;
}

void alert_format_rss(char *buf, size_t len, pid_t pid, const char *comm, double growth_bytes_per_s,
		      uint64_t rss_bytes)
{
	char rate[48], now[32], raw[512];

	units_format_rate(growth_bytes_per_s, "h", 0, rate, sizeof(rate));
	units_format_size((double)rss_bytes, now, sizeof(now));
	snprintf(raw, sizeof(raw), "pid %d (%s): RSS rising %s (%s now)", (int)pid, comm, rate, now);
	escape_text(buf, len, raw);
}

void alert_format_frame(char *buf, size_t len, const struct sym_frame *f)
{
	const char *file, *module;

	if (!f) {
		snprintf(buf, len, "?");
		return;
	}
	file = f->file ? (strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file) : NULL;
	module = f->module ? (strrchr(f->module, '/') ? strrchr(f->module, '/') + 1 : f->module)
			   : NULL;
	if (f->function && file && f->line > 0)
		snprintf(buf, len, "%s (%s:%d)", f->function, file, f->line);
	else if (f->function)
		snprintf(buf, len, "%s (%s)", f->function, module ? module : "?");
	else
		snprintf(buf, len, "0x%llx (%s)", (unsigned long long)f->pc, module ? module : "?");
}

void alert_format_leak(char *buf, size_t len, pid_t pid, const char *comm,
		       const struct sym_frame *top, const struct sym_frame *py,
		       uint64_t live_bytes, uint64_t live_blocks, double growth_bytes_per_s)
{
	char where[480], size[32], rate[48], raw[1024];

	alert_format_frame(where, sizeof(where), top);
	if (py) {
		char from[200];
		size_t at = py == top ? 0 : strlen(where);

		alert_format_frame(from, sizeof(from), py);
		if (at < sizeof(where))
			(void)snprintf(where + at, sizeof(where) - at, "%sPython %.199s",
				       at ? " from " : "", from);
	}
	units_format_size((double)live_bytes, size, sizeof(size));
	units_format_rate(growth_bytes_per_s, "min", 1, rate, sizeof(rate));
	snprintf(raw, sizeof(raw), "pid %d (%s): leak: %s holds %s in %llu block%s, %s", (int)pid,
		 comm, where, size, (unsigned long long)live_blocks, live_blocks == 1 ? "" : "s", rate);
	escape_text(buf, len, raw);
}

static bool is_open;

void alert_syslog_open(void)
{
	if (is_open)
		return;
	openlog("leakmond", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	is_open = true;
}

void alert_send(const char *message)
{
	alert_syslog_open();
	char safe[4096];

	syslog(LOG_DAEMON | LOG_WARNING, "%s", escape_text(safe, sizeof(safe), message));
}

int alert_journal_send(const char *message, const struct alert_info *info)
{
#ifdef HAVE_LIBSYSTEMD
	const struct sym_frame *f = info->site;
	char comm[256], fn[1024], file[1024];
	int r;

	escape_text(comm, sizeof(comm), info->comm);

	if (f && f->function)
		r = sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", LOG_WARNING,
				    "SYSLOG_IDENTIFIER=leakmond", "LEAKMOND_PID=%d", (int)info->pid,
				    "LEAKMOND_COMM=%s", comm, "LEAKMOND_KIND=%s", info->kind,
				    "LEAKMOND_BYTES=%llu", (unsigned long long)info->bytes,
				    "LEAKMOND_GROWTH_BYTES_PER_S=%.1f", info->growth_bytes_per_s,
				    "LEAKMOND_FUNCTION=%s", escape_text(fn, sizeof(fn), f->function),
				    "LEAKMOND_FILE=%s", escape_text(file, sizeof(file), f->file),
				    "LEAKMOND_LINE=%d", f->line, NULL);
	else
		r = sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", LOG_WARNING,
				    "SYSLOG_IDENTIFIER=leakmond", "LEAKMOND_PID=%d", (int)info->pid,
				    "LEAKMOND_COMM=%s", comm, "LEAKMOND_KIND=%s", info->kind,
				    "LEAKMOND_BYTES=%llu", (unsigned long long)info->bytes,
				    "LEAKMOND_GROWTH_BYTES_PER_S=%.1f", info->growth_bytes_per_s, NULL);
	return r < 0 ? r : 0;
#else
	(void)message;
	(void)info;
	return -EOPNOTSUPP;
#endif
}
