#include "config.h"

#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "config/options.h"

/* Parse a list of words as a command line; argv_ lives in the calling scope, because the parsed
 * options point into it. */
#define PARSE(opts, err, ...)                                                                      \
	(argv_ = (char *[]){ "leakmond", __VA_ARGS__, NULL },                                     \
	 options_parse(count_args(argv_), argv_, (opts), (err), sizeof(err)))

static int count_args(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

START_TEST(test_defaults)
{
	struct options o;
	char err[256];
	char **argv_;

	ck_assert_int_eq(PARSE(&o, err, "--pid", "42"), OPTIONS_RUN);
	ck_assert_uint_eq(o.n_pids, 1);
	ck_assert_int_eq(o.pids[0], 42);
	ck_assert_int_eq(o.mode, MODE_TRACE);
	ck_assert_uint_eq(o.interval_ns, 10000000000ULL);
	ck_assert_uint_eq(o.min_age_ns, 30000000000ULL);
	ck_assert_uint_eq(o.duration_ns, 0);
	ck_assert_uint_eq(o.depth, 32);
	ck_assert_int_eq(o.text, -1);
	ck_assert(o.syslog);
	ck_assert_double_eq_tol(o.alert_rss_growth, 64.0 * 1048576.0 / 3600.0, 1e-6);
	ck_assert_uint_eq(o.alert_leak_size, 1048576);
	ck_assert_ptr_null(o.program);
}
END_TEST

START_TEST(test_all_options)
{
	struct options o;
	char err[256];
	char **argv_;

	int r;

	r = PARSE(&o, err, "-p", "1", "--pid=2", "-p", "1", "-m", "rss", "-i", "500ms",
			       "-d", "1m", "--min-age", "5s", "--depth", "8", "-o", "-", "-r",
			       "/tmp/r.json", "--no-text", "--no-syslog", "--alert-rss-growth",
			       "1MiB/min", "--alert-leak-size", "2MiB", "-v", "-v");
	ck_assert_int_eq(r, OPTIONS_RUN);
	ck_assert_uint_eq(o.n_pids, 2); /* a pid given twice is watched once */
	ck_assert_int_eq(o.pids[1], 2);
	ck_assert_int_eq(o.mode, MODE_RSS);
	ck_assert_uint_eq(o.interval_ns, 500000000ULL);
	ck_assert_uint_eq(o.duration_ns, 60000000000ULL);
	ck_assert_uint_eq(o.min_age_ns, 5000000000ULL);
	ck_assert_uint_eq(o.depth, 8);
	ck_assert_str_eq(o.log_path, "-");
	ck_assert_str_eq(o.report_path, "/tmp/r.json");
	ck_assert_int_eq(o.text, 0);
	ck_assert(!o.syslog);
	ck_assert_double_eq_tol(o.alert_rss_growth, 1048576.0 / 60.0, 1e-6);
	ck_assert_uint_eq(o.alert_leak_size, 2097152);
	ck_assert_int_eq(o.verbosity, 2);
}
END_TEST

/* Durations in the systemd.time(7) forms, as one argument each. */
START_TEST(test_systemd_durations)
{
	struct options o;
	char err[256];
	char **argv_;
	int r;

	r = PARSE(&o, err, "--pid", "1", "--interval", "1min 30s", "--duration", "1h 30min",
		  "--min-age", "2min5s", "--stack-copy", "16K", "--alert-rss-growth", "1G/d");
	ck_assert_msg(r == OPTIONS_RUN, "result %d: %s", r, err);
	ck_assert_uint_eq(o.interval_ns, 90000000000ULL);
	ck_assert_uint_eq(o.duration_ns, 5400000000000ULL);
	ck_assert_uint_eq(o.min_age_ns, 125000000000ULL);
	ck_assert_uint_eq(o.stack_copy, 16384);
	ck_assert_double_eq_tol(o.alert_rss_growth, 1073741824.0 / 86400.0, 1e-6);

	r = PARSE(&o, err, "--pid", "1", "--interval", "250msec", "--duration", "2hours");
	ck_assert_msg(r == OPTIONS_RUN, "result %d: %s", r, err);
	ck_assert_uint_eq(o.interval_ns, 250000000ULL);
	ck_assert_uint_eq(o.duration_ns, 7200000000000ULL);
	ck_assert_uint_eq(o.min_age_ns, 750000000ULL); /* 3 x interval */
}
END_TEST

START_TEST(test_program)
{
	struct options o;
	char err[256];
	char **argv_;

	int r;

	/* outside ck_assert: the options point into argv_, which must outlive the assertion's block */
	r = PARSE(&o, err, "--mode", "rss", "--", "/bin/prog", "-x", "--pid", "3");
	ck_assert_int_eq(r, OPTIONS_RUN);
	ck_assert_ptr_nonnull(o.program);
	ck_assert_str_eq(o.program[0], "/bin/prog");
	ck_assert_str_eq(o.program[1], "-x");
	ck_assert_str_eq(o.program[2], "--pid"); /* after "--" everything is the program's */
	ck_assert_ptr_null(o.program[4]);
	ck_assert_uint_eq(o.n_pids, 0);
	ck_assert_uint_eq(o.min_age_ns, 30000000000ULL);
}
END_TEST

START_TEST(test_help_version)
{
	struct options o;
	char err[256];
	char **argv_;

	ck_assert_int_eq(PARSE(&o, err, "--help"), OPTIONS_HELP);
	ck_assert_int_eq(PARSE(&o, err, "-V"), OPTIONS_VERSION);
	ck_assert_ptr_nonnull(strstr(options_usage(), "--alert-rss-growth"));
}
END_TEST

struct bad_case {
	const char *args[4];
	const char *needle; /* must appear in the message */
};

static const struct bad_case bad_cases[] = {
	{ { "--pid", "abc" }, "invalid pid 'abc'" },
	{ { "--pid", "0" }, "invalid pid '0'" },
	{ { "--pid", "-5" }, "invalid pid '-5'" },
	{ { "--pid", "99999999999" }, "invalid pid" },
	{ { "--pid" }, "needs an argument" },
	{ { "--bogus" }, "unknown option '--bogus'" },
	{ { "-x", "--pid", "1" }, "unknown option '-x'" },
	{ { "--pid", "1", "--mode", "heap" }, "invalid mode 'heap'" },
	{ { "--pid", "1", "--interval", "fast" }, "invalid interval 'fast'" },
	{ { "--pid", "1", "--interval", "1ms" }, "between 10ms and 1d" },
	{ { "--pid", "1", "--duration", "0" }, "invalid duration '0'" },
	{ { "--pid", "1", "--depth", "0" }, "invalid depth '0'" },
	{ { "--pid", "1", "--depth", "129" }, "invalid depth '129'" },
	{ { "--pid", "1", "--alert-rss-growth", "10MiB" }, "--alert-rss-growth" },
	{ { "--pid", "1", "--alert-leak-size", "big" }, "--alert-leak-size" },
	{ { "--pid", "1", "--min-age", "old" }, "invalid min-age 'old'" },
	/* unit suffixes are case-sensitive: 10Ms is not 10 ms */
	{ { "--pid", "1", "--interval", "10Ms" }, "invalid interval '10Ms'" },
	{ { "--pid", "1", "--interval", "10S" }, "invalid interval '10S'" },
	{ { "--pid", "1", "--duration", "1H" }, "invalid duration '1H'" },
	{ { "--pid", "1", "--duration", "1h 30" }, "invalid duration '1h 30'" },
	{ { "--pid", "1", "--min-age", "5Min" }, "invalid min-age '5Min'" },
	{ { "--pid", "1", "--stack-copy", "8kib" }, "invalid stack copy size '8kib'" },
	{ { "--pid", "1", "--alert-leak-size", "1mib" }, "--alert-leak-size" },
	{ { "--pid", "1", "--alert-rss-growth", "10MiB/H" }, "--alert-rss-growth" },
	{ { "--pid", "1", "stray" }, "unexpected argument 'stray'" },
	{ { "--mode", "rss" }, "nothing to watch" },
	{ { "--pid", "1", "--" }, "no program given" },
	{ { "--config", "/x", "--pid", "1" }, "cannot be combined" },
	{ { "--pid", "1", "--log", "" }, "empty path" },
	{ { "--pid", "1", "--max-overhead", "5" }, "invalid share '5' for --max-overhead" },
	{ { "--pid", "1", "--max-overhead", "120%" }, "invalid share '120%'" },
	{ { "--pid", "1", "--max-traced", "0" }, "invalid count '0' for --max-traced" },
	{ { "--pid", "1", "--escalate-after", "soon" }, "--escalate-after" },
	{ { "--pid", "1", "--trace-window", "0" }, "--trace-window" },
	{ { "--pid", "1", "--report-interval", "1ms" }, "--report-interval" },
	{ { "--pid", "1", "--metrics", "" }, "empty path" },
	{ { "--pid", "1", "--max-memory", "lots" }, "--max-memory" },
};

START_TEST(test_fleet_options)
{
	struct options o;
	char err[256];
	char **argv_;

	ck_assert_int_eq(PARSE(&o, err, "--pid", "42"), OPTIONS_RUN);
	ck_assert_uint_eq(o.escalate_after_ns, 600000000000ULL);
	ck_assert_uint_eq(o.trace_window_ns, 300000000000ULL);
	ck_assert_uint_eq(o.max_traced, 2);
	ck_assert(o.max_overhead < 0);
	ck_assert_uint_eq(o.report_interval_ns, 0);
	ck_assert_ptr_null(o.metrics_path);
	ck_assert_uint_eq(o.max_memory, 0);
	ck_assert(!o.debuginfod);
	ck_assert_int_eq(PARSE(&o, err, "--pid", "42", "--debuginfod"), OPTIONS_RUN);
	ck_assert(o.debuginfod);
	ck_assert_int_eq(PARSE(&o, err, "--pid", "42", "--debuginfod", "--no-debuginfod"), OPTIONS_RUN);
	ck_assert(!o.debuginfod);

	ck_assert_int_eq(PARSE(&o, err, "--pid", "42", "--mode", "auto", "--escalate-after", "3s",
			       "--trace-window", "1min 30s", "--max-traced", "1", "--max-overhead",
			       "2%", "--report-interval", "1min", "--metrics", "/tmp/m.prom",
			       "--max-memory", "64MiB"),
			 OPTIONS_RUN);
	ck_assert_int_eq(o.mode, MODE_AUTO);
	ck_assert_str_eq(options_mode_name(o.mode), "auto");
	ck_assert_uint_eq(o.escalate_after_ns, 3000000000ULL);
	ck_assert_uint_eq(o.trace_window_ns, 90000000000ULL);
	ck_assert_uint_eq(o.max_traced, 1);
	ck_assert_double_eq_tol(o.max_overhead, 0.02, 1e-12);
	ck_assert_uint_eq(o.report_interval_ns, 60000000000ULL);
	ck_assert_str_eq(o.metrics_path, "/tmp/m.prom");
	ck_assert_uint_eq(o.max_memory, 64 << 20);
}
END_TEST

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	char *argv[6] = { "leakmond" };
	struct options o;
	char err[256] = "";
	int argc = 1;

	for (int k = 0; k < 4 && c->args[k]; k++)
		argv[argc++] = (char *)c->args[k];
	ck_assert_int_eq(options_parse(argc, argv, &o, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, c->needle), "case %d: message '%s' lacks '%s'", _i, err,
		      c->needle);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_fleet_options);
	tcase_add_test(tc, test_all_options);
	tcase_add_test(tc, test_systemd_durations);
	tcase_add_test(tc, test_program);
	tcase_add_test(tc, test_help_version);
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(options_suite)
