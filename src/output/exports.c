/* exports.c - render the exports of a report and write them atomically. See exports.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomicfile.h"
#include "base/util.h"
#include "output/exports.h"
#include "output/html.h"
#include "output/pprof.h"
#include "output/report.h"

void exports_paths_beside(const char *report_path, unsigned mask, enum folded_weight weight,
			  struct export_paths *p, char *folded, char *pprof, char *html, size_t len)
{
	size_t stem = strlen(report_path);

	if (stem > 5 && strcmp(report_path + stem - 5, ".json") == 0)
		stem -= 5;
	memset(p, 0, sizeof(*p));
	p->folded_weight = weight;
	snprintf(folded, len, "%.*s.folded", (int)stem, report_path);
	snprintf(pprof, len, "%.*s.pb.gz", (int)stem, report_path);
	snprintf(html, len, "%.*s.html", (int)stem, report_path);
	if (mask & OPTIONS_EXPORT_FOLDED)
		p->folded = folded;
	if (mask & OPTIONS_EXPORT_PPROF)
		p->pprof = pprof;
	if (mask & OPTIONS_EXPORT_HTML)
		p->html = html;
}

bool exports_any(const struct export_paths *p)
{
	return p && (p->folded || p->pprof || p->html);
}

json_object *exports_reparse(json_object *report)
{
	const char *text = json_object_to_json_string_ext(report, REPORT_JSON_FLAGS);

	return text ? json_tokener_parse(text) : NULL;
}

/* Render with fn into memory and write path atomically. */
static int write_stream(const char *path, json_object *report,
			int (*fn)(FILE *f, json_object *report, const struct export_paths *p),
			const struct export_paths *p)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f)
		return -ENOMEM;
	r = fn(f, report, p);
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	return atomic_write_file(path, text ? text : "", len, p->mode, p->file_flags);
}

static int do_folded(FILE *f, json_object *report, const struct export_paths *p)
{
	return folded_write(f, report, p->folded_weight);
}

static int do_html(FILE *f, json_object *report, const struct export_paths *p)
{
	(void)p;
	return html_write(f, report);
}

static void note_failure(int r, const char *path, int *first, char *err, size_t errlen)
{
	if (r >= 0 || *first < 0)
		return;
	*first = r;
	snprintf(err, errlen, "%s: %s", path, strerror(-r));
}

int exports_write(json_object *report, const struct export_paths *p, char *err, size_t errlen)
{
	int first = 0, r;

	if (p->folded) {
		r = write_stream(p->folded, report, do_folded, p);
		note_failure(r, p->folded, &first, err, errlen);
	}
	if (p->pprof) {
		uint8_t *data = NULL;
		size_t len = 0;

		r = pprof_build(report, &data, &len);
		if (r == 0)
			r = atomic_write_file(p->pprof, data, len, p->mode, p->file_flags);
		free(data);
		note_failure(r, p->pprof, &first, err, errlen);
	}
	if (p->html) {
		r = write_stream(p->html, report, do_html, p);
		note_failure(r, p->html, &first, err, errlen);
	}
	return first;
}
