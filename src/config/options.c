/* options.c - the command line, parsed with getopt_long and validated. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/options.h"
#include "base/units.h"

enum {
	OPT_MIN_AGE = 0x100,
	OPT_DEPTH,
	OPT_TEXT,
	OPT_NO_TEXT,
	OPT_SYSLOG,
	OPT_NO_SYSLOG,
	OPT_ALERT_RSS_GROWTH,
	OPT_ALERT_LEAK_SIZE,
	OPT_STACK_COPY,
	OPT_BACKEND,
	OPT_SAMPLE_BYTES,
	OPT_FOLDED,
	OPT_FOLDED_WEIGHT,
	OPT_PPROF,
	OPT_HTML,
	OPT_ESCALATE_AFTER,
	OPT_TRACE_WINDOW,
	OPT_MAX_TRACED,
	OPT_MAX_OVERHEAD,
	OPT_REPORT_INTERVAL,
	OPT_METRICS,
	OPT_MAX_MEMORY,
	OPT_DEBUGINFOD,
	OPT_NO_DEBUGINFOD,
};

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "config", required_argument, NULL, 'c' },
	{ "mode", required_argument, NULL, 'm' },
	{ "interval", required_argument, NULL, 'i' },
	{ "duration", required_argument, NULL, 'd' },
	{ "min-age", required_argument, NULL, OPT_MIN_AGE },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "stack-copy", required_argument, NULL, OPT_STACK_COPY },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "sample-bytes", required_argument, NULL, OPT_SAMPLE_BYTES },
	{ "log", required_argument, NULL, 'o' },
	{ "report", required_argument, NULL, 'r' },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "no-text", no_argument, NULL, OPT_NO_TEXT },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "no-syslog", no_argument, NULL, OPT_NO_SYSLOG },
	{ "alert-rss-growth", required_argument, NULL, OPT_ALERT_RSS_GROWTH },
	{ "alert-leak-size", required_argument, NULL, OPT_ALERT_LEAK_SIZE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "folded-weight", required_argument, NULL, OPT_FOLDED_WEIGHT },
	{ "pprof", required_argument, NULL, OPT_PPROF },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "escalate-after", required_argument, NULL, OPT_ESCALATE_AFTER },
	{ "trace-window", required_argument, NULL, OPT_TRACE_WINDOW },
	{ "max-traced", required_argument, NULL, OPT_MAX_TRACED },
	{ "max-overhead", required_argument, NULL, OPT_MAX_OVERHEAD },
	{ "report-interval", required_argument, NULL, OPT_REPORT_INTERVAL },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
	{ "debuginfod", no_argument, NULL, OPT_DEBUGINFOD },
	{ "no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
	"Usage: leakmond [OPTION]... --pid PID [--pid PID]...\n"
	"       leakmond [OPTION]... -- PROGRAM [ARG]...\n"
	"       leakmond [OPTION]... --config FILE\n"
	"Find memory leaks in running processes.\n"
	"\n"
	"  -p, --pid PID              watch a running process (repeatable)\n"
	"  -c, --config FILE          daemon mode: targets and settings from FILE\n"
	"  -m, --mode trace|rss|auto  trace allocator calls, sample /proc only, or sample /proc and\n"
	"                             trace for a window while RSS keeps rising (default trace)\n"
	"  -i, --interval DURATION    sampling interval (default 10s)\n"
	"  -d, --duration DURATION    watch this long, then detach and exit\n"
	"      --min-age DURATION     younger blocks are never leak evidence (default 3 x interval)\n"
	"      --depth N              stack frames kept per allocation, 1..128 (default 32)\n"
	"      --stack-copy SIZE      stack bytes copied per allocation to unwind (default 8KiB)\n"
	"      --backend agent|breakpoint  trace through an in-process agent (jumps, shared-memory\n"
	"                             ring) or int3 breakpoints, a ptrace stop per call (default agent)\n"
	"      --sample-bytes SIZE|auto  agent: mean bytes between allocations whose stack is kept\n"
	"                             (0: every one; auto: every one while the rate is low)\n"
	"      --escalate-after DURATION  auto: RSS rising this long starts a trace (default 10min)\n"
	"      --trace-window DURATION    auto: how long a trace lasts (default 5min)\n"
	"      --max-traced N         auto: processes traced at once, at most (default 2)\n"
	"      --max-overhead PERCENT  estimated share of a target's CPU spent on tracing before\n"
	"                             sampling gets coarser or tracing stops (default 5% in auto\n"
	"                             mode, none in trace mode; 0: none)\n"
	"      --max-memory SIZE      budget of leakmond's own tables (default none)\n"
	"  -o, --log FILE             time-series log as JSON Lines ('-' is stdout)\n"
	"  -r, --report FILE          JSON report, written at exit and on SIGUSR1\n"
	"      --report-interval DURATION  also rewrite the report this often\n"
	"      --metrics FILE         Prometheus textfile, rewritten every interval\n"
	"      --text, --no-text      human-readable report on stdout (default: if a terminal)\n"
	"      --folded FILE          folded stacks of every live site (flame graphs), with each report\n"
	"      --folded-weight bytes|blocks  what a folded stack weighs (default bytes)\n"
	"      --pprof FILE           gzip'd pprof profile of every live site, with each report\n"
	"      --html FILE            one self-contained HTML page with charts, with each report\n"
	"      --syslog, --no-syslog  alerts to syslog, facility daemon (default on)\n"
	"      --alert-rss-growth RATE  alert when RSS grows faster (default 64MiB/h)\n"
	"      --alert-leak-size SIZE   alert when a leaking site holds more (default 1MiB)\n"
	"      --debuginfod, --no-debuginfod  fetch missing debug info from the servers in\n"
	"                             DEBUGINFOD_URLS, with bounded timeouts (default off)\n"
	"  -v, --verbose              more diagnostics on stderr\n"
	"  -q, --quiet                fewer diagnostics on stderr\n"
	"  -h, --help                 show this help\n"
	"  -V, --version              show the version and the licence\n"
	"\n"
	"DURATION: a systemd.time(7) span: 500ms, 10s, 5m, 1h 30min, 2d (a bare number is\n"
	"seconds). SIZE: B, KiB, MiB, GiB (or K, M, G). RATE: SIZE/s, SIZE/min, SIZE/h, SIZE/d.\n"
	"Units are case-sensitive: 10Ms is refused; m is a minute, M a month.\n"
	"Exit status: 0 success, 1 runtime failure, 2 usage error, 3 a target could not be watched.\n"
	"See leakmond(8). Report bugs to <" PACKAGE_BUGREPORT ">.\n";

const char *options_usage(void)
{
	return usage_text;
}

const char *options_mode_name(enum watch_mode mode)
{
	return mode == MODE_RSS ? "rss" : mode == MODE_AUTO ? "auto" : "trace";
}

int options_parse_mode(const char *s, enum watch_mode *ret)
{
	if (strcmp(s, "trace") == 0)
		*ret = MODE_TRACE;
	else if (strcmp(s, "rss") == 0)
		*ret = MODE_RSS;
	else if (strcmp(s, "auto") == 0)
		*ret = MODE_AUTO;
	else
		return -EINVAL;
	return 0;
}

double options_effective_overhead(double max_overhead, enum watch_mode mode)
{
	if (max_overhead >= 0)
		return max_overhead;
	return mode == MODE_AUTO ? OPTIONS_AUTO_MAX_OVERHEAD : 0;
}

const char *options_backend_name(enum trace_backend b)
{
	return b == TRACE_BREAKPOINT ? "breakpoint" : "agent";
}

int options_parse_backend(const char *s, enum trace_backend *ret)
{
	if (strcmp(s, "breakpoint") == 0)
		*ret = TRACE_BREAKPOINT;
	else if (strcmp(s, "agent") == 0)
		*ret = TRACE_AGENT;
	else
		return -EINVAL;
	return 0;
}

int options_parse_sample_bytes(const char *s, uint64_t *ret)
{
	if (strcmp(s, "auto") == 0) {
		*ret = OPTIONS_SAMPLE_AUTO;
		return 0;
	}
	if (units_parse_size(s, ret) < 0 || *ret >= (UINT64_C(1) << 40))
		return -EINVAL;
	return 0;
}

int options_parse_exports(const char *s, unsigned *ret)
{
	unsigned mask = 0;
	size_t words = 0;
	bool is_none = false;

	while (*s) {
		size_t n = strcspn(s, ", \t");

		if (n == 0) {
			s++;
			continue;
		}
		words++;
		if (n == 6 && strncmp(s, "folded", n) == 0)
			mask |= OPTIONS_EXPORT_FOLDED;
		else if (n == 5 && strncmp(s, "pprof", n) == 0)
			mask |= OPTIONS_EXPORT_PPROF;
		else if (n == 4 && strncmp(s, "html", n) == 0)
			mask |= OPTIONS_EXPORT_HTML;
		else if (n == 4 && strncmp(s, "none", n) == 0)
			is_none = true;
		else
			return -EINVAL;
		s += n;
	}
	if (words == 0 || (is_none && words > 1))
		return -EINVAL;
	*ret = mask;
	return 0;
}

int options_parse_folded_weight(const char *s, bool *ret_is_blocks)
{
	if (strcmp(s, "bytes") == 0)
		*ret_is_blocks = false;
	else if (strcmp(s, "blocks") == 0)
		*ret_is_blocks = true;
	else
		return -EINVAL;
	return 0;
}

void options_init(struct options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->mode = MODE_TRACE;
	opts->interval_ns = 10ULL * 1000000000ULL;
	opts->depth = 32;
	opts->stack_copy = 8192;
	opts->backend = TRACE_BACKEND_DEFAULT;
	opts->sample_bytes = OPTIONS_SAMPLE_AUTO;
	opts->text = -1;
	opts->syslog = true;
	opts->alert_rss_growth = 64.0 * 1048576.0 / 3600.0;
	opts->alert_leak_size = 1048576;
	opts->escalate_after_ns = OPTIONS_ESCALATE_AFTER_NS;
	opts->trace_window_ns = OPTIONS_TRACE_WINDOW_NS;
	opts->max_traced = OPTIONS_MAX_TRACED;
	opts->max_overhead = OPTIONS_OVERHEAD_DEFAULT;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_pid(const char *s, pid_t *ret)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

int options_parse(int argc, char **argv, struct options *opts, char *err, size_t errlen)
{
	bool min_age_set = false;
	int c;

	options_init(opts);
	optind = 0; /* full reset of getopt's state, so the parser can run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:c:m:i:d:o:r:vqhV", long_options, NULL)) != -1) {
		switch (c) {
		case 'p': {
			pid_t pid;
			size_t i;

			if (parse_pid(optarg, &pid) < 0)
				return fail(err, errlen, "invalid pid '%s': expected a positive integer",
					    optarg);
			for (i = 0; i < opts->n_pids; i++)
				if (opts->pids[i] == pid)
					break;
			if (i < opts->n_pids)
				break; /* given twice: watched once */
			if (opts->n_pids == OPTIONS_MAX_PIDS)
				return fail(err, errlen, "too many --pid options (at most %d)",
					    OPTIONS_MAX_PIDS);
			opts->pids[opts->n_pids++] = pid;
			break;
		}
		case 'c':
			opts->config_path = optarg;
			break;
		case 'm':
			if (options_parse_mode(optarg, &opts->mode) < 0)
				return fail(err, errlen,
					    "invalid mode '%s': expected 'trace', 'rss' or 'auto'", optarg);
			break;
		case 'i':
			if (units_parse_duration(optarg, &opts->interval_ns) < 0)
				return fail(err, errlen,
					    "invalid interval '%s': expected a duration such as 500ms, 10s, 5m",
					    optarg);
			if (opts->interval_ns < OPTIONS_MIN_INTERVAL_NS ||
			    opts->interval_ns > OPTIONS_MAX_INTERVAL_NS)
				return fail(err, errlen, "invalid interval '%s': must be between 10ms and 1d",
					    optarg);
			break;
		case 'd':
			if (units_parse_duration(optarg, &opts->duration_ns) < 0 ||
			    opts->duration_ns == 0)
				return fail(err, errlen,
					    "invalid duration '%s': expected a positive duration such as 30s, 5m",
					    optarg);
			break;
		case OPT_MIN_AGE:
			if (units_parse_duration(optarg, &opts->min_age_ns) < 0)
				return fail(err, errlen,
					    "invalid min-age '%s': expected a duration such as 30s", optarg);
			min_age_set = true;
			break;
		case OPT_DEPTH: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 128)
				return fail(err, errlen, "invalid depth '%s': expected 1..128", optarg);
			opts->depth = (unsigned)v;
			break;
		}
		case OPT_BACKEND:
			if (options_parse_backend(optarg, &opts->backend) < 0)
				return fail(err, errlen,
					    "invalid backend '%s': expected 'agent' or 'breakpoint'",
					    optarg);
			break;
		case OPT_SAMPLE_BYTES:
			if (options_parse_sample_bytes(optarg, &opts->sample_bytes) < 0)
				return fail(err, errlen,
					    "invalid sample bytes '%s': expected a size (0 for every "
					    "allocation) or 'auto'",
					    optarg);
			break;
		case OPT_STACK_COPY:
			if (units_parse_size(optarg, &opts->stack_copy) < 0 ||
			    opts->stack_copy < 64 || opts->stack_copy > 256 * 1024)
				return fail(err, errlen,
					    "invalid stack copy size '%s': expected 64B..256KiB",
					    optarg);
			break;
		case 'o':
			if (!*optarg)
				return fail(err, errlen, "invalid log file '': empty path");
			opts->log_path = optarg;
			break;
		case 'r':
			if (!*optarg)
				return fail(err, errlen, "invalid report file '': empty path");
			opts->report_path = optarg;
			break;
		case OPT_TEXT:
			opts->text = 1;
			break;
		case OPT_NO_TEXT:
			opts->text = 0;
			break;
		case OPT_SYSLOG:
			opts->syslog = true;
			break;
		case OPT_NO_SYSLOG:
			opts->syslog = false;
			break;
		case OPT_ALERT_RSS_GROWTH:
			if (units_parse_rate(optarg, &opts->alert_rss_growth) < 0 ||
			    opts->alert_rss_growth <= 0)
				return fail(err, errlen,
					    "invalid rate '%s' for --alert-rss-growth: expected e.g. 10MiB/h",
					    optarg);
			break;
		case OPT_ALERT_LEAK_SIZE:
			if (units_parse_size(optarg, &opts->alert_leak_size) < 0)
				return fail(err, errlen,
					    "invalid size '%s' for --alert-leak-size: expected e.g. 1MiB",
					    optarg);
			break;
		case OPT_FOLDED:
		case OPT_PPROF:
		case OPT_HTML:
			if (!*optarg)
				return fail(err, errlen, "invalid export file '': empty path");
			*(c == OPT_FOLDED ? &opts->folded_path
			  : c == OPT_PPROF ? &opts->pprof_path : &opts->html_path) = optarg;
			break;
		case OPT_FOLDED_WEIGHT:
			if (options_parse_folded_weight(optarg, &opts->is_folded_blocks) < 0)
				return fail(err, errlen,
					    "invalid folded weight '%s': expected 'bytes' or 'blocks'",
					    optarg);
			break;
		case OPT_ESCALATE_AFTER:
			if (units_parse_duration(optarg, &opts->escalate_after_ns) < 0)
				return fail(err, errlen,
					    "invalid duration '%s' for --escalate-after: expected e.g. 10min",
					    optarg);
			break;
		case OPT_TRACE_WINDOW:
			if (units_parse_duration(optarg, &opts->trace_window_ns) < 0 ||
			    opts->trace_window_ns < OPTIONS_MIN_INTERVAL_NS)
				return fail(err, errlen,
					    "invalid duration '%s' for --trace-window: expected e.g. 5min",
					    optarg);
			break;
		case OPT_MAX_TRACED: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 1024)
				return fail(err, errlen, "invalid count '%s' for --max-traced: expected 1..1024",
					    optarg);
			opts->max_traced = (unsigned)v;
			break;
		}
		case OPT_MAX_OVERHEAD:
			if (units_parse_percent(optarg, &opts->max_overhead) < 0)
				return fail(err, errlen,
					    "invalid share '%s' for --max-overhead: expected e.g. 5%% (0: none)",
					    optarg);
			break;
		case OPT_REPORT_INTERVAL:
			if (units_parse_duration(optarg, &opts->report_interval_ns) < 0 ||
			    (opts->report_interval_ns && opts->report_interval_ns < OPTIONS_MIN_INTERVAL_NS))
				return fail(err, errlen,
					    "invalid duration '%s' for --report-interval: expected e.g. 1min "
					    "(0: none)",
					    optarg);
			break;
		case OPT_METRICS:
			if (!*optarg)
				return fail(err, errlen, "invalid metrics file '': empty path");
			opts->metrics_path = optarg;
			break;
		case OPT_MAX_MEMORY:
			if (units_parse_size(optarg, &opts->max_memory) < 0)
				return fail(err, errlen,
					    "invalid size '%s' for --max-memory: expected e.g. 256MiB (0: none)",
					    optarg);
			break;
		case OPT_DEBUGINFOD:
			opts->debuginfod = true;
			break;
		case OPT_NO_DEBUGINFOD:
			opts->debuginfod = false;
			break;
		case 'v':
			opts->verbosity++;
			break;
		case 'q':
			opts->verbosity--;
			break;
		case 'h':
			return OPTIONS_HELP;
		case 'V':
			return OPTIONS_VERSION;
		case ':':
			return fail(err, errlen, "option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return fail(err, errlen, "unknown option '-%c'", optopt);
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}

	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			return fail(err, errlen,
				    "unexpected argument '%s' (put the program to start after '--')",
				    argv[optind]);
		opts->program = &argv[optind];
	} else if (optind > 0 && optind == argc && strcmp(argv[optind - 1], "--") == 0) {
		return fail(err, errlen, "no program given after '--'");
	}

	if (!opts->n_pids && !opts->program && !opts->config_path)
		return fail(err, errlen, "nothing to watch: give --pid PID, -- PROGRAM, or --config FILE");
	if (opts->config_path && (opts->n_pids || opts->program))
		return fail(err, errlen, "--config cannot be combined with --pid or a program");
	if (!min_age_set)
		opts->min_age_ns = 3 * opts->interval_ns;
	return OPTIONS_RUN;
}
