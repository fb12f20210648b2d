/* atomicfile.c - reports and exports replaced atomically, logs opened for appending. See
 * atomicfile.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/util.h"

static bool is_stdout(const char *path, unsigned flags)
{
	return (flags & ATOMIC_USER_PATH) && strcmp(path, "-") == 0;
}

static mode_t effective_mode(mode_t mode)
{
	mode_t um;

	if (mode != ATOMIC_MODE_DEFAULT)
		return mode;
	um = umask(0);
	(void) umask(um);
	return 0666 & ~um;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t) w;
	}
	return 0;
}

/* Open an existing special file (a device, a FIFO) for writing in place: never blocking in open
 * (a FIFO without a reader is -ENXIO), blocking afterwards. */
static int open_special(const char *path, int extra)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | extra);
	int fl;

	if (fd < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int r = -errno;

		(void) close(fd);
		return r;
	}
	return fd;
}

/* A user path with its symlinks resolved when it names an existing file (a new one keeps its
 * name), malloc'd; NULL if out of memory. */
static char *resolve_user_path(const char *path)
{
	char *real = realpath(path, NULL);

	return real ? real : strdup(path);
}

static int replace_file(const char *path, const void *data, size_t len, mode_t mode, bool is_synced)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	/* O_EXCL, 0600 at first: never an existing file, never through a symlink */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, effective_mode(mode)) < 0)
		r = -errno;
	if (r == 0 && is_synced && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void) unlink(tmp);
	return r;
}

int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode, unsigned flags)
{
	_cleanup_free_ char *real = NULL;
	struct stat st;
	int fd, r;

	if (is_stdout(path, flags)) {
		r = write_all(STDOUT_FILENO, data, len);
		return r;
	}
	if (flags & ATOMIC_USER_PATH) {
		real = resolve_user_path(path);
		if (!real)
			return -ENOMEM;
		path = real;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			if (S_ISDIR(st.st_mode))
				return -EISDIR;
			fd = open_special(path, 0);
			if (fd < 0)
				return fd;
			r = write_all(fd, data, len);
			if (close(fd) < 0 && r == 0)
				r = -errno;
			return r;
		}
	} else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		return -EISDIR;
	}
	return replace_file(path, data, len, mode, !(flags & ATOMIC_NO_SYNC));
}

/* The directory of path (malloc'd), or NULL if out of memory. */
static char *dir_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);

	return copy ? strdup(dirname(copy)) : NULL;
}

int atomic_check_path(const char *path, unsigned flags)
{
	_cleanup_free_ char *real = NULL, *dir = NULL;
	struct stat st;

	if (is_stdout(path, flags))
		return 0;
	if (!*path)
		return -ENOENT;
	real = (flags & ATOMIC_USER_PATH) ? resolve_user_path(path) : strdup(path);
	if (!real)
		return -ENOMEM;
	if (((flags & ATOMIC_USER_PATH) ? stat(real, &st) : lstat(real, &st)) == 0) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if ((flags & ATOMIC_USER_PATH) && !S_ISREG(st.st_mode))
			return faccessat(AT_FDCWD, real, W_OK, AT_EACCESS) < 0 ? -errno : 0;
	} else if (errno != ENOENT) {
		return -errno;
	}
	dir = dir_of(real);
	if (!dir)
		return -ENOMEM;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0 ? -errno : 0;
}

int atomic_open_append(const char *path, mode_t mode, unsigned flags)
{
	const int common = O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int fl;

	if (is_stdout(path, flags)) {
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : steal_fd(&fd);
	}
	if (flags & ATOMIC_USER_PATH) {
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			if (S_ISDIR(st.st_mode))
				return -EISDIR;
			return open_special(path, O_APPEND);
		}
		fd = open(path, common | O_CREAT | O_NONBLOCK, effective_mode(mode));
		if (fd < 0)
			return -errno;
	} else {
		/* never through a symlink; O_NONBLOCK: a FIFO planted here cannot hold us */
		fd = open(path, common | O_CREAT | O_NONBLOCK | O_NOFOLLOW, effective_mode(mode));
		if (fd < 0)
			return errno == ENXIO ? -EBADFD : -errno;
		if (fstat(fd, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
			return -EBADFD;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return steal_fd(&fd);
}
