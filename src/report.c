/* report.c - JSON and text leak reports. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "units.h"
#include "util.h"

static const char *status_name(enum target_status s)
{
	switch (s) {
	case TARGET_RUNNING:
		return "running";
	case TARGET_EXITED:
		return "exited";
	case TARGET_DETACHED:
		return "detached";
	}
	return "running";
}

static json_object *build_rss(const struct target *t)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "first_bytes", json_object_new_uint64(t->first_rss));
	json_object_object_add(o, "last_bytes", json_object_new_uint64(t->last.rss_bytes));
	json_object_object_add(o, "peak_bytes", json_object_new_uint64(t->peak_rss));
	json_object_object_add(o, "growth_bytes_per_s",
			       json_object_new_double(t->verdict.recent.slope));
	json_object_object_add(o, "trend", json_object_new_string(trend_direction_name(
							   t->verdict.recent.direction)));
	json_object_object_add(o, "trend_p_value",
			       json_object_new_double(t->verdict.recent.p_value));
	json_object_object_add(o, "samples", json_object_new_int((int)t->rss.n));
	return o;
}

static json_object *build_heap(const struct trace_stats *ts)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "allocs", json_object_new_uint64(ts->live.allocs));
	json_object_object_add(o, "frees",
			       json_object_new_uint64(ts->live.frees + ts->live.replaced));
	json_object_object_add(o, "live_blocks", json_object_new_uint64(ts->live.live_blocks));
	json_object_object_add(o, "live_bytes", json_object_new_uint64(ts->live.live_bytes));
	json_object_object_add(o, "peak_live_bytes",
			       json_object_new_uint64(ts->live.peak_live_bytes));
	json_object_object_add(o, "unknown_frees", json_object_new_uint64(ts->live.unknown_frees));
	json_object_object_add(o, "failed_allocs", json_object_new_uint64(ts->calls.failed));
	json_object_object_add(o, "dropped_blocks", json_object_new_uint64(ts->live.dropped));
	json_object_object_add(o, "nested_calls", json_object_new_uint64(ts->nested));
	json_object_object_add(o, "stops", json_object_new_uint64(ts->stops));
	json_object_object_add(o, "hooks", json_object_new_int((int)ts->hooks));
	json_object_object_add(o, "threads_traced", json_object_new_uint64(ts->threads_seen));
	return o;
}

static json_object *build_target(const struct target *t, uint64_t now_ns)
{
	json_object *o = json_object_new_object();
	uint64_t end = t->end_ns ? t->end_ns : now_ns;

	if (!o)
		return NULL;
	json_object_object_add(o, "pid", json_object_new_int(t->pid));
	json_object_object_add(o, "comm", json_object_new_string(t->comm));
	json_object_object_add(o, "exe", t->exe[0] ? json_object_new_string(t->exe) : NULL);
	json_object_object_add(o, "mode", json_object_new_string(options_mode_name(t->mode)));
	json_object_object_add(o, "status", json_object_new_string(status_name(t->status)));
	if (t->status == TARGET_EXITED) {
		if (t->exit_signal >= 0)
			json_object_object_add(o, "exit_signal", json_object_new_int(t->exit_signal));
		else if (t->exit_status >= 0)
			json_object_object_add(o, "exit_status", json_object_new_int(t->exit_status));
	}
	json_object_object_add(o, "observed_s",
			       json_object_new_double((double)(end - t->attach_ns) / 1e9));
	json_object_object_add(o, "rss", build_rss(t));
	/* rss mode traces nothing: heap is null rather than made-up zeros */
	json_object_object_add(o, "heap", t->has_tstats ? build_heap(&t->tstats) : NULL);
	json_object_object_add(o, "leaks", json_object_new_array());
	json_object_object_add(o, "top_sites", json_object_new_array());
	return o;
}

json_object *report_build(struct target *const *targets, size_t n, time_t now, uint64_t now_ns)
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
		json_object_array_add(arr, build_target(targets[i], now_ns));
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
		if (!json_object_object_get_ex(t, "heap", &heap) || !heap) {
			fprintf(f, "  heap: not traced (rss mode)\n");
		} else {
			units_format_size(jnum(heap, "live_bytes"), now, sizeof(now));
			units_format_size(jnum(heap, "peak_live_bytes"), peak, sizeof(peak));
			fprintf(f, "  heap: %s live in %.0f blocks (peak %s); %.0f allocations, %.0f frees\n",
				now, jnum(heap, "live_blocks"), peak, jnum(heap, "allocs"),
				jnum(heap, "frees"));
		}
	}
}
