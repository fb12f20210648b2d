/* check_safedir.c - the StrictModes-like check of log_dir and report_dir (issue 12 defect 3). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "base/safedir.h"

static struct stat dir_st(uid_t uid, mode_t mode)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_uid = uid;
	st.st_mode = S_IFDIR | mode;
	return st;
}

START_TEST(test_judge)
{
	struct stat st;

	/* the directory itself */
	st = dir_st(0, 0755);
	ck_assert_ptr_null(safedir_judge(&st, 1, 0));
	st = dir_st(0, 0700);
	ck_assert_ptr_null(safedir_judge(&st, 1, 0));
	st = dir_st(1000, 0755);
	ck_assert_str_eq(safedir_judge(&st, 1, 0), "is not owned by root");
	ck_assert_ptr_null(safedir_judge(&st, 1, 1000)); /* ours, when we run as 1000 */
	st = dir_st(0, 0775);
	ck_assert_str_eq(safedir_judge(&st, 1, 0), "is writable by its group");
	st = dir_st(0, 0757);
	ck_assert_str_eq(safedir_judge(&st, 1, 0), "is writable by others");
	st = dir_st(0, 01777);
	ck_assert_str_eq(safedir_judge(&st, 1, 0), "is writable by others");
	/* a directory above it */
	st = dir_st(0, 0775); /* /var/log as root:syslog */
	ck_assert_ptr_null(safedir_judge(&st, 0, 0));
	st = dir_st(0, 01777); /* /tmp */
	ck_assert_ptr_null(safedir_judge(&st, 0, 0));
	st = dir_st(0, 0777);
	ck_assert_str_eq(safedir_judge(&st, 0, 0), "is writable by others and not sticky");
	st = dir_st(65534, 0755);
	ck_assert_str_eq(safedir_judge(&st, 0, 0), "is not owned by root");
	/* not a directory */
	st = dir_st(0, 0755);
	st.st_mode = S_IFREG | 0644;
	ck_assert_str_eq(safedir_judge(&st, 1, 0), "is not a directory");
}
END_TEST

START_TEST(test_check_tree)
{
	char base[] = "/tmp/leakmond-check-safedir.XXXXXX", path[256], err[512], cmd[300];
	uid_t me = geteuid();

	ck_assert_ptr_nonnull(mkdtemp(base)); /* 0700, ours, under sticky /tmp */
	ck_assert_int_eq(safedir_check(base, me, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/logs", base);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(safedir_check(path, me, err, sizeof(err)), 0);
	/* the directory writable by others */
	ck_assert_int_eq(chmod(path, 0777), 0);
	ck_assert_int_eq(safedir_check(path, me, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "is writable by others"));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_int_eq(chmod(path, 0755), 0);
	/* a parent writable by others, not sticky */
	ck_assert_int_eq(chmod(base, 0777), 0);
	ck_assert_int_eq(safedir_check(path, me, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "not sticky"));
	ck_assert_int_eq(chmod(base, 01777), 0);
	ck_assert_int_eq(safedir_check(path, me, err, sizeof(err)), 0);
	ck_assert_int_eq(chmod(base, 0700), 0);
	/* a symlink to it, owned by us: followed and checked */
	snprintf(cmd, sizeof(cmd), "%s/link", base);
	ck_assert_int_eq(symlink(path, cmd), 0);
	ck_assert_int_eq(safedir_check(cmd, me, err, sizeof(err)), 0);
	/* missing, relative, not a directory */
	snprintf(path, sizeof(path), "%s/missing", base);
	ck_assert_int_eq(safedir_check(path, me, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(safedir_check("var/log", me, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(safedir_check("/dev/null", me, err, sizeof(err)), -ENOTDIR);
	/* not owned by root or us: only testable as root, with a directory given away */
	if (me == 0) {
		snprintf(path, sizeof(path), "%s/logs", base);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(safedir_check(path, 0, err, sizeof(err)), -EPERM);
		ck_assert_ptr_nonnull(strstr(err, "is not owned by root"));
		/* a symlink owned by another user on the way: refused */
		ck_assert_int_eq(chown(path, 0, 0), 0);
		ck_assert_int_eq(lchown(cmd, 65534, 65534), 0);
		ck_assert_int_eq(safedir_check(cmd, 0, err, sizeof(err)), -EPERM);
		ck_assert_ptr_nonnull(strstr(err, "symlink owned by uid 65534"));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *safedir_suite(void)
{
	Suite *s = suite_create("safedir");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_judge);
	tcase_add_test(tc, test_check_tree);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(safedir_suite)
