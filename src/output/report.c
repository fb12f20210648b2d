/* report.c - JSON and text leak reports. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap/allocfn.h"
#include "output/report.h"
#include "base/units.h"
#include "base/util.h"

static const char *status_name(enum report_status s)
{
	switch (s) {
	case REPORT_RUNNING:
		return "running";
	case REPORT_EXITED:
		return "exited";
	case REPORT_DETACHED:
		return "detached";
	}
	return "running";
}

static json_object *build_rss(const struct report_target *t)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "first_bytes", json_object_new_uint64(t->rss_first));
	json_object_object_add(o, "last_bytes", json_object_new_uint64(t->rss_last));
	json_object_object_add(o, "peak_bytes", json_object_new_uint64(t->rss_peak));
	json_object_object_add(o, "growth_bytes_per_s",
			       json_object_new_double(t->rss_recent.slope));
	json_object_object_add(o, "trend", json_object_new_string(trend_direction_name(
							   t->rss_recent.direction)));
	json_object_object_add(o, "trend_p_value", json_object_new_double(t->rss_recent.p_value));
	json_object_object_add(o, "samples", json_object_new_int((int)t->rss_samples));
	return o;
}

static json_object *build_heap(const struct report_target *t)
{
	const struct live_stats *live = &t->heap.live;
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "allocs", json_object_new_uint64(live->allocs));
	json_object_object_add(o, "frees", json_object_new_uint64(live->frees + live->replaced));
	json_object_object_add(o, "live_blocks", json_object_new_uint64(live->live_blocks));
	json_object_object_add(o, "live_bytes", json_object_new_uint64(live->live_bytes));
	json_object_object_add(o, "peak_live_bytes", json_object_new_uint64(live->peak_live_bytes));
	json_object_object_add(o, "unknown_frees", json_object_new_uint64(live->unknown_frees));
	json_object_object_add(o, "failed_allocs", json_object_new_uint64(t->heap.calls.failed));
	json_object_object_add(o, "dropped_blocks", json_object_new_uint64(live->dropped));
	json_object_object_add(o, "nested_calls", json_object_new_uint64(t->trace.nested));
	json_object_object_add(o, "stops", json_object_new_uint64(t->trace.stops));
	json_object_object_add(o, "hooks", json_object_new_int((int)t->trace.hooks));
	json_object_object_add(o, "threads_traced", json_object_new_uint64(t->trace.threads_seen));
	if (t->backend)
		json_object_object_add(o, "backend", json_object_new_string(t->backend));
	json_object_object_add(o, "lost_events", json_object_new_uint64(t->trace.lost));
	if (t->backend && strcmp(t->backend, "agent") == 0)
		json_object_object_add(o, "sample_bytes",
				       t->sample_bytes == OPTIONS_SAMPLE_AUTO
					       ? json_object_new_string("auto")
					       : json_object_new_uint64(t->sample_bytes));
	return o;
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *report_frames(const struct sym_frame *frames, size_t n)
{
	json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct sym_frame *f = &frames[i];
		json_object *o = json_object_new_object();
		char pc[24];

		if (!o)
			break;
		snprintf(pc, sizeof(pc), "0x%llx", (unsigned long long)f->pc);
		json_object_object_add(o, "pc", json_object_new_string(pc));
		json_object_object_add(o, "module", str_or_null(f->module));
		json_object_object_add(o, "function", str_or_null(f->function));
		json_object_object_add(o, "file", str_or_null(f->file));
		json_object_object_add(o, "line", f->line > 0 ? json_object_new_int(f->line) : NULL);
		json_object_object_add(o, "inlined", json_object_new_boolean(f->is_inlined));
		if (f->build_id)
			json_object_object_add(o, "build_id", json_object_new_string(f->build_id));
		if (f->is_module_deleted)
			json_object_object_add(o, "module_deleted", json_object_new_boolean(true));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *build_site(const struct site_report *r, bool with_verdict)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (with_verdict)
		json_object_object_add(o, "verdict", json_object_new_string(
							     r->view.verdict == SITE_LEAK ? "leak"
										    : "suspect"));
	json_object_object_add(o, "allocator",
			       json_object_new_string(alloc_fn_name(r->view.kind)
							      ? alloc_fn_name(r->view.kind)
							      : "malloc"));
	json_object_object_add(o, "live_bytes", json_object_new_uint64(r->view.live_bytes));
	json_object_object_add(o, "live_blocks", json_object_new_uint64(r->view.live_blocks));
	json_object_object_add(o, "growth_bytes_per_s",
			       json_object_new_double(r->view.growth_bytes_per_s));
	json_object_object_add(o, "oldest_age_s", json_object_new_double(r->view.oldest_age_s));
	json_object_object_add(o, "delta_bytes", json_object_new_int64(r->view.delta_bytes));
	json_object_object_add(o, "samples", json_object_new_int((int)r->view.points));
	json_object_object_add(o, "frames", report_frames(r->frames, r->n_frames));
	return o;
}

#define REPORT_TOP_MAX 64

static int cmp_site_bytes(const void *a, const void *b)
{
	const struct site_report *x = *(const struct site_report *const *)a;
	const struct site_report *y = *(const struct site_report *const *)b;

	return x->view.live_bytes < y->view.live_bytes ? 1
	       : x->view.live_bytes > y->view.live_bytes ? -1
							 : 0;
}

static json_object *build_target(const struct report_target *t)
{
	json_object *o = json_object_new_object(), *leaks, *top;

	if (!o)
		return NULL;
	json_object_object_add(o, "pid", json_object_new_int(t->pid));
	json_object_object_add(o, "comm", json_object_new_string(t->comm));
	json_object_object_add(o, "exe", t->exe ? json_object_new_string(t->exe) : NULL);
	json_object_object_add(o, "mode", json_object_new_string(options_mode_name(t->mode)));
	json_object_object_add(o, "status", json_object_new_string(status_name(t->status)));
	if (t->status == REPORT_DETACHED && t->mode == MODE_TRACE) {
		json_object_object_add(o, "detach_clean", json_object_new_boolean(t->detach_error == 0));
		if (t->detach_error)
			json_object_object_add(o, "detach_error",
					       json_object_new_string(strerror(-t->detach_error)));
	}
	if (t->status == REPORT_EXITED) {
		if (t->exit_signal >= 0)
			json_object_object_add(o, "exit_signal", json_object_new_int(t->exit_signal));
		else if (t->exit_status >= 0)
			json_object_object_add(o, "exit_status", json_object_new_int(t->exit_status));
	}
	json_object_object_add(o, "observed_s", json_object_new_double(t->observed_s));
	json_object_object_add(o, "rss", build_rss(t));
	/* rss mode traces nothing: heap is null rather than made-up zeros */
	json_object_object_add(o, "heap", t->has_heap ? build_heap(t) : NULL);
	leaks = json_object_new_array();
	top = json_object_new_array();
	for (size_t i = 0; i < t->n_sites; i++) {
		if (t->sites[i].is_leak)
			json_object_array_add(leaks, build_site(&t->sites[i], true));
	}
	/* top_sites by live bytes, largest first */
	{
		const struct site_report *tops[REPORT_TOP_MAX];
		size_t n = 0;

		for (size_t i = 0; i < t->n_sites && n < REPORT_TOP_MAX; i++)
			if (t->sites[i].is_top)
				tops[n++] = &t->sites[i];
		qsort(tops, n, sizeof(tops[0]), cmp_site_bytes);
		for (size_t i = 0; i < n; i++)
			json_object_array_add(top, build_site(tops[i], false));
	}
	json_object_object_add(o, "leaks", leaks);
	json_object_object_add(o, "top_sites", top);
	if (t->note)
		json_object_object_add(o, "note", json_object_new_string(t->note));
	return o;
}

json_object *report_build(const struct report_target *targets, size_t n, time_t now)
{
	json_object *root = json_object_new_object(), *arr;
	char stamp[32];
	struct tm tm;

	if (!root)
		return NULL;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(root, "version", json_object_new_int(REPORT_VERSION));
	json_object_object_add(root, "generated_at", json_object_new_string(stamp));
	arr = json_object_new_array();
	json_object_object_add(root, "targets", arr);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, build_target(&targets[i]));
	return root;
}

int report_write_atomic(const char *path, json_object *report)
{
	_cleanup_free_ char *tmp = NULL;
	const char *text;
	size_t len, off = 0;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	text = json_object_to_json_string_ext(report, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (r == 0 && write(fd, "\n", 1) != 1)
		r = -EIO;
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static double jnum(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	return json_object_get_double(v);
}

static void print_site(FILE *f, json_object *site, const char *label)
{
	json_object *frames, *v;
	char size[32], rate[48], delta[48], where[256];
	size_t n;

	units_format_size(jnum(site, "live_bytes"), size, sizeof(size));
	units_format_rate(jnum(site, "growth_bytes_per_s"), "min", 1, rate, sizeof(rate));
	units_format_size(jnum(site, "delta_bytes"), delta, sizeof(delta));
	where[0] = '\0';
	if (json_object_object_get_ex(site, "frames", &frames) &&
	    json_object_array_length(frames) > 0) {
		json_object *fr = json_object_array_get_idx(frames, 0);
		const char *fn = jstr(fr, "function"), *file = jstr(fr, "file");

		if (file && strrchr(file, '/'))
			file = strrchr(file, '/') + 1;
		if (fn && file)
			snprintf(where, sizeof(where), "%s (%s:%d)", fn, file,
				 (int)jnum(fr, "line"));
		else
			snprintf(where, sizeof(where), "%s", fn ? fn : jstr(fr, "pc"));
	}
	fprintf(f, "  %-7s %s: %s in %.0f block%s, %s, oldest %.1fs, %s%s since last report\n",
		label, where[0] ? where : "(no stack)", size, jnum(site, "live_blocks"),
		jnum(site, "live_blocks") == 1 ? "" : "s", rate,
		jnum(site, "oldest_age_s"), jnum(site, "delta_bytes") >= 0 ? "+" : "", delta);
	if (!json_object_object_get_ex(site, "frames", &frames))
		return;
	n = json_object_array_length(frames);
	for (size_t i = 0; i < n && i < 8; i++) {
		json_object *fr = json_object_array_get_idx(frames, i);
		const char *fn = jstr(fr, "function"), *file = jstr(fr, "file");
		const char *mod = jstr(fr, "module");

		if (mod && strrchr(mod, '/'))
			mod = strrchr(mod, '/') + 1;
		fprintf(f, "          %s%s", json_object_object_get_ex(fr, "inlined", &v) &&
						 json_object_get_boolean(v)
					     ? "(inlined) "
					     : "",
			fn ? fn : "??");
		if (file)
			fprintf(f, " (%s:%d)", file, (int)jnum(fr, "line"));
		else
			fprintf(f, " [%s, no debug info]", jstr(fr, "pc"));
		fprintf(f, " in %s\n", mod ? mod : "?");
	}
	if (n > 8)
		fprintf(f, "          ... %zu more frames\n", n - 8);
}

void report_print_text(FILE *f, json_object *report)
{
	json_object *targets;

	fprintf(f, "leakmond report %s\n", jstr(report, "generated_at"));
	if (!json_object_object_get_ex(report, "targets", &targets))
		return;
	for (size_t i = 0; i < json_object_array_length(targets); i++) {
		json_object *t = json_object_array_get_idx(targets, i), *rss, *heap, *v;
		char now[32], first[32], peak[32], rate[48];

		fprintf(f, "pid %d (%s): %s, mode %s, observed %.1fs", (int)jnum(t, "pid"),
			jstr(t, "comm"), jstr(t, "status"), jstr(t, "mode"), jnum(t, "observed_s"));
		if (json_object_object_get_ex(t, "exit_status", &v))
			fprintf(f, ", exit status %d", json_object_get_int(v));
		if (json_object_object_get_ex(t, "exit_signal", &v))
			fprintf(f, ", killed by signal %d", json_object_get_int(v));
		fputc('\n', f);
		if (json_object_object_get_ex(t, "rss", &rss) && rss) {
			units_format_size(jnum(rss, "last_bytes"), now, sizeof(now));
			units_format_size(jnum(rss, "first_bytes"), first, sizeof(first));
			units_format_size(jnum(rss, "peak_bytes"), peak, sizeof(peak));
			units_format_rate(jnum(rss, "growth_bytes_per_s"), "h", 1, rate, sizeof(rate));
			fprintf(f, "  RSS %s now (first %s, peak %s), trend %s, %s\n", now, first, peak,
				jstr(rss, "trend"), rate);
		}
		if (json_object_object_get_ex(t, "note", &v))
			fprintf(f, "  note: %s\n", json_object_get_string(v));
		if (!json_object_object_get_ex(t, "heap", &heap) || !heap) {
			fprintf(f, "  heap: not traced (rss mode)\n");
		} else {
			units_format_size(jnum(heap, "live_bytes"), now, sizeof(now));
			units_format_size(jnum(heap, "peak_live_bytes"), peak, sizeof(peak));
			fprintf(f, "  heap: %s live in %.0f blocks (peak %s); %.0f allocations, %.0f frees\n",
				now, jnum(heap, "live_blocks"), peak, jnum(heap, "allocs"),
				jnum(heap, "frees"));
		}
		if (json_object_object_get_ex(t, "leaks", &v)) {
			for (size_t k = 0; k < json_object_array_length(v); k++) {
				json_object *site = json_object_array_get_idx(v, k);

				print_site(f, site, strcmp(jstr(site, "verdict"), "leak") == 0
							    ? "LEAK"
							    : "suspect");
			}
			if (heap && json_object_array_length(v) == 0)
				fprintf(f, "  no leaking call site found\n");
		}
		if (json_object_object_get_ex(t, "top_sites", &v) && json_object_array_length(v)) {
			fprintf(f, "  largest live call sites:\n");
			for (size_t k = 0; k < json_object_array_length(v) && k < 5; k++)
				print_site(f, json_object_array_get_idx(v, k), "site");
		}
	}
}
