/* conf.c - leakmond.conf: INI parsed with inih, validated, resolved.
 *
 * inih splits lines into sections and key = value pairs. It feeds on lines through read_line(),
 * our reader, which counts them (so every message can name its line whatever inih was built
 * with), recognises section headers itself (inih keeps at most 49 characters of a section name
 * and says nothing about a section without keys) and strips leading blanks (so no line is ever
 * taken as the continuation of the previous value). The handler, on_pair(), validates each key
 * against the section the reader last opened. The first error stops the reading.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>

#include "config/conf.h"
#include "config/options.h"
#include "base/units.h"
#include "base/util.h"

enum key {
	K_INTERVAL,
	K_MODE,
	K_LOG_DIR,
	K_REPORT_DIR,
	K_SYSLOG,
	K_MIN_AGE,
	K_DEPTH,
	K_ALERT_RSS_GROWTH,
	K_ALERT_LEAK_SIZE,
	K_BACKEND,
	K_SAMPLE_BYTES,
	K_EXPORT,
	K_FOLDED_WEIGHT,
	K_ESCALATE_AFTER,
	K_TRACE_WINDOW,
	K_MAX_OVERHEAD,
	K_REPORT_INTERVAL,
	K_MAX_TRACED, /* the daemon's own settings: [global] only */
	K_METRICS_FILE,
	K_KEEP_FILES,
	K_MAX_MEMORY,
	K_DEBUGINFOD,
	K_PID, /* the selectors: [watch] sections only */
	K_COMM,
	K_EXE,
	K_UNIT,
	K_COUNT,
};

#define K_FIRST_SELECTOR K_PID

static const char *const key_names[K_COUNT] = {
	[K_INTERVAL] = "interval",
	[K_MODE] = "mode",
	[K_LOG_DIR] = "log_dir",
	[K_REPORT_DIR] = "report_dir",
	[K_SYSLOG] = "syslog",
	[K_MIN_AGE] = "min_age",
	[K_DEPTH] = "depth",
	[K_ALERT_RSS_GROWTH] = "alert_rss_growth",
	[K_ALERT_LEAK_SIZE] = "alert_leak_size",
	[K_BACKEND] = "backend",
	[K_SAMPLE_BYTES] = "sample_bytes",
	[K_EXPORT] = "export",
	[K_FOLDED_WEIGHT] = "folded_weight",
	[K_ESCALATE_AFTER] = "escalate_after",
	[K_TRACE_WINDOW] = "trace_window",
	[K_MAX_OVERHEAD] = "max_overhead",
	[K_REPORT_INTERVAL] = "report_interval",
	[K_MAX_TRACED] = "max_traced",
	[K_METRICS_FILE] = "metrics_file",
	[K_KEEP_FILES] = "keep_files",
	[K_MAX_MEMORY] = "max_memory",
	[K_DEBUGINFOD] = "debuginfod",
	[K_PID] = "pid",
	[K_COMM] = "comm",
	[K_EXE] = "exe",
	[K_UNIT] = "unit",
};

enum section { SEC_NONE, SEC_GLOBAL, SEC_WATCH };

/* The line each key was set on in one section; 0 when not set. */
struct key_lines {
	unsigned line[K_COUNT];
};

struct parser {
	const char *name; /* FILE in messages */
	struct conf *c;

	/* read_line()'s input */
	const char *pos, *end;
	unsigned line;

	enum section sec;
	size_t cur; /* the watch being read, when sec is SEC_WATCH */
	unsigned global_line;
	struct key_lines global_keys; /* of the file being read */
	bool global_set[K_COUNT];     /* set in the [global] of any file */
	unsigned file;		      /* index of the file being read in c->files */
	struct key_lines *watch_keys; /* parallel to c->watches */
	size_t cap;

	bool failed;
	unsigned err_line; /* 0 for an error about the file as a whole */
	int err_code;
	char *err;
	size_t errlen;
};

const char *conf_selector_name(enum watch_selector s)
{
	switch (s) {
	case SELECT_PID:
		return "pid";
	case SELECT_COMM:
		return "comm";
	case SELECT_EXE:
		return "exe";
	case SELECT_UNIT:
		return "unit";
	}
	return "?";
}

void conf_settings_init(struct watch_settings *s)
{
	struct options o;

	options_init(&o);
	memset(s, 0, sizeof(*s));
	s->mode = o.mode;
	s->interval_ns = o.interval_ns;
	s->min_age_ns = 3 * o.interval_ns;
	s->depth = o.depth;
	s->syslog = o.syslog;
	s->alert_rss_growth = o.alert_rss_growth;
	s->alert_leak_size = o.alert_leak_size;
	s->backend = o.backend;
	s->sample_bytes = o.sample_bytes;
	s->escalate_after_ns = o.escalate_after_ns;
	s->trace_window_ns = o.trace_window_ns;
	s->max_overhead = o.max_overhead;
	s->report_interval_ns = CONF_DEFAULT_REPORT_INTERVAL_NS;
	s->max_traced = o.max_traced;
	s->keep_files_ns = CONF_DEFAULT_KEEP_FILES_NS;
	s->max_memory = CONF_DEFAULT_MAX_MEMORY;
	snprintf(s->log_dir, sizeof(s->log_dir), "%s", CONF_DEFAULT_LOG_DIR);
	snprintf(s->report_dir, sizeof(s->report_dir), "%s", CONF_DEFAULT_REPORT_DIR);
}

struct conf *conf_free(struct conf *c)
{
	if (c) {
		for (size_t i = 0; i < c->n_files; i++)
			free(c->files[i]);
		free(c->files);
		free(c->watches);
		free(c);
	}
	return NULL;
}

/* Record an error unless one is recorded already: "PREFIX" + message. */
static void vfail(struct parser *p, int code, unsigned line, const char *key, const char *fmt,
		  va_list ap)
{
	int n;

	if (p->failed)
		return;
	p->failed = true;
	p->err_code = code;
	p->err_line = line;
	if (!p->err || !p->errlen)
		return;
	if (line && key)
		n = snprintf(p->err, p->errlen, "%s:%u: key '%s': ", p->name, line, key);
	else if (line)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
}

static void fail_key(struct parser *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_key(struct parser *p, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, -EINVAL, p->line, key, fmt, ap);
	va_end(ap);
}

static void fail_line(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_line(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, -EINVAL, line, NULL, fmt, ap);
	va_end(ap);
}

static void fail_file(struct parser *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_file(struct parser *p, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, code, 0, NULL, fmt, ap);
	va_end(ap);
}

/* snprintf() into the caller's buffer, which may be NULL with errlen 0. */
static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int lookup_key(const char *name)
{
	for (int k = 0; k < K_COUNT; k++)
		if (strcmp(name, key_names[k]) == 0)
			return k;
	return -1;
}

static bool has_selector(const struct key_lines *kl, enum key *ret_key)
{
	for (int k = K_FIRST_SELECTOR; k < K_COUNT; k++)
		if (kl->line[k]) {
			if (ret_key)
				*ret_key = (enum key)k;
			return true;
		}
	return false;
}

/* A section ends: a watch must have had its selector. */
static bool section_end(struct parser *p)
{
	const struct watch_config *w;

	if (p->sec != SEC_WATCH)
		return true;
	w = &p->c->watches[p->cur];
	if (!has_selector(&p->watch_keys[p->cur], NULL)) {
		fail_line(p, w->line, "watch '%s' has no selector (pid, comm, exe or unit)", w->name);
		return false;
	}
	return true;
}

static bool watch_add(struct parser *p, const char *name)
{
	struct conf *c = p->c;
	struct watch_config *w;

	for (size_t i = 0; i < c->n_watches; i++) {
		if (strcmp(c->watches[i].name, name) != 0)
			continue;
		if (c->watches[i].file == p->file)
			fail_line(p, p->line, "duplicate watch name '%s' (first on line %u)", name,
				  c->watches[i].line);
		else
			fail_line(p, p->line, "duplicate watch name '%s' (first in %s on line %u)",
				  name, c->files[c->watches[i].file], c->watches[i].line);
		return false;
	}
	if (c->n_watches == CONF_MAX_WATCHES) {
		fail_line(p, p->line, "too many [watch] sections (at most %d)", CONF_MAX_WATCHES);
		return false;
	}
	if (c->n_watches == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct watch_config *nw = realloc(c->watches, cap * sizeof(*nw));
		struct key_lines *nk;

		if (!nw) {
			fail_file(p, -ENOMEM, "out of memory");
			return false;
		}
		c->watches = nw;
		nk = realloc(p->watch_keys, cap * sizeof(*nk));
		if (!nk) {
			fail_file(p, -ENOMEM, "out of memory");
			return false;
		}
		p->watch_keys = nk;
		p->cap = cap;
	}
	w = &c->watches[c->n_watches];
	memset(w, 0, sizeof(*w));
	memset(&p->watch_keys[c->n_watches], 0, sizeof(p->watch_keys[0]));
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->line = p->line;
	w->file = p->file;
	p->cur = c->n_watches++;
	p->sec = SEC_WATCH;
	return true;
}

/* A line starting with '[' (leading blanks already gone). */
static bool section_begin(struct parser *p, const char *text)
{
	char buf[512];
	const char *close = strchr(text, ']');
	const char *after;
	char *inner;
	size_t len;

	if (!section_end(p))
		return false;
	if (!close) {
		fail_line(p, p->line, "section header without closing ']'");
		return false;
	}
	for (after = close + 1; *after == ' ' || *after == '\t'; after++)
		;
	if (*after && *after != ';' && *after != '#') {
		fail_line(p, p->line, "unexpected text after the section header: '%s'", after);
		return false;
	}
	len = (size_t)(close - text - 1);
	if (len >= sizeof(buf)) {
		fail_line(p, p->line, "section header too long");
		return false;
	}
	memcpy(buf, text + 1, len);
	buf[len] = '\0';
	if (strchr(buf, ';')) {
		fail_line(p, p->line, "';' is not allowed in a section header");
		return false;
	}
	inner = strip(buf);

	if (strcmp(inner, "global") == 0) {
		if (p->global_line) {
			fail_line(p, p->line, "duplicate [global] section (first on line %u)",
				  p->global_line);
			return false;
		}
		p->global_line = p->line;
		p->sec = SEC_GLOBAL;
		return true;
	}
	if (strncmp(inner, "watch", 5) == 0 && (inner[5] == '\0' || isspace((unsigned char)inner[5]))) {
		const char *name = strip(inner + 5);

		if (!*name) {
			fail_line(p, p->line, "empty watch name: write [watch NAME]");
			return false;
		}
		if (strlen(name) >= sizeof(p->c->watches[0].name)) {
			fail_line(p, p->line, "watch name too long (at most %zu characters)",
				  sizeof(p->c->watches[0].name) - 1);
			return false;
		}
		return watch_add(p, name);
	}
	fail_line(p, p->line, "unknown section '[%s]': expected [global] or [watch NAME]", inner);
	return false;
}

/* Whether a line has the '=' (or ':') of a key = value pair before any "; comment". */
static bool has_separator(const char *s)
{
	for (const char *c = s; *c; c++) {
		if (*c == '=' || *c == ':')
			return true;
		if (*c == ';' && c > s && isspace((unsigned char)c[-1]))
			return false;
	}
	return false;
}

/* inih's reader: one line per call, so p->line is the line inih is working on. */
static char *read_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	const char *s = p->pos, *nl;
	size_t len;

	if (p->failed || p->pos >= p->end || num < 2)
		return NULL;
	nl = memchr(s, '\n', (size_t)(p->end - s));
	len = nl ? (size_t)(nl - s) : (size_t)(p->end - s);
	p->pos = nl ? nl + 1 : p->end;
	p->line++;

	if (p->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		len -= 3;
	}
	if (len && s[len - 1] == '\r')
		len--;
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (len > (size_t)num - 1) {
		if (*s != ';' && *s != '#') {
			fail_line(p, p->line, "line too long (more than %d characters)", num - 1);
			return NULL;
		}
		len = (size_t)num - 1; /* a comment: what it says does not matter */
	}
	memcpy(str, s, len);
	str[len] = '\0';
	if (str[0] == '[') {
		if (!section_begin(p, str))
			return NULL;
	} else if (str[0] && str[0] != ';' && str[0] != '#' && !has_separator(str)) {
		/* what inih would reject: say so now, so that errors come in file order */
		fail_line(p, p->line, "expected '[section]', 'key = value' or a comment");
		return NULL;
	}
	return str;
}

static bool parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return true;
		}
	}
	return false;
}

static bool parse_path(struct parser *p, const char *key, const char *v, char *dst, size_t size)
{
	if (v[0] != '/') {
		fail_key(p, key, "invalid value '%s': must be an absolute path", v);
		return false;
	}
	if (strlen(v) >= size) {
		fail_key(p, key, "path too long (at most %zu characters)", size - 1);
		return false;
	}
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

/* Parse a [global] key into *s. */
static bool parse_setting(struct parser *p, enum key k, const char *v, struct watch_settings *s)
{
	const char *key = key_names[k];
	char *end;
	long n;

	switch (k) {
	case K_INTERVAL:
		if (units_parse_duration(v, &s->interval_ns) < 0) {
			fail_key(p, key, "invalid value '%s': expected a duration such as 500ms, 10s, 5m",
				 v);
			return false;
		}
		if (s->interval_ns < OPTIONS_MIN_INTERVAL_NS || s->interval_ns > OPTIONS_MAX_INTERVAL_NS) {
			fail_key(p, key, "invalid value '%s': must be between 10ms and 1d", v);
			return false;
		}
		return true;
	case K_MODE:
		if (options_parse_mode(v, &s->mode) < 0) {
			fail_key(p, key, "invalid value '%s': expected 'trace', 'rss' or 'auto'", v);
			return false;
		}
		return true;
	case K_LOG_DIR:
		return parse_path(p, key, v, s->log_dir, sizeof(s->log_dir));
	case K_REPORT_DIR:
		return parse_path(p, key, v, s->report_dir, sizeof(s->report_dir));
	case K_SYSLOG:
		if (!parse_bool(v, &s->syslog)) {
			fail_key(p, key,
				 "invalid value '%s': expected yes or no (or true/false, on/off, 1/0)", v);
			return false;
		}
		return true;
	case K_MIN_AGE:
		if (units_parse_duration(v, &s->min_age_ns) < 0) {
			fail_key(p, key, "invalid value '%s': expected a duration such as 30s", v);
			return false;
		}
		return true;
	case K_DEPTH:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || *end || end == v || n < 1 || n > 128) {
			fail_key(p, key, "invalid value '%s': expected 1..128", v);
			return false;
		}
		s->depth = (unsigned)n;
		return true;
	case K_ALERT_RSS_GROWTH:
		if (units_parse_rate(v, &s->alert_rss_growth) < 0 || !(s->alert_rss_growth > 0)) {
			fail_key(p, key, "invalid value '%s': expected a growth rate such as 10MiB/h", v);
			return false;
		}
		return true;
	case K_ALERT_LEAK_SIZE:
		if (units_parse_size(v, &s->alert_leak_size) < 0) {
			fail_key(p, key, "invalid value '%s': expected a size such as 1MiB", v);
			return false;
		}
		return true;
	case K_BACKEND:
		if (options_parse_backend(v, &s->backend) < 0) {
			fail_key(p, key, "invalid value '%s': expected 'agent' or 'breakpoint'", v);
			return false;
		}
		return true;
	case K_SAMPLE_BYTES:
		if (options_parse_sample_bytes(v, &s->sample_bytes) < 0) {
			fail_key(p, key, "invalid value '%s': expected a size, 0, or 'auto'", v);
			return false;
		}
		return true;
	case K_EXPORT:
		if (options_parse_exports(v, &s->exports) < 0) {
			fail_key(p, key,
				 "invalid value '%s': expected a list of folded, pprof, html (or none)",
				 v);
			return false;
		}
		return true;
	case K_FOLDED_WEIGHT:
		if (options_parse_folded_weight(v, &s->is_folded_blocks) < 0) {
			fail_key(p, key, "invalid value '%s': expected 'bytes' or 'blocks'", v);
			return false;
		}
		return true;
	case K_ESCALATE_AFTER:
		if (units_parse_duration(v, &s->escalate_after_ns) < 0) {
			fail_key(p, key, "invalid value '%s': expected a duration such as 10min", v);
			return false;
		}
		return true;
	case K_TRACE_WINDOW:
		if (units_parse_duration(v, &s->trace_window_ns) < 0 ||
		    s->trace_window_ns < OPTIONS_MIN_INTERVAL_NS) {
			fail_key(p, key, "invalid value '%s': expected a duration such as 5min", v);
			return false;
		}
		return true;
	case K_MAX_OVERHEAD:
		if (units_parse_percent(v, &s->max_overhead) < 0) {
			fail_key(p, key, "invalid value '%s': expected a share such as 5%% (0: none)", v);
			return false;
		}
		return true;
	case K_REPORT_INTERVAL:
		if (units_parse_duration(v, &s->report_interval_ns) < 0 ||
		    (s->report_interval_ns && s->report_interval_ns < OPTIONS_MIN_INTERVAL_NS)) {
			fail_key(p, key, "invalid value '%s': expected a duration such as 1min (0: none)",
				 v);
			return false;
		}
		return true;
	case K_MAX_TRACED:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || *end || end == v || n < 1 || n > 1024) {
			fail_key(p, key, "invalid value '%s': expected 1..1024", v);
			return false;
		}
		s->max_traced = (unsigned)n;
		return true;
	case K_METRICS_FILE:
		return parse_path(p, key, v, s->metrics_file, sizeof(s->metrics_file));
	case K_KEEP_FILES:
		if (units_parse_duration(v, &s->keep_files_ns) < 0) {
			fail_key(p, key, "invalid value '%s': expected a duration such as 7d (0: forever)",
				 v);
			return false;
		}
		return true;
	case K_MAX_MEMORY:
		if (units_parse_size(v, &s->max_memory) < 0) {
			fail_key(p, key, "invalid value '%s': expected a size such as 256MiB (0: none)", v);
			return false;
		}
		return true;
	case K_DEBUGINFOD:
		if (!parse_bool(v, &s->debuginfod)) {
			fail_key(p, key,
				 "invalid value '%s': expected yes or no (or true/false, on/off, 1/0)", v);
			return false;
		}
		return true;
	default:
		break;
	}
	return false;
}

static bool is_unit_char(char ch)
{
	return isalnum((unsigned char)ch) || strchr(":_.\\@-", ch);
}

/* Our rule for unit names: systemd's unit name characters, at most 255 of them, ending in
 * .service, .scope or .slice (the unit types that hold processes in a cgroup), and not a
 * template (which never runs itself). */
static bool parse_unit(struct parser *p, const char *v, char *dst, size_t size)
{
	static const char *const suffixes[] = { ".service", ".scope", ".slice" };
	size_t len = strlen(v);
	const char *suffix = NULL;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && strcmp(v + len - sl, suffixes[i]) == 0) {
			suffix = v + len - sl;
			break;
		}
	}
	if (!suffix) {
		fail_key(p, "unit",
			 "invalid value '%s': expected a unit name ending in .service, .scope or .slice",
			 v);
		return false;
	}
	for (const char *s = v; *s; s++)
		if (!is_unit_char(*s)) {
			fail_key(p, "unit",
				 "invalid value '%s': a unit name holds only letters, digits and ':_.\\@-'",
				 v);
			return false;
		}
	if (len > 255 || len >= size) {
		fail_key(p, "unit", "invalid value '%s': a unit name has at most 255 characters", v);
		return false;
	}
	if (suffix > v && suffix[-1] == '@') {
		fail_key(p, "unit",
			 "invalid value '%s': a template never runs itself, name an instance such as "
			 "'%.*s1%s'",
			 v, (int)(suffix - v), v, suffix);
		return false;
	}
	memcpy(dst, v, len + 1);
	return true;
}

static bool parse_selector(struct parser *p, enum key k, const char *v, struct watch_config *w)
{
	size_t len = strlen(v);
	char *end;
	long n;

	switch (k) {
	case K_PID:
		errno = 0;
		n = strtol(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || errno || *end || n <= 0 || n > INT_MAX) {
			fail_key(p, "pid", "invalid value '%s': expected a positive integer", v);
			return false;
		}
		w->selector = SELECT_PID;
		w->pid = (pid_t)n;
		snprintf(w->value, sizeof(w->value), "%ld", n);
		return true;
	case K_COMM:
		if (len > CONF_COMM_MAX) {
			fail_key(p, "comm",
				 "'%s' is %zu characters, but the kernel truncates comm to %d so it "
				 "could never match (match a longer name with exe = PATH)",
				 v, len, CONF_COMM_MAX);
			return false;
		}
		w->selector = SELECT_COMM;
		memcpy(w->value, v, len + 1);
		return true;
	case K_EXE:
		if (v[0] != '/') {
			fail_key(p, "exe", "invalid value '%s': must be an absolute path", v);
			return false;
		}
		if (v[len - 1] == '/') {
			fail_key(p, "exe", "invalid value '%s': must name a file, not a directory", v);
			return false;
		}
		if (len >= sizeof(w->value)) {
			fail_key(p, "exe", "path too long (at most %zu characters)",
				 sizeof(w->value) - 1);
			return false;
		}
		w->selector = SELECT_EXE;
		memcpy(w->value, v, len + 1);
		return true;
	case K_UNIT:
		if (!parse_unit(p, v, w->value, sizeof(w->value)))
			return false;
		w->selector = SELECT_UNIT;
		return true;
	default:
		break;
	}
	return false;
}

/* inih's handler: one key = value of the section the reader last opened. */
static int handle_pair(struct parser *p, const char *name, const char *value)
{
	struct key_lines *kl;
	char buf[4096];
	char *v;
	int k;

	if (p->failed)
		return 0;
	if (!*name) {
		fail_line(p, p->line, "missing key name before '='");
		return 0;
	}
	if (p->sec == SEC_NONE) {
		fail_key(p, name, "outside any section (put it under [global] or [watch NAME])");
		return 0;
	}
	k = lookup_key(name);
	if (k < 0) {
		char alt[64];
		size_t i;

		/* "min-age" for "min_age": say which key was meant */
		for (i = 0; name[i] && i < sizeof(alt) - 1; i++)
			alt[i] = name[i] == '-' ? '_' : (char)tolower((unsigned char)name[i]);
		alt[i] = '\0';
		if (!name[i] && lookup_key(alt) >= 0)
			fail_key(p, name, "unknown key (did you mean '%s'?)", alt);
		else
			fail_key(p, name, "unknown key");
		return 0;
	}
	if (p->sec == SEC_GLOBAL && k >= K_FIRST_SELECTOR) {
		fail_key(p, name, "a selector belongs in a [watch NAME] section, not in [global]");
		return 0;
	}
	if (p->sec == SEC_WATCH && k == K_BACKEND) {
		fail_key(p, name, "the backend is chosen once, in [global], for every watch");
		return 0;
	}
	if (p->sec == SEC_WATCH && k >= K_MAX_TRACED && k < K_FIRST_SELECTOR) {
		fail_key(p, name, "a setting of the whole daemon: set it in [global]");
		return 0;
	}
	kl = p->sec == SEC_GLOBAL ? &p->global_keys : &p->watch_keys[p->cur];
	if (kl->line[k]) {
		fail_key(p, name, "set twice in this section (first on line %u)", kl->line[k]);
		return 0;
	}

	/* '#' starts a comment after a blank, like ';' (which inih has removed already); inih
	 * strips the blanks after '=', so a value starting with '#' is a comment too */
	if (strlen(value) >= sizeof(buf)) {
		fail_key(p, name, "value too long");
		return 0;
	}
	strcpy(buf, value);
	for (char *h = strchr(buf, '#'); h; h = strchr(h + 1, '#'))
		if (h == buf || h[-1] == ' ' || h[-1] == '\t') {
			*h = '\0';
			break;
		}
	v = strip(buf);
	if (!*v) {
		fail_key(p, name, "empty value");
		return 0;
	}

	if (k >= K_FIRST_SELECTOR) {
		struct watch_config *w = &p->c->watches[p->cur];
		enum key other;

		if (has_selector(kl, &other)) {
			fail_key(p, name,
				 "watch '%s' already has a selector (%s on line %u): give exactly one "
				 "of pid, comm, exe or unit",
				 w->name, key_names[other], kl->line[other]);
			return 0;
		}
		if (!parse_selector(p, (enum key)k, v, w))
			return 0;
	} else {
		struct watch_settings *s =
			p->sec == SEC_GLOBAL ? &p->c->global : &p->c->watches[p->cur].s;

		if (!parse_setting(p, (enum key)k, v, s))
			return 0;
	}
	kl->line[k] = p->line;
	if (p->sec == SEC_GLOBAL)
		p->global_set[k] = true;
	return 1;
}

#if INI_HANDLER_LINENO
static int on_pair(void *user, const char *section, const char *name, const char *value,
		   int lineno)
{
	(void)lineno; /* the reader counts lines itself */
#else
static int on_pair(void *user, const char *section, const char *name, const char *value)
{
#endif
	(void)section; /* the reader tracks sections itself, with names of any length */
	return handle_pair(user, name, value ? value : "");
}

static void copy_setting(struct watch_settings *dst, const struct watch_settings *src, enum key k)
{
	switch (k) {
	case K_INTERVAL:
		dst->interval_ns = src->interval_ns;
		break;
	case K_MODE:
		dst->mode = src->mode;
		break;
	case K_LOG_DIR:
		memcpy(dst->log_dir, src->log_dir, sizeof(dst->log_dir));
		break;
	case K_REPORT_DIR:
		memcpy(dst->report_dir, src->report_dir, sizeof(dst->report_dir));
		break;
	case K_SYSLOG:
		dst->syslog = src->syslog;
		break;
	case K_MIN_AGE:
		dst->min_age_ns = src->min_age_ns;
		break;
	case K_DEPTH:
		dst->depth = src->depth;
		break;
	case K_ALERT_RSS_GROWTH:
		dst->alert_rss_growth = src->alert_rss_growth;
		break;
	case K_ALERT_LEAK_SIZE:
		dst->alert_leak_size = src->alert_leak_size;
		break;
	case K_BACKEND:
		dst->backend = src->backend;
		break;
	case K_SAMPLE_BYTES:
		dst->sample_bytes = src->sample_bytes;
		break;
	case K_EXPORT:
		dst->exports = src->exports;
		break;
	case K_FOLDED_WEIGHT:
		dst->is_folded_blocks = src->is_folded_blocks;
		break;
	case K_ESCALATE_AFTER:
		dst->escalate_after_ns = src->escalate_after_ns;
		break;
	case K_TRACE_WINDOW:
		dst->trace_window_ns = src->trace_window_ns;
		break;
	case K_MAX_OVERHEAD:
		dst->max_overhead = src->max_overhead;
		break;
	case K_REPORT_INTERVAL:
		dst->report_interval_ns = src->report_interval_ns;
		break;
	default:
		break;
	}
}

/* Every watch: [global] (wherever it was in the file), then its own keys over it. */
static void resolve(struct parser *p)
{
	struct conf *c = p->c;

	if (!p->global_set[K_MIN_AGE])
		c->global.min_age_ns = 3 * c->global.interval_ns;
	for (size_t i = 0; i < c->n_watches; i++) {
		struct watch_config *w = &c->watches[i];
		const struct key_lines *kl = &p->watch_keys[i];
		struct watch_settings own = w->s;

		w->s = c->global;
		for (int k = 0; k < K_FIRST_SELECTOR; k++)
			if (kl->line[k])
				copy_setting(&w->s, &own, (enum key)k);
		if (!kl->line[K_MIN_AGE] && !p->global_set[K_MIN_AGE])
			w->s.min_age_ns = 3 * w->s.interval_ns;
	}
}

/* Start a parse: an empty conf with the defaults. Returns 0 or -ENOMEM (recorded). */
static int parser_begin(struct parser *p, const char *name, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->err = err;
	p->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	p->c = calloc(1, sizeof(*p->c));
	if (!p->c) {
		fail_file(p, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	snprintf(p->c->path, sizeof(p->c->path), "%s", name);
	conf_settings_init(&p->c->global);
	return 0;
}

/* Parse one file's text (name in messages) into p's conf. Returns false on the first error. */
static bool parser_feed(struct parser *p, const char *text, size_t len, const char *name)
{
	struct conf *c = p->c;
	char **files;
	int r;

	if (p->failed)
		return false;
	files = realloc(c->files, (c->n_files + 1) * sizeof(*files));
	if (!files) {
		fail_file(p, -ENOMEM, "out of memory");
		return false;
	}
	c->files = files;
	c->files[c->n_files] = strdup(name);
	if (!c->files[c->n_files]) {
		fail_file(p, -ENOMEM, "out of memory");
		return false;
	}
	p->file = (unsigned)c->n_files++;
	p->name = c->files[p->file];
	p->pos = text;
	p->end = text + len;
	p->line = 0;
	p->sec = SEC_NONE;
	p->global_line = 0;
	memset(&p->global_keys, 0, sizeof(p->global_keys));

	r = ini_parse_stream(read_line, p, on_pair, p);
	if (r > 0 && (!p->failed || (unsigned)r < p->err_line)) {
		/* inih's own complaint, on an earlier line than any of ours */
		p->failed = false;
		fail_line(p, (unsigned)r, "expected '[section]', 'key = value' or a comment");
	} else if (r < 0) {
		fail_file(p, -ENOMEM, "out of memory");
	}
	if (!p->failed)
		section_end(p);
	return !p->failed;
}

static int parser_end(struct parser *p, struct conf **ret)
{
	if (p->failed) {
		free(p->watch_keys);
		conf_free(p->c);
		return p->err_code;
	}
	resolve(p);
	free(p->watch_keys);
	*ret = p->c;
	return 0;
}

int conf_parse_string(const char *text, const char *name, struct conf **ret, char *err,
		      size_t errlen)
{
	struct parser p;

	if (parser_begin(&p, name, err, errlen) < 0)
		return -ENOMEM;
	(void)parser_feed(&p, text, strlen(text), name);
	return parser_end(&p, ret);
}

/* Read the whole file at path into *ret_text (NUL-terminated, *ret_len bytes). Returns 0, or
 * -errno with a message in err. */
static int read_file(const char *path, char **ret_text, size_t *ret_len, char *err, size_t errlen)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		errf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	text = malloc(CONF_MAX_FILE_SIZE + 1);
	if (!text) {
		errf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (;;) {
		size_t n = fread(text + len, 1, CONF_MAX_FILE_SIZE + 1 - len, f);

		len += n;
		if (n == 0 || len == CONF_MAX_FILE_SIZE + 1)
			break;
	}
	if (ferror(f)) {
		r = errno ? -errno : -EIO;
		errf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	if (len > CONF_MAX_FILE_SIZE) {
		errf(err, errlen, "%s: larger than %d bytes: not a configuration file", path,
		     CONF_MAX_FILE_SIZE);
		return -EFBIG;
	}
	if (memchr(text, '\0', len)) {
		errf(err, errlen, "%s: contains a NUL byte: not a text file", path);
		return -EINVAL;
	}
	text[len] = '\0';
	*ret_text = steal_ptr(&text);
	*ret_len = len;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

/* The drop-in files of dir, sorted: *ret is a NULL-terminated array of paths (free each, and
 * it). A missing directory gives an empty list. Returns 0 or -errno with a message. */
static int list_dropins(const char *dir, char ***ret, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	*ret = NULL;
	if (!d && errno == ENOENT)
		return 0;
	if (!d) {
		r = -errno;
		errf(err, errlen, "%s: cannot open: %s", dir, strerror(-r));
		return r;
	}
	names = calloc(CONF_MAX_DROPINS + 1, sizeof(*names));
	if (!names) {
		(void)closedir(d);
		errf(err, errlen, "%s: out of memory", dir);
		return -ENOMEM;
	}
	while ((e = readdir(d))) {
		struct stat st;
		char *path;

		if (!is_dropin_name(e->d_name))
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			r = -ENOMEM;
			errf(err, errlen, "%s: out of memory", dir);
			break;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == CONF_MAX_DROPINS) {
			free(path);
			r = -E2BIG;
			errf(err, errlen, "%s: more than %d drop-in files", dir, CONF_MAX_DROPINS);
			break;
		}
		names[n++] = path;
	}
	(void)closedir(d);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return r;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	return 0;
}

int conf_load(const char *path, struct conf **ret, char *err, size_t errlen)
{
	_cleanup_free_ char *dir = NULL;
	char **dropins = NULL;
	struct parser p;
	char *text = NULL;
	size_t len;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = read_file(path, &text, &len, err, errlen);
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s.d", path) < 0) {
		dir = NULL;
		free(text);
		errf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r = list_dropins(dir, &dropins, err, errlen);
	if (r < 0) {
		free(text);
		return r;
	}
	r = parser_begin(&p, path, err, errlen);
	if (r == 0 && parser_feed(&p, text, len, path)) {
		for (size_t i = 0; dropins && dropins[i]; i++) {
			char *dtext = NULL;
			size_t dlen;

			r = read_file(dropins[i], &dtext, &dlen, err, errlen);
			if (r < 0) {
				p.failed = true; /* the message is in err already */
				p.err_code = r;
				break;
			}
			if (!parser_feed(&p, dtext, dlen, dropins[i])) {
				free(dtext);
				break;
			}
			free(dtext);
		}
	}
	free(text);
	for (size_t i = 0; dropins && dropins[i]; i++)
		free(dropins[i]);
	free(dropins);
	if (r < 0 && !p.c)
		return r;
	return parser_end(&p, ret);
}
