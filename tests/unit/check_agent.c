/* check_agent.c - the agent's shared region and its ring consumer (no ptrace).
 *
 * Regions are made by agent_shared_init in this process; the tests play the producer by writing
 * cells the way abi.h says, and read what the consumer delivers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend/agent_ring.h"
#include "check_main.h"

#define MAX_COLLECT 4096
#define COPY_STACK  8192 /* bytes of a sample's stack the tests keep */

/* A shared region and its consumer. */
struct fixture {
	struct agent_layout l;
	void *shm;
	struct agent_consumer *c;
};

/* What a drain delivered. */
struct collected {
	struct agent_record ev;
	bool has_sample;
	struct agent_sample_view s;
	uint8_t stack[COPY_STACK];
};

static struct collected got[MAX_COLLECT];
static size_t n_got;

static void collect(const struct agent_record *ev, const struct agent_sample_view *s, void *ud)
{
	struct collected *g;

	(void) ud;
	ck_assert_uint_lt(n_got, MAX_COLLECT);
	g = &got[n_got++];
	g->ev = *ev;
	g->has_sample = s != NULL;
	if (s) {
		g->s = *s;
		memcpy(g->stack, s->stack, s->stack_len < COPY_STACK ? s->stack_len : COPY_STACK);
	}
}

static size_t drain(struct fixture *f)
{
	n_got = 0;
	return agent_consumer_drain(f->c, MAX_COLLECT, collect, NULL);
}
/* A shared region and its consumer, no agent. */
static void region_open(struct fixture *f, uint32_t n_threads, uint32_t n_events,
			uint32_t n_samples, uint32_t stack_copy, uint64_t sample_bytes)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(agent_shared_layout(n_threads, n_events, n_samples, stack_copy, &f->l), 0);
	f->shm =
	    mmap(NULL, f->l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(f->shm, MAP_FAILED);
	agent_shared_init(f->shm, &f->l, sample_bytes);
	ck_assert_int_eq(agent_consumer_new(f->shm, f->l.total_size, &f->c), 0);
}

static void region_close(struct fixture *f)
{
	f->c = agent_consumer_free(f->c);
	ck_assert_int_eq(munmap(f->shm, f->l.total_size), 0);
}

static struct agent_consumer_stats stats(const struct fixture *f)
{
	struct agent_consumer_stats s;

	agent_consumer_stats(f->c, &s);
	return s;
}

#define U(x) ((uint64_t) (uintptr_t) (x))

static void expect_event(size_t i, enum alloc_fn fn, uint64_t ptr, uint64_t old, uint64_t size)
{
	ck_assert_uint_lt(i, n_got);
	ck_assert_msg(got[i].ev.fn == fn, "event %zu: fn %d, expected %d", i, got[i].ev.fn, fn);
	ck_assert_uint_eq(got[i].ev.ptr, ptr);
	ck_assert_uint_eq(got[i].ev.old, old);
	ck_assert_uint_eq(got[i].ev.size, size);
}

/* ---- the consumer against a hostile region ---- */

START_TEST(test_layout)
{
	struct agent_layout l;

	ck_assert_int_eq(agent_shared_layout(0, 16, 16, 0, &l), -EINVAL);
	ck_assert_int_eq(agent_shared_layout(16, 12, 16, 0, &l), -EINVAL);
	ck_assert_int_eq(agent_shared_layout(16, 16, 0, 0, &l), -EINVAL);
	ck_assert_int_eq(agent_shared_layout(16, 16, 1u << 20, 1u << 20, &l), -E2BIG);
	ck_assert_int_eq(agent_shared_layout(1u << 31, 16, 16, 0, &l), -E2BIG);
	ck_assert_int_eq(agent_shared_layout(64, 1024, 32, 1000, &l), 0);
	ck_assert_uint_eq(l.threads_off, sizeof(struct agent_shared));
	ck_assert_uint_eq(l.events_off, l.threads_off + 64 * sizeof(struct agent_thread));
	ck_assert_uint_eq(l.samples_off, l.events_off + 1024 * sizeof(struct agent_event));
	ck_assert_uint_eq(l.sample_cell_size, 1152); /* 112 + 1000 rounded up to 64 */
	ck_assert_uint_eq(l.total_size % 4096, 0);
	ck_assert_uint_ge(l.total_size, l.samples_off + 32 * 1152);
	ck_assert_uint_lt(l.total_size, l.samples_off + 32 * 1152 + 4096);
}
END_TEST

START_TEST(test_consumer_rejects)
{
	struct agent_layout l;
	struct agent_consumer *c = NULL;
	struct agent_shared *sh;
	uint8_t *mem;

	ck_assert_int_eq(agent_shared_layout(16, 64, 4, 256, &l), 0);
	mem = aligned_alloc(64, l.total_size);
	sh = (struct agent_shared *) mem;
#define REJECT(expr)                                                                               \
	do {                                                                                       \
		agent_shared_init(mem, &l, 0);                                                     \
		expr;                                                                              \
		ck_assert_int_eq(agent_consumer_new(mem, l.total_size, &c), -EBADMSG);             \
	} while (0)
	agent_shared_init(mem, &l, 0);
	ck_assert_int_eq(agent_consumer_new(mem, l.total_size, &c), 0);
	c = agent_consumer_free(c);
	ck_assert_ptr_null(c);
	ck_assert_ptr_null(agent_consumer_free(NULL));
	ck_assert_int_eq(agent_consumer_new(mem, l.total_size - 1, &c), -EBADMSG);
	ck_assert_int_eq(agent_consumer_new(mem + 4, l.total_size - 4, &c), -EBADMSG);
	ck_assert_int_eq(agent_consumer_new(mem, 100, &c), -EBADMSG);
	REJECT(sh->magic++);
	REJECT(sh->abi_version++);
	REJECT(sh->header_size--);
	REJECT(sh->total_size = UINT64_MAX);
	REJECT(sh->n_events = 48);
	REJECT(sh->n_threads = 0);
	REJECT(sh->n_samples = 1u << 30);
	REJECT(sh->events_off = (uint32_t) l.total_size);
	REJECT(sh->events_off = UINT32_MAX - 63);
	REJECT(sh->events_off += 8);
	REJECT(sh->events_off = 0);
	REJECT(sh->threads_off = sh->events_off);
	REJECT(sh->samples_off = sh->events_off + 64);
	REJECT(sh->sample_cell_size = 64);
	REJECT(sh->sample_cell_size += 32);
	REJECT(sh->sample_cell_size = UINT32_MAX - 63);
#undef REJECT
	free(mem);
}
END_TEST

/* Write an event into cell pos as a producer would. */
static void put_event(struct fixture *f, uint64_t ptr, uint64_t size_fn)
{
	struct agent_shared *sh = f->shm;
	uint64_t pos = sh->ev_head++;
	struct agent_event *e = (struct agent_event *) ((uint8_t *) f->shm + f->l.events_off) +
				(pos & (f->l.n_events - 1));

	e->ptr = ptr;
	e->old = 0;
	e->size_fn = size_fn;
	__atomic_store_n(&e->seq, pos + 1, __ATOMIC_RELEASE);
}

static void put_sample(struct fixture *f, uint64_t ptr, uint64_t size, uint32_t stack_len)
{
	struct agent_shared *sh = f->shm;
	uint64_t pos = sh->sm_head++;
	struct agent_sample *s =
	    (struct agent_sample *) ((uint8_t *) f->shm + f->l.samples_off +
				     (pos & (f->l.n_samples - 1)) * f->l.sample_cell_size);

	s->ptr = ptr;
	s->size = size;
	s->fn = ALLOC_MALLOC;
	s->stack_len = stack_len;
	__atomic_store_n(&s->seq, pos + 1, __ATOMIC_RELEASE);
}

#define EV(fn, flags, size)                                                                        \
	((uint64_t) (size) | (uint64_t) (fn) << AGENT_EV_FN_SHIFT |                                \
	 (uint64_t) (flags) << AGENT_EV_FLAGS_SHIFT)

START_TEST(test_consumer_hostile)
{
	struct fixture f;
	struct agent_consumer_stats st;

	region_open(&f, 16, 16, 4, 256, 0);

	put_event(&f, 0x1000, EV(ALLOC_FN_MAX, 0, 8));		      /* no such function */
	put_event(&f, 0x2000, EV(0xff, AGENT_EV_SAMPLED, 8));	      /* idem */
	put_event(&f, 0x3000, EV(ALLOC_MALLOC, AGENT_EV_SAMPLED, 8)); /* no sample */
	put_sample(&f, 0x4000, 16, 1u << 30);			      /* stack_len too long */
	put_event(&f, 0x4000, EV(ALLOC_MALLOC, AGENT_EV_SAMPLED, 16));
	ck_assert_uint_eq(drain(&f), 4);
	ck_assert_uint_eq(n_got, 2);
	expect_event(0, ALLOC_MALLOC, 0x3000, 0, 8);
	ck_assert(got[0].ev.is_sampled && !got[0].has_sample);
	expect_event(1, ALLOC_MALLOC, 0x4000, 0, 16);
	ck_assert(got[1].has_sample);
	ck_assert_uint_eq(got[1].s.stack_len, f.l.sample_cell_size - sizeof(struct agent_sample));
	st = stats(&f);
	ck_assert_uint_eq(st.corrupt_events, 2);
	ck_assert_uint_eq(st.missing_samples, 1);
	ck_assert_uint_eq(st.bad_samples, 1);

	/* samples published out of order; one that no event claims */
	put_sample(&f, 0x5000, 1, 0);
	put_sample(&f, 0x6000, 2, 0);
	put_event(&f, 0x6000, EV(ALLOC_MALLOC, AGENT_EV_SAMPLED, 2));
	put_event(&f, 0x5000, EV(ALLOC_MALLOC, AGENT_EV_SAMPLED, 1));
	put_sample(&f, 0x7000, 3, 0);
	ck_assert_uint_eq(drain(&f), 2);
	ck_assert(got[0].has_sample && got[0].s.ptr == 0x6000);
	ck_assert(got[1].has_sample && got[1].s.ptr == 0x5000);
	st = stats(&f);
	ck_assert_uint_eq(st.orphan_samples, 1);
	ck_assert_uint_eq(st.samples, 3);
	/* every sample cell is back with the agent: four more fit */
	for (int i = 0; i < 4; i++) {
		put_sample(&f, 0x8000 + (uint64_t) i, 1, 0);
		put_event(&f, 0x8000 + (uint64_t) i, EV(ALLOC_MALLOC, AGENT_EV_SAMPLED, 1));
	}
	ck_assert_uint_eq(drain(&f), 4);
	for (int i = 0; i < 4; i++)
		ck_assert(got[i].has_sample);
	region_close(&f);
}
END_TEST

static bool is_alive_odd(uint32_t tid, void *ud)
{
	unsigned *calls = ud;

	(*calls)++;
	return tid % 2;
}

START_TEST(test_reclaim_and_settings)
{
	struct fixture f;
	struct agent_shared *sh;
	struct agent_thread *t;
	unsigned calls = 0;

	region_open(&f, 8, 16, 4, 256, 0);
	sh = f.shm;
	t = (struct agent_thread *) ((uint8_t *) f.shm + f.l.threads_off);
	for (uint32_t i = 0; i < 6; i++) {
		t[i].key = 0x7f0000001000 + i * 0x1000;
		t[i].tid = 100 + i;
		t[i].depth = 1;
		t[i].rng = 42;
	}
	t[5].tid = 0; /* being claimed: left alone */
	ck_assert_uint_eq(agent_threads_reclaim(f.c, is_alive_odd, &calls), 3);
	ck_assert_uint_eq(calls, 5);
	for (uint32_t i = 0; i < 5; i++) {
		ck_assert_uint_eq(t[i].key, i % 2 ? 0x7f0000001000 + i * 0x1000 : 0);
		ck_assert_uint_eq(t[i].tid, i % 2 ? 100 + i : 0);
		ck_assert_uint_eq(t[i].depth, i % 2);
		ck_assert_uint_eq(t[i].rng, i % 2 ? 42 : 0);
	}
	ck_assert_uint_ne(t[5].key, 0);
	ck_assert_uint_eq(agent_threads_reclaim(f.c, is_alive_odd, &calls), 0);

	ck_assert_uint_eq(sh->stack_copy, 256);
	agent_consumer_set_sampling(f.c, 12345, 1u << 20);
	ck_assert_uint_eq(sh->sample_bytes, 12345);
	ck_assert_uint_eq(sh->stack_copy, f.l.sample_cell_size - sizeof(struct agent_sample));
	ck_assert_uint_eq(agent_consumer_layout(f.c)->stack_copy, sh->stack_copy);
	agent_consumer_set_sampling(f.c, 0, 100);
	ck_assert_uint_eq(sh->stack_copy, 100);
	ck_assert_uint_eq(agent_consumer_backlog(f.c), 0);
	sh->ev_head = 1000; /* hostile: more than the ring */
	ck_assert_uint_eq(agent_consumer_backlog(f.c), 16);
	region_close(&f);
}
END_TEST

static Suite *agent_suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("agent");

	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_consumer_rejects);
	tcase_add_test(tc, test_consumer_hostile);
	tcase_add_test(tc, test_reclaim_and_settings);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(agent_suite)
