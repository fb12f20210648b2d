#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "heap/live.h"

#define KIND_SHIFT     48
#define MIN_CAPACITY   8
#define START_CAPACITY 64

/* See live.h for the layout. addr 0 marks an empty slot. */
struct live_slot {
	uint64_t addr;
	uint64_t size_kind;
	uint32_t time_ms;
	uint32_t stack_id;
};

_Static_assert(sizeof(struct live_slot) == 24, "live_slot must stay 24 bytes");
_Static_assert(ALLOC_FN_MAX <= 256, "kind is stored in 8 bits");

struct live_table {
	struct live_slot *slots;
	size_t mask;	     /* capacity - 1; capacity is a power of two */
	size_t grow_at;	     /* most blocks this capacity holds before doubling: 3/4 of it */
	size_t max_capacity; /* capacity that holds max_blocks at load <= 0.75 */
	size_t max_blocks;
	struct live_stats stats;
};

/* murmur3's fmix64: every input bit affects every output bit, so the low bits we index with
 * depend on all address bits, the always-zero alignment bits being harmless. */
static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static inline size_t home_of(uint64_t addr, size_t mask)
{
	return (size_t) mix(addr) & mask;
}

/* How far slot i is from the home slot of the address it holds. */
static inline size_t dist_of(uint64_t addr, size_t i, size_t mask)
{
	return (i - home_of(addr, mask)) & mask;
}

static inline size_t grow_at_for(size_t capacity)
{
	return capacity - capacity / 4;
}

static void slot_to_block(const struct live_slot *s, struct live_block *ret)
{
	ret->addr = s->addr;
	ret->size = s->size_kind & LIVE_SIZE_MAX;
	ret->kind = (enum alloc_fn)((s->size_kind >> KIND_SHIFT) & 0xff);
	ret->time_ms = s->time_ms;
	ret->stack_id = s->stack_id;
}

static inline uint64_t slot_size(const struct live_slot *s)
{
	return s->size_kind & LIVE_SIZE_MAX;
}

/*
 * Robin Hood placement of s, known absent, starting at slot i where it would sit at distance d:
 * whenever the resident is nearer its home than s is to its own, they swap and the resident moves
 * on. The caller guarantees an empty slot exists.
 */
static void place_from(struct live_slot *slots, size_t mask, struct live_slot s, size_t i, size_t d)
{
	for (;; i = (i + 1) & mask, d++) {
		struct live_slot *cur = &slots[i];
		struct live_slot tmp;
		size_t cur_d;

		if (!cur->addr) {
			*cur = s;
			return;
		}
		cur_d = dist_of(cur->addr, i, mask);
		if (cur_d < d) {
			tmp = *cur;
			*cur = s;
			s = tmp;
			d = cur_d;
		}
	}
}

/*
 * Probes for addr. Returns true with *ret_i its slot if present; otherwise false with *ret_i and
 * *ret_d the slot and distance where it would be placed. Terminates because one slot at least is
 * always empty.
 */
static bool probe(const struct live_table *t, uint64_t addr, size_t *ret_i, size_t *ret_d)
{
	size_t mask = t->mask, i = home_of(addr, mask), d;

	for (d = 0;; i = (i + 1) & mask, d++) {
		const struct live_slot *s = &t->slots[i];

		if (s->addr == addr) {
			*ret_i = i;
			return true;
		}
		if (!s->addr || dist_of(s->addr, i, mask) < d) {
			*ret_i = i;
			*ret_d = d;
			return false;
		}
	}
}

static int resize(struct live_table *t, size_t capacity)
{
	struct live_slot *slots, *old = t->slots;
	size_t mask = capacity - 1, i;

	slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i <= t->mask; i++)
		if (old[i].addr)
			place_from(slots, mask, old[i], home_of(old[i].addr, mask), 0);
	free(old);
	t->slots = slots;
	t->mask = mask;
	t->grow_at = grow_at_for(capacity);
	return 0;
}

struct live_table *live_new(size_t max_blocks)
{
	struct live_table *t;
	size_t capacity = MIN_CAPACITY;

	if (max_blocks == 0 || max_blocks > LIVE_BLOCKS_LIMIT)
		max_blocks = LIVE_BLOCKS_LIMIT;
	while (grow_at_for(capacity) < max_blocks)
		capacity *= 2;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max_blocks = max_blocks;
	t->max_capacity = capacity;
	if (capacity > START_CAPACITY)
		capacity = START_CAPACITY;
	t->slots = calloc(capacity, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->mask = capacity - 1;
	t->grow_at = grow_at_for(capacity);
	return t;
}

struct live_table *live_free(struct live_table *t)
{
	if (t) {
		free(t->slots);
		free(t);
	}
	return NULL;
}

int live_insert_or_replace(struct live_table *t, const struct live_block *b,
			   struct live_block *ret_replaced)
{
	struct live_slot s, *cur;
	bool is_clamped = b->size > LIVE_SIZE_MAX;
	uint64_t size = is_clamped ? LIVE_SIZE_MAX : b->size;
	size_t i, d = 0;

	if (!b->addr || (unsigned) b->kind >= ALLOC_FN_MAX)
		return -EINVAL;

	s.addr = b->addr;
	s.size_kind = size | (uint64_t) b->kind << KIND_SHIFT;
	s.time_ms = b->time_ms;
	s.stack_id = b->stack_id;

	if (probe(t, b->addr, &i, &d)) {
		cur = &t->slots[i];
		if (ret_replaced)
			slot_to_block(cur, ret_replaced);
		t->stats.live_bytes -= slot_size(cur);
		*cur = s;
		t->stats.replaced++;
		t->stats.allocs++;
		t->stats.clamped += is_clamped;
		t->stats.live_bytes += size;
		if (t->stats.live_bytes > t->stats.peak_live_bytes)
			t->stats.peak_live_bytes = t->stats.live_bytes;
		return 1;
	}

	if (t->stats.live_blocks >= t->max_blocks) {
		t->stats.dropped++;
		return -ENOSPC;
	}
	if (t->stats.live_blocks + 1 > t->grow_at) {
		if (t->mask + 1 < t->max_capacity && resize(t, (t->mask + 1) * 2) == 0) {
			i = home_of(b->addr, t->mask);
			d = 0;
		} else if (t->stats.live_blocks + 2 > t->mask + 1) {
			/* Could not double and only one empty slot is left: keep it. */
			t->stats.dropped++;
			return -ENOMEM;
		}
		/* else: doubling failed, run at a higher load until it works. */
	}

	place_from(t->slots, t->mask, s, i, d);
	t->stats.live_blocks++;
	t->stats.allocs++;
	t->stats.clamped += is_clamped;
	t->stats.live_bytes += size;
	if (t->stats.live_bytes > t->stats.peak_live_bytes)
		t->stats.peak_live_bytes = t->stats.live_bytes;
	return 0;
}

int live_insert(struct live_table *t, const struct live_block *b)
{
	return live_insert_or_replace(t, b, NULL);
}

int live_remove(struct live_table *t, uint64_t addr, struct live_block *ret_removed)
{
	struct live_slot *slots = t->slots;
	size_t mask = t->mask, i, j, d;

	if (!addr)
		return -ENOENT;
	if (!probe(t, addr, &i, &d)) {
		t->stats.unknown_frees++;
		return -ENOENT;
	}
	if (ret_removed)
		slot_to_block(&slots[i], ret_removed);
	t->stats.live_bytes -= slot_size(&slots[i]);
	t->stats.live_blocks--;
	t->stats.frees++;

	/* Backward shift: pull the following displaced slots one step nearer their home. */
	for (j = (i + 1) & mask; slots[j].addr && dist_of(slots[j].addr, j, mask) != 0;
	     j = (j + 1) & mask) {
		slots[i] = slots[j];
		i = j;
	}
	memset(&slots[i], 0, sizeof(slots[i]));
	return 0;
}

int live_lookup(const struct live_table *t, uint64_t addr, struct live_block *ret)
{
	size_t i, d;

	if (!addr || !probe(t, addr, &i, &d))
		return -ENOENT;
	if (ret)
		slot_to_block(&t->slots[i], ret);
	return 0;
}

void live_get_stats(const struct live_table *t, struct live_stats *ret)
{
	*ret = t->stats;
}

size_t live_memory_bytes(const struct live_table *t)
{
	return sizeof(*t) + (t->mask + 1) * sizeof(*t->slots);
}

int live_foreach(const struct live_table *t, int (*fn)(const struct live_block *b, void *userdata),
		 void *userdata)
{
	struct live_block b;
	size_t i;
	int r;

	for (i = 0; i <= t->mask; i++) {
		if (!t->slots[i].addr)
			continue;
		slot_to_block(&t->slots[i], &b);
		r = fn(&b, userdata);
		if (r)
			return r;
	}
	return 0;
}

int live_verify(const struct live_table *t, size_t *ret_max_probe)
{
	size_t mask = t->mask, i, j, n = 0, empty = 0, d, next_d, max_d = 0;
	uint64_t bytes = 0;

	for (i = 0; i <= mask; i++) {
		const struct live_slot *s = &t->slots[i];
		const struct live_slot *next = &t->slots[(i + 1) & mask];

		if (!s->addr) {
			if (s->size_kind || s->time_ms || s->stack_id)
				return -EUCLEAN;
			empty++;
			continue;
		}
		if ((s->size_kind >> KIND_SHIFT) >= ALLOC_FN_MAX)
			return -EUCLEAN;
		n++;
		bytes += slot_size(s);
		/* Robin Hood: the next slot's distance is at most one more than this one's. */
		d = dist_of(s->addr, i, mask);
		if (d > max_d)
			max_d = d;
		if (next->addr) {
			next_d = dist_of(next->addr, (i + 1) & mask, mask);
			if (next_d > d + 1)
				return -EUCLEAN;
		}
		/* The slot before a displaced block is never empty. */
		if (d > 0 && !t->slots[(i - 1) & mask].addr)
			return -EUCLEAN;
		/* And a lookup finds it where it is. */
		if (!probe(t, s->addr, &j, &d) || j != i)
			return -EUCLEAN;
	}
	if (n != t->stats.live_blocks || bytes != t->stats.live_bytes || empty == 0 ||
	    n > t->max_blocks ||
	    t->stats.live_blocks != t->stats.allocs - t->stats.frees - t->stats.replaced ||
	    t->stats.peak_live_bytes < t->stats.live_bytes)
		return -EUCLEAN;
	if (ret_max_probe)
		*ret_max_probe = max_d;
	return 0;
}
