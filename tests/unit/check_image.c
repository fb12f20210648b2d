/* check_image.c - the image module opens only regular files, inside the given root, that are the
 * mapped file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check_main.h"
#include "base/procfs.h"
#include "image/debuginfod.h"
#include "image/image.h"

static char root[] = "/tmp/check_image.XXXXXX";
static int root_fd = -1;

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void at(const char *rel, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", root, rel);
}

static void setup(void)
{
	char path[512];

	strcpy(root, "/tmp/check_image.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	write_file("lib.so", "inside");
	at("fifo", path, sizeof(path));
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	at("dir", path, sizeof(path));
	ck_assert_int_eq(mkdir(path, 0700), 0);
	at("abs", path, sizeof(path));
	ck_assert_int_eq(symlink("/lib.so", path), 0); /* absolute: must stay in root */
	at("up", path, sizeof(path));
	ck_assert_int_eq(symlink("../../../../../../etc/hostname", path), 0);
	at("null", path, sizeof(path));
	ck_assert_int_eq(symlink("/proc/self/root/dev/null", path), 0);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(root_fd, 0);
}

static void teardown(void)
{
	const char *names[] = {"lib.so", "fifo", "abs", "up", "null", "other"};
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		at(names[i], path, sizeof(path));
		(void)unlink(path);
	}
	at("dir", path, sizeof(path));
	(void)rmdir(path);
	(void)rmdir(root);
	if (root_fd >= 0)
		(void)close(root_fd);
	root_fd = -1;
}

static int open_rel(const char *path)
{
	return image_open_in_root(root_fd, path, strlen(path), NULL);
}

static void assert_reads(int fd, const char *want)
{
	char buf[64] = {0};

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf) - 1, 0), (ssize_t)strlen(want));
	ck_assert_str_eq(buf, want);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
}

START_TEST(test_regular)
{
	struct stat st;
	int fd = image_open_in_root(root_fd, "/lib.so", 7, &st);

	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 6);
	assert_reads(fd, "inside");
	/* the length decides, not a terminator */
	assert_reads(image_open_in_root(root_fd, "/lib.so-and-more", 7, NULL), "inside");
}
END_TEST

START_TEST(test_links_stay_in_root)
{
	/* an absolute link resolves inside the root, not in ours */
	assert_reads(open_rel("/abs"), "inside");
	/* ".." stops at the root: /etc/hostname of ours is not reached */
	ck_assert_int_eq(open_rel("/up"), -ENOENT);
	ck_assert_int_eq(open_rel("/../../../etc/hostname"), -ENOENT);
	/* magic links are refused */
	ck_assert_int_lt(open_rel("/null"), 0);
}
END_TEST

START_TEST(test_not_regular)
{
	int own = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	/* a FIFO is refused without waiting for a writer (Check's timeout fails a hang) */
	ck_assert_int_eq(open_rel("/fifo"), -EBADFD);
	ck_assert_int_eq(open_rel("/dir"), -EBADFD);
	ck_assert_int_eq(image_open_in_root(own, "/dev/null", 9, NULL), -EBADFD);
	ck_assert_int_eq(image_open_in_root(own, "/dev/tty", 8, NULL) < 0, 1);
	close(own);
}
END_TEST

START_TEST(test_bad_paths)
{
	char longpath[IMAGE_PATH_MAX + 16];

	ck_assert_int_eq(open_rel("lib.so"), -EINVAL); /* relative */
	ck_assert_int_eq(image_open_in_root(root_fd, "", 0, NULL), -EINVAL);
	ck_assert_int_eq(image_open_in_root(root_fd, "/lib\0.so", 8, NULL), -EINVAL);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	ck_assert_int_eq(image_open_in_root(root_fd, longpath, sizeof(longpath), NULL),
			 -ENAMETOOLONG);
	ck_assert_int_eq(open_rel("/missing"), -ENOENT);
}
END_TEST

/* Our own mapping of lib.so, as /proc/self/maps shows it, into *ref. */
static void find_own_mapping(const char *path, struct image_ref *ref, char **ret_maps)
{
	int dfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *cursor;
	struct proc_map m;
	bool is_found = false;

	ck_assert_int_ge(procfs_read_at(dfd, "maps", ret_maps), 0);
	close(dfd);
	cursor = *ret_maps;
	while (procfs_maps_next(&cursor, &m) > 0) {
		if (m.path && m.path_len >= strlen(path) && memcmp(m.path, path, strlen(path)) == 0) {
			*ref = (struct image_ref){.pid = getpid(), .path = m.path,
						  .path_len = strlen(path), .start = m.start,
						  .end = m.end, .inode = m.inode,
						  .dev = makedev(m.dev_major, m.dev_minor),
						  .is_deleted = m.path_len > strlen(path)};
			is_found = true;
			break;
		}
	}
	ck_assert(is_found);
}

START_TEST(test_mapped)
{
	char path[512], other[512];
	char *maps = NULL;
	struct image_ref ref;
	struct stat st, got;
	bool is_mapping = true;
	int fd = -1, mfd;
	void *p;

	at("lib.so", path, sizeof(path));
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(fstat(mfd, &st), 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, mfd, 0);
	ck_assert(p != MAP_FAILED);
	close(mfd);

	/* the path gives the mapped file */
	find_own_mapping(path, &ref, &maps);
	fd = image_open_mapped(&ref, &is_mapping);
	ck_assert_int_ge(fd, 0);
	ck_assert(!is_mapping);
	ck_assert_int_eq(fstat(fd, &got), 0);
	ck_assert_int_eq(got.st_ino, st.st_ino);
	close(fd);
	free(maps);

	/* another file put in its place: never that one; the mapping itself when we may */
	at("other", other, sizeof(other));
	write_file("other", "replaced");
	ck_assert_int_eq(rename(other, path), 0);
	find_own_mapping(path, &ref, &maps);
	fd = image_open_mapped(&ref, &is_mapping);
	if (fd >= 0) {
		ck_assert(is_mapping);
		ck_assert_int_eq(fstat(fd, &got), 0);
		ck_assert_int_eq(got.st_ino, st.st_ino);
		assert_reads(fd, "inside");
	} else {
		ck_assert_int_eq(geteuid() == 0, 0); /* root may always open map_files */
	}
	free(maps);

	/* a FIFO in its place: refused, no wait */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	find_own_mapping(path, &ref, &maps);
	ref.is_deleted = false; /* as if the maps still named the path */
	ref.path_len = strlen(path);
	fd = image_open_mapped(&ref, &is_mapping);
	if (fd >= 0) {
		ck_assert(is_mapping);
		assert_reads(fd, "inside");
	}
	free(maps);
	munmap(p, 4096);
}
END_TEST

START_TEST(test_debug_dirs)
{
	struct image_debug d;

	ck_assert_int_eq(setenv("LEAKMOND_DEBUGINFO_PATH", "rel:/abs1::/abs2:.debug", 1), 0);
	ck_assert_int_eq(image_debug_init(&d, 0), 0);
	ck_assert_str_eq(d.dirs[0], "/abs1");
	ck_assert_str_eq(d.dirs[1], "/abs2");
	ck_assert_str_eq(d.dirs[2], "/usr/lib/debug");
	ck_assert_ptr_null(d.dirs[3]);
	ck_assert(d.is_own_root);
	ck_assert_int_eq(d.root_fd, -1);
	image_debug_done(&d);
	ck_assert_int_eq(unsetenv("LEAKMOND_DEBUGINFO_PATH"), 0);

	ck_assert_int_eq(image_debug_init(&d, getpid()), 0);
	ck_assert(d.is_own_root);
	ck_assert_int_ge(d.root_fd, 0);
	ck_assert_str_eq(d.dirs[0], "/usr/lib/debug");
	image_debug_done(&d);
}
END_TEST

/* debuginfod's limits: the user's own when smaller, never unbounded */
START_TEST(test_debuginfod_bound)
{
	ck_assert_uint_eq(debuginfod_bound(NULL, 5), 5);
	ck_assert_uint_eq(debuginfod_bound("", 5), 5);
	ck_assert_uint_eq(debuginfod_bound("90", 5), 5);
	ck_assert_uint_eq(debuginfod_bound("0", 30), 30); /* 0: no limit to libdebuginfod */
	ck_assert_uint_eq(debuginfod_bound("2", 5), 2);
	ck_assert_uint_eq(debuginfod_bound("5", 5), 5);
	ck_assert_uint_eq(debuginfod_bound("-1", 5), 5);
	ck_assert_uint_eq(debuginfod_bound("3s", 5), 5);
	ck_assert_uint_eq(debuginfod_bound("99999999999999999999", 30), 30);
}
END_TEST

/* off: DEBUGINFOD_URLS gone; on: back, with bounded limits; off again: gone */
START_TEST(test_debuginfod_setup)
{
	setenv("DEBUGINFOD_URLS", "http://127.0.0.1:9", 1);
	setenv("DEBUGINFOD_TIMEOUT", "90", 1);
	setenv("DEBUGINFOD_MAXTIME", "2", 1);
	unsetenv("DEBUGINFOD_RETRY_LIMIT");
	ck_assert_int_eq(debuginfod_setup(false), 0);
	ck_assert_ptr_null(getenv("DEBUGINFOD_URLS"));
	ck_assert(!debuginfod_is_active());
	ck_assert_int_eq(debuginfod_find_debuginfo((const unsigned char *)"\x01\x02", 2), -ENOSYS);
	ck_assert_int_eq(debuginfod_setup(true), 0);
	ck_assert_str_eq(getenv("DEBUGINFOD_URLS"), "http://127.0.0.1:9");
	ck_assert_str_eq(getenv("DEBUGINFOD_TIMEOUT"), "5");
	ck_assert_str_eq(getenv("DEBUGINFOD_MAXTIME"), "2");
	ck_assert_str_eq(getenv("DEBUGINFOD_RETRY_LIMIT"), "0");
	ck_assert(debuginfod_is_active());
	ck_assert_int_eq(debuginfod_setup(false), 0);
	ck_assert_ptr_null(getenv("DEBUGINFOD_URLS"));
}
END_TEST

static Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_regular);
	tcase_add_test(tc, test_links_stay_in_root);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_bad_paths);
	tcase_add_test(tc, test_mapped);
	tcase_add_test(tc, test_debug_dirs);
	tcase_add_test(tc, test_debuginfod_bound);
	tcase_add_test(tc, test_debuginfod_setup);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(image_suite)
