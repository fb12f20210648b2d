#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "base/units.h"

START_TEST(test_size)
{
	uint64_t v;

	ck_assert_int_eq(units_parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(units_parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(units_parse_size("512B", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(units_parse_size("1KiB", &v), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(units_parse_size("1K", &v), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(units_parse_size("1MiB", &v), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(units_parse_size("1.5MiB", &v), 0);
	ck_assert_uint_eq(v, 1572864);
	ck_assert_int_eq(units_parse_size("2g", &v), 0);
	ck_assert_uint_eq(v, 2147483648ULL);
	ck_assert_int_eq(units_parse_size("3 GiB", &v), 0);
	ck_assert_uint_eq(v, 3221225472ULL);
}
END_TEST

START_TEST(test_size_bad)
{
	uint64_t v = 77;

	ck_assert_int_eq(units_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("MiB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1XB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1.2.3K", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("10 MiB/h", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("99999999999TiB", &v), -ERANGE);
	ck_assert_int_eq(units_parse_size(NULL, &v), -EINVAL);
	ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(test_duration)
{
	uint64_t v;

	ck_assert_int_eq(units_parse_duration("10", &v), 0);
	ck_assert_uint_eq(v, 10000000000ULL);
	ck_assert_int_eq(units_parse_duration("500ms", &v), 0);
	ck_assert_uint_eq(v, 500000000ULL);
	ck_assert_int_eq(units_parse_duration("0.5s", &v), 0);
	ck_assert_uint_eq(v, 500000000ULL);
	ck_assert_int_eq(units_parse_duration("5m", &v), 0);
	ck_assert_uint_eq(v, 300000000000ULL);
	ck_assert_int_eq(units_parse_duration("2min", &v), 0);
	ck_assert_uint_eq(v, 120000000000ULL);
	ck_assert_int_eq(units_parse_duration("1h", &v), 0);
	ck_assert_uint_eq(v, 3600000000000ULL);
	ck_assert_int_eq(units_parse_duration("1d", &v), 0);
	ck_assert_uint_eq(v, 86400000000000ULL);
	ck_assert_int_eq(units_parse_duration("0", &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_duration_bad)
{
	uint64_t v;

	ck_assert_int_eq(units_parse_duration("", &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("s", &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("-5s", &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("5 parsecs", &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("1e3s", &v), -EINVAL);
	ck_assert_int_eq(units_parse_duration("9999999999999d", &v), -ERANGE);
}
END_TEST

START_TEST(test_rate)
{
	double v;

	ck_assert_int_eq(units_parse_rate("10MiB/h", &v), 0);
	ck_assert_double_eq_tol(v, 10.0 * 1048576.0 / 3600.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("200KiB/min", &v), 0);
	ck_assert_double_eq_tol(v, 200.0 * 1024.0 / 60.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("1K/s", &v), 0);
	ck_assert_double_eq_tol(v, 1024.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("1G/d", &v), 0);
	ck_assert_double_eq_tol(v, 1073741824.0 / 86400.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("1MiB/10min", &v), 0);
	ck_assert_double_eq_tol(v, 1048576.0 / 600.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("10MiB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("10MiB/", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("10MiB/fortnight", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("/h", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("1MiB/0s", &v), -EINVAL);
}
END_TEST

START_TEST(test_format)
{
	char buf[64];

	units_format_size(512, buf, sizeof(buf));
	ck_assert_str_eq(buf, "512 B");
	units_format_size(12.5 * 1048576.0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "12.5 MiB");
	units_format_size(3.0 * 1073741824.0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3.0 GiB");
	units_format_rate(1.2 * 1048576.0 / 60.0, "min", 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "+1.2 MiB/min");
	units_format_rate(85.0 * 1048576.0 / 3600.0, "h", 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "85.0 MiB/h");
	units_format_rate(-2048.0 / 3600.0, "h", 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-2.0 KiB/h");
	units_format_duration(250 * 1000000ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "250ms");
	units_format_duration(90 * 1000000000ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1m30s");
}
END_TEST

static Suite *units_suite(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_size_bad);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_duration_bad);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(units_suite)
