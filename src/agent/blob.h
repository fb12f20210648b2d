/* blob.h - the agent image embedded in libleakmond, and the check of an agent header.
 *
 * agent_blob is the flat image built from agent.c and entry.S (abi.h's layout): struct
 * agent_header at offset 0, code, rodata and the int3-filled trampoline area up to code_size,
 * then the data page(s) with struct agent_data initialised (magic set, everything else 0).
 * agent_blob_size == header.blob_size == header.total_size: the whole image is copied as is.
 */
#ifndef LEAKMOND_AGENT_BLOB_H
#define LEAKMOND_AGENT_BLOB_H

#include <stddef.h>

#include "agent/abi.h"

extern const unsigned char agent_blob[];
extern const size_t agent_blob_size;

/* Check the struct agent_header at the start of buf (len bytes; a blob, or the start of a mapping
 * read from a target, which is hostile input): magic, ABI version, header size, page-multiple
 * sizes, data_off == code_size, data large enough for struct agent_data, the trampoline area and
 * every entry stub inside the code and apart from each other, blob_size <= total_size.
 * On success copies the header to *ret_header (may be NULL) and returns 0; -EBADMSG when buf is
 * not an agent header (too short or wrong magic), -EPROTO for another ABI version or header size,
 * -EINVAL for offsets or sizes out of range. */
int agent_header_validate(const void *buf, size_t len, struct agent_header *ret_header);

/* For tests and benchmarks: map a copy of agent_blob into this process (code r-x, data rw-) at an
 * address the kernel picks. Returns 0 with the mapping's base (total_size bytes; munmap() it), or
 * -errno. */
int agent_blob_map_self(void **ret_base);

#endif
