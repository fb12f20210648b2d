/* match.h - which watch of leakmond.conf a process falls under (daemon mode).
 *
 * match_watch() is pure: it is given what was read of the process (comm, exe, cgroup text) and
 * says whether a watch selects it. match_find() does the reading, from /proc/PID.
 */
#ifndef LEAKMOND_MATCH_H
#define LEAKMOND_MATCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/conf.h"

struct proc_facts {
	pid_t pid;
	const char *comm;   /* /proc/PID/comm without the newline, or NULL */
	const char *exe;    /* readlink of /proc/PID/exe (" (deleted)" kept), or NULL */
	const char *cgroup; /* text of /proc/PID/cgroup, or NULL */
};

/* Whether unit (e.g. "nginx.service") is a component of the process's cgroup path: the "0::"
 * line of cgroup v2, or the "name=systemd" line of v1. Sub-cgroups of the unit count. */
bool match_cgroup_unit(const char *cgroup_text, const char *unit);

/* Whether watch w selects the process described by f. */
bool match_watch(const struct watch_config *w, const struct proc_facts *f);

/* The first watch of conf (in file order) that selects process pid, reading only what the
 * watches need from /proc/PID. NULL when none (or the process is gone). */
const struct watch_config *match_find(const struct conf *conf, pid_t pid);

#endif
