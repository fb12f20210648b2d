/* patch.c - breakpoints with displaced instructions. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "remote/inject.h"
#include "remote/patch.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define INT3 0xcc
#define NEAR_LIMIT (1ULL << 30) /* keep the page within 1 GiB of every hook */

static bool is_near(const struct hook_set *hooks, uint64_t page)
{
	for (int i = 0; i < ALLOC_FN_MAX; i++) {
		uint64_t a = hooks->addr[i];

		if (a && (a > page ? a - page : page - a) > NEAR_LIMIT)
			return false;
	}
	return true;
}

static int map_scratch(pid_t tid, uint64_t insn, const struct hook_set *hooks, uint64_t *ret_page,
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

int patch_install(struct patch_set *ps, pid_t tid, int mem_fd, uint64_t syscall_insn,
		  const struct hook_set *hooks, unsigned *ret_skipped, int *ret_pending_sig)
{
	uint8_t page[PATCH_SCRATCH_SIZE];
	uint64_t scratch = 0;
	unsigned skipped = 0;
	int r;

	memset(ps, 0, sizeof(*ps));
	*ret_pending_sig = 0;
	if (!hooks->addr[ALLOC_MALLOC] || !hooks->addr[ALLOC_FREE])
		return -ENOTSUP;
	r = map_scratch(tid, syscall_insn, hooks, &scratch, ret_pending_sig);
	if (r < 0)
		return r;

	memset(page, INT3, sizeof(page));
	for (int i = 0; i < ALLOC_FN_MAX; i++) {
		struct patch_site *s = &ps->sites[ps->n_sites];
		uint8_t code[32];

		if (!hooks->addr[i] || patch_find(ps, hooks->addr[i]))
			continue; /* aliases (memalign is aligned_alloc in glibc): one breakpoint */
		s->fn = (enum alloc_fn)i;
		s->addr = hooks->addr[i];
		s->copy_addr = scratch + PATCH_SLOT * (ps->n_sites + 1);
		if (inject_read(mem_fd, s->addr, code, sizeof(code)) < 0 || code[0] == INT3 ||
		    insn_relocate(code, sizeof(code), s->addr, s->copy_addr, &s->copy) < 0 ||
		    s->copy.code_len > PATCH_SLOT) {
			if (i == ALLOC_MALLOC || i == ALLOC_FREE) {
				r = -ENOTSUP;
				goto fail;
			}
			skipped++;
			continue;
		}
		s->orig_byte = code[0];
		memcpy(page + PATCH_SLOT * (ps->n_sites + 1), s->copy.code, s->copy.code_len);
		ps->n_sites++;
	}
	r = inject_write(mem_fd, scratch, page, sizeof(page));
	if (r < 0)
		goto fail;
	ps->scratch = scratch;
	ps->tramp = scratch;
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
fail: {
	uint64_t un[6] = { scratch, PATCH_SCRATCH_SIZE, 0, 0, 0, 0 };
	int64_t res;
	int sig = 0;

	(void)inject_syscall(tid, syscall_insn, SYS_munmap, un, &res, &sig);
	if (sig && !*ret_pending_sig)
		*ret_pending_sig = sig;
	memset(ps, 0, sizeof(*ps));
	return r;
}
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
	ps->is_armed = false;
	return ret;
}

int patch_unmap(struct patch_set *ps, pid_t tid, uint64_t syscall_insn, int *ret_pending_sig)
{
	uint64_t un[6] = { ps->scratch, PATCH_SCRATCH_SIZE, 0, 0, 0, 0 };
	int64_t res;
	int r;

	*ret_pending_sig = 0;
	if (!ps->scratch)
		return 0;
	r = inject_syscall(tid, syscall_insn, SYS_munmap, un, &res, ret_pending_sig);
	if (r < 0)
		return r;
	ps->scratch = ps->tramp = 0;
	return res < 0 ? (int)res : 0;
}
