/* tslog.c - the JSON Lines time-series log. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "output/report.h"
#include "output/tslog.h"

json_object *tslog_record_new(const char *type, double ts, pid_t pid)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "ts", json_object_new_double(ts));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	return o;
}

json_object *tslog_record_sample(pid_t pid, const struct sample *s)
{
	json_object *o = tslog_record_new("sample", s->ts, pid);

	if (!o)
		return NULL;
	json_object_object_add(o, "rss_bytes", json_object_new_uint64(s->rss_bytes));
	json_object_object_add(o, "rss_anon_bytes", json_object_new_uint64(s->rss_anon_bytes));
	json_object_object_add(o, "rss_file_bytes", json_object_new_uint64(s->rss_file_bytes));
	json_object_object_add(o, "swap_bytes", json_object_new_uint64(s->swap_bytes));
	json_object_object_add(o, "heap_bytes", json_object_new_uint64(s->heap_bytes));
	json_object_object_add(o, "threads", json_object_new_int((int)s->threads));
	if (s->has_trace) {
		json_object_object_add(o, "live_bytes", json_object_new_uint64(s->live_bytes));
		json_object_object_add(o, "live_blocks", json_object_new_uint64(s->live_blocks));
		json_object_object_add(o, "allocs_total", json_object_new_uint64(s->allocs_total));
		json_object_object_add(o, "frees_total", json_object_new_uint64(s->frees_total));
	}
	return o;
}

json_object *tslog_record_exit(double ts, pid_t pid, int status, int signal)
{
	json_object *o = tslog_record_new("exit", ts, pid);

	if (!o)
		return NULL;
	if (signal >= 0)
		json_object_object_add(o, "signal", json_object_new_int(signal));
	else if (status >= 0)
		json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "status_known", json_object_new_boolean(signal >= 0 || status >= 0));
	return o;
}

json_object *tslog_record_attach(double ts, pid_t pid, const char *comm, const char *exe,
				 const char *mode, const char *watch)
{
	json_object *o = tslog_record_new("attach", ts, pid);

	if (!o)
		return NULL;
	json_object_object_add(o, "comm", json_object_new_string(comm));
	json_object_object_add(o, "exe", exe ? json_object_new_string(exe) : NULL);
	json_object_object_add(o, "mode", json_object_new_string(mode));
	if (watch)
		json_object_object_add(o, "watch", json_object_new_string(watch));
	return o;
}

json_object *tslog_record_detach(double ts, pid_t pid, const char *reason, bool is_traced,
				 int detach_error)
{
	json_object *o = tslog_record_new("detach", ts, pid);

	if (!o)
		return NULL;
	if (reason)
		json_object_object_add(o, "reason", json_object_new_string(reason));
	if (is_traced) {
		json_object_object_add(o, "clean", json_object_new_boolean(detach_error == 0));
		if (detach_error)
			json_object_object_add(o, "error",
					       json_object_new_string(strerror(-detach_error)));
	}
	return o;
}

json_object *tslog_record_fork(double ts, pid_t pid, pid_t child)
{
	json_object *o = tslog_record_new("fork", ts, pid);

	if (o)
		json_object_object_add(o, "child", json_object_new_int(child));
	return o;
}

json_object *tslog_record_lost(double ts, pid_t pid, uint64_t events)
{
	json_object *o = tslog_record_new("lost", ts, pid);

	if (o)
		json_object_object_add(o, "events", json_object_new_uint64(events));
	return o;
}

json_object *tslog_record_exec(double ts, pid_t pid)
{
	return tslog_record_new("exec", ts, pid);
}

json_object *tslog_record_alert_rss(double ts, pid_t pid, const char *message,
				    double growth_bytes_per_s, uint64_t rss_bytes)
{
	json_object *o = tslog_record_new("alert", ts, pid);

	if (!o)
		return NULL;
	json_object_object_add(o, "kind", json_object_new_string("rss_growth"));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "growth_bytes_per_s", json_object_new_double(growth_bytes_per_s));
	json_object_object_add(o, "rss_bytes", json_object_new_uint64(rss_bytes));
	return o;
}

json_object *tslog_record_alert_leak(double ts, pid_t pid, const char *message,
				     double growth_bytes_per_s, uint64_t live_bytes,
				     uint64_t live_blocks, const struct sym_frame *frames,
				     size_t n_frames)
{
	json_object *o = tslog_record_new("alert", ts, pid);

	if (!o)
		return NULL;
	json_object_object_add(o, "kind", json_object_new_string("leak"));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "growth_bytes_per_s", json_object_new_double(growth_bytes_per_s));
	json_object_object_add(o, "live_bytes", json_object_new_uint64(live_bytes));
	json_object_object_add(o, "live_blocks", json_object_new_uint64(live_blocks));
	json_object_object_add(o, "frames", report_frames(frames, n_frames));
	return o;
}

json_object *tslog_record_escalate(double ts, pid_t pid, const char *reason,
				   double growth_bytes_per_s, double rising_s, double window_s)
{
	json_object *o = tslog_record_new("escalate", ts, pid);

	if (!o)
		return NULL;
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "growth_bytes_per_s", json_object_new_double(growth_bytes_per_s));
	json_object_object_add(o, "rising_s", json_object_new_double(rising_s));
	json_object_object_add(o, "window_s", json_object_new_double(window_s));
	return o;
}

json_object *tslog_record_deescalate(double ts, pid_t pid, const char *reason, size_t leaks,
				     double traced_s, double next_wait_s)
{
	json_object *o = tslog_record_new("deescalate", ts, pid);

	if (!o)
		return NULL;
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "leaks", json_object_new_uint64(leaks));
	json_object_object_add(o, "traced_s", json_object_new_double(traced_s));
	if (next_wait_s >= 0)
		json_object_object_add(o, "next_wait_s", json_object_new_double(next_wait_s));
	return o;
}

/* The log file opened as atomic_open_append() opens it, as a stream. */
static int open_stream(const char *path, mode_t mode, unsigned flags, FILE **ret)
{
	int fd = atomic_open_append(path, mode, flags);

	if (fd < 0)
		return fd;
	*ret = fdopen(fd, "ae");
	if (!*ret) {
		int r = -errno;

		(void)close(fd);
		return r;
	}
	return 0;
}

int tslog_open(struct tslog *log, const char *path, mode_t mode, unsigned flags)
{
	int r;

	memset(log, 0, sizeof(*log));
	if ((flags & ATOMIC_USER_PATH) && strcmp(path, "-") == 0) {
		log->f = stdout;
		return 0;
	}
	log->path = strdup(path);
	if (!log->path)
		return -ENOMEM;
	log->mode = mode;
	log->flags = flags;
	r = open_stream(path, mode, flags, &log->f);
	if (r < 0) {
		free(log->path);
		log->path = NULL;
		return r;
	}
	return 0;
}

int tslog_reopen(struct tslog *log)
{
	FILE *f;
	int r;

	if (!log->path)
		return 0;
	r = open_stream(log->path, log->mode, log->flags, &f);
	if (r < 0)
		return r;
	if (log->f)
		(void)fclose(log->f);
	log->f = f;
	return 0;
}

void tslog_close(struct tslog *log)
{
	if (log->f && log->f != stdout)
		(void)fclose(log->f);
	else if (log->f)
		(void)fflush(log->f);
	free(log->path);
	memset(log, 0, sizeof(*log));
}

int tslog_write(struct tslog *log, json_object *rec)
{
	const char *text;
	int r = 0;

	if (!rec)
		return -ENOMEM;
	if (log->f) {
		text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
		if (fprintf(log->f, "%s\n", text) < 0 || fflush(log->f) != 0)
			r = -EIO;
	}
	json_object_put(rec);
	return r;
}
