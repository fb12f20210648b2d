/* allocmix - every allocator entry point leakmond hooks, with known counts.
 *
 * Usage: allocmix [--wait] [ROUNDS=100]
 *
 * Prints "ready", then runs ROUNDS rounds of the sequence below, frees everything, and prints
 * "counts allocs=A frees=F". Per round, counted as INTERFACE.md says:
 *
 *   call                                      allocs frees
 *   malloc(100)                                  1     -
 *   malloc(0)                     (non-NULL)     1     -
 *   calloc(10, 32)                               1     -
 *   realloc(NULL, 50)                            1     -
 *   realloc grow 50 -> 5000                      1     1
 *   realloc shrink 5000 -> 20                    1     1
 *   realloc to the same size 20                  1     1
 *   reallocarray(NULL, 8, 16)                    1     -
 *   reallocarray grow to 64 x 16                 1     1
 *   posix_memalign(64, 256)                      1     -
 *   posix_memalign(3, 64), (4, 64)   -> EINVAL   -     -
 *   aligned_alloc(128, 1024)                     1     -
 *   memalign(4096, 100)                          1     -
 *   valloc(300)                                  1     -
 *   pvalloc(300)                                 1     -   (see below)
 *   malloc(SIZE_MAX), calloc(SIZE_MAX, 2), reallocarray(NULL, SIZE_MAX, 2),
 *   realloc(p, SIZE_MAX)             -> NULL     -     -   (p stays valid, freed later)
 *   free(NULL)                                   -     -
 *   free() of the 10 blocks still live           -    10
 *   total                                       14    14
 *
 * Defaults: "counts allocs=1400 frees=1400".
 *
 * pvalloc is only called when the pvalloc the program binds comes from the same object as free:
 * an LD_PRELOADed jemalloc 5.3 has no pvalloc, and glibc's would hand out a block jemalloc cannot
 * free. Then "skipping pvalloc" is printed after "ready" and each round counts 13 and 13.
 *
 * What a breakpoint on each entry point sees in glibc 2.36 (Debian 12) is more than this table:
 * realloc(NULL, n) tail-jumps to malloc (__libc_malloc), reallocarray tail-jumps to realloc@plt,
 * and memalign and aligned_alloc are one address. A tracer that counts every entry, without
 * ignoring entries made while the thread is already inside an allocator call, counts 200 mallocs
 * and 200 reallocs too many per 100 rounds, and cannot tell memalign from aligned_alloc.
 *
 * --wait: block SIGUSR1 before "ready", then wait for it before the first round, so a test can
 *         attach a tracer first and see every counted call.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* every block is stored here before it is freed: it escapes, so -O2 cannot drop the pair */
void *volatile sink;
/* sizes that cannot be satisfied, read through a volatile so the compiler does not see them */
static volatile size_t huge = SIZE_MAX;
/* NULL, read through a volatile: -O2 turns a visible realloc(NULL, n) into malloc(n) */
static void *volatile no_block;
/* free, called through a volatile pointer: -O2 drops a free() of a pointer it has seen is NULL */
static void (*volatile free_fn)(void *) = free;

static unsigned long n_allocs, n_frees;

/* a call that returned p: count it if it is a block */
static void *got(void *p)
{
	if (p) {
		n_allocs++;
		sink = p;
	}
	return p;
}

/* reallocarray(*pp, nmemb, size), or realloc(*pp, nmemb * size): on success *pp is the new block,
 * counted once in each if there was an old one; on failure *pp is left alone and nothing counts. */
static int resize(void **pp, size_t nmemb, size_t size, int is_array)
{
	int had_old = *pp != NULL;
	void *p = is_array ? reallocarray(*pp, nmemb, size) : realloc(*pp, nmemb * size);

	if (!p)
		return -1;
	n_allocs++;
	if (had_old)
		n_frees++;
	sink = p;
	*pp = p;
	return 0;
}

static void release(void *p)
{
	if (p)
		n_frees++;
	sink = p;
	free(p);
}

/* Does fn come from the same loaded object as free? */
static int is_same_object_as_free(void *fn)
{
	Dl_info fn_info, free_info;

	if (!dladdr(fn, &fn_info) || !dladdr((void *) free, &free_info))
		return 0;
	return fn_info.dli_fbase == free_info.dli_fbase;
}

static __attribute__((noinline)) int mix_round(int use_pvalloc)
{
	void *a, *b, *c = no_block, *d = no_block, *e = NULL, *f, *g, *h, *i = NULL, *z, *x = NULL;

	a = got(malloc(100));
	z = got(malloc(0));
	b = got(calloc(10, 32));
	if (!a || !z || !b || resize(&c, 1, 50, 0) < 0)
		return -1;
	memset(c, 0xc, 50);
	if (resize(&c, 1, 5000, 0) < 0 || resize(&c, 1, 20, 0) < 0 || resize(&c, 1, 20, 0) < 0)
		return -1;
	if (resize(&d, 8, 16, 1) < 0 || resize(&d, 64, 16, 1) < 0)
		return -1;

	if (posix_memalign(&e, 64, 256) != 0)
		return -1;
	got(e);
	if (posix_memalign(&x, 3, 64) != EINVAL || posix_memalign(&x, 4, 64) != EINVAL)
		return -1;
	f = got(aligned_alloc(128, 1024));
	g = got(memalign(4096, 100));
	h = got(valloc(300));
	if (use_pvalloc && !(i = got(pvalloc(300))))
		return -1;
	if (!f || !g || !h)
		return -1;

	/* failures: no block, nothing counted; realloc leaves c alone */
	if (got(malloc(huge)) || got(calloc(huge, 2)) || got(reallocarray(no_block, huge, 2)))
		return -1;
	if (resize(&c, 1, huge, 0) == 0)
		return -1;

	free_fn(no_block); /* free(NULL): a call, but nothing counted */
	release(a);
	release(z);
	release(b);
	release(c);
	release(d);
	release(e);
	release(f);
	release(g);
	release(h);
	release(i);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long rounds = 100;
	int is_waiting = 0, use_pvalloc, sig;
	sigset_t go;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wait"))
			is_waiting = 1;
		else
			rounds = strtoul(argv[i], NULL, 10);
	}
	use_pvalloc = is_same_object_as_free((void *) pvalloc);

	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	if (is_waiting && sigprocmask(SIG_BLOCK, &go, NULL) < 0)
		return 1;
	printf("ready\n");
	if (!use_pvalloc)
		printf("skipping pvalloc\n");
	fflush(stdout);
	if (is_waiting && sigwait(&go, &sig) != 0)
		return 1;

	for (unsigned long r = 0; r < rounds; r++) {
		if (mix_round(use_pvalloc) < 0) {
			fprintf(stderr, "allocmix: round %lu: unexpected allocator result\n", r);
			return 1;
		}
	}
	printf("counts allocs=%lu frees=%lu\n", n_allocs, n_frees);
	fflush(stdout);
	return 0;
}
