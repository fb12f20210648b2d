#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "base/procfs.h"

static char *load(const char *name)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open fixture %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

START_TEST(test_status)
{
	char *text = load("status-sleep.txt");
	struct proc_status st;

	ck_assert_int_eq(procfs_parse_status(text, &st), 0);
	ck_assert_str_eq(st.name, "sleep");
	ck_assert_int_eq(st.state, 'R');
	ck_assert_int_eq(st.tgid, 4660);
	ck_assert_int_eq(st.ppid, 4657);
	ck_assert_int_eq(st.tracer_pid, 0);
	ck_assert(st.has_mm);
	ck_assert_uint_eq(st.vm_rss, 1504 * 1024);
	ck_assert_uint_eq(st.rss_anon, 108 * 1024);
	ck_assert_uint_eq(st.rss_file, 1396 * 1024);
	ck_assert_uint_eq(st.vm_swap, 0);
	ck_assert_uint_eq(st.threads, 1);
	free(text);
}
END_TEST

/* utime + stime: fields 14 and 15, after a comm that may hold ") (" and blanks */
START_TEST(test_stat_cpu)
{
	char *text = load("stat-sleep.txt");
	uint64_t ticks = 99;

	ck_assert_int_eq(procfs_parse_stat_cpu(text, &ticks), 0);
	ck_assert_uint_eq(ticks, 0);
	free(text);
	ck_assert_int_eq(procfs_parse_stat_cpu("7 (a) b) (c) R 1 7 7 0 -1 4194560 10 0 0 0 123 45 0 0 "
					       "20 0 1 0 5 0 0\n",
					       &ticks),
			 0);
	ck_assert_uint_eq(ticks, 168);
	ck_assert_int_eq(procfs_parse_stat_cpu("7 (a) R 1 7 7 0 -1 4194560 10 0", &ticks), -EBADMSG);
	ck_assert_int_eq(procfs_parse_stat_cpu("garbage", &ticks), -EBADMSG);
	ck_assert_int_eq(procfs_parse_stat_cpu(NULL, &ticks), -EBADMSG);
}
END_TEST

START_TEST(test_status_kthread)
{
	char *text = load("status-kthread.txt");
	struct proc_status st;

	ck_assert_int_eq(procfs_parse_status(text, &st), 0);
	ck_assert_str_eq(st.name, "kthreadd");
	ck_assert(!st.has_mm);
	ck_assert_uint_eq(st.vm_rss, 0);
	free(text);
}
END_TEST

START_TEST(test_status_bad)
{
	static const char *const names[] = { "status-truncated.txt", "status-garbage.txt",
					     "status-cut-after-vmrss.txt" };
	struct proc_status st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *text = load(names[i]);

		ck_assert_msg(procfs_parse_status(text, &st) == -EBADMSG, "%s accepted", names[i]);
		free(text);
	}
	ck_assert_int_eq(procfs_parse_status("", &st), -EBADMSG);
	ck_assert_int_eq(procfs_parse_status(NULL, &st), -EBADMSG);
	ck_assert_int_eq(procfs_parse_status("Name:\tx\nState:\tS\nTgid:\t-4\nPPid:\t1\n"
					     "TracerPid:\t0\nThreads:\t1\n",
					     &st),
			 -EBADMSG);
	ck_assert_int_eq(procfs_parse_status("Name:\tx\nState:\tS\nTgid:\t4\nPPid:\t1\n"
					     "TracerPid:\t0\nThreads:\t1\nVmRSS:\t12 MB\n",
					     &st),
			 -EBADMSG);
}
END_TEST

START_TEST(test_stat)
{
	char *text = load("stat-sleep.txt");
	unsigned flags;
	char state;

	ck_assert_int_eq(procfs_parse_stat(text, &state, &flags), 0);
	ck_assert_int_eq(state, 'S');
	ck_assert_uint_eq(flags, 4194304);
	ck_assert_uint_eq(flags & PROCFS_PF_KTHREAD, 0);
	free(text);

	text = load("stat-kthread.txt");
	ck_assert_int_eq(procfs_parse_stat(text, &state, &flags), 0);
	ck_assert_uint_ne(flags & PROCFS_PF_KTHREAD, 0);
	free(text);

	/* a comm with ") " inside: the last ')' ends it */
	text = load("stat-evil-comm.txt");
	ck_assert_int_eq(procfs_parse_stat(text, &state, &flags), 0);
	ck_assert_int_eq(state, 'Z');
	ck_assert_uint_eq(flags, 4194560);
	free(text);

	ck_assert_int_eq(procfs_parse_stat("4242 (x) S 1", &state, &flags), -EBADMSG);
	ck_assert_int_eq(procfs_parse_stat("garbage", &state, &flags), -EBADMSG);
}
END_TEST

START_TEST(test_maps)
{
	char *text = load("maps-sleep.txt");
	const char *cursor = text;
	struct proc_map m;
	uint64_t heap;
	int n = 0, r;

	while ((r = procfs_maps_next(&cursor, &m)) > 0) {
		if (n == 0) {
			ck_assert_uint_eq(m.offset, 0);
			ck_assert_str_eq(m.perms, "r--p");
			ck_assert_ptr_nonnull(m.path);
			ck_assert_int_eq(strncmp(m.path, "/usr/bin/sleep", m.path_len), 0);
		}
		ck_assert_uint_le(m.start, m.end);
		n++;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(n, 37);
	ck_assert_int_eq(procfs_maps_heap(text, &heap), 0);
	ck_assert_uint_eq(heap, 0x560a85634000ULL - 0x560a85613000ULL);
	free(text);

	ck_assert_int_eq(procfs_maps_heap("", &heap), 0);
	ck_assert_uint_eq(heap, 0);
	ck_assert_int_eq(procfs_maps_heap("1000-3000 rw-p 00000000 00:00 0 [heap]\n"
					  "5000-6000 rw-p 00000000 00:00 0   [heap]\n",
					  &heap),
			 0);
	ck_assert_uint_eq(heap, 0x3000);
}
END_TEST

/* procfs_maps_next_valid: lines it does not understand are skipped, the rest still come */
START_TEST(test_maps_valid)
{
	const char *text = "1000-2000 r-xp 00000000 08:01 12 /bin/a\n"
			   "garbage line\n"
			   "3000-4000 rw-p 00001000 08:01 12 /bin/a\n"
			   "zzzz";
	const char *cursor = text;
	struct proc_map m;

	ck_assert_int_eq(procfs_maps_next_valid(&cursor, &m), 1);
	ck_assert_uint_eq(m.start, 0x1000);
	ck_assert_int_eq(procfs_maps_next_valid(&cursor, &m), 1);
	ck_assert_uint_eq(m.start, 0x3000);
	ck_assert_uint_eq(m.offset, 0x1000);
	ck_assert_int_eq(procfs_maps_next_valid(&cursor, &m), 0);
	cursor = "";
	ck_assert_int_eq(procfs_maps_next_valid(&cursor, &m), 0);
	cursor = "bad\nworse";
	ck_assert_int_eq(procfs_maps_next_valid(&cursor, &m), 0);
}
END_TEST

START_TEST(test_maps_bad)
{
	char *text = load("maps-garbage.txt");
	uint64_t heap;

	ck_assert_int_eq(procfs_maps_heap(text, &heap), -EBADMSG);
	free(text);
	text = load("maps-truncated.txt"); /* cut inside a line's path: still parses */
	ck_assert_int_eq(procfs_maps_heap(text, &heap), 0);
	free(text);
	ck_assert_int_eq(procfs_maps_heap("1000-", &heap), -EBADMSG);
	ck_assert_int_eq(procfs_maps_heap("3000-1000 rw-p 0 00:00 0\n", &heap), -EBADMSG);
	ck_assert_int_eq(procfs_maps_heap("1000-3000 rwzp 0 00:00 0\n", &heap), -EBADMSG);
	ck_assert_int_eq(procfs_maps_heap("1000-3000 rw-p 0 00:00 x\n", &heap), -EBADMSG);
	ck_assert_int_eq(procfs_maps_heap(NULL, &heap), -EBADMSG);
}
END_TEST

static Suite *procfs_suite(void)
{
	Suite *s = suite_create("procfs");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_maps_valid);
	tcase_add_test(tc, test_status_kthread);
	tcase_add_test(tc, test_stat_cpu);
	tcase_add_test(tc, test_status_bad);
	tcase_add_test(tc, test_stat);
	tcase_add_test(tc, test_maps);
	tcase_add_test(tc, test_maps_bad);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(procfs_suite)
