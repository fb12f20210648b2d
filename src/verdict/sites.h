/* sites.h - allocation call sites over time: per stack id, live bytes and blocks sampled every
 * interval into series, and the verdict on each (leak, suspect, or nothing).
 *
 * Pure: fed from the live-block table (live.h), no I/O. A site is a `leak` when, over the watch
 * window, its live bytes AND its live block count keep rising (Mann-Kendall, p < alpha) on the
 * whole series and on the recent part of it, with blocks older than min_age among them and
 * enough samples; `suspect` when it rises but that evidence is still short. So: churn (flat),
 * a cache that filled and stopped (recent window flat), start-up allocations (flat), a buffer
 * reallocated larger (bytes rise, blocks do not) are not leaks.
 */
#ifndef LEAKMOND_SITES_H
#define LEAKMOND_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap/live.h"
#include "verdict/series.h"
#include "verdict/trend.h"

#define SITES_MAX 4096	      /* sites tracked (the largest ones); more are counted */
#define SITES_SERIES_CAP 128  /* points kept per site */
#define SITES_MIN_POINTS 8    /* fewer samples: at most `suspect` */
#define SITES_RECENT 24	      /* the recent window: the last third, 8 to 24 points */
/* Scratch slots for one sample's aggregation by stack id: one per distinct stack (load <= 1/2),
 * so this holds the stack table's 1 Mi stacks; blocks of further stacks are not aggregated. */
#define SITES_AGG_SLOTS_MAX (1U << 21)

enum site_verdict { SITE_NONE, SITE_SUSPECT, SITE_LEAK };

struct site_view {
	uint32_t stack_id;
	enum alloc_fn kind;	 /* the allocator of its latest block */
	uint64_t live_bytes, live_blocks;
	double oldest_age_s;	 /* age of its oldest live block */
	double growth_bytes_per_s; /* Sen's slope of live bytes over the whole window */
	enum site_verdict verdict;
	int64_t delta_bytes;	 /* change since the previous report (sites_mark_report) */
	size_t points;
};

struct site_tracker;

struct site_tracker *sites_new(void);
struct site_tracker *sites_free(struct site_tracker *st);

/* Take one sample: aggregate the live table by stack id (O(live blocks) time, O(distinct stacks)
 * memory) and append (t_s, bytes, blocks) to every tracked site; now_ms is the table's clock
 * (block time_ms) now. Returns 0 or -ENOMEM. */
int sites_sample(struct site_tracker *st, const struct live_table *live, double t_s,
		 uint32_t now_ms);

/* Judge every site. Fills *ret with a new array (caller frees) of the sites with live bytes,
 * leaks first (largest growth first), then suspects, then the rest by live bytes. min_age_s:
 * a block younger than this is never evidence. Returns the count or -ENOMEM. */
ssize_t sites_judge(const struct site_tracker *st, double min_age_s, double alpha,
		    struct site_view **ret);

/* Remember every site's live bytes now as "the previous report" for delta_bytes. */
void sites_mark_report(struct site_tracker *st);

/* The live bytes over time of the site of stack_id (borrowed: valid, and updated by each sample,
 * until sites_free), or NULL when it is not tracked. */
const struct series *sites_history(const struct site_tracker *st, uint32_t stack_id);

/* Sites not tracked because SITES_MAX was reached, counted once per sample; plus one per sample
 * whose live blocks had more distinct stacks than SITES_AGG_SLOTS_MAX can aggregate. */
uint64_t sites_untracked(const struct site_tracker *st);

/* Bytes of memory the tracker holds now: its site table, their series, the sample scratch. */
size_t sites_memory_bytes(const struct site_tracker *st);

#endif
