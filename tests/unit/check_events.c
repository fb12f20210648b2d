/* Unit tests of events.c: the counting contract applied to the live table. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "heap/events.h"

static struct live_table *t;
static struct event_counts c;

static void setup(void)
{
	t = live_new(1000);
	ck_assert_ptr_nonnull(t);
	memset(&c, 0, sizeof(c));
}

static void teardown(void)
{
	t = live_free(t);
}

static void call(enum alloc_fn fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t result)
{
	struct alloc_event ev = { .fn = fn, .arg = { a0, a1, a2 }, .result = result };

	events_apply(t, &c, &ev);
}

static struct live_stats stats(void)
{
	struct live_stats s;

	live_get_stats(t, &s);
	return s;
}

START_TEST(test_malloc_free)
{
	struct live_block b;

	call(ALLOC_MALLOC, 100, 0, 0, 0x1000);
	call(ALLOC_MALLOC, 50, 0, 0, 0); /* failed: nothing counted as a block */
	ck_assert_int_eq(live_lookup(t, 0x1000, &b), 0);
	ck_assert_uint_eq(b.size, 100);
	ck_assert_int_eq(b.kind, ALLOC_MALLOC);
	ck_assert_uint_eq(stats().allocs, 1);
	ck_assert_uint_eq(c.failed, 1);
	call(ALLOC_FREE, 0x1000, 0, 0, 0);
	call(ALLOC_FREE, 0, 0, 0, 0);
	call(ALLOC_FREE, 0x9999, 0, 0, 0); /* allocated before tracing */
	ck_assert_uint_eq(stats().frees, 1);
	ck_assert_uint_eq(stats().unknown_frees, 1);
	ck_assert_uint_eq(c.free_null, 1);
	ck_assert_uint_eq(stats().live_blocks, 0);
}
END_TEST

START_TEST(test_calloc_aligned)
{
	struct live_block b;

	call(ALLOC_CALLOC, 10, 24, 0, 0x2000);
	ck_assert_int_eq(live_lookup(t, 0x2000, &b), 0);
	ck_assert_uint_eq(b.size, 240);
	ck_assert_int_eq(b.kind, ALLOC_CALLOC);
	call(ALLOC_MEMALIGN, 64, 300, 0, 0x3000);
	ck_assert_int_eq(live_lookup(t, 0x3000, &b), 0);
	ck_assert_uint_eq(b.size, 300);
	call(ALLOC_ALIGNED_ALLOC, 4096, 8192, 0, 0x4000);
	ck_assert_int_eq(live_lookup(t, 0x4000, &b), 0);
	ck_assert_uint_eq(b.size, 8192);
	call(ALLOC_VALLOC, 10, 0, 0, 0x5000);
	call(ALLOC_PVALLOC, 10, 0, 0, 0x6000);
	ck_assert_uint_eq(stats().live_blocks, 5);
	{
		struct alloc_event ev = { .fn = ALLOC_POSIX_MEMALIGN, .arg = { 0x7ff0, 32, 77 },
					  .result = 0, .out_ptr = 0x7000 };

		events_apply(t, &c, &ev);
		ev.result = 22; /* EINVAL: nothing */
		ev.out_ptr = 0x8000;
		events_apply(t, &c, &ev);
	}
	ck_assert_int_eq(live_lookup(t, 0x7000, &b), 0);
	ck_assert_uint_eq(b.size, 77);
	ck_assert_int_eq(live_lookup(t, 0x8000, &b), -ENOENT);
	ck_assert_uint_eq(c.failed, 1);
}
END_TEST

START_TEST(test_realloc)
{
	struct live_block b;

	call(ALLOC_REALLOC, 0, 64, 0, 0x1000); /* realloc(NULL, n): one allocation */
	ck_assert_uint_eq(stats().allocs, 1);
	ck_assert_uint_eq(stats().frees, 0);
	call(ALLOC_REALLOC, 0x1000, 128, 0, 0x1000); /* in place: one of each */
	ck_assert_uint_eq(stats().allocs, 2);
	ck_assert_uint_eq(stats().frees, 1);
	ck_assert_int_eq(live_lookup(t, 0x1000, &b), 0);
	ck_assert_uint_eq(b.size, 128);
	call(ALLOC_REALLOC, 0x1000, 4096, 0, 0x2000); /* moved */
	ck_assert_int_eq(live_lookup(t, 0x1000, &b), -ENOENT);
	ck_assert_int_eq(live_lookup(t, 0x2000, &b), 0);
	ck_assert_uint_eq(stats().live_bytes, 4096);
	call(ALLOC_REALLOC, 0x2000, 1 << 30, 0, 0); /* failed: the block stays */
	ck_assert_int_eq(live_lookup(t, 0x2000, &b), 0);
	ck_assert_uint_eq(c.failed, 1);
	call(ALLOC_REALLOCARRAY, 0x2000, 10, 10, 0x3000);
	ck_assert_int_eq(live_lookup(t, 0x3000, &b), 0);
	ck_assert_uint_eq(b.size, 100);
	ck_assert_int_eq(b.kind, ALLOC_REALLOCARRAY);
	call(ALLOC_REALLOC, 0x3000, 0, 0, 0); /* realloc(p, 0) frees */
	ck_assert_uint_eq(stats().live_blocks, 0);
	ck_assert_uint_eq(stats().allocs, 4);
	ck_assert_uint_eq(stats().frees, 4);
	call(ALLOC_CALLOC, 1ULL << 40, 1ULL << 40, 0, 0); /* overflowing product, failed */
	ck_assert_uint_eq(c.failed, 2);
	ck_assert(events_needs_return(ALLOC_MALLOC));
	ck_assert(!events_needs_return(ALLOC_FREE));
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_malloc_free);
	tcase_add_test(tc, test_calloc_aligned);
	tcase_add_test(tc, test_realloc);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(events_suite)
