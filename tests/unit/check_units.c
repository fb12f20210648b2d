#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "base/units.h"
#include "base/util.h"

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
	ck_assert_int_eq(units_parse_size("2G", &v), 0);
	ck_assert_uint_eq(v, 2147483648ULL);
	ck_assert_int_eq(units_parse_size("3 GiB", &v), 0);
	ck_assert_uint_eq(v, 3221225472ULL);
	ck_assert_int_eq(units_parse_size("1M", &v), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(units_parse_size("1T", &v), 0);
	ck_assert_uint_eq(v, 1099511627776ULL);
	ck_assert_int_eq(units_parse_size("2TiB", &v), 0);
	ck_assert_uint_eq(v, 2199023255552ULL);
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
	/* units are case-sensitive */
	ck_assert_int_eq(units_parse_size("2g", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1k", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1kib", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1MIB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("512b", &v), -EINVAL);
	/* no decimal units, no blanks around the value */
	ck_assert_int_eq(units_parse_size("1KB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1kB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1MB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size(" 1MiB", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1MiB ", &v), -EINVAL);
	ck_assert_int_eq(units_parse_size("1 ", &v), -EINVAL);
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
	ck_assert_int_eq(units_parse_duration("0.25", &v), 0);
	ck_assert_uint_eq(v, 250000000ULL);
}
END_TEST

#define S_NS(n) ((uint64_t)(n) * 1000000000ULL)

/* The time span forms of systemd.time(7). */
static const struct {
	const char *text;
	uint64_t ns;
} span_cases[] = {
	{ "1h 30min", S_NS(5400) },
	{ "1h30min", S_NS(5400) },
	{ "2min 5s", S_NS(125) },
	{ "2min\t5s", S_NS(125) },
	{ "55s500ms", 55500000000ULL },
	{ "300ms20s 5day", 300000000ULL + S_NS(20) + S_NS(5 * 86400) },
	{ "1.5h", S_NS(5400) },
	{ "2 h", S_NS(7200) },
	{ "2hours", S_NS(7200) },
	{ "48hr", S_NS(48 * 3600) },
	{ "1hour", S_NS(3600) },
	{ "3sec", S_NS(3) },
	{ "1second", S_NS(1) },
	{ "10seconds", S_NS(10) },
	{ "1minute", S_NS(60) },
	{ "5minutes", S_NS(300) },
	{ "1day", S_NS(86400) },
	{ "2days", S_NS(2 * 86400) },
	{ "1w", S_NS(604800) },
	{ "1week", S_NS(604800) },
	{ "2weeks", S_NS(2 * 604800) },
	{ "1M", S_NS(2629800) },
	{ "1month", S_NS(2629800) },
	{ "2months", S_NS(2 * 2629800) },
	{ "1y", S_NS(31557600) },
	{ "1year", S_NS(31557600) },
	{ "1y 12month", S_NS(31557600) + S_NS(12 * 2629800) },
	{ "2years", S_NS(2 * 31557600) },
	{ "250msec", 250000000ULL },
	{ "10us", 10000 },
	{ "10usec", 10000 },
	{ "10\xc2\xb5s", 10000 }, /* U+00B5 MICRO SIGN */
	{ "10\xce\xbcs", 10000 }, /* U+03BC GREEK SMALL LETTER MU */
	{ "7ns", 7 },
	{ "7nsec", 7 },
	{ "1d 1h 1min 1s 1ms", S_NS(90061) + 1000000 },
	{ "5m", S_NS(300) }, /* m is minutes, M months */
	{ "0s", 0 },
	{ "200y", S_NS(200ULL * 31557600) },
};

START_TEST(test_duration_systemd)
{
	uint64_t v = 77;

	ck_assert_msg(units_parse_duration(span_cases[_i].text, &v) == 0, "'%s' refused",
		      span_cases[_i].text);
	ck_assert_msg(v == span_cases[_i].ns, "'%s': %llu ns, expected %llu", span_cases[_i].text,
		      (unsigned long long)v, (unsigned long long)span_cases[_i].ns);
}
END_TEST

/* Refused: wrong case, unknown units, a bare number after a unit, stray blanks or characters. */
static const char *const bad_spans[] = {
	"10Ms", "10MS", "10S", "10Sec", "1H", "5Min", "1D", "2W", "1Y", "10MSEC", "3Us", "1Hour",
	"1h 30", "30 1h", "1h,30min", "1h+30min", "1hh", "10s ms", "ms10", "1.2.3s", "1e3s",
	" 10s", "10s ", "10 ", "1h  ", "\t5s", "-5s", "1h -5min", "+5s", "5 parsecs", "5sec5",
	"1m30", "0x10s", "10\xc2s", "infinity",
};

START_TEST(test_duration_systemd_bad)
{
	uint64_t v = 77;

	ck_assert_msg(units_parse_duration(bad_spans[_i], &v) == -EINVAL, "'%s' accepted",
		      bad_spans[_i]);
	ck_assert_uint_eq(v, 77);
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
	ck_assert_int_eq(units_parse_duration("300y", &v), -ERANGE);
	ck_assert_int_eq(units_parse_duration("200y 200y", &v), -ERANGE);
	ck_assert_int_eq(units_parse_duration(NULL, &v), -EINVAL);
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
	ck_assert_int_eq(units_parse_rate("1MiB/10 min", &v), 0);
	ck_assert_double_eq_tol(v, 1048576.0 / 600.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("1MiB/hr", &v), 0);
	ck_assert_double_eq_tol(v, 1048576.0 / 3600.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("1MiB/hour", &v), 0);
	ck_assert_double_eq_tol(v, 1048576.0 / 3600.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("7MiB/w", &v), 0);
	ck_assert_double_eq_tol(v, 7.0 * 1048576.0 / 604800.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("1KiB/500ms", &v), 0);
	ck_assert_double_eq_tol(v, 2048.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("1G/M", &v), 0); /* per month */
	ck_assert_double_eq_tol(v, 1073741824.0 / 2629800.0, 1e-9);
	ck_assert_int_eq(units_parse_rate("10MiB", &v), -EINVAL);
	/* case-sensitive units, on both sides */
	ck_assert_int_eq(units_parse_rate("10MiB/H", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("10MiB/Min", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("10mib/h", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("10kib/s", &v), -EINVAL);
	/* one time part only, no blanks around it */
	ck_assert_int_eq(units_parse_rate("1MiB/1h 30min", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("1MiB/1h30min", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("1MiB/ h", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("1MiB /h", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("1MiB/h ", &v), -EINVAL);
	ck_assert_int_eq(units_parse_rate("1MiB/10", &v), -EINVAL);
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

START_TEST(test_percent)
{
	static const char *const bad[] = { "", "%", "5", "5%%", "-5%", "101%", " 5%", "5% ", "5 x",
					   "five%", "1e2%" };
	double v;

	ck_assert_int_eq(units_parse_percent("5%", &v), 0);
	ck_assert_double_eq_tol(v, 0.05, 1e-12);
	ck_assert_int_eq(units_parse_percent("0.5 %", &v), 0);
	ck_assert_double_eq_tol(v, 0.005, 1e-12);
	ck_assert_int_eq(units_parse_percent("100%", &v), 0);
	ck_assert_double_eq_tol(v, 1.0, 1e-12);
	ck_assert_int_eq(units_parse_percent("0", &v), 0);
	ck_assert_double_eq_tol(v, 0.0, 1e-12);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(units_parse_percent(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
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
	tcase_add_loop_test(tc, test_duration_systemd, 0, (int)ARRAY_SIZE(span_cases));
	tcase_add_loop_test(tc, test_duration_systemd_bad, 0, (int)ARRAY_SIZE(bad_spans));
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_percent);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(units_suite)
