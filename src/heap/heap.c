/* heap.c - the backend-neutral heap sink. See heap.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "heap/heap.h"

struct heap *heap_new(size_t max_blocks, bool has_stacks)
{
	struct heap *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->max_blocks = max_blocks;
	h->live = live_new(max_blocks);
	if (has_stacks)
		h->stacks = stacks_new(0);
	if (!h->live || (has_stacks && !h->stacks))
		return heap_free(h);
	h->start_ns = now_ns();
	return h;
}

struct heap *heap_free(struct heap *h)
{
	if (!h)
		return NULL;
	live_free(h->live);
	stacks_free(h->stacks);
	if (h->py && h->py_free)
		h->py_free(h->py);
	free(h->py_version);
	free(h);
	return NULL;
}

int heap_reset(struct heap *h)
{
	bool has_stacks = h->stacks != NULL;

	h->live = live_free(h->live);
	h->stacks = stacks_free(h->stacks);
	if (h->py && h->py_free)
		h->py_free(h->py);
	h->py = NULL;
	free(h->py_version);
	h->py_version = NULL;
	memset(&h->calls, 0, sizeof(h->calls));
	h->events = 0;
	h->unwind_failures = 0;
	h->start_ns = now_ns();
	h->live = live_new(h->max_blocks);
	if (has_stacks)
		h->stacks = stacks_new(0);
	return h->live && (!has_stacks || h->stacks) ? 0 : -ENOMEM;
}

void heap_apply(struct heap *h, const struct alloc_event *ev)
{
	if (!h->live)
		return;
	h->events++;
	events_apply(h->live, &h->calls, ev);
}

uint32_t heap_now_ms(const struct heap *h)
{
	return (uint32_t)((now_ns() - h->start_ns) / NSEC_PER_MSEC);
}

uint32_t heap_intern(struct heap *h, const uint64_t *pcs, size_t n)
{
	return h->stacks ? stacks_intern(h->stacks, pcs, n) : 0;
}

void heap_get_stats(const struct heap *h, struct heap_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (h->live)
		live_get_stats(h->live, &ret->live);
	ret->calls = h->calls;
	ret->events = h->events;
	ret->unwind_failures = h->unwind_failures;
	if (h->stacks) {
		struct stacks_stats ss;

		stacks_get_stats(h->stacks, &ss);
		ret->stacks = ss.stacks;
	}
}

size_t heap_memory_bytes(const struct heap *h, size_t *ret_stacks)
{
	size_t live = h->live ? live_memory_bytes(h->live) : 0, stacks = 0;

	if (h->stacks) {
		struct stacks_stats ss;

		stacks_get_stats(h->stacks, &ss);
		stacks = ss.memory_bytes;
	}
	if (ret_stacks)
		*ret_stacks = stacks;
	return sizeof(*h) + live + stacks;
}
