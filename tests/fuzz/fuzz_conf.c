/* fuzz_conf.c - leakmond.conf (src/config/conf.c, through inih) on arbitrary text, through
 * conf_parse_string(), the in-memory twin of conf_load(). */
#include "config.h"

#include <errno.h>

#include "config/conf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct conf *c = NULL;
	char err[512];
	int r;

	memset(err, 'x', sizeof(err));
	r = conf_parse_string(text, "fuzz.conf", &c, err, sizeof(err));
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	if (r == 0) {
		FUZZ_ASSERT(c != NULL);
		FUZZ_ASSERT(c->n_watches <= CONF_MAX_WATCHES); /* 0: an idle daemon */
		for (size_t i = 0; i < c->n_watches; i++) {
			const struct watch_config *w = &c->watches[i];

			FUZZ_ASSERT(memchr(w->name, '\0', sizeof(w->name)) != NULL && w->name[0]);
			FUZZ_ASSERT(memchr(w->value, '\0', sizeof(w->value)) != NULL);
			FUZZ_ASSERT(w->selector != SELECT_PID || w->pid > 0);
			FUZZ_ASSERT(w->s.depth >= 1 && w->s.depth <= 128);
			FUZZ_ASSERT(w->s.log_dir[0] == '/' && w->s.report_dir[0] == '/');
		}
		c = conf_free(c);
	} else {
		/* one line naming the file, nothing handed out */
		FUZZ_ASSERT(r == -EINVAL || r == -ENOMEM);
		FUZZ_ASSERT(c == NULL);
		FUZZ_ASSERT(strncmp(err, "fuzz.conf:", 10) == 0);
		FUZZ_ASSERT(strchr(err, '\n') == NULL);
	}
	free(text);
	return 0;
}
