/* safedir.h - whether a directory is safe for root to create files in: the check of sshd's
 * StrictModes, for the directories leakmond names its own files in (daemon mode: log_dir and
 * report_dir).
 *
 * A directory is safe when nobody but root (or the user leakmond runs as) can add, remove or
 * replace the names in it or in any directory above it: then no symlink, FIFO or hard link can
 * be planted where leakmond writes. The rules:
 * - the directory itself: owned by root or by euid, and writable by neither group nor others;
 * - each directory above it: owned by root or by euid, and not writable by others unless it has
 *   the sticky bit (like /tmp: others may create names there, but not remove or rename ours);
 *   writable by its group is allowed (Debian's /var/log is root:syslog 0775 on some systems, and
 *   a group's members are trusted there);
 * - a symlink on the way must be owned by root or euid; the check then goes on along its target.
 * Pure apart from lstat/stat/realpath: nothing is created, nothing logged.
 */
#ifndef LEAKMOND_SAFEDIR_H
#define LEAKMOND_SAFEDIR_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Which rule st breaks for a directory (is_leaf: the directory itself, else one above it) when
 * leakmond runs as euid: NULL when none, else a static phrase for a message ("is not owned by
 * root", "is writable by others", ...). Pure. */
const char *safedir_judge(const struct stat *st, int is_leaf, uid_t euid);

/* Check the absolute directory path and every directory above it. Returns 0, or -errno with a
 * one-line reason naming the offending directory in err: -EPERM for a rule broken,
 * -ENOTDIR, -ENOENT or another -errno of lstat/stat/realpath, -EINVAL for a relative path. */
int safedir_check(const char *path, uid_t euid, char *err, size_t errlen);

#endif
