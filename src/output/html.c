/* html.c - the report as one self-contained HTML page. See html.h. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "base/units.h"
#include "base/util.h"
#include "output/html.h"
#include "output/jsonget.h"
#include "output/report.h"

#define CHART_W 960
#define CHART_H 300
#define CHART_LEFT 78
#define CHART_RIGHT 16
#define CHART_TOP 16
#define CHART_BOTTOM 36
#define SPARK_W 260
#define SPARK_H 64
#define HTML_SITES_MAX 12 /* large sites shown besides the leaks */

#define COLOR_RSS "#2563eb"
#define COLOR_LIVE "#ea580c"
#define COLOR_LEAK "#dc2626"
#define COLOR_RSSALERT "#7c3aed"

struct page {
	FILE *f;
	unsigned charts; /* svg.chart elements written */
	unsigned sites;	 /* site cards written */
};

static const char style[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"margin:0;background:#f6f7f9;color:#1f2328}"
	"header,section,footer{max-width:1000px;margin:0 auto;padding:12px 20px}"
	"header h1{margin:8px 0 0;font-size:24px}.meta{color:#59636e;margin:2px 0}"
	"section.target{background:#fff;border:1px solid #d1d9e0;border-radius:8px;margin:14px auto}"
	"h2{margin:4px 0;font-size:21px}h2 .pid{color:#59636e;font-weight:normal;font-size:16px}"
	"h3{font-size:16px;margin:18px 0 6px;border-bottom:1px solid #e5e9ed;padding-bottom:3px}"
	".verdict{display:inline-block;margin:6px 0;padding:5px 12px;border-radius:6px;font-weight:600}"
	".verdict.leaks{background:#ffebe9;color:#a40e26;border:1px solid #ffb3ad}"
	".verdict.clean{background:#dafbe1;color:#116329;border:1px solid #9be9a8}"
	".verdict.wait,.verdict.rss{background:#fff8c5;color:#7d4e00;border:1px solid #eed888}"
	".figs{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}"
	".fig{border:1px solid #d1d9e0;border-radius:6px;padding:6px 10px;min-width:120px}"
	".fig b{display:block;font-size:18px}.fig span{color:#59636e;font-size:12px}"
	"svg.chart{display:block;background:#fff}svg text{font-size:11px;fill:#59636e}"
	".legend span{display:inline-block;margin-right:16px;font-size:13px}"
	".sw{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:5px}"
	".site{border:1px solid #d1d9e0;border-left:5px solid #8c959f;border-radius:6px;"
	"padding:8px 12px;margin:10px 0}.site.leak{border-left-color:" COLOR_LEAK "}"
	".site.suspect{border-left-color:#d4a72c}.site-head{font-weight:600}"
	".badge{font-size:11px;padding:1px 6px;border-radius:10px;background:#eaeef2;margin-right:6px}"
	".badge.leak{background:" COLOR_LEAK ";color:#fff}.badge.suspect{background:#d4a72c;color:#fff}"
	".site-body{display:flex;gap:16px;align-items:center;flex-wrap:wrap}"
	".site-figs{flex:1;min-width:300px;color:#333}"
	"ol.stack{margin:6px 0 0;padding-left:26px;font-size:13px}"
	"ol.stack code{font-weight:600}.loc{color:#0550ae}.mod{color:#59636e}"
	".inl{color:#8250df;font-size:11px}details{font-size:13px;margin-top:2px}"
	".note{background:#fff8c5;border:1px solid #eed888;border-radius:6px;padding:6px 10px}"
	"footer{color:#59636e;font-size:12px}";

/* The page checks itself once laid out: every chart has a size, every line a length. */
static const char selfcheck_script[] =
	"(function(){var e=document.getElementById('leakmond-selfcheck');"
	"var c=document.querySelectorAll('svg.chart'),s=document.querySelectorAll('.site');"
	"var ok=c.length==+e.getAttribute('data-charts')&&s.length==+e.getAttribute('data-sites'),d=0;"
	"for(var i=0;i<c.length;i++){var r=c[i].getBoundingClientRect();"
	"if(r.width>0&&r.height>0)d++;else ok=false;"
	"var l=c[i].querySelectorAll('polyline');"
	"for(var k=0;k<l.length;k++)if(!(l[k].getTotalLength()>0))ok=false;}"
	"e.setAttribute('data-status',ok?'ok':'failed');"
	"e.textContent='Self-check: '+d+' of '+c.length+' charts and '+s.length+' sites rendered'"
	"+(ok?', ok.':', FAILED.');})();";

static void esc(FILE *f, const char *s)
{
	if (!s)
		return;
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* A round step near raw: 1, 2, 2.5 or 5 times a power of ten. */
static double nice_step(double raw)
{
	double p, m;

	if (!(raw > 0))
		return 1;
	p = pow(10, floor(log10(raw)));
	m = raw / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

/* A round step of bytes near raw: 1, 2, 2.5 or 5 times a power of ten of B, KiB, MiB, GiB, ... */
static double nice_bytes_step(double raw)
{
	double unit = 1;

	while (raw >= 1024 * unit && unit < 1099511627776.0)
		unit *= 1024;
	return nice_step(raw / unit) * unit;
}

/* A round step of time (seconds) near raw. */
static double nice_time_step(double raw)
{
	static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900,
					 1800, 3600, 7200, 10800, 21600, 43200, 86400 };

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		if (steps[i] >= raw)
			return steps[i];
	return nice_step(raw / 86400) * 86400;
}

static void fmt_seconds(double s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%gs", round(s * 10) / 10);
	else if (s < 3600)
		snprintf(buf, len, "%gmin", round(s / 6) / 10);
	else if (s < 86400)
		snprintf(buf, len, "%gh", round(s / 360) / 10);
	else
		snprintf(buf, len, "%gd", round(s / 8640) / 10);
}

struct scale {
	double t0, t1, y1;
	double x, y, w, h; /* plot area */
};

static double sx(const struct scale *s, double t)
{
	return s->x + (t - s->t0) / (s->t1 - s->t0) * s->w;
}

static double sy(const struct scale *s, double v)
{
	return s->y + s->h - v / s->y1 * s->h;
}

/* The main chart of a target: RSS and live heap over time, alerts marked. */
static void main_chart(struct page *pg, json_object *t)
{
	FILE *f = pg->f;
	json_object *tl = jget(t, "timeline"), *samples = jget_arr(tl, "samples");
	json_object *alerts = jget_arr(tl, "alerts");
	size_t n = jlen(samples);
	struct scale s = { .x = CHART_LEFT, .y = CHART_TOP, .w = CHART_W - CHART_LEFT - CHART_RIGHT,
			   .h = CHART_H - CHART_TOP - CHART_BOTTOM };
	double ymax = 0, step, tstep;
	bool has_live = false;
	char buf[48];

	if (n < 2) {
		fprintf(f, "<p class=\"meta\">Not enough samples for a chart yet (%zu).</p>\n", n);
		return;
	}
	s.t0 = json_object_get_double(jidx(jidx(samples, 0), 0));
	s.t1 = json_object_get_double(jidx(jidx(samples, n - 1), 0));
	if (!(s.t1 > s.t0))
		s.t1 = s.t0 + 1;
	for (size_t i = 0; i < n; i++) {
		json_object *row = jidx(samples, i);
		double rss = json_object_get_double(jidx(row, 1));
		json_object *live = jidx(row, 2);

		if (rss > ymax)
			ymax = rss;
		if (live) {
			has_live = true;
			if (json_object_get_double(live) > ymax)
				ymax = json_object_get_double(live);
		}
	}
	step = nice_bytes_step(ymax / 4);
	s.y1 = ceil(ymax / step) * step;
	if (!(s.y1 > 0))
		s.y1 = step;
	fprintf(f, "<svg class=\"chart main\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		   "role=\"img\" aria-label=\"RSS and live heap over time\">\n",
		CHART_W, CHART_H, CHART_W, CHART_H);
	pg->charts++;
	/* grid and axes */
	for (double v = 0; v <= s.y1 + step / 2; v += step) {
		units_format_size(v, buf, sizeof(buf));
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e9ed\"/>"
			   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			s.x, sy(&s, v), s.x + s.w, sy(&s, v), s.x - 6, sy(&s, v) + 4, buf);
	}
	tstep = nice_time_step((s.t1 - s.t0) / 8);
	for (double v = 0; v <= s.t1 - s.t0 + 1e-9; v += tstep) {
		fmt_seconds(v, buf, sizeof(buf));
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c8d1da\"/>"
			   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			sx(&s, s.t0 + v), s.y + s.h, sx(&s, s.t0 + v), s.y + s.h + 5,
			sx(&s, s.t0 + v), s.y + s.h + 18, buf);
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">time since the first sample</text>\n",
		s.x + s.w, CHART_H - 2);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#59636e\"/>\n",
		s.x, s.y + s.h, s.x + s.w, s.y + s.h);
	/* the lines */
	fprintf(f, "<polyline class=\"rss\" fill=\"none\" stroke=\"" COLOR_RSS "\" stroke-width=\"2\" points=\"");
	for (size_t i = 0; i < n; i++) {
		json_object *row = jidx(samples, i);

		fprintf(f, "%s%.1f,%.1f", i ? " " : "", sx(&s, json_object_get_double(jidx(row, 0))),
			sy(&s, json_object_get_double(jidx(row, 1))));
	}
	fputs("\"><title>RSS</title></polyline>\n", f);
	if (has_live) {
		bool is_first = true;

		fprintf(f, "<polyline class=\"live\" fill=\"none\" stroke=\"" COLOR_LIVE "\" stroke-width=\"2\" points=\"");
		for (size_t i = 0; i < n; i++) {
			json_object *row = jidx(samples, i), *live = jidx(row, 2);

			if (!live)
				continue;
			fprintf(f, "%s%.1f,%.1f", is_first ? "" : " ",
				sx(&s, json_object_get_double(jidx(row, 0))),
				sy(&s, json_object_get_double(live)));
			is_first = false;
		}
		fputs("\"><title>live heap (traced)</title></polyline>\n", f);
	}
	/* the alerts */
	for (size_t i = 0; i < jlen(alerts); i++) {
		json_object *a = jidx(alerts, i);
		const char *kind = jget_str(a, "kind");
		bool is_leak = kind && strcmp(kind, "leak") == 0;
		double x = sx(&s, jget_num(a, "ts", s.t0));

		if (x < s.x || x > s.x + s.w)
			continue;
		fprintf(f, "<g class=\"alert %s\"><title>", is_leak ? "leak" : "rss");
		esc(f, jget_str(a, "message"));
		fprintf(f, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			   "stroke-dasharray=\"4 3\"/><path d=\"M%.1f %.1f l-6 -10 h12 z\" fill=\"%s\"/></g>\n",
			x, s.y + 8, x, s.y + s.h, is_leak ? COLOR_LEAK : COLOR_RSSALERT, x, s.y + 10,
			is_leak ? COLOR_LEAK : COLOR_RSSALERT);
	}
	fputs("</svg>\n<p class=\"legend\"><span><i class=\"sw\" style=\"background:" COLOR_RSS
	      "\"></i>RSS</span>", f);
	if (has_live)
		fputs("<span><i class=\"sw\" style=\"background:" COLOR_LIVE
		      "\"></i>live heap (traced blocks)</span>", f);
	if (jlen(alerts))
		fprintf(f, "<span><i class=\"sw\" style=\"background:" COLOR_LEAK
			   "\"></i>leak alert</span><span><i class=\"sw\" style=\"background:"
			   COLOR_RSSALERT "\"></i>RSS alert</span><span>%zu alert%s (hover for the message)</span>",
			jlen(alerts), jlen(alerts) == 1 ? "" : "s");
	fputs("</p>\n", f);
}

/* A site's small growth chart, from its "history". */
static void spark_chart(struct page *pg, json_object *site)
{
	FILE *f = pg->f;
	json_object *h = jget(site, "history"), *ts = jget_arr(h, "ts"), *bytes = jget_arr(h, "live_bytes");
	size_t n = jlen(ts) < jlen(bytes) ? jlen(ts) : jlen(bytes);
	struct scale s = { .x = 4, .y = 6, .w = SPARK_W - 8, .h = SPARK_H - 20 };
	char top[32], span[32];

	if (n < 2)
		return;
	s.t0 = json_object_get_double(jidx(ts, 0));
	s.t1 = json_object_get_double(jidx(ts, n - 1));
	if (!(s.t1 > s.t0))
		s.t1 = s.t0 + 1;
	for (size_t i = 0; i < n; i++)
		if (json_object_get_double(jidx(bytes, i)) > s.y1)
			s.y1 = json_object_get_double(jidx(bytes, i));
	if (!(s.y1 > 0))
		s.y1 = 1;
	units_format_size(s.y1, top, sizeof(top));
	fmt_seconds(s.t1 - s.t0, span, sizeof(span));
	fprintf(f, "<svg class=\"chart spark\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		   "role=\"img\" aria-label=\"live bytes of this site over time\">",
		SPARK_W, SPARK_H, SPARK_W, SPARK_H);
	pg->charts++;
	fprintf(f, "<polygon fill=\"#fde2d3\" points=\"%.1f,%.1f", s.x, s.y + s.h);
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %.1f,%.1f", sx(&s, json_object_get_double(jidx(ts, i))),
			sy(&s, json_object_get_double(jidx(bytes, i))));
	fprintf(f, " %.1f,%.1f\"/>", s.x + s.w, s.y + s.h);
	fprintf(f, "<polyline fill=\"none\" stroke=\"" COLOR_LIVE "\" stroke-width=\"1.5\" points=\"");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", sx(&s, json_object_get_double(jidx(ts, i))),
			sy(&s, json_object_get_double(jidx(bytes, i))));
	fprintf(f, "\"/><text x=\"4\" y=\"%d\">0 .. %s over %s</text></svg>\n", SPARK_H - 3, top,
		span);
}

static void frame_item(FILE *f, json_object *fr)
{
	const char *fn = jget_str(fr, "function"), *file = jget_str(fr, "file");

	fputs("<li>", f);
	if (jget_bool(fr, "inlined"))
		fputs("<span class=\"inl\">inlined</span> ", f);
	fputs("<code>", f);
	esc(f, fn ? fn : "??");
	fputs("</code>", f);
	if (file) {
		fputs(" <span class=\"loc\">", f);
		esc(f, jbasename(file));
		fprintf(f, ":%d</span>", (int)jget_num(fr, "line", 0));
	} else {
		fputs(" <span class=\"loc\">", f);
		esc(f, jget_str(fr, "pc"));
		fputs("</span>", f);
	}
	fputs(" <span class=\"mod\">", f);
	esc(f, jbasename(jget_str(fr, "module")));
	fputs("</span></li>\n", f);
}

static void site_card(struct page *pg, json_object *site, const char *verdict)
{
	FILE *f = pg->f;
	json_object *frames = jget_arr(site, "frames"), *fr0 = jidx(frames, 0);
	const char *fn = jget_str(fr0, "function"), *file = jget_str(fr0, "file");
	char size[32], rate[48];
	size_t n = jlen(frames), cut = n;

	pg->sites++;
	units_format_size(jget_num(site, "live_bytes", 0), size, sizeof(size));
	units_format_rate(jget_num(site, "growth_bytes_per_s", 0), "min", 1, rate, sizeof(rate));
	fprintf(f, "<div class=\"site %s\"><div class=\"site-head\">", verdict ? verdict : "top");
	if (verdict)
		fprintf(f, "<span class=\"badge %s\">%s</span>", verdict,
			strcmp(verdict, "leak") == 0 ? "LEAK" : "suspect");
	fputs("<code>", f);
	esc(f, fn ? fn : n ? "??" : "(no stack)");
	fputs("</code>", f);
	if (file) {
		fputs(" <span class=\"loc\">", f);
		esc(f, jbasename(file));
		fprintf(f, ":%d</span>", (int)jget_num(fr0, "line", 0));
	}
	fprintf(f, "</div>\n<div class=\"site-body\"><div class=\"site-figs\"><b>%s</b> live in %.0f "
		   "block%s &middot; growth %s &middot; oldest block %.1f s &middot; ",
		size, jget_num(site, "live_blocks", 0), jget_num(site, "live_blocks", 0) == 1 ? "" : "s",
		rate, jget_num(site, "oldest_age_s", 0));
	esc(f, jget_str(site, "allocator"));
	fprintf(f, " &middot; %.0f samples</div>", jget_num(site, "samples", 0));
	spark_chart(pg, site);
	fputs("</div>\n<ol class=\"stack\">\n", f);
	for (size_t i = 0; i < n; i++) {
		bool is_kept;

		if (report_frame_is_outer(jidx(frames, i), &is_kept)) {
			cut = i + is_kept;
			break;
		}
	}
	for (size_t i = 0; i < cut; i++)
		frame_item(f, jidx(frames, i));
	fputs("</ol>\n", f);
	if (cut < n) {
		fprintf(f, "<details><summary>%zu more frame%s</summary><ol class=\"stack\" start=\"%zu\">\n",
			n - cut, n - cut == 1 ? "" : "s", cut + 1);
		for (size_t i = cut; i < n; i++)
			frame_item(f, jidx(frames, i));
		fputs("</ol></details>\n", f);
	}
	fputs("</div>\n", f);
}

static void fig(FILE *f, const char *value, const char *label)
{
	fputs("<div class=\"fig\"><b>", f);
	esc(f, value);
	fputs("</b><span>", f);
	esc(f, label);
	fputs("</span></div>\n", f);
}

static void figures(FILE *f, json_object *t)
{
	json_object *rss = jget(t, "rss"), *heap = jget(t, "heap"), *prof = jget(t, "profile");
	char buf[64], label[64];

	fputs("<div class=\"figs\">\n", f);
	units_format_size(jget_num(rss, "last_bytes", 0), buf, sizeof(buf));
	fig(f, buf, "RSS now");
	units_format_size(jget_num(rss, "first_bytes", 0), buf, sizeof(buf));
	fig(f, buf, "RSS first");
	units_format_size(jget_num(rss, "peak_bytes", 0), buf, sizeof(buf));
	fig(f, buf, "RSS peak");
	units_format_rate(jget_num(rss, "growth_bytes_per_s", 0), "h", 1, buf, sizeof(buf));
	snprintf(label, sizeof(label), "RSS trend: %s",
		 jget_str(rss, "trend") ? jget_str(rss, "trend") : "?");
	fig(f, buf, label);
	if (heap) {
		units_format_size(jget_num(heap, "live_bytes", 0), buf, sizeof(buf));
		fig(f, buf, "live heap");
		snprintf(buf, sizeof(buf), "%.0f", jget_num(heap, "live_blocks", 0));
		fig(f, buf, "live blocks");
		units_format_size(jget_num(heap, "peak_live_bytes", 0), buf, sizeof(buf));
		fig(f, buf, "live heap peak");
		snprintf(buf, sizeof(buf), "%.0f / %.0f", jget_num(heap, "allocs", 0),
			 jget_num(heap, "frees", 0));
		fig(f, buf, "allocations / frees");
		if (prof) {
			snprintf(buf, sizeof(buf), "%zu", jlen(jget_arr(prof, "sites")));
			fig(f, buf, "live call sites");
		}
	}
	fputs("</div>\n", f);
}

static bool same_site(json_object *a, json_object *b)
{
	json_object *fa = jget_arr(a, "frames"), *fb = jget_arr(b, "frames");

	if (jlen(fa) != jlen(fb) || jget_num(a, "live_bytes", 0) != jget_num(b, "live_bytes", 0))
		return false;
	for (size_t k = 0; k < jlen(fa); k++) {
		const char *pa = jget_str(jidx(fa, k), "pc"), *pb = jget_str(jidx(fb, k), "pc");

		if (!pa || !pb || strcmp(pa, pb) != 0)
			return false;
	}
	return true;
}

static void target_section(struct page *pg, json_object *t)
{
	FILE *f = pg->f;
	json_object *leaks = jget_arr(t, "leaks"), *top = jget_arr(t, "top_sites"), *heap = jget(t, "heap");
	char status[160], verdict[96], observed[32];
	enum report_verdict kind;
	size_t shown = 0;

	report_describe_status(t, status, sizeof(status));
	kind = report_describe_verdict(t, verdict, sizeof(verdict));
	fmt_seconds(jget_num(t, "observed_s", 0), observed, sizeof(observed));
	fprintf(f, "<section class=\"target\" id=\"pid-%d\">\n<h2>", (int)jget_num(t, "pid", 0));
	esc(f, jget_str(t, "comm"));
	fprintf(f, " <span class=\"pid\">pid %d</span></h2>\n<p class=\"meta\">", (int)jget_num(t, "pid", 0));
	esc(f, status);
	fprintf(f, " &middot; observed %s &middot; mode ", observed);
	esc(f, jget_str(t, "mode"));
	if (jget_str(heap, "backend")) {
		fputs(" (", f);
		esc(f, jget_str(heap, "backend"));
		fputs(")", f);
	}
	if (jget_str(t, "exe")) {
		fputs(" &middot; <code>", f);
		esc(f, jget_str(t, "exe"));
		fputs("</code>", f);
	}
	fprintf(f, "</p>\n<div class=\"verdict %s\">",
		kind == REPORT_LEAKS ? "leaks" : kind == REPORT_NO_LEAK ? "clean"
					     : kind == REPORT_TOO_FEW_SAMPLES ? "wait" : "rss");
	esc(f, verdict);
	fputs("</div>\n", f);
	figures(f, t);
	if (jget_str(t, "note")) {
		fputs("<p class=\"note\">", f);
		esc(f, jget_str(t, "note"));
		fputs("</p>\n", f);
	}
	fputs("<h3>Memory over time</h3>\n", f);
	main_chart(pg, t);
	if (jlen(leaks)) {
		fputs("<h3>Leaks</h3>\n", f);
		for (size_t i = 0; i < jlen(leaks); i++) {
			const char *v = jget_str(jidx(leaks, i), "verdict");

			site_card(pg, jidx(leaks, i), v && strcmp(v, "leak") == 0 ? "leak" : "suspect");
		}
	}
	for (size_t i = 0; i < jlen(top) && shown < HTML_SITES_MAX; i++) {
		bool is_leak = false;

		for (size_t k = 0; k < jlen(leaks) && !is_leak; k++)
			is_leak = same_site(jidx(top, i), jidx(leaks, k));
		if (is_leak)
			continue;
		if (shown++ == 0)
			fputs(jlen(leaks) ? "<h3>Other large live call sites</h3>\n"
					  : "<h3>Largest live call sites</h3>\n", f);
		site_card(pg, jidx(top, i), NULL);
	}
	fputs("</section>\n", f);
}

int html_write(FILE *f, json_object *report)
{
	json_object *targets = jget_arr(report, "targets");
	struct page pg = { .f = f };
	const char *when = jget_str(report, "generated_at");

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
	fputs("leakmond report", f);
	if (jlen(targets) == 1) {
		fputs(": ", f);
		esc(f, jget_str(jidx(targets, 0), "comm"));
		fprintf(f, " (pid %d)", (int)jget_num(jidx(targets, 0), "pid", 0));
	}
	fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n<header><h1>leakmond report</h1>"
		   "<p class=\"meta\">generated ", style);
	esc(f, when ? when : "?");
	fprintf(f, " &middot; %zu target%s</p></header>\n", jlen(targets), jlen(targets) == 1 ? "" : "s");
	for (size_t i = 0; i < jlen(targets); i++)
		target_section(&pg, jidx(targets, i));
	fprintf(f, "<footer><p>Made by leakmond %s from its JSON report. The stacks of every live "
		   "call site are in the folded and pprof exports.</p>\n"
		   "<p id=\"leakmond-selfcheck\" data-charts=\"%u\" data-sites=\"%u\" "
		   "data-status=\"static\">Self-check: %u charts and %u sites written (scripts "
		   "off).</p></footer>\n<script>%s</script>\n</body></html>\n",
		PACKAGE_VERSION, pg.charts, pg.sites, pg.charts, pg.sites, selfcheck_script);
	return ferror(f) ? -EIO : 0;
}
