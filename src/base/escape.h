/* escape.h - make target-derived strings (comm, paths, symbol names) safe for text output and
 * file names. A watched process chooses its comm (prctl(PR_SET_NAME)), its file names and its
 * symbols: raw, they could move a terminal's cursor, forge a syslog or journal line, or hide a log
 * file. Pure: no I/O, no allocation except escape_text_dup().
 */
#ifndef LEAKMOND_ESCAPE_H
#define LEAKMOND_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s is printable text as it is: valid UTF-8 with no C0 control (0x00-0x1f), no DEL
 * and no C1 control (U+0080..U+009F). */
bool escape_is_clean(const char *s);

/* Copy s into buf (len bytes, NUL-terminated when len > 0) with every byte that is not printable
 * text written as "\xNN" (lowercase hex): C0 controls including tab and newline, DEL, the bytes of
 * a C1 control and any byte not part of valid UTF-8. Printable UTF-8 and backslashes are kept.
 * Truncates at a whole character or escape. s NULL gives "". Returns buf. */
char *escape_text(char *buf, size_t len, const char *s);

/* escape_text() into a new string, or NULL if out of memory. s NULL gives "". */
char *escape_text_dup(const char *s);

/* A file name stem from s (e.g. a comm) in buf (len bytes, NUL-terminated when len > 0): every
 * byte other than [A-Za-z0-9._-] becomes '_' (so no '/', no control, no space), a leading '.' or
 * '-' becomes '_' (never hidden, never an option), and an empty s gives "_". Returns buf. */
char *escape_file_stem(char *buf, size_t len, const char *s);

#endif
