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

/* Find the address of a `syscall` instruction (0f 05) in one of the process's executable
 * mappings, reading through mem_fd. Returns 0 and *ret_addr, -ENOENT, or -errno. */
int inject_find_syscall(pid_t pid, int mem_fd, uint64_t *ret_addr);

/* Bound on one injected system call: a thread that neither stops nor dies within it is given up. */
#define INJECT_TIMEOUT_NS (3ULL * 1000000000ULL)

/* Run system call nr with up to six arguments in thread tid by pointing it at the syscall
 * instruction at insn and single-stepping it. tid must be in a stop where its registers are a
 * user-mode state that can be borrowed: a signal-delivery-stop, or a PTRACE_EVENT_STOP that is not
 * a group-stop (an interrupt). Never a fork/vfork/clone/exec/exit event stop: there the system
 * call that caused it has not returned, and its result would overwrite ours. The thread's
 * registers are restored afterwards (orig_rax is set to -1 during the call so a syscall it was
 * interrupted in is not restarted in our place, and restored so that it restarts afterwards). A
 * signal that arrives meanwhile is stored in *ret_pending_sig (0 if none) for the caller to
 * deliver. Every wait is bounded (INJECT_TIMEOUT_NS) and a dying thread group is noticed at once.
 * Leaves the thread in a signal-delivery-stop (SIGTRAP). Returns 0 with the syscall's raw result
 * in *ret_result (-errno style); -ESRCH if the thread died or is dying; -ETIMEDOUT; -EFAULT if our
 * instruction faulted; or -errno of ptrace. */
int inject_syscall(pid_t tid, uint64_t insn, long nr, const uint64_t args[6], int64_t *ret_result,
		   int *ret_pending_sig);

/* Async-signal-safe, for leakmond's crash handler: put back the registers of a thread that is in
 * the middle of an injected system call, if there is one. */
void inject_emergency_restore(void);

#endif
