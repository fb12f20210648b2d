#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "heap/live.h"

/* ck_assert_*() reports each passing check to the parent process (a write(2) per check), far too
 * slow for millions of checks: test, and call Check only to fail. */
#define expect_eq(a, b)                                                                            \
	do {                                                                                       \
		uintmax_t _a = (uintmax_t) (a), _b = (uintmax_t) (b);                              \
		if (_a != _b)                                                                      \
			ck_abort_msg("expected %s == %s, got %jd (%#jx) and %jd (%#jx)", #a, #b,   \
				     (intmax_t) _a, _a, (intmax_t) _b, _b);                        \
	} while (0)

/* Big enough for several doublings; smaller under ASan so the suite stays fast there. */
#if defined(__SANITIZE_ADDRESS__)
#define BIG_N	    300000
#define BENCH_PAIRS 200000
#else
#define BIG_N	    1000000
#define BENCH_PAIRS 1000000
#endif

static uint64_t lcg_state;

static void lcg_seed(uint64_t seed)
{
	lcg_state = seed;
}

/* Knuth's MMIX LCG; the high half is the good half. */
static uint32_t lcg(void)
{
	lcg_state = lcg_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t) (lcg_state >> 32);
}

static uint64_t lcg64(void)
{
	uint64_t hi = lcg();

	return hi << 32 | lcg();
}

/* A plausible 16-byte aligned user-space heap address, never 0. */
static uint64_t random_addr(void)
{
	return (UINT64_C(0x10) + ((lcg64() >> 20) << 4)) & UINT64_C(0x0000fffffffffff0);
}

static struct live_block mkblock(uint64_t addr, uint64_t size, uint32_t time_ms, uint32_t stack_id,
				 enum alloc_fn kind)
{
	struct live_block b;

	b.addr = addr;
	b.size = size;
	b.time_ms = time_ms;
	b.stack_id = stack_id;
	b.kind = kind;
	return b;
}

static void assert_block_eq(const struct live_block *a, const struct live_block *b)
{
	expect_eq(a->addr, b->addr);
	expect_eq(a->size, b->size);
	expect_eq(a->time_ms, b->time_ms);
	expect_eq(a->stack_id, b->stack_id);
	expect_eq(a->kind, b->kind);
}

static void assert_consistent(const struct live_table *t)
{
	expect_eq(live_verify(t, NULL), 0);
}

START_TEST(test_new_free)
{
	struct live_table *t = live_new(10);
	struct live_stats st;

	ck_assert_ptr_nonnull(t);
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, 0);
	expect_eq(st.live_bytes, 0);
	expect_eq(st.allocs, 0);
	assert_consistent(t);
	ck_assert_ptr_null(live_free(t));
	ck_assert_ptr_null(live_free(NULL));

	t = live_new(0); /* 0: the built-in limit */
	ck_assert_ptr_nonnull(t);
	t = live_free(t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_basic)
{
	struct live_table *t = live_new(1000);
	struct live_block b = mkblock(0x5555deadbee0, 123, 4567, 89, ALLOC_CALLOC), got, old;
	struct live_block b2 = mkblock(0x5555deadbef0, 7, 1, 2, ALLOC_MALLOC);
	struct live_block b3 = mkblock(0x5555deadbee0, 999, 5000, 90, ALLOC_REALLOC);

	expect_eq(live_lookup(t, b.addr, &got), -ENOENT);
	expect_eq(live_insert(t, &b), 0);
	expect_eq(live_insert(t, &b2), 0);
	memset(&got, 0xaa, sizeof(got));
	expect_eq(live_lookup(t, b.addr, &got), 0);
	assert_block_eq(&got, &b);
	expect_eq(live_lookup(t, b2.addr, &got), 0);
	assert_block_eq(&got, &b2);
	expect_eq(live_lookup(t, b.addr, NULL), 0);
	expect_eq(live_lookup(t, b.addr + 32, &got), -ENOENT);

	/* Same address again: replaced, 1, and the old block handed back. */
	memset(&old, 0, sizeof(old));
	expect_eq(live_insert_or_replace(t, &b3, &old), 1);
	assert_block_eq(&old, &b);
	expect_eq(live_lookup(t, b.addr, &got), 0);
	assert_block_eq(&got, &b3);
	expect_eq(live_insert(t, &b), 1);

	memset(&got, 0, sizeof(got));
	expect_eq(live_remove(t, b.addr, &got), 0);
	assert_block_eq(&got, &b);
	expect_eq(live_lookup(t, b.addr, &got), -ENOENT);
	expect_eq(live_remove(t, b.addr, &got), -ENOENT);
	expect_eq(live_remove(t, b2.addr, NULL), 0);
	expect_eq(live_remove(t, b2.addr, NULL), -ENOENT);
	assert_consistent(t);
	live_free(t);
}
END_TEST

START_TEST(test_every_kind)
{
	struct live_table *t = live_new(100);
	struct live_block b, got;
	int k;

	for (k = 0; k < ALLOC_FN_MAX; k++) {
		b = mkblock(0x1000 + 16 * (uint64_t) k, 10 + (uint64_t) k, (uint32_t) k,
			    UINT32_MAX - (uint32_t) k, (enum alloc_fn) k);
		expect_eq(live_insert(t, &b), 0);
	}
	for (k = 0; k < ALLOC_FN_MAX; k++) {
		expect_eq(live_lookup(t, 0x1000 + 16 * (uint64_t) k, &got), 0);
		expect_eq(got.kind, k);
		expect_eq(got.size, 10 + (uint64_t) k);
		expect_eq(got.time_ms, (uint32_t) k);
		expect_eq(got.stack_id, UINT32_MAX - (uint32_t) k);
	}
	/* Extreme field values survive the packing. */
	b = mkblock(UINT64_MAX & ~UINT64_C(0xf), LIVE_SIZE_MAX, UINT32_MAX, UINT32_MAX,
		    ALLOC_REALLOCARRAY);
	expect_eq(live_insert(t, &b), 0);
	expect_eq(live_lookup(t, b.addr, &got), 0);
	assert_block_eq(&got, &b);
	b = mkblock(1, 0, 0, 0, ALLOC_MALLOC);
	expect_eq(live_insert(t, &b), 0);
	expect_eq(live_lookup(t, 1, &got), 0);
	assert_block_eq(&got, &b);
	assert_consistent(t);
	live_free(t);
}
END_TEST

START_TEST(test_invalid)
{
	struct live_table *t = live_new(100);
	struct live_block b = mkblock(0, 10, 0, 0, ALLOC_MALLOC), got;
	struct live_stats st;

	expect_eq(live_insert(t, &b), -EINVAL);
	b.addr = 0x1230;
	b.kind = ALLOC_FN_MAX;
	expect_eq(live_insert(t, &b), -EINVAL);
	b.kind = (enum alloc_fn) 200;
	expect_eq(live_insert(t, &b), -EINVAL);
	b.kind = (enum alloc_fn) UINT32_MAX; /* -1 if the enum is signed */
	expect_eq(live_insert(t, &b), -EINVAL);
	expect_eq(live_lookup(t, 0x1230, &got), -ENOENT);
	expect_eq(live_lookup(t, 0, &got), -ENOENT);
	/* free(NULL) is not an unknown free. */
	expect_eq(live_remove(t, 0, &got), -ENOENT);

	live_get_stats(t, &st);
	expect_eq(st.live_blocks, 0);
	expect_eq(st.allocs, 0);
	expect_eq(st.unknown_frees, 0);
	expect_eq(st.dropped, 0);
	assert_consistent(t);
	live_free(t);
}
END_TEST

START_TEST(test_counters)
{
	struct live_table *t = live_new(100);
	struct live_block b;
	struct live_stats st;

	b = mkblock(0x100, 100, 0, 0, ALLOC_MALLOC);
	expect_eq(live_insert(t, &b), 0);
	b = mkblock(0x200, 50, 0, 0, ALLOC_MALLOC);
	expect_eq(live_insert(t, &b), 0);
	b = mkblock(0x300, 25, 0, 0, ALLOC_CALLOC);
	expect_eq(live_insert(t, &b), 0);
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, 3);
	expect_eq(st.live_bytes, 175);
	expect_eq(st.peak_live_bytes, 175);
	expect_eq(st.allocs, 3);

	expect_eq(live_remove(t, 0x100, NULL), 0);
	expect_eq(live_remove(t, 0x400, NULL), -ENOENT);
	expect_eq(live_remove(t, 0x100, NULL), -ENOENT);
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, 2);
	expect_eq(st.live_bytes, 75);
	expect_eq(st.peak_live_bytes, 175);
	expect_eq(st.frees, 1);
	expect_eq(st.unknown_frees, 2);

	/* Replacing 0x200 (50 bytes) by 10 bytes: implicitly freed, not a free. */
	b = mkblock(0x200, 10, 0, 0, ALLOC_REALLOC);
	expect_eq(live_insert(t, &b), 1);
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, 2);
	expect_eq(st.live_bytes, 35);
	expect_eq(st.allocs, 4);
	expect_eq(st.frees, 1);
	expect_eq(st.replaced, 1);
	expect_eq(st.live_blocks, st.allocs - st.frees - st.replaced);

	/* A replacement can raise the peak. */
	b = mkblock(0x300, 1000, 0, 0, ALLOC_REALLOC);
	expect_eq(live_insert(t, &b), 1);
	live_get_stats(t, &st);
	expect_eq(st.live_bytes, 1010);
	expect_eq(st.peak_live_bytes, 1010);
	expect_eq(st.replaced, 2);

	expect_eq(live_remove(t, 0x200, NULL), 0);
	expect_eq(live_remove(t, 0x300, NULL), 0);
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, 0);
	expect_eq(st.live_bytes, 0);
	expect_eq(st.peak_live_bytes, 1010);
	expect_eq(st.allocs, 5);
	expect_eq(st.frees, 3);
	expect_eq(st.unknown_frees, 2);
	expect_eq(st.replaced, 2);
	expect_eq(st.dropped, 0);
	expect_eq(st.clamped, 0);
	assert_consistent(t);
	live_free(t);
}
END_TEST

START_TEST(test_clamp)
{
	struct live_table *t = live_new(100);
	struct live_block b, got;
	struct live_stats st;

	b = mkblock(0x100, LIVE_SIZE_MAX, 0, 0, ALLOC_MALLOC); /* 2^48 - 1: exact */
	expect_eq(live_insert(t, &b), 0);
	b = mkblock(0x200, UINT64_C(1) << 48, 0, 0, ALLOC_MALLOC);
	expect_eq(live_insert(t, &b), 0);
	b = mkblock(0x300, UINT64_MAX, 0, 0, ALLOC_MALLOC);
	expect_eq(live_insert(t, &b), 0);

	expect_eq(live_lookup(t, 0x100, &got), 0);
	expect_eq(got.size, LIVE_SIZE_MAX);
	expect_eq(live_lookup(t, 0x200, &got), 0);
	expect_eq(got.size, LIVE_SIZE_MAX);
	expect_eq(got.kind, ALLOC_MALLOC); /* the size did not spill into the kind */
	expect_eq(live_lookup(t, 0x300, &got), 0);
	expect_eq(got.size, LIVE_SIZE_MAX);
	expect_eq(got.kind, ALLOC_MALLOC);

	live_get_stats(t, &st);
	expect_eq(st.clamped, 2);
	expect_eq(st.live_bytes, 3 * LIVE_SIZE_MAX);
	assert_consistent(t);

	expect_eq(live_remove(t, 0x200, &got), 0);
	expect_eq(got.size, LIVE_SIZE_MAX);
	live_get_stats(t, &st);
	expect_eq(st.live_bytes, 2 * LIVE_SIZE_MAX);
	assert_consistent(t);
	live_free(t);
}
END_TEST

START_TEST(test_cap)
{
	const size_t cap = 1000;
	struct live_table *t = live_new(cap);
	struct live_block b, got;
	struct live_stats st;
	size_t i, mem;

	for (i = 0; i < cap; i++) {
		b = mkblock(0x10000 + 16 * i, i + 1, 0, (uint32_t) i, ALLOC_MALLOC);
		expect_eq(live_insert(t, &b), 0);
	}
	mem = live_memory_bytes(t);
	/* One power of two above cap / 0.75: 2048 slots, no further doubling is due. */
	ck_assert_uint_le(mem, 2048 * 24 + 256);

	b = mkblock(0x20000000, 5, 0, 0, ALLOC_MALLOC);
	expect_eq(live_insert(t, &b), -ENOSPC);
	expect_eq(live_insert(t, &b), -ENOSPC);
	b.size = UINT64_MAX; /* a refused block is not counted as clamped either */
	expect_eq(live_insert(t, &b), -ENOSPC);
	expect_eq(live_lookup(t, b.addr, &got), -ENOENT);
	live_get_stats(t, &st);
	expect_eq(st.dropped, 3);
	expect_eq(st.clamped, 0);
	expect_eq(st.live_blocks, cap);
	expect_eq(st.allocs, cap);
	expect_eq(st.live_bytes, cap * (cap + 1) / 2);
	expect_eq(live_memory_bytes(t), mem);
	assert_consistent(t);

	/* At the cap, replacing an existing address still works. */
	b = mkblock(0x10000, 1, 7, 7, ALLOC_REALLOC);
	expect_eq(live_insert(t, &b), 1);
	/* Freeing one makes room for one. */
	expect_eq(live_remove(t, 0x10010, NULL), 0);
	b = mkblock(0x20000000, 5, 0, 0, ALLOC_MALLOC);
	expect_eq(live_insert(t, &b), 0);
	b.addr += 16;
	expect_eq(live_insert(t, &b), -ENOSPC);
	live_get_stats(t, &st);
	expect_eq(st.dropped, 4);
	expect_eq(st.live_blocks, cap);
	for (i = 2; i < cap; i++) {
		expect_eq(live_lookup(t, 0x10000 + 16 * i, &got), 0);
		expect_eq(got.size, i + 1);
	}
	assert_consistent(t);
	live_free(t);
}
END_TEST

START_TEST(test_tiny_caps)
{
	struct live_block b = mkblock(0x10, 1, 0, 0, ALLOC_MALLOC);
	size_t cap, i;

	for (cap = 1; cap <= 13; cap++) {
		struct live_table *t = live_new(cap);

		for (i = 0; i < cap; i++) {
			b.addr = 0x10 + 16 * i;
			expect_eq(live_insert(t, &b), 0);
		}
		b.addr = 0x10 + 16 * cap;
		expect_eq(live_insert(t, &b), -ENOSPC);
		for (i = 0; i < cap; i++)
			expect_eq(live_lookup(t, 0x10 + 16 * i, NULL), 0);
		assert_consistent(t);
		for (i = 0; i < cap; i++)
			expect_eq(live_remove(t, 0x10 + 16 * i, NULL), 0);
		assert_consistent(t);
		live_free(t);
	}
}
END_TEST

/* The reference the big tests check the table against: sorted by address. */
struct ref {
	struct live_block b;
	bool is_live;
};

static int cmp_ref(const void *a, const void *b)
{
	uint64_t x = ((const struct ref *) a)->b.addr, y = ((const struct ref *) b)->b.addr;

	return x < y ? -1 : x > y;
}

static struct ref *ref_find(struct ref *refs, size_t n, uint64_t addr)
{
	struct ref key = {.b.addr = addr};

	return bsearch(&key, refs, n, sizeof(*refs), cmp_ref);
}

static void shuffle(size_t *v, size_t n)
{
	size_t i, j, tmp;

	for (i = n; i > 1; i--) {
		j = (size_t) (lcg64() % i);
		tmp = v[i - 1];
		v[i - 1] = v[j];
		v[j] = tmp;
	}
}

struct visit {
	struct ref *refs;
	size_t n, visited, bad;
};

static int visit_check(const struct live_block *b, void *userdata)
{
	struct visit *v = userdata;
	struct ref *r = ref_find(v->refs, v->n, b->addr);

	v->visited++;
	if (!r || !r->is_live || r->b.size != b->size || r->b.time_ms != b->time_ms ||
	    r->b.stack_id != b->stack_id || r->b.kind != b->kind)
		v->bad++;
	else
		r->is_live = false; /* a second visit of the same block would count as bad */
	return 0;
}

/* Every reference block is in the table iff live, with its fields; foreach sees exactly those. */
static void check_against_ref(const struct live_table *t, struct ref *refs, size_t n)
{
	struct visit v = {.refs = refs, .n = n};
	struct live_block got;
	struct live_stats st;
	uint64_t bytes = 0;
	size_t i, live = 0;
	bool *was_live = malloc(n * sizeof(*was_live));

	ck_assert_ptr_nonnull(was_live);
	for (i = 0; i < n; i++) {
		int r = live_lookup(t, refs[i].b.addr, &got);

		if (refs[i].is_live) {
			expect_eq(r, 0);
			assert_block_eq(&got, &refs[i].b);
			live++;
			bytes += refs[i].b.size;
		} else {
			expect_eq(r, -ENOENT);
		}
		was_live[i] = refs[i].is_live;
	}
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, live);
	expect_eq(st.live_bytes, bytes);

	expect_eq(live_foreach(t, visit_check, &v), 0);
	expect_eq(v.bad, 0);
	expect_eq(v.visited, live);
	for (i = 0; i < n; i++) {
		expect_eq(refs[i].is_live, false); /* every live one was visited */
		refs[i].is_live = was_live[i];
	}
	free(was_live);
	assert_consistent(t);
}

/* n distinct random addresses with random fields, sorted by address. Returns the count. */
static size_t make_refs(struct ref *refs, size_t n)
{
	size_t i, m;

	for (i = 0; i < n; i++) {
		refs[i].b = mkblock(random_addr(), lcg() % 100000, lcg(), lcg(),
				    (enum alloc_fn)(lcg() % ALLOC_FN_MAX));
		refs[i].is_live = false;
	}
	qsort(refs, n, sizeof(*refs), cmp_ref);
	for (i = 1, m = 1; i < n; i++)
		if (refs[i].b.addr != refs[m - 1].b.addr)
			refs[m++] = refs[i];
	return m;
}

START_TEST(test_big_random)
{
	struct ref *refs = malloc(BIG_N * sizeof(*refs));
	size_t *order = malloc(BIG_N * sizeof(*order));
	struct live_table *t = live_new(0);
	struct live_stats st;
	size_t n, i, mem_start, unknown = 0;
	uint64_t absent;

	ck_assert_ptr_nonnull(refs);
	ck_assert_ptr_nonnull(order);
	ck_assert_ptr_nonnull(t);
	lcg_seed(42);
	n = make_refs(refs, BIG_N);
	ck_assert_uint_gt(n, BIG_N - 100);
	mem_start = live_memory_bytes(t);

	for (i = 0; i < n; i++)
		order[i] = i;
	shuffle(order, n);
	for (i = 0; i < n; i++) {
		expect_eq(live_insert(t, &refs[order[i]].b), 0);
		refs[order[i]].is_live = true;
	}
	/* From 64 slots to at least 2^21 (1e6) or 2^19 (ASan): many doublings. */
	ck_assert_uint_ge(live_memory_bytes(t), mem_start * 4096);
	check_against_ref(t, refs, n);

	/* Remove half in another random order, checking now and then on the way. */
	shuffle(order, n);
	for (i = 0; i < n / 2; i++) {
		struct ref *r = &refs[order[i]];
		struct live_block got;

		expect_eq(live_remove(t, r->b.addr, &got), 0);
		assert_block_eq(&got, &r->b);
		r->is_live = false;
		if (i % (n / 8) == 0)
			assert_consistent(t);
	}
	check_against_ref(t, refs, n);

	/* Unknown frees: absent addresses (never inserted, or already removed). */
	for (i = 0; i < 1000; i++) {
		absent = random_addr();
		if (ref_find(refs, n, absent))
			continue;
		expect_eq(live_remove(t, absent, NULL), -ENOENT);
		unknown++;
	}
	for (i = 0; i < 1000; i++)
		expect_eq(live_remove(t, refs[order[i]].b.addr, NULL), -ENOENT);
	live_get_stats(t, &st);
	expect_eq(st.unknown_frees, unknown + 1000);
	expect_eq(st.allocs, n);
	expect_eq(st.frees, n / 2);
	expect_eq(st.live_blocks, n - n / 2);

	/* Put the removed half back with new fields, then empty the table completely. */
	for (i = 0; i < n / 2; i++) {
		struct ref *r = &refs[order[i]];

		r->b.size = i;
		r->b.stack_id = (uint32_t) i;
		expect_eq(live_insert(t, &r->b), 0);
		r->is_live = true;
	}
	check_against_ref(t, refs, n);
	shuffle(order, n);
	for (i = 0; i < n; i++)
		expect_eq(live_remove(t, refs[order[i]].b.addr, NULL), 0);
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, 0);
	expect_eq(st.live_bytes, 0);
	assert_consistent(t);

	live_free(t);
	free(order);
	free(refs);
}
END_TEST

/* Random inserts, replaces and removes on a small table kept near its maximum load, so that
 * probe runs are long and wrap around the end of the array; checked after every operation. */
START_TEST(test_small_churn)
{
	enum { N = 96, OPS = 200000 };
	struct ref refs[N];
	struct live_table *t = live_new(N); /* 128 slots, at most 96 blocks: up to load 0.75 */
	struct live_block got;
	struct live_stats st;
	size_t i, k, live = 0;
	uint64_t replaced = 0, frees = 0, unknown = 0;
	int r;

	lcg_seed(7);
	expect_eq(make_refs(refs, N), N);
	for (i = 0; i < OPS; i++) {
		k = lcg() % N;
		if (lcg() % 2) {
			refs[k].b.time_ms = (uint32_t) i;
			r = live_insert(t, &refs[k].b);
			expect_eq(r, refs[k].is_live ? 1 : 0);
			replaced += refs[k].is_live;
			live += !refs[k].is_live;
			refs[k].is_live = true;
		} else {
			r = live_remove(t, refs[k].b.addr, &got);
			if (refs[k].is_live) {
				expect_eq(r, 0);
				assert_block_eq(&got, &refs[k].b);
				frees++;
				live--;
			} else {
				expect_eq(r, -ENOENT);
				unknown++;
			}
			refs[k].is_live = false;
		}
		if (i % 64 == 0)
			check_against_ref(t, refs, N);
		else
			assert_consistent(t);
	}
	live_get_stats(t, &st);
	expect_eq(st.live_blocks, live);
	expect_eq(st.replaced, replaced);
	expect_eq(st.frees, frees);
	expect_eq(st.unknown_frees, unknown);
	ck_assert_uint_le(live_memory_bytes(t), 128 * 24 + 256);
	live_free(t);
}
END_TEST

/* Inserts n addresses base + i * stride, looks all up, removes every other, checks the rest;
 * returns the longest probe distance seen. */
static size_t cluster_run(uint64_t base, uint64_t stride, unsigned shift, size_t n)
{
	struct live_table *t = live_new(0);
	struct live_block b, got;
	size_t i, max_probe = 0;
	uint64_t a;

	for (i = 0; i < n; i++) {
		a = base + (shift ? (uint64_t) (i + 1) << shift : i * stride);
		b = mkblock(a, i, (uint32_t) i, (uint32_t) i, ALLOC_MALLOC);
		expect_eq(live_insert(t, &b), 0);
	}
	expect_eq(live_verify(t, &max_probe), 0);
	for (i = 0; i < n; i += 2) {
		a = base + (shift ? (uint64_t) (i + 1) << shift : i * stride);
		expect_eq(live_remove(t, a, NULL), 0);
	}
	for (i = 0; i < n; i++) {
		a = base + (shift ? (uint64_t) (i + 1) << shift : i * stride);
		if (i % 2 == 0) {
			expect_eq(live_lookup(t, a, &got), -ENOENT);
		} else {
			expect_eq(live_lookup(t, a, &got), 0);
			expect_eq(got.size, i);
		}
	}
	assert_consistent(t);
	live_free(t);
	return max_probe;
}

START_TEST(test_clustering)
{
	size_t p;

	/* A weak hash (address bits as the index, or a multiply without a final mix) piles these up
	 * into runs hundreds or thousands long; a good mix keeps the longest probe short. */
	p = cluster_run(0x555555560000, 16, 0, 200000); /* consecutive malloc chunks */
	ck_assert_uint_lt(p, 64);
	p = cluster_run(0x7f0000000010, 4096, 0, 200000); /* page-aligned mmapped chunks */
	ck_assert_uint_lt(p, 64);
	p = cluster_run(0x10, 1 << 20, 0, 200000); /* 1 MiB apart: low 20 bits identical */
	ck_assert_uint_lt(p, 64);
	p = cluster_run(0x10, 0, 32, 100000); /* only bits 32 and up differ */
	ck_assert_uint_lt(p, 64);
	p = cluster_run(0x20, 0, 44, 1 << 19); /* only bits 44..63 differ */
	ck_assert_uint_lt(p, 64);
}
END_TEST

static int count_visit(const struct live_block *b, void *userdata)
{
	size_t *n = userdata;

	(void) b;
	(*n)++;
	return 0;
}

static int stop_at_three(const struct live_block *b, void *userdata)
{
	size_t *n = userdata;

	(void) b;
	return ++*n == 3 ? 42 : 0;
}

START_TEST(test_foreach)
{
	enum { N = 5000 };
	struct ref refs[N];
	struct live_table *t = live_new(0);
	size_t i, n, visited;

	visited = 0;
	expect_eq(live_foreach(t, count_visit, &visited), 0);
	expect_eq(visited, 0);

	lcg_seed(99);
	n = make_refs(refs, N);
	for (i = 0; i < n; i++) {
		expect_eq(live_insert(t, &refs[i].b), 0);
		refs[i].is_live = true;
	}
	for (i = 0; i < n; i += 3) {
		expect_eq(live_remove(t, refs[i].b.addr, NULL), 0);
		refs[i].is_live = false;
	}
	check_against_ref(t, refs, n); /* foreach visits exactly the live set, once each */

	visited = 0;
	expect_eq(live_foreach(t, stop_at_three, &visited), 42);
	expect_eq(visited, 3);
	live_free(t);
}
END_TEST

START_TEST(test_memory)
{
	struct live_table *t = live_new(0);
	struct live_block b = mkblock(0, 1, 0, 0, ALLOC_MALLOC);
	struct live_stats st;
	size_t i, n = (size_t) 3 << 15, mem; /* 3/4 of 2^17 */

	for (i = 0; i < n; i++) {
		b.addr = 0x10000 + 16 * (uint64_t) i;
		expect_eq(live_insert(t, &b), 0);
	}
	live_get_stats(t, &st);
	mem = live_memory_bytes(t);
	printf("live: %zu blocks in %zu bytes: %.3f bytes/block at load 0.75\n", n, mem,
	       (double) mem / (double) st.live_blocks);
	ck_assert_uint_le(mem / st.live_blocks, 32);
	ck_assert_uint_le(mem, 32 * st.live_blocks + 256); /* 24-byte slots + a small header */
	/* And the accounting is not flattering: a block holds at least 8 + 6 + 4 + 4 + 1 bytes. */
	ck_assert_uint_ge(mem, 23 * st.live_blocks);

	/* One more crosses 0.75: the table doubles, and only then. */
	b.addr = 0x10;
	expect_eq(live_insert(t, &b), 0);
	ck_assert_uint_ge(live_memory_bytes(t), 2 * mem - 256);
	live_free(t);
}
END_TEST

static double bench(size_t live, size_t pairs)
{
	uint64_t *addrs = malloc((live + pairs) * sizeof(*addrs));
	struct live_table *t = live_new(0);
	struct live_block b = mkblock(0, 32, 0, 1, ALLOC_MALLOC);
	struct timespec t0, t1;
	size_t i;

	ck_assert_ptr_nonnull(addrs);
	lcg_seed(1234);
	for (i = 0; i < live + pairs; i++)
		addrs[i] = random_addr();
	for (i = 0; i < live; i++) {
		b.addr = addrs[i];
		(void) live_insert(t, &b);
	}
	/* Steady state: each pair allocates a new block and frees the oldest one. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < pairs; i++) {
		b.addr = addrs[live + i];
		b.time_ms = (uint32_t) i;
		(void) live_insert(t, &b);
		(void) live_remove(t, addrs[i], NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	live_free(t);
	free(addrs);
	return ((double) (t1.tv_sec - t0.tv_sec) * 1e9 + (double) (t1.tv_nsec - t0.tv_nsec)) /
	       (double) pairs;
}

START_TEST(test_bench)
{
	/* Information only: timings are not asserted. */
	printf("live: %.1f ns per insert+remove pair with 1000 blocks live (%d pairs)\n",
	       bench(1000, BENCH_PAIRS), BENCH_PAIRS);
	printf("live: %.1f ns per insert+remove pair with 1000000 blocks live (%d pairs)\n",
	       bench(1000000, BENCH_PAIRS), BENCH_PAIRS);
	fflush(stdout);
}
END_TEST

static Suite *live_suite(void)
{
	Suite *s = suite_create("live");
	TCase *tc = tcase_create("core");
	TCase *big = tcase_create("big");

	tcase_add_test(tc, test_new_free);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_every_kind);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_clamp);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_tiny_caps);
	tcase_add_test(tc, test_foreach);
	suite_add_tcase(s, tc);

	tcase_set_timeout(big, 120);
	tcase_add_test(big, test_big_random);
	tcase_add_test(big, test_small_churn);
	tcase_add_test(big, test_clustering);
	tcase_add_test(big, test_memory);
	tcase_add_test(big, test_bench);
	suite_add_tcase(s, big);
	return s;
}

CHECK_MAIN(live_suite)
