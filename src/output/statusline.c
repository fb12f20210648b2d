/* statusline.c - a live status line on a terminal. See statusline.h. */
#include "config.h"

#include <string.h>

#include "base/escape.h"
#include "base/units.h"
#include "output/statusline.h"

static FILE *shown_on; /* the stream a status line is drawn on now, or NULL */

void statusline_format(char *buf, size_t len, double elapsed_s, const struct statusline_target *t,
		       size_t n, unsigned width)
{
	size_t used;

	if (len == 0)
		return;
	if (width < 20)
		width = 20;
	snprintf(buf, len, "elapsed %.1fs", elapsed_s);
	for (size_t i = 0; i < n; i++) {
		char rss[32], live[32], part[256], comm[64];

		used = strlen(buf);
		escape_text(comm, sizeof(comm), t[i].comm);
		units_format_size((double)t[i].rss_bytes, rss, sizeof(rss));
		if (!t[i].is_running)
			snprintf(part, sizeof(part), " | pid %d (%s): gone", (int)t[i].pid, comm);
		else if (t[i].has_heap) {
			units_format_size((double)t[i].live_bytes, live, sizeof(live));
			snprintf(part, sizeof(part), " | pid %d (%s): RSS %s, heap %s, %zu leak%s, %zu suspected",
				 (int)t[i].pid, comm, rss, live, t[i].leaks,
				 t[i].leaks == 1 ? "" : "s", t[i].suspects);
		} else
			snprintf(part, sizeof(part), " | pid %d (%s): RSS %s", (int)t[i].pid,
				 comm, rss);
		snprintf(buf + used, len - used, "%s", part);
	}
	if (strlen(buf) > width - 1)
		buf[width - 1] = '\0';
}

void statusline_show(FILE *f, const char *text)
{
	fprintf(f, "\r\033[K%s", text);
	fflush(f);
	shown_on = f;
}

void statusline_clear(FILE *f)
{
	if (shown_on != f)
		return;
	fputs("\r\033[K", f);
	fflush(f);
	shown_on = NULL;
}
