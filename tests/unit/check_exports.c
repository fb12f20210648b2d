/* Unit tests of the exports: folded stacks, the pprof profile (unpacked again with protobuf-c),
 * the HTML page, the timeline, the report's profile in JSON, leakmond-report's sameness (files
 * rendered from a report and from its reparse are identical), and the text report's wording. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check_main.h"
#include "config/options.h"
#include "output/exports.h"
#include "output/folded.h"
#include "output/html.h"
#include "output/pprof.h"
#include "output/pprof.pb-c.h"
#include "output/report.h"
#include "output/timeline.h"
#include "output/tslog.h"

/* GCC 12 takes strstr() over a buffer open_memstream() filled for a dangling pointer */
#if defined(__GNUC__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

static json_object *fixture(void)
{
	json_object *r = json_object_from_file(TEST_DATA_DIR "/report-exports.json");

	ck_assert_msg(r != NULL, "cannot read the fixture: %s", json_util_get_last_err());
	return r;
}

/* Run a stream writer into a string (caller frees). */
static char *render(int (*fn)(FILE *, json_object *, int), json_object *report, int arg, int *ret)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	*ret = fn(f, report, arg);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

static int folded_fn(FILE *f, json_object *r, int arg)
{
	return folded_write(f, r, (enum folded_weight)arg);
}

static int html_fn(FILE *f, json_object *r, int arg)
{
	(void)arg;
	return html_write(f, r);
}

START_TEST(test_folded_bytes)
{
	json_object *r = fixture();
	int n;
	char *text = render(folded_fn, r, FOLDED_BYTES, &n);

	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(text, "[2 other sites] 100\n"
			       "[no stack] 200\n"
			       "__libc_start_call_main;main;[libfoo.so.1] 300\n"
			       "__libc_start_call_main;main;cache_put 10000\n"
			       "start_thread;worker;Box<int>::fill() 3000\n");
	free(text);
	json_object_put(r);
}
END_TEST

START_TEST(test_folded_blocks_and_merge)
{
	json_object *r = fixture(), *sites;
	uint64_t sum = 0;
	char *text, *line, *save = NULL;
	int n;

	/* two sites whose stacks read the same are one line */
	json_object_object_get_ex(json_object_array_get_idx(
					  json_object_object_get(r, "targets"), 0),
				  "profile", &sites);
	sites = json_object_object_get(sites, "sites");
	json_object_array_add(sites, json_tokener_parse(
				      "{\"allocator\":\"malloc\",\"live_bytes\":7,\"live_blocks\":5,"
				      "\"frames\":[0,1,2]}"));
	text = render(folded_fn, r, FOLDED_BLOCKS, &n);
	ck_assert_int_eq(n, 5);
	ck_assert_ptr_nonnull(strstr(text, "__libc_start_call_main;main;cache_put 105\n"));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		sum += strtoull(strrchr(line, ' ') + 1, NULL, 10);
	ck_assert_uint_eq(sum, 110 + 5);
	free(text);
	json_object_put(r);
}
END_TEST

START_TEST(test_folded_many_targets)
{
	json_object *r = fixture(), *targets = json_object_object_get(r, "targets");
	char *text;
	int n;

	json_object_array_add(targets, json_tokener_parse(
					       "{\"pid\":7,\"comm\":\"b;x\",\"profile\":{\"frames\":"
					       "[{\"pc\":\"0x1\",\"function\":\"f\"}],\"sites\":"
					       "[{\"live_bytes\":5,\"live_blocks\":1,\"frames\":[0]}]}}"));
	text = render(folded_fn, r, FOLDED_BYTES, &n);
	ck_assert_int_eq(n, 6);
	ck_assert_ptr_nonnull(strstr(text, "b:x (pid 7);f 5\n"));
	ck_assert_ptr_nonnull(strstr(text, "myservice (pid 4242);start_thread;worker;Box<int>::fill() 3000\n"));
	free(text);
	json_object_put(r);
}
END_TEST

static const char *str_at(const Perftools__Profiles__Profile *p, int64_t i)
{
	ck_assert(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static Perftools__Profiles__Profile *unpack_gz(const uint8_t *gz, size_t len)
{
	static uint8_t raw[1 << 20];
	z_stream zs = { 0 };
	Perftools__Profiles__Profile *p;

	ck_assert_int_eq(gz[0], 0x1f);
	ck_assert_int_eq(gz[1], 0x8b);
	ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)gz;
	zs.avail_in = (uInt)len;
	zs.next_out = raw;
	zs.avail_out = sizeof(raw);
	ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	p = perftools__profiles__profile__unpack(NULL, zs.total_out, raw);
	inflateEnd(&zs);
	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_pprof)
{
	json_object *r = fixture();
	uint8_t *gz = NULL;
	size_t len = 0;
	Perftools__Profiles__Profile *p;
	int64_t bytes = 0, objects = 0;
	bool has_inline = false, has_build_id = false, has_other = false;

	ck_assert_int_eq(pprof_build(r, &gz, &len), 0);
	p = unpack_gz(gz, len);
	ck_assert_str_eq(p->string_table[0], "");
	ck_assert_uint_eq(p->n_sample_type, 2);
	ck_assert_str_eq(str_at(p, p->sample_type[0]->type), "inuse_objects");
	ck_assert_str_eq(str_at(p, p->sample_type[1]->type), "inuse_space");
	ck_assert_str_eq(str_at(p, p->sample_type[1]->unit), "bytes");
	ck_assert_str_eq(str_at(p, p->default_sample_type), "inuse_space");
	ck_assert_uint_eq(p->n_sample, 5);
	ck_assert(p->time_nanos == 1795557600LL * 1000000000LL);
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];

		ck_assert_uint_eq(s->n_value, 2);
		objects += s->value[0];
		bytes += s->value[1];
		ck_assert_uint_ge(s->n_location_id, 1);
		ck_assert_str_eq(str_at(p, s->label[0]->key), "allocator");
		for (size_t k = 0; k < s->n_location_id; k++)
			ck_assert(s->location_id[k] >= 1 && s->location_id[k] <= p->n_location);
	}
	ck_assert_int_eq(bytes, 13600);
	ck_assert_int_eq(objects, 110);
	/* the leak: leaf first, cache_put at /src/cache.c:42 */
	{
		const Perftools__Profiles__Location *leaf = p->location[p->sample[0]->location_id[0] - 1];
		const Perftools__Profiles__Function *fn = p->function[leaf->line[0]->function_id - 1];

		ck_assert_uint_eq(leaf->address, 0x401100);
		ck_assert_int_eq(leaf->line[0]->line, 42);
		ck_assert_str_eq(str_at(p, fn->name), "cache_put");
		ck_assert_str_eq(str_at(p, fn->filename), "/src/cache.c");
		ck_assert_str_eq(str_at(p, p->mapping[leaf->mapping_id - 1]->filename), "/usr/sbin/myservice");
	}
	for (size_t i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		ck_assert_uint_eq(l->id, i + 1);
		if (l->n_line == 2) {
			/* an inline chain is one location: the inlined function first */
			ck_assert_str_eq(str_at(p, p->function[l->line[0]->function_id - 1]->name), "Box<int>::fill()");
			ck_assert_str_eq(str_at(p, p->function[l->line[1]->function_id - 1]->name), "worker");
			has_inline = true;
		}
		if (l->n_line == 1 && strcmp(str_at(p, p->function[l->line[0]->function_id - 1]->name), "[2 other sites]") == 0)
			has_other = true;
	}
	for (size_t i = 0; i < p->n_mapping; i++) {
		ck_assert(p->mapping[i]->has_functions);
		ck_assert(p->mapping[i]->memory_limit > p->mapping[i]->memory_start);
		has_build_id |= strcmp(str_at(p, p->mapping[i]->build_id), "abcdef01") == 0;
	}
	ck_assert(has_inline);
	ck_assert(has_build_id);
	ck_assert(has_other);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
	json_object_put(r);
}
END_TEST

START_TEST(test_pprof_empty)
{
	json_object *r = json_tokener_parse("{\"version\":1,\"targets\":[{\"pid\":1,\"comm\":\"x\",\"heap\":null}]}");
	uint8_t *gz = NULL;
	size_t len = 0;
	Perftools__Profiles__Profile *p;

	ck_assert_int_eq(pprof_build(r, &gz, &len), 0);
	p = unpack_gz(gz, len);
	ck_assert_uint_eq(p->n_sample, 0);
	ck_assert_uint_eq(p->n_sample_type, 2);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
	json_object_put(r);
}
END_TEST

START_TEST(test_html)
{
	json_object *r = fixture();
	int rc;
	char *text = render(html_fn, r, 0, &rc);

	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(text, "<!DOCTYPE html>"));
	/* the main chart and the leak's growth chart; the leak and the one other site */
	ck_assert_ptr_nonnull(strstr(text, "id=\"leakmond-selfcheck\" data-charts=\"2\" data-sites=\"2\""));
	ck_assert_ptr_nonnull(strstr(text, "<polyline class=\"rss\""));
	ck_assert_ptr_nonnull(strstr(text, "<polyline class=\"live\""));
	ck_assert_ptr_nonnull(strstr(text, "<g class=\"alert leak\"><title>pid 4242 (myservice): leak: cache_put (cache.c:42) holds &lt;9.8 KiB&gt;</title>"));
	ck_assert_ptr_nonnull(strstr(text, "Box&lt;int&gt;::fill()"));
	ck_assert_ptr_null(strstr(text, "Box<int>"));
	ck_assert_ptr_nonnull(strstr(text, "stopped by leakmond at --duration"));
	ck_assert_ptr_nonnull(strstr(text, "1 leak found"));
	/* self-contained */
	ck_assert_ptr_null(strstr(text, "http:"));
	ck_assert_ptr_null(strstr(text, "https:"));
	ck_assert_ptr_null(strstr(text, "src="));
	ck_assert_ptr_null(strstr(text, "<link"));
	free(text);
	json_object_put(r);
}
END_TEST

START_TEST(test_html_no_samples)
{
	json_object *r = json_tokener_parse("{\"version\":1,\"targets\":[{\"pid\":1,\"comm\":\"x<y\","
					    "\"status\":\"running\",\"heap\":null}]}");
	int rc;
	char *text = render(html_fn, r, 0, &rc);

	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(text, "data-charts=\"0\" data-sites=\"0\""));
	ck_assert_ptr_nonnull(strstr(text, "x&lt;y"));
	ck_assert_ptr_nonnull(strstr(text, "Not enough samples"));
	free(text);
	json_object_put(r);
}
END_TEST

static json_object *sample_rec(double ts, uint64_t rss, int64_t live)
{
	struct sample s = { .ts = ts, .rss_bytes = rss, .has_trace = live >= 0,
			    .live_bytes = live >= 0 ? (uint64_t)live : 0 };

	return tslog_record_sample(9, &s);
}

START_TEST(test_timeline)
{
	struct timeline tl;
	json_object *rec;

	timeline_init(&tl);
	for (int i = 0; i < TIMELINE_CAP + 10; i++) {
		rec = sample_rec(1000.0 + i, 100 + i, i % 2 ? i : -1);
		ck_assert_int_eq(timeline_add_record(&tl, rec), 1);
		json_object_put(rec);
	}
	/* thinned once: every other point of the first TIMELINE_CAP, then the rest */
	ck_assert_uint_eq(tl.decimations, 1);
	ck_assert_uint_eq(tl.n, TIMELINE_CAP / 2 + 10);
	ck_assert(tl.points[0].ts == 1000.0 && tl.points[1].ts == 1002.0);
	ck_assert(!tl.points[0].has_live);
	ck_assert(tl.points[tl.n - 1].has_live && tl.points[tl.n - 1].live_bytes == TIMELINE_CAP + 9);
	/* not later: ignored */
	rec = sample_rec(1000.0, 1, -1);
	ck_assert_int_eq(timeline_add_record(&tl, rec), 0);
	json_object_put(rec);
	rec = tslog_record_alert_rss(1500.0, 9, "rss <rising>", 10.0, 1 << 20);
	ck_assert_int_eq(timeline_add_record(&tl, rec), 1);
	json_object_put(rec);
	ck_assert_uint_eq(tl.n_alerts, 1);
	ck_assert_str_eq(tl.alerts[0].kind, "rss_growth");
	/* a new attach starts over */
	rec = tslog_record_attach(2000.0, 9, "x", NULL, "trace", NULL);
	ck_assert_int_eq(timeline_add_record(&tl, rec), 0);
	json_object_put(rec);
	ck_assert_uint_eq(tl.n, 0);
	ck_assert_uint_eq(tl.n_alerts, 0);
	timeline_done(&tl);
}
END_TEST

/* The timeline a log gives is the one its records gave as they were written. */
START_TEST(test_timeline_from_log)
{
	struct timeline direct, back[2];
	char *log = NULL;
	size_t len = 0, bad = 0;
	FILE *f = open_memstream(&log, &len);
	pid_t pids[2] = { 9, 10 };
	json_object *a, *b;

	timeline_init(&direct);
	for (int i = 0; i < 40; i++) {
		json_object *rec = i == 0 ? tslog_record_attach(999.5, 9, "x", NULL, "trace", NULL)
					  : sample_rec(1000.0 + i * 0.1 + 1e-7 * i, 4096 * i, i * 7);

		(void)timeline_add_record(&direct, rec);
		fprintf(f, "%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN));
		json_object_put(rec);
		if (i == 20)
			fprintf(f, "not json\n{\"type\":\"sample\",\"ts\":1,\"pid\":10,\"rss_bytes\":5}\n");
	}
	fclose(f);
	f = fmemopen(log, len, "r");
	ck_assert_int_eq(timeline_read_log(f, pids, 2, back, &bad), 39 + 1);
	fclose(f);
	ck_assert_uint_eq(bad, 1);
	ck_assert_uint_eq(back[1].n, 1);
	a = timeline_to_json(&direct);
	b = timeline_to_json(&back[0]);
	ck_assert_str_eq(json_object_to_json_string(a), json_object_to_json_string(b));
	json_object_put(a);
	json_object_put(b);
	timeline_done(&direct);
	timeline_done(&back[0]);
	timeline_done(&back[1]);
	free(log);
}
END_TEST

/* The report model's profile in JSON, rendered: what the session builds, the exports read. */
START_TEST(test_report_profile)
{
	struct sym_frame frames[3] = {
		{ .pc = 0x10, .module = "/bin/a", .function = "inner", .is_inlined = true, .line = 3, .file = "a.c" },
		{ .pc = 0x10, .module = "/bin/a", .function = "outer", .line = 9, .file = "a.c" },
		{ .pc = 0x20, .module = "/bin/a", .function = "main", .line = 20, .file = "a.c" },
	};
	uint32_t refs[] = { 0, 1, 2 };
	struct report_profile_site sites[2] = {
		{ .live_bytes = 64, .live_blocks = 2, .kind = ALLOC_MALLOC, .first = 0, .n = 3 },
		{ .live_bytes = 8, .live_blocks = 1, .kind = ALLOC_CALLOC, .first = 3, .n = 0 },
	};
	struct report_profile prof = { .frames = frames, .n_frames = 3, .refs = refs, .n_refs = 3,
				       .sites = sites, .n_sites = 2, .live_bytes = 72, .live_blocks = 3 };
	struct report_target t = { .pid = 5, .comm = "a", .status = REPORT_RUNNING, .has_heap = true,
				   .profile = &prof };
	json_object *report = report_build(&t, 1, 1700000000), *back;
	char *text;
	int n;

	ck_assert_ptr_nonnull(report);
	back = exports_reparse(report);
	ck_assert_ptr_nonnull(back);
	text = render(folded_fn, back, FOLDED_BYTES, &n);
	ck_assert_str_eq(text, "[no stack] 8\nmain;outer;inner 64\n");
	free(text);
	json_object_put(report);
	json_object_put(back);
}
END_TEST

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	*ret_len = n;
	return buf;
}

/* leakmond renders from its reparsed report, leakmond-report from the file: the same files. */
START_TEST(test_exports_same)
{
	char dir[] = "/tmp/check_exports.XXXXXX", path[6][300], err[512];
	const char *names[3] = { "f", "p.pb.gz", "h.html" };
	json_object *r = fixture(), *re = exports_reparse(r);
	struct export_paths p1, p2;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int i = 0; i < 6; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%d%s", dir, i / 3, names[i % 3]);
	p1 = (struct export_paths){ path[0], path[1], path[2], FOLDED_BYTES, 0, 0 };
	p2 = (struct export_paths){ path[3], path[4], path[5], FOLDED_BYTES, 0, 0 };
	ck_assert_int_eq(exports_write(r, &p1, err, sizeof(err)), 0);
	ck_assert_int_eq(exports_write(re, &p2, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		size_t la, lb;
		char *a = slurp(path[i], &la), *b = slurp(path[i + 3], &lb);

		ck_assert_uint_gt(la, 0);
		ck_assert_uint_eq(la, lb);
		ck_assert(memcmp(a, b, la) == 0);
		free(a);
		free(b);
		unlink(path[i]);
		unlink(path[i + 3]);
	}
	/* a directory that is not there: the error names the file */
	p1.folded = "/nonexistent/dir/x.folded";
	p1.pprof = p1.html = NULL;
	ck_assert_int_eq(exports_write(r, &p1, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/x.folded"));
	rmdir(dir);
	json_object_put(r);
	json_object_put(re);
}
END_TEST

START_TEST(test_export_lists)
{
	unsigned m = 0;
	bool is_blocks = true;
	struct export_paths p;
	char a[64], b[64], c[64];

	ck_assert_int_eq(options_parse_exports("folded, pprof,html", &m), 0);
	ck_assert_uint_eq(m, OPTIONS_EXPORT_FOLDED | OPTIONS_EXPORT_PPROF | OPTIONS_EXPORT_HTML);
	ck_assert_int_eq(options_parse_exports("html", &m), 0);
	ck_assert_uint_eq(m, OPTIONS_EXPORT_HTML);
	ck_assert_int_eq(options_parse_exports("none", &m), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(options_parse_exports("none, html", &m), -EINVAL);
	ck_assert_int_eq(options_parse_exports("svg", &m), -EINVAL);
	ck_assert_int_eq(options_parse_exports(" , ", &m), -EINVAL);
	ck_assert_int_eq(options_parse_folded_weight("bytes", &is_blocks), 0);
	ck_assert(!is_blocks);
	ck_assert_int_eq(options_parse_folded_weight("blocks", &is_blocks), 0);
	ck_assert(is_blocks);
	ck_assert_int_eq(options_parse_folded_weight("pages", &is_blocks), -EINVAL);
	exports_paths_beside("/var/lib/leakmond/web-12.json", OPTIONS_EXPORT_FOLDED | OPTIONS_EXPORT_HTML,
			     FOLDED_BYTES, &p, a, b, c, sizeof(a));
	ck_assert_str_eq(p.folded, "/var/lib/leakmond/web-12.folded");
	ck_assert_ptr_null(p.pprof);
	ck_assert_str_eq(b, "/var/lib/leakmond/web-12.pb.gz");
	ck_assert_str_eq(p.html, "/var/lib/leakmond/web-12.html");
}
END_TEST

static char *text_of(json_object *r, bool is_full)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	report_print_text_full(f, r, is_full);
	fclose(f);
	return text;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

START_TEST(test_text_report)
{
	json_object *r = fixture(), *t = json_object_array_get_idx(json_object_object_get(r, "targets"), 0);
	char *text = text_of(r, false), buf[128];

	ck_assert_msg(strstr(text, "exited, stopped by leakmond at --duration") != NULL, "%s", text);
	ck_assert_ptr_null(strstr(text, "killed by signal"));
	ck_assert_ptr_nonnull(strstr(text, "trend: too few samples yet (4 of 6)"));
	/* the leak once; the other top site after it */
	ck_assert_ptr_nonnull(strstr(text, "LEAK    cache_put (cache.c:42):"));
	ck_assert_int_eq(count(text, "cache_put (cache.c:42):"), 1);
	ck_assert_ptr_nonnull(strstr(text, "site    Box<int>::fill() (box.cc:12)"));
	/* trimmed: main is the last frame shown, thread starts are not shown */
	ck_assert_ptr_nonnull(strstr(text, "main (/src/main.c:7)"));
	ck_assert_ptr_null(strstr(text, "__libc_start_call_main"));
	ck_assert_ptr_null(strstr(text, "start_thread"));
	free(text);
	{
		char *full = text_of(r, true);

		ck_assert_ptr_nonnull(strstr(full, "__libc_start_call_main"));
		ck_assert_ptr_nonnull(strstr(full, "start_thread"));
		free(full);
	}

	/* no leak, and too few site samples to judge */
	json_object_object_add(t, "leaks", json_object_new_array());
	ck_assert_int_eq(report_describe_verdict(t, buf, sizeof(buf)), REPORT_NO_LEAK);
	json_object_object_add(json_object_array_get_idx(json_object_object_get(t, "top_sites"), 0),
			       "samples", json_object_new_int(3));
	json_object_object_add(json_object_array_get_idx(json_object_object_get(t, "top_sites"), 1),
			       "samples", json_object_new_int(2));
	ck_assert_int_eq(report_describe_verdict(t, buf, sizeof(buf)), REPORT_TOO_FEW_SAMPLES);
	ck_assert_str_eq(buf, "too few samples yet (3 of 8)");
	{
		char *few = text_of(r, false);

		ck_assert_ptr_nonnull(strstr(few, "  too few samples yet (3 of 8)\n"));
		ck_assert_ptr_null(strstr(few, "no leaking call site found"));
		free(few);
	}

	/* a program that died of a signal on its own */
	json_object_object_del(t, "stopped_by");
	report_describe_status(t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "exited, killed by signal 15 (SIGTERM)");
	json_object_put(r);
}
END_TEST

static Suite *exports_suite(void)
{
	Suite *s = suite_create("exports");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_folded_bytes);
	tcase_add_test(tc, test_folded_blocks_and_merge);
	tcase_add_test(tc, test_folded_many_targets);
	tcase_add_test(tc, test_pprof);
	tcase_add_test(tc, test_pprof_empty);
	tcase_add_test(tc, test_html);
	tcase_add_test(tc, test_html_no_samples);
	tcase_add_test(tc, test_timeline);
	tcase_add_test(tc, test_timeline_from_log);
	tcase_add_test(tc, test_report_profile);
	tcase_add_test(tc, test_exports_same);
	tcase_add_test(tc, test_export_lists);
	tcase_add_test(tc, test_text_report);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(exports_suite)
