/* util.h - small helpers shared by every module: scope cleanup, array sizes, time.
 *
 * Scope cleanup: a variable declared _cleanup_free_ is free()d when it goes out of scope;
 * hand it out with steal_ptr(). Nothing here allocates or logs.
 */
#ifndef LEAKMOND_UTIL_H
#define LEAKMOND_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))

/* Take ownership of *pp away from a _cleanup_ variable: returns its value, leaves NULL. */
#define steal_ptr(pp)                                                                              \
	({                                                                                         \
		__typeof__(*(pp)) _tmp = *(pp);                                                    \
		*(pp) = NULL;                                                                      \
		_tmp;                                                                              \
	})

/* Take ownership of a descriptor away from a _cleanup_close_ variable. */
#define steal_fd(fdp)                                                                              \
	({                                                                                         \
		int _tmpfd = *(fdp);                                                               \
		*(fdp) = -1;                                                                       \
		_tmpfd;                                                                            \
	})

/* CLOCK_MONOTONIC now, in nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Wall-clock now as Unix seconds with a fraction, for output only. */
static inline double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
