/* check_atomicfile.c - files replaced atomically and logs opened for appending, with the rules
 * for names leakmond chose and paths the user gave (issue 12 defects 3, 4, 5). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "base/atomicfile.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/leakmond-check-atomic.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *at(const char *name)
{
	static char path[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* entries in dir (the temporary files must be gone) */
static int entries(void)
{
	char cmd[160], buf[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), p));
	pclose(p);
	return atoi(buf);
}

START_TEST(test_replace_modes)
{
	struct stat st;
	char buf[64];
	mode_t old = umask(022);

	ck_assert_int_eq(atomic_write_file(at("r.json"), "one\n", 4, ATOMIC_MODE_DEFAULT, 0), 0);
	ck_assert_int_eq(stat(at("r.json"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	umask(077);
	ck_assert_int_eq(atomic_write_file(at("r.json"), "two\n", 4, ATOMIC_MODE_DEFAULT, 0), 0);
	ck_assert_int_eq(stat(at("r.json"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* an explicit mode is set as it is (the metrics file, read by node_exporter) */
	ck_assert_int_eq(atomic_write_file(at("m.prom"), "m 1\n", 4, 0644, ATOMIC_NO_SYNC), 0);
	ck_assert_int_eq(stat(at("m.prom"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	umask(old);
	slurp(at("r.json"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "two\n");
	ck_assert_int_eq(entries(), 2);
}
END_TEST

START_TEST(test_own_name_symlink)
{
	struct stat st;
	char buf[64];

	/* a name leakmond chose: a symlink there is replaced, its target never written */
	ck_assert_int_eq(atomic_write_file(at("secret"), "secret\n", 7, 0600, 0), 0);
	ck_assert_int_eq(symlink(at("secret"), at("r.json")), 0);
	ck_assert_int_eq(atomic_write_file(at("r.json"), "report\n", 7, 0600, 0), 0);
	ck_assert_int_eq(lstat(at("r.json"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	slurp(at("secret"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "secret\n");
	/* a directory of that name: refused */
	ck_assert_int_eq(mkdir(at("d.json"), 0700), 0);
	ck_assert_int_eq(atomic_write_file(at("d.json"), "x", 1, 0600, 0), -EISDIR);
}
END_TEST

START_TEST(test_user_path_special)
{
	struct stat st;
	char buf[64];
	int r;

	/* a FIFO the user named: written in place, never replaced; without a reader an error */
	ck_assert_int_eq(mkfifo(at("fifo"), 0600), 0);
	ck_assert_int_eq(atomic_write_file(at("fifo"), "x", 1, 0, ATOMIC_USER_PATH), -ENXIO);
	ck_assert_int_eq(lstat(at("fifo"), &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(atomic_check_path(at("fifo"), ATOMIC_USER_PATH), 0);
	/* a symlink the user named: followed */
	ck_assert_int_eq(atomic_write_file(at("target"), "old\n", 4, 0, ATOMIC_USER_PATH), 0);
	ck_assert_int_eq(symlink(at("target"), at("link")), 0);
	ck_assert_int_eq(atomic_write_file(at("link"), "new\n", 4, 0, ATOMIC_USER_PATH), 0);
	ck_assert_int_eq(lstat(at("link"), &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	slurp(at("target"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "new\n");
	/* /dev/null: written in place (when the test may open it) */
	r = atomic_write_file("/dev/null", "x", 1, 0, ATOMIC_USER_PATH);
	ck_assert(r == 0 || r == -EACCES);
	ck_assert_int_eq(stat("/dev/null", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	/* a directory: -EISDIR, and found by the check at start */
	ck_assert_int_eq(atomic_write_file(dir, "x", 1, 0, ATOMIC_USER_PATH), -EISDIR);
	ck_assert_int_eq(atomic_check_path(dir, ATOMIC_USER_PATH), -EISDIR);
}
END_TEST

START_TEST(test_check_path)
{
	ck_assert_int_eq(atomic_check_path("-", ATOMIC_USER_PATH), 0);
	ck_assert_int_eq(atomic_check_path(at("new.json"), ATOMIC_USER_PATH), 0);
	ck_assert_int_eq(atomic_check_path("/nonexistent-dir/r.json", ATOMIC_USER_PATH), -ENOENT);
	ck_assert_int_eq(atomic_write_file(at("file"), "x", 1, 0, 0), 0);
	ck_assert_int_eq(atomic_check_path(at("file/r.json"), ATOMIC_USER_PATH), -ENOTDIR);
	ck_assert_int_eq(atomic_check_path("", ATOMIC_USER_PATH), -ENOENT);
	ck_assert_int_eq(entries(), 1); /* nothing created by a check */
}
END_TEST

START_TEST(test_open_append)
{
	struct stat st;
	char buf[64];
	int fd;

	/* a name leakmond chose: a new file with mode, appended to */
	fd = atomic_open_append(at("a.jsonl"), 0600, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "1\n", 2), 2);
	close(fd);
	fd = atomic_open_append(at("a.jsonl"), 0600, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "2\n", 2), 2);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	slurp(at("a.jsonl"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "1\n2\n");
	/* a planted symlink: refused, its target untouched */
	ck_assert_int_eq(symlink(at("a.jsonl"), at("b.jsonl")), 0);
	ck_assert_int_eq(atomic_open_append(at("b.jsonl"), 0600, 0), -ELOOP);
	/* a planted FIFO (no reader): refused at once, not waited on */
	ck_assert_int_eq(mkfifo(at("c.jsonl"), 0600), 0);
	ck_assert_int_eq(atomic_open_append(at("c.jsonl"), 0600, 0), -EBADFD);
	/* a hard link: refused */
	ck_assert_int_eq(link(at("a.jsonl"), at("d.jsonl")), 0);
	ck_assert_int_eq(atomic_open_append(at("d.jsonl"), 0600, 0), -EBADFD);
	slurp(at("a.jsonl"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "1\n2\n");
	/* a user path: the symlink is followed, the FIFO without a reader is an error */
	fd = atomic_open_append(at("b.jsonl"), 0, ATOMIC_USER_PATH);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(atomic_open_append(at("c.jsonl"), 0, ATOMIC_USER_PATH), -ENXIO);
	fd = atomic_open_append("-", 0, ATOMIC_USER_PATH);
	ck_assert_int_ge(fd, 3);
	close(fd);
}
END_TEST

static Suite *atomicfile_suite(void)
{
	Suite *s = suite_create("atomicfile");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replace_modes);
	tcase_add_test(tc, test_own_name_symlink);
	tcase_add_test(tc, test_user_path_special);
	tcase_add_test(tc, test_check_path);
	tcase_add_test(tc, test_open_append);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(atomicfile_suite)
