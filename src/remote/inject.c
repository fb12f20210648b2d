/* inject.c - memory access and system calls run inside a stopped tracee. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <sched.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "remote/inject.h"
#include "base/procfs.h"
#include "base/util.h"

int inject_open_mem(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int inject_read(int mem_fd, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(mem_fd, buf, len, (off_t)addr);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int inject_write(int mem_fd, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(mem_fd, buf, len, (off_t)addr);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int inject_find_syscall(pid_t pid, int mem_fd, uint64_t *ret_addr)
{
	_cleanup_free_ char *maps = NULL;
	char dir[64];
	const char *cursor;
	struct proc_map m;
	_cleanup_close_ int dfd = -1;
	uint8_t buf[4096];
	int pass, r;

	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = (int)procfs_read_at(dfd, "maps", &maps);
	if (r < 0)
		return r;
	/* prefer the C library's text, then any executable mapping (ld.so, a static executable) */
	for (pass = 0; pass < 2; pass++) {
		cursor = maps;
		while ((r = procfs_maps_next(&cursor, &m)) > 0) {
			if (m.perms[2] != 'x' || !m.path || m.path_len == 0)
				continue;
			if (pass == 0 && !memmem(m.path, m.path_len, "/libc", 5))
				continue;
			if (m.path[0] == '[' && memcmp(m.path, "[vsyscall]", 10) == 0)
				continue;
			for (uint64_t a = m.start; a < m.end && a < m.start + (1u << 20);
			     a += sizeof(buf) - 1) {
				size_t len = sizeof(buf);

				if (a + len > m.end)
					len = m.end - a;
				if (pread(mem_fd, buf, len, (off_t)a) != (ssize_t)len)
					break;
				for (size_t i = 0; i + 1 < len; i++) {
					if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
						*ret_addr = a + i;
						return 0;
					}
				}
			}
		}
		if (r < 0)
			return r;
	}
	return -ENOENT;
}

/* The injection in progress, for inject_emergency_restore(): written before a thread's registers
 * are changed, cleared after they are put back. */
static struct {
	volatile pid_t tid;
	struct user_regs_struct saved;
} in_flight;

static bool is_dead(pid_t tid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X' || p[2] == 'x';
}

/* Wait (bounded) for the next stop or the death of thread tid. A dying thread group is noticed
 * even when tid is a leader that waitpid would only report after every other thread. */
static int wait_thread(pid_t tid, int *status, uint64_t deadline)
{
	unsigned n = 0;

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);

		if (r == tid)
			return 0;
		if (r < 0)
			return errno == ECHILD ? -ESRCH : -errno;
		if (++n % 64 == 0 && is_dead(tid))
			return -ESRCH;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		if (n < 256) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
}

int inject_syscall(pid_t tid, uint64_t insn, long nr, const uint64_t args[6], int64_t *ret_result,
		   int *ret_pending_sig)
{
	struct user_regs_struct saved, regs;
	uint64_t deadline = now_ns() + INJECT_TIMEOUT_NS;
	int status, tries, r;

	*ret_pending_sig = 0;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &saved) < 0)
		return -errno;
	regs = saved;
	regs.rip = insn;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	in_flight.saved = saved;
	__atomic_store_n(&in_flight.tid, tid, __ATOMIC_SEQ_CST);
	if (ptrace(PTRACE_SETREGS, tid, NULL, &regs) < 0) {
		r = -errno;
		goto out;
	}

	for (tries = 0; tries < 64; tries++) {
		if (ptrace(PTRACE_SINGLESTEP, tid, NULL, NULL) < 0) {
			r = -errno;
			goto out;
		}
		r = wait_thread(tid, &status, deadline);
		if (r < 0)
			goto out; /* died, or still running our code: nothing can be restored */
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			r = -ESRCH;
			goto out;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_EXIT) {
			r = -ESRCH; /* killed meanwhile: it is on its way out */
			goto out;
		}
		if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP) {
			if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0) {
				r = -errno;
				goto out;
			}
			if (regs.rip == insn + 2)
				break;
			continue; /* stopped before the instruction ran: step again */
		}
		if ((status >> 16) == 0 && (WSTOPSIG(status) == SIGSEGV || WSTOPSIG(status) == SIGBUS ||
					    WSTOPSIG(status) == SIGILL)) {
			struct user_regs_struct now;

			/* a fault at our own instruction is ours, never the target's */
			if (ptrace(PTRACE_GETREGS, tid, NULL, &now) == 0 && now.rip == insn) {
				(void)ptrace(PTRACE_SETREGS, tid, NULL, &saved);
				r = -EFAULT;
				goto out;
			}
		}
		if ((status >> 16) == 0 && !*ret_pending_sig)
			*ret_pending_sig = WSTOPSIG(status); /* delivered by the caller later */
		/* event stops (interrupt, group-stop notification): just step again */
	}
	if (tries == 64) {
		(void)ptrace(PTRACE_SETREGS, tid, NULL, &saved);
		r = -ETIMEDOUT;
		goto out;
	}
	*ret_result = (int64_t)regs.rax;
	r = ptrace(PTRACE_SETREGS, tid, NULL, &saved) < 0 ? -errno : 0;
out:
	__atomic_store_n(&in_flight.tid, 0, __ATOMIC_SEQ_CST);
	return r;
}

void inject_emergency_restore(void)
{
	pid_t tid = __atomic_load_n(&in_flight.tid, __ATOMIC_SEQ_CST);

	if (tid > 0)
		(void)ptrace(PTRACE_SETREGS, tid, NULL, &in_flight.saved);
}
