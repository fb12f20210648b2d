/* match.c - processes against the watches of leakmond.conf. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/match.h"
#include "base/procfs.h"
#include "base/util.h"

/* Whether unit is one of the '/'-separated components of path (up to end). */
static bool path_has_component(const char *path, const char *end, const char *unit)
{
	size_t ulen = strlen(unit);

	for (const char *p = path; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash ? slash : end;

		if ((size_t)(stop - p) == ulen && memcmp(p, unit, ulen) == 0)
			return true;
		p = stop + 1;
	}
	return false;
}

bool match_cgroup_unit(const char *cgroup_text, const char *unit)
{
	const char *line = cgroup_text;

	if (!cgroup_text || !unit || !*unit)
		return false;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *path = NULL;

		/* "hierarchy-ID:controller-list:cgroup-path" */
		if (strncmp(line, "0::", 3) == 0) {
			path = line + 3;
		} else {
			const char *c1 = memchr(line, ':', (size_t)(end - line));

			if (c1 && strncmp(c1 + 1, "name=systemd:", 13) == 0)
				path = c1 + 14;
		}
		if (path && path_has_component(path, end, unit))
			return true;
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

bool match_watch(const struct watch_config *w, const struct proc_facts *f)
{
	switch (w->selector) {
	case SELECT_PID:
		return f->pid == w->pid;
	case SELECT_COMM:
		return f->comm && strcmp(f->comm, w->value) == 0;
	case SELECT_EXE:
		return f->exe && strcmp(f->exe, w->value) == 0;
	case SELECT_UNIT:
		return match_cgroup_unit(f->cgroup, w->value);
	}
	return false;
}

const struct watch_config *match_find(const struct conf *conf, pid_t pid)
{
	_cleanup_free_ char *comm = NULL, *cgroup = NULL;
	_cleanup_close_ int dfd = -1;
	char path[64], exe[4096];
	struct proc_facts f = { .pid = pid };
	bool need_comm = false, need_exe = false, need_cgroup = false;
	ssize_t n;

	for (size_t i = 0; i < conf->n_watches; i++) {
		need_comm |= conf->watches[i].selector == SELECT_COMM;
		need_exe |= conf->watches[i].selector == SELECT_EXE;
		need_cgroup |= conf->watches[i].selector == SELECT_UNIT;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	if (need_comm && procfs_read_at(dfd, "comm", &comm) > 0) {
		comm[strcspn(comm, "\n")] = '\0';
		f.comm = comm;
	}
	if (need_exe) {
		n = readlinkat(dfd, "exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			f.exe = exe;
		}
	}
	if (need_cgroup && procfs_read_at(dfd, "cgroup", &cgroup) > 0)
		f.cgroup = cgroup;
	for (size_t i = 0; i < conf->n_watches; i++)
		if (match_watch(&conf->watches[i], &f))
			return &conf->watches[i];
	return NULL;
}
