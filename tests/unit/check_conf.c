#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "config/conf.h"

#define S_NS(n)	 ((uint64_t)(n) * 1000000000ULL)
#define MIB	 1048576.0

static struct conf untouched;

/* Parse text as "t.conf"; it must fail with -EINVAL, exactly this message, and no conf. */
#define EXPECT_ERROR(text, msg)                                                                    \
	do {                                                                                       \
		char err_[1024];                                                                   \
		struct conf *c_ = &untouched;                                                      \
		int r_ = conf_parse_string((text), "t.conf", &c_, err_, sizeof(err_));             \
                                                                                                   \
		ck_assert_msg(r_ == -EINVAL, "result %d, message '%s'", r_, err_);                 \
		ck_assert_ptr_eq(c_, &untouched);                                                  \
		ck_assert_str_eq(err_, (msg));                                                     \
	} while (0)

static struct conf *parse_ok(const char *text)
{
	char err[1024] = "";
	struct conf *c = NULL;
	int r = conf_parse_string(text, "t.conf", &c, err, sizeof(err));

	ck_assert_msg(r == 0, "result %d, message '%s'", r, err);
	ck_assert_ptr_nonnull(c);
	return c;
}

static void check_good(const struct conf *c)
{
	const struct watch_config *w;

	ck_assert_uint_eq(c->global.interval_ns, S_NS(5));
	ck_assert_int_eq(c->global.mode, MODE_RSS);
	ck_assert_str_eq(c->global.log_dir, "/tmp/leakmond-test/log");
	ck_assert_str_eq(c->global.report_dir, "/tmp/leakmond-test/reports");
	ck_assert(!c->global.syslog);
	ck_assert_uint_eq(c->global.min_age_ns, S_NS(60));
	ck_assert_uint_eq(c->global.depth, 16);
	ck_assert_double_eq_tol(c->global.alert_rss_growth, 10 * MIB / 3600, 1e-6);
	ck_assert_uint_eq(c->global.alert_leak_size, 512 * 1024);

	ck_assert_uint_eq(c->n_watches, 4);

	w = &c->watches[0];
	ck_assert_str_eq(w->name, "by pid");
	ck_assert_int_eq(w->selector, SELECT_PID);
	ck_assert_int_eq(w->pid, 1234);
	ck_assert_str_eq(w->value, "1234");
	ck_assert_uint_eq(w->line, 14);
	ck_assert_mem_eq(&w->s, &c->global, sizeof(w->s)); /* nothing overridden */

	w = &c->watches[1];
	ck_assert_str_eq(w->name, "web");
	ck_assert_int_eq(w->selector, SELECT_COMM);
	ck_assert_int_eq(w->pid, 0);
	ck_assert_str_eq(w->value, "nginx");
	ck_assert_uint_eq(w->line, 17);
	ck_assert_int_eq(w->s.mode, MODE_TRACE);
	ck_assert_uint_eq(w->s.depth, 64);
	ck_assert_uint_eq(w->s.interval_ns, S_NS(5));
	ck_assert_uint_eq(w->s.min_age_ns, S_NS(60));
	ck_assert_str_eq(w->s.log_dir, "/tmp/leakmond-test/log");
	ck_assert_str_eq(w->s.report_dir, "/tmp/leakmond-test/reports");
	ck_assert(!w->s.syslog);
	ck_assert_double_eq_tol(w->s.alert_rss_growth, 10 * MIB / 3600, 1e-6);
	ck_assert_uint_eq(w->s.alert_leak_size, 512 * 1024);

	w = &c->watches[2];
	ck_assert_str_eq(w->name, "db");
	ck_assert_int_eq(w->selector, SELECT_EXE);
	ck_assert_str_eq(w->value, "/usr/sbin/postgres");
	ck_assert_uint_eq(w->line, 22);
	ck_assert_uint_eq(w->s.interval_ns, S_NS(30));
	ck_assert_uint_eq(w->s.min_age_ns, S_NS(60)); /* set in [global]: not 3 x 30s */
	ck_assert_int_eq(w->s.mode, MODE_RSS);
	ck_assert_uint_eq(w->s.depth, 16);
	ck_assert_str_eq(w->s.log_dir, "/srv/log");
	ck_assert_str_eq(w->s.report_dir, "/srv/reports");
	ck_assert(w->s.syslog);
	ck_assert_double_eq_tol(w->s.alert_rss_growth, 1024 * MIB / 86400, 1e-6);
	ck_assert_uint_eq(w->s.alert_leak_size, 4 * 1048576);

	w = &c->watches[3];
	ck_assert_str_eq(w->name, "cron");
	ck_assert_int_eq(w->selector, SELECT_UNIT);
	ck_assert_str_eq(w->value, "cron.service");
	ck_assert_uint_eq(w->line, 31);
	ck_assert_uint_eq(w->s.min_age_ns, S_NS(120));
	ck_assert_uint_eq(w->s.interval_ns, S_NS(5));
}

START_TEST(test_good_file)
{
	char err[1024] = "";
	struct conf *c = NULL;
	int r = conf_load(TEST_DATA_DIR "/leakmond-good.conf", &c, err, sizeof(err));

	ck_assert_msg(r == 0, "result %d, message '%s'", r, err);
	ck_assert_str_eq(c->path, TEST_DATA_DIR "/leakmond-good.conf");
	check_good(c);
	c = conf_free(c);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_shipped_example)
{
	char err[1024] = "";
	struct conf *c = NULL;
	int r = conf_load(TEST_DATA_DIR "/../../etc/leakmond.conf", &c, err, sizeof(err));
	struct watch_settings d;

	ck_assert_msg(r == 0, "result %d, message '%s'", r, err);
	conf_settings_init(&d);
	ck_assert_mem_eq(&c->global, &d, sizeof(d)); /* it documents the defaults */
	ck_assert_uint_ge(c->n_watches, 1);
	conf_free(c);
}
END_TEST

START_TEST(test_good_string)
{
	/* the same file as a string: same result, path is the name */
	FILE *f = fopen(TEST_DATA_DIR "/leakmond-good.conf", "r");
	char text[4096];
	size_t n;
	struct conf *c;

	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	c = parse_ok(text);
	ck_assert_str_eq(c->path, "t.conf");
	check_good(c);
	conf_free(c);
}
END_TEST

START_TEST(test_defaults)
{
	struct conf *c = parse_ok("[watch a]\ncomm = a\n");
	const struct watch_settings *s = &c->watches[0].s;

	ck_assert_int_eq(s->mode, MODE_TRACE);
	ck_assert_uint_eq(s->interval_ns, S_NS(10));
	ck_assert_uint_eq(s->min_age_ns, S_NS(30));
	ck_assert_uint_eq(s->depth, 32);
	ck_assert(s->syslog);
	ck_assert_double_eq_tol(s->alert_rss_growth, 64 * MIB / 3600, 1e-6);
	ck_assert_uint_eq(s->alert_leak_size, 1048576);
	ck_assert_str_eq(s->log_dir, "/var/log/leakmond");
	ck_assert_str_eq(s->report_dir, "/var/lib/leakmond");
	ck_assert_mem_eq(s, &c->global, sizeof(*s));
	conf_free(c);
}
END_TEST

START_TEST(test_global_after_watches)
{
	struct conf *c = parse_ok("[watch a]\n"
				  "comm = a\n"
				  "depth = 8\n"
				  "[watch b]\n"
				  "pid = 42\n"
				  "[global]\n"
				  "mode = rss\n"
				  "depth = 100\n"
				  "interval = 2s\n"
				  "log_dir = /l\n");

	ck_assert_uint_eq(c->n_watches, 2);
	ck_assert_int_eq(c->watches[0].s.mode, MODE_RSS);
	ck_assert_uint_eq(c->watches[0].s.depth, 8);
	ck_assert_uint_eq(c->watches[0].s.interval_ns, S_NS(2));
	ck_assert_uint_eq(c->watches[0].s.min_age_ns, S_NS(6));
	ck_assert_str_eq(c->watches[0].s.log_dir, "/l");
	ck_assert_int_eq(c->watches[1].s.mode, MODE_RSS);
	ck_assert_uint_eq(c->watches[1].s.depth, 100);
	ck_assert_uint_eq(c->watches[1].s.interval_ns, S_NS(2));
	ck_assert_str_eq(c->watches[1].s.log_dir, "/l");
	conf_free(c);
}
END_TEST

START_TEST(test_overrides)
{
	struct conf *c = parse_ok("[global]\n"
				  "interval = 1s\n"
				  "syslog = off\n"
				  "[watch a]\n"
				  "unit = app@1.service\n"
				  "interval = 4s\n" /* min_age follows: 3 x 4s */
				  "syslog = ON\n"
				  "report_dir = /r\n"
				  "[watch b]\n"
				  "  exe = /opt/b/bin/b\n" /* leading blanks: not a continuation */
				  "  min_age = 500ms\n"
				  "[watch c]\n"
				  "unit = user.slice\n");
	const struct watch_config *w = c->watches;

	ck_assert_uint_eq(c->global.min_age_ns, S_NS(3));
	ck_assert_str_eq(w[0].value, "app@1.service");
	ck_assert_uint_eq(w[0].s.interval_ns, S_NS(4));
	ck_assert_uint_eq(w[0].s.min_age_ns, S_NS(12));
	ck_assert(w[0].s.syslog);
	ck_assert_str_eq(w[0].s.report_dir, "/r");
	ck_assert_str_eq(w[0].s.log_dir, "/var/log/leakmond");
	ck_assert_str_eq(w[1].value, "/opt/b/bin/b");
	ck_assert_uint_eq(w[1].s.interval_ns, S_NS(1));
	ck_assert_uint_eq(w[1].s.min_age_ns, 500000000ULL);
	ck_assert(!w[1].s.syslog);
	ck_assert_str_eq(w[2].value, "user.slice");
	ck_assert_uint_eq(w[2].s.min_age_ns, S_NS(3));
	conf_free(c);
}
END_TEST

/* Durations in the systemd.time(7) forms, blanks inside the value, a comment after it. */
START_TEST(test_systemd_durations)
{
	struct conf *c = parse_ok("[global]\n"
				  "interval = 1min 30s\n"
				  "min_age = 1h 30min   # an hour and a half\n"
				  "alert_rss_growth = 100MiB/hr\n"
				  "[watch a]\n"
				  "comm = a\n"
				  "interval = 2sec\n"
				  "min_age = 2min5s\n"
				  "alert_leak_size = 2M\n");

	ck_assert_uint_eq(c->global.interval_ns, S_NS(90));
	ck_assert_uint_eq(c->global.min_age_ns, S_NS(5400));
	ck_assert_double_eq_tol(c->global.alert_rss_growth, 100 * MIB / 3600, 1e-6);
	ck_assert_uint_eq(c->watches[0].s.interval_ns, S_NS(2));
	ck_assert_uint_eq(c->watches[0].s.min_age_ns, S_NS(125));
	ck_assert_uint_eq(c->watches[0].s.alert_leak_size, 2 * 1048576);
	conf_free(c);
}
END_TEST

START_TEST(test_lexical)
{
	/* BOM, CRLF, ';' and '#' comments, blank lines, "key: value", spaces in names */
	struct conf *c = parse_ok("\xEF\xBB\xBF; comment\r\n"
				  "# comment\r\n"
				  "\r\n"
				  "[ global ]   ; comment\r\n"
				  "depth: 7\r\n"
				  "[watch  my web server ]  # comment\r\n"
				  "comm=a#b\r\n" /* '#' not after a blank: part of the value */
				  "alert_leak_size = 0\r\n");

	ck_assert_uint_eq(c->global.depth, 7);
	ck_assert_str_eq(c->watches[0].name, "my web server");
	ck_assert_uint_eq(c->watches[0].line, 6);
	ck_assert_str_eq(c->watches[0].value, "a#b");
	ck_assert_uint_eq(c->watches[0].s.alert_leak_size, 0);
	ck_assert_str_eq(conf_selector_name(SELECT_PID), "pid");
	ck_assert_str_eq(conf_selector_name(SELECT_COMM), "comm");
	ck_assert_str_eq(conf_selector_name(SELECT_EXE), "exe");
	ck_assert_str_eq(conf_selector_name(SELECT_UNIT), "unit");
	conf_free(c);
}
END_TEST

START_TEST(test_bad_keys)
{
	EXPECT_ERROR("[global]\n\nintervall = 10s\n[watch a]\ncomm = a\n",
		     "t.conf:3: key 'intervall': unknown key");
	EXPECT_ERROR("[watch a]\ncomm = a\nmin-age = 1s\n",
		     "t.conf:3: key 'min-age': unknown key (did you mean 'min_age'?)");
	EXPECT_ERROR("[watch a]\ncomm = a\ndepth = 4\n# x\ndepth = 5\n",
		     "t.conf:5: key 'depth': set twice in this section (first on line 3)");
	EXPECT_ERROR("[global]\npid = 1\n[watch a]\ncomm = a\n",
		     "t.conf:2: key 'pid': a selector belongs in a [watch NAME] section, not in "
		     "[global]");
	EXPECT_ERROR("depth = 4\n[watch a]\ncomm = a\n",
		     "t.conf:1: key 'depth': outside any section (put it under [global] or [watch "
		     "NAME])");
	EXPECT_ERROR("[watch a]\ncomm = a\nmode =\n", "t.conf:3: key 'mode': empty value");
	EXPECT_ERROR("[watch a]\ncomm = a\nmode = # nothing\n", "t.conf:3: key 'mode': empty value");
}
END_TEST

START_TEST(test_bad_values)
{
	EXPECT_ERROR("[global]\ninterval = 10 parsecs\n[watch a]\ncomm = a\n",
		     "t.conf:2: key 'interval': invalid value '10 parsecs': expected a duration such "
		     "as 500ms, 10s, 5m");
	EXPECT_ERROR("[watch a]\ncomm = a\ninterval = 5ms\n",
		     "t.conf:3: key 'interval': invalid value '5ms': must be between 10ms and 1d");
	EXPECT_ERROR("[watch a]\ncomm = a\ninterval = 2d\n",
		     "t.conf:3: key 'interval': invalid value '2d': must be between 10ms and 1d");
	EXPECT_ERROR("[global]\nmode = leaky\n[watch a]\ncomm = a\n",
		     "t.conf:2: key 'mode': invalid value 'leaky': expected 'trace', 'rss' or 'auto'");
	EXPECT_ERROR("[global]\nsyslog = maybe\n[watch a]\ncomm = a\n",
		     "t.conf:2: key 'syslog': invalid value 'maybe': expected yes or no (or "
		     "true/false, on/off, 1/0)");
	EXPECT_ERROR("[global]\ndepth = 0\n[watch a]\ncomm = a\n",
		     "t.conf:2: key 'depth': invalid value '0': expected 1..128");
	EXPECT_ERROR("[watch a]\ncomm = a\ndepth = 129\n",
		     "t.conf:3: key 'depth': invalid value '129': expected 1..128");
	EXPECT_ERROR("[watch a]\ncomm = a\ndepth = 12x\n",
		     "t.conf:3: key 'depth': invalid value '12x': expected 1..128");
	/* unit suffixes are case-sensitive */
	EXPECT_ERROR("[watch a]\ncomm = a\ninterval = 10Ms\n",
		     "t.conf:3: key 'interval': invalid value '10Ms': expected a duration such "
		     "as 500ms, 10s, 5m");
	EXPECT_ERROR("[watch a]\ncomm = a\nmin_age = 1H\n",
		     "t.conf:3: key 'min_age': invalid value '1H': expected a duration such as 30s");
	EXPECT_ERROR("[watch a]\ncomm = a\nmin_age = 1h 30\n",
		     "t.conf:3: key 'min_age': invalid value '1h 30': expected a duration such as "
		     "30s");
	EXPECT_ERROR("[watch a]\ncomm = a\nalert_leak_size = 1mib\n",
		     "t.conf:3: key 'alert_leak_size': invalid value '1mib': expected a size such as "
		     "1MiB");
	EXPECT_ERROR("[watch a]\ncomm = a\nalert_rss_growth = 10MiB/H\n",
		     "t.conf:3: key 'alert_rss_growth': invalid value '10MiB/H': expected a growth "
		     "rate such as 10MiB/h");
	EXPECT_ERROR("[watch a]\ncomm = a\nmin_age = soon\n",
		     "t.conf:3: key 'min_age': invalid value 'soon': expected a duration such as 30s");
	EXPECT_ERROR("[watch a]\ncomm = a\nalert_rss_growth = 10MiB\n",
		     "t.conf:3: key 'alert_rss_growth': invalid value '10MiB': expected a growth rate "
		     "such as 10MiB/h");
	EXPECT_ERROR("[watch a]\ncomm = a\nalert_rss_growth = 0MiB/h\n",
		     "t.conf:3: key 'alert_rss_growth': invalid value '0MiB/h': expected a growth "
		     "rate such as 10MiB/h");
	EXPECT_ERROR("[watch a]\ncomm = a\nalert_leak_size = lots\n",
		     "t.conf:3: key 'alert_leak_size': invalid value 'lots': expected a size such as "
		     "1MiB");
	EXPECT_ERROR("[global]\nlog_dir = var/log\n[watch a]\ncomm = a\n",
		     "t.conf:2: key 'log_dir': invalid value 'var/log': must be an absolute path");
	EXPECT_ERROR("[watch a]\ncomm = a\nreport_dir = ./r\n",
		     "t.conf:3: key 'report_dir': invalid value './r': must be an absolute path");
}
END_TEST

START_TEST(test_bad_selectors)
{
	EXPECT_ERROR("[watch a]\nexe = usr/sbin/nginx\n",
		     "t.conf:2: key 'exe': invalid value 'usr/sbin/nginx': must be an absolute path");
	EXPECT_ERROR("[watch a]\nexe = /usr/sbin/\n",
		     "t.conf:2: key 'exe': invalid value '/usr/sbin/': must name a file, not a "
		     "directory");
	EXPECT_ERROR("[watch a]\ncomm = systemd-journald\n",
		     "t.conf:2: key 'comm': 'systemd-journald' is 16 characters, but the kernel "
		     "truncates comm to 15 so it could never match (match a longer name with exe = "
		     "PATH)");
	EXPECT_ERROR("[watch a]\npid = 0\n",
		     "t.conf:2: key 'pid': invalid value '0': expected a positive integer");
	EXPECT_ERROR("[watch a]\npid = -5\n",
		     "t.conf:2: key 'pid': invalid value '-5': expected a positive integer");
	EXPECT_ERROR("[watch a]\npid = 12abc\n",
		     "t.conf:2: key 'pid': invalid value '12abc': expected a positive integer");
	EXPECT_ERROR("[watch a]\npid = 99999999999\n",
		     "t.conf:2: key 'pid': invalid value '99999999999': expected a positive integer");
	EXPECT_ERROR("[watch a]\nunit = nginx\n",
		     "t.conf:2: key 'unit': invalid value 'nginx': expected a unit name ending in "
		     ".service, .scope or .slice");
	EXPECT_ERROR("[watch a]\nunit = .service\n",
		     "t.conf:2: key 'unit': invalid value '.service': expected a unit name ending in "
		     ".service, .scope or .slice");
	EXPECT_ERROR("[watch a]\nunit = my app.service\n",
		     "t.conf:2: key 'unit': invalid value 'my app.service': a unit name holds only "
		     "letters, digits and ':_.\\@-'");
	EXPECT_ERROR("[watch a]\nunit = getty@.service\n",
		     "t.conf:2: key 'unit': invalid value 'getty@.service': a template never runs "
		     "itself, name an instance such as 'getty@1.service'");
	EXPECT_ERROR("[watch web]\ncomm = nginx\n\nexe = /usr/sbin/nginx\n",
		     "t.conf:4: key 'exe': watch 'web' already has a selector (comm on line 2): give "
		     "exactly one of pid, comm, exe or unit");
	EXPECT_ERROR("[watch web]\npid = 1\npid = 2\n",
		     "t.conf:3: key 'pid': set twice in this section (first on line 2)");
}
END_TEST

START_TEST(test_bad_sections)
{
	EXPECT_ERROR("[watch a]\ncomm = a\n[watchers]\n",
		     "t.conf:3: unknown section '[watchers]': expected [global] or [watch NAME]");
	EXPECT_ERROR("[global]\n[globals]\n",
		     "t.conf:2: unknown section '[globals]': expected [global] or [watch NAME]");
	EXPECT_ERROR("[global]\ndepth = 3\n\n[global]\n[watch a]\ncomm = a\n",
		     "t.conf:4: duplicate [global] section (first on line 1)");
	EXPECT_ERROR("# the web server\n[watch web]\nmode = rss\n\n[watch b]\ncomm = b\n",
		     "t.conf:2: watch 'web' has no selector (pid, comm, exe or unit)");
	EXPECT_ERROR("[watch b]\ncomm = b\n[watch web]\n",
		     "t.conf:3: watch 'web' has no selector (pid, comm, exe or unit)");
	EXPECT_ERROR("[watch a]\ncomm = a\n[watch]\ncomm = b\n",
		     "t.conf:3: empty watch name: write [watch NAME]");
	EXPECT_ERROR("[watch a]\ncomm = a\n[watch   ]\ncomm = b\n",
		     "t.conf:3: empty watch name: write [watch NAME]");
	EXPECT_ERROR("[watch a]\ncomm = a\n[watch b]\ncomm = b\n[watch a]\ncomm = c\n",
		     "t.conf:5: duplicate watch name 'a' (first on line 1)");
	EXPECT_ERROR("[watch a\ncomm = a\n", "t.conf:1: section header without closing ']'");
	EXPECT_ERROR("[watch a] comm = a\n",
		     "t.conf:1: unexpected text after the section header: 'comm = a'");
}
END_TEST

/* No [watch] section: valid, the daemon starts idle. */
START_TEST(test_idle)
{
	struct conf *c = parse_ok("");

	ck_assert_uint_eq(c->n_watches, 0);
	conf_free(c);
	c = parse_ok("# only comments\n[global]\nmode = rss\n");
	ck_assert_uint_eq(c->n_watches, 0);
	ck_assert_int_eq(c->global.mode, MODE_RSS);
	conf_free(c);
}
END_TEST

/* The keys of auto mode, the governors and the daemon's own settings. */
START_TEST(test_fleet_keys)
{
	struct conf *c = parse_ok("[global]\n"
				  "mode = auto\n"
				  "escalate_after = 3s\n"
				  "trace_window = 1min\n"
				  "max_traced = 4\n"
				  "max_overhead = 2.5%\n"
				  "report_interval = 30s\n"
				  "metrics_file = /run/node/leakmond.prom\n"
				  "keep_files = 2d\n"
				  "max_memory = 64MiB\n"
				  "debuginfod = yes\n"
				  "[watch a]\ncomm = a\n"
				  "[watch b]\ncomm = b\nmode = trace\nmax_overhead = 0\n"
				  "trace_window = 10s\nreport_interval = 0\n");
	const struct watch_settings *a = &c->watches[0].s, *b = &c->watches[1].s;

	ck_assert_int_eq(a->mode, MODE_AUTO);
	ck_assert_uint_eq(a->escalate_after_ns, S_NS(3));
	ck_assert_uint_eq(a->trace_window_ns, S_NS(60));
	ck_assert_uint_eq(a->max_traced, 4);
	ck_assert_double_eq_tol(a->max_overhead, 0.025, 1e-12);
	ck_assert_uint_eq(a->report_interval_ns, S_NS(30));
	ck_assert_str_eq(a->metrics_file, "/run/node/leakmond.prom");
	ck_assert_uint_eq(a->keep_files_ns, S_NS(2 * 86400));
	ck_assert_uint_eq(a->max_memory, 64 << 20);
	ck_assert(c->global.debuginfod);
	ck_assert_int_eq(b->mode, MODE_TRACE);
	ck_assert_double_eq_tol(b->max_overhead, 0, 1e-12);
	ck_assert_uint_eq(b->trace_window_ns, S_NS(10));
	ck_assert_uint_eq(b->report_interval_ns, 0);
	ck_assert_uint_eq(b->escalate_after_ns, S_NS(3));
	conf_free(c);

	/* defaults: daemon mode rewrites reports every minute, keeps files a week, 256 MiB */
	c = parse_ok("[watch a]\ncomm = a\n");
	a = &c->watches[0].s;
	ck_assert_uint_eq(a->escalate_after_ns, S_NS(600));
	ck_assert_uint_eq(a->trace_window_ns, S_NS(300));
	ck_assert_uint_eq(a->max_traced, 2);
	ck_assert(a->max_overhead < 0);
	ck_assert_double_eq_tol(options_effective_overhead(a->max_overhead, MODE_AUTO), 0.05, 1e-12);
	ck_assert_double_eq_tol(options_effective_overhead(a->max_overhead, MODE_TRACE), 0, 1e-12);
	ck_assert_uint_eq(a->report_interval_ns, S_NS(60));
	ck_assert_str_eq(a->metrics_file, "");
	ck_assert_uint_eq(a->keep_files_ns, S_NS(7 * 86400));
	ck_assert_uint_eq(a->max_memory, 256 << 20);
	ck_assert(!c->global.debuginfod);
	conf_free(c);

	EXPECT_ERROR("[watch a]\ncomm = a\nmax_traced = 3\n",
		     "t.conf:3: key 'max_traced': a setting of the whole daemon: set it in [global]");
	EXPECT_ERROR("[watch a]\ncomm = a\nmetrics_file = /tmp/m.prom\n",
		     "t.conf:3: key 'metrics_file': a setting of the whole daemon: set it in [global]");
	EXPECT_ERROR("[watch a]\ncomm = a\nkeep_files = 1d\n",
		     "t.conf:3: key 'keep_files': a setting of the whole daemon: set it in [global]");
	EXPECT_ERROR("[watch a]\ncomm = a\nmax_memory = 1GiB\n",
		     "t.conf:3: key 'max_memory': a setting of the whole daemon: set it in [global]");
	EXPECT_ERROR("[watch a]\ncomm = a\ndebuginfod = yes\n",
		     "t.conf:3: key 'debuginfod': a setting of the whole daemon: set it in [global]");
	EXPECT_ERROR("[global]\ndebuginfod = maybe\n",
		     "t.conf:2: key 'debuginfod': invalid value 'maybe': expected yes or no (or "
		     "true/false, on/off, 1/0)");
	EXPECT_ERROR("[global]\nmax_overhead = 5\n",
		     "t.conf:2: key 'max_overhead': invalid value '5': expected a share such as 5% "
		     "(0: none)");
	EXPECT_ERROR("[global]\nmax_traced = 0\n",
		     "t.conf:2: key 'max_traced': invalid value '0': expected 1..1024");
	EXPECT_ERROR("[global]\nmetrics_file = leakmond.prom\n",
		     "t.conf:2: key 'metrics_file': invalid value 'leakmond.prom': must be an absolute "
		     "path");
	EXPECT_ERROR("[global]\ntrace_window = 1ms\n",
		     "t.conf:2: key 'trace_window': invalid value '1ms': expected a duration such as "
		     "5min");
	EXPECT_ERROR("[global]\nreport_interval = 1ms\n",
		     "t.conf:2: key 'report_interval': invalid value '1ms': expected a duration such as "
		     "1min (0: none)");
}
END_TEST

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* FILE.d/*.conf: read after FILE, in name order; later [global] keys win; names unique. */
START_TEST(test_dropins)
{
	char dir[] = "/tmp/leakmond-check-conf.XXXXXX", path[256], d[300], f[400], err[1024];
	struct conf *c = NULL;
	int r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/leakmond.conf", dir);
	snprintf(d, sizeof(d), "%s.d", path);
	write_text(path, "[global]\ninterval = 5s\ndepth = 8\n[watch main]\ncomm = m\n");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	snprintf(f, sizeof(f), "%s/20-late.conf", d);
	write_text(f, "[global]\ndepth = 12\n[watch late]\ncomm = l\n");
	snprintf(f, sizeof(f), "%s/10-early.conf", d);
	write_text(f, "[global]\ndepth = 10\nmode = auto\n[watch early]\ncomm = e\ninterval = 1s\n");
	snprintf(f, sizeof(f), "%s/README", d); /* not a .conf: ignored */
	write_text(f, "this is not a configuration\n");
	snprintf(f, sizeof(f), "%s/.hidden.conf", d);
	write_text(f, "garbage\n");

	r = conf_load(path, &c, err, sizeof(err));
	ck_assert_msg(r == 0, "%d %s", r, err);
	ck_assert_uint_eq(c->n_watches, 3);
	ck_assert_uint_eq(c->n_files, 3);
	ck_assert_str_eq(c->watches[0].name, "main");
	ck_assert_str_eq(c->watches[1].name, "early");
	ck_assert_str_eq(c->watches[2].name, "late");
	snprintf(f, sizeof(f), "%s/10-early.conf", d);
	ck_assert_str_eq(c->files[c->watches[1].file], f);
	ck_assert_str_eq(c->files[0], path);
	ck_assert_uint_eq(c->global.depth, 12);
	ck_assert_int_eq(c->global.mode, MODE_AUTO);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(c->watches[i].s.depth, 12);
		ck_assert_int_eq(c->watches[i].s.mode, MODE_AUTO);
	}
	ck_assert_uint_eq(c->watches[0].s.interval_ns, S_NS(5));
	ck_assert_uint_eq(c->watches[1].s.interval_ns, S_NS(1));
	ck_assert_uint_eq(c->watches[1].s.min_age_ns, S_NS(3));
	conf_free(c);

	/* a watch name taken in another file, and a mistake in a drop-in, name that file */
	snprintf(f, sizeof(f), "%s/30-dup.conf", d);
	write_text(f, "\n[watch main]\ncomm = x\n");
	c = &untouched;
	r = conf_load(path, &c, err, sizeof(err));
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_eq(c, &untouched);
	{
		char want[1024];

		snprintf(want, sizeof(want),
			 "%s:2: duplicate watch name 'main' (first in %s on line 4)", f, path);
		ck_assert_str_eq(err, want);
	}
	write_text(f, "[watch x]\ncomm = x\nfrobnicate = 1\n");
	r = conf_load(path, &c, err, sizeof(err));
	ck_assert_int_eq(r, -EINVAL);
	{
		char want[1024];

		snprintf(want, sizeof(want), "%s:3: key 'frobnicate': unknown key", f);
		ck_assert_str_eq(err, want);
	}
	ck_assert_int_eq(unlink(f), 0);

	/* no watch anywhere: idle */
	snprintf(f, sizeof(f), "%s/10-early.conf", d);
	ck_assert_int_eq(unlink(f), 0);
	snprintf(f, sizeof(f), "%s/20-late.conf", d);
	ck_assert_int_eq(unlink(f), 0);
	write_text(path, "[global]\nmode = auto\n");
	r = conf_load(path, &c, err, sizeof(err));
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(c->n_watches, 0);
	conf_free(c);

	snprintf(f, sizeof(f), "%s/README", d);
	(void)unlink(f);
	snprintf(f, sizeof(f), "%s/.hidden.conf", d);
	(void)unlink(f);
	ck_assert_int_eq(rmdir(d), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_syntax)
{
	char line[512];

	EXPECT_ERROR("[watch a]\ncomm = a\nthis is not ini\n",
		     "t.conf:3: expected '[section]', 'key = value' or a comment");
	/* the first error wins, whoever finds it */
	EXPECT_ERROR("[watch a]\ncomm = a\nthis is not ini\nbogus = 1\n",
		     "t.conf:3: expected '[section]', 'key = value' or a comment");
	EXPECT_ERROR("[watch a]\ncomm = a\nbogus = 1\nthis is not ini\n",
		     "t.conf:3: key 'bogus': unknown key");
	EXPECT_ERROR("[watch a]\nnot ini\n[nope]\n",
		     "t.conf:2: expected '[section]', 'key = value' or a comment");
	EXPECT_ERROR("[watch a]\ncomm = a\n= 5\n", "t.conf:3: missing key name before '='");

	/* a line too long for inih is an error, never silently cut */
	memset(line, 'x', sizeof(line));
	memcpy(line, "[watch a]\nexe = /", 17);
	line[sizeof(line) - 1] = '\0';
	{
		char err[1024];
		struct conf *c = &untouched;

		ck_assert_int_eq(conf_parse_string(line, "t.conf", &c, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_eq(c, &untouched);
		ck_assert_msg(strncmp(err, "t.conf:2: line too long", 23) == 0, "%s", err);
	}
}
END_TEST

START_TEST(test_load_errors)
{
	char err[1024];
	struct conf *c = &untouched;
	int r;

	r = conf_load(TEST_DATA_DIR "/no-such.conf", &c, err, sizeof(err));
	ck_assert_int_eq(r, -ENOENT);
	ck_assert_ptr_eq(c, &untouched);
	ck_assert_str_eq(err, TEST_DATA_DIR "/no-such.conf: cannot open: No such file or directory");

	r = conf_load(TEST_DATA_DIR, &c, err, sizeof(err));
	ck_assert_int_eq(r, -EISDIR);
	ck_assert_ptr_eq(c, &untouched);
	ck_assert_str_eq(err, TEST_DATA_DIR ": cannot read: Is a directory");

	/* a small buffer truncates, a NULL one is allowed */
	r = conf_parse_string("[watch a]\n", "t.conf", &c, err, 8);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_str_eq(err, "t.conf:");
	ck_assert_int_eq(conf_parse_string("x", "t.conf", &c, NULL, 0), -EINVAL);
	ck_assert_int_eq(conf_load("/nonexistent/x.conf", &c, NULL, 0), -ENOENT);
	ck_assert_ptr_eq(c, &untouched);
	ck_assert_ptr_null(conf_free(NULL));
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_shipped_example);
	tcase_add_test(tc, test_good_string);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_global_after_watches);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_systemd_durations);
	tcase_add_test(tc, test_lexical);
	tcase_add_test(tc, test_bad_keys);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_bad_selectors);
	tcase_add_test(tc, test_bad_sections);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_fleet_keys);
	tcase_add_test(tc, test_dropins);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(conf_suite)
