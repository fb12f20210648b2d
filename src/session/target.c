/* target.c - one watched process: validation, /proc sampling. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "session/target.h"
#include "base/util.h"

#define STATUS_MAX (64 * 1024)
#define MAPS_MAX (64 * 1024 * 1024)

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

int target_open(pid_t pid, bool is_child, enum watch_mode mode, struct target **ret, char *err,
		size_t errlen)
{
	_cleanup_free_ char *status_text = NULL, *stat_text = NULL, *maps = NULL;
	_cleanup_close_ int dfd = -1;
	struct proc_status st;
	struct target *t;
	char path[64];
	unsigned flags;
	char state;
	ssize_t n;
	int r;

	if (pid == getpid()) {
		snprintf(err, errlen, "pid %d: is leakmond itself, refusing to watch it", (int)pid);
		return -EPERM;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		if (r == -ENOENT || r == -ESRCH)
			snprintf(err, errlen, "pid %d: no such process", (int)pid);
		else
			snprintf(err, errlen, "pid %d: cannot open '%s' (%s)", (int)pid, path,
				 strerror(-r));
		return r == -ENOENT ? -ESRCH : r;
	}
	n = procfs_read_at(dfd, "status", &status_text);
	if (n < 0 || procfs_parse_status(status_text, &st) < 0) {
		snprintf(err, errlen, "pid %d: no such process (cannot read '%s/status')", (int)pid,
			 path);
		return -ESRCH;
	}
	if (st.tgid != pid) {
		snprintf(err, errlen, "pid %d: is a thread of process %d, not a process; watch %d",
			 (int)pid, (int)st.tgid, (int)st.tgid);
		return -EINVAL;
	}
	n = procfs_read_at(dfd, "stat", &stat_text);
	if (n < 0 || procfs_parse_stat(stat_text, &state, &flags) < 0) {
		snprintf(err, errlen, "pid %d: no such process (cannot read '%s/stat')", (int)pid, path);
		return -ESRCH;
	}
	if (flags & PROCFS_PF_KTHREAD) {
		snprintf(err, errlen, "pid %d: is a kernel thread (%s), it has no user memory to watch",
			 (int)pid, st.name);
		return -EPERM;
	}
	if (state == 'Z' || state == 'X' || !st.has_mm) {
		snprintf(err, errlen, "pid %d: is a zombie (%s), it has already exited", (int)pid,
			 st.name);
		return -ESRCH;
	}
	/* maps needs ptrace-read access: the same permission tracing will need. */
	n = procfs_read_at(dfd, "maps", &maps);
	if (n < 0) {
		r = (int)n;
		if (r == -EACCES || r == -EPERM)
			snprintf(err, errlen,
				 "pid %d: permission denied reading '%s/maps' (run as its owner or with CAP_SYS_PTRACE)",
				 (int)pid, path);
		else
			snprintf(err, errlen, "pid %d: cannot read '%s/maps' (%s)", (int)pid, path,
				 strerror(-r));
		return r == -EPERM ? -EACCES : r;
	}

	t = target_new_detached(pid, st.name);
	if (!t) {
		snprintf(err, errlen, "pid %d: out of memory", (int)pid);
		return -ENOMEM;
	}
	t->pid = pid;
	t->is_child = is_child;
	t->mode = mode;
	t->proc_fd = steal_fd(&dfd);
	t->pidfd = open_pidfd(pid);
	n = readlinkat(t->proc_fd, "exe", t->exe, sizeof(t->exe) - 1);
	t->exe[n > 0 ? n : 0] = '\0';
	*ret = t;
	return 0;
}

struct target *target_free(struct target *t)
{
	if (!t)
		return NULL;
	if (t->proc_fd >= 0)
		(void)close(t->proc_fd);
	if (t->pidfd >= 0)
		(void)close(t->pidfd);
	series_done(&t->rss);
	series_done(&t->live);
	tslog_close(&t->own_log);
	free(t->report_path);
	sites_free(t->sites);
	heap_free(t->heap);
	free(t->reports);
	free(t->site_alerts);
	report_profile_free(t->profile);
	timeline_done(&t->timeline);
	symbolizer_free(t->sym);
	free(t);
	return NULL;
}

int target_read_sample(struct target *t, uint64_t now, uint64_t start_ns, struct sample *ret)
{
	_cleanup_free_ char *status_text = NULL, *maps = NULL;
	struct proc_status st;
	struct sample s = { 0 };
	ssize_t n;
	int r;

	n = procfs_read_at(t->proc_fd, "status", &status_text);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	r = procfs_parse_status(status_text, &st);
	if (r < 0)
		return r;
	if (st.state == 'Z' || st.state == 'X' || !st.has_mm)
		return -ESRCH;
	n = procfs_read_at(t->proc_fd, "maps", &maps);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	r = procfs_maps_heap(maps, &s.heap_bytes);
	if (r < 0)
		return r;

	/* comm changes on exec or prctl(PR_SET_NAME) */
	snprintf(t->comm, sizeof(t->comm), "%s", st.name);
	s.ts = wall_now();
	s.t_s = (double)(now - start_ns) / 1e9;
	s.rss_bytes = st.vm_rss;
	s.rss_anon_bytes = st.rss_anon;
	s.rss_file_bytes = st.rss_file;
	s.swap_bytes = st.vm_swap;
	s.threads = st.threads;
	*ret = s;
	return 0;
}

int target_read_cpu(struct target *t, uint64_t *ret_ns)
{
	_cleanup_free_ char *text = NULL;
	static long hz;
	uint64_t ticks;
	ssize_t n;
	int r;

	if (t->proc_fd < 0)
		return -ESRCH;
	if (hz <= 0)
		hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	n = procfs_read_at(t->proc_fd, "stat", &text);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	r = procfs_parse_stat_cpu(text, &ticks);
	if (r < 0)
		return r;
	*ret_ns = ticks * (NSEC_PER_SEC / (uint64_t)hz);
	return 0;
}

struct target *target_new_detached(pid_t pid, const char *comm)
{
	struct target *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (series_init(&t->rss, SERIES_DEFAULT_CAP) < 0 ||
	    series_init(&t->live, SERIES_DEFAULT_CAP) < 0) {
		series_done(&t->rss);
		free(t);
		return NULL;
	}
	t->pid = pid;
	t->proc_fd = -1;
	t->pidfd = -1;
	t->mode = MODE_TRACE;
	conf_settings_init(&t->set);
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	t->status = TARGET_RUNNING;
	t->attach_ts = wall_now();
	t->attach_ns = now_ns();
	t->exit_status = -1;
	t->exit_signal = -1;
	timeline_init(&t->timeline);
	t->overhead = -1;
	return t;
}
