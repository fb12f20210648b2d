/* check_agent.c - the agent blob and its ring consumer, in this process (no ptrace).
 *
 * The blob is mapped here like leakmond maps it in a target; orig[] points at this process's own
 * allocator, entry[] at recognisable fake addresses, shared at a region made by agent_shared_init.
 * The tests call the entry stubs as functions and read what the consumer delivers.
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "agent/blob.h"
#include "backend/agent_ring.h"
#include "check_main.h"

#define FAKE_ENTRY(fn) (UINT64_C(0x5a5a000000) + 0x100 * (uint64_t) (fn))
#define NO_SAMPLES     (UINT64_C(1) << 47) /* a mean so large nothing is sampled in a test */
#define MAX_COLLECT    4096
#define COPY_STACK     8192 /* bytes of a sample's stack the tests keep */
#define SAMPLE_STACK   2048 /* the stack copy of test_sample_every: within the main thread's */

/* Allocation failures must return NULL under AddressSanitizer too (it aborts by default). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

typedef uint64_t (*stub_fn)(uint64_t, uint64_t, uint64_t);

static const char *const fn_names[ALLOC_FN_MAX] = {
    [ALLOC_MALLOC] = "malloc",
    [ALLOC_CALLOC] = "calloc",
    [ALLOC_REALLOC] = "realloc",
    [ALLOC_REALLOCARRAY] = "reallocarray",
    [ALLOC_FREE] = "free",
    [ALLOC_POSIX_MEMALIGN] = "posix_memalign",
    [ALLOC_ALIGNED_ALLOC] = "aligned_alloc",
    [ALLOC_MEMALIGN] = "memalign",
    [ALLOC_VALLOC] = "valloc",
    [ALLOC_PVALLOC] = "pvalloc",
};

/* One agent copy mapped here and one shared region. */
struct agent_here {
	uint8_t *base;
	struct agent_header h;
	struct agent_data *data;
	stub_fn stub[ALLOC_FN_MAX];
};

struct fixture {
	struct agent_here a;
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

static void agent_map(struct agent_here *a)
{
	void *base;

	ck_assert_int_eq(agent_blob_map_self(&base), 0);
	a->base = base;
	ck_assert_int_eq(agent_header_validate(base, agent_blob_size, &a->h), 0);
	a->data = (struct agent_data *) (a->base + a->h.data_off);
	ck_assert_uint_eq(a->data->magic, AGENT_MAGIC);
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		void *real = dlsym(RTLD_DEFAULT, fn_names[fn]);

		ck_assert_msg(real != NULL, "dlsym(%s)", fn_names[fn]);
		a->data->orig[fn] = (uint64_t) (uintptr_t) real;
		a->data->entry[fn] = FAKE_ENTRY(fn);
		a->stub[fn] = (stub_fn) (uintptr_t) (a->base + a->h.entry_off[fn]);
	}
}

static void agent_unmap(struct agent_here *a)
{
	ck_assert_int_eq(munmap(a->base, a->h.total_size), 0);
}

static void agent_bind(struct agent_here *a, void *shm, uint32_t state)
{
	a->data->shared = (uint64_t) (uintptr_t) shm;
	__atomic_store_n(&a->data->state, state, __ATOMIC_RELEASE);
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

/* A region, and the agent mapped here recording into it. */
static void fixture_open(struct fixture *f, uint32_t n_threads, uint32_t n_events,
			 uint32_t n_samples, uint32_t stack_copy, uint64_t sample_bytes)
{
	region_open(f, n_threads, n_events, n_samples, stack_copy, sample_bytes);
	agent_map(&f->a);
	agent_bind(&f->a, f->shm, AGENT_ON);
}

static void fixture_close(struct fixture *f)
{
	agent_bind(&f->a, NULL, AGENT_OFF);
	agent_unmap(&f->a);
	region_close(f);
}

static struct agent_counters counters(const struct fixture *f)
{
	struct agent_counters k;

	agent_consumer_counters(f->c, &k);
	return k;
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

/* ---- the blob ---- */

START_TEST(test_blob_header)
{
	struct agent_header h;
	const struct agent_data *d;

	ck_assert_int_eq(agent_header_validate(agent_blob, agent_blob_size, &h), 0);
	ck_assert_uint_eq(h.blob_size, agent_blob_size);
	ck_assert_uint_eq(h.total_size, agent_blob_size);
	ck_assert_uint_eq(h.data_off, h.code_size);
	ck_assert_uint_eq(h.header_size, sizeof(struct agent_header));
	for (uint32_t i = 0; i < ALLOC_FN_MAX * AGENT_TRAMP_SIZE; i++)
		ck_assert_uint_eq(agent_blob[h.tramp_off + i], 0xcc);
	for (int i = 0; i < ALLOC_FN_MAX; i++)
		ck_assert_uint_eq(agent_blob[h.entry_off[i]], 0x41); /* push %r15 */
	d = (const struct agent_data *) (agent_blob + h.data_off);
	ck_assert_uint_eq(d->magic, AGENT_MAGIC);
	for (uint32_t i = sizeof(d->magic); i < h.total_size - h.data_off; i++)
		ck_assert_uint_eq(agent_blob[h.data_off + i], 0);
}
END_TEST

START_TEST(test_blob_header_corrupt)
{
	struct agent_header good, h;

	ck_assert_int_eq(agent_header_validate(agent_blob, agent_blob_size, &good), 0);
#define REJECT(expr, err)                                                                          \
	do {                                                                                       \
		h = good;                                                                          \
		expr;                                                                              \
		ck_assert_int_eq(agent_header_validate(&h, sizeof(h), NULL), (err));               \
	} while (0)
	REJECT((void) 0, 0);
	REJECT(h.magic ^= 1, -EBADMSG);
	REJECT(h.abi_version = 1, -EPROTO); /* ABI 1: no CPython wrappers */
	REJECT(h.abi_version = 3, -EPROTO);
	REJECT(h.landing_off = 8, -EINVAL);
	REJECT(h.py_entry_off[11] = h.code_size, -EINVAL);
	REJECT(h.header_size = 64, -EPROTO);
	REJECT(h.code_size += 1, -EINVAL);
	REJECT(h.code_size = 0, -EINVAL);
	REJECT(h.total_size += 4096 * 100000, -EINVAL);
	REJECT(h.total_size = h.code_size, -EINVAL);
	REJECT(h.data_off += 4096, -EINVAL);
	REJECT(h.tramp_off = h.code_size - 64, -EINVAL);
	REJECT(h.tramp_off = 8, -EINVAL);
	REJECT(h.tramp_off = UINT32_MAX - 16, -EINVAL);
	REJECT(h.entry_off[ALLOC_FREE] = h.code_size, -EINVAL);
	REJECT(h.entry_off[ALLOC_FREE] = h.tramp_off + 64, -EINVAL);
	REJECT(h.entry_off[ALLOC_FREE] = 0, -EINVAL);
	REJECT(h.entry_off[ALLOC_PVALLOC] = h.entry_off[ALLOC_MALLOC], -EINVAL);
	REJECT(h.blob_size = h.total_size + 1, -EINVAL);
#undef REJECT
	ck_assert_int_eq(agent_header_validate(&good, sizeof(good) - 1, NULL), -EBADMSG);
	ck_assert_int_eq(agent_header_validate(NULL, 4096, NULL), -EBADMSG);
}
END_TEST

/* ---- one call of every function ---- */

static void run_every_function(struct fixture *f, struct agent_here *a)
{
	uint64_t p, q, r, s, m = 0, al, ma, v, pv;

	p = a->stub[ALLOC_MALLOC](100, 0, 0);
	ck_assert_uint_ne(p, 0);
	memset((void *) (uintptr_t) p, 1, 100);
	q = a->stub[ALLOC_CALLOC](3, 50, 0);
	ck_assert_uint_ne(q, 0);
	ck_assert_uint_eq(((uint8_t *) (uintptr_t) q)[149], 0);
	r = a->stub[ALLOC_REALLOC](p, 300, 0);
	ck_assert_uint_ne(r, 0);
	ck_assert_uint_eq(((uint8_t *) (uintptr_t) r)[99], 1);
	s = a->stub[ALLOC_REALLOCARRAY](q, 4, 100);
	ck_assert_uint_ne(s, 0);
	ck_assert_int_eq((int) a->stub[ALLOC_POSIX_MEMALIGN](U(&m), 64, 200), 0);
	ck_assert_uint_ne(m, 0);
	ck_assert_uint_eq(m % 64, 0);
	al = a->stub[ALLOC_ALIGNED_ALLOC](128, 256, 0);
	ck_assert_uint_eq(al % 128, 0);
	ma = a->stub[ALLOC_MEMALIGN](32, 96, 0);
	ck_assert_uint_eq(ma % 32, 0);
	v = a->stub[ALLOC_VALLOC](1000, 0, 0);
	ck_assert_uint_eq(v % 4096, 0);
	pv = a->stub[ALLOC_PVALLOC](1000, 0, 0);
	ck_assert_uint_eq(pv % 4096, 0);
	a->stub[ALLOC_FREE](r, 0, 0);
	a->stub[ALLOC_FREE](0, 0, 0); /* records nothing */
	a->stub[ALLOC_FREE](s, 0, 0);
	a->stub[ALLOC_FREE](m, 0, 0);
	a->stub[ALLOC_FREE](al, 0, 0);
	a->stub[ALLOC_FREE](ma, 0, 0);
	a->stub[ALLOC_FREE](v, 0, 0);
	a->stub[ALLOC_FREE](pv, 0, 0);

	ck_assert_uint_eq(drain(f), 16); /* exactly the ring */
	expect_event(0, ALLOC_MALLOC, p, 0, 100);
	expect_event(1, ALLOC_CALLOC, q, 0, 150);
	expect_event(2, ALLOC_REALLOC, r, p, 300);
	expect_event(3, ALLOC_REALLOCARRAY, s, q, 400);
	expect_event(4, ALLOC_POSIX_MEMALIGN, m, 0, 200);
	expect_event(5, ALLOC_ALIGNED_ALLOC, al, 0, 256);
	expect_event(6, ALLOC_MEMALIGN, ma, 0, 96);
	expect_event(7, ALLOC_VALLOC, v, 0, 1000);
	expect_event(8, ALLOC_PVALLOC, pv, 0, 1000);
	expect_event(9, ALLOC_FREE, r, 0, 0);
	expect_event(10, ALLOC_FREE, s, 0, 0);
	expect_event(11, ALLOC_FREE, m, 0, 0);
	expect_event(12, ALLOC_FREE, al, 0, 0);
	expect_event(13, ALLOC_FREE, ma, 0, 0);
	expect_event(14, ALLOC_FREE, v, 0, 0);
	expect_event(15, ALLOC_FREE, pv, 0, 0);
	for (size_t i = 0; i < n_got; i++)
		ck_assert(!got[i].ev.is_sampled && !got[i].has_sample);
	ck_assert_uint_eq(drain(f), 0);
}

START_TEST(test_every_function)
{
	struct fixture f;
	struct agent_counters k;

	fixture_open(&f, 16, 16, 4, 256, NO_SAMPLES);
	run_every_function(&f, &f.a);
	k = counters(&f);
	ck_assert_uint_eq(k.lost_events + k.lost_samples + k.nested + k.no_slot, 0);
	ck_assert_uint_eq(stats(&f).events, 16);
	ck_assert_uint_eq(stats(&f).corrupt_events, 0);
	fixture_close(&f);
}
END_TEST

/* The same blob at two addresses at once, then only the second: nothing absolute is baked in. */
START_TEST(test_two_addresses)
{
	struct fixture f;
	struct agent_here b;
	void *hole;

	fixture_open(&f, 16, 16, 4, 256, NO_SAMPLES);
	/* keep the second copy away from the first, with a hole in between */
	hole = mmap(NULL, 1 << 24, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(hole, MAP_FAILED);
	agent_map(&b);
	ck_assert_ptr_ne(b.base, f.a.base);
	agent_bind(&b, f.shm, AGENT_ON);
	run_every_function(&f, &f.a);
	run_every_function(&f, &b);
	agent_unmap(&f.a);
	ck_assert_int_eq(munmap(hole, 1 << 24), 0);
	run_every_function(&f, &b);
	f.a = b;
	fixture_close(&f);
}
END_TEST

START_TEST(test_failures)
{
	struct fixture f;
	uint64_t m = 0, p, r;

	fixture_open(&f, 16, 64, 4, 256, 0); /* every allocation sampled: failures are not */
	errno = 0;
	ck_assert_uint_eq(f.a.stub[ALLOC_MALLOC](UINT64_C(1) << 47, 0, 0), 0);
	ck_assert_int_eq(errno, ENOMEM); /* the hook leaves errno alone */
	ck_assert_uint_eq(f.a.stub[ALLOC_MALLOC](UINT64_MAX, 0, 0), 0);
	ck_assert_uint_eq(f.a.stub[ALLOC_CALLOC](UINT64_MAX / 2, 4, 0), 0);
	ck_assert_uint_eq(f.a.stub[ALLOC_CALLOC](UINT64_C(1) << 30, UINT64_C(1) << 20, 0), 0);
	ck_assert_uint_eq(f.a.stub[ALLOC_REALLOCARRAY](0, UINT64_MAX / 2, 4), 0);
	ck_assert_int_eq((int) f.a.stub[ALLOC_POSIX_MEMALIGN](U(&m), 3, 64), EINVAL);
	f.a.stub[ALLOC_FREE](0, 0, 0);
	p = f.a.stub[ALLOC_MALLOC](10, 0, 0);
	r = f.a.stub[ALLOC_REALLOC](p, 0, 0); /* glibc: frees p, returns NULL */
	if (r)
		free((void *) (uintptr_t) r);

	ck_assert_uint_eq(drain(&f), 8);
	expect_event(0, ALLOC_MALLOC, 0, 0, UINT64_C(1) << 47);
	expect_event(1, ALLOC_MALLOC, 0, 0, AGENT_EV_SIZE_MASK);
	expect_event(2, ALLOC_CALLOC, 0, 0, AGENT_EV_SIZE_MASK);
	expect_event(3, ALLOC_CALLOC, 0, 0, AGENT_EV_SIZE_MASK); /* 2^50: saturated too */
	expect_event(4, ALLOC_REALLOCARRAY, 0, 0, AGENT_EV_SIZE_MASK);
	expect_event(5, ALLOC_POSIX_MEMALIGN, 0, 0, 64);
	expect_event(6, ALLOC_MALLOC, p, 0, 10);
	expect_event(7, ALLOC_REALLOC, r, p, 0);
	for (size_t i = 0; i < 6; i++)
		ck_assert(!got[i].ev.is_sampled);
	ck_assert(got[6].ev.is_sampled && got[6].has_sample);
	ck_assert_uint_eq(got[7].ev.is_sampled, r != 0);
	fixture_close(&f);
}
END_TEST

START_TEST(test_off)
{
	struct fixture f;
	struct agent_counters k;
	uint64_t p;

	fixture_open(&f, 16, 16, 4, 256, 0);
	agent_bind(&f.a, f.shm, AGENT_OFF);
	p = f.a.stub[ALLOC_CALLOC](10, 10, 0);
	ck_assert_uint_ne(p, 0);
	ck_assert_uint_eq(((uint8_t *) (uintptr_t) p)[99], 0);
	p = f.a.stub[ALLOC_REALLOC](p, 4000, 0);
	ck_assert_uint_ne(p, 0);
	f.a.stub[ALLOC_FREE](p, 0, 0);
	/* on, but no region */
	agent_bind(&f.a, NULL, AGENT_ON);
	p = f.a.stub[ALLOC_MALLOC](10, 0, 0);
	ck_assert_uint_ne(p, 0);
	f.a.stub[ALLOC_FREE](p, 0, 0);
	ck_assert_uint_eq(drain(&f), 0);
	k = counters(&f);
	ck_assert_uint_eq(k.lost_events + k.lost_samples + k.nested + k.no_slot, 0);
	/* and on again */
	agent_bind(&f.a, f.shm, AGENT_ON);
	/* a function leakmond did not hook has no original: its stub fails the call */
	f.a.data->orig[ALLOC_MALLOC] = 0;
	f.a.data->orig[ALLOC_POSIX_MEMALIGN] = 0;
	ck_assert_uint_eq(f.a.stub[ALLOC_MALLOC](10, 0, 0), 0);
	ck_assert_int_eq((int) f.a.stub[ALLOC_POSIX_MEMALIGN](U(&p), 16, 16), ENOMEM);
	ck_assert_uint_eq(drain(&f), 0);
	f.a.data->orig[ALLOC_MALLOC] = U(dlsym(RTLD_DEFAULT, "malloc"));
	p = f.a.stub[ALLOC_MALLOC](10, 0, 0);
	f.a.stub[ALLOC_FREE](p, 0, 0);
	ck_assert_uint_eq(drain(&f), 2);
	fixture_close(&f);
}
END_TEST

/* ---- nesting ---- */

static struct agent_here *nest_agent;
static uint64_t nest_inner;

/* Stands for an allocator whose malloc calls other hooked functions. */
static uint64_t nesting_malloc(uint64_t size, uint64_t a1, uint64_t a2)
{
	uint64_t q = nest_agent->stub[ALLOC_CALLOC](1, 8, 0);

	(void) a1;
	(void) a2;
	nest_inner = q;
	nest_agent->stub[ALLOC_FREE](q, 0, 0);
	return U(malloc(size));
}

START_TEST(test_nested)
{
	struct fixture f;
	uint64_t p;

	fixture_open(&f, 16, 16, 4, 256, 0);
	nest_agent = &f.a;
	f.a.data->orig[ALLOC_MALLOC] = U(nesting_malloc);
	p = f.a.stub[ALLOC_MALLOC](24, 0, 0);
	ck_assert_uint_ne(p, 0);
	ck_assert_uint_ne(nest_inner, 0);
	ck_assert_uint_eq(counters(&f).nested, 2);
	ck_assert_uint_eq(drain(&f), 1);
	expect_event(0, ALLOC_MALLOC, p, 0, 24);
	ck_assert(got[0].has_sample);
	free((void *) (uintptr_t) p);
	/* the thread is not stuck nested */
	f.a.data->orig[ALLOC_MALLOC] = U(dlsym(RTLD_DEFAULT, "malloc"));
	p = f.a.stub[ALLOC_MALLOC](24, 0, 0);
	f.a.stub[ALLOC_FREE](p, 0, 0);
	ck_assert_uint_eq(drain(&f), 2);
	ck_assert_uint_eq(counters(&f).nested, 2);
	fixture_close(&f);
}
END_TEST

/* ---- samples ---- */

/* call_with_regs(stub, a0): calls stub(a0) with known values in every callee-saved register;
 * call_with_regs_ret is the return address of that call. */
uint64_t call_with_regs(stub_fn stub, uint64_t a0);
extern const char call_with_regs_ret[];
__asm__(".text\n"
	".globl call_with_regs\n"
	".type call_with_regs, @function\n"
	"call_with_regs:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	sub $8, %rsp\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	movabs $0x0b0b0b0b0b0b0b0b, %rbx\n"
	"	movabs $0x0c0c0c0c0c0c0c0c, %rbp\n"
	"	movabs $0x1212121212121212, %r12\n"
	"	movabs $0x1313131313131313, %r13\n"
	"	movabs $0x1414141414141414, %r14\n"
	"	movabs $0x1515151515151515, %r15\n"
	"	call *%rax\n"
	".globl call_with_regs_ret\n"
	"call_with_regs_ret:\n"
	"	add $8, %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n"
	".size call_with_regs, . - call_with_regs\n");

static __attribute__((noinline)) uint64_t alloc_here(stub_fn stub, uint64_t size)
{
	uint64_t p = stub(size, 0, 0);

	__asm__ volatile("" : : : "memory"); /* keep the call a call, not a tail call */
	return p;
}

static void check_marker(const struct collected *g, const volatile uint64_t *marker, size_t n)
{
	uint64_t off = U(marker) - g->s.regs[AGENT_REG_RSP];

	ck_assert_uint_lt(off, COPY_STACK);
	ck_assert_uint_le(off + n * 8, g->s.stack_len);
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, g->stack + off + i * 8, 8);
		ck_assert_uint_eq(v, marker[i]);
	}
}

START_TEST(test_sample_every)
{
	volatile uint64_t marker[32];
	struct fixture f;
	uint64_t p, q, ret;

	for (int i = 0; i < 32; i++)
		marker[i] = UINT64_C(0xfeedface00000000) + (uint64_t) i;
	fixture_open(&f, 16, 16, 8, SAMPLE_STACK, 0);

	p = call_with_regs(f.a.stub[ALLOC_MALLOC], 48);
	q = alloc_here(f.a.stub[ALLOC_VALLOC], 4096);
	ck_assert_uint_eq(drain(&f), 2);

	expect_event(0, ALLOC_MALLOC, p, 0, 48);
	ck_assert(got[0].ev.is_sampled && got[0].has_sample);
	ck_assert_uint_eq(got[0].s.ptr, p);
	ck_assert_uint_eq(got[0].s.size, 48);
	ck_assert_uint_eq(got[0].s.fn, ALLOC_MALLOC);
	ck_assert_uint_eq(got[0].s.period, 0);
	ck_assert_uint_eq(got[0].s.tid, (uint32_t) gettid());
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_RIP], FAKE_ENTRY(ALLOC_MALLOC));
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_RBX], UINT64_C(0x0b0b0b0b0b0b0b0b));
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_RBP], UINT64_C(0x0c0c0c0c0c0c0c0c));
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_R12], UINT64_C(0x1212121212121212));
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_R13], UINT64_C(0x1313131313131313));
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_R14], UINT64_C(0x1414141414141414));
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_R15], UINT64_C(0x1515151515151515));
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_RSP] % 16, 8); /* just after a call */
	ck_assert_uint_eq(got[0].s.stack_len, SAMPLE_STACK);
	memcpy(&ret, got[0].stack, 8);
	ck_assert_uint_eq(ret, U(call_with_regs_ret));
	check_marker(&got[0], marker, 32);

	expect_event(1, ALLOC_VALLOC, q, 0, 4096);
	ck_assert(got[1].has_sample);
	ck_assert_uint_eq(got[1].s.regs[AGENT_REG_RIP], FAKE_ENTRY(ALLOC_VALLOC));
	memcpy(&ret, got[1].stack, 8);
	ck_assert_msg(ret > U(alloc_here) && ret < U(alloc_here) + 256,
		      "return address %#" PRIx64 " not in alloc_here (%p)", ret,
		      (void *) alloc_here);
	check_marker(&got[1], marker, 32);

	f.a.stub[ALLOC_FREE](p, 0, 0);
	f.a.stub[ALLOC_FREE](q, 0, 0);
	ck_assert_uint_eq(drain(&f), 2);
	ck_assert(!got[0].has_sample && !got[1].has_sample);
	fixture_close(&f);
}
END_TEST

/* A stack that ends at the end of its mapping: the copy stops there, and nothing faults. */
#define SMALL_STACK (64 * 1024)

struct stack_end_arg {
	struct fixture *f;
	uint64_t p;
};

static void *stack_end_thread(void *arg)
{
	struct stack_end_arg *a = arg;

	a->p = alloc_here(a->f->a.stub[ALLOC_MALLOC], 32);
	return NULL;
}

START_TEST(test_sample_stack_end)
{
	struct fixture f;
	struct stack_end_arg arg = {.f = &f};
	pthread_attr_t attr;
	pthread_t th;
	uint8_t *map;
	uint64_t end;

	fixture_open(&f, 16, 16, 4, 4 * SMALL_STACK, 0);
	map = mmap(NULL, SMALL_STACK + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mprotect(map + SMALL_STACK, 4096, PROT_NONE), 0);
	end = U(map + SMALL_STACK);
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setstack(&attr, map, SMALL_STACK), 0);
	ck_assert_int_eq(pthread_create(&th, &attr, stack_end_thread, &arg), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_eq(drain(&f), 1);
	expect_event(0, ALLOC_MALLOC, arg.p, 0, 32);
	ck_assert(got[0].has_sample);
	ck_assert_uint_gt(got[0].s.regs[AGENT_REG_RSP], U(map));
	ck_assert_uint_lt(got[0].s.regs[AGENT_REG_RSP], end);
	ck_assert_uint_eq(got[0].s.stack_len, end - got[0].s.regs[AGENT_REG_RSP]);
	ck_assert_uint_ne(got[0].s.tid, (uint32_t) gettid());
	free((void *) (uintptr_t) arg.p);
	pthread_attr_destroy(&attr);
	ck_assert_int_eq(munmap(map, SMALL_STACK + 4096), 0);
	fixture_close(&f);
}
END_TEST

struct rate_count {
	uint64_t events, sampled, samples, bad_period;
};

static void count_rate(const struct agent_record *ev, const struct agent_sample_view *s, void *ud)
{
	struct rate_count *r = ud;

	r->events++;
	r->sampled += ev->is_sampled;
	if (s) {
		r->samples++;
		r->bad_period += s->period != 4096 || s->ptr != ev->ptr;
	}
}

START_TEST(test_sample_rate)
{
	const int n = 600000, size = 64;
	const double expected = (double) n * size / 4096;
	struct rate_count r = {0};
	struct fixture f;

	fixture_open(&f, 16, 4096, 1024, 64, 4096);
	for (int i = 0; i < n; i++) {
		uint64_t p = f.a.stub[ALLOC_MALLOC](size, 0, 0);

		f.a.stub[ALLOC_FREE](p, 0, 0);
		if (i % 1000 == 999)
			agent_consumer_drain(f.c, SIZE_MAX, count_rate, &r);
	}
	agent_consumer_drain(f.c, SIZE_MAX, count_rate, &r);
	ck_assert_uint_eq(r.events, 2 * (uint64_t) n);
	ck_assert_uint_eq(r.sampled, r.samples);
	ck_assert_uint_eq(r.bad_period, 0);
	ck_assert_msg(r.samples > expected * 0.95 && r.samples < expected * 1.05,
		      "%" PRIu64 " samples for %.0f expected", r.samples, expected);
	ck_assert_uint_eq(counters(&f).lost_samples, 0);
	/* back to every allocation */
	agent_consumer_set_sampling(f.c, 0, 64);
	for (int i = 0; i < 10; i++)
		f.a.stub[ALLOC_FREE](f.a.stub[ALLOC_MALLOC](1, 0, 0), 0, 0);
	r.samples = 0;
	agent_consumer_drain(f.c, SIZE_MAX, count_rate, &r);
	ck_assert_uint_eq(r.samples, 10);
	fixture_close(&f);
}
END_TEST

/* ---- full rings ---- */

START_TEST(test_ring_full)
{
	struct fixture f;
	uint64_t p[10];
	struct agent_counters k;

	fixture_open(&f, 16, 4, 2, 256, NO_SAMPLES);
	for (int i = 0; i < 10; i++) {
		p[i] = f.a.stub[ALLOC_MALLOC](16 + (uint64_t) i, 0, 0);
		ck_assert_uint_ne(p[i], 0);
	}
	ck_assert_uint_eq(counters(&f).lost_events, 6);
	ck_assert_uint_eq(agent_consumer_backlog(f.c), 4);
	ck_assert_uint_eq(drain(&f), 4);
	for (int i = 0; i < 4; i++)
		expect_event((size_t) i, ALLOC_MALLOC, p[i], 0, 16 + (uint64_t) i);
	ck_assert_uint_eq(agent_consumer_backlog(f.c), 0);
	for (int i = 0; i < 10; i++)
		f.a.stub[ALLOC_FREE](p[i], 0, 0);
	ck_assert_uint_eq(counters(&f).lost_events, 12);
	ck_assert_uint_eq(drain(&f), 4);
	expect_event(3, ALLOC_FREE, p[3], 0, 0);

	/* sample ring full: the events are kept, unflagged */
	agent_consumer_set_sampling(f.c, 0, 256);
	for (int i = 0; i < 4; i++)
		p[i] = f.a.stub[ALLOC_MALLOC](8, 0, 0);
	k = counters(&f);
	ck_assert_uint_eq(k.lost_samples, 2);
	ck_assert_uint_eq(k.lost_events, 12);
	ck_assert_uint_eq(drain(&f), 4);
	for (int i = 0; i < 4; i++) {
		expect_event((size_t) i, ALLOC_MALLOC, p[i], 0, 8);
		ck_assert(got[i].ev.is_sampled == (i < 2));
		ck_assert(got[i].has_sample == (i < 2));
		f.a.stub[ALLOC_FREE](p[i], 0, 0);
	}
	ck_assert_uint_eq(drain(&f), 4);
	ck_assert_uint_eq(stats(&f).missing_samples, 0);
	fixture_close(&f);
}
END_TEST

/* ---- threads ---- */

#define HAMMER_THREADS 4
#define HAMMER_PAIRS   20000

struct hammer {
	struct fixture *f;
	volatile bool is_done;
	uint64_t events, allocs, frees, samples, sampled, bad;
};

static void count_hammer(const struct agent_record *ev, const struct agent_sample_view *s, void *ud)
{
	struct hammer *h = ud;

	h->events++;
	if (ev->fn == ALLOC_MALLOC)
		h->allocs++;
	else if (ev->fn == ALLOC_FREE)
		h->frees++;
	else
		h->bad++;
	h->sampled += ev->is_sampled;
	if (s) {
		h->samples++;
		h->bad += s->ptr != ev->ptr || s->fn != ALLOC_MALLOC || s->size != ev->size ||
			  s->stack_len != 512;
	}
}

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	stub_fn m = h->f->a.stub[ALLOC_MALLOC], fr = h->f->a.stub[ALLOC_FREE];

	for (int i = 0; i < HAMMER_PAIRS; i++)
		fr(m(1 + (uint64_t) (i & 255), 0, 0), 0, 0);
	return NULL;
}

static void *consumer_thread(void *arg)
{
	struct hammer *h = arg;

	while (!__atomic_load_n(&h->is_done, __ATOMIC_ACQUIRE))
		if (!agent_consumer_drain(h->f->c, 4096, count_hammer, h))
			sched_yield();
	return NULL;
}

static void run_hammer(uint64_t sample_bytes)
{
	struct fixture f;
	struct hammer h = {.f = &f};
	pthread_t th[HAMMER_THREADS], cons;
	struct agent_counters k;
	struct agent_consumer_stats st;

	fixture_open(&f, 64, 1 << 16, 1024, 512, sample_bytes);
	ck_assert_int_eq(pthread_create(&cons, NULL, consumer_thread, &h), 0);
	for (int i = 0; i < HAMMER_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_thread, &h), 0);
	for (int i = 0; i < HAMMER_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	__atomic_store_n(&h.is_done, true, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(cons, NULL), 0);
	while (agent_consumer_drain(f.c, 4096, count_hammer, &h))
		;
	k = counters(&f);
	st = stats(&f);
	ck_assert_uint_eq(h.allocs + h.frees + k.lost_events,
			  2 * (uint64_t) HAMMER_THREADS * HAMMER_PAIRS);
	ck_assert_uint_eq(h.bad, 0);
	ck_assert_uint_eq(k.nested + k.no_slot, 0);
	ck_assert_uint_eq(st.corrupt_events + st.missing_samples + st.orphan_samples, 0);
	ck_assert_uint_eq(h.sampled, h.samples);
	ck_assert_uint_eq(agent_consumer_backlog(f.c), 0);
	if (sample_bytes == 0)
		ck_assert_uint_eq(h.samples + k.lost_samples, h.allocs);
	fprintf(stderr,
		"hammer sample_bytes=%" PRIu64 ": %" PRIu64 " allocs %" PRIu64 " frees %" PRIu64
		" lost, %" PRIu64 " samples %" PRIu64 " lost\n",
		sample_bytes, h.allocs, h.frees, k.lost_events, h.samples, k.lost_samples);
	fixture_close(&f);
}

START_TEST(test_threads)
{
	run_hammer(NO_SAMPLES);
}
END_TEST

START_TEST(test_threads_sampled)
{
	run_hammer(0);
}
END_TEST

/* ---- thread slots ---- */

struct slot_arg {
	struct fixture *f;
	uint64_t p;
	uint32_t tid;
};

static void *slot_thread(void *arg)
{
	struct slot_arg *a = arg;

	a->tid = (uint32_t) gettid();
	a->p = a->f->a.stub[ALLOC_MALLOC](40, 0, 0);
	a->f->a.stub[ALLOC_FREE](a->p, 0, 0);
	return NULL;
}

static uint32_t dead_tid;

static bool is_alive_except(uint32_t tid, void *ud)
{
	(void) ud;
	return tid != dead_tid;
}

START_TEST(test_no_slot)
{
	struct fixture f;
	struct slot_arg a = {.f = &f};
	struct agent_counters k;
	pthread_t th;
	uint64_t p;

	fixture_open(&f, 1, 16, 4, 256, 0);
	p = f.a.stub[ALLOC_MALLOC](8, 0, 0); /* this thread takes the only slot */
	ck_assert_int_eq(pthread_create(&th, NULL, slot_thread, &a), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_ne(a.p, 0);
	k = counters(&f);
	ck_assert_uint_eq(k.no_slot, 2);
	ck_assert_uint_eq(k.lost_events, 2);
	ck_assert_uint_eq(drain(&f), 1);
	ck_assert_uint_eq(got[0].s.tid, (uint32_t) gettid());

	/* nothing is dead: nothing is freed; then this thread "dies" and the other gets a slot */
	dead_tid = 0;
	ck_assert_uint_eq(agent_threads_reclaim(f.c, is_alive_except, NULL), 0);
	dead_tid = (uint32_t) gettid();
	ck_assert_uint_eq(agent_threads_reclaim(f.c, is_alive_except, NULL), 1);
	ck_assert_int_eq(pthread_create(&th, NULL, slot_thread, &a), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_eq(counters(&f).no_slot, 2);
	ck_assert_uint_eq(drain(&f), 2);
	expect_event(0, ALLOC_MALLOC, a.p, 0, 40);
	ck_assert_uint_eq(got[0].s.tid, a.tid);
	expect_event(1, ALLOC_FREE, a.p, 0, 0);
	/* and this thread has none now */
	f.a.stub[ALLOC_FREE](p, 0, 0);
	ck_assert_uint_eq(counters(&f).no_slot, 3);
	fixture_close(&f);
}
END_TEST

/* ---- signals: a handler that allocates can interrupt a hook anywhere ---- */

static struct agent_here *sig_agent;
static volatile sig_atomic_t sig_calls;
static uint64_t fake_next = 0x10000;

/* glibc's malloc is not async-signal-safe (a handler calling it while the thread is inside it
 * deadlocks on the arena lock): this test's allocator is a lock-free counter. */
static uint64_t fake_malloc(uint64_t size, uint64_t a1, uint64_t a2)
{
	(void) a1;
	(void) a2;
	return __atomic_fetch_add(&fake_next, (size + 15) & ~UINT64_C(15), __ATOMIC_RELAXED);
}

static uint64_t fake_free(uint64_t p, uint64_t a1, uint64_t a2)
{
	(void) p;
	(void) a1;
	(void) a2;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void on_alarm(int sig)
{
	int saved = errno;
	uint64_t p = sig_agent->stub[ALLOC_MALLOC](24, 0, 0);

	(void) sig;
	sig_agent->stub[ALLOC_FREE](p, 0, 0);
	sig_calls += 2;
	errno = saved;
}

static void count_any(const struct agent_record *ev, const struct agent_sample_view *s, void *ud)
{
	uint64_t *n = ud;

	(void) s;
	n[0]++;
	n[1] += ev->is_sampled != (s != NULL);
}

START_TEST(test_signals)
{
	struct itimerval it = {.it_interval = {0, 50}, .it_value = {0, 50}};
	struct sigaction sa = {.sa_handler = on_alarm};
	struct fixture f;
	struct agent_counters k;
	uint64_t n[2] = {0, 0}, calls = 0;
	uint64_t start = now_ms();

	fixture_open(&f, 16, 1 << 16, 64, 256, 512);
	sig_agent = &f.a;
	f.a.data->orig[ALLOC_MALLOC] = U(fake_malloc);
	f.a.data->orig[ALLOC_FREE] = U(fake_free);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	while (now_ms() - start < 100) {
		for (int i = 0; i < 1000; i++) {
			uint64_t p = f.a.stub[ALLOC_MALLOC](1 + (uint64_t) i, 0, 0);

			f.a.stub[ALLOC_FREE](p, 0, 0);
		}
		calls += 2000;
		agent_consumer_drain(f.c, SIZE_MAX, count_any, n);
	}
	it = (struct itimerval){0};
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	signal(SIGALRM, SIG_IGN);
	agent_consumer_drain(f.c, SIZE_MAX, count_any, n);
	k = counters(&f);
	ck_assert_uint_gt(sig_calls, 0);
	ck_assert_uint_eq(n[0] + k.lost_events + k.nested, calls + (uint64_t) sig_calls);
	ck_assert_uint_eq(n[1], 0);
	ck_assert_uint_eq(k.no_slot, 0);
	fprintf(stderr, "signals: %" PRIu64 " calls, %d in handlers, %" PRIu64 " nested\n", calls,
		(int) sig_calls, k.nested);
	fixture_close(&f);
}
END_TEST

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
	/* 112 + 1000 + the Python frames (384), rounded up to 64 */
	ck_assert_uint_eq(l.sample_cell_size, 1536);
	ck_assert_uint_eq(l.total_size % 4096, 0);
	ck_assert_uint_eq(l.pyset_off, l.samples_off + 32 * 1536);
	ck_assert_uint_eq(l.n_pybuckets, AGENT_PYSET_BUCKETS);
	ck_assert_uint_ge(l.total_size, l.pyset_off + AGENT_PYSET_BUCKETS * 64 + AGENT_PYFILTER_BYTES);
	ck_assert_uint_lt(l.total_size,
			  l.pyset_off + AGENT_PYSET_BUCKETS * 64 + AGENT_PYFILTER_BYTES + 4096);
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
	ck_assert_uint_eq(got[1].s.stack_len,
			  f.l.sample_cell_size - sizeof(struct agent_sample) - AGENT_PY_RESERVE);
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
	ck_assert_uint_eq(sh->stack_copy,
			  f.l.sample_cell_size - sizeof(struct agent_sample) - AGENT_PY_RESERVE);
	ck_assert_uint_eq(agent_consumer_layout(f.c)->stack_copy, sh->stack_copy);
	agent_consumer_set_sampling(f.c, 0, 100);
	ck_assert_uint_eq(sh->stack_copy, 100);
	ck_assert_uint_eq(agent_consumer_backlog(f.c), 0);
	sh->ev_head = 1000; /* hostile: more than the ring */
	ck_assert_uint_eq(agent_consumer_backlog(f.c), 16);
	region_close(&f);
}
END_TEST

/* ---- the CPython allocator wrappers (ABI 2), called here as CPython would call them ---- */

static uint64_t py_ctx_seen, py_calls;

static uint64_t fake_py_malloc(uint64_t ctx, uint64_t size)
{
	py_ctx_seen = ctx;
	py_calls++;
	return (uint64_t)(uintptr_t)malloc(size);
}

static uint64_t fake_py_calloc(uint64_t ctx, uint64_t n, uint64_t size)
{
	py_ctx_seen = ctx;
	py_calls++;
	return (uint64_t)(uintptr_t)calloc(n, size);
}

static uint64_t fake_py_realloc(uint64_t ctx, uint64_t p, uint64_t size)
{
	py_ctx_seen = ctx;
	py_calls++;
	return (uint64_t)(uintptr_t)realloc((void *)(uintptr_t)p, size);
}

static void fake_py_free(uint64_t ctx, uint64_t p)
{
	py_ctx_seen = ctx;
	py_calls++;
	free((void *)(uintptr_t)p);
}

typedef uint64_t (*py_wrap)(uint64_t, uint64_t, uint64_t);

static py_wrap py_wrapper(const struct fixture *f, int dom, int fn)
{
	return (py_wrap)(uintptr_t)(f->a.base + f->a.h.py_entry_off[dom * AGENT_PY_FNS + fn]);
}

/* The obj domain's originals are the fakes above (context 0x1234); py_period 1: every Python
 * allocation sampled, else none. */
static void py_setup(struct fixture *f, bool is_every)
{
	struct agent_data *d;

	fixture_open(f, 64, 1024, 64, 2048, NO_SAMPLES);
	d = f->a.data;
	d->py_orig[AGENT_PY_OBJ][0] = 0x1234;
	d->py_orig[AGENT_PY_OBJ][1] = (uint64_t)(uintptr_t)fake_py_malloc;
	d->py_orig[AGENT_PY_OBJ][2] = (uint64_t)(uintptr_t)fake_py_calloc;
	d->py_orig[AGENT_PY_OBJ][3] = (uint64_t)(uintptr_t)fake_py_realloc;
	d->py_orig[AGENT_PY_OBJ][4] = (uint64_t)(uintptr_t)fake_py_free;
	d->py_set = (uint64_t)(uintptr_t)f->shm + f->l.pyset_off;
	d->py_set_mask = f->l.n_pybuckets - 1;
	d->py_countdown = is_every ? 0 : (int64_t)1 << 60;
	agent_consumer_set_py_sampling(f->c, is_every ? 1 : (uint64_t)1 << 60);
	__atomic_store_n(&d->py_state, AGENT_ON, __ATOMIC_RELEASE);
	py_calls = 0;
}

START_TEST(test_py_wrappers_sampled)
{
	struct fixture f;
	uint64_t p, q, r, c;

	py_setup(&f, true);
	p = py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_MALLOC)(0, 100, 0);
	ck_assert_uint_ne(p, 0);
	ck_assert_uint_eq(py_ctx_seen, 0x1234); /* the original's context, not CPython's */
	c = py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_CALLOC)(0, 4, 25);
	q = py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_MALLOC)(0, 50, 0);
	r = py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_REALLOC)(0, q, 5000);
	py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_FREE)(0, p, 0);
	py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_FREE)(0, r, 0);
	py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_FREE)(0, c, 0);
	py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_FREE)(0, 0, 0); /* free(NULL): passed on */
	ck_assert_uint_eq(py_calls, 8);
	ck_assert_uint_eq(drain(&f), 7);
	for (size_t i = 0; i < 7; i++)
		ck_assert(got[i].ev.is_python);
	ck_assert_int_eq(got[0].ev.fn, ALLOC_MALLOC);
	ck_assert_uint_eq(got[0].ev.ptr, p);
	ck_assert_uint_eq(got[0].ev.size, 100);
	ck_assert(got[0].has_sample);
	ck_assert_uint_eq(got[0].s.regs[AGENT_REG_RIP], (uint64_t)(uintptr_t)fake_py_malloc);
	ck_assert_uint_eq(got[0].s.n_py, 0); /* no interpreter here */
	ck_assert_int_eq(got[1].ev.fn, ALLOC_CALLOC);
	ck_assert_uint_eq(got[1].ev.size, 100);
	ck_assert_int_eq(got[3].ev.fn, ALLOC_REALLOC);
	ck_assert_uint_eq(got[3].ev.old, q);
	ck_assert_uint_eq(got[3].ev.ptr, r);
	ck_assert_int_eq(got[4].ev.fn, ALLOC_FREE);
	ck_assert_uint_eq(got[4].ev.ptr, p);
	ck_assert_uint_eq(got[5].ev.ptr, r);
	ck_assert_uint_eq(got[6].ev.ptr, c);
	ck_assert_uint_eq(counters(&f).py_samples, 4);
	/* every sampled block left the set, and the page filter */
	for (uint64_t i = 0; i < (uint64_t)f.l.n_pybuckets * AGENT_PYSET_WAYS; i++)
		ck_assert_uint_eq(((uint64_t *)((uint8_t *)f.shm + f.l.pyset_off))[i], 0);
	for (uint32_t i = 0; i < AGENT_PYFILTER_BYTES; i++)
		ck_assert_uint_eq(((uint8_t *)f.shm + f.l.pyset_off + f.l.n_pybuckets * 64)[i], 0);
	fixture_close(&f);
}
END_TEST

START_TEST(test_py_wrappers_unsampled_and_off)
{
	struct fixture f;
	uint64_t p;

	py_setup(&f, false);
	for (int i = 0; i < 1000; i++) {
		p = py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_MALLOC)(0, 64, 0);
		ck_assert_uint_ne(p, 0);
		p = py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_REALLOC)(0, p, 128);
		py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_FREE)(0, p, 0);
	}
	ck_assert_uint_eq(py_calls, 3000);
	ck_assert_uint_eq(drain(&f), 0); /* nothing sampled: nothing recorded */
	/* off: a due countdown only passes through (and is pushed far away) */
	__atomic_store_n(&f.a.data->py_state, AGENT_OFF, __ATOMIC_RELEASE);
	f.a.data->py_countdown = 0;
	p = py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_MALLOC)(0, 64, 0);
	py_wrapper(&f, AGENT_PY_OBJ, AGENT_PY_FREE)(0, p, 0);
	ck_assert_uint_eq(drain(&f), 0);
	ck_assert_int_gt(f.a.data->py_countdown, 1 << 30);
	fixture_close(&f);
}
END_TEST

static Suite *agent_suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("agent");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_blob_header);
	tcase_add_test(tc, test_blob_header_corrupt);
	tcase_add_test(tc, test_every_function);
	tcase_add_test(tc, test_two_addresses);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_sample_every);
	tcase_add_test(tc, test_sample_stack_end);
	tcase_add_test(tc, test_sample_rate);
	tcase_add_test(tc, test_ring_full);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_threads_sampled);
	tcase_add_test(tc, test_no_slot);
	tcase_add_test(tc, test_signals);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_consumer_rejects);
	tcase_add_test(tc, test_consumer_hostile);
	tcase_add_test(tc, test_reclaim_and_settings);
	tcase_add_test(tc, test_py_wrappers_sampled);
	tcase_add_test(tc, test_py_wrappers_unsampled_and_off);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(agent_suite)
