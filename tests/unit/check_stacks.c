/* Unit tests of stacks.c: interning call stacks. */
#include "config.h"

#include <string.h>

#include "check_main.h"
#include "heap/stacks.h"

START_TEST(test_intern)
{
	struct stack_table *t = stacks_new(0);
	uint64_t a[3] = { 0x401000, 0x402000, 0x403000 }, b[3] = { 0x401000, 0x402000, 0x403001 };
	const uint64_t *pcs;
	uint32_t ia, ib;

	ck_assert_ptr_nonnull(t);
	ia = stacks_intern(t, a, 3);
	ib = stacks_intern(t, b, 3);
	ck_assert_uint_ne(ia, 0);
	ck_assert_uint_ne(ib, 0);
	ck_assert_uint_ne(ia, ib);
	ck_assert_uint_eq(stacks_intern(t, a, 3), ia);
	ck_assert_uint_ne(stacks_intern(t, a, 2), ia); /* a prefix is another stack */
	ck_assert_uint_eq(stacks_get(t, ia, &pcs), 3);
	ck_assert_int_eq(memcmp(pcs, a, sizeof(a)), 0);
	ck_assert_uint_eq(stacks_get(t, 0, &pcs), 0);
	ck_assert_uint_eq(stacks_get(t, 999, &pcs), 0);
	ck_assert_uint_eq(stacks_intern(t, a, 0), 0);
	ck_assert_uint_eq(stacks_intern(t, a, STACKS_DEPTH_MAX + 1), 0);
	stacks_free(t);
}
END_TEST

START_TEST(test_many_and_cap)
{
	struct stack_table *t = stacks_new(5000);
	struct stacks_stats st;
	uint64_t pcs[8];
	uint32_t ids[5000];

	for (uint32_t i = 0; i < 5000; i++) {
		for (int k = 0; k < 8; k++)
			pcs[k] = 0x400000 + i * 64 + (uint64_t)k;
		ids[i] = stacks_intern(t, pcs, 1 + i % 8);
		ck_assert_uint_eq(ids[i], i + 1); /* dense ids */
	}
	for (uint32_t i = 0; i < 5000; i++) {
		const uint64_t *got;

		for (int k = 0; k < 8; k++)
			pcs[k] = 0x400000 + i * 64 + (uint64_t)k;
		ck_assert_uint_eq(stacks_intern(t, pcs, 1 + i % 8), ids[i]);
		ck_assert_uint_eq(stacks_get(t, ids[i], &got), 1 + i % 8);
		ck_assert_uint_eq(got[0], pcs[0]);
	}
	pcs[0] = 1; /* a new stack beyond the cap */
	ck_assert_uint_eq(stacks_intern(t, pcs, 1), 0);
	stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.stacks, 5000);
	ck_assert_uint_eq(st.overflow, 1);
	ck_assert_uint_gt(st.memory_bytes, st.pcs * 8);
	stacks_free(t);
}
END_TEST

static Suite *stacks_suite(void)
{
	Suite *s = suite_create("stacks");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_intern);
	tcase_add_test(tc, test_many_and_cap);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stacks_suite)
