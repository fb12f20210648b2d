/* log.c - diagnostics on stderr. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/log.h"

static enum log_level max_level = LOG_LEVEL_WARNING;

void log_set_level(enum log_level level)
{
	max_level = level;
}

enum log_level log_get_level(void)
{
	return max_level;
}

bool log_is_journal(void)
{
	static int is_journal = -1;
	unsigned long long dev, ino;
	const char *e;
	struct stat st;

	if (is_journal >= 0)
		return is_journal;
	e = getenv("JOURNAL_STREAM");
	is_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
		     fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
		     (unsigned long long)st.st_ino == ino;
	return is_journal;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	/* syslog priorities: err, warning, info, debug */
	static const char *const prefix[] = { "<3>", "<4>", "<6>", "<7>" };
	char buf[1024], safe[4 * sizeof(buf)];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* messages quote comms, paths and symbols a target chose: one line, no terminal controls */
	escape_text(safe, sizeof(safe), buf);
	fprintf(stderr, "%sleakmond: %s\n", log_is_journal() ? prefix[level] : "", safe);
}
