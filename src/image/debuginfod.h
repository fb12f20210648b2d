/* debuginfod.h - debug files from debuginfod servers: opt-in and bounded.
 *
 * elfutils' libdebuginfod asks the servers named in DEBUGINFOD_URLS for a file by build-id; with
 * its defaults a server that never answers costs 90 s per file and retries. leakmond asks only
 * when the user opted in (option --debuginfod, leakmond.conf key debuginfod); otherwise
 * DEBUGINFOD_URLS is removed from our environment at start, so that no library we use contacts
 * a server. When on, the client's limits are lowered (DEBUGINFOD_TIMEOUT at most 5 s,
 * DEBUGINFOD_MAXTIME at most 30 s, DEBUGINFOD_RETRY_LIMIT 0) unless the user set smaller ones,
 * and libdebuginfod's own cache remembers a failed build-id (it is asked once per cache_miss_s).
 * libdebuginfod is loaded with dlopen() on first use: leakmond runs without it.
 */
#ifndef LEAKMOND_IMAGE_DEBUGINFOD_H
#define LEAKMOND_IMAGE_DEBUGINFOD_H

#include <stdbool.h>
#include <stddef.h>

#define DEBUGINFOD_TIMEOUT_MAX_S 5  /* DEBUGINFOD_TIMEOUT at most */
#define DEBUGINFOD_MAXTIME_MAX_S 30 /* DEBUGINFOD_MAXTIME at most */

/* The value a bounded limit variable gets: user's own (the environment's value, or NULL when
 * unset) when it is a number from 1 to max, else max (unset, 0 meaning "no limit", garbage, or
 * larger). Pure. */
unsigned debuginfod_bound(const char *user, unsigned max);

/* Turn debuginfod use on or off for this process (may be called again, e.g. on a reload). The
 * first call remembers the environment's DEBUGINFOD_URLS; off removes it from the environment,
 * on puts it back and bounds the client's limits (see above). Returns 0, or -ENOMEM. */
int debuginfod_setup(bool is_enabled);

/* Whether debuginfod is on and DEBUGINFOD_URLS names at least one server. */
bool debuginfod_is_active(void);

/* Ask the servers for the debug file of build-id id (len bytes). Returns a descriptor (read-only,
 * of libdebuginfod's cache file; the caller checks what it holds), -ENOSYS when debuginfod is off
 * or libdebuginfod cannot be loaded, or another -errno of libdebuginfod (-ENOENT: not found). */
int debuginfod_find_debuginfo(const unsigned char *id, size_t len);

#endif
