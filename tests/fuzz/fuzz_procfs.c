/* fuzz_procfs.c - the /proc parsers (src/base/procfs.c: status, stat, maps) and the cgroup
 * matcher of daemon mode (src/config/match.c) on arbitrary text. */
#include "config.h"

#include <errno.h>

#include "base/procfs.h"
#include "config/match.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	const char *end = text + strlen(text), *cursor = text;
	struct proc_status st;
	struct proc_map m;
	uint64_t heap;
	unsigned flags, lines = 0;
	char state;
	int r;

	r = procfs_parse_status(text, &st);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG);
	if (r == 0) {
		FUZZ_ASSERT(memchr(st.name, '\0', sizeof(st.name)) != NULL && st.name[0]);
		FUZZ_ASSERT(st.tgid >= 0 && st.ppid >= 0 && st.tracer_pid >= 0);
		FUZZ_ASSERT(st.has_mm || st.vm_rss == 0);
	}
	r = procfs_parse_stat(text, &state, &flags);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG);
	if (r == 0)
		FUZZ_ASSERT(state && strchr("RSDTtZXIWPKx", state));

	/* every entry lies inside the text, and the cursor always moves forward */
	while ((r = procfs_maps_next(&cursor, &m)) > 0) {
		FUZZ_ASSERT(cursor > text && cursor <= end);
		FUZZ_ASSERT(m.start <= m.end);
		FUZZ_ASSERT(memchr(m.perms, '\0', sizeof(m.perms)) != NULL);
		if (m.path)
			FUZZ_ASSERT(m.path >= text && m.path + m.path_len <= end && m.path_len > 0);
		FUZZ_ASSERT(++lines <= size + 1);
	}
	FUZZ_ASSERT(r == 0 || r == -EBADMSG);
	r = procfs_maps_heap(text, &heap);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG);

	/* /proc/PID/cgroup: both hierarchies, a unit that is there or not */
	(void) match_cgroup_unit(text, "nginx.service");
	(void) match_cgroup_unit(text, "a");
	(void) match_cgroup_unit(text, "user@1000.service");
	FUZZ_ASSERT(!match_cgroup_unit(text, ""));
	free(text);
	return 0;
}
