/* agent_inproc - the agent's cost per malloc+free pair, measured in this process: the blob mapped
 * here (agent_blob_map_self), orig[] = this process's allocator, state on, nothing sampled, a
 * consumer thread draining the rings. Side by side in one run: bare libc calls vs the same calls
 * through the agent's entry stubs, with 1 and 4 threads. Each figure is the best of several
 * rounds of thread CPU time per pair (robust to other load on the machine); wall time is shown
 * too. A round's pairs are shared by its threads; the ring (2^ring_log2 events) is drained between
 * rounds, and a run that lost events says so (a lost event is cheaper than a recorded one).
 * Usage: agent_inproc [pairs per round = 1000000] [rounds = 5] [ring_log2 = 16] */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "agent/blob.h"
#include "backend/agent_ring.h"

#define MAX_THREADS 4
#define NO_SAMPLES  (UINT64_C(1) << 47)

typedef uint64_t (*fn3)(uint64_t, uint64_t, uint64_t);

struct worker {
	fn3 m, f;
	long pairs;
	pthread_barrier_t *start;
	uint64_t cpu_ns, wall_ns;
};

struct consumer {
	struct agent_consumer *c;
	bool is_done;
	uint64_t events; /* atomic: read by main() */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t c0, t0;

	pthread_barrier_wait(w->start);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < w->pairs; i++) {
		uint64_t p = w->m(16 + (uint64_t) (i & 7) * 16, 0, 0);

		__asm__ volatile("" : : "r"(p) : "memory");
		w->f(p, 0, 0);
	}
	w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	w->wall_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	return NULL;
}

static void count(const struct agent_record *ev, const struct agent_sample_view *s, void *ud)
{
	(void) ev;
	(void) s;
	((struct consumer *) ud)->events++;
}

static void *consume(void *arg)
{
	struct consumer *k = arg;

	while (!__atomic_load_n(&k->is_done, __ATOMIC_ACQUIRE))
		if (!agent_consumer_drain(k->c, 1 << 16, count, k))
			usleep(20);
	while (agent_consumer_drain(k->c, 1 << 16, count, k))
		;
	return NULL;
}

/* Run threads workers sharing pairs; returns CPU ns per pair (mean over threads) and wall ns per
 * pair of one thread in *ret_wall. Waits until the consumer has seen *expected events. */
static double run(fn3 m, fn3 f, int threads, long pairs, double *ret_wall, struct consumer *k,
		  uint64_t *expected)
{
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t cpu = 0, wall = 0;

	pthread_barrier_init(&start, NULL, (unsigned) threads);
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){.m = m, .f = f, .pairs = pairs / threads, .start = &start};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		cpu += w[i].cpu_ns;
		wall = w[i].wall_ns > wall ? w[i].wall_ns : wall;
	}
	pthread_barrier_destroy(&start);
	if (expected) {
		*expected += 2 * (uint64_t) (pairs / threads) * (uint64_t) threads;
		for (;;) {
			struct agent_counters cnt;

			agent_consumer_counters(k->c, &cnt);
			if (__atomic_load_n(&k->events, __ATOMIC_RELAXED) + cnt.lost_events >=
			    *expected)
				break;
			usleep(100);
		}
	}
	*ret_wall = (double) wall / (double) (pairs / threads);
	return (double) cpu / (double) (pairs / threads * threads);
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 1000000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	int ring_log2 = argc > 3 ? atoi(argv[3]) : 16;
	static const char *const names[ALLOC_FN_MAX] = {
	    "malloc",	      "calloc",	       "realloc",  "reallocarray", "free",
	    "posix_memalign", "aligned_alloc", "memalign", "valloc",	   "pvalloc",
	};
	struct consumer k = {0};
	struct agent_header h;
	struct agent_data *d;
	struct agent_layout l;
	struct agent_counters cnt;
	pthread_t cons;
	void *base, *shm;
	fn3 bare_m, bare_f, ag_m, ag_f;
	int r;

	r = agent_blob_map_self(&base);
	if (r < 0) {
		fprintf(stderr, "agent_inproc: cannot map the agent: %s\n", strerror(-r));
		return 1;
	}
	agent_header_validate(base, agent_blob_size, &h);
	d = (struct agent_data *) ((char *) base + h.data_off);
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		d->orig[fn] = (uint64_t) (uintptr_t) dlsym(RTLD_DEFAULT, names[fn]);
		d->entry[fn] = d->orig[fn];
	}
	uint64_t expected = 0;

	if (ring_log2 < 4 || ring_log2 > 26 ||
	    agent_shared_layout(64, 1u << ring_log2, 64, 256, &l) < 0)
		return 1;
	shm = mmap(NULL, l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		return 1;
	agent_shared_init(shm, &l, NO_SAMPLES);
	if (agent_consumer_new(shm, l.total_size, &k.c) < 0)
		return 1;
	d->shared = (uint64_t) (uintptr_t) shm;
	d->state = AGENT_ON;
	pthread_create(&cons, NULL, consume, &k);

	bare_m = (fn3) (uintptr_t) d->orig[ALLOC_MALLOC];
	bare_f = (fn3) (uintptr_t) d->orig[ALLOC_FREE];
	ag_m = (fn3) (uintptr_t) ((char *) base + h.entry_off[ALLOC_MALLOC]);
	ag_f = (fn3) (uintptr_t) ((char *) base + h.entry_off[ALLOC_FREE]);

	for (int threads = 1; threads <= MAX_THREADS; threads *= 4) {
		double bare = 1e18, agent = 1e18, bare_wall = 1e18, agent_wall = 1e18, wl;

		for (int i = 0; i < rounds; i++) {
			double c = run(bare_m, bare_f, threads, pairs, &wl, &k, NULL);

			bare = c < bare ? c : bare;
			bare_wall = wl < bare_wall ? wl : bare_wall;
			c = run(ag_m, ag_f, threads, pairs, &wl, &k, &expected);
			agent = c < agent ? c : agent;
			agent_wall = wl < agent_wall ? wl : agent_wall;
		}
		printf("threads=%d pairs=%ld ring=2^%d: bare %.1f ns/pair, agent %.1f ns/pair, "
		       "+%.1f ns "
		       "(thread cpu, best of %d); wall %.1f vs %.1f ns/pair per thread\n",
		       threads, pairs, ring_log2, bare, agent, agent - bare, rounds, bare_wall,
		       agent_wall);
	}
	__atomic_store_n(&k.is_done, true, __ATOMIC_RELEASE);
	pthread_join(cons, NULL);
	agent_consumer_counters(k.c, &cnt);
	printf("events consumed %" PRIu64 ", lost %" PRIu64 ", nested %" PRIu64 ", no slot %" PRIu64
	       "\n",
	       k.events, cnt.lost_events, cnt.nested, cnt.no_slot);
	d->state = AGENT_OFF;
	agent_consumer_free(k.c);
	return cnt.lost_events ? 2 : 0;
}
