/* safedir.c - StrictModes-like check of a directory and its parents. See safedir.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/safedir.h"
#include "base/util.h"

const char *safedir_judge(const struct stat *st, int is_leaf, uid_t euid)
{
	if (!S_ISDIR(st->st_mode))
		return "is not a directory";
	if (st->st_uid != 0 && st->st_uid != euid)
		return euid == 0 ? "is not owned by root" : "is owned by neither root nor us";
	if ((st->st_mode & S_IWOTH) && (is_leaf || !(st->st_mode & S_ISVTX)))
		return is_leaf ? "is writable by others" : "is writable by others and not sticky";
	if (is_leaf && (st->st_mode & S_IWGRP))
		return "is writable by its group";
	return NULL;
}

/* Every symlink on the way to path must be owned by root or euid (a planted one could lead the
 * resolved path anywhere). */
static int check_links(const char *path, uid_t euid, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int) sizeof(buf)) {
		snprintf(err, errlen, "'%.200s...' is too long", path);
		return -ENAMETOOLONG;
	}
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (lstat(buf, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != 0 &&
		    st.st_uid != euid) {
			snprintf(err, errlen, "'%s' is a symlink owned by uid %u", buf,
				 (unsigned) st.st_uid);
			return -EPERM;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int safedir_check(const char *path, uid_t euid, char *err, size_t errlen)
{
	_cleanup_free_ char *real = NULL;
	struct stat st;
	const char *why;
	char *p;
	int r;

	if (path[0] != '/') {
		snprintf(err, errlen, "'%s' is not an absolute path", path);
		return -EINVAL;
	}
	r = check_links(path, euid, err, errlen);
	if (r < 0)
		return r;
	real = realpath(path, NULL);
	if (!real) {
		r = -errno;
		snprintf(err, errlen, "'%s': %s", path, strerror(-r));
		return r;
	}
	/* the directory itself, then each one above it up to "/" */
	for (int is_leaf = 1;; is_leaf = 0) {
		if (stat(real[0] ? real : "/", &st) < 0) {
			r = -errno;
			snprintf(err, errlen, "'%s': %s", real[0] ? real : "/", strerror(-r));
			return r;
		}
		why = safedir_judge(&st, is_leaf, euid);
		if (why) {
			snprintf(err, errlen, "'%s' %s (uid %u, mode %04o)", real[0] ? real : "/",
				 why, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
			return S_ISDIR(st.st_mode) ? -EPERM : -ENOTDIR;
		}
		if (!real[0])
			break;
		p = strrchr(real, '/');
		*p = '\0'; /* "/a/b" -> "/a" -> "" (the root) */
	}
	return 0;
}
