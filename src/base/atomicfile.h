/* atomicfile.h - replace a file atomically: a temporary file in the destination's directory,
 * written, fsynced and renamed into place, so that a reader sees the old content or the new one,
 * never a part. Used for every file leakmond rewrites (reports, exports).
 */
#ifndef LEAKMOND_ATOMICFILE_H
#define LEAKMOND_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write len bytes of data to path atomically, with mode (e.g. 0644). Returns 0 or -errno; on
 * failure nothing is left behind (the temporary file is removed) and path is untouched. */
int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode);

#endif
