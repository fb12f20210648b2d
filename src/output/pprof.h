/* pprof.h - the report's profile as pprof's profile.proto, gzip'd: what `go tool pprof`,
 * Pyroscope, Parca and speedscope read (wire schema in src/output/pprof.proto, packed with
 * protobuf-c, compressed with zlib).
 *
 * Sample types inuse_objects/count and inuse_space/bytes (the default); one Sample per live call
 * site of each traced target's "profile" with the label "allocator" (and "pid", "comm" when the
 * report holds several targets); one Location per distinct pc with its inline chain as Lines
 * (innermost first); Functions by name and file; one Mapping per module (file name and build-id;
 * its address range the span of the pcs seen, since the report keeps no load addresses), marked
 * symbolized so readers never look for the binaries. Allocation totals per site (alloc_*) are not
 * kept by leakmond, so they are not written. Pure: the result is a buffer.
 */
#ifndef LEAKMOND_PPROF_H
#define LEAKMOND_PPROF_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Build the gzip'd profile of report (a parsed JSON report). On success returns 0 and a new
 * buffer in *ret_data (free() it) of *ret_len bytes; -ENOMEM, or -EIO if compression failed. A
 * report without any profile gives a valid profile without samples. */
int pprof_build(json_object *report, uint8_t **ret_data, size_t *ret_len);

#endif
