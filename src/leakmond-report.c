/* leakmond-report.c - main of leakmond-report: render a JSON report that leakmond wrote (and the
 * time series of its JSON Lines log) as text, folded stacks, a pprof profile or an HTML page,
 * later and on any machine. The renderers are leakmond's own (output/exports.h), fed with the
 * report as its file holds it, so the files are the ones leakmond writes itself.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomicfile.h"
#include "base/util.h"
#include "config/options.h"
#include "output/exports.h"
#include "output/jsonget.h"
#include "output/report.h"
#include "output/timeline.h"

#define EXIT_WRITE 1
#define EXIT_BAD 2

enum { OPT_TEXT = 0x100, OPT_FOLDED, OPT_FOLDED_WEIGHT, OPT_PPROF, OPT_HTML };

static const struct option long_options[] = {
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "folded-weight", required_argument, NULL, OPT_FOLDED_WEIGHT },
	{ "pprof", required_argument, NULL, OPT_PPROF },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
	"Usage: leakmond-report [OPTION]... REPORT.json [LOG.jsonl]\n"
	"Render a JSON report written by leakmond: as text, folded stacks, a pprof profile or an\n"
	"HTML page, the same files leakmond itself writes with --folded, --pprof and --html.\n"
	"\n"
	"      --text                 the text report on stdout (the default when no file is asked)\n"
	"      --folded FILE          folded stacks of every live site (flamegraph.pl, speedscope)\n"
	"      --folded-weight bytes|blocks  what a folded stack weighs (default bytes)\n"
	"      --pprof FILE           gzip'd pprof profile (go tool pprof, Pyroscope, Parca)\n"
	"      --html FILE            one self-contained HTML page with charts\n"
	"  -v, --verbose              whole stacks in the text report\n"
	"  -h, --help                 show this help\n"
	"  -V, --version              show the version\n"
	"\n"
	"With LOG.jsonl (leakmond's --log, or the daemon's <comm>-<pid>.jsonl), the time series of\n"
	"each target (its samples and alerts since its last attach) come from the log instead of\n"
	"the report's own \"timeline\".\n"
	"Exit status: 0 success, 1 a file could not be written, 2 usage error or unreadable input.\n"
	"See leakmond-report(1). Report bugs to <" PACKAGE_BUGREPORT ">.\n";

/* Replace each target's "timeline" by the one its records in the log at path make. */
static int timelines_from_log(json_object *report, const char *path)
{
	json_object *targets = jget_arr(report, "targets");
	size_t n = jlen(targets), bad = 0;
	_cleanup_free_ pid_t *pids = calloc(n + 1, sizeof(*pids));
	_cleanup_free_ struct timeline *tls = calloc(n + 1, sizeof(*tls));
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	ssize_t r;

	if (!f) {
		fprintf(stderr, "leakmond-report: cannot open log '%s' (%s)\n", path, strerror(errno));
		return -errno;
	}
	if (!pids || !tls) {
		fprintf(stderr, "leakmond-report: out of memory\n");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		pids[i] = (pid_t)jget_num(jidx(targets, i), "pid", 0);
	r = timeline_read_log(f, pids, n, tls, &bad);
	if (r < 0) {
		fprintf(stderr, "leakmond-report: cannot read log '%s' (%s)\n", path, strerror((int)-r));
		for (size_t i = 0; i < n; i++)
			timeline_done(&tls[i]);
		return (int)r;
	}
	if (bad)
		fprintf(stderr, "leakmond-report: log '%s': %zu line%s skipped (not a JSON record)\n",
			path, bad, bad == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		if (tls[i].n || tls[i].n_alerts)
			json_object_object_add(jidx(targets, i), "timeline", timeline_to_json(&tls[i]));
		else
			fprintf(stderr, "leakmond-report: log '%s' has no sample of pid %d; using the "
					"report's own time series\n",
				path, (int)pids[i]);
		timeline_done(&tls[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct export_paths p = { .folded_weight = FOLDED_BYTES, .file_flags = ATOMIC_USER_PATH };
	bool is_text = false, is_verbose = false, is_blocks = false;
	json_object *report, *version;
	char err[4200];
	int c;

	while ((c = getopt_long(argc, argv, "vhV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_TEXT:
			is_text = true;
			break;
		case OPT_FOLDED:
			p.folded = optarg;
			break;
		case OPT_PPROF:
			p.pprof = optarg;
			break;
		case OPT_HTML:
			p.html = optarg;
			break;
		case OPT_FOLDED_WEIGHT:
			if (options_parse_folded_weight(optarg, &is_blocks) < 0) {
				fprintf(stderr, "leakmond-report: invalid folded weight '%s': expected "
						"'bytes' or 'blocks'\n",
					optarg);
				return EXIT_BAD;
			}
			p.folded_weight = is_blocks ? FOLDED_BLOCKS : FOLDED_BYTES;
			break;
		case 'v':
			is_verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("leakmond-report %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'leakmond-report --help' for more information.\n");
			return EXIT_BAD;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		fprintf(stderr, "leakmond-report: %s\nTry 'leakmond-report --help' for more information.\n",
			optind >= argc ? "no report given" : "too many arguments");
		return EXIT_BAD;
	}
	report = json_object_from_file(argv[optind]);
	if (!report || !json_object_is_type(report, json_type_object) ||
	    !jget_arr(report, "targets")) {
		fprintf(stderr, "leakmond-report: '%s' is not a leakmond report (%s)\n", argv[optind],
			report ? "no \"targets\"" : json_util_get_last_err());
		json_object_put(report);
		return EXIT_BAD;
	}
	version = jget(report, "version");
	if (!version || json_object_get_int(version) != REPORT_VERSION)
		fprintf(stderr, "leakmond-report: '%s' has report version %d, this is version %d: "
				"rendering what is understood\n",
			argv[optind], version ? json_object_get_int(version) : 0, REPORT_VERSION);
	if (optind + 1 < argc && timelines_from_log(report, argv[optind + 1]) < 0) {
		json_object_put(report);
		return EXIT_BAD;
	}
	if (exports_any(&p) && exports_write(report, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "leakmond-report: cannot write '%s'\n", err);
		json_object_put(report);
		return EXIT_WRITE;
	}
	if (is_text || !exports_any(&p))
		report_print_text_full(stdout, report, is_verbose);
	json_object_put(report);
	return fflush(stdout) == 0 ? 0 : EXIT_WRITE;
}
