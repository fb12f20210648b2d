/* patch.c - breakpoints with displaced instructions; the kept scratch page. See patch.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/procfs.h"
#include "base/util.h"
#include "remote/inject.h"
#include "remote/patch.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define INT3 0xcc
#define NOP 0x90
#define NEAR_LIMIT (1ULL << 30) /* keep the page within 1 GiB of every hook */

_Static_assert(sizeof(struct patch_header) <= PATCH_TRAMP_OFF, "header fits before the trampoline");

/* The trampoline: int3 while armed (nop once disarmed), then jmp qword [rsp - 8]. */
static const uint8_t tramp_code[] = { INT3, 0xff, 0x64, 0x24, 0xf8 };

static bool is_near(const struct hook_set *hooks, uint64_t page)
{
	for (int i = 0; i < ALLOC_FN_MAX; i++) {
		uint64_t a = hooks->addr[i];

		if (a && (a > page ? a - page : page - a) > NEAR_LIMIT)
			return false;
	}
	return true;
}

int patch_find_scratch(pid_t pid, int mem_fd, const struct hook_set *hooks, uint64_t *ret_page)
{
	_cleanup_free_ char *maps = NULL;
	_cleanup_close_ int dfd = -1;
	const char *cursor;
	struct proc_map m;
	char dir[64];
	ssize_t n;
	int r;

	*ret_page = 0;
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	n = procfs_read_at(dfd, "maps", &maps);
	if (n < 0)
		return (int)n;
	cursor = maps;
	while ((r = procfs_maps_next(&cursor, &m)) > 0) {
		char magic[sizeof(((struct patch_header *)0)->magic)];

		if (m.end - m.start != PATCH_SCRATCH_SIZE || strcmp(m.perms, "r-xp") != 0 ||
		    m.inode != 0 || (m.path && m.path_len > 0) || !is_near(hooks, m.start))
			continue;
		if (inject_read(mem_fd, m.start, magic, sizeof(magic)) == 0 &&
		    memcmp(magic, PATCH_MAGIC, sizeof(magic)) == 0) {
			*ret_page = m.start;
			return 0;
		}
	}
	return r < 0 ? r : 0;
}

static int map_scratch(pid_t tid, const struct inject_site *insn, const struct hook_set *hooks, uint64_t *ret_page,
		       int *ret_sig)
{
	uint64_t lo = UINT64_MAX;
	int64_t res = 0;
	int r;

	for (int i = 0; i < ALLOC_FN_MAX; i++)
		if (hooks->addr[i] && hooks->addr[i] < lo)
			lo = hooks->addr[i];
	if (lo == UINT64_MAX)
		return -ENOENT;
	/* Try pages just below the lowest hook's module, then above, stepping away. */
	for (int k = 1; k < 64; k++) {
		uint64_t delta = (uint64_t)k * (16ULL << 20);
		uint64_t hint = ((k & 1) ? lo - delta : lo + delta) & ~0xfffULL;
		uint64_t args[6] = { hint, PATCH_SCRATCH_SIZE, PROT_READ | PROT_EXEC,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				     (uint64_t)-1, 0 };
		int sig = 0;

		r = inject_syscall(tid, insn, SYS_mmap, args, &res, &sig);
		if (sig && !*ret_sig)
			*ret_sig = sig;
		if (r < 0)
			return r;
		if (res < 0 && res > -4096)
			continue; /* EEXIST: something is there; try the next hint */
		if (is_near(hooks, (uint64_t)res)) {
			*ret_page = (uint64_t)res;
			return 0;
		}
		/* old kernels ignore the NOREPLACE flag and may place it far away: undo */
		{
			uint64_t un[6] = { (uint64_t)res, PATCH_SCRATCH_SIZE, 0, 0, 0, 0 };

			(void)inject_syscall(tid, insn, SYS_munmap, un, &res, &sig);
		}
	}
	return -ENOMEM;
}

/* The slot to hold fn's copy: the one that already displaces addr with these very bytes, else a
 * free one. Returns the slot index, or -1 when every slot is taken. */
static int pick_slot(const struct patch_header *h, const uint8_t *page, uint64_t addr,
		     uint64_t scratch, const uint8_t *code, size_t code_len_of_orig,
		     struct insn_copy *ret_copy)
{
	int free_slot = -1;

	for (int i = 0; i < PATCH_N_SLOTS; i++) {
		uint64_t dest = scratch + PATCH_SLOTS_OFF + (uint64_t)i * PATCH_SLOT;
		struct insn_copy c;

		if (h->slot_addr[i] == 0) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (h->slot_addr[i] != addr)
			continue;
		if (insn_relocate(code, code_len_of_orig, addr, dest, &c) == 0 &&
		    c.code_len <= PATCH_SLOT &&
		    memcmp(page + PATCH_SLOTS_OFF + (size_t)i * PATCH_SLOT, c.code, c.code_len) == 0) {
			*ret_copy = c;
			return i;
		}
	}
	if (free_slot >= 0 &&
	    (insn_relocate(code, code_len_of_orig, addr,
			   scratch + PATCH_SLOTS_OFF + (uint64_t)free_slot * PATCH_SLOT, ret_copy) < 0 ||
	     ret_copy->code_len > PATCH_SLOT))
		return -2; /* cannot be displaced */
	return free_slot;
}

int patch_install(struct patch_set *ps, pid_t tid, int mem_fd, const struct inject_site *site,
		  const struct hook_set *hooks, unsigned *ret_skipped, int *ret_pending_sig)
{
	uint8_t page[PATCH_SCRATCH_SIZE];
	struct patch_header *h = (struct patch_header *)page;
	uint64_t scratch = 0;
	unsigned skipped = 0;
	bool is_new = false;
	int r;

	memset(ps, 0, sizeof(*ps));
	*ret_pending_sig = 0;
	if (!hooks->addr[ALLOC_MALLOC] || !hooks->addr[ALLOC_FREE])
		return -ENOTSUP;
	r = patch_find_scratch(tid, mem_fd, hooks, &scratch);
	if (r < 0)
		return r;
	if (scratch) {
		r = inject_read(mem_fd, scratch, page, sizeof(page));
		if (r < 0)
			return r;
		if (h->version != PATCH_VERSION || h->n_slots != PATCH_N_SLOTS)
			return -EPROTO; /* a page of another leakmond version: leave it alone */
		ps->is_reused = true;
	} else {
		r = map_scratch(tid, site, hooks, &scratch, ret_pending_sig);
		if (r < 0)
			return r;
		is_new = true;
		memset(page, INT3, sizeof(page));
		memset(h, 0, sizeof(*h));
		memcpy(h->magic, PATCH_MAGIC, sizeof(h->magic));
		h->version = PATCH_VERSION;
		h->n_slots = PATCH_N_SLOTS;
	}
	memcpy(page + PATCH_TRAMP_OFF, tramp_code, sizeof(tramp_code));

	for (int i = 0; i < ALLOC_FN_MAX; i++) {
		struct patch_site *s = &ps->sites[ps->n_sites];
		uint8_t code[32];
		int slot;

		if (!hooks->addr[i] || patch_find(ps, hooks->addr[i]))
			continue; /* aliases (memalign is aligned_alloc in glibc): one breakpoint */
		s->fn = (enum alloc_fn)i;
		s->addr = hooks->addr[i];
		slot = -2;
		if (inject_read(mem_fd, s->addr, code, sizeof(code)) == 0 && code[0] != INT3)
			slot = pick_slot(h, page, s->addr, scratch, code, sizeof(code), &s->copy);
		if (slot == -1) {
			r = -ENOSPC;
			goto fail;
		}
		if (slot < 0) {
			if (i == ALLOC_MALLOC || i == ALLOC_FREE) {
				r = -ENOTSUP;
				goto fail;
			}
			memset(s, 0, sizeof(*s));
			skipped++;
			continue;
		}
		s->copy_addr = scratch + PATCH_SLOTS_OFF + (uint64_t)slot * PATCH_SLOT;
		s->orig_byte = code[0];
		h->slot_addr[slot] = s->addr;
		memcpy(page + PATCH_SLOTS_OFF + (size_t)slot * PATCH_SLOT, s->copy.code,
		       s->copy.code_len);
		ps->n_sites++;
	}
	/* Slots in use keep their bytes: the page is rewritten with what it already holds there. */
	r = inject_write(mem_fd, scratch, page, sizeof(page));
	if (r < 0)
		goto fail;
	ps->scratch = scratch;
	ps->tramp = scratch + PATCH_TRAMP_OFF;
	for (size_t i = 0; i < ps->n_sites; i++) {
		uint8_t b = INT3;

		r = inject_write(mem_fd, ps->sites[i].addr, &b, 1);
		if (r < 0) {
			/* put back the ones already armed */
			for (size_t j = 0; j < i; j++)
				(void)inject_write(mem_fd, ps->sites[j].addr, &ps->sites[j].orig_byte, 1);
			ps->scratch = 0;
			goto fail;
		}
	}
	ps->is_armed = true;
	*ret_skipped = skipped;
	return 0;
fail:
	if (is_new) {
		/* nothing ran in it yet: it goes */
		uint64_t un[6] = { scratch, PATCH_SCRATCH_SIZE, 0, 0, 0, 0 };
		int64_t res;
		int sig = 0;

		(void)inject_syscall(tid, site, SYS_munmap, un, &res, &sig);
		if (sig && !*ret_pending_sig)
			*ret_pending_sig = sig;
	}
	memset(ps, 0, sizeof(*ps));
	return r;
}

const struct patch_site *patch_find(const struct patch_set *ps, uint64_t addr)
{
	for (size_t i = 0; i < ps->n_sites; i++)
		if (ps->sites[i].addr == addr)
			return &ps->sites[i];
	return NULL;
}

uint64_t patch_map_back(const struct patch_set *ps, uint64_t rip)
{
	uint64_t back;

	if (!ps->scratch || rip < ps->scratch || rip >= ps->scratch + PATCH_SCRATCH_SIZE)
		return rip;
	for (size_t i = 0; i < ps->n_sites; i++) {
		const struct patch_site *s = &ps->sites[i];

		if (insn_copy_map_back(&s->copy, s->addr, s->copy_addr, rip, &back) == 0)
			return back;
	}
	return rip;
}

int patch_disarm(struct patch_set *ps, int mem_fd)
{
	int ret = 0;

	if (!ps->is_armed)
		return 0;
	for (size_t i = 0; i < ps->n_sites; i++) {
		uint8_t b;
		int r = inject_read(mem_fd, ps->sites[i].addr, &b, 1);

		if (r == 0 && b == INT3)
			r = inject_write(mem_fd, ps->sites[i].addr, &ps->sites[i].orig_byte, 1);
		if (r < 0 && ret == 0)
			ret = r;
	}
	if (ps->scratch) {
		uint8_t nop = NOP;
		int r = inject_write(mem_fd, ps->tramp, &nop, 1);

		if (r < 0 && ret == 0)
			ret = r;
	}
	ps->is_armed = false;
	return ret;
}
