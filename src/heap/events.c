/* events.c - allocator calls applied to the live-block table. */
#include "config.h"

#include "heap/events.h"

bool events_needs_return(enum alloc_fn fn)
{
	return fn != ALLOC_FREE;
}

static void add_block(struct live_table *t, const struct alloc_event *ev, uint64_t addr,
		      uint64_t size)
{
	struct live_block b = { .addr = addr, .size = size, .time_ms = ev->time_ms,
				.stack_id = ev->stack_id, .kind = ev->fn };

	(void)live_insert(t, &b); /* a cap hit is counted by the table */
}

void events_apply(struct live_table *t, struct event_counts *c, const struct alloc_event *ev)
{
	uint64_t size, p;

	switch (ev->fn) {
	case ALLOC_FREE:
		if (ev->arg[0] == 0)
			c->free_null++;
		else
			(void)live_remove(t, ev->arg[0], NULL); /* unknown: allocated before tracing */
		return;
	case ALLOC_MALLOC:
	case ALLOC_VALLOC:
	case ALLOC_PVALLOC:
		size = ev->arg[0];
		break;
	case ALLOC_CALLOC:
	case ALLOC_REALLOCARRAY:
		if (__builtin_mul_overflow(ev->fn == ALLOC_CALLOC ? ev->arg[0] : ev->arg[1],
					   ev->fn == ALLOC_CALLOC ? ev->arg[1] : ev->arg[2], &size))
			size = UINT64_MAX;
		break;
	case ALLOC_MEMALIGN:
	case ALLOC_ALIGNED_ALLOC:
		size = ev->arg[1];
		break;
	case ALLOC_POSIX_MEMALIGN:
		if (ev->result != 0) {
			c->failed++;
			return;
		}
		add_block(t, ev, ev->out_ptr, ev->arg[2]);
		return;
	case ALLOC_REALLOC:
		size = ev->arg[1];
		break;
	default:
		return;
	}

	if (ev->fn == ALLOC_REALLOC || ev->fn == ALLOC_REALLOCARRAY) {
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
