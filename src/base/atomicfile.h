/* atomicfile.h - the files leakmond writes: reports and exports replaced atomically, logs opened
 * for appending, with the same rules for both.
 *
 * Replacing: a temporary file in the destination's directory (created exclusively, never through
 * a symlink), written, fsynced and renamed into place, so that a reader sees the old content or
 * the new one, never a part.
 *
 * Two kinds of path (flags):
 * - files leakmond names itself (daemon mode: under log_dir and report_dir; flags 0): the name
 *   is never followed if it is a symlink, a log must be a regular file (a FIFO or device of that
 *   name is refused, never waited on), and a report is always replaced by a regular file. The
 *   directories are checked by base/safedir.h first.
 * - paths the user gave (ATOMIC_USER_PATH: --report, --log, --folded, --pprof, --html): "-" is
 *   stdout, symlinks are followed, and an existing file that is not a regular one (a device, a
 *   FIFO) is written in place, never replaced. A FIFO without a reader is an error (-ENXIO),
 *   not a wait.
 */
#ifndef LEAKMOND_ATOMICFILE_H
#define LEAKMOND_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#define ATOMIC_USER_PATH (1U << 0) /* a path the user gave: see above */
#define ATOMIC_NO_SYNC                                                                             \
	(1U << 1) /* no fsync before the rename (a file rewritten every few                        \
		   * seconds, whose loss in a crash does not matter) */

#define ATOMIC_MODE_DEFAULT 0 /* mode of a new file: 0666 less the umask */

/* Write len bytes of data to path, replacing it atomically (or, for a user path, to stdout or
 * into a special file as above). mode: the new file's permissions, or ATOMIC_MODE_DEFAULT; an
 * explicit mode is set as it is (e.g. 0644 for a file another user's program must read), the
 * default honours the umask. Returns 0 or -errno (-EISDIR: path is a directory); on failure
 * nothing is left behind (the temporary file is removed) and a replaced path is untouched. */
int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode, unsigned flags);

/* Whether a file could be written at path later, checked before a long run rather than after it:
 * "-" (user path) is fine; an existing directory is -EISDIR; an existing regular file or a path
 * that does not exist needs a directory we may create files in (-ENOENT, -EACCES, -EROFS...); an
 * existing special file (user path) must be writable by us. Returns 0 or -errno. */
int atomic_check_path(const char *path, unsigned flags);

/* Open path for appending, created with mode (ATOMIC_MODE_DEFAULT or explicit, as above) when
 * it does not exist; "-" (user path) gives a duplicate of stdout. Flags 0 (a name leakmond
 * chose): opened with O_NOFOLLOW, and only a regular file with one link is accepted (-ELOOP for
 * a symlink, -EBADFD for anything else: a FIFO is never waited on, a device never kept). User
 * path: symlinks followed, a special file opened in place (a FIFO without a reader: -ENXIO).
 * Returns a descriptor (O_CLOEXEC, blocking) or -errno. */
int atomic_open_append(const char *path, mode_t mode, unsigned flags);

#endif
