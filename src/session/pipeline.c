/* pipeline.c - one watched process's samples, verdicts, alerts and report model. See pipeline.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "heap/allocfn.h"
#include "output/alert.h"
#include "output/statusline.h"
#include "session/pipeline.h"
#include "session/profile.h"
#include "verdict/detect.h"
#include "verdict/trend.h"

/* An alert goes to the log, to the report's timeline, and to syslog and stderr; when stderr is
 * the journal, which syslog also reaches, to the journal once: a structured entry (libsystemd),
 * or syslog, or a stderr line with its priority. */
static void write_alert(struct target *t, const struct pipeline_out *out, const char *msg,
			const struct alert_info *info, json_object *rec)
{
	if (!log_is_journal()) {
		if (t->set.syslog)
			alert_send(msg);
		if (out->is_alert_stderr) {
			statusline_clear(stdout); /* the same terminal, most likely */
			fprintf(stderr, "leakmond: alert: %s\n", msg);
		}
	} else if (t->set.syslog || out->is_alert_stderr) {
		if (alert_journal_send(msg, info) < 0) {
			if (t->set.syslog)
				alert_send(msg);
			else
				fprintf(stderr, "<4>leakmond: alert: %s\n", msg);
		}
	}
	(void)timeline_add_record(&t->timeline, rec);
	(void)tslog_write(out->log, rec);
}

static void raise_rss_alert(struct target *t, const struct pipeline_out *out)
{
	struct alert_info info;
	char msg[256];

	if (!alert_should_fire(&t->rss_alert, now_ns(), t->verdict.recent.slope))
		return;
	t->alerts_rss++;
	alert_format_rss(msg, sizeof(msg), t->pid, t->comm, t->verdict.recent.slope,
			 t->last.rss_bytes);
	info = (struct alert_info){ .pid = t->pid, .comm = t->comm, .kind = "rss_growth",
				    .bytes = t->last.rss_bytes,
				    .growth_bytes_per_s = t->verdict.recent.slope };
	write_alert(t, out, msg, &info,
		    tslog_record_alert_rss(wall_now(), t->pid, msg, t->verdict.recent.slope,
					   t->last.rss_bytes));
}

static void symbolize_site(struct target *t, struct site_report *r)
{
	const struct stack_table *stacks = t->heap ? t->heap->stacks : NULL;
	const uint64_t *pcs;
	size_t depth = stacks ? stacks_get(stacks, r->view.stack_id, &pcs) : 0;

	r->n_frames = 0;
	symbolizer_set_python(t->sym, t->heap ? t->heap->py : NULL);
	for (size_t i = 0; i < depth && r->n_frames < SITE_FRAMES_MAX; i++) {
		int n = symbolizer_lookup(t->sym, pcs[i], true, r->frames + r->n_frames,
					  SITE_FRAMES_MAX - r->n_frames);

		if (n <= 0)
			break;
		r->n_frames += (size_t)n;
	}
	/* frames[0] is the allocator's caller */
	while (r->n_frames > 1 && alloc_fn_is_allocator_name(r->frames[0].function)) {
		memmove(r->frames, r->frames + 1, (r->n_frames - 1) * sizeof(r->frames[0]));
		r->n_frames--;
	}
}

void pipeline_resymbolize(struct target *t)
{
	if (!t->sym || !t->heap || !t->heap->stacks)
		return; /* its stacks are gone: the frames it has are all there will be */
	for (size_t i = 0; i < t->n_reports; i++)
		symbolize_site(t, &t->reports[i]);
}

/* Frames a leak alert's log record carries (the message names the first and the first Python
 * one, which is never pending: Python frames are named from the target's memory). */
#define ALERT_RECORD_FRAMES 5

/* Whether the leak alert of r waits for the symbolizer helper: while tracing, until the frames
 * its record carries are named; when a report is written (is_final: the wait for names is over),
 * only while the site's own frame is not (deeper frames, such as the C library's start-up whose
 * DWARF is large and slow to read in a sanitizer build, are then named as they are). */
static bool site_is_pending(const struct site_report *r, bool is_final)
{
	size_t n = is_final ? 1 : ALERT_RECORD_FRAMES;

	for (size_t i = 0; i < r->n_frames && i < n; i++)
		if (r->frames[i].is_pending)
			return true;
	return false;
}

void pipeline_prepare_reports(struct target *t)
{
	struct site_view *views = NULL;
	struct site_report *reports;
	double min_age = (double)t->set.min_age_ns / 1e9;
	ssize_t n;
	size_t k = 0, n_leaks = 0;

	if (!t->sites)
		return;
	n = sites_judge(t->sites, min_age, DETECT_ALPHA, &views);
	if (n < 0)
		return;
	if (!t->sym && t->proc_fd >= 0)
		t->sym = symbolizer_new(t->pid);
	reports = calloc((size_t)n + 1, sizeof(*reports));
	if (!reports) {
		free(views);
		return;
	}
	/* views are sorted leaks first; mark the largest PIPELINE_TOP_SITES by bytes as top */
	for (ssize_t i = 0; i < n; i++) {
		bool is_leak = views[i].verdict != SITE_NONE && n_leaks < PIPELINE_MAX_LEAKS;
		size_t bigger = 0;

		for (ssize_t j = 0; j < n && bigger < PIPELINE_TOP_SITES; j++)
			if (views[j].live_bytes > views[i].live_bytes ||
			    (views[j].live_bytes == views[i].live_bytes && j < i))
				bigger++;
		if (!is_leak && bigger >= PIPELINE_TOP_SITES)
			continue;
		reports[k].view = views[i];
		reports[k].is_leak = is_leak;
		reports[k].is_top = bigger < PIPELINE_TOP_SITES;
		n_leaks += is_leak;
		reports[k].history = sites_history(t->sites, views[i].stack_id);
		if (t->sym)
			symbolize_site(t, &reports[k]);
		k++;
	}
	free(views);
	free(t->reports);
	t->reports = reports;
	t->n_reports = k;
}

static struct alert_state *site_alert_state(struct target *t, uint32_t stack_id)
{
	struct site_alert *a;

	for (size_t i = 0; i < t->n_site_alerts; i++)
		if (t->site_alerts[i].stack_id == stack_id)
			return &t->site_alerts[i].state;
	a = realloc(t->site_alerts, (t->n_site_alerts + 1) * sizeof(*a));
	if (!a)
		return NULL;
	t->site_alerts = a;
	a = &t->site_alerts[t->n_site_alerts++];
	memset(a, 0, sizeof(*a));
	a->stack_id = stack_id;
	return &a->state;
}

static void raise_leak_alerts(struct target *t, const struct pipeline_out *out, bool is_final)
{
	for (size_t i = 0; i < t->n_reports; i++) {
		const struct site_report *r = &t->reports[i];
		const struct sym_frame *py;
		struct alert_state *st;
		struct alert_info info;
		char msg[512];

		if (r->view.verdict != SITE_LEAK || r->view.live_bytes < t->set.alert_leak_size)
			continue;
		/* the alert names the site: not before its names arrived (next sample) */
		if (site_is_pending(r, is_final))
			continue;
		st = site_alert_state(t, r->view.stack_id);
		if (!st || !alert_should_fire(st, now_ns(), (double)r->view.live_bytes))
			continue;
		t->alerts_leak++;
		py = NULL;
		for (size_t k = 0; k < r->n_frames && !py; k++)
			if (r->frames[k].is_python)
				py = &r->frames[k];
		alert_format_leak(msg, sizeof(msg), t->pid, t->comm,
				  r->n_frames ? &r->frames[0] : NULL, py, r->view.live_bytes,
				  r->view.live_blocks, r->view.growth_bytes_per_s);
		info = (struct alert_info){ .pid = t->pid, .comm = t->comm, .kind = "leak",
					    .site = r->n_frames ? &r->frames[0] : NULL,
					    .bytes = r->view.live_bytes,
					    .growth_bytes_per_s = r->view.growth_bytes_per_s };
		write_alert(t, out, msg, &info,
			    tslog_record_alert_leak(wall_now(), t->pid, msg,
						    r->view.growth_bytes_per_s,
						    r->view.live_bytes, r->view.live_blocks,
						    r->frames,
						    r->n_frames < ALERT_RECORD_FRAMES ? r->n_frames
										      : ALERT_RECORD_FRAMES));
	}
}

void pipeline_raise_held_alerts(struct target *t, const struct pipeline_out *out)
{
	raise_leak_alerts(t, out, true);
}

static void sample_sites(struct target *t, const struct pipeline_out *out, double t_s,
			 uint32_t heap_now_ms)
{
	if (!t->bproc || !t->bstats.is_hooked || !t->heap || !t->heap->live)
		return;
	if (!t->sites)
		t->sites = sites_new();
	if (!t->sites || sites_sample(t->sites, t->heap->live, t_s, heap_now_ms) < 0)
		return;
	pipeline_prepare_reports(t);
	raise_leak_alerts(t, out, false);
	profile_warm(t);
}

/* RSS rising while the traced live bytes are not: nothing malloc hands out explains it. */
static void judge_rss_vs_heap(struct target *t)
{
	struct trend_result live;

	(void)series_append(&t->live, t->last.t_s, (double)t->last.live_bytes);
	t->rss_unexplained = NULL;
	if (t->verdict.recent.direction != TREND_RISING || t->verdict.recent.n < DETECT_RSS_MIN_POINTS)
		return;
	if (trend_analyze_tail(t->live.t, t->live.y, t->live.n, DETECT_RSS_WINDOW, DETECT_ALPHA,
			       &live) < 0)
		return;
	if (live.direction != TREND_RISING || live.slope < t->verdict.recent.slope / 10)
		t->rss_unexplained = "RSS is rising while the traced heap is not: fragmentation, or "
				     "memory from outside malloc (mmap, thread stacks, "
				     "another allocator)";
}

void pipeline_snapshot(struct target *t, const struct backend *b)
{
	if (!t->bproc || !b)
		return;
	backend_get_stats(b, t->bproc, &t->bstats);
	t->backend_name = b->ops->name;
	t->has_stats = true;
}

void pipeline_tick(struct target *t, const struct pipeline_out *out, const struct sample *s,
		   const struct backend *b, uint32_t heap_now_ms)
{
	t->last = *s;
	if (!t->has_sample)
		t->first_rss = s->rss_bytes;
	if (s->rss_bytes > t->peak_rss)
		t->peak_rss = s->rss_bytes;
	t->has_sample = true;
	(void)series_append(&t->rss, s->t_s, (double)s->rss_bytes);
	(void)detect_rss(&t->rss, t->set.alert_rss_growth, &t->verdict);
	if (t->bproc && t->heap) {
		struct heap_stats hs;

		pipeline_snapshot(t, b);
		heap_get_stats(t->heap, &hs);
		t->last.has_trace = true;
		t->last.live_bytes = hs.live.live_bytes;
		t->last.live_blocks = hs.live.live_blocks;
		t->last.allocs_total = hs.live.allocs;
		/* blocks released; frees of blocks never seen allocated are counted apart */
		t->last.frees_total = hs.live.frees + hs.live.replaced;
	}
	{
		json_object *rec = tslog_record_sample(t->pid, &t->last);

		(void)timeline_add_record(&t->timeline, rec);
		(void)tslog_write(out->log, rec);
	}
	if (t->verdict.should_alert)
		raise_rss_alert(t, out);
	sample_sites(t, out, t->last.t_s, heap_now_ms);
	if (t->bproc)
		judge_rss_vs_heap(t);
}

void pipeline_note(struct target *t, const struct pipeline_out *out, enum backend_note note,
		   int64_t a)
{
	switch (note) {
	case BACKEND_FORKED:
		(void)tslog_write(out->log, tslog_record_fork(wall_now(), t->pid, (pid_t)a));
		log_info("pid %d (%s): forked child %d, released untraced", (int)t->pid, t->comm,
			 (int)a);
		break;
	case BACKEND_EXECED:
		/* stack ids and modules of the old program mean nothing now */
		t->sites = sites_free(t->sites);
		profile_reset(t); /* its frames are the symbolizer's */
		t->sym = symbolizer_free(t->sym);
		free(t->reports);
		t->reports = NULL;
		t->n_reports = 0;
		(void)tslog_write(out->log, tslog_record_exec(wall_now(), t->pid));
		log_info("pid %d (%s): executed a new program", (int)t->pid, t->comm);
		break;
	case BACKEND_HOOKED:
		log_info("pid %d (%s): %u allocator hooks installed", (int)t->pid, t->comm,
			 t->bstats.hooks);
		break;
	case BACKEND_LOST_EVENTS:
		(void)tslog_write(out->log, tslog_record_lost(wall_now(), t->pid, (uint64_t)a));
		if (!t->has_warned_lost)
			log_warning("pid %d (%s): %lld allocator calls could not be recorded (the "
				    "event ring was full); the heap figures are incomplete",
				    (int)t->pid, t->comm, (long long)a);
		t->has_warned_lost = true;
		break;
	default:
		break;
	}
}

void pipeline_model(const struct target *t, uint64_t now_ns, struct report_target *ret)
{
	uint64_t end = t->end_ns ? t->end_ns : now_ns;

	memset(ret, 0, sizeof(*ret));
	ret->pid = t->pid;
	ret->comm = t->comm;
	ret->exe = t->exe[0] ? t->exe : NULL;
	ret->mode = t->mode;
	ret->status = t->status == TARGET_EXITED     ? REPORT_EXITED
		      : t->status == TARGET_DETACHED ? REPORT_DETACHED
						     : REPORT_RUNNING;
	ret->exit_status = t->exit_status;
	ret->exit_signal = t->exit_signal;
	ret->detach_error = t->detach_error;
	ret->observed_s = (double)(end - t->attach_ns) / 1e9;
	ret->rss_first = t->first_rss;
	ret->rss_last = t->last.rss_bytes;
	ret->rss_peak = t->peak_rss;
	ret->rss_recent = t->verdict.recent;
	ret->rss_samples = t->rss.n;
	ret->has_heap = t->has_stats && (t->heap || t->has_heap_snap);
	if (ret->has_heap) {
		ret->backend = t->backend_name;
		ret->sample_bytes = t->sample_bytes_now ? t->sample_bytes_now : t->set.sample_bytes;
		if (t->heap)
			heap_get_stats(t->heap, &ret->heap);
		else
			ret->heap = t->heap_snap; /* its tables were freed when tracing stopped */
		ret->trace = t->bstats;
	}
	ret->sites = t->reports;
	ret->n_sites = t->n_reports;
	ret->note = t->rss_unexplained;
	ret->stopped_by = t->stopped_by;
	ret->profile = t->profile;
	ret->timeline = &t->timeline;
	ret->wall_offset_s = t->has_sample ? t->last.ts - t->last.t_s : 0;
	ret->is_traced = t->bproc != NULL || (t->status == TARGET_DETACHED && t->was_traced);
	ret->escalations = t->escalations;
	ret->n_escalations = t->n_escalations;
	ret->escalations_total = t->escalations_total;
	ret->next_wait_s = (double)(t->escalate_wait_ns ? t->escalate_wait_ns
							: t->set.escalate_after_ns) / 1e9;
	ret->overhead = t->overhead;
	ret->max_overhead = options_effective_overhead(t->set.max_overhead, t->mode);
}

size_t pipeline_leak_count(const struct target *t)
{
	size_t n = 0;

	for (size_t k = 0; k < t->n_reports; k++)
		n += t->reports[k].view.verdict == SITE_LEAK;
	return n;
}

void pipeline_metrics(const struct target *t, struct metrics_target *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->pid = t->pid;
	ret->comm = t->comm;
	ret->watch = t->watch[0] ? t->watch : NULL;
	ret->rss_bytes = t->last.rss_bytes;
	ret->growth_bytes_per_s = t->verdict.recent.slope;
	ret->trend = t->verdict.recent.direction == TREND_RISING    ? 1
		     : t->verdict.recent.direction == TREND_FALLING ? -1
								    : 0;
	ret->has_heap = t->has_stats && (t->heap || t->has_heap_snap);
	if (ret->has_heap) {
		struct heap_stats hs;

		if (t->heap)
			heap_get_stats(t->heap, &hs);
		else
			hs = t->heap_snap;
		ret->live_bytes = hs.live.live_bytes;
		ret->live_blocks = hs.live.live_blocks;
	}
	for (size_t k = 0; k < t->n_reports; k++) {
		if (t->reports[k].view.verdict != SITE_LEAK)
			continue;
		ret->leak_sites++;
		ret->leak_bytes += t->reports[k].view.live_bytes;
	}
	ret->alerts_rss = t->alerts_rss;
	ret->alerts_leak = t->alerts_leak;
	ret->is_traced = t->bproc != NULL;
	ret->lost_events = t->lost_before + (t->has_stats ? t->bstats.lost : 0);
}
