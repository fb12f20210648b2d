/* check_metrics - the Prometheus textfile: names, HELP/TYPE, labels, escaping, cardinality. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "output/metrics.h"

static const struct metrics_target two[] = {
	{ .pid = 12, .comm = "api", .watch = "web", .rss_bytes = 4096, .growth_bytes_per_s = 1.5,
	  .trend = 1, .has_heap = true, .live_bytes = 2048, .live_blocks = 3, .leak_sites = 1,
	  .leak_bytes = 1024, .alerts_rss = 2, .alerts_leak = 1, .is_traced = true, .lost_events = 7 },
	{ .pid = 13, .comm = "we\"ir\\d\n\x01\xff", .watch = NULL, .rss_bytes = 8192, .trend = -1 },
};

static void has_line(const char *text, const char *line)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "\n%s\n", line);
	ck_assert_msg(strstr(text, buf) != NULL, "no line '%s' in:\n%s", line, text);
}

START_TEST(test_render)
{
	char *text = metrics_render(two, 2);

	ck_assert_ptr_nonnull(text);
	has_line(text, "leakmond_targets 2");
	has_line(text, "# TYPE leakmond_rss_bytes gauge");
	has_line(text, "leakmond_rss_bytes{pid=\"12\",comm=\"api\",watch=\"web\"} 4096");
	has_line(text, "leakmond_rss_growth_bytes_per_second{pid=\"12\",comm=\"api\",watch=\"web\"} 1.5");
	has_line(text, "leakmond_rss_trend{pid=\"12\",comm=\"api\",watch=\"web\"} 1");
	has_line(text, "leakmond_heap_live_bytes{pid=\"12\",comm=\"api\",watch=\"web\"} 2048");
	has_line(text, "leakmond_heap_live_blocks{pid=\"12\",comm=\"api\",watch=\"web\"} 3");
	has_line(text, "leakmond_leak_sites{pid=\"12\",comm=\"api\",watch=\"web\"} 1");
	has_line(text, "leakmond_leak_bytes{pid=\"12\",comm=\"api\",watch=\"web\"} 1024");
	has_line(text, "# TYPE leakmond_alerts_total counter");
	has_line(text, "leakmond_alerts_total{pid=\"12\",comm=\"api\",watch=\"web\",kind=\"rss_growth\"} 2");
	has_line(text, "leakmond_alerts_total{pid=\"12\",comm=\"api\",watch=\"web\",kind=\"leak\"} 1");
	has_line(text, "leakmond_traced{pid=\"12\",comm=\"api\",watch=\"web\"} 1");
	has_line(text, "leakmond_lost_events_total{pid=\"12\",comm=\"api\",watch=\"web\"} 7");
	/* escaped label, replaced bytes, empty watch; no heap series for an untraced process */
	has_line(text, "leakmond_rss_bytes{pid=\"13\",comm=\"we\\\"ir\\\\d\\n??\",watch=\"\"} 8192");
	has_line(text, "leakmond_rss_trend{pid=\"13\",comm=\"we\\\"ir\\\\d\\n??\",watch=\"\"} -1");
	ck_assert_ptr_null(strstr(text, "leakmond_heap_live_bytes{pid=\"13\""));
	has_line(text, "leakmond_traced{pid=\"13\",comm=\"we\\\"ir\\\\d\\n??\",watch=\"\"} 0");
	free(text);
}
END_TEST

/* A family's HELP and TYPE come once, before all of its series */
START_TEST(test_grouped)
{
	char *text = metrics_render(two, 2);
	const char *type = strstr(text, "# TYPE leakmond_rss_bytes gauge\n");
	const char *next = strstr(text, "# HELP leakmond_rss_growth");
	const char *a = strstr(text, "\nleakmond_rss_bytes{pid=\"12\"");
	const char *b = strstr(text, "\nleakmond_rss_bytes{pid=\"13\"");

	ck_assert(type && next && a && b);
	ck_assert(type < a && a < b && b < next);
	ck_assert_ptr_null(strstr(type + 1, "# TYPE leakmond_rss_bytes "));
	free(text);
}
END_TEST

START_TEST(test_cardinality)
{
	struct metrics_target *many = calloc(METRICS_MAX_TARGETS + 5, sizeof(*many));
	size_t lines = 0;
	char *text;

	for (size_t i = 0; i < METRICS_MAX_TARGETS + 5; i++) {
		many[i].pid = (pid_t)(i + 1);
		many[i].comm = "w";
	}
	text = metrics_render(many, METRICS_MAX_TARGETS + 5);
	ck_assert_ptr_nonnull(text);
	has_line(text, "leakmond_metrics_targets_dropped 5");
	for (const char *p = text; (p = strstr(p, "\nleakmond_rss_bytes{")); p++)
		lines++;
	ck_assert_uint_eq(lines, METRICS_MAX_TARGETS);
	free(text);
	free(many);
	text = metrics_render(NULL, 0);
	has_line(text, "leakmond_targets 0");
	free(text);
}
END_TEST

START_TEST(test_write)
{
	char dir[] = "/tmp/leakmond-check-metrics.XXXXXX", path[128], buf[64] = "";
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/leakmond.prom", dir);
	ck_assert_int_eq(metrics_write_atomic(path, "a 1\n"), 0);
	{
		mode_t old = umask(077); /* the unit's UMask: node_exporter must still read it */
		struct stat st;

		ck_assert_int_eq(metrics_write_atomic(path, "b 2\n"), 0);
		umask(old);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_mode & 0777, 0644);
	}
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "b 2\n");
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left */
	ck_assert_int_eq(metrics_write_atomic("/nonexistent/dir/x.prom", "a 1\n"), -ENOENT);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_grouped);
	tcase_add_test(tc, test_cardinality);
	tcase_add_test(tc, test_write);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(metrics_suite)
