/* log.c - diagnostics on stderr. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

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

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "leakmond: %s\n", buf);
}
