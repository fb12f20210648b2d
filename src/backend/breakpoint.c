/* breakpoint.c - the breakpoint backend: int3 at every allocator entry point, driven by ptrace.
 *
 * One thread (the caller's) makes every ptrace call. Processes are attached with PTRACE_SEIZE
 * (never PTRACE_O_EXITKILL: our death must not kill the target); every stop is handled by
 * dispatch and ends with the thread resumed, listening (group-stop), or detached. Each traced
 * process feeds the heap the session handed over at attach. See doc/design.md ("Trace mode").
 */
#include "config.h"

#include <dirent.h>
#include <linux/kcmp.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/hooks.h"
#include "image/image.h"
#include "remote/inject.h"
#include "base/log.h"
#include "remote/patch.h"
#include "base/procfs.h"
#include "base/signals.h"
#include "heap/stacks.h"
#include "agent/abi.h"
#include "backend/agent_ring.h"
#include "backend/backend.h"
#include "heap/heap.h"
#include "remote/agentload.h"
#include "image/pyinfo.h"
#include "stack/pyframes.h"
#include "stack/unwind.h"
#include "base/util.h"

#define TRACE_OPTIONS                                                                              \
	(PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC |     \
	 PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD)
#define THREAD_BUCKETS 1024
#define STOP_TIMEOUT_NS (5ULL * NSEC_PER_SEC)
#define SHADOW_MAX 64 /* allocator frames per thread: deeper nesting is not hijacked */
#define PARKED_MAX 64

enum proc_state {
	PROC_ATTACHING,	  /* threads being seized */
	PROC_WAIT_EXEC,	  /* a held child, seized before exec */
	PROC_WAIT_ENTRY,  /* new image: an int3 at its entry point waits for libc to be mapped */
	PROC_WAIT_CONT,	  /* attached while stopped (SIGSTOP): hooks go in when it is continued */
	PROC_TRACING,	  /* hooks armed */
	PROC_FORK_CHILD,  /* a fork child carrying our patches: to be cleaned and released */
	PROC_VFORK_CHILD, /* a vfork child sharing its parent's memory: traced until exec/exit */
};

struct shadow_frame {
	uint64_t slot; /* stack address of the hijacked return address */
	uint64_t ret;  /* the real return address */
	uint64_t arg[3];
	uint32_t time_ms;
	uint32_t stack_id;
	enum alloc_fn fn;
};

struct tthread {
	pid_t tid;
	struct tproc *proc;
	struct tthread *hnext; /* hash chain */
	struct tthread *pnext; /* the process's thread list */
	bool is_stopped;       /* in a ptrace-stop we have not ended */
	bool is_signal_stop;   /* that stop is a signal-delivery-stop (a signal can be injected) */
	bool is_group_stop;
	int stop_event;	       /* status >> 16 of that stop: 0 for a signal-delivery-stop */
	int pending_sig;
	struct shadow_frame *frames;
	size_t n_frames; /* frames[SHADOW_MAX], allocated at the first hijack */
};

struct tproc {
	pid_t pid;
	struct tracer *tr;
	enum proc_state state;
	bool is_stopping; /* attach/detach: stops are collected, not resumed */
	bool is_execed;	  /* attaching: it executed a new program meanwhile */
	int mem_fd;
	struct inject_site inj; /* where system calls are run in it */
	struct patch_set patches;
	struct tproc *vfork_parent; /* PROC_VFORK_CHILD: whose patches it runs through */
	struct shadow_frame *fork_frames; /* PROC_FORK_CHILD: the forking thread's frames */
	size_t n_fork_frames;
	uint64_t entry;
	uint8_t entry_orig;
	bool has_entry_bp;
	struct heap *heap; /* the session's; NULL for fork and vfork children */
	struct unwinder *unw;
	uint64_t stops, nested, threads_seen;
	unsigned hooks_skipped;
	/* the agent backend */
	struct agent_place agent;	  /* the agent in this address space */
	struct agent_consumer *consumer;  /* draining its shared region */
	uint64_t lost_noted;		  /* lost events already reported in a note */
	uint64_t lost_base;		  /* lost before this attach (an earlier leakmond's) */
	uint32_t drain_ms;		  /* the heap's clock at the start of this drain */
	uint64_t rate_start_ns, rate_allocs, rate_bytes; /* the allocation rate, for sampling */
	/* CPython: our PyMemAllocatorEx tables in its domains (agent/abi.h ABI 2) */
	bool has_py;			  /* installed by us (to be restored at detach) */
	uint64_t py_get, py_set;	  /* PyMem_GetAllocator, PyMem_SetAllocator */
	uint64_t py_eval_start, py_eval_end; /* _PyEval_EvalFrameDefault */
	uint64_t py_period;		  /* mean bytes between sampled Python allocations */
	uint64_t py_samples_seen;	  /* the agent's py_samples at the last adaptation */
	struct tthread *threads;
	struct tproc *next;
};

struct parked {
	pid_t tid;
	int status;
};

/* A thread that did not stop in time when its process was detached: it is still ours. When it
 * stops, it is put back (out of our int3s and copies, which stay mapped for it) and released. */
struct orphan {
	pid_t tid;
	struct patch_set patches;
	uint64_t entry; /* a pending entry-point int3, 0 if none */
	struct orphan *next;
};

#define STACK_COPY_MAX (256 * 1024)

struct tracer {
	struct backend base; /* first: the backend interface */
	backend_note_fn note;
	void *userdata;
	unsigned depth;	       /* frames kept per allocation; 0: no stacks */
	size_t stack_copy;     /* bytes of the stack copied at each allocation */
	uint8_t *stack_buf;    /* STACK_COPY_MAX */
	struct tthread *buckets[THREAD_BUCKETS];
	struct tproc *procs;
	struct parked parked[PARKED_MAX]; /* first stops of fork children seen before the event */
	size_t n_parked;
	struct orphan *orphans;
	/* the agent backend: the same engine, hooks by jmp into an in-process agent */
	bool is_agent;
	uint64_t sample_bytes; /* AGENT_SAMPLE_AUTO, or fixed */
	int drain_fd;	       /* timerfd: drain the agents' rings */
};

#define AGENT_SAMPLE_AUTO UINT64_MAX
#define AGENT_SAMPLES_PER_S 2000 /* auto sampling: stacks wanted per second, at most */
#define AGENT_THREAD_SLOTS 4096
#define AGENT_EVENT_CELLS (1U << 18) /* 8 MiB of events: 2.6 s at 100k calls/s */
#define AGENT_SAMPLE_CELLS 256
#define AGENT_DRAIN_NS (10ULL * NSEC_PER_MSEC)
#define AGENT_ADAPT_NS (100ULL * NSEC_PER_MSEC) /* auto sampling follows the rate this fast */
#define PY_SAMPLES_PER_S 500		/* auto: sampled Python allocations wanted per second */
#define PY_PERIOD_START	 (256ULL << 10) /* auto: the first mean period */
#define PY_PERIOD_MIN	 (8ULL << 10)
#define PY_PERIOD_MAX	 (64ULL << 20)

static int handle_status(struct tracer *tr, pid_t tid, int status);
static int bp_detach_proc(struct tracer *tr, struct tproc *p);
static bool is_injectable(const struct tthread *t);
static bool is_before_entry(struct tproc *p, struct tthread *t);

static void note(struct tracer *tr, pid_t pid, enum backend_note n, int64_t a)
{
	if (tr->note)
		tr->note(tr->userdata, pid, n, a);
}

/* --- tables ------------------------------------------------------------------------------- */

static struct tthread *thread_find(const struct tracer *tr, pid_t tid)
{
	struct tthread *t = tr->buckets[(unsigned)tid % THREAD_BUCKETS];

	while (t && t->tid != tid)
		t = t->hnext;
	return t;
}

static struct tthread *thread_add(struct tproc *p, pid_t tid)
{
	struct tracer *tr = p->tr;
	struct tthread *t = thread_find(tr, tid);
	unsigned b = (unsigned)tid % THREAD_BUCKETS;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	t->proc = p;
	t->hnext = tr->buckets[b];
	tr->buckets[b] = t;
	t->pnext = p->threads;
	p->threads = t;
	p->threads_seen++;
	return t;
}

static void thread_remove(struct tthread *t)
{
	struct tracer *tr = t->proc->tr;
	struct tthread **pp = &tr->buckets[(unsigned)t->tid % THREAD_BUCKETS];

	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
	for (pp = &t->proc->threads; *pp; pp = &(*pp)->pnext) {
		if (*pp == t) {
			*pp = t->pnext;
			break;
		}
	}
	free(t->frames);
	free(t);
}

static struct tproc *proc_new(struct tracer *tr, pid_t pid, enum proc_state state)
{
	struct tproc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->tr = tr;
	p->state = state;
	p->mem_fd = -1;
	p->next = tr->procs;
	tr->procs = p;
	return p;
}

static void proc_free(struct tproc *p)
{
	struct tracer *tr = p->tr;

	while (p->threads)
		thread_remove(p->threads);
	for (struct tproc **pp = &tr->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	/* a vfork child pointing at this process no longer has patches to run through */
	for (struct tproc *q = tr->procs; q; q = q->next)
		if (q->vfork_parent == p)
			q->vfork_parent = NULL;
	if (p->mem_fd >= 0)
		(void)close(p->mem_fd);
	agent_consumer_free(p->consumer);
	agentload_release(&p->agent);
	unwinder_free(p->unw);
	free(p->fork_frames);
	free(p);
}

static struct tproc *proc_find(const struct tracer *tr, pid_t pid)
{
	for (struct tproc *p = tr->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

/* --- resuming ----------------------------------------------------------------------------- */

/* End thread t's stop: continue it, delivering its pending signal, or listen in group-stop. */
static void thread_resume(struct tthread *t)
{
	int sig = t->pending_sig;

	if (!t->is_stopped)
		return;
	t->is_stopped = false;
	t->pending_sig = 0;
	if (t->is_group_stop) {
		(void)ptrace(PTRACE_LISTEN, t->tid, NULL, NULL);
		return;
	}
	if (sig && !t->is_signal_stop) {
		/* only a signal-delivery-stop can inject: send it again, it comes back through us */
		(void)syscall(SYS_tgkill, t->proc->pid, t->tid, sig);
		sig = 0;
	}
	(void)ptrace(PTRACE_CONT, t->tid, NULL, (void *)(long)sig);
}

static bool all_stopped(const struct tproc *p)
{
	for (const struct tthread *t = p->threads; t; t = t->pnext)
		if (!t->is_stopped)
			return false;
	return true;
}

/* Collect stops until every thread of p is stopped (p->is_stopping is set), handling whatever
 * else arrives meanwhile. Bounded by STOP_TIMEOUT_NS. */
static int wait_all_stopped(struct tracer *tr, struct tproc *p)
{
	uint64_t deadline = now_ns() + STOP_TIMEOUT_NS;
	pid_t pid = p->pid;

	while (!all_stopped(p)) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);

		if (tid < 0)
			return -errno;
		if (tid == 0) {
			struct timespec ts = { 0, 200000 };

			if (now_ns() > deadline)
				return -ETIMEDOUT;
			nanosleep(&ts, NULL);
			continue;
		}
		(void)handle_status(tr, tid, status);
		if (proc_find(tr, pid) != p)
			return -ESRCH; /* the whole process went away (p is freed) */
	}
	return 0;
}

/* --- hooks -------------------------------------------------------------------------------- */

static uint32_t elapsed_ms(const struct tproc *p)
{
	return p->heap ? heap_now_ms(p->heap) : 0;
}

/* --- the agent backend ---------------------------------------------------------------------- */

/* An agent event as the call it was (events.h). */
static void agent_call(const struct agent_record *ev, struct alloc_event *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->fn = ev->fn;
	switch (ev->fn) {
	case ALLOC_FREE:
		ret->arg[0] = ev->ptr;
		break;
	case ALLOC_CALLOC:
		ret->arg[0] = 1;
		ret->arg[1] = ev->size;
		ret->result = ev->ptr;
		break;
	case ALLOC_REALLOC:
		ret->arg[0] = ev->old;
		ret->arg[1] = ev->size;
		ret->result = ev->ptr;
		break;
	case ALLOC_REALLOCARRAY:
		ret->arg[0] = ev->old;
		ret->arg[1] = 1;
		ret->arg[2] = ev->size;
		ret->result = ev->ptr;
		break;
	case ALLOC_MEMALIGN:
	case ALLOC_ALIGNED_ALLOC:
		ret->arg[1] = ev->size;
		ret->result = ev->ptr;
		break;
	case ALLOC_POSIX_MEMALIGN:
		ret->arg[2] = ev->size;
		ret->result = ev->ptr ? 0 : ENOMEM;
		ret->out_ptr = ev->ptr;
		break;
	default: /* malloc, valloc, pvalloc */
		ret->arg[0] = ev->size;
		ret->result = ev->ptr;
		break;
	}
}

/* The bytes a sampled Python block stands for: a block of size s sampled with mean period P
 * was picked with probability 1 - exp(-s/P); weighting it by the inverse makes the site's sum an
 * unbiased estimate (tcmalloc's rule). Approximated without libm: P + s/2 below P, s above. */
static uint64_t py_weight(uint64_t size, uint64_t period)
{
	if (period <= 1)
		return size;
	return size >= period ? size : period + size / 2;
}

/* The Python frames of a sample spliced into its native stack pcs[0..depth); returns the new
 * depth (into out). */
static int py_splice(struct tproc *p, const struct agent_sample_view *smp, const uint64_t *pcs,
		     int depth, uint64_t *out)
{
	struct pyframes_raw raw[AGENT_PY_FRAMES_MAX];

	for (uint32_t i = 0; i < smp->n_py; i++)
		raw[i] = (struct pyframes_raw){ .code = smp->py[i].code,
						.instr = smp->py[i].instr,
						.is_entry = smp->py[i].flags & AGENT_PYFRAME_ENTRY };
	return (int)pyframes_splice(p->heap->py, pcs, depth > 0 ? (size_t)depth : 0,
				    p->py_eval_start, p->py_eval_end, raw, smp->n_py, out,
				    p->tr->depth);
}

static void on_agent_event(const struct agent_record *ev, const struct agent_sample_view *smp,
			   void *userdata)
{
	struct tproc *p = userdata;
	struct alloc_event call;

	agent_call(ev, &call);
	if (ev->is_python && ev->fn != ALLOC_FREE) {
		uint64_t w = py_weight(ev->size, smp ? smp->period : p->py_period);

		if (ev->fn == ALLOC_CALLOC)
			call.arg[1] = w;
		else if (ev->fn == ALLOC_REALLOC)
			call.arg[1] = w;
		else
			call.arg[0] = w;
	}
	call.time_ms = p->drain_ms; /* one clock read per batch: the drain interval is the grain */
	if (ev->fn != ALLOC_FREE) {
		p->rate_allocs++;
		p->rate_bytes += ev->size;
	}
	if (smp && p->unw && p->heap->stacks) {
		struct user_regs_struct regs = { 0 };
		uint64_t pcs[STACKS_DEPTH_MAX];
		int depth;

		regs.rip = smp->regs[AGENT_REG_RIP];
		regs.rsp = smp->regs[AGENT_REG_RSP];
		regs.rbp = smp->regs[AGENT_REG_RBP];
		regs.rbx = smp->regs[AGENT_REG_RBX];
		regs.r12 = smp->regs[AGENT_REG_R12];
		regs.r13 = smp->regs[AGENT_REG_R13];
		regs.r14 = smp->regs[AGENT_REG_R14];
		regs.r15 = smp->regs[AGENT_REG_R15];
		depth = unwinder_unwind(p->unw, (pid_t)smp->tid, &regs, smp->stack, smp->stack_len,
					pcs, p->tr->depth);
		if (depth <= 0 && smp->stack_len >= sizeof(uint64_t)) {
			memcpy(&pcs[0], smp->stack, sizeof(uint64_t)); /* at least the caller */
			depth = 1;
			p->heap->unwind_failures++;
		}
		if (smp->n_py && p->heap->py) {
			uint64_t mixed[STACKS_DEPTH_MAX];
			int n = py_splice(p, smp, pcs, depth, mixed);

			if (n > 0) {
				memcpy(pcs, mixed, (size_t)n * sizeof(pcs[0]));
				depth = n;
			}
		}
		if (depth > 0)
			call.stack_id = heap_intern(p->heap, pcs, (size_t)depth);
	}
	heap_apply(p->heap, &call);
}

/* Sampling: every allocation while the rate is low; when it is high, one stack per
 * bytes/AGENT_SAMPLES_PER_S bytes allocated (the byte-based Poisson sampling of tcmalloc). */
static void agent_adapt(struct tproc *p, uint64_t now)
{
	uint64_t span = now - p->rate_start_ns, period;

	if (span < AGENT_ADAPT_NS)
		return;
	if (p->tr->sample_bytes != AGENT_SAMPLE_AUTO)
		period = p->tr->sample_bytes;
	else if (p->rate_allocs * NSEC_PER_SEC / span <= AGENT_SAMPLES_PER_S)
		period = 0;
	else
		period = p->rate_bytes * NSEC_PER_SEC / span / AGENT_SAMPLES_PER_S;
	agent_consumer_set_sampling(p->consumer, period, (uint32_t)p->tr->stack_copy);
	if (p->has_py) {
		struct agent_counters c;
		uint64_t rate;

		agent_consumer_counters(p->consumer, &c);
		rate = (c.py_samples - p->py_samples_seen) * NSEC_PER_SEC / span;
		p->py_samples_seen = c.py_samples;
		if (p->tr->sample_bytes != AGENT_SAMPLE_AUTO)
			p->py_period = p->tr->sample_bytes ? p->tr->sample_bytes : 1;
		else if (rate > PY_SAMPLES_PER_S)
			/* towards the wanted rate at once (at most 8x a step) */
			p->py_period = p->py_period * (rate < 8 * PY_SAMPLES_PER_S ? rate : 8 *
						       PY_SAMPLES_PER_S) / PY_SAMPLES_PER_S;
		else if (rate < PY_SAMPLES_PER_S / 4)
			p->py_period /= 2;
		if (p->py_period > PY_PERIOD_MAX)
			p->py_period = PY_PERIOD_MAX;
		if (p->py_period < PY_PERIOD_MIN && p->tr->sample_bytes == AGENT_SAMPLE_AUTO)
			p->py_period = PY_PERIOD_MIN;
		agent_consumer_set_py_sampling(p->consumer, p->py_period);
	}
	p->rate_start_ns = now;
	p->rate_allocs = p->rate_bytes = 0;
}

/* Drain up to max events of p's agent into its heap. Returns the number consumed. */
static size_t agent_drain(struct tproc *p, size_t max)
{
	struct agent_counters c;
	size_t n;

	if (!p->consumer || !p->heap)
		return 0;
	p->drain_ms = heap_now_ms(p->heap);
	n = agent_consumer_drain(p->consumer, max, on_agent_event, p);
	agent_consumer_counters(p->consumer, &c);
	if (c.lost_events + c.no_slot > p->lost_noted) {
		note(p->tr, p->pid, BACKEND_LOST_EVENTS,
		     (int64_t)(c.lost_events + c.no_slot - p->lost_noted));
		p->lost_noted = c.lost_events + c.no_slot;
	}
	agent_adapt(p, now_ns());
	return n;
}

static void discard_event(const struct agent_record *ev, const struct agent_sample_view *smp,
			  void *userdata)
{
	(void)ev;
	(void)smp;
	(void)userdata;
}

/* Whether some stopped thread of p is, or will return or resume, at a pc for which bad() holds:
 * its rip, and every frame its stack unwinds to (return addresses and the pcs interrupted by
 * signal handlers alike). Returns the offending thread, or NULL. A thread whose stack cannot be
 * unwound counts as offending only if its rip does. */
static struct tthread *agent_find_thread_at(struct tproc *p, struct unwinder *u,
					    const struct agent_place *ap,
					    bool (*bad)(const struct agent_place *, uint64_t))
{
	struct tracer *tr = p->tr;

	for (struct tthread *t = p->threads; t; t = t->pnext) {
		struct user_regs_struct regs;
		uint64_t pcs[STACKS_DEPTH_MAX];
		struct iovec local = { tr->stack_buf, STACK_COPY_MAX };
		struct iovec remote;
		ssize_t n;
		int depth;

		if (!t->is_stopped || ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
			continue;
		if (bad(ap, regs.rip))
			return t;
		if (!u)
			continue;
		remote.iov_base = (void *)(uintptr_t)regs.rsp;
		remote.iov_len = STACK_COPY_MAX;
		n = process_vm_readv(t->tid, &local, 1, &remote, 1, 0);
		depth = unwinder_unwind(u, t->tid, &regs, tr->stack_buf, n > 0 ? (size_t)n : 0, pcs,
					STACKS_DEPTH_MAX);
		for (int i = 0; i < depth; i++) {
			if (bad(ap, pcs[i])) {
				log_debug("pid %d: thread %d: frame %d of %d at 0x%llx (rip 0x%llx)",
					  (int)p->pid, (int)t->tid, i, depth,
					  (unsigned long long)pcs[i], (unsigned long long)regs.rip);
				return t;
			}
		}
	}
	return NULL;
}

static struct unwinder *agent_unwinder(struct tproc *p, bool *ret_is_temporary)
{
	*ret_is_temporary = false;
	if (p->unw)
		return p->unw;
	*ret_is_temporary = true;
	return unwinder_new(p->pid, p->mem_fd);
}

/* Let the stopped threads of p run for ns nanoseconds, their stops handled as usual meanwhile (a
 * thread that holds signals stops again at each one: only our handling lets it progress), then
 * stop them all again. Returns 0, -ESRCH (p is gone), -ESTALE (it executed a new program; its
 * entry will be hooked), or -errno. */
static int run_a_while(struct tproc *p, uint64_t ns)
{
	struct tracer *tr = p->tr;
	uint64_t deadline = now_ns() + ns;
	pid_t pid = p->pid;

	p->is_stopping = false;
	for (struct tthread *x = p->threads; x; x = x->pnext)
		thread_resume(x);
	while (now_ns() < deadline) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);

		if (tid < 0 && errno != ECHILD)
			return -errno;
		if (tid > 0) {
			(void)handle_status(tr, tid, status);
			if (proc_find(tr, pid) != p)
				return -ESRCH;
			continue;
		}
		{
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	p->is_stopping = true;
	if (p->state == PROC_WAIT_ENTRY)
		return -ESTALE;
	for (struct tthread *x = p->threads; x; x = x->pnext)
		if (!x->is_stopped)
			(void)ptrace(PTRACE_INTERRUPT, x->tid, NULL, NULL);
	return wait_all_stopped(tr, p);
}

/* Take out of the plan every hook whose covered bytes some thread is (or returns, or resumes)
 * inside. Returns 0, or -EBUSY when malloc or free is one of them. */
static int agent_drop_occupied(struct tproc *p, struct unwinder *u)
{
	struct agent_place *ap = &p->agent;

	for (size_t i = 0; i < ap->n_hooks;) {
		struct agent_place one = *ap;

		one.n_hooks = 1;
		one.hooks[0] = ap->hooks[i];
		if (!agent_find_thread_at(p, u, &one, agentload_in_patch)) {
			i++;
			continue;
		}
		if (ap->hooks[i].fn == ALLOC_MALLOC || ap->hooks[i].fn == ALLOC_FREE)
			return -EBUSY;
		ap->hooks[i] = ap->hooks[--ap->n_hooks];
		ap->skipped++;
	}
	return 0;
}

/* Map (or reuse) the agent, make its shared region, plan the hooks, and write the jmps once no
 * thread is inside the bytes they cover. Every thread of p is stopped; t is in a stop where a
 * syscall can be injected. Returns 0 or -errno (the agent is left off). */
static int install_agent(struct tproc *p, struct tthread *t, const struct hook_set *hs)
{
	struct tracer *tr = p->tr;
	struct agent_layout lay;
	struct unwinder *u;
	bool is_new = false, is_temporary, was_stopping = p->is_stopping;
	int sig = 0, r;

	/* a hook reads the thread pointer (%fs:0): a thread without one would fault there (at a
	 * new program's entry a static one has none yet, but sets it up before any malloc) */
	for (struct tthread *o = p->threads; p->state != PROC_WAIT_ENTRY && o; o = o->pnext) {
		struct user_regs_struct regs;

		if (o->is_stopped && ptrace(PTRACE_GETREGS, o->tid, NULL, &regs) == 0 &&
		    regs.fs_base == 0) {
			if (!p->threads->pnext && is_before_entry(p, o))
				return -EAGAIN; /* its dynamic linker is still setting it up */
			log_warning("pid %d: thread %d has no thread pointer; the agent cannot run in "
				    "it (use --backend breakpoint)",
				    (int)p->pid, (int)o->tid);
			return -ENOTSUP;
		}
	}
	r = agent_shared_layout(AGENT_THREAD_SLOTS, AGENT_EVENT_CELLS, AGENT_SAMPLE_CELLS,
				(uint32_t)tr->stack_copy, &lay);
	if (r < 0)
		return r;
	r = agentload_map(&p->agent, p->pid, t->tid, p->mem_fd, &p->inj, hs,
			  lay.total_size, &is_new, &sig);
	if (sig && !t->pending_sig)
		t->pending_sig = sig;
	t->is_signal_stop = false; /* the injections end in a syscall stop: re-send signals */
	if (r < 0)
		return r;
	if (is_new)
		agent_shared_init(p->agent.shared_map, &lay,
				  tr->sample_bytes == AGENT_SAMPLE_AUTO ? 0 : tr->sample_bytes);
	r = agent_consumer_new(p->agent.shared_map, p->agent.shared_size, &p->consumer);
	if (r < 0)
		goto fail;
	if (!is_new) /* what a killed leakmond left: blocks we never saw allocated (one lap) */
		(void)agent_consumer_drain(p->consumer, AGENT_EVENT_CELLS, discard_event, NULL);
	{
		struct agent_counters c;

		agent_consumer_counters(p->consumer, &c);
		p->lost_base = p->lost_noted = c.lost_events + c.no_slot;
	}
	agent_consumer_set_sampling(p->consumer,
				    tr->sample_bytes == AGENT_SAMPLE_AUTO ? 0 : tr->sample_bytes,
				    (uint32_t)tr->stack_copy);
	r = agentload_prepare(&p->agent, p->mem_fd, hs);
	if (r < 0)
		goto fail;
	/* no thread may be (or return, or resume from a signal) inside the bytes a jmp covers */
	u = agent_unwinder(p, &is_temporary);
	for (int round = 0;; round++) {
		struct tthread *o = agent_find_thread_at(p, u, &p->agent, agentload_in_patch);
		struct timespec ts = { 0, (long)NSEC_PER_MSEC << (round < 6 ? round : 6) };

		if (!o)
			break;
		if (round == 12) {
			/* still there (a handler that interrupted a prologue and blocks, say): leave
			 * the functions it is in unhooked */
			struct user_regs_struct regs;

			if (ptrace(PTRACE_GETREGS, o->tid, NULL, &regs) == 0)
				log_info("pid %d: thread %d stays inside an allocator's first "
					 "instructions (rip 0x%llx); those functions stay unhooked",
					 (int)p->pid, (int)o->tid, (unsigned long long)regs.rip);
			r = agent_drop_occupied(p, u) < 0 ? -EBUSY : 0;
			break;
		}
		/* let every thread run on a while, then stop them again */
		r = run_a_while(p, ts.tv_nsec);
		if (r < 0)
			break;
		/* the thread to inject through may have moved on: it is only needed again to
		 * unmap, which the detach does through whichever thread is in a safe stop */
	}
	if (is_temporary)
		unwinder_free(u);
	if (r == -ESRCH)
		return r; /* p is gone */
	p->is_stopping = was_stopping;
	if (p->is_execed)
		return -ESTALE; /* it executed a new program while its threads ran: start over */
	if (r == 0)
		r = agentload_arm(&p->agent, p->mem_fd);
	if (r < 0)
		goto fail;
	p->hooks_skipped = p->agent.skipped;
	p->rate_start_ns = now_ns();
	return 0;
fail:
	(void)agentload_set_state(&p->agent, p->mem_fd, AGENT_OFF);
	p->consumer = agent_consumer_free(p->consumer);
	agentload_release(&p->agent);
	return r;
}

/* --- CPython: our allocator tables in its domains ---------------------------------------------- */

static const char *const py_domain_names[AGENT_PY_DOMAINS] = { "raw", "mem", "obj" };

static uint64_t py_data(const struct tproc *p, size_t offset)
{
	return p->agent.base + p->agent.hdr.data_off + offset;
}

/* Our table for domain dom: no context, the agent's four wrappers. */
static void py_our_table(const struct tproc *p, int dom, uint64_t ret[AGENT_PY_TABLE_WORDS])
{
	ret[0] = 0;
	for (int f = 0; f < AGENT_PY_FNS; f++)
		ret[1 + f] = p->agent.base + p->agent.hdr.py_entry_off[dom * AGENT_PY_FNS + f];
}

/* Call PyMem_GetAllocator (is_set false) or PyMem_SetAllocator in thread t with the agent's
 * scratch table (agent_data.py_table) as the argument. */
static int py_call(struct tproc *p, struct tthread *t, bool is_set, int dom)
{
	uint64_t args[6] = { (uint64_t)dom, py_data(p, offsetof(struct agent_data, py_table)) };
	uint64_t value = 0;
	int sig = 0, r;

	r = inject_call(t->tid, is_set ? p->py_set : p->py_get,
			p->agent.base + p->agent.hdr.landing_off, args, &value, &sig);
	if (sig && !t->pending_sig)
		t->pending_sig = sig;
	t->is_signal_stop = false; /* the call ends in a syscall stop: re-send signals */
	return r;
}

/* Domain dom's table as the process has it now (PyMem_GetAllocator, called in it) into now, and
 * ours (the agent's wrappers) into ours. Returns 0 or -errno. */
static int py_table_now(struct tproc *p, struct tthread *t, int dom,
			uint64_t now[AGENT_PY_TABLE_WORDS], uint64_t ours[AGENT_PY_TABLE_WORDS])
{
	int r;

	py_our_table(p, dom, ours);
	r = py_call(p, t, false, dom);
	if (r == 0)
		r = inject_read(p->mem_fd, py_data(p, offsetof(struct agent_data, py_table)), now,
				AGENT_PY_TABLE_WORDS * sizeof(uint64_t));
	return r;
}

/* The notice of a process whose Python allocations stay native-only: one line, once. */
static void py_fallback(const struct tproc *p, const char *why)
{
	log_warning("pid %d: %s; Python allocations are traced as native ones only (without "
		   "Python frames)",
		   (int)p->pid, why);
}

/* The layout of the interpreter's structures: from its DWARF (a separate debug file found by
 * build-id) when there is one, else the built-in table of its version. */
static int py_layout(const struct tproc *p, const struct hook_set *hs, uint32_t hexversion,
		     struct py_layout *ret)
{
	char path[128], root[64];
	int fd, root_fd;

	/* a version we have no table for is not walked even with debug info: the 3.12+
	 * structures differ in more than offsets */
	if (pyinfo_layout_builtin(hexversion, ret) < 0)
		return -ENOTSUP;
	if (strlen(hs->py_build_id) <= 2)
		return 0;
	snprintf(root, sizeof(root), "/proc/%d/root", (int)p->pid);
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", hs->py_build_id,
		 hs->py_build_id + 2);
	root_fd = open(root, O_PATH | O_CLOEXEC);
	if (root_fd < 0)
		return 0;
	fd = image_open_in_root(root_fd, path, strlen(path), NULL);
	(void)close(root_fd);
	if (fd >= 0) {
		struct py_layout dw;

		if (pyinfo_layout_dwarf(fd, hexversion, &dw) == 0)
			*ret = dw;
		(void)close(fd);
	}
	return 0;
}

/* Put our wrappers in the interpreter's three allocator domains (every thread stopped, t in a
 * stop where a call can be injected, the agent armed and on). The processes' own tables are saved
 * in the agent's data first; a table that is already ours (a killed leakmond's) keeps the
 * originals saved then. A process that is not a CPython we know is left to the native hooks, with
 * one notice. Never fails the attach. */
static void install_python(struct tproc *p, struct tthread *t, const struct hook_set *hs)
{
	struct py_layout l;
	struct agent_data d;
	uint32_t hexversion = 0;
	char ver[16], why[160];
	int dom = 0, r;

	if (hs->py_module < 0 || !p->heap || !p->consumer)
		return;
	for (int k = 0; k < HOOK_PY_MAX; k++) {
		if (!hs->py_addr[k]) {
			py_fallback(p, "a CPython interpreter without the symbols leakmond needs "
				       "(PyMem_SetAllocator, _PyRuntime, Py_Version, ...)");
			return;
		}
	}
	if (inject_read(p->mem_fd, hs->py_addr[HOOK_PY_VERSION], &hexversion, sizeof(hexversion)) < 0) {
		py_fallback(p, "cannot read the Python version");
		return;
	}
	pyinfo_version_name(hexversion, ver, sizeof(ver));
	if (py_layout(p, hs, hexversion, &l) < 0) {
		snprintf(why, sizeof(why), "Python %s is not supported (3.11 is)", ver);
		py_fallback(p, why);
		return;
	}
	if (inject_read(p->mem_fd, py_data(p, 0), &d, sizeof(d)) < 0 || d.magic != AGENT_MAGIC)
		return;
	p->py_get = hs->py_addr[HOOK_PY_GET_ALLOCATOR];
	p->py_set = hs->py_addr[HOOK_PY_SET_ALLOCATOR];
	p->py_eval_start = hs->py_addr[HOOK_PY_EVAL_FRAME];
	p->py_eval_end = p->py_eval_start + hs->py_size[HOOK_PY_EVAL_FRAME];
	p->py_period = p->tr->sample_bytes == AGENT_SAMPLE_AUTO ? PY_PERIOD_START
		       : p->tr->sample_bytes			    ? p->tr->sample_bytes
									    : 1;
	agent_consumer_set_py_sampling(p->consumer, p->py_period);
	{
		struct agent_counters c;

		agent_consumer_counters(p->consumer, &c);
		p->py_samples_seen = c.py_samples;
	}
	d.py_state = AGENT_ON;
	d.py_generation++;
	d.py_countdown = (int64_t)p->py_period;
	d.py_tstate_addr = hs->py_addr[HOOK_PY_RUNTIME] + l.runtime_tstate;
	d.py_ts_thread_id = l.ts_thread_id;
	d.py_ts_cframe = l.ts_cframe;
	d.py_cframe_current = l.cframe_current;
	d.py_frame_code = l.frame_code;
	d.py_frame_previous = l.frame_previous;
	d.py_frame_prev_instr = l.frame_prev_instr;
	d.py_frame_is_entry = l.frame_is_entry;
	d.py_frame_size = l.frame_size;
	d.py_code_adaptive = l.code_adaptive;
	d.py_interp_addr = hs->py_addr[HOOK_PY_RUNTIME] + l.runtime_interp_main;
	d.py_interp_threads = l.interp_threads_head;
	d.py_ts_next = l.ts_next;
	{
		const struct agent_layout *al = agent_consumer_layout(p->consumer);

		d.py_set = al->n_pybuckets ? p->agent.shared + al->pyset_off : 0;
		d.py_set_mask = al->n_pybuckets ? al->n_pybuckets - 1 : 0;
		/* a region an earlier attach left holds that attach's sampled blocks: they are
		 * not in our heap (every thread is stopped: no wrapper is looking) */
		if (al->n_pybuckets)
			memset((uint8_t *)p->agent.shared_map + al->pyset_off, 0,
			       (size_t)al->n_pybuckets * AGENT_PYSET_WAYS * sizeof(uint64_t) +
				       AGENT_PYFILTER_BYTES);
	}
	r = inject_write(p->mem_fd, py_data(p, 0), &d, sizeof(d));
	for (dom = 0; r == 0 && dom < AGENT_PY_DOMAINS; dom++) {
		uint64_t now[AGENT_PY_TABLE_WORDS], ours[AGENT_PY_TABLE_WORDS];

		r = py_table_now(p, t, dom, now, ours);
		if (r < 0)
			break;
		if (memcmp(now, ours, sizeof(ours)) != 0) {
			/* the process's own: saved before ours goes in */
			r = inject_write(p->mem_fd,
					 py_data(p, offsetof(struct agent_data, py_orig) +
							   (size_t)dom * sizeof(d.py_orig[0])),
					 now, sizeof(now));
		} else if (!d.py_orig[dom][1]) {
			r = -EBADMSG; /* ours, but no original saved: cannot happen */
		}
		if (r == 0)
			r = inject_write(p->mem_fd,
					 py_data(p, offsetof(struct agent_data, py_table)), ours,
					 sizeof(ours));
		if (r == 0)
			r = py_call(p, t, true, dom);
		if (r < 0)
			break;
		p->has_py = true; /* from the first domain on: restored at detach */
	}
	if (r < 0) {
		snprintf(why, sizeof(why), "Python %s: cannot install the allocator wrappers (%s)",
			 ver, strerror(-r));
		py_fallback(p, why);
		if (r == -ESRCH || r == -ETIMEDOUT)
			return;
		/* the domains done so far stay ours until the detach restores them; the wrappers
		 * record only while py_state is on */
		if (!p->has_py)
			(void)inject_write(p->mem_fd, py_data(p, offsetof(struct agent_data, py_state)),
					   &(uint32_t){ AGENT_OFF }, sizeof(uint32_t));
		return;
	}
	p->heap->py = p->heap->py_free ? p->heap->py : NULL;
	if (!p->heap->py) {
		p->heap->py = pyframes_new(p->pid, &l);
		p->heap->py_free = pyframes_free;
	}
	free(p->heap->py_version);
	p->heap->py_version = strdup(ver);
	log_info("pid %d: Python %s: allocator domains raw, mem and obj wrapped (structure offsets "
		 "from %s); sampled Python allocations are named by their Python frames",
		 (int)p->pid, ver, l.is_from_dwarf ? "its debug info" : "the built-in table");
}

/* Put the process's own tables back in the domains that still hold ours (every thread stopped,
 * t injectable). A domain whose table was replaced since (the program installed its own, e.g.
 * tracemalloc.start()) is left as it is: the new table may call ours, which passes every call
 * through once the agent is off; said once. */
static void uninstall_python(struct tproc *p, struct tthread *t)
{
	uint64_t orig[AGENT_PY_DOMAINS][AGENT_PY_TABLE_WORDS];
	int r = 0;

	if (!p->has_py)
		return;
	p->has_py = false;
	if (!t) {
		log_warning("pid %d: no thread can run a call now: Python's allocator tables stay "
			   "leakmond's wrappers, which only pass calls through",
			   (int)p->pid);
		return;
	}
	r = inject_read(p->mem_fd, py_data(p, offsetof(struct agent_data, py_orig)), orig,
			sizeof(orig));
	for (int dom = 0; r == 0 && dom < AGENT_PY_DOMAINS; dom++) {
		uint64_t now[AGENT_PY_TABLE_WORDS], ours[AGENT_PY_TABLE_WORDS];

		r = py_table_now(p, t, dom, now, ours);
		if (r < 0)
			break;
		if (memcmp(now, ours, sizeof(ours)) != 0) {
			log_warning("pid %d: Python's '%s' allocator was replaced since the attach (by "
				   "the program); it is left in place, and leakmond's wrapper it may "
				   "call passes every call through",
				   (int)p->pid, py_domain_names[dom]);
			continue;
		}
		r = inject_write(p->mem_fd, py_data(p, offsetof(struct agent_data, py_table)),
				 orig[dom], sizeof(orig[dom]));
		if (r == 0)
			r = py_call(p, t, true, dom);
	}
	if (r < 0)
		log_warning("pid %d: cannot restore Python's allocator tables (%s); leakmond's "
			    "wrappers stay, passing every call through",
			    (int)p->pid, strerror(-r));
	(void)inject_write(p->mem_fd, py_data(p, offsetof(struct agent_data, py_state)),
			   &(uint32_t){ AGENT_OFF }, sizeof(uint32_t));
	(void)inject_write(p->mem_fd, py_data(p, offsetof(struct agent_data, py_set)),
			   &(uint64_t){ 0 }, sizeof(uint64_t));
}

/* Detach from p's agent (every thread stopped): the last events drained, the jmps taken out, the
 * agent off; its shared region unmapped in the target when no thread is inside the agent (else it
 * stays for the next attach). */
static int agent_detach(struct tproc *p)
{
	struct tthread *inj = NULL;
	struct unwinder *u;
	bool is_temporary;
	int r, sig = 0;

	if (!p->agent.base)
		return 0;
	while (agent_drain(p, 1 << 16) > 0)
		;
	if (p->has_py) {
		struct tthread *c = NULL;

		for (struct tthread *t = p->threads; t; t = t->pnext)
			if (is_injectable(t) && (!c || t->tid == p->pid))
				c = t;
		uninstall_python(p, all_stopped(p) ? c : NULL);
		while (agent_drain(p, 1 << 16) > 0)
			;
	}
	r = agentload_disarm(&p->agent, p->mem_fd);
	while (agent_drain(p, 1 << 16) > 0)
		;
	p->consumer = agent_consumer_free(p->consumer);
	agentload_release(&p->agent);
	for (struct tthread *t = p->threads; t; t = t->pnext)
		if (is_injectable(t) && (!inj || t->tid == p->pid))
			inj = t;
	u = agent_unwinder(p, &is_temporary);
	if (inj && all_stopped(p) && u &&
	    !agent_find_thread_at(p, u, &p->agent, agentload_in_agent)) {
		int e = agentload_unmap_shared(&p->agent, inj->tid, p->mem_fd, &p->inj, &sig);

		if (sig && !inj->pending_sig)
			inj->pending_sig = sig;
		inj->is_signal_stop = false;
		if (e < 0)
			log_debug("pid %d: the agent's shared region stays mapped (%s)", (int)p->pid,
				  strerror(-e));
	}
	if (is_temporary)
		unwinder_free(u);
	memset(&p->agent, 0, sizeof(p->agent));
	return r;
}

static int install_hooks(struct tproc *p, struct tthread *t)
{
	struct hook_set hs;
	int sig = 0, r;

	r = hooks_resolve(p->pid, &hs);
	if (r < 0)
		return r;
	if (p->mem_fd < 0) {
		p->mem_fd = inject_open_mem(p->pid);
		if (p->mem_fd < 0)
			return p->mem_fd;
	}
	r = inject_find_site(p->pid, p->mem_fd, &p->inj);
	if (r < 0)
		return r;
	if (p->tr->depth && p->heap && p->heap->stacks) {
		p->unw = unwinder_free(p->unw);
		p->unw = unwinder_new(p->pid, p->mem_fd);
		if (!p->unw)
			log_warning("pid %d: cannot read its modules for stack unwinding; allocations "
				    "are traced without stacks",
				    (int)p->pid);
	}
	if (p->tr->is_agent) {
		r = install_agent(p, t, &hs);
		if (r < 0)
			return r;
		if (is_injectable(t) && all_stopped(p))
			install_python(p, t, &hs);
		p->state = PROC_TRACING;
		return 0;
	}
	r = patch_install(&p->patches, t->tid, p->mem_fd, &p->inj, &hs, &p->hooks_skipped,
			  &sig);
	if (sig && !t->pending_sig)
		t->pending_sig = sig;
	/* after an injection a held signal is sent again rather than injected (inject.h) */
	t->is_signal_stop = false;
	if (r < 0)
		return r;
	p->state = PROC_TRACING;
	return 0;
}

/* The value of auxiliary vector entry type in /proc/PID/auxv (dfd: the /proc/PID directory).
 * Returns 0, -ENOENT or -errno. */
static int read_auxv(int dfd, uint64_t type, uint64_t *ret)
{
	_cleanup_close_ int fd = openat(dfd, "auxv", O_RDONLY | O_CLOEXEC);
	uint64_t aux[2];

	if (fd < 0)
		return -errno;
	while (read(fd, aux, sizeof(aux)) == (ssize_t)sizeof(aux) && aux[0] != AT_NULL) {
		if (aux[0] == type) {
			*ret = aux[1];
			return 0;
		}
	}
	return -ENOENT;
}

static int read_entry(pid_t pid, uint64_t *ret_entry)
{
	_cleanup_close_ int dfd = -1;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	return read_auxv(dfd, AT_ENTRY, ret_entry);
}

/* A new program image: arm a one-time int3 at its entry point. When it is hit, every library it
 * needs is mapped and relocated but main() has not run: the hooks go in then. */
static int arm_entry(struct tproc *p)
{
	uint8_t int3 = 0xcc;
	int r;

	if (p->mem_fd >= 0)
		(void)close(p->mem_fd); /* a descriptor of the old image's memory */
	p->mem_fd = inject_open_mem(p->pid);
	if (p->mem_fd < 0)
		return p->mem_fd;
	r = read_entry(p->pid, &p->entry);
	if (r < 0)
		return r;
	r = inject_read(p->mem_fd, p->entry, &p->entry_orig, 1);
	if (r < 0)
		return r;
	r = inject_write(p->mem_fd, p->entry, &int3, 1);
	if (r < 0)
		return r;
	p->has_entry_bp = true;
	p->state = PROC_WAIT_ENTRY;
	return 0;
}

static void disarm_entry(struct tproc *p)
{
	if (p->has_entry_bp)
		(void)inject_write(p->mem_fd, p->entry, &p->entry_orig, 1);
	p->has_entry_bp = false;
}

/* Release a process we could not (or no longer) trace, leaving it exactly as it was. */
static void release(struct tproc *p, int err)
{
	struct tracer *tr = p->tr;
	pid_t pid = p->pid;

	(void)bp_detach_proc(tr, p);
	note(tr, pid, BACKEND_RELEASED, err);
}

/* --- breakpoint hits ------------------------------------------------------------------------ */

static void on_entry_bp(struct tthread *t, struct user_regs_struct *regs)
{
	struct tproc *p = t->proc;
	int r;

	disarm_entry(p);
	regs->rip = p->entry;
	(void)ptrace(PTRACE_SETREGS, t->tid, NULL, regs);
	r = install_hooks(p, t);
	if (r < 0) {
		log_warning("pid %d: cannot install allocator hooks (%s), releasing it", (int)p->pid,
			    strerror(-r));
		release(p, r);
		return;
	}
	note(p->tr, p->pid, BACKEND_HOOKED, 0);
	thread_resume(t);
}

static struct patch_set *patches_of(struct tproc *p)
{
	if (p->state == PROC_VFORK_CHILD)
		return p->vfork_parent ? &p->vfork_parent->patches : NULL;
	return &p->patches;
}

/* At an allocator's entry: copy the top of the stack (one process_vm_readv), take the return
 * address from it, and unwind it to an interned stack id (0 without stacks). */
static int capture_stack(struct tthread *t, const struct user_regs_struct *regs, uint64_t *ret_addr,
			 uint32_t *ret_stack_id)
{
	struct tproc *p = t->proc;
	struct tracer *tr = p->tr;
	uint64_t pcs[STACKS_DEPTH_MAX];
	size_t len = tr->depth ? tr->stack_copy : sizeof(uint64_t);
	struct iovec local = { tr->stack_buf, len };
	struct iovec remote = { (void *)(uintptr_t)regs->rsp, len };
	ssize_t n;
	int depth;

	n = process_vm_readv(t->tid, &local, 1, &remote, 1, 0);
	if (n < (ssize_t)sizeof(uint64_t)) {
		/* the copy may cross the top of the stack: at least the return address */
		if (inject_read(p->mem_fd, regs->rsp, tr->stack_buf, sizeof(uint64_t)) < 0)
			return -EFAULT;
		n = sizeof(uint64_t);
	}
	memcpy(ret_addr, tr->stack_buf, sizeof(uint64_t));
	*ret_stack_id = 0;
	if (!p->unw || !p->heap || !p->heap->stacks)
		return 0;
	depth = unwinder_unwind(p->unw, t->tid, regs, tr->stack_buf, (size_t)n, pcs, tr->depth);
	if (depth <= 0) {
		/* at least the caller: the return address we just read */
		pcs[0] = *ret_addr;
		depth = 1;
		p->heap->unwind_failures++;
	}
	*ret_stack_id = heap_intern(p->heap, pcs, (size_t)depth);
	return 0;
}

static void on_hook(struct tthread *t, struct user_regs_struct *regs,
		    const struct patch_site *site)
{
	struct tproc *p = t->proc;
	bool is_nested;

	if (p->is_stopping) {
		/* detaching: undo the hit, the call runs its original code after restore */
		regs->rip = site->addr;
		(void)ptrace(PTRACE_SETREGS, t->tid, NULL, regs);
		return;
	}
	if (p->state == PROC_VFORK_CHILD) {
		regs->rip = site->copy_addr;
		/* shares its parent's memory and stack: run through, record and hijack nothing */
		(void)ptrace(PTRACE_SETREGS, t->tid, NULL, regs);
		thread_resume(t);
		return;
	}
	/* A shadow frame is live exactly while its stack slot still holds our trampoline: the
	 * allocator it hijacked has not returned. One still in place means this call is made from
	 * inside it (reallocarray calls realloc; realloc(NULL, n) tail-jumps into malloc, and then
	 * the frame sits right at the stack pointer), possibly on another stack (a signal handler
	 * on a sigaltstack). One overwritten was left by a longjmp and goes. */
	while (t->n_frames) {
		uint64_t v = 0;

		if (inject_read(p->mem_fd, t->frames[t->n_frames - 1].slot, &v, sizeof(v)) == 0 &&
		    v == p->patches.tramp)
			break;
		t->n_frames--;
	}
	is_nested = t->n_frames > 0;
	if (is_nested) {
		p->nested++;
	} else if (site->fn == ALLOC_FREE) {
		struct alloc_event ev = { .fn = ALLOC_FREE, .arg = { regs->rdi } };

		if (p->heap)
			heap_apply(p->heap, &ev);
	} else if (t->n_frames < SHADOW_MAX) {
		struct shadow_frame *f;
		uint32_t stack_id = 0;
		uint64_t ret;

		regs->rip = site->addr; /* the state at the function's entry, for the unwinder */
		if (!t->frames) {
			/* allocated once, never moved: the crash handler may read it at any time */
			t->frames = calloc(SHADOW_MAX, sizeof(*t->frames));
			if (!t->frames)
				goto out;
		}
		if (capture_stack(t, regs, &ret, &stack_id) < 0)
			goto out;
		f = &t->frames[t->n_frames];
		f->stack_id = stack_id;
		f->slot = regs->rsp;
		f->ret = ret;
		f->fn = site->fn;
		f->arg[0] = regs->rdi;
		f->arg[1] = regs->rsi;
		f->arg[2] = regs->rdx;
		f->time_ms = elapsed_ms(p);
		/* the frame is complete before the slot is hijacked (crash handler, detach) */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		t->n_frames++;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (inject_write(p->mem_fd, regs->rsp, &p->patches.tramp, sizeof(uint64_t)) < 0)
			t->n_frames--;
	}
out:
	regs->rip = site->copy_addr;
	(void)ptrace(PTRACE_SETREGS, t->tid, NULL, regs);
	thread_resume(t);
}

static void on_return(struct tthread *t, struct user_regs_struct *regs)
{
	struct tproc *p = t->proc;
	uint64_t slot = regs->rsp - 8;
	struct alloc_event ev = { 0 };
	struct shadow_frame f;
	size_t i = t->n_frames;

	while (i > 0 && t->frames[i - 1].slot != slot)
		i--;
	if (i == 0) {
		uint64_t v = 0;

		/* A return we did not hijack in this attach: a context saved (in a signal frame)
		 * before an earlier detach, whose slot holds the real return address again. The
		 * trampoline's own jump takes it there. */
		if (inject_read(p->mem_fd, slot, &v, sizeof(v)) == 0 && v != p->patches.tramp) {
			regs->rip = patch_tramp_jump(&p->patches);
			(void)ptrace(PTRACE_SETREGS, t->tid, NULL, regs);
			if (!p->is_stopping)
				thread_resume(t);
			return;
		}
		/* cannot happen unless the target rewrote its own stack: nothing to return to */
		log_error("pid %d: thread %d returned through the trampoline with no matching frame",
			  (int)p->pid, (int)t->tid);
		release(p, -EFAULT);
		return;
	}
	f = t->frames[i - 1];
	t->n_frames = i - 1; /* deeper frames were skipped by a longjmp */
	ev.fn = f.fn;
	memcpy(ev.arg, f.arg, sizeof(ev.arg));
	ev.result = regs->rax;
	ev.time_ms = f.time_ms;
	ev.stack_id = f.stack_id;
	if (f.fn == ALLOC_POSIX_MEMALIGN && regs->rax == 0)
		(void)inject_read(p->mem_fd, f.arg[0], &ev.out_ptr, sizeof(ev.out_ptr));
	if (p->heap)
		heap_apply(p->heap, &ev);
	regs->rip = f.ret;
	(void)ptrace(PTRACE_SETREGS, t->tid, NULL, regs);
	if (!p->is_stopping)
		thread_resume(t);
}

/* A SIGTRAP signal-delivery-stop: one of our int3s, or a real SIGTRAP. Returns true if ours. */
static bool on_trap(struct tthread *t)
{
	struct tproc *p = t->proc;
	struct user_regs_struct regs;
	const struct patch_site *site;
	struct patch_set *ps;
	uint64_t bp;

	if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
		return false;
	bp = regs.rip - 1;
	p->stops++;
	if (p->has_entry_bp && bp == p->entry && p->state == PROC_WAIT_ENTRY) {
		if (p->is_stopping) {
			regs.rip = p->entry; /* detaching: it runs its entry point untraced */
			(void)ptrace(PTRACE_SETREGS, t->tid, NULL, &regs);
			return true;
		}
		on_entry_bp(t, &regs);
		return true;
	}
	ps = patches_of(p);
	if (!ps || !ps->scratch)
		return false;
	if (bp == ps->tramp) {
		on_return(t, &regs);
		return true;
	}
	site = patch_find(ps, bp);
	if (site) {
		on_hook(t, &regs, site);
		return true;
	}
	p->stops--;
	return false;
}

/* --- process events ------------------------------------------------------------------------ */

/* A fork child carries our int3s and scratch page: put its memory back as it was, then let it go. */
static void clean_fork_child(struct tproc *c, struct tthread *t)
{
	int fd = inject_open_mem(c->pid);

	if (fd >= 0) {
		for (size_t i = 0; i < c->n_fork_frames; i++) {
			uint64_t v;

			if (inject_read(fd, c->fork_frames[i].slot, &v, sizeof(v)) == 0 &&
			    v == c->patches.tramp)
				(void)inject_write(fd, c->fork_frames[i].slot, &c->fork_frames[i].ret,
						   sizeof(v));
		}
		/* the scratch page stays, disarmed (patch.h): the forking thread's signal
		 * frames may point into it, and nothing is injected through a child */
		(void)patch_disarm(&c->patches, fd);
		if (c->agent.base) {
			/* its private copy of the code and of the agent's data: unhooked, off; the
			 * shared region it inherited is never written again */
			c->agent.is_armed = true;
			(void)agentload_disarm(&c->agent, fd);
			memset(&c->agent, 0, sizeof(c->agent)); /* the parent's view, not its own */
		}
		if (c->has_entry_bp)
			(void)inject_write(fd, c->entry, &c->entry_orig, 1);
		(void)close(fd);
	}
	(void)ptrace(PTRACE_DETACH, t->tid, NULL,
		     (void *)(long)(t->is_signal_stop ? t->pending_sig : 0));
	proc_free(c);
}

static void new_child(struct tthread *parent, pid_t child, bool is_vfork)
{
	struct tproc *p = parent->proc, *c;
	struct tracer *tr = p->tr;

	/* clone(CLONE_VM | SIGCHLD) is reported as a fork but shares its parent's memory: it must
	 * be handled like a vfork child (nothing written through it) */
	if (!is_vfork && syscall(SYS_kcmp, p->pid, child, KCMP_VM, 0, 0) == 0)
		is_vfork = true;

	c = proc_new(tr, child, is_vfork ? PROC_VFORK_CHILD : PROC_FORK_CHILD);
	if (!c) {
		(void)ptrace(PTRACE_DETACH, child, NULL, NULL);
		return;
	}
	if (p->state == PROC_TRACING || p->state == PROC_WAIT_ENTRY) {
		c->patches = p->patches;
		c->agent = p->agent;
		c->agent.shared_map = NULL; /* ours, the parent's */
		c->inj = p->inj;
		c->has_entry_bp = p->has_entry_bp; /* a fork from a constructor, before main */
		c->entry = p->entry;
		c->entry_orig = p->entry_orig;
	}
	if (is_vfork) {
		c->vfork_parent = p;
	} else if (parent->n_frames) {
		c->fork_frames = malloc(parent->n_frames * sizeof(*c->fork_frames));
		if (c->fork_frames) {
			memcpy(c->fork_frames, parent->frames,
			       parent->n_frames * sizeof(*c->fork_frames));
			c->n_fork_frames = parent->n_frames;
		}
	}
	if (!thread_add(c, child)) {
		proc_free(c);
		return;
	}
	if (!is_vfork)
		note(tr, p->pid, BACKEND_FORKED, child);
	/* its first stop may already have arrived */
	for (size_t i = 0; i < tr->n_parked; i++) {
		if (tr->parked[i].tid == child) {
			int st = tr->parked[i].status;

			tr->parked[i] = tr->parked[--tr->n_parked];
			(void)handle_status(tr, child, st);
			break;
		}
	}
}

/* The process executed a new program while we were attaching or detaching: the old image's
 * patches, scratch page, memory descriptor and every other thread are gone with it. Nothing
 * is to be restored (or unmapped) through them. */
static void forget_image(struct tproc *p, struct tthread *t)
{
	for (struct tthread *o = p->threads, *next; o; o = next) {
		next = o->pnext;
		if (o != t)
			thread_remove(o);
	}
	t->n_frames = 0;
	memset(&p->patches, 0, sizeof(p->patches));
	if (p->consumer) {
		/* the old program's last calls are in the ring (our mapping outlives it) */
		while (agent_drain(p, 1 << 16) > 0)
			;
		p->consumer = agent_consumer_free(p->consumer);
	}
	agentload_release(&p->agent);
	memset(&p->agent, 0, sizeof(p->agent));
	p->has_entry_bp = false;
	p->unw = unwinder_free(p->unw);
	if (p->mem_fd >= 0)
		(void)close(p->mem_fd);
	p->mem_fd = -1;
}

static void on_exec(struct tthread *t)
{
	struct tproc *p = t->proc;
	struct tracer *tr = p->tr;
	bool is_launch = p->state == PROC_WAIT_EXEC; /* the program we started, not a later exec */
	int r;

	if (p->state == PROC_VFORK_CHILD || p->state == PROC_FORK_CHILD) {
		/* a child's new image has none of our patches: let it go */
		(void)ptrace(PTRACE_DETACH, t->tid, NULL, NULL);
		proc_free(p);
		return;
	}
	/* every other thread is gone; the old image's memory, patches and blocks with it */
	forget_image(p, t);
	if (p->heap && heap_reset(p->heap) < 0) {
		release(p, -ENOMEM);
		return;
	}
	r = arm_entry(p);
	if (!is_launch)
		note(tr, p->pid, BACKEND_EXECED, 0);
	if (r < 0) {
		log_warning("pid %d: cannot trace the new program (%s), releasing it", (int)p->pid,
			    strerror(-r));
		release(p, r);
		return;
	}
	thread_resume(t);
}

/* If tid is an orphan of a detach, release it now that it stopped. Returns true if it was. */
static bool orphan_take(struct tracer *tr, pid_t tid, int status)
{
	for (struct orphan **po = &tr->orphans; *po; po = &(*po)->next) {
		struct orphan *o = *po;
		struct user_regs_struct regs;
		int sig = 0;

		if (o->tid != tid)
			continue;
		*po = o->next;
		if (WIFSTOPPED(status) && ptrace(PTRACE_GETREGS, tid, NULL, &regs) == 0) {
			uint64_t rip = patch_map_back(&o->patches, regs.rip);

			if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP &&
			    (patch_find(&o->patches, regs.rip - 1) ||
			     (o->entry && regs.rip - 1 == o->entry)))
				rip = regs.rip - 1; /* one of our int3s, now gone: run the original */
			else if ((status >> 16) == 0)
				sig = WSTOPSIG(status);
			if (rip != regs.rip) {
				regs.rip = rip;
				(void)ptrace(PTRACE_SETREGS, tid, NULL, &regs);
			}
			(void)ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
		}
		free(o);
		return true;
	}
	return false;
}

/* A stop or exit of a thread we do not know yet: a new thread whose first stop came before its
 * parent's clone event, or a fork child before its parent's fork event. */
static int read_status(pid_t pid, struct proc_status *ret);

static int on_unknown(struct tracer *tr, pid_t tid, int status)
{
	struct proc_status st;
	struct tproc *p;
	struct tthread *t;

	if (!WIFSTOPPED(status)) {
		note(tr, tid, BACKEND_EXITED, status);
		return 0;
	}
	if (read_status(tid, &st) == 0 && st.tgid != tid &&
	    (p = proc_find(tr, st.tgid)) && (t = thread_add(p, tid))) {
		int sig = WSTOPSIG(status);

		t->is_stopped = true;
		t->is_signal_stop = (status >> 16) == 0;
		t->stop_event = status >> 16;
		t->is_group_stop = (status >> 16) == PTRACE_EVENT_STOP &&
				   (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
				    sig == SIGTTOU);
		if (t->is_signal_stop)
			t->pending_sig = sig;
		if (!p->is_stopping)
			thread_resume(t);
		return 0;
	}
	if (orphan_take(tr, tid, status))
		return 0;
	if (tr->n_parked < PARKED_MAX) {
		tr->parked[tr->n_parked].tid = tid;
		tr->parked[tr->n_parked].status = status;
		tr->n_parked++;
	} else {
		(void)ptrace(PTRACE_DETACH, tid, NULL, NULL);
	}
	return 0;
}

static int handle_status(struct tracer *tr, pid_t tid, int status)
{
	struct tthread *t = thread_find(tr, tid);
	struct tproc *p;
	unsigned long msg = 0;
	int sig, event;

	if (!t)
		return on_unknown(tr, tid, status);
	p = t->proc;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		bool is_leader = tid == p->pid;

		thread_remove(t);
		if (is_leader) {
			bool is_main = p->state != PROC_FORK_CHILD && p->state != PROC_VFORK_CHILD;

			/* its last calls are still in the ring (our mapping outlives it) */
			if (is_main && p->consumer)
				while (agent_drain(p, 1 << 16) > 0)
					;

			if (is_main)
				note(tr, p->pid, BACKEND_EXITED, status);
			proc_free(p);
		}
		return 0;
	}
	if (!WIFSTOPPED(status))
		return 0;
	sig = WSTOPSIG(status);
	event = status >> 16;
	t->is_stopped = true;
	t->is_signal_stop = event == 0;
	t->stop_event = event;
	t->is_group_stop = false;

	if (p->state == PROC_FORK_CHILD) {
		clean_fork_child(p, t);
		return 0;
	}
	switch (event) {
	case PTRACE_EVENT_CLONE:
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0) {
			struct tthread *n = thread_find(tr, (pid_t)msg);

			if (!n && (n = thread_add(p, (pid_t)msg))) {
				/* its first stop may already be parked */
				for (size_t i = 0; i < tr->n_parked; i++) {
					if (tr->parked[i].tid == (pid_t)msg) {
						int st = tr->parked[i].status;

						tr->parked[i] = tr->parked[--tr->n_parked];
						(void)handle_status(tr, (pid_t)msg, st);
						break;
					}
				}
			}
		}
		break;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0)
			new_child(t, (pid_t)msg, event == PTRACE_EVENT_VFORK);
		break;
	case PTRACE_EVENT_EXEC:
		if (!p->is_stopping) {
			on_exec(t);
			return 0;
		}
		forget_image(p, t);
		if (p->state == PROC_ATTACHING)
			p->is_execed = true;
		break;
	case PTRACE_EVENT_EXIT:
		t->n_frames = 0; /* its stack dies with it */
		break;
	case PTRACE_EVENT_STOP:
		t->is_group_stop = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
				   sig == SIGTTOU;
		if (!t->is_group_stop && p->state == PROC_WAIT_CONT && !p->is_stopping) {
			/* continued: this thread is ours to inject through, outside group-stop */
			int r = 0;

			if (tr->is_agent) {
				/* a jmp is five bytes: every other thread stops while they are written */
				p->is_stopping = true;
				for (struct tthread *o = p->threads; o; o = o->pnext)
					if (!o->is_stopped)
						(void)ptrace(PTRACE_INTERRUPT, o->tid, NULL, NULL);
				r = wait_all_stopped(tr, p);
				if (r == -ESRCH)
					return 0;
				p->is_stopping = false;
			}
			if (r == 0)
				r = install_hooks(p, t);
			if (r < 0) {
				log_warning("pid %d: cannot install allocator hooks (%s), releasing it",
					    (int)p->pid, strerror(-r));
				release(p, r);
				return 0;
			}
			note(tr, p->pid, BACKEND_HOOKED, 0);
			if (tr->is_agent)
				for (struct tthread *o = p->threads; o; o = o->pnext)
					if (o != t)
						thread_resume(o);
		}
		break;
	case 0:
		if (sig == (SIGTRAP | 0x80)) {
			/* a system call stop of an injected call that outlived its wait: it goes
			 * on by itself, no more syscall stops */
			t->is_signal_stop = false;
			break;
		}
		if (sig == SIGTRAP && on_trap(t))
			return 0;
		t->pending_sig = sig;
		break;
	default:
		break;
	}
	if (!p->is_stopping && proc_find(tr, p->pid) == p)
		thread_resume(t);
	return 0;
}

/* --- last resort: leakmond crashed ---------------------------------------------------------- */

/* Open /proc/PID/name without snprintf (async-signal-safe). */
static int open_proc_raw(pid_t pid, const char *name, int flags)
{
	char path[64] = "/proc/", digits[16];
	size_t n = 0, at = 6, len = strlen(name);

	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && n < sizeof(digits));
	while (n > 0)
		path[at++] = digits[--n];
	path[at++] = '/';
	if (at + len >= sizeof(path))
		return -1;
	memcpy(path + at, name, len + 1);
	return open(path, flags | O_CLOEXEC);
}

static int open_mem_raw(pid_t pid)
{
	return open_proc_raw(pid, "mem", O_RDWR);
}

/* The parent pid of pid, from /proc/PID/stat (async-signal-safe), or -1. */
static pid_t ppid_raw(pid_t pid)
{
	char buf[512], *p;
	int fd = open_proc_raw(pid, "stat", O_RDONLY);
	ssize_t n;
	pid_t v = 0;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2] || !p[3] || !p[4])
		return -1;
	for (p += 5; *p >= '0' && *p <= '9'; p++) /* ") S 1234" */
		v = v * 10 + (*p - '0');
	return v > 0 ? v : -1;
}

static void restore_slots(int fd, uint64_t tramp, const struct shadow_frame *frames, size_t n)
{
	for (size_t i = 0; tramp && i < n && i < SHADOW_MAX; i++) {
		uint64_t v;

		if (inject_read(fd, frames[i].slot, &v, sizeof(v)) == 0 && v == tramp)
			(void)inject_write(fd, frames[i].slot, &frames[i].ret, sizeof(v));
	}
}

/* One process's memory: hijacked return addresses back, int3s out, trampoline disarmed. */
static void rescue_memory(void *arg)
{
	struct tproc *p = arg;
	int fd = p->mem_fd;

	if (p->state == PROC_VFORK_CHILD)
		return; /* its parent's memory: restored through the parent */
	if (fd < 0 && p->state == PROC_FORK_CHILD)
		fd = open_mem_raw(p->pid);
	if (fd < 0)
		return;
	for (struct tthread *t = p->threads; t; t = t->pnext)
		if (t->frames)
			restore_slots(fd, p->patches.tramp, t->frames, t->n_frames);
	if (p->fork_frames)
		restore_slots(fd, p->patches.tramp, p->fork_frames, p->n_fork_frames);
	(void)patch_disarm(&p->patches, fd);
	/* the agent's jmps stay (threads may be running through them: only a single aligned store
	 * is safe now); the agent goes off and calls straight through */
	if (p->agent.base)
		(void)agentload_set_state(&p->agent, fd, AGENT_OFF);
	if (p->has_entry_bp)
		(void)inject_write(fd, p->entry, &p->entry_orig, 1);
	if (fd != p->mem_fd)
		(void)close(fd);
}

/* A fork child of p that we never got to clean: it carries p's int3s, hijacked return addresses
 * and armed trampoline (its memory is a copy of p's). Put its memory back. */
static void rescue_child(pid_t child, const struct tproc *p)
{
	struct patch_set ps = p->patches;
	int fd;

	if (!ps.scratch && !p->agent.base)
		return;
	fd = open_mem_raw(child);
	if (fd < 0)
		return;
	for (const struct tthread *t = p->threads; t; t = t->pnext)
		if (t->frames)
			restore_slots(fd, ps.tramp, t->frames, t->n_frames);
	ps.is_armed = true; /* the child's copy still is, whatever the parent's state */
	(void)patch_disarm(&ps, fd);
	if (p->agent.base)
		(void)agentload_set_state(&p->agent, fd, AGENT_OFF);
	if (p->has_entry_bp)
		(void)inject_write(fd, p->entry, &p->entry_orig, 1);
	(void)close(fd);
}

/* Wait up to ms milliseconds for thread tid's next stop (async-signal-safe). */
static void rescue_wait(pid_t tid, int ms)
{
	for (int i = 0; i < ms; i++) {
		struct timespec ts = { 0, 1000000 };
		int st;

		if (waitpid(tid, &st, __WALL | WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
}

/* Whether thread tid of process pid has SIGTRAP pending (async-signal-safe: no stdio). */
static bool rescue_trap_pending(pid_t pid, pid_t tid)
{
	char path[64] = "/proc/", buf[2048];
	char *line;
	size_t at = 6;
	ssize_t n;
	int fd;

	for (int k = 0; k < 2; k++) {
		char digits[16];
		size_t nd = 0;
		pid_t v = k == 0 ? pid : tid;

		do {
			digits[nd++] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		while (nd > 0)
			path[at++] = digits[--nd];
		memcpy(path + at, k == 0 ? "/task/" : "/status", k == 0 ? 6 : 8);
		at += 6;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	line = strstr(buf, "\nSigPnd:");
	if (!line)
		return false;
	line += 8;
	while (*line == ' ' || *line == '\t')
		line++;
	{
		uint64_t mask = 0;

		for (; (*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f'); line++)
			mask = mask * 16 + (uint64_t)(*line <= '9' ? *line - '0' : *line - 'a' + 10);
		return mask & (1ULL << (SIGTRAP - 1));
	}
}

/* One process's threads: each is brought to a stop (bounded), moved off any int3 it executed,
 * and detached with the signal it was about to receive (never the SIGTRAP of our int3). A thread
 * interrupted after an int3 but before its SIGTRAP was delivered is let take it first. */
static void rescue_threads(void *arg)
{
	struct tproc *p = arg;

	for (struct tthread *t = p->threads; t; t = t->pnext) {
		struct user_regs_struct regs;
		bool is_ours = false;

		if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0) {
			(void)ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
			rescue_wait(t->tid, 50);
		}
		for (int round = 0; round < 3; round++) {
			uint64_t rip;
			siginfo_t si;
			int sig = 0;

			if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
				break; /* not stopped: the kernel detaches it when we die */
			rip = 0;
			if (p->patches.scratch && patch_find(&p->patches, regs.rip - 1))
				rip = regs.rip - 1; /* executed our int3: run the original byte */
			else if (p->patches.tramp && regs.rip - 1 == p->patches.tramp)
				rip = patch_tramp_jump(&p->patches); /* returns by itself */
			else if (p->entry && regs.rip - 1 == p->entry)
				rip = p->entry;
			if (rip) {
				is_ours = true;
				if (rip != regs.rip) {
					regs.rip = rip;
					(void)ptrace(PTRACE_SETREGS, t->tid, NULL, &regs);
				}
			}
			if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si) == 0 &&
			    si.si_signo == SIGTRAP && (si.si_code >> 8) == PTRACE_EVENT_FORK) {
				unsigned long child = 0;

				/* a fork whose child we have not cleaned yet (or even seen) */
				if (ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &child) == 0 && child > 0 &&
				    !proc_find(p->tr, (pid_t)child))
					rescue_child((pid_t)child, p);
			}
			if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si) == 0 &&
			    !(si.si_signo == SIGTRAP && (si.si_code >> 8) != 0)) {
				/* a signal-delivery-stop: deliver its signal, unless it is our trap - one
				 * just executed, or one whose stop we handled already (rip moved on, the
				 * SIGTRAP not kept for delivery) */
				bool is_our_trap = si.si_signo == SIGTRAP &&
						   (is_ours || (si.si_code == SI_KERNEL && t->is_stopped &&
								t->pending_sig != SIGTRAP));

				if (!is_our_trap)
					sig = si.si_signo;
			} else if (is_ours && rescue_trap_pending(p->pid, t->tid)) {
				/* our SIGTRAP is still queued: let it arrive, then drop it */
				(void)ptrace(PTRACE_CONT, t->tid, NULL, NULL);
				rescue_wait(t->tid, 50);
				continue;
			}
			(void)ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)sig);
			break;
		}
	}
}

/* An agent's jmps can only be taken out while no thread runs: stop them all (bounded); when every
 * one stopped, put the original bytes back. Otherwise the jmps stay, the agent off (a call goes
 * straight through to the allocator). */
static void rescue_agent_hooks(void *arg)
{
	struct tproc *p = arg;
	struct user_regs_struct regs;
	bool is_all = true;

	if (!p->agent.is_armed || p->mem_fd < 0 || p->state == PROC_VFORK_CHILD)
		return;
	for (struct tthread *t = p->threads; t; t = t->pnext)
		if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
			(void)ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
	/* up to half a second for all of them (a busy machine can take a while to schedule one) */
	for (int ms = 0; ms < 500; ms++) {
		struct timespec ts = { 0, 1000000 };
		int st;

		is_all = true;
		for (struct tthread *t = p->threads; t; t = t->pnext) {
			if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) == 0)
				continue;
			(void)waitpid(t->tid, &st, __WALL | WNOHANG);
			if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
				is_all = false;
		}
		if (is_all)
			break;
		nanosleep(&ts, NULL);
	}
	if (is_all)
		(void)agentload_disarm(&p->agent, p->mem_fd);
}

/* The crash handler's rescue (signals.h): every traced process gets its code back, then every
 * thread is detached. Each step survives faults on our own (possibly corrupt) tables. */
static void tracer_rescue(void *userdata)
{
	struct tracer *tr = userdata;

	inject_emergency_restore();
	for (struct tproc *p = tr->procs; p; p = p->next)
		(void)crash_try(rescue_memory, p);
	for (struct tproc *p = tr->procs; p; p = p->next)
		(void)crash_try(rescue_agent_hooks, p);
	for (struct tproc *p = tr->procs; p; p = p->next)
		(void)crash_try(rescue_threads, p);
	for (size_t i = 0; i < tr->n_parked && i < PARKED_MAX; i++) {
		/* a fork child whose first stop came before its parent's fork event */
		struct tproc *parent = proc_find(tr, ppid_raw(tr->parked[i].tid));

		if (parent)
			rescue_child(tr->parked[i].tid, parent);
		(void)ptrace(PTRACE_DETACH, tr->parked[i].tid, NULL, NULL);
	}
}

/* --- public ------------------------------------------------------------------------------- */

static struct backend *bp_destroy(struct backend *b);

static struct tracer *engine_new(const struct backend_config *cfg, const struct backend_ops *ops)
{
	struct tracer *tr = calloc(1, sizeof(*tr));

	if (!tr)
		return NULL;
	tr->base.ops = ops;
	tr->drain_fd = -1;
	tr->note = cfg->note;
	tr->userdata = cfg->userdata;
	tr->depth = cfg->depth > STACKS_DEPTH_MAX ? STACKS_DEPTH_MAX : cfg->depth;
	tr->stack_copy = cfg->stack_copy < 64		    ? 64
			 : cfg->stack_copy > STACK_COPY_MAX ? STACK_COPY_MAX
							    : cfg->stack_copy;
	tr->stack_buf = malloc(STACK_COPY_MAX);
	if (!tr->stack_buf) {
		free(tr);
		return NULL;
	}
	if (crash_rescue_add(tracer_rescue, tr) < 0)
		log_warning("no room for the tracer's crash rescue: a crash of leakmond would leave "
			    "breakpoints in the traced processes");
	return tr;
}

static struct backend *bp_create(const struct backend_config *cfg)
{
	struct tracer *tr = engine_new(cfg, &backend_breakpoint);

	return tr ? &tr->base : NULL;
}

static struct backend *agent_create(const struct backend_config *cfg)
{
	struct tracer *tr = engine_new(cfg, &backend_agent);
	struct itimerspec its = { { 0, (long)AGENT_DRAIN_NS }, { 0, (long)AGENT_DRAIN_NS } };

	if (!tr)
		return NULL;
	tr->is_agent = true;
	tr->sample_bytes = cfg->sample_bytes;
	tr->drain_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tr->drain_fd < 0 || timerfd_settime(tr->drain_fd, 0, &its, NULL) < 0) {
		bp_destroy(&tr->base);
		return NULL;
	}
	return &tr->base;
}

static struct backend *bp_destroy(struct backend *b)
{
	struct tracer *tr = (struct tracer *)b;

	if (!tr)
		return NULL;
	/* parents first: a vfork child runs through its parent's copies until its exec */
	for (bool is_again = true; is_again;) {
		is_again = false;
		for (struct tproc *p = tr->procs; p; p = p->next) {
			if (p->state != PROC_VFORK_CHILD) {
				(void)bp_detach_proc(tr, p);
				is_again = true;
				break;
			}
		}
	}
	while (tr->procs)
		(void)bp_detach_proc(tr, tr->procs);
	while (tr->orphans) {
		struct orphan *o = tr->orphans;

		tr->orphans = o->next;
		free(o);
	}
	for (size_t i = 0; i < tr->n_parked; i++)
		(void)ptrace(PTRACE_DETACH, tr->parked[i].tid, NULL, NULL);
	crash_rescue_remove(tracer_rescue, tr);
	if (tr->drain_fd >= 0)
		(void)close(tr->drain_fd);
	free(tr->stack_buf);
	free(tr);
	return NULL;
}

static bool bp_owns(const struct backend *b, pid_t pid)
{
	return thread_find((const struct tracer *)b, pid) != NULL;
}

static int bp_poll_fd(const struct backend *b)
{
	(void)b;
	return -1; /* its stops come as SIGCHLD */
}

static int bp_dispatch(struct backend *b, int max)
{
	struct tracer *tr = (struct tracer *)b;
	int n = 0;

	while (n < max) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);

		if (tid < 0)
			return errno == ECHILD ? n : -errno;
		if (tid == 0)
			return n;
		(void)handle_status(tr, tid, status);
		n++;
	}
	return n;
}

/* The agent backend: its processes' stops (as the breakpoint backend's), then their rings. */
static int agent_dispatch(struct backend *b, int max)
{
	struct tracer *tr = (struct tracer *)b;
	bool is_more = false;
	uint64_t ticks;
	int n;

	(void)!read(tr->drain_fd, &ticks, sizeof(ticks));
	n = bp_dispatch(b, max);
	if (n < 0)
		return n;
	for (struct tproc *p = tr->procs; p; p = p->next)
		if (p->consumer && p->state == PROC_TRACING &&
		    agent_drain(p, AGENT_EVENT_CELLS / 4) == AGENT_EVENT_CELLS / 4)
			is_more = true;
	return is_more ? max : n;
}

static int agent_poll_fd(const struct backend *b)
{
	return ((const struct tracer *)b)->drain_fd;
}

/* /proc/PID/status of a process or thread (tids are accepted). Returns 0 or -errno. */
static int read_status(pid_t pid, struct proc_status *ret)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = -1;
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	n = procfs_read_at(dfd, "status", &text);
	if (n < 0)
		return (int)n;
	return procfs_parse_status(text, ret);
}

static pid_t tracer_of(pid_t pid)
{
	struct proc_status st;

	return read_status(pid, &st) < 0 ? -1 : st.tracer_pid;
}

static bool shares_parent_memory(pid_t pid)
{
	struct proc_status st;

	if (read_status(pid, &st) < 0 || st.ppid <= 0)
		return false;
	return syscall(SYS_kcmp, pid, st.ppid, KCMP_VM, 0, 0) == 0;
}

static void describe_tracer(pid_t pid, pid_t tracer, char *err, size_t errlen)
{
	char path[64], comm[64] = "?";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)tracer);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(err, errlen, "pid %d: already traced by pid %d (%s); detach it first", (int)pid,
		 (int)tracer, comm);
}

/* Whether thread t sits in a stop whose registers can be borrowed for an injected system call
 * (inject.h): a signal-delivery-stop or an interrupt, not a group-stop and never the event stop of
 * a fork, clone, exec or exit, whose system call has not returned yet. */
static bool is_injectable(const struct tthread *t)
{
	return t->is_stopped && !t->is_group_stop &&
	       (t->stop_event == 0 || t->stop_event == PTRACE_EVENT_STOP);
}

/* The thread of p to inject through, the leader if it can be. Threads stopped at an event that
 * forbids injection are let finish their system call and interrupted again (a bounded number of
 * rounds). *ret is NULL when every thread is group-stopped, or the process executed a new program
 * meanwhile (p->is_execed). Returns 0; -ESRCH if the process went away (p is freed); -ETIMEDOUT. */
static int pick_injector(struct tracer *tr, struct tproc *p, struct tthread **ret)
{
	*ret = NULL;
	for (int round = 0; round < 8; round++) {
		struct tthread *best = NULL;
		bool is_any_running = false;
		int r;

		if (p->is_execed)
			return 0;
		for (struct tthread *t = p->threads; t; t = t->pnext)
			if (is_injectable(t) && (!best || t->tid == p->pid))
				best = t;
		if (best) {
			*ret = best;
			return 0;
		}
		for (struct tthread *t = p->threads; t; t = t->pnext) {
			if (t->is_group_stop)
				continue;
			is_any_running = true;
			thread_resume(t);
			(void)ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
		}
		if (!is_any_running)
			return 0;
		r = wait_all_stopped(tr, p);
		if (r < 0)
			return r;
	}
	return -ETIMEDOUT;
}

/* Whether process p, single-threaded, is still in its dynamic linker before its entry point: an
 * exec completed just before we attached, and its C library is not mapped yet. */
static bool is_before_entry(struct tproc *p, struct tthread *t)
{
	_cleanup_free_ char *maps = NULL;
	_cleanup_close_ int dfd = -1;
	const char *cursor, *interp = NULL, *at = NULL;
	size_t interp_len = 0, at_len = 0;
	struct user_regs_struct regs;
	uint64_t base = 0;
	struct proc_map m;
	char path[64];

	if (p->threads->pnext || ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d", (int)p->pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || read_auxv(dfd, AT_BASE, &base) < 0 || base == 0 ||
	    procfs_read_at(dfd, "maps", &maps) < 0)
		return false;
	cursor = maps;
	while (procfs_maps_next(&cursor, &m) > 0) {
		if (m.start == base) {
			interp = m.path;
			interp_len = m.path_len;
		}
		if (regs.rip >= m.start && regs.rip < m.end) {
			at = m.path;
			at_len = m.path_len;
		}
	}
	return interp && at && interp_len > 0 && interp_len == at_len &&
	       memcmp(interp, at, at_len) == 0;
}

/* Seize every thread listed in /proc/PID/task and interrupt it; list again until no new thread
 * appears (threads are created while we attach; those created by an already seized thread are
 * auto-attached and register at their first stop). */
static int seize_threads(struct tracer *tr, struct tproc *p, char *err, size_t errlen)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	for (int round = 0; round < 100; round++) {
		bool is_added = false;
		struct dirent *d;
		DIR *dir = opendir(path);

		if (!dir) {
			snprintf(err, errlen, "pid %d: no such process", (int)p->pid);
			return -ESRCH;
		}
		while ((d = readdir(dir))) {
			pid_t tid = (pid_t)atoi(d->d_name);
			pid_t other;
			int e;

			if (tid <= 0 || thread_find(tr, tid))
				continue;
			if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)TRACE_OPTIONS) < 0) {
				e = errno;
				if (e == ESRCH)
					continue; /* exited meanwhile */
				if (e == EPERM && tracer_of(tid) == getpid())
					continue; /* auto-attached: its first stop registers it */
				other = tracer_of(p->pid);
				if (other > 0 && other != getpid())
					describe_tracer(p->pid, other, err, errlen);
				else
					snprintf(err, errlen,
						 "pid %d: permission denied attaching to thread %d (%s; run as its owner or with CAP_SYS_PTRACE)",
						 (int)p->pid, (int)tid, strerror(e));
				closedir(dir);
				return -e;
			}
			if (!thread_add(p, tid)) {
				snprintf(err, errlen, "pid %d: out of memory", (int)p->pid);
				closedir(dir);
				return -ENOMEM;
			}
			(void)ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			is_added = true;
		}
		closedir(dir);
		if (!is_added)
			return 0;
	}
	return 0;
}

static int bp_attach(struct backend *b, pid_t pid, struct heap *heap, struct backend_proc **ret,
		     char *err, size_t errlen)
{
	struct tracer *tr = (struct tracer *)b;
	struct tproc *p;
	pid_t other;
	int r;

	if (proc_find(tr, pid)) {
		snprintf(err, errlen, "pid %d: already traced by this leakmond", (int)pid);
		return -EEXIST;
	}
	other = tracer_of(pid);
	if (other > 0) {
		describe_tracer(pid, other, err, errlen);
		return -EPERM;
	}
	if (shares_parent_memory(pid)) {
		/* a vfork child before its exec: patches would land in its parent's memory and
		 * outlive the child */
		snprintf(err, errlen,
			 "pid %d: shares its parent's memory (a vfork child before exec); not attaching",
			 (int)pid);
		return -EBUSY;
	}
	p = proc_new(tr, pid, PROC_ATTACHING);
	if (!p) {
		snprintf(err, errlen, "pid %d: out of memory", (int)pid);
		return -ENOMEM;
	}
	p->heap = heap;
	p->is_stopping = true;
	r = seize_threads(tr, p, err, errlen);
	if (r == 0 && !p->threads) {
		snprintf(err, errlen, "pid %d: no such process", (int)pid);
		r = -ESRCH;
	}
	if (r == 0) {
		r = wait_all_stopped(tr, p);
		if (r < 0)
			snprintf(err, errlen, "pid %d: %s while stopping its threads to attach",
				 (int)pid, r == -ESRCH ? "it exited" : strerror(-r));
		if (r == -ESRCH)
			return r; /* already freed with the process */
	}
	if (r == 0) {
		struct tthread *t = NULL;

		r = pick_injector(tr, p, &t);
		if (r == -ESRCH) {
			snprintf(err, errlen, "pid %d: it exited while attaching", (int)pid);
			return r;
		}
		if (r == 0 && p->is_execed) {
			/* it executed a new program while we attached: hook it at its entry, once
			 * its libraries are mapped (as for a program we start) */
			r = arm_entry(p);
		} else if (r == 0 && !t) {
			/* Every thread is group-stopped: injecting now would run one of them. Wait
			 * for SIGCONT; the process stays stopped and traced meanwhile. */
			p->state = PROC_WAIT_CONT;
		} else if (r == 0) {
			r = install_hooks(p, t);
			if ((r == -ENOENT && is_before_entry(p, t)) || r == -EAGAIN)
				r = arm_entry(p); /* in its dynamic linker, right after an exec */
			if (r == -ESTALE)
				r = p->state == PROC_WAIT_ENTRY ? 0 : arm_entry(p);
		}
		if (r < 0)
			snprintf(err, errlen, "pid %d: cannot install allocator hooks (%s)", (int)pid,
				 r == -ENOENT    ? "no malloc found in its modules"
				 : r == -ENOTSUP ? "its malloc or free cannot be patched safely"
						 : strerror(-r));
	}
	if (r < 0) {
		(void)bp_detach_proc(tr, p);
		return r;
	}
	p->is_stopping = false;
	for (struct tthread *t = p->threads; t; t = t->pnext)
		thread_resume(t);
	*ret = (struct backend_proc *)p;
	return 0;
}

static int bp_attach_held(struct backend *b, pid_t pid, struct heap *heap,
			  struct backend_proc **ret, char *err, size_t errlen)
{
	struct tracer *tr = (struct tracer *)b;
	struct tproc *p = proc_new(tr, pid, PROC_WAIT_EXEC);

	if (!p) {
		snprintf(err, errlen, "pid %d: out of memory", (int)pid);
		return -ENOMEM;
	}
	p->heap = heap;
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)TRACE_OPTIONS) < 0) {
		int e = errno;

		snprintf(err, errlen, "pid %d: cannot trace the program (%s)", (int)pid, strerror(e));
		proc_free(p);
		return -e;
	}
	if (!thread_add(p, pid)) {
		(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
		proc_free(p);
		snprintf(err, errlen, "pid %d: out of memory", (int)pid);
		return -ENOMEM;
	}
	*ret = (struct backend_proc *)p;
	return 0;
}

/* Whether thread tid has SIGTRAP pending (SigPnd of its status). */
static bool has_pending_trap(pid_t pid, pid_t tid)
{
	char path[96], line[256];
	bool is_pending = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "SigPnd:", 7) == 0) {
			unsigned long long mask = strtoull(line + 7, NULL, 16);

			is_pending = mask & (1ULL << (SIGTRAP - 1));
			break;
		}
	}
	fclose(f);
	return is_pending;
}

/* A thread can be interrupted after executing one of our int3s but before its SIGTRAP is
 * delivered (the interrupt trap is taken first). Detached like that, the SIGTRAP would kill it.
 * Let each such thread take its SIGTRAP (handled by on_trap as a hit during detach) and stop
 * again. Returns the number of threads released to do so. */
static int collect_pending_traps(struct tproc *p)
{
	int n = 0;

	for (struct tthread *t = p->threads; t; t = t->pnext) {
		struct user_regs_struct regs;
		uint64_t bp;

		if (!t->is_stopped || t->is_signal_stop ||
		    ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
			continue;
		bp = regs.rip - 1;
		if (!(p->patches.scratch && (bp == p->patches.tramp || patch_find(&p->patches, bp))) &&
		    !(p->has_entry_bp && bp == p->entry))
			continue;
		if (!has_pending_trap(p->pid, t->tid))
			continue;
		t->is_stopped = false;
		if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) == 0)
			n++;
	}
	return n;
}

static int bp_detach_proc(struct tracer *tr, struct tproc *p)
{
	pid_t pid = p->pid;
	int r, ret = 0;

	p->is_stopping = true;
	for (struct tthread *t = p->threads; t; t = t->pnext)
		if (!t->is_stopped)
			(void)ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
	r = wait_all_stopped(tr, p);
	for (int round = 0; r == 0 && round < 8 && collect_pending_traps(p) > 0; round++)
		r = wait_all_stopped(tr, p);
	if (r == -ESRCH)
		return 0; /* it exited: nothing left to restore */
	if (r < 0) {
		log_warning("pid %d: not every thread stopped for detach (%s); its breakpoints are "
			    "removed but the scratch page stays mapped for the threads still running",
			    (int)pid, strerror(-r));
		ret = r;
	}

	if (p->mem_fd >= 0) {
		uint64_t tramp = p->patches.tramp;

		for (struct tthread *t = p->threads; t; t = t->pnext) {
			struct user_regs_struct regs;
			uint64_t rip;

			if (!t->is_stopped) {
				/* still running: its hijacked return addresses can be put back
				 * through memory; its registers only when it stops (orphan) */
				for (size_t i = 0; tramp && i < t->n_frames; i++) {
					uint64_t v;

					if (inject_read(p->mem_fd, t->frames[i].slot, &v,
							sizeof(v)) == 0 &&
					    v == tramp)
						(void)inject_write(p->mem_fd, t->frames[i].slot,
								   &t->frames[i].ret, sizeof(v));
				}
				t->n_frames = 0;
				continue;
			}
			if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) == 0) {
				rip = patch_map_back(&p->patches, regs.rip);
				if (tramp && regs.rip == tramp) {
					/* stopped between an allocator's ret and the trampoline's
					 * int3: finish the return to where the call came from */
					for (size_t i = t->n_frames; i > 0; i--) {
						if (t->frames[i - 1].slot == regs.rsp - 8) {
							rip = t->frames[i - 1].ret;
							break;
						}
					}
				}
				if (p->has_entry_bp && regs.rip == p->entry + 1)
					rip = p->entry;
				if (rip != regs.rip) {
					regs.rip = rip;
					(void)ptrace(PTRACE_SETREGS, t->tid, NULL, &regs);
				}
			}
			/* put back every return address we swapped for the trampoline */
			for (size_t i = 0; tramp && i < t->n_frames; i++) {
				uint64_t v;

				if (inject_read(p->mem_fd, t->frames[i].slot, &v, sizeof(v)) == 0 &&
				    v == tramp)
					(void)inject_write(p->mem_fd, t->frames[i].slot,
							   &t->frames[i].ret, sizeof(v));
			}
			t->n_frames = 0;
		}
		disarm_entry(p);
		/* the scratch page stays mapped, disarmed, for the next attach (patch.h) */
		r = patch_disarm(&p->patches, p->mem_fd);
		if (r < 0 && ret == 0)
			ret = r;
		if (p->agent.base) {
			r = all_stopped(p) ? agent_detach(p)
					   /* a running thread could read a half-restored jmp:
					    * the hooks stay, turned off (they call through) */
					   : agentload_set_state(&p->agent, p->mem_fd, AGENT_OFF);
			if (r < 0 && ret == 0)
				ret = r;
		}
	}
	for (struct tthread *t = p->threads; t; t = t->pnext) {
		int sig = t->is_signal_stop ? t->pending_sig : 0;

		if (!t->is_stopped) {
			struct orphan *o = calloc(1, sizeof(*o));

			if (o) {
				o->tid = t->tid;
				o->patches = p->patches;
				o->entry = p->has_entry_bp ? p->entry : 0;
				o->next = tr->orphans;
				tr->orphans = o;
			}
			continue;
		}
		(void)ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)sig);
		if (t->pending_sig && !t->is_signal_stop)
			(void)syscall(SYS_tgkill, pid, t->tid, t->pending_sig);
	}
	proc_free(p);
	return ret;
}

static void bp_get_stats(const struct backend_proc *bp, struct backend_stats *ret)
{
	const struct tproc *p = (const struct tproc *)bp;

	memset(ret, 0, sizeof(*ret));
	ret->events = p->heap ? p->heap->events : 0;
	if (p->consumer) {
		struct agent_counters c;

		agent_consumer_counters(p->consumer, &c);
		ret->lost = c.lost_events + c.no_slot - p->lost_base;
		ret->nested = c.nested;
	}
	ret->stops = p->stops;
	ret->nested += p->nested;
	for (const struct tthread *t = p->threads; t; t = t->pnext)
		ret->threads++;
	ret->threads_seen = p->threads_seen;
	ret->hooks = (unsigned)(p->patches.n_sites + p->agent.n_hooks);
	ret->hooks_skipped = p->hooks_skipped;
	ret->is_hooked = p->state == PROC_TRACING && (p->patches.is_armed || p->agent.is_armed);
	ret->unwind_failures = p->heap ? p->heap->unwind_failures : 0;
}

static int bp_detach(struct backend *b, struct backend_proc *p)
{
	return bp_detach_proc((struct tracer *)b, (struct tproc *)p);
}

const struct backend_ops backend_breakpoint = {
	.name = "breakpoint",
	.is_ptrace = true,
	.create = bp_create,
	.destroy = bp_destroy,
	.attach = bp_attach,
	.attach_held = bp_attach_held,
	.detach = bp_detach,
	.poll_fd = bp_poll_fd,
	.dispatch = bp_dispatch,
	.get_stats = bp_get_stats,
	.owns = bp_owns,
};

const struct backend_ops backend_agent = {
	.name = "agent",
	.is_ptrace = true,
	.create = agent_create,
	.destroy = bp_destroy,
	.attach = bp_attach,
	.attach_held = bp_attach_held,
	.detach = bp_detach,
	.poll_fd = agent_poll_fd,
	.dispatch = agent_dispatch,
	.get_stats = bp_get_stats,
	.owns = bp_owns,
};
