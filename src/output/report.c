/* report.c - JSON and text leak reports. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/escape.h"
#include "heap/allocfn.h"
#include "output/report.h"
#include "base/units.h"
#include "base/util.h"
#include "output/jsonget.h"
#include "verdict/detect.h"

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
		if (f->is_python)
			json_object_object_add(o, "language", json_object_new_string("python"));
		if (f->build_id)
			json_object_object_add(o, "build_id", json_object_new_string(f->build_id));
		if (f->is_module_deleted)
			json_object_object_add(o, "module_deleted", json_object_new_boolean(true));
		json_object_array_add(arr, o);
	}
	return arr;
}

struct report_profile *report_profile_free(struct report_profile *p)
{
	if (p) {
		free(p->frames);
		free(p->refs);
		free(p->sites);
		free(p);
	}
	return NULL;
}

static const char *allocator_name(enum alloc_fn kind)
{
	return alloc_fn_name(kind) ? alloc_fn_name(kind) : "malloc";
}

/* "history": {"ts": [...], "live_bytes": [...]}: a site's series in Unix time. */
static json_object *build_history(const struct series *h, double wall_offset_s)
{
	json_object *o = json_object_new_object(), *ts, *bytes;

	if (!o)
		return NULL;
	ts = json_object_new_array_ext((int)h->n);
	bytes = json_object_new_array_ext((int)h->n);
	json_object_object_add(o, "ts", ts);
	json_object_object_add(o, "live_bytes", bytes);
	for (size_t i = 0; ts && bytes && i < h->n; i++) {
		json_object_array_add(ts, json_object_new_double(h->t[i] + wall_offset_s));
		json_object_array_add(bytes, json_object_new_uint64((uint64_t)h->y[i]));
	}
	return o;
}

static json_object *build_profile(const struct report_profile *p)
{
	json_object *o = json_object_new_object(), *sites;

	if (!o)
		return NULL;
	json_object_object_add(o, "live_bytes", json_object_new_uint64(p->live_bytes));
	json_object_object_add(o, "live_blocks", json_object_new_uint64(p->live_blocks));
	json_object_object_add(o, "omitted_sites", json_object_new_uint64(p->omitted_sites));
	json_object_object_add(o, "frames", report_frames(p->frames, p->n_frames));
	sites = json_object_new_array_ext((int)p->n_sites);
	json_object_object_add(o, "sites", sites);
	for (size_t i = 0; sites && i < p->n_sites; i++) {
		const struct report_profile_site *ps = &p->sites[i];
		json_object *so = json_object_new_object(), *refs;

		if (!so)
			break;
		json_object_object_add(so, "allocator", json_object_new_string(allocator_name(ps->kind)));
		json_object_object_add(so, "live_bytes", json_object_new_uint64(ps->live_bytes));
		json_object_object_add(so, "live_blocks", json_object_new_uint64(ps->live_blocks));
		if (ps->is_other)
			json_object_object_add(so, "other", json_object_new_boolean(true));
		refs = json_object_new_array_ext((int)ps->n);
		for (size_t k = 0; refs && k < ps->n; k++)
			json_object_array_add(refs, json_object_new_int((int)p->refs[ps->first + k]));
		json_object_object_add(so, "frames", refs);
		json_object_array_add(sites, so);
	}
	return o;
}

static json_object *build_site(const struct site_report *r, bool with_verdict, double wall_offset_s)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (with_verdict)
		json_object_object_add(o, "verdict", json_object_new_string(
							     r->view.verdict == SITE_LEAK ? "leak"
										    : "suspect"));
	json_object_object_add(o, "allocator", json_object_new_string(allocator_name(r->view.kind)));
	json_object_object_add(o, "live_bytes", json_object_new_uint64(r->view.live_bytes));
	json_object_object_add(o, "live_blocks", json_object_new_uint64(r->view.live_blocks));
	json_object_object_add(o, "growth_bytes_per_s",
			       json_object_new_double(r->view.growth_bytes_per_s));
	json_object_object_add(o, "oldest_age_s", json_object_new_double(r->view.oldest_age_s));
	json_object_object_add(o, "delta_bytes", json_object_new_int64(r->view.delta_bytes));
	json_object_object_add(o, "samples", json_object_new_int((int)r->view.points));
	json_object_object_add(o, "frames", report_frames(r->frames, r->n_frames));
	if (r->history && r->history->n)
		json_object_object_add(o, "history", build_history(r->history, wall_offset_s));
	return o;
}

static json_object *iso_time(double ts)
{
	time_t sec = (time_t)ts;
	char stamp[32];
	struct tm tm;

	if (ts <= 0)
		return NULL;
	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(stamp);
}

/* "traced", and for mode auto (or a trace a governor stopped) "escalations" and "overhead" */
static void build_auto(json_object *o, const struct report_target *t)
{
	json_object *arr;

	json_object_object_add(o, "traced", json_object_new_boolean(t->is_traced));
	if (t->max_overhead > 0 && t->overhead >= 0) {
		json_object *ov = json_object_new_object();

		json_object_object_add(ov, "estimate", json_object_new_double(t->overhead));
		json_object_object_add(ov, "max", json_object_new_double(t->max_overhead));
		json_object_object_add(o, "overhead", ov);
	}
	if (t->mode != MODE_AUTO && t->n_escalations == 0)
		return;
	arr = json_object_new_array();
	for (size_t i = 0; arr && i < t->n_escalations; i++) {
		const struct report_escalation *e = &t->escalations[i];
		json_object *x = json_object_new_object();

		if (!x)
			break;
		json_object_object_add(x, "started_at", iso_time(e->start_ts));
		json_object_object_add(x, "ended_at", iso_time(e->end_ts));
		json_object_object_add(x, "reason", json_object_new_string(e->reason));
		json_object_object_add(x, "growth_bytes_per_s",
				       json_object_new_double(e->growth_bytes_per_s));
		json_object_object_add(x, "outcome",
				       e->outcome ? json_object_new_string(e->outcome) : NULL);
		json_object_object_add(x, "leaks", json_object_new_uint64(e->leaks));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "escalations", arr);
	json_object_object_add(o, "escalations_total", json_object_new_uint64(t->escalations_total));
	if (t->mode == MODE_AUTO)
		json_object_object_add(o, "next_wait_s", json_object_new_double(t->next_wait_s));
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
	if (t->status == REPORT_DETACHED && (t->mode == MODE_TRACE || t->is_traced)) {
		json_object_object_add(o, "detach_clean", json_object_new_boolean(t->detach_error == 0));
		if (t->detach_error)
			json_object_object_add(o, "detach_error",
					       json_object_new_string(strerror(-t->detach_error)));
	}
	if (t->status == REPORT_EXITED) {
		if (t->stopped_by)
			json_object_object_add(o, "stopped_by", json_object_new_string(t->stopped_by));
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
			json_object_array_add(leaks, build_site(&t->sites[i], true, t->wall_offset_s));
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
			json_object_array_add(top, build_site(tops[i], false, t->wall_offset_s));
	}
	json_object_object_add(o, "leaks", leaks);
	json_object_object_add(o, "top_sites", top);
	if (t->note)
		json_object_object_add(o, "note", json_object_new_string(t->note));
	if (t->profile)
		json_object_object_add(o, "profile", build_profile(t->profile));
	if (t->timeline)
		json_object_object_add(o, "timeline", timeline_to_json(t->timeline));
	build_auto(o, t);
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

int report_write_atomic(const char *path, json_object *report, mode_t mode, unsigned flags)
{
	_cleanup_free_ char *text = NULL;
	int len = asprintf(&text, "%s\n", json_object_to_json_string_ext(report, REPORT_JSON_FLAGS));

	if (len < 0) {
		text = NULL;
		return -ENOMEM;
	}
	return atomic_write_file(path, text, (size_t)len, mode, flags);
}

static const char *jstr(json_object *o, const char *key)
{
	return jget_str(o, key);
}

static double jnum(json_object *o, const char *key)
{
	return jget_num(o, key, 0);
}

bool report_frame_is_outer(json_object *frame, bool *ret_is_kept)
{
	static const char *const starts[] = { "start_thread", "clone", "clone3", "__clone",
					      "__clone3", "__libc_start_main", "__libc_start_call_main",
					      "_start", "__start_context" };
	const char *fn = jstr(frame, "function");

	*ret_is_kept = false;
	if (!fn)
		return false;
	if (strcmp(fn, "main") == 0) {
		*ret_is_kept = true;
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(starts); i++)
		if (strcmp(fn, starts[i]) == 0)
			return true;
	return false;
}

void report_describe_status(json_object *t, char *buf, size_t len)
{
	const char *status = jstr(t, "status") ? jstr(t, "status") : "?";
	const char *by = jstr(t, "stopped_by");
	json_object *v;
	char sig[32] = "";

	if (strcmp(status, "exited") != 0) {
		snprintf(buf, len, "%s", status);
		return;
	}
	if ((v = jget(t, "exit_signal")) && json_object_is_type(v, json_type_int)) {
		const char *abbrev = sigabbrev_np(json_object_get_int(v));

		snprintf(sig, sizeof(sig), "%d%s%s%s", json_object_get_int(v), abbrev ? " (SIG" : "",
			 abbrev ? abbrev : "", abbrev ? ")" : "");
	}
	if (by) {
		bool is_killed = sig[0] && jnum(t, "exit_signal") == SIGKILL;

		if (strcmp(by, "duration") == 0)
			snprintf(buf, len, "exited, stopped by leakmond at --duration%s",
				 is_killed ? " (killed: it ignored SIGTERM)" : "");
		else if (strncmp(by, "SIG", 3) == 0)
			snprintf(buf, len, "exited, stopped by leakmond on %s%s", by,
				 is_killed ? " (killed: it ignored SIGTERM)" : "");
		else
			snprintf(buf, len, "exited, stopped by leakmond (%s)%s", by,
				 is_killed ? ", killed: it ignored SIGTERM" : "");
	} else if (sig[0]) {
		snprintf(buf, len, "exited, killed by signal %s", sig);
	} else if ((v = jget(t, "exit_status")) && json_object_is_type(v, json_type_int)) {
		snprintf(buf, len, "exited with status %d", json_object_get_int(v));
	} else {
		snprintf(buf, len, "exited");
	}
}

/* The most samples any listed site has (the site verdicts need SITES_MIN_POINTS). */
static size_t site_samples(json_object *t)
{
	const char *lists[] = { "leaks", "top_sites" };
	size_t most = 0;

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_object *arr = jget_arr(t, lists[l]);

		for (size_t i = 0; i < jlen(arr); i++)
			if (jnum(jidx(arr, i), "samples") > (double)most)
				most = (size_t)jnum(jidx(arr, i), "samples");
	}
	return most;
}

enum report_verdict report_describe_verdict(json_object *t, char *buf, size_t len)
{
	json_object *leaks = jget_arr(t, "leaks");
	size_t n_leak = 0, n_suspect = 0, samples;

	if (!jget(t, "heap")) {
		snprintf(buf, len, "heap not traced (rss mode)");
		return REPORT_NOT_TRACED;
	}
	for (size_t i = 0; i < jlen(leaks); i++) {
		const char *v = jstr(jidx(leaks, i), "verdict");

		if (v && strcmp(v, "leak") == 0)
			n_leak++;
		else
			n_suspect++;
	}
	samples = site_samples(t);
	if (n_leak) {
		snprintf(buf, len, "%zu leak%s found%s", n_leak, n_leak == 1 ? "" : "s",
			 n_suspect ? ", and suspects" : "");
		return REPORT_LEAKS;
	}
	if (jlen(jget_arr(t, "top_sites")) && samples < SITES_MIN_POINTS) {
		snprintf(buf, len, "too few samples yet (%zu of %d)", samples, SITES_MIN_POINTS);
		return REPORT_TOO_FEW_SAMPLES;
	}
	snprintf(buf, len, "no leaking call site found%s", n_suspect ? " (suspects below)" : "");
	return REPORT_NO_LEAK;
}

/* Whether site a (of "top_sites") is also one of the leaks: same allocator, frames and bytes. */
static bool is_listed_leak(json_object *t, json_object *a)
{
	json_object *leaks = jget_arr(t, "leaks"), *fa = jget_arr(a, "frames");

	for (size_t i = 0; i < jlen(leaks); i++) {
		json_object *b = jidx(leaks, i), *fb = jget_arr(b, "frames");
		bool is_same = jlen(fa) == jlen(fb) && jnum(a, "live_bytes") == jnum(b, "live_bytes");

		for (size_t k = 0; is_same && k < jlen(fa); k++) {
			const char *pa = jstr(jidx(fa, k), "pc"), *pb = jstr(jidx(fb, k), "pc");

			is_same = pa && pb && strcmp(pa, pb) == 0;
		}
		if (is_same)
			return true;
	}
	return false;
}

#define TEXT_FRAMES_MAX 16 /* frames of a trimmed stack at most */

/* A string of the report for the text form: names, paths and comms come from the target, so
 * control characters are escaped (escape_text()). NULL stays NULL. */
static const char *txt(char *buf, size_t len, const char *s)
{
	return s ? escape_text(buf, len, s) : NULL;
}

static void print_site(FILE *f, json_object *site, const char *label, bool is_full_stacks)
{
	json_object *frames = jget_arr(site, "frames");
	char size[32], rate[48], delta[48], where[256];
	size_t n = jlen(frames), shown = 0;

	units_format_size(jnum(site, "live_bytes"), size, sizeof(size));
	units_format_rate(jnum(site, "growth_bytes_per_s"), "min", 1, rate, sizeof(rate));
	units_format_size(jnum(site, "delta_bytes"), delta, sizeof(delta));
	where[0] = '\0';
	if (n > 0) {
		json_object *fr = jidx(frames, 0);
		char fnb[256], fileb[256];
		const char *fn = txt(fnb, sizeof(fnb), jstr(fr, "function"));
		const char *file = txt(fileb, sizeof(fileb), jbasename(jstr(fr, "file")));

		if (fn && file)
			snprintf(where, sizeof(where), "%s (%s:%d)", fn, file,
				 (int)jnum(fr, "line"));
		else
			snprintf(where, sizeof(where), "%s", fn ? fn : jstr(fr, "pc") ? jstr(fr, "pc") : "?");
		for (size_t i = 1; i < n; i++) {
			json_object *py = jidx(frames, i);
			const char *lang = jstr(py, "language"), *pfn = jstr(py, "function");
			size_t at = strlen(where);

			if (!lang || strcmp(lang, "python") != 0)
				continue;
			if (pfn && at + 1 < sizeof(where))
				snprintf(where + at, sizeof(where) - at, " from Python %s (%s:%d)", pfn,
					 jbasename(jstr(py, "file")) ? jbasename(jstr(py, "file")) : "?",
					 (int)jnum(py, "line"));
			break;
		}
	}
	fprintf(f, "  %-7s %s: %s in %.0f block%s, %s, oldest %.1fs, %s%s since last report\n",
		label, where[0] ? where : "(no stack)", size, jnum(site, "live_blocks"),
		jnum(site, "live_blocks") == 1 ? "" : "s", rate,
		jnum(site, "oldest_age_s"), jnum(site, "delta_bytes") >= 0 ? "+" : "", delta);
	for (size_t i = 0; i < n; i++) {
		json_object *fr = jidx(frames, i);
		char fnb[1024], fileb[1024], modb[256];
		const char *fn = txt(fnb, sizeof(fnb), jstr(fr, "function"));
		const char *file = txt(fileb, sizeof(fileb), jstr(fr, "file"));
		const char *mod = txt(modb, sizeof(modb), jbasename(jstr(fr, "module")));
		bool is_kept = true, is_outer = !is_full_stacks && report_frame_is_outer(fr, &is_kept);

		if (is_outer && !is_kept)
			break;
		if (!is_full_stacks && shown == TEXT_FRAMES_MAX) {
			fprintf(f, "          ... %zu more frames (-v shows them)\n", n - i);
			break;
		}
		fprintf(f, "          %s%s", jget_bool(fr, "inlined") ? "(inlined) " : "",
			fn ? fn : "??");
		if (file)
			fprintf(f, " (%s:%d)", file, (int)jnum(fr, "line"));
		else
			fprintf(f, " [%s, no debug info]", jstr(fr, "pc") ? jstr(fr, "pc") : "?");
		if (jstr(fr, "language") && strcmp(jstr(fr, "language"), "python") == 0)
			fprintf(f, " (Python)\n");
		else
			fprintf(f, " in %s\n", mod ? mod : "?");
		shown++;
		if (is_outer)
			break;
	}
}

void report_print_text_full(FILE *f, json_object *report, bool is_full_stacks)
{
	json_object *targets = jget_arr(report, "targets");

	fprintf(f, "leakmond report %s\n", jstr(report, "generated_at") ? jstr(report, "generated_at") : "?");
	for (size_t i = 0; i < jlen(targets); i++) {
		json_object *t = jidx(targets, i), *rss, *heap, *v;
		char now[32], first[32], peak[32], rate[48], status[160], verdict[96], comm[64];
		enum report_verdict kind;
		size_t others = 0;

		report_describe_status(t, status, sizeof(status));
		fprintf(f, "pid %d (%s): %s, mode %s, observed %.1fs\n", (int)jnum(t, "pid"),
			jstr(t, "comm") ? txt(comm, sizeof(comm), jstr(t, "comm")) : "?", status,
			jstr(t, "mode") ? jstr(t, "mode") : "?", jnum(t, "observed_s"));
		if ((rss = jget(t, "rss"))) {
			units_format_size(jnum(rss, "last_bytes"), now, sizeof(now));
			units_format_size(jnum(rss, "first_bytes"), first, sizeof(first));
			units_format_size(jnum(rss, "peak_bytes"), peak, sizeof(peak));
			units_format_rate(jnum(rss, "growth_bytes_per_s"), "h", 1, rate, sizeof(rate));
			if (jget(rss, "samples") && jnum(rss, "samples") < DETECT_RSS_MIN_POINTS)
				fprintf(f, "  RSS %s now (first %s, peak %s), trend: too few samples yet (%.0f of %d)\n",
					now, first, peak, jnum(rss, "samples"), DETECT_RSS_MIN_POINTS);
			else
				fprintf(f, "  RSS %s now (first %s, peak %s), trend %s, %s\n", now, first,
					peak, jstr(rss, "trend") ? jstr(rss, "trend") : "?", rate);
		}
		if ((v = jget(t, "note")) && json_object_is_type(v, json_type_string))
			fprintf(f, "  note: %s\n", json_object_get_string(v));
		kind = report_describe_verdict(t, verdict, sizeof(verdict));
		if (!(heap = jget(t, "heap"))) {
			fprintf(f, "  heap: not traced (rss mode)\n");
			continue;
		}
		units_format_size(jnum(heap, "live_bytes"), now, sizeof(now));
		units_format_size(jnum(heap, "peak_live_bytes"), peak, sizeof(peak));
		fprintf(f, "  heap: %s live in %.0f blocks (peak %s); %.0f allocations, %.0f frees\n",
			now, jnum(heap, "live_blocks"), peak, jnum(heap, "allocs"), jnum(heap, "frees"));
		v = jget_arr(t, "leaks");
		for (size_t k = 0; k < jlen(v); k++) {
			json_object *site = jidx(v, k);
			const char *verd = jstr(site, "verdict");

			print_site(f, site, verd && strcmp(verd, "leak") == 0 ? "LEAK" : "suspect",
				   is_full_stacks);
		}
		if (kind != REPORT_LEAKS)
			fprintf(f, "  %s\n", verdict);
		/* the largest sites that are not leaks already shown */
		v = jget_arr(t, "top_sites");
		for (size_t k = 0; k < jlen(v) && others < 5; k++) {
			json_object *site = jidx(v, k);

			if (is_listed_leak(t, site))
				continue;
			if (others++ == 0)
				fprintf(f, "  other large live call sites:\n");
			print_site(f, site, "site", is_full_stacks);
		}
	}
}

void report_print_text(FILE *f, json_object *report)
{
	report_print_text_full(f, report, false);
}
