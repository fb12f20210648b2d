/* Unit tests of the output formats: log records, the JSON report (parsed back), alerts. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "output/alert.h"
#include "stack/symbols.h"
#include "check_main.h"
#include "output/report.h"
#include "output/tslog.h"

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "missing key '%s'", key);
	return v;
}

START_TEST(test_sample_record)
{
	struct sample s = { .ts = 1700000000.25, .rss_bytes = 1 << 20, .rss_anon_bytes = 4096,
			    .rss_file_bytes = 8192, .swap_bytes = 0, .heap_bytes = 135168,
			    .threads = 3 };
	json_object *rec = tslog_record_sample(77, &s), *back;
	const char *text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);

	ck_assert_ptr_null(strchr(text, '\n'));
	back = json_tokener_parse(text);
	ck_assert_ptr_nonnull(back);
	ck_assert_str_eq(json_object_get_string(get(back, "type")), "sample");
	ck_assert_int_eq(json_object_get_int(get(back, "pid")), 77);
	ck_assert_double_eq_tol(json_object_get_double(get(back, "ts")), 1700000000.25, 1e-3);
	ck_assert_int_eq(json_object_get_int64(get(back, "rss_bytes")), 1 << 20);
	ck_assert_int_eq(json_object_get_int64(get(back, "rss_anon_bytes")), 4096);
	ck_assert_int_eq(json_object_get_int64(get(back, "rss_file_bytes")), 8192);
	ck_assert_int_eq(json_object_get_int64(get(back, "swap_bytes")), 0);
	ck_assert_int_eq(json_object_get_int64(get(back, "heap_bytes")), 135168);
	ck_assert_int_eq(json_object_get_int(get(back, "threads")), 3);
	json_object_put(rec);
	json_object_put(back);
}
END_TEST

START_TEST(test_exit_record)
{
	json_object *rec = tslog_record_exit(1.0, 5, 7, -1), *v;

	ck_assert_int_eq(json_object_get_int(get(rec, "status")), 7);
	ck_assert(!json_object_object_get_ex(rec, "signal", &v));
	ck_assert(json_object_get_boolean(get(rec, "status_known")));
	json_object_put(rec);
	rec = tslog_record_exit(1.0, 5, -1, 9);
	ck_assert_int_eq(json_object_get_int(get(rec, "signal")), 9);
	ck_assert(!json_object_object_get_ex(rec, "status", &v));
	json_object_put(rec);
	rec = tslog_record_exit(1.0, 5, -1, -1);
	ck_assert(!json_object_get_boolean(get(rec, "status_known")));
	json_object_put(rec);
}
END_TEST

START_TEST(test_log_file)
{
	char path[] = "/tmp/leakmond-tslog-XXXXXX";
	struct tslog log;
	char line[512];
	FILE *f;
	int fd = mkstemp(path), lines = 0;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tslog_open(&log, path, ATOMIC_MODE_DEFAULT, ATOMIC_USER_PATH), 0);
	ck_assert_int_eq(tslog_write(&log, tslog_record_new("attach", 1.5, 10)), 0);
	ck_assert_int_eq(tslog_reopen(&log), 0);
	ck_assert_int_eq(tslog_write(&log, tslog_record_new("detach", 2.5, 10)), 0);
	tslog_close(&log);
	f = fopen(path, "r");
	while (fgets(line, sizeof(line), f)) {
		json_object *o = json_tokener_parse(line);

		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(json_object_get_string(get(o, "type")),
				 lines == 0 ? "attach" : "detach");
		json_object_put(o);
		lines++;
	}
	fclose(f);
	ck_assert_int_eq(lines, 2);
	unlink(path);
	ck_assert_int_eq(tslog_open(&log, "/nonexistent-dir/x.jsonl", ATOMIC_MODE_DEFAULT, ATOMIC_USER_PATH), -ENOENT);
}
END_TEST

static void fake_target(struct report_target *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = 1234;
	t->mode = MODE_RSS;
	t->comm = "myservice";
	t->exe = "/usr/sbin/myservice";
	t->status = REPORT_EXITED;
	t->exit_status = 3;
	t->exit_signal = -1;
	t->observed_s = 60.0;
	t->rss_first = 1000;
	t->rss_last = 5000;
	t->rss_peak = 6000;
	t->rss_recent.direction = TREND_RISING;
	t->rss_recent.slope = 12.5;
	t->rss_recent.p_value = 0.001;
}

START_TEST(test_report)
{
	struct report_target t;
	char dir[] = "/tmp/leakmond-report-XXXXXX", path[256];
	json_object *rep, *back, *tg, *rss;
	struct stat sb;

	fake_target(&t);
	rep = report_build(&t, 1, 1795996800);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/report.json", dir);
	{
		mode_t old = umask(027); /* the umask is honoured (issue 12 defect 5: always 0644) */

		ck_assert_int_eq(report_write_atomic(path, rep, ATOMIC_MODE_DEFAULT, 0), 0);
		umask(old);
	}
	back = json_object_from_file(path);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(json_object_get_int(get(back, "version")), 1);
	ck_assert_str_eq(json_object_get_string(get(back, "generated_at")), "2026-11-30T00:00:00Z");
	ck_assert_int_eq(json_object_array_length(get(back, "targets")), 1);
	tg = json_object_array_get_idx(get(back, "targets"), 0);
	ck_assert_int_eq(json_object_get_int(get(tg, "pid")), 1234);
	ck_assert_str_eq(json_object_get_string(get(tg, "comm")), "myservice");
	ck_assert_str_eq(json_object_get_string(get(tg, "exe")), "/usr/sbin/myservice");
	ck_assert_str_eq(json_object_get_string(get(tg, "mode")), "rss");
	ck_assert_str_eq(json_object_get_string(get(tg, "status")), "exited");
	ck_assert_int_eq(json_object_get_int(get(tg, "exit_status")), 3);
	ck_assert_double_eq_tol(json_object_get_double(get(tg, "observed_s")), 60.0, 1e-9);
	ck_assert_ptr_null(get(tg, "heap"));
	ck_assert_int_eq(json_object_array_length(get(tg, "leaks")), 0);
	ck_assert_int_eq(json_object_array_length(get(tg, "top_sites")), 0);
	rss = get(tg, "rss");
	ck_assert_int_eq(json_object_get_int64(get(rss, "first_bytes")), 1000);
	ck_assert_int_eq(json_object_get_int64(get(rss, "last_bytes")), 5000);
	ck_assert_int_eq(json_object_get_int64(get(rss, "peak_bytes")), 6000);
	ck_assert_double_eq_tol(json_object_get_double(get(rss, "growth_bytes_per_s")), 12.5, 1e-9);
	ck_assert_str_eq(json_object_get_string(get(rss, "trend")), "rising");
	/* the temporary file is gone: only report.json is in the directory */
	snprintf(path, sizeof(path), "%s/report.json", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0640);
	/* an unwritable destination fails cleanly */
	ck_assert_int_eq(report_write_atomic("/nonexistent-dir/r.json", rep, ATOMIC_MODE_DEFAULT, 0), -ENOENT);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0); /* fails if a temporary file was left behind */
	json_object_put(rep);
	json_object_put(back);
}
END_TEST

START_TEST(test_alert_format)
{
	char buf[256];

	alert_format_rss(buf, sizeof(buf), 1234, "myservice", 85.0 * 1048576.0 / 3600.0,
			 (uint64_t)(412.0 * 1048576.0));
	ck_assert_str_eq(buf, "pid 1234 (myservice): RSS rising 85.0 MiB/h (412.0 MiB now)");
}
END_TEST

START_TEST(test_alert_leak_format)
{
	struct sym_frame f = { .pc = 0x401234, .function = "cache_put", .file = "/src/cache.c",
			       .line = 42, .module = "/usr/sbin/myservice" };
	char buf[256];

	alert_format_leak(buf, sizeof(buf), 1234, "myservice", &f, NULL, (uint64_t)(12.5 * 1048576.0),
			  12800, 1.2 * 1048576.0 / 60.0);
	ck_assert_str_eq(buf, "pid 1234 (myservice): leak: cache_put (cache.c:42) holds 12.5 MiB "
			      "in 12800 blocks, +1.2 MiB/min");
	f.file = NULL;
	f.line = 0;
	alert_format_leak(buf, sizeof(buf), 7, "x", &f, NULL, 100, 1, 0);
	ck_assert_str_eq(buf, "pid 7 (x): leak: cache_put (myservice) holds 100 B in 1 block, +0 B/min");
	alert_format_leak(buf, sizeof(buf), 7, "x", NULL, NULL, 100, 2, 0);
	ck_assert_str_eq(buf, "pid 7 (x): leak: ? holds 100 B in 2 blocks, +0 B/min");
}
END_TEST

START_TEST(test_alert_rate_limit)
{
	struct alert_state st = { 0 };
	uint64_t s = 1000000000ULL;

	ck_assert(alert_should_fire(&st, 10 * s, 100));
	ck_assert(!alert_should_fire(&st, 20 * s, 150));  /* too soon, not doubled */
	ck_assert(!alert_should_fire(&st, 300 * s, 199)); /* still not doubled */
	ck_assert(alert_should_fire(&st, 310 * s, 200));  /* doubled */
	ck_assert(!alert_should_fire(&st, 320 * s, 300));
	ck_assert(alert_should_fire(&st, 310 * s + ALERT_MIN_REPEAT_NS, 210)); /* 10 min later */
	ck_assert_uint_eq(st.fired, 3);
	ck_assert_uint_eq(st.suppressed, 3);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sample_record);
	tcase_add_test(tc, test_exit_record);
	tcase_add_test(tc, test_log_file);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_alert_format);
	tcase_add_test(tc, test_alert_leak_format);
	tcase_add_test(tc, test_alert_rate_limit);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(output_suite)
