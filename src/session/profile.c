/* profile.c - every live call site of a traced target, symbolized. See profile.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "heap/allocfn.h"
#include "session/profile.h"

struct agg {
	uint32_t stack_id;
	bool is_used;
	enum alloc_fn kind;
	uint64_t bytes, blocks;
};

struct agg_table {
	struct agg *slots;
	size_t n_slots, n;
};

/* pc -> its frames in the profile's table */
struct pc_slot {
	uint64_t pc;
	uint32_t first, n; /* n == 0: empty slot */
};

struct builder {
	struct report_profile *p;
	size_t cap_frames, cap_refs;
	struct pc_slot *pcs;
	size_t n_pcs_slots, n_pcs;
	struct symbolizer *sym;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static int agg_block(const struct live_block *b, void *userdata)
{
	struct agg_table *a = userdata;
	size_t mask = a->n_slots - 1, i = mix64(b->stack_id) & mask;

	while (a->slots[i].is_used && a->slots[i].stack_id != b->stack_id)
		i = (i + 1) & mask;
	if (!a->slots[i].is_used) {
		a->slots[i].is_used = true;
		a->slots[i].stack_id = b->stack_id;
		a->n++;
	}
	a->slots[i].bytes += b->size;
	a->slots[i].blocks++;
	a->slots[i].kind = b->kind;
	return 0;
}

static int cmp_agg(const void *x, const void *y)
{
	const struct agg *a = x, *b = y;

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 256;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*arr, c * size);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = c;
	return 0;
}

static int pcs_grow(struct builder *b)
{
	size_t n_slots = b->n_pcs_slots ? b->n_pcs_slots * 2 : 1024;
	struct pc_slot *slots = calloc(n_slots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_pcs_slots; i++) {
		size_t k;

		if (!b->pcs[i].n)
			continue;
		for (k = mix64(b->pcs[i].pc) & (n_slots - 1); slots[k].n; k = (k + 1) & (n_slots - 1))
			;
		slots[k] = b->pcs[i];
	}
	free(b->pcs);
	b->pcs = slots;
	b->n_pcs_slots = n_slots;
	return 0;
}

/* The frames of pc in the profile's table (added when new). */
static int frames_of(struct builder *b, uint64_t pc, uint32_t *ret_first, uint32_t *ret_n)
{
	struct report_profile *p = b->p;
	struct sym_frame frames[SYM_INLINE_MAX];
	size_t mask, i;
	int n;

	if ((b->n_pcs + 1) * 2 > b->n_pcs_slots && pcs_grow(b) < 0)
		return -ENOMEM;
	mask = b->n_pcs_slots - 1;
	for (i = mix64(pc) & mask; b->pcs[i].n; i = (i + 1) & mask)
		if (b->pcs[i].pc == pc) {
			*ret_first = b->pcs[i].first;
			*ret_n = b->pcs[i].n;
			return 0;
		}
	n = b->sym ? symbolizer_lookup(b->sym, pc, true, frames, SYM_INLINE_MAX) : 0;
	if (n <= 0) {
		frames[0] = (struct sym_frame){ .pc = pc };
		n = 1;
	}
	if (grow((void **)&p->frames, &b->cap_frames, p->n_frames + (size_t)n, sizeof(*p->frames)) < 0)
		return -ENOMEM;
	memcpy(p->frames + p->n_frames, frames, (size_t)n * sizeof(frames[0]));
	b->pcs[i] = (struct pc_slot){ .pc = pc, .first = (uint32_t)p->n_frames, .n = (uint32_t)n };
	p->n_frames += (size_t)n;
	b->n_pcs++;
	*ret_first = b->pcs[i].first;
	*ret_n = b->pcs[i].n;
	return 0;
}

static int add_site(struct builder *b, const struct stack_table *stacks, const struct agg *a)
{
	struct report_profile *p = b->p;
	struct report_profile_site *s = &p->sites[p->n_sites];
	const uint64_t *pcs;
	size_t depth = stacks ? stacks_get(stacks, a->stack_id, &pcs) : 0;

	*s = (struct report_profile_site){ .live_bytes = a->bytes, .live_blocks = a->blocks,
					   .kind = a->kind, .first = p->n_refs };
	for (size_t i = 0; i < depth; i++) {
		uint32_t first, n;

		if (frames_of(b, pcs[i], &first, &n) < 0 ||
		    grow((void **)&p->refs, &b->cap_refs, p->n_refs + n, sizeof(*p->refs)) < 0)
			return -ENOMEM;
		for (uint32_t k = 0; k < n; k++)
			p->refs[p->n_refs++] = first + k;
	}
	s->n = p->n_refs - s->first;
	/* frames[0] is the allocator's caller, as in the report's sites */
	while (s->n > 1 && alloc_fn_is_allocator_name(p->frames[p->refs[s->first]].function)) {
		s->first++;
		s->n--;
	}
	p->n_sites++;
	return 0;
}

int profile_build(struct target *t)
{
	struct agg_table a = { 0 };
	struct builder b = { 0 };
	struct live_stats ls;
	size_t used = 0, keep;
	int r = 0;

	t->profile = report_profile_free(t->profile);
	if (!t->heap || !t->heap->live || !t->has_stats)
		return 0;
	live_get_stats(t->heap->live, &ls);
	a.n_slots = 64;
	while (a.n_slots < ls.live_blocks * 2)
		a.n_slots *= 2;
	a.slots = calloc(a.n_slots, sizeof(*a.slots));
	b.p = calloc(1, sizeof(*b.p));
	if (!a.slots || !b.p) {
		r = -ENOMEM;
		goto out;
	}
	(void)live_foreach(t->heap->live, agg_block, &a);
	for (size_t i = 0; i < a.n_slots; i++)
		if (a.slots[i].is_used)
			a.slots[used++] = a.slots[i];
	qsort(a.slots, used, sizeof(*a.slots), cmp_agg);
	keep = used > REPORT_PROFILE_SITES_MAX ? REPORT_PROFILE_SITES_MAX - 1 : used;
	b.p->sites = calloc(keep + 1, sizeof(*b.p->sites));
	if (!b.p->sites) {
		r = -ENOMEM;
		goto out;
	}
	if (!t->sym && t->proc_fd >= 0)
		t->sym = symbolizer_new(t->pid);
	b.sym = t->sym;
	symbolizer_set_python(t->sym, t->heap->py);
	for (size_t i = 0; i < used; i++) {
		b.p->live_bytes += a.slots[i].bytes;
		b.p->live_blocks += a.slots[i].blocks;
	}
	for (size_t i = 0; i < keep; i++) {
		r = add_site(&b, t->heap->stacks, &a.slots[i]);
		if (r < 0)
			goto out;
	}
	if (keep < used) {
		struct report_profile_site *o = &b.p->sites[b.p->n_sites++];

		*o = (struct report_profile_site){ .is_other = true, .first = b.p->n_refs };
		for (size_t i = keep; i < used; i++) {
			o->live_bytes += a.slots[i].bytes;
			o->live_blocks += a.slots[i].blocks;
		}
		b.p->omitted_sites = used - keep;
	}
	t->profile = steal_ptr(&b.p);
out:
	report_profile_free(b.p);
	free(b.pcs);
	free(a.slots);
	return r;
}

void profile_warm(struct target *t)
{
	struct stacks_stats st;
	struct sym_frame frames[SYM_INLINE_MAX];
	size_t done = 0;

	if (!t->heap || !t->heap->stacks || t->proc_fd < 0)
		return;
	stacks_get_stats(t->heap->stacks, &st);
	if (st.stacks + 1 < t->warm_next)
		t->warm_next = 1; /* the table started over */
	if (t->warm_next == 0)
		t->warm_next = 1;
	if (t->warm_next > st.stacks)
		return;
	if (!t->sym)
		t->sym = symbolizer_new(t->pid);
	if (!t->sym)
		return;
	symbolizer_set_python(t->sym, t->heap->py);
	for (; t->warm_next <= st.stacks && done < PROFILE_WARM_STACKS; t->warm_next++, done++) {
		const uint64_t *pcs;
		size_t depth = stacks_get(t->heap->stacks, (uint32_t)t->warm_next, &pcs);

		for (size_t i = 0; i < depth; i++)
			(void)symbolizer_lookup(t->sym, pcs[i], true, frames, SYM_INLINE_MAX);
	}
}

void profile_reset(struct target *t)
{
	t->profile = report_profile_free(t->profile);
	t->warm_next = 1;
}
