/* Unit tests of sites.c: verdicts on synthetic heap histories (the classic leak patterns and
 * their controls). Each history is fed through a real live table, sampled once per "second". */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "verdict/sites.h"

enum { LEAK = 1, CHURN, CACHE, REALLOC_BUF, STARTUP, SLOW_LEAK };

struct sim {
	struct live_table *live;
	struct site_tracker *st;
	uint64_t next_addr;
	uint64_t cache_addrs[64];
	size_t cache_n;
	uint64_t buf_addr;
	uint64_t buf_size;
};

static uint64_t alloc(struct sim *s, uint32_t site, uint64_t size, uint32_t ms)
{
	struct live_block b = { .addr = s->next_addr, .size = size, .time_ms = ms,
				.stack_id = site, .kind = ALLOC_MALLOC };

	s->next_addr += 0x100;
	ck_assert_int_ge(live_insert(s->live, &b), 0);
	return b.addr;
}

/* One simulated second of a program with all the patterns at once. */
static void tick(struct sim *s, int sec)
{
	uint32_t ms = (uint32_t)sec * 1000;

	/* a leak: 20 blocks of 100 bytes every second, never freed */
	for (int i = 0; i < 20; i++)
		alloc(s, LEAK, 100, ms);
	/* churn: 50 blocks allocated and freed */
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(live_remove(s->live, alloc(s, CHURN, 64, ms), NULL), 0);
	/* a bounded cache: fills 64 entries in the first 8 seconds, then replaces (LRU) */
	for (int i = 0; i < 8; i++) {
		if (s->cache_n < 64) {
			s->cache_addrs[s->cache_n++] = alloc(s, CACHE, 512, ms);
		} else {
			size_t victim = (size_t)(sec * 8 + i) % 64;

			ck_assert_int_eq(live_remove(s->live, s->cache_addrs[victim], NULL), 0);
			s->cache_addrs[victim] = alloc(s, CACHE, 512, ms);
		}
	}
	/* a buffer reallocated larger now and then: one block that grows */
	if (sec % 4 == 0) {
		if (s->buf_addr)
			ck_assert_int_eq(live_remove(s->live, s->buf_addr, NULL), 0);
		s->buf_size = s->buf_size ? s->buf_size * 2 : 1024;
		s->buf_addr = alloc(s, REALLOC_BUF, s->buf_size, ms);
	}
	/* start-up: 200 blocks in the first second, kept */
	if (sec == 0)
		for (int i = 0; i < 200; i++)
			alloc(s, STARTUP, 256, ms);
	/* a slow leak: one block every 3 seconds */
	if (sec % 3 == 0)
		alloc(s, SLOW_LEAK, 4096, ms);
}

static int verdict_of(struct site_view *v, ssize_t n, uint32_t site)
{
	for (ssize_t i = 0; i < n; i++)
		if (v[i].stack_id == site)
			return (int)v[i].verdict;
	return -1;
}

START_TEST(test_patterns)
{
	struct sim s = { .next_addr = 0x10000 };
	struct site_view *v;
	ssize_t n;

	s.live = live_new(0);
	s.st = sites_new();
	for (int sec = 0; sec < 40; sec++) {
		tick(&s, sec);
		ck_assert_int_eq(sites_sample(s.st, s.live, sec, (uint32_t)sec * 1000 + 999), 0);
	}
	n = sites_judge(s.st, 5.0, 0.01, &v);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(verdict_of(v, n, LEAK), SITE_LEAK);
	ck_assert_int_eq(verdict_of(v, n, SLOW_LEAK), SITE_LEAK);
	ck_assert_int_eq(verdict_of(v, n, CACHE), SITE_NONE);
	ck_assert_int_eq(verdict_of(v, n, REALLOC_BUF), SITE_NONE);
	ck_assert_int_eq(verdict_of(v, n, STARTUP), SITE_NONE);
	/* churn holds nothing at sample time: not even listed */
	ck_assert_int_eq(verdict_of(v, n, CHURN), -1);
	/* leaks first, the faster one first */
	ck_assert_uint_eq(v[0].stack_id, LEAK);
	ck_assert_uint_eq(v[0].live_blocks, 800);
	ck_assert_uint_eq(v[0].live_bytes, 80000);
	ck_assert_double_eq_tol(v[0].growth_bytes_per_s, 2000.0, 1.0);
	ck_assert_double_eq_tol(v[0].oldest_age_s, 39.999, 0.01);
	ck_assert_int_eq(v[0].delta_bytes, 80000); /* never reported before */
	free(v);

	/* the change since the previous report */
	sites_mark_report(s.st);
	tick(&s, 40);
	ck_assert_int_eq(sites_sample(s.st, s.live, 40, 40999), 0);
	n = sites_judge(s.st, 5.0, 0.01, &v);
	ck_assert_uint_eq(v[0].stack_id, LEAK);
	ck_assert_int_eq(v[0].delta_bytes, 2000);
	free(v);
	sites_free(s.st);
	live_free(s.live);
}
END_TEST

START_TEST(test_young_and_short)
{
	struct sim s = { .next_addr = 0x10000 };
	struct site_view *v;
	ssize_t n;

	s.live = live_new(0);
	s.st = sites_new();
	/* rising, but only 5 samples: suspect, not leak */
	for (int sec = 0; sec < 5; sec++) {
		tick(&s, sec);
		ck_assert_int_eq(sites_sample(s.st, s.live, sec, (uint32_t)sec * 1000 + 999), 0);
	}
	n = sites_judge(s.st, 1.0, 0.05, &v);
	ck_assert_int_eq(verdict_of(v, n, LEAK), SITE_SUSPECT);
	free(v);
	/* enough samples but every block younger than min_age: suspect */
	for (int sec = 5; sec < 20; sec++) {
		tick(&s, sec);
		ck_assert_int_eq(sites_sample(s.st, s.live, sec, (uint32_t)sec * 1000 + 999), 0);
	}
	n = sites_judge(s.st, 3600.0, 0.01, &v);
	ck_assert_int_eq(verdict_of(v, n, LEAK), SITE_SUSPECT);
	free(v);
	n = sites_judge(s.st, 5.0, 0.01, &v);
	ck_assert_int_eq(verdict_of(v, n, LEAK), SITE_LEAK);
	free(v);
	sites_free(s.st);
	live_free(s.live);
}
END_TEST

START_TEST(test_leak_that_stopped)
{
	struct live_table *live = live_new(0);
	struct site_tracker *st = sites_new();
	struct site_view *v;
	uint64_t addr = 0x1000;
	ssize_t n;

	/* grows for 10 s, then stays flat for 40 s: a cache that filled, not a leak now */
	for (int sec = 0; sec < 50; sec++) {
		for (int i = 0; sec < 10 && i < 10; i++) {
			struct live_block b = { .addr = addr, .size = 100,
						.time_ms = (uint32_t)sec * 1000, .stack_id = 7 };

			addr += 0x100;
			ck_assert_int_eq(live_insert(live, &b), 0);
		}
		ck_assert_int_eq(sites_sample(st, live, sec, (uint32_t)sec * 1000), 0);
	}
	n = sites_judge(st, 5.0, 0.01, &v);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(v[0].verdict, SITE_NONE);
	free(v);
	ck_assert_uint_eq(sites_untracked(st), 0);
	sites_free(st);
	live_free(live);
}
END_TEST

static Suite *sites_suite(void)
{
	Suite *s = suite_create("sites");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_young_and_short);
	tcase_add_test(tc, test_leak_that_stopped);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(sites_suite)
