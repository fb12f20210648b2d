/* leaky - a tiny "request handler" that leaks: the demo target of leakmond.
 *
 * Every request builds a response and caches a copy of it in a list that is never trimmed.
 * Runs until killed. Usage: leaky [requests-per-second]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct entry {
	struct entry *next;
	size_t len;
	char data[];
};

static struct entry *cache;

static __attribute__((noinline)) char *build_response(unsigned long id, size_t *ret_len)
{
	size_t len = 48 * 1024;
	char *buf = malloc(len);

	if (!buf)
		abort();
	memset(buf, 'a' + (int)(id % 26), len);
	*ret_len = len;
	return buf;
}

static __attribute__((noinline)) void cache_put(const char *data, size_t len)
{
	struct entry *e = malloc(sizeof(*e) + len); /* the leak: nothing ever evicts */

	if (!e)
		abort();
	e->len = len;
	memcpy(e->data, data, len);
	e->next = cache;
	cache = e;
}

static __attribute__((noinline)) void handle_request(unsigned long id)
{
	size_t len;
	char *resp = build_response(id, &len);

	cache_put(resp, len);
	free(resp);
}

int main(int argc, char **argv)
{
	long rate = argc > 1 ? atol(argv[1]) : 20;
	struct timespec pause;

	if (rate < 1 || rate > 1000)
		rate = 20;
	pause.tv_sec = 0;
	pause.tv_nsec = 1000000000L / rate;
	printf("leaky: serving %ld requests/s, caching every response forever\n", rate);
	fflush(stdout);
	for (unsigned long id = 0;; id++) {
		handle_request(id);
		nanosleep(&pause, NULL);
	}
}
