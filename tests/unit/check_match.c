/* Unit tests of match.c: processes against watches. */
#include "config.h"

#include <string.h>

#include "check_main.h"
#include "config/match.h"

START_TEST(test_cgroup_unit)
{
	const char *v2 = "0::/system.slice/nginx.service\n";
	const char *v2_sub = "0::/system.slice/nginx.service/worker\n";
	const char *v1 = "12:pids:/system.slice/x.service\n"
			 "1:name=systemd:/system.slice/redis.service\n";

	ck_assert(match_cgroup_unit(v2, "nginx.service"));
	ck_assert(match_cgroup_unit(v2, "system.slice"));
	ck_assert(match_cgroup_unit(v2_sub, "nginx.service"));
	ck_assert(!match_cgroup_unit(v2, "nginx"));
	ck_assert(!match_cgroup_unit(v2, "x.service"));
	ck_assert(match_cgroup_unit(v1, "redis.service"));
	ck_assert(!match_cgroup_unit(v1, "x.service")); /* only the systemd hierarchy counts */
	ck_assert(!match_cgroup_unit("", "a.service"));
	ck_assert(!match_cgroup_unit(NULL, "a.service"));
	ck_assert(!match_cgroup_unit("garbage without colons", "a.service"));
}
END_TEST

START_TEST(test_watch)
{
	struct watch_config w = { .selector = SELECT_COMM };
	struct proc_facts f = { .pid = 42, .comm = "nginx", .exe = "/usr/sbin/nginx",
				.cgroup = "0::/system.slice/nginx.service\n" };

	strcpy(w.value, "nginx");
	ck_assert(match_watch(&w, &f));
	strcpy(w.value, "ngin");
	ck_assert(!match_watch(&w, &f));
	w.selector = SELECT_EXE;
	strcpy(w.value, "/usr/sbin/nginx");
	ck_assert(match_watch(&w, &f));
	strcpy(w.value, "/usr/bin/nginx");
	ck_assert(!match_watch(&w, &f));
	w.selector = SELECT_UNIT;
	strcpy(w.value, "nginx.service");
	ck_assert(match_watch(&w, &f));
	w.selector = SELECT_PID;
	w.pid = 42;
	ck_assert(match_watch(&w, &f));
	w.pid = 43;
	ck_assert(!match_watch(&w, &f));
	f.comm = NULL;
	w.selector = SELECT_COMM;
	strcpy(w.value, "nginx");
	ck_assert(!match_watch(&w, &f));
}
END_TEST

static Suite *match_suite(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cgroup_unit);
	tcase_add_test(tc, test_watch);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(match_suite)
