/* sites.c - allocation call sites over time and their verdicts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "verdict/series.h"
#include "verdict/sites.h"

struct site {
	uint32_t stack_id;
	bool is_used;
	enum alloc_fn kind;
	uint64_t bytes, blocks; /* latest sample */
	uint32_t oldest_ms;
	uint64_t reported_bytes;
	struct series bytes_series, blocks_series;
};

struct site_tracker {
	struct site *sites; /* open addressing by stack id */
	size_t n_slots, n;
	uint64_t untracked;
	uint32_t now_ms;
	/* scratch for one sample: one slot per distinct stack id (not per block), kept at a load
	 * of at most 1/2 by doubling while the live table is walked */
	struct agg {
		uint64_t bytes, blocks;
		uint32_t stack_id;
		uint32_t oldest_ms;
		uint8_t kind;
		bool is_used;
	} *agg;
	size_t agg_slots, agg_used;
	bool is_agg_full; /* SITES_AGG_SLOTS_MAX reached during this sample */
};

#define SLOTS (SITES_MAX * 2)
#define AGG_SLOTS_MIN 64

struct site_tracker *sites_new(void)
{
	struct site_tracker *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->n_slots = SLOTS;
	st->sites = calloc(st->n_slots, sizeof(*st->sites));
	if (!st->sites)
		return sites_free(st);
	return st;
}

struct site_tracker *sites_free(struct site_tracker *st)
{
	if (!st)
		return NULL;
	for (size_t i = 0; st->sites && i < st->n_slots; i++) {
		if (st->sites[i].is_used) {
			series_done(&st->sites[i].bytes_series);
			series_done(&st->sites[i].blocks_series);
		}
	}
	free(st->sites);
	free(st->agg);
	free(st);
	return NULL;
}

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	return x ^ (x >> 16);
}

static struct site *find_site(struct site_tracker *st, uint32_t id, bool is_create)
{
	size_t mask = st->n_slots - 1, i = mix(id) & mask;

	for (; st->sites[i].is_used; i = (i + 1) & mask)
		if (st->sites[i].stack_id == id)
			return &st->sites[i];
	if (!is_create || st->n >= SITES_MAX)
		return NULL;
	if (series_init(&st->sites[i].bytes_series, SITES_SERIES_CAP) < 0)
		return NULL;
	if (series_init(&st->sites[i].blocks_series, SITES_SERIES_CAP) < 0) {
		series_done(&st->sites[i].bytes_series);
		return NULL;
	}
	st->sites[i].is_used = true;
	st->sites[i].stack_id = id;
	st->n++;
	return &st->sites[i];
}

static struct agg *agg_slot(struct agg *agg, size_t n_slots, uint32_t id)
{
	size_t mask = n_slots - 1, i = mix(id) & mask;

	while (agg[i].is_used && agg[i].stack_id != id)
		i = (i + 1) & mask;
	return &agg[i];
}

/* Double the scratch table. Returns 0 or -ENOMEM. */
static int agg_grow(struct site_tracker *st)
{
	size_t n = st->agg_slots * 2;
	struct agg *agg = calloc(n, sizeof(*agg));

	if (!agg)
		return -ENOMEM;
	for (size_t i = 0; i < st->agg_slots; i++)
		if (st->agg[i].is_used)
			*agg_slot(agg, n, st->agg[i].stack_id) = st->agg[i];
	free(st->agg);
	st->agg = agg;
	st->agg_slots = n;
	return 0;
}

static int agg_block(const struct live_block *b, void *userdata)
{
	struct site_tracker *st = userdata;
	struct agg *a = agg_slot(st->agg, st->agg_slots, b->stack_id);

	if (!a->is_used) {
		/* a new stack: keep the load at most 1/2 (and one slot free at the cap) */
		if ((st->agg_used + 1) * 2 > st->agg_slots) {
			if (st->agg_slots >= SITES_AGG_SLOTS_MAX || agg_grow(st) < 0) {
				if (st->agg_used + 1 >= st->agg_slots) {
					st->is_agg_full = true;
					return 0; /* this block's stack is not aggregated */
				}
			} else {
				a = agg_slot(st->agg, st->agg_slots, b->stack_id);
			}
		}
		a->is_used = true;
		a->stack_id = b->stack_id;
		a->oldest_ms = b->time_ms;
		st->agg_used++;
	}
	a->bytes += b->size;
	a->blocks++;
	a->kind = (uint8_t)b->kind;
	if (b->time_ms < a->oldest_ms)
		a->oldest_ms = b->time_ms;
	return 0;
}

static int cmp_agg_bytes(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;

	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

int sites_sample(struct site_tracker *st, const struct live_table *live, double t_s,
		 uint32_t now_ms)
{
	/* start at twice the stacks seen last time: usually no doubling while walking */
	size_t want = AGG_SLOTS_MIN;

	while (want < st->agg_used * 4 && want < SITES_AGG_SLOTS_MAX)
		want *= 2;
	if (want != st->agg_slots) {
		free(st->agg);
		st->agg = NULL;
		st->agg_slots = 0;
	}
	if (!st->agg) {
		st->agg = calloc(want, sizeof(*st->agg));
		if (!st->agg)
			return -ENOMEM;
		st->agg_slots = want;
	} else {
		memset(st->agg, 0, st->agg_slots * sizeof(*st->agg));
	}
	st->agg_used = 0;
	st->is_agg_full = false;
	(void)live_foreach(live, agg_block, st);
	if (st->is_agg_full)
		st->untracked++;
	st->now_ms = now_ms;

	/* every tracked site gets a point (0 when it holds nothing now) */
	for (size_t i = 0; i < st->n_slots; i++) {
		struct site *s = &st->sites[i];

		if (!s->is_used)
			continue;
		s->bytes = s->blocks = 0;
	}
	/* the largest sites first, so the cap keeps the ones that matter */
	size_t used = 0;

	for (size_t i = 0; i < st->agg_slots; i++)
		if (st->agg[i].is_used)
			st->agg[used++] = st->agg[i];
	qsort(st->agg, used, sizeof(*st->agg), cmp_agg_bytes);
	/* the compacted scratch is no hash table any more: cleared at the next sample */
	for (size_t i = 0; i < used; i++) {
		struct site *s = find_site(st, st->agg[i].stack_id, true);

		if (!s) {
			st->untracked++;
			continue;
		}
		s->bytes = st->agg[i].bytes;
		s->blocks = st->agg[i].blocks;
		s->oldest_ms = st->agg[i].oldest_ms;
		s->kind = (enum alloc_fn)st->agg[i].kind;
	}
	for (size_t i = 0; i < st->n_slots; i++) {
		struct site *s = &st->sites[i];

		if (!s->is_used)
			continue;
		(void)series_append(&s->bytes_series, t_s, (double)s->bytes);
		(void)series_append(&s->blocks_series, t_s, (double)s->blocks);
	}
	return 0;
}

static enum site_verdict judge(const struct site *s, double min_age_s, double age_s, double alpha,
			       double *ret_slope)
{
	const struct series *b = &s->bytes_series, *k = &s->blocks_series;
	struct trend_result whole, recent, blocks;
	size_t recent_n;

	*ret_slope = 0;
	/* cheap filter first: most sites (churn) end where they started */
	if (b->n < 4 || b->y[b->n - 1] <= b->y[0] ||
	    trend_analyze(b->t, b->y, b->n, alpha, &whole) < 0)
		return SITE_NONE;
	*ret_slope = whole.slope;
	if (whole.direction != TREND_RISING || whole.slope <= 0)
		return SITE_NONE;
	/* the recent part: the last third of the window, at least SITES_MIN_POINTS, at most
	 * SITES_RECENT points */
	recent_n = b->n / 3;
	if (recent_n < SITES_MIN_POINTS)
		recent_n = SITES_MIN_POINTS;
	if (recent_n > SITES_RECENT)
		recent_n = SITES_RECENT;
	if (trend_analyze_tail(b->t, b->y, b->n, recent_n, alpha, &recent) < 0 ||
	    trend_analyze(k->t, k->y, k->n, alpha, &blocks) < 0)
		return SITE_NONE;
	/* a buffer reallocated larger: bytes rise, the number of blocks does not */
	if (blocks.direction != TREND_RISING)
		return SITE_NONE;
	/* filled and stopped (a bounded cache): the recent part is flat */
	if (b->n >= SITES_MIN_POINTS && recent.n >= SITES_MIN_POINTS &&
	    recent.direction != TREND_RISING)
		return SITE_NONE;
	if (b->n < SITES_MIN_POINTS || age_s < min_age_s)
		return SITE_SUSPECT;
	return SITE_LEAK;
}

static int cmp_view(const void *a, const void *b)
{
	const struct site_view *x = a, *y = b;

	if (x->verdict != y->verdict)
		return x->verdict > y->verdict ? -1 : 1;
	if (x->verdict != SITE_NONE && x->growth_bytes_per_s != y->growth_bytes_per_s)
		return x->growth_bytes_per_s > y->growth_bytes_per_s ? -1 : 1;
	return x->live_bytes < y->live_bytes ? 1 : x->live_bytes > y->live_bytes ? -1 : 0;
}

ssize_t sites_judge(const struct site_tracker *st, double min_age_s, double alpha,
		    struct site_view **ret)
{
	struct site_view *v = calloc(st->n ? st->n : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_slots; i++) {
		const struct site *s = &st->sites[i];
		struct site_view *w;

		if (!s->is_used || s->blocks == 0)
			continue;
		w = &v[n++];
		w->stack_id = s->stack_id;
		w->kind = s->kind;
		w->live_bytes = s->bytes;
		w->live_blocks = s->blocks;
		w->oldest_age_s = (double)(st->now_ms - s->oldest_ms) / 1000.0;
		w->points = s->bytes_series.n;
		w->delta_bytes = (int64_t)s->bytes - (int64_t)s->reported_bytes;
		w->verdict = judge(s, min_age_s, w->oldest_age_s, alpha, &w->growth_bytes_per_s);
	}
	qsort(v, n, sizeof(*v), cmp_view);
	*ret = v;
	return (ssize_t)n;
}

void sites_mark_report(struct site_tracker *st)
{
	for (size_t i = 0; i < st->n_slots; i++)
		if (st->sites[i].is_used)
			st->sites[i].reported_bytes = st->sites[i].bytes;
}

uint64_t sites_untracked(const struct site_tracker *st)
{
	return st->untracked;
}

const struct series *sites_history(const struct site_tracker *st, uint32_t stack_id)
{
	size_t mask = st->n_slots - 1;

	for (size_t i = mix(stack_id) & mask; st->sites[i].is_used; i = (i + 1) & mask)
		if (st->sites[i].stack_id == stack_id)
			return &st->sites[i].bytes_series;
	return NULL;
}

size_t sites_memory_bytes(const struct site_tracker *st)
{
	size_t bytes = sizeof(*st) + st->n_slots * sizeof(*st->sites) +
		       st->agg_slots * sizeof(*st->agg);

	for (size_t i = 0; i < st->n_slots; i++)
		if (st->sites[i].is_used)
			bytes += 2 * sizeof(double) *
				 (st->sites[i].bytes_series.cap + st->sites[i].blocks_series.cap);
	return bytes;
}
