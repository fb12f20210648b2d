/* escalate.c - mode auto's trace windows, and the governors that stop or thin a trace: the
 * overhead budget (max_overhead) per process and the memory budget (max_memory) of leakmond's
 * tables. How they decide: doc/design.md, "Mode auto and the governors". */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/units.h"
#include "base/util.h"
#include "session/session_priv.h"
#include "verdict/overhead.h"
#include "verdict/trend.h"

#define WAIT_MAX_FACTOR 64	      /* back-off: the wait doubles up to 64 x escalate_after */
#define GOV_SPAN_MIN_NS (2 * NSEC_PER_SEC) /* the overhead is judged over at least this */
#define COARSER_STEPS_MAX 3	      /* a governor makes sampling coarser this often, then stops */
#define COARSER_FIRST_BYTES (64 * 1024) /* the first coarser sampling period */

static uint64_t current_wait(const struct target *t)
{
	return t->escalate_wait_ns ? t->escalate_wait_ns : t->set.escalate_after_ns;
}

static uint64_t doubled_wait(const struct target *t)
{
	uint64_t w = current_wait(t), cap = t->set.escalate_after_ns * WAIT_MAX_FACTOR;

	if (w == 0)
		return 0;
	return w > cap / 2 ? (cap > w ? cap : w) : 2 * w;
}

/* Forget the tables of a previous trace: a new window starts from an empty heap (blocks freed
 * while we were away would otherwise look leaked). */
static void reset_trace_state(struct target *t)
{
	t->lost_before += t->has_stats ? t->bstats.lost : 0;
	t->heap = heap_free(t->heap);
	t->sites = sites_free(t->sites);
	free(t->reports);
	t->reports = NULL;
	t->n_reports = 0;
	free(t->site_alerts);
	t->site_alerts = NULL;
	t->n_site_alerts = 0;
	memset(&t->bstats, 0, sizeof(t->bstats));
	t->has_stats = false;
	t->has_heap_snap = false;
	t->has_warned_lost = false;
	t->live.n = 0;
	t->rss_unexplained = NULL;
	t->sample_bytes_now = 0;
	t->coarser_steps = 0;
	t->has_gov_base = false;
	t->overhead = -1;
}

/* Keep what the report needs of a trace and free its tables. */
static void free_tables(struct target *t)
{
	if (t->heap) {
		heap_get_stats(t->heap, &t->heap_snap);
		t->has_heap_snap = true;
		t->heap = heap_free(t->heap);
	}
	/* the prepared reports keep their figures and frames, not the histories they borrow */
	for (size_t i = 0; i < t->n_reports; i++)
		t->reports[i].history = NULL;
	t->sites = sites_free(t->sites);
}

void escalate_closed(struct session *s, struct target *t, const char *reason)
{
	struct pipeline_out out = session_out(s, t);
	size_t leaks = pipeline_leak_count(t);
	uint64_t now = now_ns();
	double next = -1;

	if (t->is_escalated) {
		struct report_escalation *e = &t->escalations[t->n_escalations - 1];

		e->end_ts = wall_now();
		e->outcome = reason;
		e->leaks = leaks;
		t->is_escalated = false;
		/* a window that found a leak may come back as soon as RSS rises again; one that
		 * found nothing, or could not finish, waits twice as long */
		t->escalate_wait_ns = leaks && strcmp(reason, "window") == 0 ? t->set.escalate_after_ns
									      : doubled_wait(t);
		next = (double)current_wait(t) / 1e9;
	}
	t->rising_since_ns = 0;
	t->has_warned_wait = false;
	(void)tslog_write(out.log,
			  tslog_record_deescalate(wall_now(), t->pid, reason, leaks,
						  (double)(now - t->window_start_ns) / 1e9, next));
}

void escalate_stop(struct session *s, struct target *t, const char *reason)
{
	if (t->bproc) {
		if (t->sites && t->status == TARGET_RUNNING)
			pipeline_prepare_reports(t); /* names the sites while the process is there */
		session_untrace(s, t);
	}
	if (t->status != TARGET_RUNNING)
		return; /* it exited while we detached: its exit closed the window */
	session_watch_exit(s, t);
	t->was_traced = false;
	free_tables(t);
	escalate_closed(s, t, reason);
	log_info("pid %d (%s): tracing stopped (%s), %zu leak%s found; RSS sampling goes on",
		 (int)t->pid, t->comm, reason, pipeline_leak_count(t),
		 pipeline_leak_count(t) == 1 ? "" : "s");
	session_write_target_report(s, t);
	if (!s->conf)
		session_write_reports(s, false);
}

static int escalate_start(struct session *s, struct target *t, uint64_t now)
{
	struct pipeline_out out = session_out(s, t);
	double rising_s = (double)(now - t->rising_since_ns) / 1e9;
	char err[512], rate[48], window[32];
	struct report_escalation *e;
	int r;

	reset_trace_state(t);
	if (t->pidfd >= 0)
		(void)loop_remove(s->loop, t->pidfd); /* a traced process's exit comes as a note */
	r = session_trace(s, t, false, err, sizeof(err));
	if (r < 0) {
		session_watch_exit(s, t);
		t->escalate_wait_ns = doubled_wait(t);
		t->rising_since_ns = now;
		units_format_duration(current_wait(t), window, sizeof(window));
		log_warning("%s; its RSS rises: trying again in %s if it still does", err, window);
		return r;
	}
	if (t->n_escalations == TARGET_ESCALATIONS_KEPT) {
		memmove(t->escalations, t->escalations + 1,
			(TARGET_ESCALATIONS_KEPT - 1) * sizeof(t->escalations[0]));
		t->n_escalations--;
	}
	e = &t->escalations[t->n_escalations++];
	memset(e, 0, sizeof(*e));
	e->start_ts = wall_now();
	e->reason = "rss_rising";
	e->growth_bytes_per_s = t->verdict.recent.slope;
	t->escalations_total++;
	t->is_escalated = true;
	t->window_end_ns = now + t->set.trace_window_ns;
	(void)tslog_write(out.log, tslog_record_escalate(e->start_ts, t->pid, e->reason,
							 e->growth_bytes_per_s, rising_s,
							 (double)t->set.trace_window_ns / 1e9));
	units_format_rate(t->verdict.recent.slope, "h", 0, rate, sizeof(rate));
	units_format_duration(t->set.trace_window_ns, window, sizeof(window));
	log_info("pid %d (%s): RSS rising %s for %.0fs: tracing it for %s", (int)t->pid, t->comm,
		 rate, rising_s, window);
	return 0;
}

static bool is_rising(const struct target *t)
{
	return t->has_sample && t->verdict.recent.n >= DETECT_RSS_MIN_POINTS &&
	       t->verdict.recent.direction == TREND_RISING && t->verdict.recent.slope > 0;
}

static size_t traced_count(const struct session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_targets; i++)
		n += s->targets[i]->bproc != NULL;
	return n;
}

static void auto_windows(struct session *s, uint64_t now)
{
	unsigned max_traced = session_global(s)->max_traced;
	size_t traced;

	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];

		if (t->is_escalated && t->bproc && t->status == TARGET_RUNNING &&
		    now >= t->window_end_ns)
			escalate_stop(s, t, "window");
	}
	traced = traced_count(s);
	for (;;) {
		struct target *best = NULL;

		for (size_t i = 0; i < s->n_targets; i++) {
			struct target *t = s->targets[i];

			if (t->mode != MODE_AUTO || t->status != TARGET_RUNNING || t->bproc)
				continue;
			if (!is_rising(t)) {
				t->rising_since_ns = 0;
				t->has_warned_wait = false;
				continue;
			}
			if (!t->rising_since_ns)
				t->rising_since_ns = now;
			if (now - t->rising_since_ns < current_wait(t))
				continue;
			if (traced >= max_traced) {
				if (!t->has_warned_wait)
					log_info("pid %d (%s): RSS rising, but %u process%s traced "
						 "already (max_traced): waiting for a free slot",
						 (int)t->pid, t->comm, max_traced,
						 max_traced == 1 ? " is" : "es are");
				t->has_warned_wait = true;
				continue;
			}
			/* the fastest growing first */
			if (!best || t->verdict.recent.slope > best->verdict.recent.slope)
				best = t;
		}
		if (!best || !s->backend)
			return;
		if (escalate_start(s, best, now) == 0)
			traced++;
	}
}

/* Ask for coarser sampling. Returns true when the backend took it. */
static bool make_coarser(struct session *s, struct target *t, const char *why)
{
	uint64_t next = t->sample_bytes_now ? t->sample_bytes_now * 4 : COARSER_FIRST_BYTES;
	char size[32];

	if (t->coarser_steps >= COARSER_STEPS_MAX ||
	    backend_set_sampling(s->backend, t->bproc, next) < 0)
		return false;
	t->sample_bytes_now = next;
	t->coarser_steps++;
	units_format_size((double)next, size, sizeof(size));
	log_warning("pid %d (%s): %s: stacks are now recorded once per %s allocated", (int)t->pid,
		    t->comm, why, size);
	return true;
}

static void govern_overhead(struct session *s, struct target *t, uint64_t now)
{
	double max = options_effective_overhead(t->set.max_overhead, t->mode);
	uint64_t span = 3 * t->set.interval_ns;
	struct overhead_estimate e;
	struct overhead_point p;
	char why[160];

	if (!t->bproc || max <= 0 || t->status != TARGET_RUNNING)
		return;
	if (target_read_cpu(t, &p.cpu_ns) < 0)
		return;
	pipeline_snapshot(t, s->backend);
	p.t_ns = now;
	p.events = t->bstats.events;
	p.stops = t->bstats.stops;
	if (!t->has_gov_base) {
		t->gov_base = p;
		t->has_gov_base = true;
		return;
	}
	if (now - t->gov_base.t_ns < (span > GOV_SPAN_MIN_NS ? span : GOV_SPAN_MIN_NS))
		return;
	if (overhead_estimate(&t->gov_base, &p, &e) < 0) {
		t->gov_base = p; /* the counters started again (exec) */
		return;
	}
	t->gov_base = p;
	t->overhead = e.share;
	if (!overhead_is_over(&e, max))
		return;
	snprintf(why, sizeof(why), "tracing costs it about %.1f%% of its CPU, above max_overhead %.1f%%",
		 100 * e.share, 100 * max);
	if (make_coarser(s, t, why))
		return;
	log_warning("pid %d (%s): %s: tracing stops, RSS sampling goes on", (int)t->pid, t->comm,
		    why);
	escalate_stop(s, t, "overhead");
}

static void govern_memory(struct session *s)
{
	uint64_t max = session_global(s)->max_memory, total = 0;
	struct target *largest = NULL;
	size_t largest_bytes = 0;
	char used[32], budget[32], own[32], why[160];

	if (!max)
		return;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];
		size_t b;

		if (!t->heap)
			continue;
		b = heap_memory_bytes(t->heap, NULL);
		total += b;
		if (t->bproc && t->status == TARGET_RUNNING && b > largest_bytes) {
			largest = t;
			largest_bytes = b;
		}
	}
	if (total <= max / 4 * 3)
		return;
	units_format_size((double)total, used, sizeof(used));
	units_format_size((double)max, budget, sizeof(budget));
	if (total <= max) {
		/* getting close: slow the largest table's growth where the backend can */
		snprintf(why, sizeof(why), "leakmond's tables use %s of max_memory %s", used, budget);
		if (largest)
			(void)make_coarser(s, largest, why);
		return;
	}
	/* over: the tables of processes no longer traced go first, then the largest trace */
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i]->heap && !s->targets[i]->bproc)
			free_tables(s->targets[i]);
	if (!largest)
		return;
	units_format_size((double)largest_bytes, own, sizeof(own));
	log_warning("leakmond's tables use %s, above max_memory %s: tracing of pid %d (%s), the "
		    "largest (%s), stops; RSS sampling goes on",
		    used, budget, (int)largest->pid, largest->comm, own);
	escalate_stop(s, largest, "memory");
}

void escalate_tick(struct session *s)
{
	uint64_t now = now_ns();

	for (size_t i = 0; i < s->n_targets; i++)
		govern_overhead(s, s->targets[i], now);
	govern_memory(s);
	auto_windows(s, now);
}
