/* unwind.c - program counters of a stopped thread, with libdwfl over a stack copy. */
#include "config.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stack/unwind.h"

struct unwinder {
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	pid_t pid;
	int mem_fd;
	bool is_attached;
	/* the current request */
	pid_t tid;
	const struct user_regs_struct *regs;
	const uint8_t *stack;
	size_t stack_len;
	uint64_t *pcs;
	size_t max, n;
	bool is_first;
};

static char *debuginfo_path = NULL;

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return u->tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	*thread_argp = u;
	return tid == u->tid;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	uint64_t lo = u->regs->rsp;

	if (addr >= lo && addr - lo + sizeof(*result) <= u->stack_len) {
		memcpy(result, u->stack + (addr - lo), sizeof(*result));
		return true;
	}
	return pread(u->mem_fd, result, sizeof(*result), (off_t)addr) == (ssize_t)sizeof(*result);
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwinder *u = arg;
	const struct user_regs_struct *r = u->regs;
	/* DWARF register numbers of x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
	Dwarf_Word regs[17] = { r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp,
				r->r8,	r->r9,	r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
				r->rip };

	return dwfl_thread_state_registers(thread, 0, 17, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

/* Open a module's file the way the target sees it: through /proc/PID/root, or its mapping
 * (map_files) when the file on disk is gone. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *module_name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	pid_t pid = (pid_t)(intptr_t)*userdata;
	char path[4200];
	int fd;

	if (module_name[0] == '/' && pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, module_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*file_name = strdup(path);
			*elfp = NULL;
			return fd;
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, module_name, base, file_name, elfp);
}

static int set_pid(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		   void *arg)
{
	*userdata = arg; /* find_elf gets the pid through the module's userdata */
	return DWARF_CB_OK;
}

static int report(struct unwinder *u)
{
	int r;

	dwfl_report_begin(u->dwfl);
	r = dwfl_linux_proc_report(u->dwfl, u->pid);
	if (dwfl_report_end(u->dwfl, NULL, NULL) != 0 || r != 0)
		return r > 0 ? -r : -EIO;
	(void)dwfl_getmodules(u->dwfl, set_pid, (void *)(intptr_t)u->pid, 0);
	return 0;
}

struct unwinder *unwinder_new(pid_t pid, int mem_fd)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->pid = pid;
	u->mem_fd = mem_fd;
	u->callbacks.find_elf = find_elf;
	u->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	u->callbacks.debuginfo_path = &debuginfo_path;
	u->dwfl = dwfl_begin(&u->callbacks);
	if (!u->dwfl || report(u) < 0) {
		unwinder_free(u);
		errno = ESRCH;
		return NULL;
	}
	return u;
}

struct unwinder *unwinder_free(struct unwinder *u)
{
	if (!u)
		return NULL;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u);
	return NULL;
}

int unwinder_refresh(struct unwinder *u)
{
	/* dwfl_attach_state may be called once per Dwfl: start a new one */
	if (u->dwfl)
		dwfl_end(u->dwfl);
	u->is_attached = false;
	u->dwfl = dwfl_begin(&u->callbacks);
	if (!u->dwfl)
		return -ENOMEM;
	return report(u);
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Addr pc;
	bool is_activation;

	if (!dwfl_frame_pc(state, &pc, &is_activation))
		return DWARF_CB_ABORT;
	if (u->is_first) {
		u->is_first = false; /* the allocator itself */
		return DWARF_CB_OK;
	}
	if (pc == 0)
		return DWARF_CB_ABORT;
	u->pcs[u->n++] = pc;
	return u->n < u->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int unwinder_unwind(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs,
		    const uint8_t *stack, size_t stack_len, uint64_t *pcs, size_t max)
{
	if (!u->dwfl || max == 0)
		return -EINVAL;
	if (!u->is_attached) {
		if (!dwfl_attach_state(u->dwfl, NULL, u->pid, &thread_callbacks, u))
			return -EIO;
		u->is_attached = true;
	}
	u->tid = tid;
	u->regs = regs;
	u->stack = stack;
	u->stack_len = stack_len;
	u->pcs = pcs;
	u->max = max;
	u->n = 0;
	u->is_first = true;
	(void)dwfl_getthread_frames(u->dwfl, tid, frame_cb, u);
	return u->n > 0 ? (int)u->n : -ENOENT;
}
