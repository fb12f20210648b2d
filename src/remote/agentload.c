/* agentload.c - placing the in-process agent in a stopped process. See agentload.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/blob.h"
#include "base/procfs.h"
#include "base/util.h"
#include "remote/agentload.h"
#include "image/image.h"
#include "remote/inject.h"
#include "remote/insn.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

#define REACH ((1ULL << 31) - (64ULL << 20)) /* a rel32 jmp reaches, with room for the agent */
#define CODE_READ_MAX 8192		     /* bytes of a function scanned for jumps into it */
#define SLOT_CODE_MAX (AGENT_TRAMP_SIZE - sizeof(struct agent_slot_record))
#define MEMFD_NAME "leakmond-agent"

_Static_assert(sizeof(struct agent_slot_record) == 16, "slot record");
_Static_assert(offsetof(struct agent_data, state) == 176, "tests/tools/textcmp.c reads the state there");
_Static_assert(sizeof(((struct agent_data *)0)->reserved) > sizeof(MEMFD_NAME),
	       "the memfd name fits the data page's spare room");

static bool reaches(const struct hook_set *hooks, uint64_t base, uint64_t size)
{
	for (int i = 0; i < ALLOC_FN_MAX; i++) {
		uint64_t a = hooks->addr[i];

		if (!a)
			continue;
		if ((a > base ? a - base : base + size - a) > REACH)
			return false;
	}
	return true;
}

static int64_t syscall_in(pid_t tid, const struct inject_site *insn, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
			  uint64_t a3, uint64_t a4, uint64_t a5, int *ret_sig)
{
	uint64_t args[6] = { a0, a1, a2, a3, a4, a5 };
	int64_t res = 0;
	int sig = 0, r;

	r = inject_syscall(tid, insn, nr, args, &res, &sig);
	if (sig && !*ret_sig)
		*ret_sig = sig;
	if (r < 0)
		return r;
	return res;
}

static bool is_err(int64_t res)
{
	return res < 0 && res > -4096;
}

static int open_proc_dir(pid_t pid)
{
	char dir[64];
	int fd;

	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int agentload_find(pid_t pid, int mem_fd, const struct hook_set *hooks, uint64_t *ret_base,
		   struct agent_header *ret_hdr)
{
	_cleanup_free_ char *maps = NULL;
	_cleanup_close_ int dfd = -1;
	const char *cursor;
	struct proc_map m;
	ssize_t n;
	int r;

	*ret_base = 0;
	dfd = open_proc_dir(pid);
	if (dfd < 0)
		return dfd;
	n = procfs_read_at(dfd, "maps", &maps);
	if (n < 0)
		return (int)n;
	cursor = maps;
	while ((r = procfs_maps_next(&cursor, &m)) > 0) {
		uint8_t head[sizeof(struct agent_header)];
		struct agent_header h;

		if (strcmp(m.perms, "r-xp") != 0 || m.inode != 0 || (m.path && m.path_len > 0))
			continue;
		if (inject_read(mem_fd, m.start, head, sizeof(head)) < 0 ||
		    agent_header_validate(head, sizeof(head), &h) < 0 || h.code_size != m.end - m.start)
			continue;
		if (!reaches(hooks, m.start, h.total_size))
			continue;
		*ret_base = m.start;
		*ret_hdr = h;
		return 0;
	}
	return r < 0 ? r : 0;
}

/* Map a fresh agent within reach of the hooks and copy the blob in. */
static int map_agent(struct agent_place *ap, pid_t tid, int mem_fd, const struct inject_site *insn,
		     const struct hook_set *hooks, int *ret_sig)
{
	uint64_t lo = UINT64_MAX, size;
	int64_t res = 0;
	int r;

	r = agent_header_validate(agent_blob, agent_blob_size, &ap->hdr);
	if (r < 0)
		return r;
	size = ap->hdr.total_size;
	for (int i = 0; i < ALLOC_FN_MAX; i++)
		if (hooks->addr[i] && hooks->addr[i] < lo)
			lo = hooks->addr[i];
	if (lo == UINT64_MAX)
		return -ENOENT;
	for (int k = 1; k < 64; k++) {
		uint64_t delta = (uint64_t)k * (16ULL << 20);
		uint64_t hint = ((k & 1) ? lo - delta - size : lo + delta) & ~0xfffULL;
		uint64_t args[6] = { hint, size, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0 };
		int sig = 0;

		/* not syscall_in(): a failed injection (-ETIMEDOUT, -ESRCH: the process dying)
		 * must end the search at once, not read as this hint's mmap failing (63 more
		 * tries, each up to INJECT_TIMEOUT_NS, then a misleading ENOMEM) */
		r = inject_syscall(tid, insn, SYS_mmap, args, &res, &sig);
		if (sig && !*ret_sig)
			*ret_sig = sig;
		if (r < 0)
			return r;
		if (is_err(res))
			continue;
		if (reaches(hooks, (uint64_t)res, size))
			break;
		(void)syscall_in(tid, insn, SYS_munmap, (uint64_t)res, size, 0, 0, 0, 0, ret_sig);
		res = -ENOMEM;
	}
	if (res < 0)
		return -ENOMEM;
	ap->base = (uint64_t)res;
	r = inject_write(mem_fd, ap->base, agent_blob, agent_blob_size);
	if (r == 0) {
		res = syscall_in(tid, insn, SYS_mprotect, ap->base, ap->hdr.code_size,
				 PROT_READ | PROT_EXEC, 0, 0, 0, ret_sig);
		r = res < 0 ? (int)res : 0;
	}
	if (r < 0) {
		(void)syscall_in(tid, insn, SYS_munmap, ap->base, size, 0, 0, 0, 0, ret_sig);
		ap->base = 0;
	}
	return r;
}

static uint64_t data_field(const struct agent_place *ap, size_t offset)
{
	return ap->base + ap->hdr.data_off + offset;
}

/* Map our view of the target's mapping [start, start + size), opened by image_open_mapping. */
static int map_existing_shared(struct agent_place *ap, pid_t pid, uint64_t start)
{
	_cleanup_free_ char *maps = NULL;
	_cleanup_close_ int dfd = -1, fd = -1;
	const char *cursor;
	struct proc_map m;
	void *p;

	dfd = open_proc_dir(pid);
	if (dfd < 0 || procfs_read_at(dfd, "maps", &maps) < 0)
		return -ESRCH;
	cursor = maps;
	while (procfs_maps_next(&cursor, &m) > 0) {
		if (m.start != start || m.perms[3] != 's')
			continue;
		/* ours is a memfd: anything else the process put there is not opened */
		if (!m.path || m.path_len < 7 || memcmp(m.path, "/memfd:", 7) != 0)
			return -ENOENT;
		fd = image_open_mapping(pid, m.start, m.end, O_RDWR, NULL);
		if (fd < 0)
			return fd;
		p = mmap(NULL, m.end - m.start, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		ap->shared = start;
		ap->shared_size = m.end - m.start;
		ap->shared_map = p;
		return 0;
	}
	return -ENOENT;
}

/* A new memfd in the target, mapped there and here. */
static int new_shared(struct agent_place *ap, pid_t pid, pid_t tid, int mem_fd,
		      const struct inject_site *insn,
		      uint64_t size, int *ret_sig)
{
	uint64_t name_at = data_field(ap, offsetof(struct agent_data, reserved));
	_cleanup_close_ int ours = -1;
	char path[64];
	int64_t fd, addr;
	void *p;
	int r;

	r = inject_write(mem_fd, name_at, MEMFD_NAME, sizeof(MEMFD_NAME));
	if (r < 0)
		return r;
	fd = syscall_in(tid, insn, SYS_memfd_create, name_at, MFD_CLOEXEC, 0, 0, 0, 0, ret_sig);
	if (fd < 0)
		return is_err(fd) ? (int)fd : -EIO;
	addr = syscall_in(tid, insn, SYS_ftruncate, (uint64_t)fd, size, 0, 0, 0, 0, ret_sig);
	if (addr == 0)
		addr = syscall_in(tid, insn, SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED,
				  (uint64_t)fd, 0, ret_sig);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, (int)fd);
	ours = open(path, O_RDWR | O_CLOEXEC);
	(void)syscall_in(tid, insn, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0, ret_sig);
	(void)inject_write(mem_fd, name_at, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", sizeof(MEMFD_NAME));
	if (addr < 0 || ours < 0) {
		if (addr > 0)
			(void)syscall_in(tid, insn, SYS_munmap, (uint64_t)addr, size, 0, 0, 0, 0,
					 ret_sig);
		return addr < 0 ? (int)addr : -errno;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ours, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		(void)syscall_in(tid, insn, SYS_munmap, (uint64_t)addr, size, 0, 0, 0, 0, ret_sig);
		return r;
	}
	ap->shared = (uint64_t)addr;
	ap->shared_size = size;
	ap->shared_map = p;
	return 0;
}

int agentload_map(struct agent_place *ap, pid_t pid, pid_t tid, int mem_fd, const struct inject_site *site,
		  const struct hook_set *hooks, uint64_t shared_size, bool *ret_is_new_shared,
		  int *ret_pending_sig)
{
	uint64_t old_shared = 0;
	bool is_new_agent = false;
	int r;

	memset(ap, 0, sizeof(*ap));
	*ret_pending_sig = 0;
	*ret_is_new_shared = false;
	r = agentload_find(pid, mem_fd, hooks, &ap->base, &ap->hdr);
	if (r < 0)
		return r;
	if (ap->base) {
		ap->is_reused = true;
		(void)inject_read(mem_fd, data_field(ap, offsetof(struct agent_data, shared)),
				  &old_shared, sizeof(old_shared));
	} else {
		r = map_agent(ap, tid, mem_fd, site, hooks, ret_pending_sig);
		if (r < 0)
			return r;
		is_new_agent = true;
	}
	if (old_shared && map_existing_shared(ap, pid, old_shared) == 0 &&
	    ap->shared_size >= shared_size)
		return 0;
	if (ap->shared_map)
		agentload_release(ap);
	r = new_shared(ap, pid, tid, mem_fd, site, shared_size, ret_pending_sig);
	if (r < 0) {
		if (is_new_agent) {
			(void)syscall_in(tid, site, SYS_munmap, ap->base, ap->hdr.total_size,
					 0, 0, 0, 0, ret_pending_sig);
			ap->base = 0;
		}
		return r;
	}
	*ret_is_new_shared = true;
	return 0;
}

static uint64_t slot_of(const struct agent_place *ap, enum alloc_fn fn)
{
	return ap->base + ap->hdr.tramp_off + (uint64_t)fn * AGENT_TRAMP_SIZE;
}

static uint64_t stub_of(const struct agent_place *ap, enum alloc_fn fn)
{
	return ap->base + ap->hdr.entry_off[fn];
}

static void jmp_bytes(uint64_t from, uint64_t to, uint8_t out[AGENTLOAD_JMP_LEN])
{
	int32_t rel = (int32_t)(int64_t)(to - (from + AGENTLOAD_JMP_LEN));

	out[0] = 0xe9;
	memcpy(out + 1, &rel, sizeof(rel));
}

/* Plan hook fn at addr: its trampoline and what the jmp will replace. Returns 0, or -errno to
 * skip it. */
static int plan_hook(struct agent_place *ap, int mem_fd, enum alloc_fn fn, uint64_t addr,
		     uint64_t size, struct agent_hook *h)
{
	uint8_t code[CODE_READ_MAX], slot[AGENT_TRAMP_SIZE], tramp[AGENT_TRAMP_SIZE];
	uint8_t want[AGENTLOAD_JMP_LEN];
	struct agent_slot_record rec;
	size_t len = size ? (size < sizeof(code) ? size : sizeof(code)) : 64;
	size_t code_len = 0, covered = 0;
	int r;

	memset(h, 0, sizeof(*h));
	h->fn = fn;
	h->addr = addr;
	h->tramp = slot_of(ap, fn);
	if (len < AGENTLOAD_JMP_LEN)
		return -ENOTSUP;
	r = inject_read(mem_fd, addr, code, len);
	if (r < 0)
		return r;
	r = inject_read(mem_fd, h->tramp, slot, sizeof(slot));
	if (r < 0)
		return r;
	memcpy(&rec, slot + SLOT_CODE_MAX, sizeof(rec));
	jmp_bytes(addr, stub_of(ap, fn), want);
	if (memcmp(code, want, AGENTLOAD_JMP_LEN) == 0) {
		/* hooked by an earlier leakmond that did not detach: take over */
		if (rec.magic != AGENTLOAD_RECORD_MAGIC || rec.covered < AGENTLOAD_JMP_LEN)
			return -EBADMSG;
		memcpy(h->saved, rec.saved, AGENTLOAD_JMP_LEN);
		h->covered = rec.covered;
		h->was_armed = true;
		return 0;
	}
	if (code[0] == 0xcc)
		return -EBUSY; /* a breakpoint: another tool's */
	r = insn_relocate_prologue(code, len, addr, h->tramp, AGENTLOAD_JMP_LEN, tramp,
				   SLOT_CODE_MAX, &code_len, &covered);
	if (r < 0)
		return r;
	if (size && insn_branches_into(code, len, addr, addr, addr + covered) != 0)
		return -ENOTSUP; /* something jumps into the bytes the jmp covers */
	memset(slot, 0xcc, SLOT_CODE_MAX);
	memcpy(slot, tramp, code_len);
	if (rec.magic == AGENTLOAD_RECORD_MAGIC) {
		/* a slot an earlier attach filled: a saved context may run it, so it must not
		 * change; reuse it only for the very same code */
		if (memcmp(rec.saved, code, AGENTLOAD_JMP_LEN) != 0 || rec.covered != covered)
			return -EBUSY;
		uint8_t now[AGENT_TRAMP_SIZE];

		if (inject_read(mem_fd, h->tramp, now, sizeof(now)) < 0 ||
		    memcmp(now, slot, SLOT_CODE_MAX) != 0)
			return -EBUSY;
	} else {
		memset(&rec, 0, sizeof(rec));
		rec.magic = AGENTLOAD_RECORD_MAGIC;
		rec.covered = (uint8_t)covered;
		memcpy(rec.saved, code, AGENTLOAD_JMP_LEN);
		memcpy(slot + SLOT_CODE_MAX, &rec, sizeof(rec));
		r = inject_write(mem_fd, h->tramp, slot, sizeof(slot));
		if (r < 0)
			return r;
	}
	memcpy(h->saved, code, AGENTLOAD_JMP_LEN);
	h->covered = covered;
	return 0;
}

int agentload_prepare(struct agent_place *ap, int mem_fd, const struct hook_set *hooks)
{
	struct agent_data d;
	int r;

	r = inject_read(mem_fd, data_field(ap, 0), &d, sizeof(d));
	if (r < 0)
		return r;
	if (d.magic != AGENT_MAGIC)
		return -EBADMSG;
	memset(d.orig, 0, sizeof(d.orig));
	memset(d.entry, 0, sizeof(d.entry));
	ap->n_hooks = 0;
	ap->skipped = 0;
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		enum alloc_fn canon;
		struct agent_hook *h;

		if (!hooks->addr[fn])
			continue;
		canon = hooks_canonical(hooks, (enum alloc_fn)fn);
		if (canon != (enum alloc_fn)fn) {
			/* an alias (glibc's memalign is aligned_alloc): one jmp, to canon's hook */
			d.orig[fn] = d.orig[canon];
			d.entry[fn] = d.entry[canon];
			continue;
		}
		h = &ap->hooks[ap->n_hooks];
		r = plan_hook(ap, mem_fd, (enum alloc_fn)fn, hooks->addr[fn], hooks->size[fn], h);
		if (r < 0) {
			if (fn == ALLOC_MALLOC || fn == ALLOC_FREE)
				return -ENOTSUP;
			ap->skipped++;
			continue;
		}
		d.orig[fn] = h->tramp;
		d.entry[fn] = h->addr;
		ap->n_hooks++;
	}
	d.shared = ap->shared;
	d.state = AGENT_ON;
	d.generation++;
	return inject_write(mem_fd, data_field(ap, 0), &d, sizeof(d));
}

bool agentload_in_patch(const struct agent_place *ap, uint64_t pc)
{
	for (size_t i = 0; i < ap->n_hooks; i++)
		if (pc > ap->hooks[i].addr && pc < ap->hooks[i].addr + ap->hooks[i].covered)
			return true;
	return false;
}

bool agentload_in_agent(const struct agent_place *ap, uint64_t pc)
{
	return ap->base && pc >= ap->base && pc < ap->base + ap->hdr.code_size;
}

int agentload_arm(struct agent_place *ap, int mem_fd)
{
	for (size_t i = 0; i < ap->n_hooks; i++) {
		struct agent_hook *h = &ap->hooks[i];
		uint8_t jmp[AGENTLOAD_JMP_LEN];
		int r;

		if (h->was_armed)
			continue;
		jmp_bytes(h->addr, stub_of(ap, h->fn), jmp);
		r = inject_write(mem_fd, h->addr, jmp, sizeof(jmp));
		if (r < 0) {
			for (size_t j = 0; j < i; j++)
				(void)inject_write(mem_fd, ap->hooks[j].addr, ap->hooks[j].saved,
						   AGENTLOAD_JMP_LEN);
			return r;
		}
	}
	ap->is_armed = true;
	return 0;
}

int agentload_set_state(const struct agent_place *ap, int mem_fd, enum agent_state state)
{
	uint32_t v = state;

	if (!ap->base)
		return 0;
	return inject_write(mem_fd, data_field(ap, offsetof(struct agent_data, state)), &v,
			    sizeof(v));
}

int agentload_disarm(struct agent_place *ap, int mem_fd)
{
	int ret = 0;

	for (size_t i = 0; ap->is_armed && i < ap->n_hooks; i++) {
		struct agent_hook *h = &ap->hooks[i];
		uint8_t now[AGENTLOAD_JMP_LEN], jmp[AGENTLOAD_JMP_LEN];
		int r;

		jmp_bytes(h->addr, stub_of(ap, h->fn), jmp);
		r = inject_read(mem_fd, h->addr, now, sizeof(now));
		if (r == 0 && memcmp(now, jmp, sizeof(jmp)) == 0)
			r = inject_write(mem_fd, h->addr, h->saved, AGENTLOAD_JMP_LEN);
		if (r < 0 && ret == 0)
			ret = r;
	}
	{
		int r = agentload_set_state(ap, mem_fd, AGENT_OFF);

		if (r < 0 && ret == 0)
			ret = r;
	}
	ap->is_armed = false;
	return ret;
}

int agentload_unmap_shared(struct agent_place *ap, pid_t tid, int mem_fd, const struct inject_site *site,
			   int *ret_pending_sig)
{
	uint64_t zero = 0;
	int64_t res;
	int r;

	*ret_pending_sig = 0;
	if (!ap->shared)
		return 0;
	r = inject_write(mem_fd, data_field(ap, offsetof(struct agent_data, shared)), &zero,
			 sizeof(zero));
	if (r == 0) /* the Python wrappers' look at the sampled set, into the same region */
		r = inject_write(mem_fd, data_field(ap, offsetof(struct agent_data, py_set)), &zero,
				 sizeof(zero));
	if (r < 0)
		return r;
	res = syscall_in(tid, site, SYS_munmap, ap->shared, ap->shared_size, 0, 0, 0, 0,
			 ret_pending_sig);
	if (res < 0)
		return (int)res;
	ap->shared = 0;
	return 0;
}

void agentload_release(struct agent_place *ap)
{
	if (ap->shared_map)
		(void)munmap(ap->shared_map, ap->shared_size);
	ap->shared_map = NULL;
}
