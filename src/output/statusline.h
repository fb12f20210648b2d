/* statusline.h - a live status line on a terminal: redrawn in place each interval ("\r", erase
 * the line), so a long run shows what it sees without scrolling. The session shows it only when
 * stdout is a terminal; anything else written to that terminal clears it first.
 */
#ifndef LEAKMOND_STATUSLINE_H
#define LEAKMOND_STATUSLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct statusline_target {
	pid_t pid;
	const char *comm;
	bool is_running;
	uint64_t rss_bytes;
	bool has_heap;	    /* traced: live_bytes and the sites are known */
	uint64_t live_bytes;
	size_t leaks;	    /* sites judged leaking */
	size_t suspects;    /* sites suspected (not yet leaks) */
};

/* "elapsed 12.4s | pid 812 (web): RSS 3.7 MiB, heap 47.2 KiB, 1 leak, 0 suspected | ..." cut
 * to width columns (at least 20). "suspected": sites rising, not yet judged leaks. Pure. */
void statusline_format(char *buf, size_t len, double elapsed_s, const struct statusline_target *t,
		       size_t n, unsigned width);

/* Draw text as the status line on f (a terminal): back to the line's start, erase it, write. */
void statusline_show(FILE *f, const char *text);

/* Erase the status line on f if one is shown, so that what follows starts on a clean line. */
void statusline_clear(FILE *f);

#endif
