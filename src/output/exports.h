/* exports.h - the report's exports written to files: folded stacks (output/folded.h), a gzip'd
 * pprof profile (output/pprof.h) and an HTML page (output/html.h).
 *
 * Every export is rendered from the report as its JSON file holds it: leakmond serializes the
 * report it has built and parses that text back (exports_reparse), leakmond-report reads the
 * file. The same report thus gives the same files in both, byte for byte. Each file is written
 * as base/atomicfile.h says, with the mode and flags of struct export_paths.
 */
#ifndef LEAKMOND_EXPORTS_H
#define LEAKMOND_EXPORTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/options.h"
#include "output/folded.h"

/* Which exports to write, and where (NULL: not that one). */
struct export_paths {
	const char *folded;
	const char *pprof;
	const char *html;
	enum folded_weight folded_weight;
	mode_t mode;	     /* of new files: ATOMIC_MODE_DEFAULT (0: the umask's) or explicit */
	unsigned file_flags; /* ATOMIC_USER_PATH for paths the user gave ("-": stdout) */
};

/* The files of the exports in mask (OPTIONS_EXPORT_*) beside a report at report_path ("DIR/STEM.json" gives
 * "DIR/STEM.folded", ".pb.gz", ".html") into the three buffers (each of len bytes), and p pointing
 * at them. */
void exports_paths_beside(const char *report_path, unsigned mask, enum folded_weight weight,
			  struct export_paths *p, char *folded, char *pprof, char *html, size_t len);

/* The report as its file holds it: serialized as report_write_atomic() does and parsed back.
 * Returns a new object, or NULL on out-of-memory. */
json_object *exports_reparse(json_object *report);

/* Render each export p names from report (as exports_reparse() or a file gives it) and write it.
 * Returns 0, or the first failure's -errno with "PATH: reason" in err (the others are still
 * written). */
int exports_write(json_object *report, const struct export_paths *p, char *err, size_t errlen);

/* Whether p names any export. */
bool exports_any(const struct export_paths *p);

#endif
