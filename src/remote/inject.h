/* inject.h - act inside a stopped tracee: read and write its memory, run one system call in it.
 *
 * Memory goes through /proc/PID/mem (pread/pwrite): it can write into read+execute pages (the
 * kernel breaks copy-on-write with FOLL_FORCE), which process_vm_writev cannot.
 */
#ifndef LEAKMOND_INJECT_H
#define LEAKMOND_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Open /proc/PID/mem read-write. Returns the descriptor or -errno. */
int inject_open_mem(pid_t pid);

/* Read/write exactly len bytes at addr. Returns 0, -EIO on a short transfer, or -errno. */
int inject_read(int mem_fd, uint64_t addr, void *buf, size_t len);
int inject_write(int mem_fd, uint64_t addr, const void *buf, size_t len);

/* Where system calls are run in one address space: instructions of its own code we borrow. */
struct inject_site {
	uint64_t syscall;     /* a `syscall` instruction (0f 05) */
	uint64_t syscall_ret; /* `syscall; ret` (0f 05 c3), 0: none found */
	uint64_t restorer;    /* the C library's rt_sigreturn trampoline, 0: none found */
};

/* Find them in the process's executable mappings (the C library's first), reading through
 * mem_fd. Returns 0 (syscall found; the other two may be 0), -ENOENT, or -errno. */
int inject_find_site(pid_t pid, int mem_fd, struct inject_site *ret);

/* Bound on one injected system call: a thread that neither stops nor dies within it is given up. */
#define INJECT_TIMEOUT_NS (3ULL * 1000000000ULL)

/* Run system call nr with up to six arguments in thread tid. tid must be in a stop where its
 * registers are a user-mode state that can be borrowed: a signal-delivery-stop, or a
 * PTRACE_EVENT_STOP that is not a group-stop (an interrupt). Never a fork/vfork/clone/exec/exit
 * event stop: there the system call that caused it has not returned, and its result would
 * overwrite ours. The thread's registers are restored afterwards, a syscall it was interrupted
 * in restarting as it would have.
 *
 * Where the site has `syscall; ret` and the rt_sigreturn trampoline, the call survives
 * leakmond's death: a signal frame holding the thread's whole state (registers, extended FPU
 * state, signal mask) is written below its red zone and the thread runs `syscall; ret` with rsp
 * at that frame; it is stopped at the syscall's exit (PTRACE_SYSCALL, which needs
 * PTRACE_O_TRACESYSGOOD) and its registers put back. If leakmond dies at any instant, the thread
 * returns by itself through rt_sigreturn to exactly where it was (the syscall's effect remains).
 * Otherwise the thread is pointed at a plain `syscall` and single-stepped.
 *
 * A signal that arrives meanwhile is stored in *ret_pending_sig (0 if none) for the caller to
 * send again (the thread does not end in a stop where a signal can be injected). Every wait is
 * bounded (INJECT_TIMEOUT_NS) and a dying thread group is noticed at once. Returns 0 with the
 * syscall's raw result in *ret_result (-errno style); -ESRCH if the thread died or is dying;
 * -ETIMEDOUT; -EFAULT if our instruction faulted; or -errno of ptrace. */
int inject_syscall(pid_t tid, const struct inject_site *site, long nr, const uint64_t args[6],
		   int64_t *ret_result, int *ret_pending_sig);

/* Call function fn(args[0..5]) in thread tid (a stop where a syscall could be injected, see
 * inject_syscall), with the thread's state saved in a return frame on its stack exactly as for a
 * system call; fn returns to landing, code of ours in the target that moves rax to rdi and runs
 * rt_sigreturn (the agent's call_landing), which puts the thread back where it was. We stop it at
 * that rt_sigreturn, read the value, and let it finish. If leakmond dies at any instant, the
 * thread still returns by itself. The function runs with every other thread as it is (stopped,
 * usually): it must not wait for them. Signals that arrive meanwhile are held in
 * *ret_pending_sig as for inject_syscall. Returns 0 with fn's return value in *ret_value;
 * -ENOSPC (no frame could be made: nothing was run), -ESRCH, -ETIMEDOUT (the call is still
 * running: the thread returns by itself when it ends, and is left running), -errno. */
int inject_call(pid_t tid, uint64_t fn, uint64_t landing, const uint64_t args[6],
		uint64_t *ret_value, int *ret_pending_sig);

/* Async-signal-safe, for leakmond's crash handler: put back the registers of a thread that is in
 * the middle of an injected system call, if there is one. */
void inject_emergency_restore(void);

#endif
