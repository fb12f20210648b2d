/* timeline.h - one target's memory over time, for the pictures of the exports (output/html.h):
 * its samples (RSS, and the traced live bytes) and its alerts, as log records say them.
 *
 * Fed with JSON Lines records (output/tslog.h): by the session with each record it writes, and by
 * leakmond-report with the records it reads back from a log. The same records in the same order
 * give the same timeline, so both render the same page. Bounded: TIMELINE_CAP samples (when full,
 * every other one is dropped, the oldest kept, as verdict/series.c does) and TIMELINE_ALERTS_MAX
 * alerts (later ones are counted). Pure: no I/O but timeline_read_log()'s reading of a stream the
 * caller opened.
 */
#ifndef LEAKMOND_TIMELINE_H
#define LEAKMOND_TIMELINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define TIMELINE_CAP 512
#define TIMELINE_ALERTS_MAX 256
#define TIMELINE_KIND_MAX 16

struct timeline_point {
	double ts; /* Unix time, seconds */
	uint64_t rss_bytes;
	bool has_live; /* traced: live_bytes is filled */
	uint64_t live_bytes;
};

struct timeline_alert {
	double ts;
	char kind[TIMELINE_KIND_MAX]; /* "rss_growth" or "leak" */
	char *message;		       /* owned */
};

struct timeline {
	struct timeline_point *points; /* allocated at the first sample */
	size_t n;
	size_t decimations; /* how many times the samples were thinned */
	struct timeline_alert *alerts;
	size_t n_alerts;
	uint64_t alerts_dropped; /* beyond TIMELINE_ALERTS_MAX */
};

/* An empty timeline (nothing allocated yet). */
void timeline_init(struct timeline *tl);
/* Free what tl holds; it is empty (and usable) again. */
void timeline_done(struct timeline *tl);

/* Take one log record: a "sample" adds a point, an "alert" an alert, an "attach" starts the
 * timeline over (a new watch of that pid); anything else is ignored. A sample not later than the
 * last one is ignored. Returns 1 when kept, 0 when ignored, -ENOMEM. */
int timeline_add_record(struct timeline *tl, json_object *rec);

/* The timeline as the report carries it: {"samples": [[ts, rss_bytes, live_bytes|null], ...],
 * "alerts": [{"ts", "kind", "message"}], "decimations": N, "alerts_dropped": N}. Returns a new
 * object or NULL on out-of-memory. */
json_object *timeline_to_json(const struct timeline *tl);

/* Read a JSON Lines log from f and fill ret[i] with the records of pids[i] (after its last
 * "attach"), for i < n. Lines that are not JSON objects are skipped and counted in
 * *ret_bad_lines (may be NULL). Returns the number of records kept, or -ENOMEM / -EIO. */
ssize_t timeline_read_log(FILE *f, const pid_t *pids, size_t n, struct timeline *ret,
			  size_t *ret_bad_lines);

#endif
