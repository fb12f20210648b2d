/* check_pipeline - the per-target pipeline (session/pipeline.c) driven through the replay
 * backend: no ptrace, no process. Synthetic samples and scripted allocator events go in; the
 * report model, the log records and the alerts come out. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/replay.h"
#include "base/atomicfile.h"
#include "base/util.h"
#include "check_main.h"
#include "session/pipeline.h"

struct fixture {
	struct backend *b;
	struct target *t;
	struct tslog log;
	struct pipeline_out out;
	char path[64];
	uint64_t next_addr;
	int notes[8];
};

static void on_note(void *userdata, pid_t pid, enum backend_note note, int64_t a)
{
	struct fixture *f = userdata;

	ck_assert_int_eq(pid, 4242);
	f->notes[note]++;
	pipeline_note(f->t, &f->out, note, a);
}

static void setup_fixture(struct fixture *f)
{
	struct backend_config cfg = { .depth = 8, .note = on_note, .userdata = f };
	char err[256];
	int fd;

	memset(f, 0, sizeof(*f));
	f->b = backend_replay.create(&cfg);
	ck_assert_ptr_nonnull(f->b);
	f->t = target_new_detached(4242, "fake");
	ck_assert_ptr_nonnull(f->t);
	f->t->set.min_age_ns = 1000000000ULL;
	f->t->set.alert_leak_size = 1024;
	f->t->set.alert_rss_growth = 1e12; /* no RSS alert unless a test lowers it */
	f->t->set.syslog = false;
	f->t->heap = heap_new(0, true);
	ck_assert_ptr_nonnull(f->t->heap);
	ck_assert_int_eq(backend_attach(f->b, 4242, f->t->heap, &f->t->bproc, err, sizeof(err)), 0);
	pipeline_snapshot(f->t, f->b);
	snprintf(f->path, sizeof(f->path), "/tmp/leakmond-pipeline-XXXXXX");
	fd = mkstemp(f->path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tslog_open(&f->log, f->path, ATOMIC_MODE_DEFAULT, ATOMIC_USER_PATH), 0);
	f->out.log = &f->log;
	f->out.is_alert_stderr = false;
	f->next_addr = 0x10000;
}

static void teardown_fixture(struct fixture *f)
{
	tslog_close(&f->log);
	unlink(f->path);
	if (f->t->bproc)
		(void)backend_detach(f->b, f->t->bproc);
	f->t->bproc = NULL;
	target_free(f->t);
	backend_destroy(f->b);
}

/* One allocation of size bytes by site (a one-frame stack 0x400000 + site) at time ms. */
static uint64_t alloc_at(struct fixture *f, unsigned site, uint64_t size, uint32_t ms)
{
	uint64_t pc = 0x400000 + site;
	struct alloc_event ev = { .fn = ALLOC_MALLOC, .arg = { size }, .result = f->next_addr,
				  .time_ms = ms };

	f->next_addr += 0x1000;
	ck_assert_int_eq(replay_push_stack(f->b, 4242, &pc, 1), 0);
	ck_assert_int_eq(replay_push_event(f->b, 4242, &ev), 0);
	return ev.result;
}

static void free_at(struct fixture *f, uint64_t addr)
{
	struct alloc_event ev = { .fn = ALLOC_FREE, .arg = { addr } };

	ck_assert_int_eq(replay_push_event(f->b, 4242, &ev), 0);
}

/* A sample at second k with rss bytes, after the queued events are dispatched. */
static void tick(struct fixture *f, unsigned k, uint64_t rss)
{
	struct sample s = { .ts = 1000.0 + k, .t_s = (double)k, .rss_bytes = rss, .threads = 1 };

	(void)backend_dispatch(f->b, 1 << 20);
	pipeline_tick(f->t, &f->out, &s, f->b, k * 1000);
}

/* The log's records of this type (and kind, for alerts). */
static int count_records(struct fixture *f, const char *type, const char *kind)
{
	char line[8192];
	FILE *in = fopen(f->path, "r");
	int n = 0;

	ck_assert_ptr_nonnull(in);
	while (fgets(line, sizeof(line), in)) {
		json_object *o = json_tokener_parse(line), *v;

		ck_assert_ptr_nonnull(o);
		if (json_object_object_get_ex(o, "type", &v) &&
		    strcmp(json_object_get_string(v), type) == 0 &&
		    (!kind || (json_object_object_get_ex(o, "kind", &v) &&
			       strcmp(json_object_get_string(v), kind) == 0)))
			n++;
		json_object_put(o);
	}
	fclose(in);
	return n;
}

START_TEST(test_top_sites_and_leaks)
{
	struct fixture f;
	struct report_target model;
	unsigned n_top = 0, n_leak = 0;

	setup_fixture(&f);
	/* 15 flat sites of different sizes, allocated once; site 99 leaks 2 KiB every second */
	for (unsigned s = 0; s < 15; s++)
		alloc_at(&f, s, 1000 + 100 * s, 0);
	for (unsigned k = 0; k < 20; k++) {
		alloc_at(&f, 99, 2048, k * 1000);
		tick(&f, k, 10 << 20);
	}
	pipeline_prepare_reports(f.t);
	pipeline_model(f.t, now_ns(), &model);
	ck_assert(model.has_heap);
	ck_assert_str_eq(model.backend, "replay");
	ck_assert_uint_eq(model.heap.live.live_blocks, 35);
	for (size_t i = 0; i < model.n_sites; i++) {
		const struct site_report *r = &model.sites[i];

		n_top += r->is_top;
		if (r->is_leak) {
			n_leak++;
			ck_assert_int_eq(r->view.verdict, SITE_LEAK);
			ck_assert_uint_eq(r->view.live_bytes, 20 * 2048);
		}
	}
	ck_assert_uint_eq(n_top, PIPELINE_TOP_SITES);
	ck_assert_uint_eq(n_leak, 1);
	/* the largest flat sites are the top ones: site 14 (2400 B) is, site 0 (1000 B) is not */
	for (size_t i = 0; i < model.n_sites; i++) {
		const struct site_report *r = &model.sites[i];

		if (r->view.live_bytes == 1000)
			ck_assert(!r->is_top);
		if (r->view.live_bytes == 2400)
			ck_assert(r->is_top);
	}
	ck_assert_int_eq(pipeline_leak_count(f.t), 1);
	ck_assert_int_eq(count_records(&f, "sample", NULL), 20);
	teardown_fixture(&f);
}
END_TEST

START_TEST(test_leak_alert_rate_limit)
{
	struct fixture f;

	setup_fixture(&f);
	/* a site that holds 400 KiB from the start and grows by 4 KiB a second: its figure does not
	 * double for a long time */
	for (int i = 0; i < 100; i++)
		alloc_at(&f, 7, 4096, 0);
	for (unsigned k = 0; k < 16; k++) {
		alloc_at(&f, 7, 4096, k * 1000);
		tick(&f, k, 10 << 20);
	}
	ck_assert_int_eq(count_records(&f, "alert", "leak"), 1); /* once, not at every sample */
	for (unsigned k = 16; k < 30; k++) {
		alloc_at(&f, 7, 4096, k * 1000);
		tick(&f, k, 10 << 20);
	}
	ck_assert_int_eq(count_records(&f, "alert", "leak"), 1); /* not again within 10 min */
	/* its figure doubles: alerted again */
	for (unsigned k = 30; k < 40; k++) {
		for (int i = 0; i < 20; i++)
			alloc_at(&f, 7, 4096, k * 1000);
		tick(&f, k, 10 << 20);
	}
	ck_assert_int_eq(count_records(&f, "alert", "leak"), 2);
	teardown_fixture(&f);
}
END_TEST

START_TEST(test_churn_is_no_leak)
{
	struct fixture f;
	struct report_target model;

	setup_fixture(&f);
	for (unsigned k = 0; k < 20; k++) {
		for (int i = 0; i < 50; i++)
			free_at(&f, alloc_at(&f, 3, 64, k * 1000));
		tick(&f, k, 10 << 20);
	}
	pipeline_prepare_reports(f.t);
	pipeline_model(f.t, now_ns(), &model);
	ck_assert_uint_eq(model.heap.live.live_blocks, 0);
	ck_assert_uint_eq(model.heap.live.allocs, 1000);
	ck_assert_uint_eq(model.heap.live.frees, 1000);
	ck_assert_int_eq(pipeline_leak_count(f.t), 0);
	ck_assert_int_eq(count_records(&f, "alert", NULL), 0);
	teardown_fixture(&f);
}
END_TEST

START_TEST(test_rss_versus_heap_note)
{
	struct fixture f;
	struct report_target model;

	setup_fixture(&f);
	f.t->set.alert_rss_growth = 1024; /* RSS rising 1 MiB/s alerts */
	/* RSS rises, the traced heap stays flat: the note, and the RSS alert */
	alloc_at(&f, 1, 100, 0);
	for (unsigned k = 0; k < 12; k++)
		tick(&f, k, (10u << 20) + k * (1u << 20));
	pipeline_model(f.t, now_ns(), &model);
	ck_assert_ptr_nonnull(model.note);
	ck_assert_ptr_nonnull(strstr(model.note, "traced heap is not"));
	ck_assert_int_eq(count_records(&f, "alert", "rss_growth"), 1);
	/* now the heap rises with it: the note goes */
	for (unsigned k = 12; k < 40; k++) {
		alloc_at(&f, 2, 1u << 20, k * 1000);
		tick(&f, k, (10u << 20) + k * (1u << 20));
	}
	pipeline_model(f.t, now_ns(), &model);
	ck_assert_ptr_null(model.note);
	teardown_fixture(&f);
}
END_TEST

START_TEST(test_exec_resets)
{
	struct fixture f;
	struct report_target model;

	setup_fixture(&f);
	for (unsigned k = 0; k < 12; k++) {
		alloc_at(&f, 5, 4096, k * 1000);
		tick(&f, k, 10 << 20);
	}
	ck_assert_int_eq(pipeline_leak_count(f.t), 1);
	ck_assert_int_eq(replay_push_note(f.b, 4242, BACKEND_EXECED, 0), 0);
	(void)backend_dispatch(f.b, 100);
	ck_assert_int_eq(f.notes[BACKEND_EXECED], 1);
	pipeline_model(f.t, now_ns(), &model);
	ck_assert_uint_eq(model.heap.live.live_blocks, 0); /* the old program's blocks are gone */
	ck_assert_uint_eq(model.n_sites, 0);		    /* and its sites */
	ck_assert_int_eq(count_records(&f, "exec", NULL), 1);
	/* the new program is judged from scratch */
	tick(&f, 12, 10 << 20);
	ck_assert_int_eq(pipeline_leak_count(f.t), 0);
	teardown_fixture(&f);
}
END_TEST

START_TEST(test_exit_and_refusal)
{
	struct backend_config cfg = { 0 };
	struct backend *b = backend_replay.create(&cfg);
	struct backend_proc *p = NULL;
	struct heap *h = heap_new(0, false);
	char err[256];

	ck_assert_int_eq(replay_refuse(b, 77, -EPERM), 0);
	ck_assert_int_eq(backend_attach(b, 77, h, &p, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "pid 77"));
	ck_assert_int_eq(backend_attach(b, 77, h, &p, err, sizeof(err)), 0); /* only once */
	ck_assert_int_eq(backend_detach(b, p), 0);
	ck_assert_ptr_eq(backend_find("replay"), &backend_replay);
	ck_assert_ptr_eq(backend_find("breakpoint"), &backend_breakpoint);
	ck_assert_ptr_null(backend_find("nonsense"));
	heap_free(h);
	backend_destroy(b);
}
END_TEST

static Suite *pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("replay");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_top_sites_and_leaks);
	tcase_add_test(tc, test_leak_alert_rate_limit);
	tcase_add_test(tc, test_churn_is_no_leak);
	tcase_add_test(tc, test_rss_versus_heap_note);
	tcase_add_test(tc, test_exec_resets);
	tcase_add_test(tc, test_exit_and_refusal);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pipeline_suite)
