/* log.h - diagnostics on stderr, filtered by verbosity.
 *
 * Messages are one line each, lowercase, prefixed "leakmond: ". Control characters and invalid
 * UTF-8 in a message (a comm or path a target chose) are written as \xNN (escape_text()), so a
 * message is always one line. Nothing here touches syslog: alerts go through alert.h.
 */
#ifndef LEAKMOND_LOG_H
#define LEAKMOND_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Set the most verbose level printed (default: warning). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether stderr is the systemd journal: JOURNAL_STREAM (device:inode) names the stream stderr
 * is. Then every line starts with its syslog priority ("<4>"), which journald reads. Checked
 * once, at the first call. */
bool log_is_journal(void);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
