/* html.h - the report as one self-contained HTML page: no network, no external script, style or
 * font. Per target: how the watch ended and what it found, its figures, RSS and live heap over
 * time as an inline SVG chart with the alerts marked, and each leak and large site with its
 * stack and a small chart of its growth.
 *
 * Made from a parsed JSON report: the targets' "timeline" (samples and alerts), the sites'
 * "history". An element with id "leakmond-selfcheck" carries the number of charts and sites
 * drawn (data-charts, data-sites); a small inline script checks, once the page is laid out, that
 * every chart has a size and every line a length, and sets its data-status to "ok" or "failed"
 * ("static" where scripts do not run). Pure: writes to a stream the caller owns.
 */
#ifndef LEAKMOND_HTML_H
#define LEAKMOND_HTML_H

#include <json-c/json.h>
#include <stdio.h>

/* Write the page of report to f. Returns 0, or -EIO when writing to f failed. */
int html_write(FILE *f, json_object *report);

#endif
