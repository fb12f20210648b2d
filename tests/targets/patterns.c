/* patterns - the classic leak patterns, each with a control that must stay silent.
 * Usage: patterns MODE [SECONDS=60]   (prints "ready", runs a steady workload, exits 0)
 *
 * MODE         leaks?  what it does (the allocating function is named in the report)
 * cache        yes     an unbounded cache: a hash map that only grows      cache_insert
 * lru          no      a bounded LRU cache of 64 entries                   lru_insert
 * handlers     yes     event handlers registered and never removed        handler_register
 * handlers_ctl no      handlers registered, then unregistered              handler_register
 * refcycle     yes     ref-counted pairs in a cycle that never drops       node_new
 * refcycle_ctl no      the same pairs with the cycle broken                node_new
 * callbacks    yes     callbacks capturing a context never released       closure_new
 * callbacks_ctl no     the context released after the callback runs       closure_new
 * results      yes     a global list that accumulates results             result_store
 * ring         no      a fixed-size ring of results                        ring_store
 * slowleak     yes     one block every 100 ms hidden in heavy churn        slow_leak_tick
 *                      (the churn, churn_work, must not be reported)
 * threads      yes     two threads leaking from two sites                 thread_a_leak,
 *                                                                          thread_b_leak
 * mmapgrow     (RSS)   memory grows through mmap, not malloc: RSS rises, no call site leaks
 * Lines that allocate a leaking block carry a "LEAK-SITE: name" comment (the tests look the
 * expected line up there).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

static volatile sig_atomic_t is_done;
void *volatile sink;

static void on_term(int sig)
{
	(void)sig;
	is_done = 1;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* --- 1. caches --- */
struct entry {
	struct entry *next;
	unsigned long key;
	char value[96];
};

static struct entry *buckets[1024];

static NOINLINE void cache_insert(unsigned long key)
{
	struct entry *e = malloc(sizeof(*e)); /* LEAK-SITE: cache */

	e->key = key;
	memset(e->value, 'v', sizeof(e->value));
	e->next = buckets[key % 1024];
	buckets[key % 1024] = e;
}

static struct entry *lru[64];
static unsigned lru_next;

static NOINLINE void lru_insert(unsigned long key)
{
	struct entry *e = malloc(sizeof(*e));

	e->key = key;
	free(lru[lru_next]); /* evict the oldest */
	lru[lru_next] = e;
	lru_next = (lru_next + 1) % 64;
}

/* --- 2. event handlers --- */
struct handler {
	struct handler *next;
	void (*fn)(int);
	char name[48];
};

static struct handler *handlers;

static void on_event(int x)
{
	sink = (void *)(long)x;
}

static NOINLINE struct handler *handler_register(void (*fn)(int))
{
	struct handler *h = malloc(sizeof(*h)); /* LEAK-SITE: handlers */

	h->fn = fn;
	snprintf(h->name, sizeof(h->name), "handler");
	h->next = handlers;
	handlers = h;
	return h;
}

static NOINLINE void handler_unregister(struct handler *h)
{
	for (struct handler **p = &handlers; *p; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			free(h);
			return;
		}
	}
}

/* --- 3. reference-counted cycles --- */
struct node {
	int refs;
	struct node *peer;
	char payload[80];
};

static NOINLINE struct node *node_new(void)
{
	struct node *n = calloc(1, sizeof(*n)); /* LEAK-SITE: refcycle */

	n->refs = 1;
	return n;
}

static void node_unref(struct node *n)
{
	if (n && --n->refs == 0) {
		struct node *peer = n->peer;

		free(n);
		node_unref(peer);
	}
}

static NOINLINE void make_pair(int break_cycle)
{
	struct node *a = node_new(), *b = node_new();

	a->peer = b;
	b->refs++;
	b->peer = a;
	a->refs++;
	if (break_cycle) {
		b->peer = NULL;
		a->refs--;
	}
	node_unref(a);
	node_unref(b);
}

/* --- 4. callbacks capturing a context --- */
struct closure {
	void (*fn)(void *);
	void *ctx;
};

static void callback_body(void *ctx)
{
	sink = ctx;
}

static NOINLINE struct closure *closure_new(size_t ctx_size)
{
	struct closure *c = malloc(sizeof(*c) + ctx_size); /* LEAK-SITE: callbacks */

	c->fn = callback_body;
	c->ctx = c + 1;
	return c;
}

static NOINLINE void run_callback(int release)
{
	struct closure *c = closure_new(64);

	c->fn(c->ctx);
	if (release)
		free(c);
}

/* --- 5. accumulated results --- */
struct result {
	struct result *next;
	double values[12];
};

static struct result *results;

static NOINLINE void result_store(double v)
{
	struct result *r = malloc(sizeof(*r)); /* LEAK-SITE: results */

	r->values[0] = v;
	r->next = results;
	results = r;
}

static struct result *ring[64];
static unsigned ring_pos;

static NOINLINE void ring_store(double v)
{
	struct result *r = malloc(sizeof(*r));

	r->values[0] = v;
	free(ring[ring_pos]);
	ring[ring_pos] = r;
	ring_pos = (ring_pos + 1) % 64;
}

/* --- 6. a slow leak in heavy churn --- */
static void *slow_list;

static NOINLINE void slow_leak_tick(void)
{
	void **p = malloc(256); /* LEAK-SITE: slowleak */

	*p = slow_list;
	slow_list = p;
}

static NOINLINE void churn_work(int n)
{
	for (int i = 0; i < n; i++) {
		char *p = malloc(32 + (size_t)(i % 200));

		sink = p;
		free(p);
	}
}

/* --- 7. two threads, two sites --- */
static void *list_a, *list_b;

static NOINLINE void thread_a_leak(void)
{
	void **p = malloc(160); /* LEAK-SITE: thread_a */

	*p = list_a;
	list_a = p;
}

static NOINLINE void thread_b_leak(void)
{
	void **p = malloc(224); /* LEAK-SITE: thread_b */

	*p = list_b;
	list_b = p;
}

static void *thread_main(void *arg)
{
	int which = (int)(long)arg;

	while (!is_done) {
		if (which == 0)
			thread_a_leak();
		else
			thread_b_leak();
		churn_work(5);
		pause_ms(10);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long seconds = argc > 2 ? atol(argv[2]) : 60;
	struct timespec start, now;
	pthread_t ta, tb;
	unsigned long i = 0;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (strcmp(mode, "threads") == 0) {
		pthread_create(&ta, NULL, thread_main, (void *)0L);
		pthread_create(&tb, NULL, thread_main, (void *)1L);
	}
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (is_done || now.tv_sec - start.tv_sec >= seconds)
			break;
		if (strcmp(mode, "cache") == 0) {
			cache_insert(i);
		} else if (strcmp(mode, "lru") == 0) {
			lru_insert(i);
		} else if (strcmp(mode, "handlers") == 0) {
			handler_register(on_event);
		} else if (strcmp(mode, "handlers_ctl") == 0) {
			handler_unregister(handler_register(on_event));
		} else if (strcmp(mode, "refcycle") == 0) {
			make_pair(0);
		} else if (strcmp(mode, "refcycle_ctl") == 0) {
			make_pair(1);
		} else if (strcmp(mode, "callbacks") == 0) {
			run_callback(0);
		} else if (strcmp(mode, "callbacks_ctl") == 0) {
			run_callback(1);
		} else if (strcmp(mode, "results") == 0) {
			result_store((double)i);
		} else if (strcmp(mode, "ring") == 0) {
			/* the ring is full from the first iteration on: its warm-up, spread over
			 * 64 iterations, looked like growth on a slow machine (breakpoint backend,
			 * sanitizer build: ~25 calls/s) */
			if (i == 0)
				for (int k = 0; k < 63; k++)
					ring_store((double)k);
			ring_store((double)i);
		} else if (strcmp(mode, "slowleak") == 0) {
			if (i % 10 == 0)
				slow_leak_tick();
			churn_work(40);
		} else if (strcmp(mode, "threads") == 0) {
			/* the threads do the work */
		} else if (strcmp(mode, "mmapgrow") == 0) {
			char *p = mmap(NULL, 256 * 1024, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p != MAP_FAILED)
				memset(p, 1, 256 * 1024);
			churn_work(5);
		} else {
			fprintf(stderr, "patterns: unknown mode '%s'\n", mode);
			return 2;
		}
		pause_ms(10);
	}
	is_done = 1;
	if (strcmp(mode, "threads") == 0) {
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
	}
	return 0;
}
