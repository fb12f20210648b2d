/* stacks.c - interned call stacks. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap/stacks.h"

struct stack {
	uint64_t hash;
	uint32_t depth;
	uint64_t *pcs;
};

struct stack_table {
	struct stack *stacks; /* index = id; stacks[0] unused */
	size_t n, cap, max;
	uint32_t *slots; /* open addressing over ids, 0 = empty */
	size_t n_slots;	 /* power of two */
	uint64_t pcs, overflow;
};

static uint64_t hash_pcs(const uint64_t *pcs, size_t depth)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ depth;

	for (size_t i = 0; i < depth; i++) {
		h ^= pcs[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

struct stack_table *stacks_new(size_t max_stacks)
{
	struct stack_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max = max_stacks ? max_stacks : (1U << 20);
	t->cap = 64;
	t->n = 1;
	t->n_slots = 128;
	t->stacks = calloc(t->cap, sizeof(*t->stacks));
	t->slots = calloc(t->n_slots, sizeof(*t->slots));
	if (!t->stacks || !t->slots)
		return stacks_free(t);
	return t;
}

struct stack_table *stacks_free(struct stack_table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 1; i < t->n; i++)
		free(t->stacks[i].pcs);
	free(t->stacks);
	free(t->slots);
	free(t);
	return NULL;
}

static int grow_slots(struct stack_table *t)
{
	size_t n = t->n_slots * 2;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t id = 1; id < t->n; id++) {
		size_t i = t->stacks[id].hash & (n - 1);

		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = (uint32_t)id;
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n;
	return 0;
}

uint32_t stacks_intern(struct stack_table *t, const uint64_t *pcs, size_t depth)
{
	uint64_t h;
	size_t i;
	struct stack *s;

	if (depth == 0 || depth > STACKS_DEPTH_MAX)
		return 0;
	h = hash_pcs(pcs, depth);
	for (i = h & (t->n_slots - 1); t->slots[i]; i = (i + 1) & (t->n_slots - 1)) {
		s = &t->stacks[t->slots[i]];
		if (s->hash == h && s->depth == depth &&
		    memcmp(s->pcs, pcs, depth * sizeof(*pcs)) == 0)
			return t->slots[i];
	}
	if (t->n > t->max || t->n >= UINT32_MAX) {
		t->overflow++;
		return 0;
	}
	if (t->n == t->cap) {
		struct stack *ns = realloc(t->stacks, t->cap * 2 * sizeof(*ns));

		if (!ns) {
			t->overflow++;
			return 0;
		}
		t->stacks = ns;
		t->cap *= 2;
	}
	s = &t->stacks[t->n];
	s->pcs = malloc(depth * sizeof(*pcs));
	if (!s->pcs) {
		t->overflow++;
		return 0;
	}
	memcpy(s->pcs, pcs, depth * sizeof(*pcs));
	s->hash = h;
	s->depth = (uint32_t)depth;
	t->slots[i] = (uint32_t)t->n;
	t->pcs += depth;
	t->n++;
	if (t->n * 2 > t->n_slots)
		(void)grow_slots(t); /* on failure the load just rises; lookups still terminate */
	return (uint32_t)(t->n - 1);
}

size_t stacks_get(const struct stack_table *t, uint32_t id, const uint64_t **ret_pcs)
{
	if (id == 0 || id >= t->n)
		return 0;
	*ret_pcs = t->stacks[id].pcs;
	return t->stacks[id].depth;
}

void stacks_get_stats(const struct stack_table *t, struct stacks_stats *ret)
{
	ret->stacks = t->n - 1;
	ret->pcs = t->pcs;
	ret->overflow = t->overflow;
	ret->memory_bytes = sizeof(*t) + t->cap * sizeof(struct stack) +
			    t->n_slots * sizeof(uint32_t) + t->pcs * sizeof(uint64_t);
}
