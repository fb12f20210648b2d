/* check_unwind.c - the stack cut rule of unwind.c (unwind_plausible_depth), on plain frames. */
#include "config.h"

#include "check_main.h"
#include "stack/unwind.h"

/* Two modules' code, sorted: [0x400000, 0x401000) and [0x7f0000000000, 0x7f0000100000). */
static const struct unwind_range exec[] = {
    {0x400000, 0x401000},
    {0x7f0000000000, 0x7f0000100000},
};
#define N_EXEC (sizeof(exec) / sizeof(exec[0]))
#define SP0    0x7ffd00001000ULL

START_TEST(test_good_stack_kept)
{
	const uint64_t pcs[] = {0x400100, 0x400200, 0x7f0000000500, 0x400010};
	const uint64_t sps[] = {SP0 + 8, SP0 + 64, SP0 + 4096, SP0 + 4200};

	ck_assert_uint_eq(unwind_plausible_depth(pcs, sps, 4, SP0, exec, N_EXEC), 4);
	ck_assert_uint_eq(unwind_plausible_depth(pcs, sps, 0, SP0, exec, N_EXEC), 0);
	/* recursion: the same pc again, deeper in the stack, is fine */
	const uint64_t rpcs[] = {0x400100, 0x400100, 0x400100};
	const uint64_t rsps[] = {SP0 + 8, SP0 + 48, SP0 + 88};

	ck_assert_uint_eq(unwind_plausible_depth(rpcs, rsps, 3, SP0, exec, N_EXEC), 3);
}
END_TEST

/* Bad CFI reads a heap address as a return address: the stack ends before it, and before
 * whatever was unwound from it. */
START_TEST(test_pc_outside_code)
{
	const uint64_t pcs[] = {0x400100, 0x400200, 0x5575f053e2b0, 0x400010, 0x7f0000000500};
	const uint64_t sps[] = {SP0 + 8, SP0 + 64, SP0 + 96, SP0 + 200, SP0 + 300};

	ck_assert_uint_eq(unwind_plausible_depth(pcs, sps, 5, SP0, exec, N_EXEC), 2);
	/* the edges of a range */
	const uint64_t edge[] = {0x400100, 0x400fff, 0x401000};

	ck_assert_uint_eq(unwind_plausible_depth(edge, sps, 3, SP0, exec, N_EXEC), 2);
	const uint64_t low[] = {0x400100, 0x3fffff};

	ck_assert_uint_eq(unwind_plausible_depth(low, sps, 2, SP0, exec, N_EXEC), 1);
}
END_TEST

/* The stack pointer must climb: not above the previous frame's (a loop of repeated frames, a
 * garbage CFA below), or a wild jump up. */
START_TEST(test_stack_pointer_rules)
{
	const uint64_t pcs[] = {0x400100, 0x400200, 0x400300, 0x400400};
	const uint64_t same[] = {SP0 + 8, SP0 + 64, SP0 + 64, SP0 + 128};
	const uint64_t down[] = {SP0 + 8, SP0 + 64, SP0 + 32, SP0 + 128};
	const uint64_t wild[] = {SP0 + 8, SP0 + 64, SP0 + 64 + UNWIND_FRAME_BYTES_MAX + 1,
				 SP0 + 64 + UNWIND_FRAME_BYTES_MAX + 100};
	const uint64_t big[] = {SP0 + 8, SP0 + 64, SP0 + 64 + UNWIND_FRAME_BYTES_MAX,
				SP0 + 64 + UNWIND_FRAME_BYTES_MAX + 100};
	const uint64_t first_bad[] = {SP0, SP0 + 64, SP0 + 128, SP0 + 256};

	ck_assert_uint_eq(unwind_plausible_depth(pcs, same, 4, SP0, exec, N_EXEC), 2);
	ck_assert_uint_eq(unwind_plausible_depth(pcs, down, 4, SP0, exec, N_EXEC), 2);
	ck_assert_uint_eq(unwind_plausible_depth(pcs, wild, 4, SP0, exec, N_EXEC), 2);
	ck_assert_uint_eq(unwind_plausible_depth(pcs, big, 4, SP0, exec, N_EXEC), 4);
	/* the first frame is always kept, even when implausible itself */
	ck_assert_uint_eq(unwind_plausible_depth(pcs, first_bad, 4, SP0, exec, N_EXEC), 4);
	const uint64_t outside[] = {0x1234, 0x400200};

	ck_assert_uint_eq(unwind_plausible_depth(outside, same, 2, SP0, exec, N_EXEC), 2);
	/* mappings unknown (maps unreadable): only the stack pointer rules apply */
	const uint64_t wild_pcs[] = {0x1234, 0x5678, 0x9abc};
	const uint64_t up[] = {SP0 + 8, SP0 + 16, SP0 + 24};

	ck_assert_uint_eq(unwind_plausible_depth(wild_pcs, up, 3, SP0, NULL, 0), 3);
	ck_assert_uint_eq(unwind_plausible_depth(pcs, same, 4, SP0, NULL, 0), 2);
}
END_TEST

START_TEST(test_in_ranges)
{
	ck_assert(!unwind_in_ranges(exec, N_EXEC, 0));
	ck_assert(unwind_in_ranges(exec, N_EXEC, 0x400000));
	ck_assert(!unwind_in_ranges(exec, N_EXEC, 0x401000));
	ck_assert(unwind_in_ranges(exec, N_EXEC, 0x7f00000fffff));
	ck_assert(!unwind_in_ranges(exec, N_EXEC, 0x7f0000100000));
	ck_assert(!unwind_in_ranges(exec, N_EXEC, UINT64_MAX));
	ck_assert(!unwind_in_ranges(NULL, 0, 0x400000));
}
END_TEST

static Suite *unwind_suite(void)
{
	Suite *s = suite_create("unwind");
	TCase *tc = tcase_create("cut");

	tcase_add_test(tc, test_good_stack_kept);
	tcase_add_test(tc, test_pc_outside_code);
	tcase_add_test(tc, test_stack_pointer_rules);
	tcase_add_test(tc, test_in_ranges);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(unwind_suite)
