/* agent.c - the in-target agent: allocator hooks that record into the shared rings (abi.h).
 *
 * Freestanding and position independent: no libc, no TLS, no relocations, raw system calls only.
 * Built with its own rule (Makefile.am), linked at base 0 with agent.lds and turned into a flat
 * image (blob.h); tools/check-agent rejects a link with anything but pc-relative references.
 *
 * Each allocator's entry stub (entry.S) calls hook_<fn>() with the original arguments and a
 * pointer to the callee-saved registers it pushed. A hook calls the original through
 * agent_data.orig[fn] and, when recording, publishes one event (and before it, for a sampled
 * allocation, one sample). Everything here is async-signal-safe and reentrant: a signal handler
 * that allocates may interrupt a hook at any instruction. A nested call (depth > 0) only calls the
 * original; the rings are lock-free (a hook interrupted inside a claimed cell only delays the
 * consumer); the thread slot's own fields are plain stores that a handler may race with, which at
 * worst perturbs the sampling countdown.
 *
 * Ordering choices the consumer relies on (abi.h):
 *  - free's event is published before the block is released, so an address reused by another
 *    thread can never appear as allocated before its free;
 *  - a sampled allocation claims its event cell first, then publishes the sample, then the
 *    event: every published sample has an event (no orphan sample when the event ring is full).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/abi.h"

#define SYS_getpid	     39
#define SYS_gettid	     186
#define SYS_process_vm_readv 310

#define PAGE_SIZE    4096
#define SLOT_PROBES  16	  /* thread slots looked at from the hash position */
#define RING_RETRIES 1024 /* CAS attempts on a ring head before the record is dropped */
#define STACK_IOVS   16	  /* pages per process_vm_readv call */
#define MAX_PERIOD   (UINT64_C(1) << 48)
#define PY_THREADS_MAX 256 /* thread states looked at for a thread without the GIL */

/* The registers entry.S pushed, lowest address first; the entry rsp is just above them. */
struct saved {
	uint64_t rbp, rbx, r12, r13, r14, r15;
};

struct iovec_raw {
	void *base;
	uint64_t len;
};

typedef uint64_t (*orig_fn)(uint64_t, uint64_t, uint64_t);

/* The one writable object of the agent: its own page(s) at data_off. */
__attribute__((section(".agent_data"), aligned(64), used)) struct agent_data agent_data = {
    .magic = AGENT_MAGIC,
};

/* entry.S writes the header's fields by hand: keep it in step with struct agent_header. */
_Static_assert(sizeof(struct agent_header) == 136, "entry.S: header size");
_Static_assert(offsetof(struct agent_header, landing_off) == 76, "entry.S: header layout");
_Static_assert(offsetof(struct agent_header, py_entry_off) == 80, "entry.S: header layout");
_Static_assert(AGENT_PY_DOMAINS == 3 && AGENT_PY_FNS == 4, "entry.S: py entries");
_Static_assert(sizeof(struct agent_pyframe) * AGENT_PY_FRAMES_MAX == AGENT_PY_RESERVE, "pyframes");
_Static_assert(offsetof(struct agent_header, code_size) == 16, "entry.S: header layout");
_Static_assert(offsetof(struct agent_header, entry_off) == 32, "entry.S: header layout");
_Static_assert(offsetof(struct agent_header, blob_size) == 72, "entry.S: header layout");
_Static_assert(ALLOC_FN_MAX == 10, "entry.S: one stub per allocator function, in enum order");
_Static_assert(ALLOC_FN_MAX *AGENT_TRAMP_SIZE == 640, "entry.S: trampoline area size");
_Static_assert(sizeof(struct saved) == 48, "entry.S: six pushes");
_Static_assert(sizeof(struct agent_sample) == 112, "struct agent_sample");

uint64_t hook_malloc(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_calloc(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_realloc(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_reallocarray(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_free(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_posix_memalign(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_aligned_alloc(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_memalign(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_valloc(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);
uint64_t hook_pvalloc(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);

#define LOAD(p)	    __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define COUNT(p)    ((void) __atomic_fetch_add((p), 1, __ATOMIC_RELAXED))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- system calls ---- */

static inline long sys0(long nr)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

static inline long sys6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* gcc may emit calls to these for struct copies; nothing here relies on it. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

/* ---- thread slots ---- */

static inline uint64_t thread_pointer(void)
{
	uint64_t tp;

	/* glibc and musl keep the TCB's self pointer at %fs:0 */
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64_t rng_next(struct agent_thread *t)
{
	uint64_t x = t->rng;

	if (unlikely(!x)) /* never seeded (a handler ran between claim and seed), or reclaimed */
		x = mix64(t->key ^ (uintptr_t) &x) | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->rng = x;
	return x;
}

/* log2(x) in Q32 fixed point, for x >= 1: integer part from the leading bit, 24 fraction bits by
 * repeated squaring of the mantissa. */
static uint64_t log2_q32(uint64_t x)
{
	int ip = 63 - __builtin_clzll(x);
	uint64_t m = ip <= 62 ? x << (62 - ip) : x >> 1; /* mantissa in [1, 2), Q62 */
	uint64_t frac = 0;

	for (int i = 1; i <= 24; i++) {
		m = (uint64_t) (((unsigned __int128) m * m) >> 62); /* in [1, 4) */
		if (m >= UINT64_C(1) << 63) {
			m >>= 1;
			frac |= UINT64_C(1) << (32 - i);
		}
	}
	return ((uint64_t) ip << 32) | frac;
}

/* A draw from the exponential distribution with the given mean: mean * -ln(u), u in (0, 1]. */
static int64_t draw_exp(uint64_t random, uint64_t mean)
{
	const uint64_t ln2_q32 = UINT64_C(2977044472); /* ln 2 * 2^32 */
	uint64_t r = (random >> 11) + 1;	       /* [1, 2^53]: u = r / 2^53 */
	uint64_t nlog2 = (UINT64_C(53) << 32) - log2_q32(r);
	uint64_t nln = (uint64_t) (((unsigned __int128) nlog2 * ln2_q32) >> 32);

	if (mean > MAX_PERIOD)
		mean = MAX_PERIOD;
	return (int64_t) (((unsigned __int128) mean * nln) >> 32);
}

static __attribute__((noinline)) int64_t draw_countdown(struct agent_thread *t, uint64_t mean)
{
	return draw_exp(rng_next(t), mean);
}

static inline uint32_t slot_hash(uint64_t key)
{
	return (uint32_t) ((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
}

/* The slot of the thread whose key hashes to h, looking at SLOT_PROBES slots from there: the one
 * with its key, else the first free one, claimed. NULL when none is free. */
static __attribute__((noinline)) struct agent_thread *thread_claim(struct agent_shared *sh,
								   struct agent_thread *slots,
								   uint32_t n, uint64_t key,
								   uint32_t h)
{
	uint32_t mask = n - 1, probes = n < SLOT_PROBES ? n : SLOT_PROBES;

	for (int round = 0; round < 2; round++) {
		struct agent_thread *free_slot = NULL;
		uint64_t zero = 0;

		for (uint32_t i = 0; i < probes; i++) {
			struct agent_thread *t = &slots[(h + i) & mask];
			uint64_t k = LOAD(&t->key);

			if (k == key)
				return t;
			if (!k && !free_slot)
				free_slot = t;
		}
		if (!free_slot)
			return NULL;
		if (__atomic_compare_exchange_n(&free_slot->key, &zero, key, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			uint64_t mean = LOAD(&sh->sample_bytes);

			STORE(&free_slot->tid, (uint32_t) sys0(SYS_gettid));
			STORE(&free_slot->rng, mix64(key ^ ((uint64_t) free_slot->tid << 32)) | 1);
			STORE(&free_slot->until_sample, mean ? draw_countdown(free_slot, mean) : 0);
			return free_slot;
		}
		/* lost the slot to another thread, or to a handler of ours that claimed one for
		 * us meanwhile: look again */
	}
	return NULL;
}

/* The calling thread's slot, keyed by its thread pointer. NULL when the key is unusable or no
 * slot is free. The first slot looked at is nearly always the one. */
static inline struct agent_thread *thread_slot(struct agent_shared *sh)
{
	uint64_t key = thread_pointer();
	uint32_t n = LOAD(&sh->n_threads);
	struct agent_thread *slots = (struct agent_thread *) ((char *) sh + LOAD(&sh->threads_off));
	uint32_t h = slot_hash(key);
	struct agent_thread *t;

	if (unlikely(!key || !n))
		return NULL;
	t = &slots[h & (n - 1)];
	if (likely(LOAD(&t->key) == key))
		return t;
	return thread_claim(sh, slots, n, key, h);
}

/* Whether an allocation of size bytes is sampled; *ret_period gets the mean in force. */
static inline bool take_sample(struct agent_shared *sh, struct agent_thread *t, uint64_t size,
			       uint64_t *ret_period)
{
	uint64_t mean = LOAD(&sh->sample_bytes);
	int64_t left;

	*ret_period = mean;
	if (!mean)
		return true;
	left = (int64_t) ((uint64_t) LOAD(&t->until_sample) - size);
	if (likely(left >= 0)) {
		/* a countdown drawn for a much larger mean (the setting was lowered): redraw */
		if (unlikely((uint64_t) left > (mean < MAX_PERIOD ? mean : MAX_PERIOD) << 6))
			left = draw_countdown(t, mean);
		STORE(&t->until_sample, left);
		return false;
	}
	STORE(&t->until_sample, draw_countdown(t, mean));
	return true;
}

/* ---- rings (abi.h: bounded MPSC, one sequence number per cell) ---- */

/* Claim the cell at the ring's head. Returns its position, or -1 if full or contended too long. */
static inline int64_t ring_claim(uint64_t *head, char *cells, uint32_t n, uint32_t cell_size)
{
	uint64_t pos = LOAD(head);

	for (int i = 0; i < RING_RETRIES; i++) {
		uint64_t *seq = (uint64_t *) (cells + (uint64_t) (pos & (n - 1)) * cell_size);
		int64_t dif = (int64_t) (__atomic_load_n(seq, __ATOMIC_ACQUIRE) - pos);

		if (dif == 0) {
			if (__atomic_compare_exchange_n(head, &pos, pos + 1, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
				return (int64_t) pos;
		} else if (dif < 0) {
			return -1;
		} else {
			pos = LOAD(head);
		}
	}
	return -1;
}

/* Copy up to len bytes of this process's memory from src, stopping at the first unreadable page.
 * One iovec per page, so that a partial transfer ends exactly there. Returns the bytes copied. */
static uint32_t copy_stack(uint8_t *dst, uint64_t src, uint32_t len)
{
	long pid = sys0(SYS_getpid);
	uint32_t done = 0;

	while (done < len) {
		struct iovec_raw remote[STACK_IOVS], local;
		uint64_t addr = src + done, total = 0;
		int n = 0;
		long r;

		while (n < STACK_IOVS && done + total < len) {
			uint64_t chunk = PAGE_SIZE - (addr & (PAGE_SIZE - 1));

			if (chunk > len - done - total)
				chunk = len - done - total;
			remote[n].base = (void *) (uintptr_t) addr;
			remote[n].len = chunk;
			addr += chunk;
			total += chunk;
			n++;
		}
		local.base = dst + done;
		local.len = total;
		r = sys6(SYS_process_vm_readv, pid, (long) &local, 1, (long) remote, n, 0);
		if (r <= 0)
			break;
		done += (uint32_t) r;
		if ((uint64_t) r < total)
			break;
	}
	return done;
}

/* Read len bytes of this process at src without ever faulting. */
static bool peek(void *dst, uint64_t src, uint64_t len)
{
	struct iovec_raw local = { dst, len }, remote = { (void *) (uintptr_t) src, len };

	if (src < PAGE_SIZE)
		return false;
	return sys6(SYS_process_vm_readv, sys0(SYS_getpid), (long) &local, 1, (long) &remote, 1, 0) ==
	       (long) len;
}

/* The calling thread's Python frames, innermost first, when it is the thread whose state is the
 * interpreter's current one (it holds the GIL, so the frames cannot change under us). Every read
 * goes through process_vm_readv: an offset that does not fit this interpreter gives garbage, never
 * a fault. Returns the number of frames written to out (at most AGENT_PY_FRAMES_MAX). */
static __attribute__((noinline)) uint32_t py_walk(struct agent_pyframe *out)
{
	uint64_t at = LOAD(&agent_data.py_tstate_addr), tstate, thread_id, cframe, frame;
	uint8_t fr[256];
	uint32_t n = 0, fsize = LOAD(&agent_data.py_frame_size);

	if (!at || fsize > sizeof(fr) || fsize < 16)
		return 0;
	tstate = __atomic_load_n((uint64_t *) (uintptr_t) at, __ATOMIC_ACQUIRE);
	if (!tstate || !peek(&thread_id, tstate + LOAD(&agent_data.py_ts_thread_id), 8) ||
	    thread_id != thread_pointer()) {
		/* not the GIL holder: look for its state in the main interpreter's list (other
		 * threads may change the list meanwhile: every read is checked, at worst the walk
		 * ends early or names no frames) */
		uint64_t interp = 0, head = LOAD(&agent_data.py_interp_addr);
		int i;

		tstate = 0;
		if (!head || !peek(&interp, head, 8) || !interp ||
		    !peek(&tstate, interp + LOAD(&agent_data.py_interp_threads), 8))
			return 0;
		for (i = 0; tstate && i < PY_THREADS_MAX; i++) {
			if (!peek(&thread_id, tstate + LOAD(&agent_data.py_ts_thread_id), 8))
				return 0;
			if (thread_id == thread_pointer())
				break;
			if (!peek(&tstate, tstate + LOAD(&agent_data.py_ts_next), 8))
				return 0;
		}
		if (!tstate || i == PY_THREADS_MAX)
			return 0;
	}
	if (!peek(&cframe, tstate + LOAD(&agent_data.py_ts_cframe), 8) || !cframe ||
	    !peek(&frame, cframe + LOAD(&agent_data.py_cframe_current), 8))
		return 0;
	while (frame && n < AGENT_PY_FRAMES_MAX && peek(fr, frame, fsize)) {
		uint64_t code, prev, instr_at;
		uint32_t o_code = LOAD(&agent_data.py_frame_code);
		uint32_t o_prev = LOAD(&agent_data.py_frame_previous);
		uint32_t o_instr = LOAD(&agent_data.py_frame_prev_instr);
		uint32_t o_entry = LOAD(&agent_data.py_frame_is_entry);

		if (o_code + 8 > fsize || o_prev + 8 > fsize || o_instr + 8 > fsize || o_entry >= fsize)
			return 0;
		memcpy(&code, fr + o_code, 8);
		memcpy(&prev, fr + o_prev, 8);
		memcpy(&instr_at, fr + o_instr, 8);
		out[n].code = code;
		out[n].instr = (int32_t) ((int64_t) (instr_at - code -
						    LOAD(&agent_data.py_code_adaptive)) / 2);
		out[n].flags = fr[o_entry] ? AGENT_PYFRAME_ENTRY : 0;
		n++;
		frame = prev;
	}
	return n;
}

/* Publish the sample of an allocation. False if the sample ring is full. */
static __attribute__((noinline)) bool publish_sample(struct agent_shared *sh,
						     const struct agent_thread *t, enum alloc_fn fn,
						     uint64_t ptr, uint64_t size, uint64_t period,
						     const struct saved *ctx, uint64_t rip)
{
	uint32_t cell_size = LOAD(&sh->sample_cell_size), n = LOAD(&sh->n_samples);
	uint32_t want = LOAD(&sh->stack_copy);
	struct agent_sample *s;
	int64_t pos;

	if (cell_size < sizeof(*s) + AGENT_PY_RESERVE || !n)
		return false;
	if (want > cell_size - sizeof(*s) - AGENT_PY_RESERVE)
		want = cell_size - sizeof(*s) - AGENT_PY_RESERVE;
	pos = ring_claim(&sh->sm_head, (char *) sh + LOAD(&sh->samples_off), n, cell_size);
	if (pos < 0)
		return false;
	s = (struct agent_sample *) ((char *) sh + LOAD(&sh->samples_off) +
				     (uint64_t) (pos & (n - 1)) * cell_size);
	s->ptr = ptr;
	s->size = size;
	s->period = period;
	s->fn = fn;
	s->tid = LOAD(&t->tid);
	s->n_py = py_walk((struct agent_pyframe *) ((char *) s + cell_size - AGENT_PY_RESERVE));
	s->regs[AGENT_REG_RIP] = rip;
	s->regs[AGENT_REG_RSP] = (uint64_t) (uintptr_t) (ctx + 1);
	s->regs[AGENT_REG_RBP] = ctx->rbp;
	s->regs[AGENT_REG_RBX] = ctx->rbx;
	s->regs[AGENT_REG_R12] = ctx->r12;
	s->regs[AGENT_REG_R13] = ctx->r13;
	s->regs[AGENT_REG_R14] = ctx->r14;
	s->regs[AGENT_REG_R15] = ctx->r15;
	s->stack_len = copy_stack(s->stack, (uint64_t) (uintptr_t) (ctx + 1), want);
	__atomic_store_n(&s->seq, (uint64_t) pos + 1, __ATOMIC_RELEASE);
	return true;
}

/* Record one call: its sample first when it is a sampled allocation, then its event. py_period:
 * 0 for a native call (sampled by the thread's countdown), else a Python call sampled with that
 * mean (ctx NULL: a Python free, never sampled). */
static __attribute__((always_inline)) inline void record(struct agent_shared *sh,
							 struct agent_thread *t, enum alloc_fn fn,
							 uint64_t ptr, uint64_t old, uint64_t size,
							 const struct saved *ctx, uint64_t py_period,
							 uint64_t rip)
{
	bool is_sampled = false;
	uint64_t period = 0, flags = py_period ? AGENT_EV_PYTHON : 0;
	uint32_t n = LOAD(&sh->n_events);
	struct agent_event *ev;
	int64_t pos;

	if (py_period) {
		is_sampled = ctx && fn != ALLOC_FREE && ptr;
		period = py_period;
	} else if (fn != ALLOC_FREE && ptr) {
		is_sampled = take_sample(sh, t, size, &period);
	}
	pos = ring_claim(&sh->ev_head, (char *) sh + LOAD(&sh->events_off), n, sizeof(*ev));
	if (unlikely(pos < 0)) {
		COUNT(&sh->lost_events);
		return;
	}
	if (unlikely(is_sampled)) {
		if (publish_sample(sh, t, fn, ptr, size, period, ctx, rip))
			flags |= AGENT_EV_SAMPLED;
		else
			COUNT(&sh->lost_samples);
	}
	ev = (struct agent_event *) ((char *) sh + LOAD(&sh->events_off)) + (pos & (n - 1));
	ev->ptr = ptr;
	ev->old = old;
	ev->size_fn = size | (uint64_t) fn << AGENT_EV_FN_SHIFT | flags << AGENT_EV_FLAGS_SHIFT;
	__atomic_store_n(&ev->seq, (uint64_t) pos + 1, __ATOMIC_RELEASE);
}

/* ---- hooks ---- */

static inline uint64_t sat(uint64_t size)
{
	return size > AGENT_EV_SIZE_MASK ? AGENT_EV_SIZE_MASK : size;
}

static inline uint64_t sat_mul(uint64_t n, uint64_t size)
{
	uint64_t r;

	return __builtin_mul_overflow(n, size, &r) ? AGENT_EV_SIZE_MASK : sat(r);
}

/* A recording call: the state is on and sh is a region. */
static __attribute__((always_inline)) inline uint64_t hook_on(enum alloc_fn fn, uint64_t a0,
							      uint64_t a1, uint64_t a2,
							      const struct saved *ctx,
							      struct agent_shared *sh, orig_fn orig)
{
	struct agent_thread *t = thread_slot(sh);
	uint64_t r, ptr = 0, old = 0, size = 0;

	if (unlikely(!t)) {
		COUNT(&sh->no_slot);
		COUNT(&sh->lost_events);
		return orig(a0, a1, a2);
	}
	if (unlikely(LOAD(&t->depth))) {
		COUNT(&sh->nested);
		return orig(a0, a1, a2);
	}
	STORE(&t->depth, 1);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);

	if (fn == ALLOC_FREE) {
		/* before the block is released: see the top of this file */
		record(sh, t, fn, a0, 0, 0, ctx, 0, 0);
		r = orig(a0, a1, a2);
	} else {
		r = orig(a0, a1, a2);
		switch (fn) {
		case ALLOC_MALLOC:
		case ALLOC_VALLOC:
		case ALLOC_PVALLOC:
			size = sat(a0);
			ptr = r;
			break;
		case ALLOC_CALLOC:
			size = sat_mul(a0, a1);
			ptr = r;
			break;
		case ALLOC_REALLOC:
			size = sat(a1);
			old = a0;
			ptr = r;
			break;
		case ALLOC_REALLOCARRAY:
			size = sat_mul(a1, a2);
			old = a0;
			ptr = r;
			break;
		case ALLOC_MEMALIGN:
		case ALLOC_ALIGNED_ALLOC:
			size = sat(a1);
			ptr = r;
			break;
		case ALLOC_POSIX_MEMALIGN:
			size = sat(a2);
			ptr = (uint32_t) r == 0 ? *(volatile uint64_t *) (uintptr_t) a0 : 0;
			break;
		default:
			break;
		}
		record(sh, t, fn, ptr, old, size, ctx, 0, LOAD(&agent_data.entry[fn]));
	}

	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	/* a store, not a decrement: a slot left inconsistent (shared by a reused thread pointer,
	 * reclaimed under us) heals at the next top-level call */
	STORE(&t->depth, 0);
	return r;
}

/* hook_<fn>() decides without a stack frame between jumping to the original and recording in
 * on_<fn>(). */
#define HOOK(name, fn)                                                                             \
	static __attribute__((noinline))                                                           \
	uint64_t on_##name(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx,         \
			   struct agent_shared *sh, orig_fn orig)                                  \
	{                                                                                          \
		return hook_on(fn, a0, a1, a2, ctx, sh, orig);                                     \
	}                                                                                          \
	uint64_t hook_##name(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx)       \
	{                                                                                          \
		orig_fn orig = (orig_fn) (uintptr_t) LOAD(&agent_data.orig[fn]);                   \
		struct agent_shared *sh =                                                          \
		    (struct agent_shared *) (uintptr_t) LOAD(&agent_data.shared);                  \
                                                                                                   \
		if (unlikely(!orig)) /* never patched to come here: fail rather than crash */      \
			return fn == ALLOC_POSIX_MEMALIGN ? 12 /* ENOMEM */ : 0;                   \
		if (LOAD(&agent_data.state) != AGENT_ON || !sh || (fn == ALLOC_FREE && !a0) ||     \
		    unlikely(LOAD(&sh->magic) != AGENT_SHARED_MAGIC))                              \
			return orig(a0, a1, a2);                                                   \
		return on_##name(a0, a1, a2, ctx, sh, orig);                                       \
	}

HOOK(malloc, ALLOC_MALLOC)
HOOK(calloc, ALLOC_CALLOC)
HOOK(realloc, ALLOC_REALLOC)
HOOK(reallocarray, ALLOC_REALLOCARRAY)
HOOK(free, ALLOC_FREE)
HOOK(posix_memalign, ALLOC_POSIX_MEMALIGN)
HOOK(aligned_alloc, ALLOC_ALIGNED_ALLOC)
HOOK(memalign, ALLOC_MEMALIGN)
HOOK(valloc, ALLOC_VALLOC)
HOOK(pvalloc, ALLOC_PVALLOC)

/* ---- CPython allocator domains (ABI 2) ----
 *
 * leakmond puts a PyMemAllocatorEx of ours in each domain (raw, mem, obj) through
 * PyMem_SetAllocator, having saved the process's own in agent_data.py_orig. Python allocates far
 * too often to record every call, so only a byte-sampled subset of the blocks is recorded (with
 * a sample: registers, stack, Python frames), and the addresses of those still live are kept in
 * the shared set so that their frees (and reallocs) are recorded too. Everything else goes
 * straight to the original:
 *  - allocating entries: py_<domain>_<fn>() decrements one byte countdown and, while it stays
 *    positive, tail-calls the original (a few instructions, no frame); when it runs out it
 *    tail-calls agent_pyslow_<domain>_<fn> (entry.S), which saves the callee-saved registers as
 *    they were at the wrapper's entry (a tail call has restored them) for the unwinder, and calls
 *    pyhook_<domain>_<fn>();
 *  - free: one look at its page's byte of a 16 KiB filter (and, for the few pages holding a
 *    sampled block, at the block's bucket of the set: one cache line), and the original.
 * The recording path takes the thread's slot as the native hooks do: its depth makes the calls
 * the original makes (pymalloc's large blocks go to PyMem_RawMalloc, then malloc) nested, so a
 * block is recorded once. Blocks the wrappers did not sample that reach malloc are recorded by
 * the native hooks, exactly. The countdown is one for the process: the mem and obj domains are
 * only called with the GIL held; raw-domain calls of threads without it may race on it, which
 * only perturbs the sampling. */

typedef uint64_t (*py_fn)(uint64_t, uint64_t, uint64_t);

static inline uint64_t py_orig_fn(int dom, int word)
{
	return LOAD(&agent_data.py_orig[dom][word]);
}

static inline uint64_t *pyset_bucket(struct agent_shared *sh, uint64_t ptr)
{
	uint32_t n = LOAD(&sh->n_pybuckets);
	uint64_t h = (ptr >> 4) * UINT64_C(0x9e3779b97f4a7c15);

	return (uint64_t *) ((char *) sh + LOAD(&sh->pyset_off)) +
	       ((h >> 32) & (n - 1)) * AGENT_PYSET_WAYS;
}

/* The shared region when the Python wrappers record, else NULL. */
static inline struct agent_shared *py_region(void)
{
	struct agent_shared *sh = (struct agent_shared *) (uintptr_t) LOAD(&agent_data.shared);

	if (LOAD(&agent_data.py_state) != AGENT_ON || LOAD(&agent_data.state) != AGENT_ON || !sh ||
	    unlikely(LOAD(&sh->magic) != AGENT_SHARED_MAGIC) || !LOAD(&sh->n_pybuckets))
		return NULL;
	return sh;
}

/* ptr's page's byte of the filter after the set at set (never 0) with mask + 1 buckets. The
 * caller loads set and mask once: leakmond may clear agent_data.py_set at any instant. */
static inline uint8_t *py_filter_byte(uint64_t set, uint64_t mask, uint64_t ptr)
{
	return (uint8_t *) (uintptr_t) (set + (mask + 1) * AGENT_PYSET_WAYS * sizeof(uint64_t)) +
	       (((ptr >> 12) * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - AGENT_PYFILTER_BITS));
}

/* Count a sampled block in (delta 1) or out (delta -1) of its page's filter byte. A saturated
 * byte stays (its pages are always looked at in the set). */
static void py_filter_add(uint64_t ptr, int delta)
{
	uint64_t set = LOAD(&agent_data.py_set), mask = LOAD(&agent_data.py_set_mask);
	uint8_t *b, v;

	if (!set)
		return;
	b = py_filter_byte(set, mask, ptr);
	v = LOAD(b);
	while (v != 255 && (delta > 0 || v != 0)) {
		if (__atomic_compare_exchange_n(b, &v, (uint8_t) (v + delta), false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return;
	}
}

/* Whether ptr is a sampled block (in the set); when take, it is removed. */
static inline bool pyset_has(struct agent_shared *sh, uint64_t ptr, bool take)
{
	uint64_t *b = pyset_bucket(sh, ptr);

	for (int i = 0; i < AGENT_PYSET_WAYS; i++) {
		uint64_t v = ptr;

		if (LOAD(&b[i]) != ptr)
			continue;
		if (!take)
			return true;
		if (__atomic_compare_exchange_n(&b[i], &v, 0, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			py_filter_add(ptr, -1);
			return true;
		}
	}
	return false;
}

static bool pyset_add(struct agent_shared *sh, uint64_t ptr)
{
	uint64_t *b = pyset_bucket(sh, ptr);

	for (int i = 0; i < AGENT_PYSET_WAYS; i++) {
		uint64_t zero = 0;

		if (!LOAD(&b[i]) && __atomic_compare_exchange_n(&b[i], &zero, ptr, false,
								 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			py_filter_add(ptr, 1);
			return true;
		}
	}
	COUNT(&sh->py_set_full);
	return false;
}

/* The frees' fast look: whether ptr may be a sampled block: its page's filter byte (a 16 KiB
 * table), and when that is not 0 its bucket of the set (a cache line); the caller confirms
 * through py_region() and pyset_has(). */
static inline bool py_maybe_tracked(uint64_t ptr)
{
	uint64_t set = LOAD(&agent_data.py_set), mask = LOAD(&agent_data.py_set_mask), *b;

	if (!set || !ptr)
		return false;
	/* no sampled block in its page (or in a page hashing alike) */
	if (likely(!LOAD(py_filter_byte(set, mask, ptr))))
		return false;
	b = (uint64_t *) (uintptr_t) set +
	    (((ptr >> 4) * UINT64_C(0x9e3779b97f4a7c15) >> 32) & mask) * AGENT_PYSET_WAYS;
	for (int i = 0; i < AGENT_PYSET_WAYS; i++)
		if (LOAD(&b[i]) == ptr)
			return true;
	return false;
}

static int64_t py_next_countdown(struct agent_shared *sh)
{
	uint64_t mean = LOAD(&sh->py_sample_bytes), x = LOAD(&agent_data.py_rng);

	if (!x)
		x = mix64((uintptr_t) &x ^ thread_pointer()) | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	STORE(&agent_data.py_rng, x);
	if (!mean)
		return 1;
	return draw_exp(x, mean) + 1;
}

/* A free of a sampled block: recorded before the block is released, then released. Recorded even
 * when nested in another hooked call of the thread (a Python free inside a recording call): the
 * block must not stay live for leakmond; a free records no sample, so nothing re-enters. */
static __attribute__((noinline)) void py_free_sampled(int dom, struct agent_shared *sh,
						      uint64_t ptr)
{
	struct agent_thread *t = thread_slot(sh);
	uint32_t depth = t ? LOAD(&t->depth) : 0;

	if (t)
		STORE(&t->depth, 1);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	record(sh, t, ALLOC_FREE, ptr, 0, 0, NULL, 1, 0);
	((py_fn) py_orig_fn(dom, 4))(py_orig_fn(dom, 0), ptr, 0);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (t)
		STORE(&t->depth, depth);
}

/* The recording path of an allocating wrapper: fn is AGENT_PY_MALLOC, _CALLOC or _REALLOC. */
static __attribute__((always_inline)) inline uint64_t py_slow(int dom, int fn, uint64_t a1,
							       uint64_t a2,
							       const struct saved *ctx)
{
	struct agent_shared *sh = py_region();
	py_fn orig = (py_fn) py_orig_fn(dom, 1 + fn);
	uint64_t octx = py_orig_fn(dom, 0), r, size, old = 0, period;
	bool old_sampled = false, is_due;
	struct agent_thread *t;
	enum alloc_fn afn;

	if (!sh) {
		STORE(&agent_data.py_countdown, INT64_MAX / 2);
		return orig(octx, a1, a2);
	}
	if (fn == AGENT_PY_REALLOC && a1)
		old_sampled = pyset_has(sh, a1, true);
	t = thread_slot(sh);
	if (!t || LOAD(&t->depth)) {
		/* nested (the outer call records) or no slot: only a sampled block's end */
		if (!t)
			COUNT(&sh->no_slot);
		if (old_sampled)
			record(sh, t, ALLOC_FREE, a1, 0, 0, NULL, 1, 0);
		return orig(octx, a1, a2);
	}
	STORE(&t->depth, 1);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	period = LOAD(&sh->py_sample_bytes);
	if (!period)
		period = 1;
	is_due = LOAD(&agent_data.py_countdown) <= 0;
	if (fn == AGENT_PY_CALLOC) {
		afn = ALLOC_CALLOC;
		size = sat_mul(a1, a2);
	} else if (fn == AGENT_PY_REALLOC) {
		afn = ALLOC_REALLOC;
		size = sat(a2);
		old = old_sampled ? a1 : 0;
	} else {
		afn = ALLOC_MALLOC;
		size = sat(a1);
	}
	if (is_due)
		STORE(&agent_data.py_countdown, py_next_countdown(sh));
	if (old_sampled && !is_due) {
		/* a sampled block resized by an unsampled call: its free is what matters; the
		 * release happens inside realloc, so the event goes first */
		record(sh, t, ALLOC_FREE, a1, 0, 0, NULL, period, 0);
	}
	r = orig(octx, a1, a2);
	if (is_due && r && pyset_add(sh, r)) {
		COUNT(&sh->py_samples);
		record(sh, t, afn, r, old, size, ctx, period, (uint64_t) orig);
	} else if (is_due && old_sampled) {
		record(sh, t, ALLOC_FREE, a1, 0, 0, NULL, period, 0);
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	STORE(&t->depth, 0);
	return r;
}

#define PY_ALLOC(dom, name, fn, SIZE)                                                              \
	uint64_t agent_pyslow_##name(uint64_t a0, uint64_t a1, uint64_t a2);                       \
	uint64_t pyhook_##name(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx);    \
	uint64_t pyhook_##name(uint64_t a0, uint64_t a1, uint64_t a2, const struct saved *ctx)     \
	{                                                                                          \
		(void) a0;                                                                         \
		return py_slow(dom, fn, a1, a2, ctx);                                              \
	}                                                                                          \
	uint64_t py_##name(uint64_t a0, uint64_t a1, uint64_t a2);                                 \
	uint64_t py_##name(uint64_t a0, uint64_t a1, uint64_t a2)                                  \
	{                                                                                          \
		int64_t left = LOAD(&agent_data.py_countdown) - (int64_t) (SIZE);                  \
                                                                                                   \
		if (likely(left > 0) && (fn != AGENT_PY_REALLOC || !py_maybe_tracked(a1))) {       \
			STORE(&agent_data.py_countdown, left);                                     \
			return ((py_fn) py_orig_fn(dom, 1 + fn))(py_orig_fn(dom, 0), a1, a2);      \
		}                                                                                  \
		STORE(&agent_data.py_countdown, left);                                             \
		return agent_pyslow_##name(a0, a1, a2);                                            \
	}

#define PY_FREE(dom, name)                                                                         \
	uint64_t py_##name(uint64_t a0, uint64_t a1, uint64_t a2);                                 \
	uint64_t py_##name(uint64_t a0, uint64_t a1, uint64_t a2)                                  \
	{                                                                                          \
		struct agent_shared *sh;                                                           \
                                                                                                   \
		(void) a0;                                                                         \
		if (unlikely(py_maybe_tracked(a1)) && (sh = py_region()) &&                        \
		    pyset_has(sh, a1, true)) {                                                     \
			py_free_sampled(dom, sh, a1);                                              \
			return 0;                                                                  \
		}                                                                                  \
		return ((py_fn) py_orig_fn(dom, 4))(py_orig_fn(dom, 0), a1, a2);                   \
	}

#define PY_DOMAIN(dom, d)                                                                          \
	PY_ALLOC(dom, d##_malloc, AGENT_PY_MALLOC, a1)                                             \
	PY_ALLOC(dom, d##_calloc, AGENT_PY_CALLOC, sat_mul(a1, a2))                                \
	PY_ALLOC(dom, d##_realloc, AGENT_PY_REALLOC, a2)                                           \
	PY_FREE(dom, d##_free)

PY_DOMAIN(AGENT_PY_RAW, raw)
PY_DOMAIN(AGENT_PY_MEM, mem)
PY_DOMAIN(AGENT_PY_OBJ, obj)
