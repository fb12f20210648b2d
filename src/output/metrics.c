/* metrics.c - the Prometheus textfile. See metrics.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/util.h"
#include "output/metrics.h"

enum metric {
	M_RSS,
	M_GROWTH,
	M_TREND,
	M_LIVE_BYTES,
	M_LIVE_BLOCKS,
	M_LEAK_SITES,
	M_LEAK_BYTES,
	M_ALERTS,
	M_TRACED,
	M_LOST,
	M_COUNT,
};

static const struct {
	const char *name, *type, *help;
} metrics[M_COUNT] = {
	[M_RSS] = { "leakmond_rss_bytes", "gauge", "Resident set size of the process (VmRSS)." },
	[M_GROWTH] = { "leakmond_rss_growth_bytes_per_second", "gauge",
		       "RSS growth rate over the recent samples (Sen's slope)." },
	[M_TREND] = { "leakmond_rss_trend", "gauge",
		      "RSS trend of the recent samples: 1 rising, 0 flat, -1 falling (Mann-Kendall, p < 0.01)." },
	[M_LIVE_BYTES] = { "leakmond_heap_live_bytes", "gauge",
			   "Bytes in heap blocks allocated while traced and not freed (last trace)." },
	[M_LIVE_BLOCKS] = { "leakmond_heap_live_blocks", "gauge",
			    "Heap blocks allocated while traced and not freed (last trace)." },
	[M_LEAK_SITES] = { "leakmond_leak_sites", "gauge",
			   "Call sites judged to leak in the last report." },
	[M_LEAK_BYTES] = { "leakmond_leak_bytes", "gauge",
			   "Bytes held by the call sites judged to leak." },
	[M_ALERTS] = { "leakmond_alerts_total", "counter",
		       "Alerts raised for the process, by kind (rss_growth, leak)." },
	[M_TRACED] = { "leakmond_traced", "gauge", "Whether the process is traced now (1) or not (0)." },
	[M_LOST] = { "leakmond_lost_events_total", "counter",
		     "Allocator calls that could not be recorded, over every trace of the process." },
};

/* A label value: backslash, double quote and newline escaped; bytes that are not valid UTF-8
 * (a process may name itself anything) replaced by '?'. */
static void put_label(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		bool is_valid = len > 0;

		for (size_t i = 1; is_valid && i < len; i++)
			is_valid = (p[i] & 0xc0) == 0x80;
		if (!is_valid || (len == 1 && *p < 0x20 && *p != '\n')) {
			fputc('?', f);
			p++;
			continue;
		}
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fwrite(p, 1, len, f);
		p += len;
	}
}

static void put_labels(FILE *f, const struct metrics_target *t, const char *kind)
{
	fprintf(f, "{pid=\"%d\",comm=\"", (int)t->pid);
	put_label(f, t->comm);
	fputs("\",watch=\"", f);
	put_label(f, t->watch);
	fputc('"', f);
	if (kind)
		fprintf(f, ",kind=\"%s\"", kind);
	fputc('}', f);
}

static void put_double(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.17g", v);
}

static void put_series(FILE *f, enum metric m, const struct metrics_target *t)
{
	switch (m) {
	case M_RSS:
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fprintf(f, " %llu\n", (unsigned long long)t->rss_bytes);
		break;
	case M_GROWTH:
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fputc(' ', f);
		put_double(f, t->growth_bytes_per_s);
		fputc('\n', f);
		break;
	case M_TREND:
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fprintf(f, " %d\n", t->trend);
		break;
	case M_LIVE_BYTES:
	case M_LIVE_BLOCKS:
		if (!t->has_heap)
			break;
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fprintf(f, " %llu\n",
			(unsigned long long)(m == M_LIVE_BYTES ? t->live_bytes : t->live_blocks));
		break;
	case M_LEAK_SITES:
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fprintf(f, " %zu\n", t->leak_sites);
		break;
	case M_LEAK_BYTES:
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fprintf(f, " %llu\n", (unsigned long long)t->leak_bytes);
		break;
	case M_ALERTS:
		fputs(metrics[m].name, f);
		put_labels(f, t, "rss_growth");
		fprintf(f, " %llu\n", (unsigned long long)t->alerts_rss);
		fputs(metrics[m].name, f);
		put_labels(f, t, "leak");
		fprintf(f, " %llu\n", (unsigned long long)t->alerts_leak);
		break;
	case M_TRACED:
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fprintf(f, " %d\n", t->is_traced ? 1 : 0);
		break;
	case M_LOST:
		fputs(metrics[m].name, f);
		put_labels(f, t, NULL);
		fprintf(f, " %llu\n", (unsigned long long)t->lost_events);
		break;
	case M_COUNT:
		break;
	}
}

char *metrics_render(const struct metrics_target *targets, size_t n)
{
	size_t shown = n < METRICS_MAX_TARGETS ? n : METRICS_MAX_TARGETS;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fputs("# HELP leakmond_targets Processes watched now.\n"
	      "# TYPE leakmond_targets gauge\n", f);
	fprintf(f, "leakmond_targets %zu\n", n);
	fprintf(f, "# HELP leakmond_metrics_targets_dropped Processes left out of this file (at most "
		   "%d are shown).\n"
		   "# TYPE leakmond_metrics_targets_dropped gauge\n"
		   "leakmond_metrics_targets_dropped %zu\n",
		METRICS_MAX_TARGETS, n - shown);
	for (int m = 0; m < M_COUNT; m++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metrics[m].name, metrics[m].help,
			metrics[m].name, metrics[m].type);
		for (size_t i = 0; i < shown; i++)
			put_series(f, (enum metric)m, &targets[i]);
	}
	if (ferror(f)) {
		(void)fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int metrics_write_atomic(const char *path, const char *text)
{
	/* 0644 whatever the umask: node_exporter, another user, must read it; rewritten every
	 * interval, so not fsynced (a crash loses one interval's figures at most) */
	return atomic_write_file(path, text, strlen(text), 0644, ATOMIC_NO_SYNC);
}
