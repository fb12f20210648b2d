/* agent_ring.c - the consumer side of the agent's rings (abi.h's bounded MPSC protocol).
 *
 * Events are consumed strictly in ring order. Samples are matched to their events by (ptr, fn,
 * size): the agent claims an event's cell before it publishes the event's sample and publishes the
 * event after it, so when a sampled event is visible its sample is too, and it is the oldest ready
 * unconsumed sample with that key (an address can only be handed out again after its free, whose
 * event comes later). Samples of different threads can be published out of order, so a sample may
 * be consumed before older cells are: the consumer marks it and releases cells to the agent in
 * order, as the marks allow.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/agent_ring.h"

#define CELL_ALIGN 64u
#define PAGE	   4096u

struct agent_consumer {
	uint8_t *base;
	struct agent_layout l;
	struct agent_shared *sh;
	uint64_t ev_tail, sm_tail;
	uint8_t *sm_done; /* per sample cell: consumed out of order, not yet released */
	struct agent_consumer_stats stats;
};

static bool is_pow2(uint32_t n)
{
	return n && !(n & (n - 1));
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

int agent_shared_layout(uint32_t n_threads, uint32_t n_events, uint32_t n_samples,
			uint32_t stack_copy, struct agent_layout *ret_layout)
{
	struct agent_layout l = {.n_threads = n_threads,
				 .n_events = n_events,
				 .n_samples = n_samples,
				 .stack_copy = stack_copy};
	uint64_t off = sizeof(struct agent_shared), cell;

	if (!is_pow2(n_threads) || !is_pow2(n_events) || !is_pow2(n_samples))
		return -EINVAL;
	cell = align_up(sizeof(struct agent_sample) + (uint64_t) stack_copy + AGENT_PY_RESERVE,
			CELL_ALIGN);
	l.threads_off = (uint32_t) off;
	off = align_up(off + (uint64_t) n_threads * sizeof(struct agent_thread), CELL_ALIGN);
	if (off > UINT32_MAX)
		return -E2BIG;
	l.events_off = (uint32_t) off;
	off = align_up(off + (uint64_t) n_events * sizeof(struct agent_event), CELL_ALIGN);
	if (off > UINT32_MAX || cell > UINT32_MAX)
		return -E2BIG;
	l.samples_off = (uint32_t) off;
	l.sample_cell_size = (uint32_t) cell;
	off = align_up(off + (uint64_t) n_samples * cell, CELL_ALIGN);
	if (off > UINT32_MAX)
		return -E2BIG;
	l.pyset_off = (uint32_t) off;
	l.n_pybuckets = AGENT_PYSET_BUCKETS;
	off = align_up(off + (uint64_t) AGENT_PYSET_BUCKETS * AGENT_PYSET_WAYS * sizeof(uint64_t) +
			   AGENT_PYFILTER_BYTES,
		       PAGE);
	if (off > UINT32_MAX)
		return -E2BIG;
	l.total_size = off;
	*ret_layout = l;
	return 0;
}

void agent_shared_init(void *mem, const struct agent_layout *l, uint64_t sample_bytes)
{
	struct agent_shared *sh = mem;
	uint8_t *base = mem;

	memset(mem, 0, l->total_size);
	sh->magic = AGENT_SHARED_MAGIC;
	sh->abi_version = AGENT_ABI_VERSION;
	sh->header_size = sizeof(*sh);
	sh->total_size = l->total_size;
	sh->sample_bytes = sample_bytes;
	sh->stack_copy = l->stack_copy;
	sh->threads_off = l->threads_off;
	sh->n_threads = l->n_threads;
	sh->events_off = l->events_off;
	sh->n_events = l->n_events;
	sh->samples_off = l->samples_off;
	sh->n_samples = l->n_samples;
	sh->sample_cell_size = l->sample_cell_size;
	sh->pyset_off = l->pyset_off;
	sh->n_pybuckets = l->n_pybuckets;
	sh->py_sample_bytes = 0;
	for (uint32_t i = 0; i < l->n_events; i++)
		((struct agent_event *) (base + l->events_off))[i].seq = i;
	for (uint32_t i = 0; i < l->n_samples; i++)
		((struct agent_sample *) (base + l->samples_off +
					  (uint64_t) i * l->sample_cell_size))
		    ->seq = i;
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Whether [off, off + len) lies in [lo, hi). */
static bool is_inside(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && len <= hi - off;
}

static bool is_apart(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

/* Read and check the layout of a region; false if anything is out of place. */
static bool read_layout(const struct agent_shared *sh, size_t map_size, struct agent_layout *l)
{
	uint64_t threads_len, events_len, samples_len, pyset_len;

	if (sh->magic != AGENT_SHARED_MAGIC || sh->abi_version != AGENT_ABI_VERSION ||
	    sh->header_size != sizeof(*sh) || sh->total_size > map_size ||
	    sh->total_size > UINT32_MAX)
		return false;
	*l = (struct agent_layout){
	    .n_threads = sh->n_threads,
	    .n_events = sh->n_events,
	    .n_samples = sh->n_samples,
	    .stack_copy = sh->stack_copy,
	    .threads_off = sh->threads_off,
	    .events_off = sh->events_off,
	    .samples_off = sh->samples_off,
	    .sample_cell_size = sh->sample_cell_size,
	    .pyset_off = sh->pyset_off,
	    .n_pybuckets = sh->n_pybuckets,
	    .total_size = sh->total_size,
	};
	if (!is_pow2(l->n_threads) || !is_pow2(l->n_events) || !is_pow2(l->n_samples))
		return false;
	if (l->threads_off % CELL_ALIGN || l->events_off % CELL_ALIGN ||
	    l->samples_off % CELL_ALIGN || l->sample_cell_size % CELL_ALIGN ||
	    l->sample_cell_size < sizeof(struct agent_sample) + AGENT_PY_RESERVE ||
	    l->pyset_off % CELL_ALIGN || (l->n_pybuckets && !is_pow2(l->n_pybuckets)))
		return false;
	threads_len = (uint64_t) l->n_threads * sizeof(struct agent_thread);
	events_len = (uint64_t) l->n_events * sizeof(struct agent_event);
	samples_len = (uint64_t) l->n_samples * l->sample_cell_size;
	pyset_len = l->n_pybuckets ? (uint64_t) l->n_pybuckets * AGENT_PYSET_WAYS * sizeof(uint64_t) +
					 AGENT_PYFILTER_BYTES
				   : 0;
	if (!is_inside(l->threads_off, threads_len, sizeof(*sh), l->total_size) ||
	    !is_inside(l->events_off, events_len, sizeof(*sh), l->total_size) ||
	    !is_inside(l->samples_off, samples_len, sizeof(*sh), l->total_size) ||
	    !is_inside(l->pyset_off, pyset_len, sizeof(*sh), l->total_size))
		return false;
	if (!is_apart(l->pyset_off, pyset_len, l->threads_off, threads_len) ||
	    !is_apart(l->pyset_off, pyset_len, l->events_off, events_len) ||
	    !is_apart(l->pyset_off, pyset_len, l->samples_off, samples_len))
		return false;
	if (!is_apart(l->threads_off, threads_len, l->events_off, events_len) ||
	    !is_apart(l->threads_off, threads_len, l->samples_off, samples_len) ||
	    !is_apart(l->events_off, events_len, l->samples_off, samples_len))
		return false;
	if (l->stack_copy > l->sample_cell_size - sizeof(struct agent_sample) - AGENT_PY_RESERVE)
		l->stack_copy = l->sample_cell_size - (uint32_t) sizeof(struct agent_sample) -
				AGENT_PY_RESERVE;
	return true;
}

static struct agent_event *ev_cell(const struct agent_consumer *c, uint64_t pos);
static struct agent_sample *sm_cell(const struct agent_consumer *c, uint64_t pos);

static uint64_t ev_seq(const struct agent_consumer *c, uint64_t pos)
{
	return __atomic_load_n(&ev_cell(c, pos)->seq, __ATOMIC_ACQUIRE);
}

static uint64_t sm_seq(const struct agent_consumer *c, uint64_t pos)
{
	return __atomic_load_n(&sm_cell(c, pos)->seq, __ATOMIC_ACQUIRE);
}

/* The consumer's position in a ring whose producers are at head: the first position of the last
 * lap (head - n .. head) whose cell was not released back to the producers (a released cell at
 * pos carries pos + n). Cells before it were consumed; from it on they are published, or being
 * written. */
static uint64_t resync_tail(const struct agent_consumer *c, uint64_t head, uint32_t n,
			    uint64_t (*seq)(const struct agent_consumer *, uint64_t))
{
	uint64_t pos = head >= n ? head - n : 0;

	for (; pos < head; pos++)
		if (seq(c, pos) != pos + n)
			break;
	return pos;
}

int agent_consumer_new(void *mem, size_t map_size, struct agent_consumer **ret)
{
	struct agent_consumer *c;
	struct agent_layout l;

	if (!mem || (uintptr_t) mem % 8 || map_size < sizeof(struct agent_shared) ||
	    !read_layout(mem, map_size, &l))
		return -EBADMSG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sm_done = calloc(l.n_samples, 1);
	if (!c->sm_done) {
		free(c);
		return -ENOMEM;
	}
	c->base = mem;
	c->sh = mem;
	c->l = l;
	/* the tails the header says may be stale (a consumer killed in the middle of a drain
	 * releases cells before it publishes its tail): find them from the cells themselves */
	c->ev_tail = resync_tail(c, __atomic_load_n(&c->sh->ev_head, __ATOMIC_ACQUIRE),
				 l.n_events, ev_seq);
	c->sm_tail = resync_tail(c, __atomic_load_n(&c->sh->sm_head, __ATOMIC_ACQUIRE),
				 l.n_samples, sm_seq);
	*ret = c;
	return 0;
}

struct agent_consumer *agent_consumer_free(struct agent_consumer *c)
{
	if (c) {
		free(c->sm_done);
		free(c);
	}
	return NULL;
}

const struct agent_layout *agent_consumer_layout(const struct agent_consumer *c)
{
	return &c->l;
}

static struct agent_event *ev_cell(const struct agent_consumer *c, uint64_t pos)
{
	return (struct agent_event *) (c->base + c->l.events_off) + (pos & (c->l.n_events - 1));
}

static struct agent_sample *sm_cell(const struct agent_consumer *c, uint64_t pos)
{
	return (struct agent_sample *) (c->base + c->l.samples_off +
					(pos & (c->l.n_samples - 1)) * c->l.sample_cell_size);
}

static bool is_published(const uint64_t *seq, uint64_t pos)
{
	return __atomic_load_n(seq, __ATOMIC_ACQUIRE) == pos + 1;
}

/* Mark the sample at pos consumed; hand every consumed cell at the tail back to the agent. */
static void sample_release(struct agent_consumer *c, uint64_t pos)
{
	uint32_t mask = c->l.n_samples - 1;

	c->sm_done[pos & mask] = 1;
	while (c->sm_done[c->sm_tail & mask]) {
		c->sm_done[c->sm_tail & mask] = 0;
		__atomic_store_n(&sm_cell(c, c->sm_tail)->seq, c->sm_tail + c->l.n_samples,
				 __ATOMIC_RELEASE);
		c->sm_tail++;
	}
}

/* Copy the sample at pos into *view. */
static void sample_read(struct agent_consumer *c, uint64_t pos, struct agent_sample_view *view)
{
	const struct agent_sample *s = sm_cell(c, pos);
	uint32_t cap = c->l.sample_cell_size - (uint32_t) sizeof(*s) - AGENT_PY_RESERVE;
	const struct agent_pyframe *py =
	    (const struct agent_pyframe *) ((const uint8_t *) s + c->l.sample_cell_size -
					    AGENT_PY_RESERVE);

	view->n_py = __atomic_load_n(&s->n_py, __ATOMIC_RELAXED);
	if (view->n_py > AGENT_PY_FRAMES_MAX) {
		view->n_py = 0;
		c->stats.bad_samples++;
	}
	memcpy(view->py, py, view->n_py * sizeof(*py));
	view->ptr = __atomic_load_n(&s->ptr, __ATOMIC_RELAXED);
	view->size = __atomic_load_n(&s->size, __ATOMIC_RELAXED);
	view->period = __atomic_load_n(&s->period, __ATOMIC_RELAXED);
	view->fn = __atomic_load_n(&s->fn, __ATOMIC_RELAXED);
	view->tid = __atomic_load_n(&s->tid, __ATOMIC_RELAXED);
	for (int i = 0; i < AGENT_REG_MAX; i++)
		view->regs[i] = __atomic_load_n(&s->regs[i], __ATOMIC_RELAXED);
	view->stack = s->stack;
	view->stack_len = __atomic_load_n(&s->stack_len, __ATOMIC_RELAXED);
	if (view->stack_len > cap) {
		view->stack_len = cap;
		c->stats.bad_samples++;
	}
}

/* Find the oldest ready, unconsumed sample of ev. Returns its position, or -1. */
static int64_t sample_find(const struct agent_consumer *c, const struct agent_record *ev)
{
	uint64_t head = __atomic_load_n(&c->sh->sm_head, __ATOMIC_RELAXED);
	uint64_t span = head - c->sm_tail;
	uint32_t mask = c->l.n_samples - 1;

	if (span > c->l.n_samples)
		span = c->l.n_samples;
	for (uint64_t pos = c->sm_tail; pos != c->sm_tail + span; pos++) {
		const struct agent_sample *s = sm_cell(c, pos);

		if (c->sm_done[pos & mask] || !is_published(&s->seq, pos))
			continue;
		if (__atomic_load_n(&s->ptr, __ATOMIC_RELAXED) == ev->ptr &&
		    __atomic_load_n(&s->fn, __ATOMIC_RELAXED) == ev->fn &&
		    __atomic_load_n(&s->size, __ATOMIC_RELAXED) == ev->size)
			return (int64_t) pos;
	}
	return -1;
}

/* Release published samples at the tail that no event will claim: when every claimed event has
 * been consumed, a sample published before we looked at the event head has had its event (the
 * agent claims the event first), so it is an orphan. */
static void release_orphans(struct agent_consumer *c)
{
	for (uint32_t i = 0; i < c->l.n_samples; i++) {
		uint64_t pos = c->sm_tail;

		if (!is_published(&sm_cell(c, pos)->seq, pos))
			return;
		if (__atomic_load_n(&c->sh->ev_head, __ATOMIC_ACQUIRE) != c->ev_tail)
			return;
		c->stats.orphan_samples++;
		sample_release(c, pos);
	}
}

size_t agent_consumer_drain(struct agent_consumer *c, size_t max, agent_event_fn fn, void *userdata)
{
	size_t n = 0;

	for (; n < max; n++) {
		struct agent_event *cell = ev_cell(c, c->ev_tail);
		struct agent_sample_view view;
		struct agent_record ev;
		uint64_t size_fn;
		int64_t spos = -1;

		if (!is_published(&cell->seq, c->ev_tail))
			break;
		size_fn = __atomic_load_n(&cell->size_fn, __ATOMIC_RELAXED);
		ev = (struct agent_record){
		    .fn = (enum alloc_fn)((size_fn >> AGENT_EV_FN_SHIFT) & 0xff),
		    .ptr = __atomic_load_n(&cell->ptr, __ATOMIC_RELAXED),
		    .old = __atomic_load_n(&cell->old, __ATOMIC_RELAXED),
		    .size = size_fn & AGENT_EV_SIZE_MASK,
		    .is_sampled = (size_fn >> AGENT_EV_FLAGS_SHIFT) & AGENT_EV_SAMPLED,
		    .is_python = (size_fn >> AGENT_EV_FLAGS_SHIFT) & AGENT_EV_PYTHON,
		};
		if ((unsigned) ev.fn >= ALLOC_FN_MAX) {
			c->stats.corrupt_events++;
		} else {
			if (ev.is_sampled) {
				spos = sample_find(c, &ev);
				if (spos >= 0) {
					sample_read(c, (uint64_t) spos, &view);
					view.is_python = ev.is_python;
				}
				else
					c->stats.missing_samples++;
			}
			fn(&ev, spos >= 0 ? &view : NULL, userdata);
			c->stats.events++;
			if (spos >= 0) {
				c->stats.samples++;
				sample_release(c, (uint64_t) spos);
			}
		}
		__atomic_store_n(&cell->seq, c->ev_tail + c->l.n_events, __ATOMIC_RELEASE);
		c->ev_tail++;
	}
	release_orphans(c);
	__atomic_store_n(&c->sh->ev_tail, c->ev_tail, __ATOMIC_RELAXED);
	__atomic_store_n(&c->sh->sm_tail, c->sm_tail, __ATOMIC_RELAXED);
	return n;
}

uint64_t agent_consumer_backlog(const struct agent_consumer *c)
{
	uint64_t d = __atomic_load_n(&c->sh->ev_head, __ATOMIC_RELAXED) - c->ev_tail;

	return d > c->l.n_events ? c->l.n_events : d;
}

void agent_consumer_counters(const struct agent_consumer *c, struct agent_counters *ret)
{
	ret->lost_events = __atomic_load_n(&c->sh->lost_events, __ATOMIC_RELAXED);
	ret->lost_samples = __atomic_load_n(&c->sh->lost_samples, __ATOMIC_RELAXED);
	ret->nested = __atomic_load_n(&c->sh->nested, __ATOMIC_RELAXED);
	ret->no_slot = __atomic_load_n(&c->sh->no_slot, __ATOMIC_RELAXED);
	ret->py_samples = __atomic_load_n(&c->sh->py_samples, __ATOMIC_RELAXED);
	ret->py_set_full = __atomic_load_n(&c->sh->py_set_full, __ATOMIC_RELAXED);
}

void agent_consumer_set_py_sampling(struct agent_consumer *c, uint64_t py_sample_bytes)
{
	__atomic_store_n(&c->sh->py_sample_bytes, py_sample_bytes, __ATOMIC_RELAXED);
}

void agent_consumer_stats(const struct agent_consumer *c, struct agent_consumer_stats *ret)
{
	*ret = c->stats;
}

void agent_consumer_set_sampling(struct agent_consumer *c, uint64_t sample_bytes,
				 uint32_t stack_copy)
{
	uint32_t cap = c->l.sample_cell_size - (uint32_t) sizeof(struct agent_sample) -
		       AGENT_PY_RESERVE;

	if (stack_copy > cap)
		stack_copy = cap;
	c->l.stack_copy = stack_copy;
	__atomic_store_n(&c->sh->sample_bytes, sample_bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&c->sh->stack_copy, stack_copy, __ATOMIC_RELAXED);
}

unsigned agent_threads_reclaim(struct agent_consumer *c, agent_tid_alive_fn is_alive,
			       void *userdata)
{
	struct agent_thread *slots = (struct agent_thread *) (c->base + c->l.threads_off);
	unsigned freed = 0;

	for (uint32_t i = 0; i < c->l.n_threads; i++) {
		struct agent_thread *t = &slots[i];
		uint64_t key = __atomic_load_n(&t->key, __ATOMIC_ACQUIRE);
		uint32_t tid = __atomic_load_n(&t->tid, __ATOMIC_RELAXED);

		if (!key || !tid || is_alive(tid, userdata))
			continue;
		/* fields first, then the key: a new owner's claim is never clobbered */
		__atomic_store_n(&t->tid, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&t->depth, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&t->until_sample, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&t->rng, 0, __ATOMIC_RELAXED);
		if (__atomic_compare_exchange_n(&t->key, &key, 0, false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			freed++;
	}
	return freed;
}
