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

#include "base/procfs.h"
#include "base/util.h"
#include "image/image.h"
#include "stack/unwind.h"

struct unwinder {
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	struct image_debug dbg; /* how its files and debug files are opened */
	pid_t pid;
	int mem_fd;
	bool is_attached;
	struct unwind_range *exec; /* executable mappings, sorted */
	size_t n_exec;
	uint64_t reread_ns; /* when a pc outside them last made us read them again; 0: never */
	/* the current request */
	pid_t tid;
	const struct user_regs_struct *regs;
	const uint8_t *stack;
	size_t stack_len;
	uint64_t *pcs;
	uint64_t sps[UNWIND_DEPTH_MAX];
	size_t max, n;
	bool is_first;
};

bool unwind_in_ranges(const struct unwind_range *exec, size_t n_exec, uint64_t pc)
{
	size_t lo = 0, hi = n_exec;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pc < exec[mid].start)
			hi = mid;
		else if (pc >= exec[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

size_t unwind_plausible_depth(const uint64_t *pcs, const uint64_t *sps, size_t n, uint64_t sp0,
			      const struct unwind_range *exec, size_t n_exec)
{
	uint64_t prev = sp0;

	for (size_t i = 0; i < n; i++) {
		bool is_plausible = (n_exec == 0 || unwind_in_ranges(exec, n_exec, pcs[i])) &&
				    sps[i] > prev && sps[i] - prev <= UNWIND_FRAME_BYTES_MAX;

		if (!is_plausible && i > 0)
			return i;
		prev = sps[i] > prev ? sps[i] : prev;
	}
	return n;
}

/* Read the executable mappings of the process from /proc/PID/maps into u->exec. On failure the
 * old ones are kept. Returns 0 or -errno. */
static int read_exec_ranges(struct unwinder *u)
{
	char path[64];
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct unwind_range *exec = NULL;
	size_t n = 0, n_cap = 0;
	const char *cursor;
	struct proc_map m;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d", (int)u->pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	len = procfs_read_at(dfd, "maps", &text);
	if (len < 0)
		return (int)len;
	cursor = text;
	while (procfs_maps_next(&cursor, &m) > 0) {
		if (m.perms[2] != 'x' || m.end <= m.start)
			continue;
		if (n > 0 && m.start < exec[n - 1].end)
			continue; /* not sorted: never from the kernel */
		if (n == n_cap) {
			struct unwind_range *e;

			n_cap = n_cap ? 2 * n_cap : 64;
			e = realloc(exec, n_cap * sizeof(*e));
			if (!e)
				return -ENOMEM;
			exec = e;
		}
		exec[n].start = m.start;
		exec[n].end = m.end;
		n++;
	}
	free(u->exec);
	u->exec = steal_ptr(&exec);
	u->n_exec = n;
	return 0;
}

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

/* A module's file, opened by the image module (inside the target's root, checked against its
 * mapping); the vdso from the target's memory, as libdwfl does it. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *module_name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	if (module_name && module_name[0] == '[')
		return dwfl_linux_proc_find_elf(mod, userdata, module_name, base, file_name, elfp);
	return image_find_elf(mod, userdata, module_name, base, file_name, elfp);
}

static int report(struct unwinder *u)
{
	int r;

	dwfl_report_begin(u->dwfl);
	r = dwfl_linux_proc_report(u->dwfl, u->pid);
	if (dwfl_report_end(u->dwfl, NULL, NULL) != 0 || r != 0)
		return r > 0 ? -r : -EIO;
	image_dwfl_set_userdata(u->dwfl, &u->dbg);
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
	u->callbacks.find_debuginfo = image_find_debuginfo;
	if (image_debug_init(&u->dbg, pid) < 0) {
		unwinder_free(u);
		errno = ENOMEM;
		return NULL;
	}
	u->dwfl = dwfl_begin(&u->callbacks);
	if (!u->dwfl || report(u) < 0) {
		unwinder_free(u);
		errno = ESRCH;
		return NULL;
	}
	(void)read_exec_ranges(u);
	return u;
}

struct unwinder *unwinder_free(struct unwinder *u)
{
	if (!u)
		return NULL;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u->exec);
	image_debug_done(&u->dbg);
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
	(void)read_exec_ranges(u);
	return report(u);
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	bool is_activation;

	if (!dwfl_frame_pc(state, &pc, &is_activation))
		return DWARF_CB_ABORT;
	if (u->is_first) {
		u->is_first = false; /* the allocator itself */
		return DWARF_CB_OK;
	}
	if (pc == 0)
		return DWARF_CB_ABORT;
	/* x86-64: the stack pointer of an unwound frame is its CFA; unknown ends the stack */
	if (dwfl_frame_reg(state, 7, &sp) != 0) {
		if (u->n > 0)
			return DWARF_CB_ABORT;
		sp = u->regs->rsp + 8; /* the caller, just after the allocator returns */
	}
	u->sps[u->n] = sp;
	u->pcs[u->n++] = pc;
	return u->n < u->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int unwinder_unwind(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs,
		    const uint8_t *stack, size_t stack_len, uint64_t *pcs, size_t max)
{
	size_t keep;

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
	u->max = max < UNWIND_DEPTH_MAX ? max : UNWIND_DEPTH_MAX;
	u->n = 0;
	u->is_first = true;
	(void)dwfl_getthread_frames(u->dwfl, tid, frame_cb, u);
	if (u->n == 0)
		return -ENOENT;
	keep = unwind_plausible_depth(pcs, u->sps, u->n, regs->rsp, u->exec, u->n_exec);
	/* a pc outside the known mappings: maybe mapped since (dlopen, JIT); look again, seldom */
	if (keep < u->n && u->n_exec > 0 && !unwind_in_ranges(u->exec, u->n_exec, pcs[keep]) &&
	    (u->reread_ns == 0 || now_ns() - u->reread_ns >= UNWIND_MAPS_REREAD_NS)) {
		u->reread_ns = now_ns();
		if (read_exec_ranges(u) == 0)
			keep = unwind_plausible_depth(pcs, u->sps, u->n, regs->rsp, u->exec,
						      u->n_exec);
	}
	return (int)keep;
}
