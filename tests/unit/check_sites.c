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

/* The aggregation's scratch is sized by distinct stacks, not blocks. Before, it took 2 slots of
 * 40 bytes per live block (84 B per block at 2 Mi blocks, the largest part of the 135-140 B per
 * block measured in issue 12), and above 2 Mi live blocks it gave up: every site held nothing. */
START_TEST(test_many_blocks_few_stacks)
{
	const size_t n_blocks = (2U << 20) + 4096;
	struct live_table *live = live_new(0);
	struct site_tracker *st = sites_new();
	struct site_view *v;
	ssize_t n;

	ck_assert_ptr_nonnull(live);
	ck_assert_ptr_nonnull(st);
	for (size_t i = 0; i < n_blocks; i++) {
		struct live_block b = { .addr = 0x10000 + i * 32, .size = 16 + i % 3,
					.time_ms = 0, .stack_id = 1 + (uint32_t)(i % 3) };

		ck_assert_int_eq(live_insert(live, &b), 0);
	}
	ck_assert_int_eq(sites_sample(st, live, 1.0, 1000), 0);
	ck_assert_int_eq(sites_sample(st, live, 2.0, 2000), 0);
	n = sites_judge(st, 0.0, 0.01, &v);
	ck_assert_int_eq(n, 3);
	for (ssize_t i = 0; i < n; i++) {
		ck_assert_uint_eq(v[i].live_blocks, n_blocks / 3 + (v[i].stack_id - 1 < n_blocks % 3));
		ck_assert_uint_eq(v[i].live_bytes, v[i].live_blocks * (16 + v[i].stack_id - 1));
	}
	free(v);
	/* the fixed site table plus 3 sites' series: nothing per block */
	ck_assert_uint_lt(sites_memory_bytes(st), 2U << 20);
	ck_assert_uint_eq(sites_untracked(st), 0);
	sites_free(st);
	live_free(live);
}
END_TEST

/* Many distinct stacks: the scratch doubles while the live table is walked, and every block
 * still lands on its own stack. */
START_TEST(test_many_stacks)
{
	const uint32_t n_stacks = 20000;
	struct live_table *live = live_new(0);
	struct site_tracker *st = sites_new();
	struct site_view *v;
	uint64_t total = 0;
	ssize_t n;

	for (uint32_t i = 0; i < 3 * n_stacks; i++) {
		struct live_block b = { .addr = 0x10000 + (uint64_t)i * 64, .size = 1 + i % n_stacks,
					.time_ms = 0, .stack_id = 1 + i % n_stacks };

		ck_assert_int_eq(live_insert(live, &b), 0);
	}
	ck_assert_int_eq(sites_sample(st, live, 1.0, 1000), 0);
	n = sites_judge(st, 0.0, 0.01, &v);
	ck_assert_int_eq(n, SITES_MAX); /* the largest ones tracked */
	for (ssize_t i = 0; i < n; i++) {
		ck_assert_uint_eq(v[i].live_blocks, 3);
		ck_assert_uint_eq(v[i].live_bytes, 3 * (uint64_t)v[i].stack_id);
		total += v[i].live_bytes;
	}
	/* the SITES_MAX largest: stacks n_stacks - SITES_MAX + 1 .. n_stacks */
	ck_assert_uint_eq(total, 3 * ((uint64_t)n_stacks * (n_stacks + 1) / 2 -
				      (uint64_t)(n_stacks - SITES_MAX) * (n_stacks - SITES_MAX + 1) / 2));
	ck_assert_uint_eq(sites_untracked(st), n_stacks - SITES_MAX);
	free(v);
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
	tcase_add_test(tc, test_many_blocks_few_stacks);
	tcase_add_test(tc, test_many_stacks);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(sites_suite)
