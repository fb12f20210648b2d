/* check_escape.c - target-derived strings made safe for text output and file names. */
#include "config.h"

#include <string.h>

#include "check_main.h"
#include "base/escape.h"
#include "base/util.h"

START_TEST(test_text_plain)
{
	char buf[64];

	ck_assert_str_eq(escape_text(buf, sizeof(buf), "nginx: worker"), "nginx: worker");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "a\\b"), "a\\b");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "caf\xc3\xa9 \xe2\x82\xac"),
			 "caf\xc3\xa9 \xe2\x82\xac");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), NULL), "");
	ck_assert(escape_is_clean("caf\xc3\xa9"));
	ck_assert(escape_is_clean(""));
}
END_TEST

START_TEST(test_text_controls)
{
	char buf[64];

	ck_assert_str_eq(escape_text(buf, sizeof(buf), "\x1b[2J.evil"), "\\x1b[2J.evil");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "a\nb\tc\r"), "a\\x0ab\\x09c\\x0d");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "del\x7f"), "del\\x7f");
	/* C1 CSI as UTF-8 (U+009B) and as a raw byte */
	ck_assert_str_eq(escape_text(buf, sizeof(buf),
				     "\xc2\x9b"
				     "1m"),
			 "\\xc2\\x9b1m");
	ck_assert_str_eq(escape_text(buf, sizeof(buf),
				     "\x9b"
				     "1m"),
			 "\\x9b1m");
	/* invalid UTF-8: truncated, overlong, surrogate */
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "\xe2\x82"), "\\xe2\\x82");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "\xc0\xaf"), "\\xc0\\xaf");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "\xed\xa0\x80"), "\\xed\\xa0\\x80");
	ck_assert(!escape_is_clean("\x1b"));
	ck_assert(!escape_is_clean("\xff"));
}
END_TEST

START_TEST(test_text_truncate)
{
	char buf[8];

	/* never half an escape or half a character */
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "abcd\x1b"), "abcd");
	ck_assert_str_eq(escape_text(buf, sizeof(buf),
				     "abc\x1b"
				     "z"),
			 "abc\\x1b");
	ck_assert_str_eq(escape_text(buf, sizeof(buf), "abcdef\xc3\xa9"), "abcdef");
	ck_assert_str_eq(escape_text(buf, 1, "abc"), "");
}
END_TEST

START_TEST(test_text_dup)
{
	char *s = escape_text_dup("\x01\x02\x03");

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "\\x01\\x02\\x03");
	free(s);
}
END_TEST

START_TEST(test_stem)
{
	char buf[32];

	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), "nginx"), "nginx");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), "my-app_2.1"), "my-app_2.1");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), ".hidden"), "_hidden");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), "-rf"), "_rf");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), ".."), "_.");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), "../etc/x"), "_._etc_x");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), "\x1b[2J"), "__2J");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), "a b\n"), "a_b_");
	ck_assert_str_eq(escape_file_stem(buf, sizeof(buf), ""), "_");
	ck_assert_str_eq(escape_file_stem(buf, 4, "abcdef"), "abc");
	ck_assert_ptr_null(strchr(escape_file_stem(buf, sizeof(buf), "/a/b/"), '/'));
}
END_TEST

static Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_text_plain);
	tcase_add_test(tc, test_text_controls);
	tcase_add_test(tc, test_text_truncate);
	tcase_add_test(tc, test_text_dup);
	tcase_add_test(tc, test_stem);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(escape_suite)
