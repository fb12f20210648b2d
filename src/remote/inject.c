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
#include <stddef.h>
#include <sys/uio.h>
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

/* The first occurrence of pat (n bytes) in the executable mappings of the process, the C
 * library's first. Returns 0 and *ret_addr, -ENOENT, or -errno. */
static int find_bytes(const char *maps, int mem_fd, const uint8_t *pat, size_t n,
		      uint64_t *ret_addr)
{
	static uint8_t buf[65536];
	const char *cursor;
	struct proc_map m;
	int pass, r = 0;

	for (pass = 0; pass < 2; pass++) {
		cursor = maps;
		while ((r = procfs_maps_next(&cursor, &m)) > 0) {
			if (m.perms[2] != 'x' || !m.path || m.path_len == 0)
				continue;
			if (pass == 0 && !memmem(m.path, m.path_len, "/libc", 5))
				continue;
			if (m.path[0] == '[')
				continue; /* [vdso], [vsyscall]: not ours to borrow */
			for (uint64_t a = m.start; a < m.end && a < m.start + (16u << 20);
			     a += sizeof(buf) - n) {
				size_t len = sizeof(buf);
				uint8_t *hit;

				if (a + len > m.end)
					len = m.end - a;
				if (len < n || pread(mem_fd, buf, len, (off_t)a) != (ssize_t)len)
					break;
				hit = memmem(buf, len, pat, n);
				if (hit) {
					*ret_addr = a + (uint64_t)(hit - buf);
					return 0;
				}
			}
		}
		if (r < 0)
			return r;
	}
	return -ENOENT;
}

int inject_find_site(pid_t pid, int mem_fd, struct inject_site *ret)
{
	static const uint8_t syscall_insn[] = { 0x0f, 0x05 };
	static const uint8_t syscall_ret[] = { 0x0f, 0x05, 0xc3 };
	/* glibc's __restore_rt: mov $__NR_rt_sigreturn, %rax; syscall */
	static const uint8_t restorer[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
	_cleanup_free_ char *maps = NULL;
	_cleanup_close_ int dfd = -1;
	char dir[64];
	int r;

	memset(ret, 0, sizeof(*ret));
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = (int)procfs_read_at(dfd, "maps", &maps);
	if (r < 0)
		return r;
	r = find_bytes(maps, mem_fd, syscall_insn, sizeof(syscall_insn), &ret->syscall);
	if (r < 0)
		return r;
	if (find_bytes(maps, mem_fd, syscall_ret, sizeof(syscall_ret), &ret->syscall_ret) < 0 ||
	    find_bytes(maps, mem_fd, restorer, sizeof(restorer), &ret->restorer) < 0)
		ret->syscall_ret = ret->restorer = 0; /* no self-returning frames: single-step */
	return 0;
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

static int inject_single_step(pid_t tid, uint64_t insn, long nr, const uint64_t args[6],
			      int64_t *ret_result, int *ret_pending_sig)
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


/* The kernel's x86-64 signal frame, as rt_sigreturn reads it (arch/x86/include/uapi/asm). */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t ss_pad;
	uint64_t ss_size;
	struct k_sigcontext mc;
	uint64_t sigmask;
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "struct sigcontext");
_Static_assert(offsetof(struct k_ucontext, mc) == 40, "struct ucontext");

#define K_UC_FP_XSTATE 0x1
#define K_UC_SIGCONTEXT_SS 0x2
#define K_FP_XSTATE_MAGIC1 0x46505853U
#define K_FP_XSTATE_MAGIC2 0x46505845U
#define K_NT_X86_XSTATE 0x202
#define K_FX_SW_OFFSET 464 /* struct _fpx_sw_bytes inside the fxsave area */
#define K_XSTATE_MAX 16384

/* The signals blocked in thread tid (SigBlk of its status), or -errno. */
static int blocked_mask(pid_t tid, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = -1;
	char dir[64];
	const char *p;

	snprintf(dir, sizeof(dir), "/proc/%d", (int)tid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (procfs_read_at(dfd, "status", &text) < 0)
		return -EIO;
	p = strstr(text, "\nSigBlk:");
	if (!p)
		return -EBADMSG;
	*ret = strtoull(p + 8, NULL, 16);
	return 0;
}

/* Build, on the thread's stack below its red zone, a signal frame that rt_sigreturn turns back
 * into exactly the state saved (general registers with a pending syscall restart applied, the
 * extended FPU state, the signal mask; the sigaltstack left alone), headed by the address of the
 * C library's rt_sigreturn trampoline. Returns the address for rsp (the `ret` after our syscall
 * pops the trampoline's address and rt_sigreturn finds the frame above it), or 0 when the frame
 * cannot be made (no state, no room): then the caller does without. */
static uint64_t write_return_frame(pid_t tid, int mem_fd, const struct inject_site *site,
				   const struct user_regs_struct *saved)
{
	static uint8_t xs[K_XSTATE_MAX + 64];
	struct iovec iov = { xs, K_XSTATE_MAX };
	struct k_ucontext uc;
	uint64_t mask = 0, top, fp_at, uc_at, base;
	uint32_t magic2 = K_FP_XSTATE_MAGIC2, xstate_size;
	int64_t rax = (int64_t)saved->rax;

	if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)K_NT_X86_XSTATE, &iov) < 0 ||
	    iov.iov_len < 576 || iov.iov_len > K_XSTATE_MAX || blocked_mask(tid, &mask) < 0)
		return 0;
	xstate_size = (uint32_t)iov.iov_len;
	{
		/* the software bytes sigreturn checks: magic1, sizes, the features to restore */
		uint32_t sw[12] = { 0 };
		uint64_t xstate_bv;

		memcpy(&xstate_bv, xs + 512, sizeof(xstate_bv));
		sw[0] = K_FP_XSTATE_MAGIC1;
		sw[1] = xstate_size + (uint32_t)sizeof(magic2); /* extended_size */
		memcpy(&sw[2], &xstate_bv, sizeof(xstate_bv));	 /* xfeatures */
		sw[4] = xstate_size;
		memcpy(xs + K_FX_SW_OFFSET, sw, sizeof(sw));
	}
	memcpy(xs + xstate_size, &magic2, sizeof(magic2));

	top = saved->rsp - 128; /* the red zone stays untouched */
	fp_at = (top - xstate_size - sizeof(magic2)) & ~63ULL;
	uc_at = (fp_at - sizeof(uc)) & ~15ULL;
	base = uc_at - 8;

	memset(&uc, 0, sizeof(uc));
	uc.uc_flags = K_UC_FP_XSTATE | K_UC_SIGCONTEXT_SS;
	uc.ss_flags = 3; /* not a valid mode: sigreturn's sigaltstack call fails, harmlessly */
	uc.mc.r8 = saved->r8;
	uc.mc.r9 = saved->r9;
	uc.mc.r10 = saved->r10;
	uc.mc.r11 = saved->r11;
	uc.mc.r12 = saved->r12;
	uc.mc.r13 = saved->r13;
	uc.mc.r14 = saved->r14;
	uc.mc.r15 = saved->r15;
	uc.mc.rdi = saved->rdi;
	uc.mc.rsi = saved->rsi;
	uc.mc.rbp = saved->rbp;
	uc.mc.rbx = saved->rbx;
	uc.mc.rdx = saved->rdx;
	uc.mc.rax = saved->rax;
	uc.mc.rcx = saved->rcx;
	uc.mc.rsp = saved->rsp;
	uc.mc.rip = saved->rip;
	uc.mc.eflags = saved->eflags;
	uc.mc.cs = (uint16_t)saved->cs;
	uc.mc.ss = (uint16_t)saved->ss;
	uc.mc.fpstate = fp_at;
	uc.sigmask = mask;
	/* a system call the thread was interrupted in restarts, as it would have; one that would
	 * have restarted through restart_syscall is run again from the start instead, since
	 * rt_sigreturn cancels the pending restart block */
	if ((int64_t)saved->orig_rax >= 0 &&
	    (rax == -512 || rax == -513 || rax == -514 || rax == -516)) {
		uc.mc.rip = saved->rip - 2;
		uc.mc.rax = saved->orig_rax;
	}
	if (inject_write(mem_fd, fp_at, xs, xstate_size + sizeof(magic2)) < 0 ||
	    inject_write(mem_fd, uc_at, &uc, sizeof(uc)) < 0 ||
	    inject_write(mem_fd, base, &site->restorer, sizeof(site->restorer)) < 0)
		return 0;
	return base;
}

/* The self-returning way: the thread runs `syscall; ret` with rsp at a return frame. We stop it
 * at the syscall's exit (PTRACE_SYSCALL) and put its registers back; if leakmond dies first, the
 * thread returns by itself through rt_sigreturn to exactly where it was. Returns -EAGAIN when the
 * frame could not be made (nothing was changed). */
static int inject_with_frame(pid_t tid, const struct inject_site *site, long nr,
			     const uint64_t args[6], int64_t *ret_result, int *ret_pending_sig)
{
	struct user_regs_struct saved, regs;
	uint64_t deadline = now_ns() + INJECT_TIMEOUT_NS, base;
	int status, stops = 0, r, mem_fd;
	char path[64];

	*ret_pending_sig = 0;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &saved) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)tid);
	mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (mem_fd < 0)
		return -EAGAIN;
	base = write_return_frame(tid, mem_fd, site, &saved);
	(void)close(mem_fd);
	if (!base)
		return -EAGAIN;
	regs = saved;
	regs.rip = site->syscall_ret;
	regs.rsp = base;
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
	for (int tries = 0;; tries++) {
		if (tries == 64) {
			r = -ETIMEDOUT;
			goto out;
		}
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0) {
			r = -errno;
			goto out;
		}
		r = wait_thread(tid, &status, deadline);
		if (r < 0)
			goto out; /* died, or still running: it returns by itself through the frame */
		if (WIFEXITED(status) || WIFSIGNALED(status) ||
		    (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_EXIT)) {
			r = -ESRCH;
			goto out;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == 0 && WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			if (++stops < 2)
				continue; /* the syscall's entry; its exit comes next */
			if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0) {
				r = -errno;
				goto out;
			}
			*ret_result = (int64_t)regs.rax;
			r = ptrace(PTRACE_SETREGS, tid, NULL, &saved) < 0 ? -errno : 0;
			goto out;
		}
		if ((status >> 16) == 0 && (WSTOPSIG(status) == SIGSEGV || WSTOPSIG(status) == SIGBUS ||
					    WSTOPSIG(status) == SIGILL)) {
			struct user_regs_struct now;

			/* a fault at our own instruction is ours, never the target's */
			if (ptrace(PTRACE_GETREGS, tid, NULL, &now) == 0 &&
			    now.rip == site->syscall_ret) {
				(void)ptrace(PTRACE_SETREGS, tid, NULL, &saved);
				r = -EFAULT;
				goto out;
			}
		}
		if ((status >> 16) == 0 && !*ret_pending_sig)
			*ret_pending_sig = WSTOPSIG(status); /* sent again by the caller later */
		/* other stops (an interrupt, a group-stop notification): go on */
	}
out:
	__atomic_store_n(&in_flight.tid, 0, __ATOMIC_SEQ_CST);
	return r;
}

int inject_syscall(pid_t tid, const struct inject_site *site, long nr, const uint64_t args[6],
		   int64_t *ret_result, int *ret_pending_sig)
{
	if (site->syscall_ret && site->restorer) {
		int r = inject_with_frame(tid, site, nr, args, ret_result, ret_pending_sig);

		if (r != -EAGAIN)
			return r;
	}
	return inject_single_step(tid, site->syscall, nr, args, ret_result, ret_pending_sig);
}

void inject_emergency_restore(void)
{
	pid_t tid = __atomic_load_n(&in_flight.tid, __ATOMIC_SEQ_CST);

	if (tid > 0)
		(void)ptrace(PTRACE_SETREGS, tid, NULL, &in_flight.saved);
}
