/* blob.c - checking an agent header; mapping the agent into this process for tests. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "agent/blob.h"

#define AGENT_PAGE     4096u
#define AGENT_MAX_SIZE (64u << 20) /* far more than the agent will ever be */

int agent_header_validate(const void *buf, size_t len, struct agent_header *ret_header)
{
	const uint64_t tramp_len = (uint64_t) ALLOC_FN_MAX * AGENT_TRAMP_SIZE;
	struct agent_header h;

	if (!buf || len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != AGENT_MAGIC)
		return -EBADMSG;
	if (h.abi_version != AGENT_ABI_VERSION || h.header_size != sizeof(h))
		return -EPROTO;
	if (!h.code_size || h.code_size % AGENT_PAGE || h.total_size % AGENT_PAGE ||
	    h.total_size > AGENT_MAX_SIZE || h.data_off != h.code_size ||
	    (uint64_t) h.data_off + sizeof(struct agent_data) > h.total_size)
		return -EINVAL;
	if (h.tramp_off < h.header_size || h.tramp_off % 16 ||
	    (uint64_t) h.tramp_off + tramp_len > h.code_size)
		return -EINVAL;
	for (int i = 0; i < ALLOC_FN_MAX; i++) {
		uint32_t e = h.entry_off[i];

		if (e < h.header_size || e >= h.code_size ||
		    (e >= h.tramp_off && e < h.tramp_off + tramp_len))
			return -EINVAL;
		for (int j = 0; j < i; j++)
			if (h.entry_off[j] == e)
				return -EINVAL;
	}
	if (h.blob_size > h.total_size || h.blob_size < h.header_size)
		return -EINVAL;
	for (int i = -1; i < AGENT_PY_DOMAINS * AGENT_PY_FNS; i++) {
		uint32_t e = i < 0 ? h.landing_off : h.py_entry_off[i];

		if (e < h.header_size || e >= h.code_size ||
		    (e >= h.tramp_off && e < h.tramp_off + tramp_len))
			return -EINVAL;
	}
	if (ret_header)
		*ret_header = h;
	return 0;
}

int agent_blob_map_self(void **ret_base)
{
	struct agent_header h;
	void *base;
	int r = agent_header_validate(agent_blob, agent_blob_size, &h);

	if (r < 0)
		return r;
	if (agent_blob_size > h.total_size)
		return -EINVAL;
	base = mmap(NULL, h.total_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	memcpy(base, agent_blob, agent_blob_size);
	if (mprotect(base, h.code_size, PROT_READ | PROT_EXEC) < 0) {
		r = -errno;
		(void) munmap(base, h.total_size);
		return r;
	}
	*ret_base = base;
	return 0;
}
