/* debuginfod.c - debug files from debuginfod servers, opt-in and bounded. See debuginfod.h. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/debuginfod.h"

#define URLS_VAR "DEBUGINFOD_URLS"

/* libdebuginfod's API (elfutils/debuginfod.h, which is not always installed) */
typedef struct debuginfod_client debuginfod_client;
typedef debuginfod_client *(*begin_fn)(void);
typedef int (*find_fn)(debuginfod_client *, const unsigned char *, int, char **);

static bool is_enabled;
static bool has_saved;	 /* saved_urls is the environment's value at the first setup */
static char *saved_urls; /* NULL when it was unset */
static bool has_loaded;	 /* dlopen was tried */
static debuginfod_client *client;
static find_fn find_debuginfo;

unsigned debuginfod_bound(const char *user, unsigned max)
{
	unsigned long v;
	char *end;

	if (!user || !*user)
		return max;
	errno = 0;
	v = strtoul(user, &end, 10);
	if (errno || *end || end == user || v == 0 || v > max)
		return max;
	return (unsigned) v;
}

static int set_bound(const char *name, unsigned max)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", debuginfod_bound(getenv(name), max));
	return setenv(name, v, 1) < 0 ? -errno : 0;
}

int debuginfod_setup(bool enable)
{
	if (!has_saved) {
		const char *urls = getenv(URLS_VAR);

		if (urls && !(saved_urls = strdup(urls)))
			return -ENOMEM;
		has_saved = true;
	}
	is_enabled = enable;
	if (!enable)
		return unsetenv(URLS_VAR) < 0 ? -errno : 0;
	if (saved_urls && setenv(URLS_VAR, saved_urls, 1) < 0)
		return -errno;
	if (set_bound("DEBUGINFOD_TIMEOUT", DEBUGINFOD_TIMEOUT_MAX_S) < 0 ||
	    set_bound("DEBUGINFOD_MAXTIME", DEBUGINFOD_MAXTIME_MAX_S) < 0 ||
	    setenv("DEBUGINFOD_RETRY_LIMIT", "0", 1) < 0)
		return -errno;
	return 0;
}

bool debuginfod_is_active(void)
{
	const char *urls = getenv(URLS_VAR);

	return is_enabled && urls && urls[strspn(urls, " \t")] != '\0';
}

int debuginfod_find_debuginfo(const unsigned char *id, size_t len)
{
	char *path = NULL;
	int fd;

	if (!debuginfod_is_active() || len == 0 || len > 64)
		return -ENOSYS;
	if (!has_loaded) {
		void *so = dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_LOCAL);
		begin_fn begin = so ? (begin_fn) dlsym(so, "debuginfod_begin") : NULL;

		has_loaded = true;
		find_debuginfo = so ? (find_fn) dlsym(so, "debuginfod_find_debuginfo") : NULL;
		client = begin && find_debuginfo ? begin() : NULL;
	}
	if (!client)
		return -ENOSYS;
	fd = find_debuginfo(client, id, (int) len, &path);
	free(path);
	return fd;
}
