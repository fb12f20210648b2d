/* events.c - allocator calls applied to the live-block table. */
#include "config.h"

#include "heap/events.h"

bool events_needs_return(enum hook_fn fn)
{
	return fn != HOOK_FREE;
}

static enum live_kind kind_of(enum hook_fn fn)
{
	switch (fn) {
	case HOOK_CALLOC:
		return LIVE_CALLOC;
	case HOOK_REALLOC:
		return LIVE_REALLOC;
	case HOOK_REALLOCARRAY:
		return LIVE_REALLOCARRAY;
	case HOOK_POSIX_MEMALIGN:
		return LIVE_POSIX_MEMALIGN;
	case HOOK_ALIGNED_ALLOC:
		return LIVE_ALIGNED_ALLOC;
	case HOOK_MEMALIGN:
		return LIVE_MEMALIGN;
	case HOOK_VALLOC:
		return LIVE_VALLOC;
	case HOOK_PVALLOC:
		return LIVE_PVALLOC;
	default:
		return LIVE_MALLOC;
	}
}

static void add_block(struct live_table *t, const struct alloc_event *ev, uint64_t addr,
		      uint64_t size)
{
	struct live_block b = { .addr = addr, .size = size, .time_ms = ev->time_ms,
				.stack_id = ev->stack_id, .kind = kind_of(ev->fn) };

	(void)live_insert(t, &b); /* a cap hit is counted by the table */
}

void events_apply(struct live_table *t, struct event_counts *c, const struct alloc_event *ev)
{
	uint64_t size, p;

	switch (ev->fn) {
	case HOOK_FREE:
		if (ev->arg[0] == 0)
			c->free_null++;
		else
			(void)live_remove(t, ev->arg[0], NULL); /* unknown: allocated before tracing */
		return;
	case HOOK_MALLOC:
	case HOOK_VALLOC:
	case HOOK_PVALLOC:
		size = ev->arg[0];
		break;
	case HOOK_CALLOC:
	case HOOK_REALLOCARRAY:
		if (__builtin_mul_overflow(ev->fn == HOOK_CALLOC ? ev->arg[0] : ev->arg[1],
					   ev->fn == HOOK_CALLOC ? ev->arg[1] : ev->arg[2], &size))
			size = UINT64_MAX;
		break;
	case HOOK_MEMALIGN:
	case HOOK_ALIGNED_ALLOC:
		size = ev->arg[1];
		break;
	case HOOK_POSIX_MEMALIGN:
		if (ev->result != 0) {
			c->failed++;
			return;
		}
		add_block(t, ev, ev->out_ptr, ev->arg[2]);
		return;
	case HOOK_REALLOC:
		size = ev->arg[1];
		break;
	default:
		return;
	}

	if (ev->fn == HOOK_REALLOC || ev->fn == HOOK_REALLOCARRAY) {
		p = ev->arg[0];
		if (ev->result == 0) {
			/* realloc(p, 0) frees p and returns NULL (glibc); otherwise it failed */
			if (p != 0 && size == 0)
				(void)live_remove(t, p, NULL);
			else
				c->failed++;
			return;
		}
		if (p != 0)
			(void)live_remove(t, p, NULL);
		add_block(t, ev, ev->result, size);
		return;
	}
	if (ev->result == 0) {
		c->failed++;
		return;
	}
	add_block(t, ev, ev->result, size);
}
