/* pyframes.c - naming the Python frames of a traced interpreter. See pyframes.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "base/util.h"
#include "stack/pyframes.h"

#define NAME_MAX_CHARS 512	 /* characters of a qualified name or a file name */
#define LINETABLE_MAX 65536	 /* bytes of a location table */
#define CODES_MAX 65536		 /* code objects remembered */
#define FRAMES_MAX (1U << 20)	 /* distinct frames (the tagged pc's id space is far larger) */
#define PY_ASCII_HEAD 48	 /* sizeof(PyASCIIObject) */
#define PY_COMPACT_HEAD 72	 /* sizeof(PyCompactUnicodeObject) */
#define PY_BYTES_HEAD 32	 /* offsetof(PyBytesObject, ob_sval) */

struct code {
	uint64_t addr;
	/* identity, read again at each use */
	int32_t firstlineno;
	uint64_t qualname, filename, linetable;
	/* decoded */
	char *function, *file;
	uint8_t *table;
	uint32_t table_len;
	bool is_used;
};

struct frame {
	const char *function, *file; /* borrowed from a struct code's strings (kept forever) */
	int line;
};

struct pyframes {
	pid_t pid;
	struct py_layout l;
	struct code *codes; /* open addressing by code address */
	size_t n_codes, cap_codes;
	char **strings;	    /* every decoded string, freed at the end */
	size_t n_strings, cap_strings;
	struct frame *frames;
	size_t n_frames, cap_frames;
	uint32_t *index;    /* open addressing over frames by (function, file, line) */
	size_t cap_index;
	uint64_t unreadable;
};

static int rd(const struct pyframes *pf, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	if (!addr)
		return -EFAULT;
	return process_vm_readv(pf->pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static uint64_t u64_at(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static int32_t i32_at(const uint8_t *b, uint32_t off)
{
	int32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static char *keep_string(struct pyframes *pf, char *s)
{
	if (!s)
		return NULL;
	if (pf->n_strings == pf->cap_strings) {
		size_t cap = pf->cap_strings ? pf->cap_strings * 2 : 256;
		char **n = realloc(pf->strings, cap * sizeof(*n));

		if (!n) {
			free(s);
			return NULL;
		}
		pf->strings = n;
		pf->cap_strings = cap;
	}
	pf->strings[pf->n_strings++] = s;
	return s;
}

static void put_utf8(char *out, size_t *at, uint32_t c)
{
	if (c < 0x80) {
		out[(*at)++] = (char)c;
	} else if (c < 0x800) {
		out[(*at)++] = (char)(0xc0 | (c >> 6));
		out[(*at)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[(*at)++] = (char)(0xe0 | (c >> 12));
		out[(*at)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*at)++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[(*at)++] = (char)(0xf0 | ((c >> 18) & 0x07));
		out[(*at)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[(*at)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*at)++] = (char)(0x80 | (c & 0x3f));
	}
}

/* A str object's text as UTF-8 (compact objects only: every name and file name CPython makes),
 * control characters replaced by '?'. NULL when it cannot be read. */
static char *read_str(struct pyframes *pf, uint64_t addr)
{
	uint8_t head[PY_COMPACT_HEAD];
	uint32_t state, kind;
	int64_t length;
	uint64_t data;
	uint8_t *raw;
	char *out;
	size_t at = 0, n;

	if (rd(pf, addr, head, sizeof(head)) < 0)
		return NULL;
	memcpy(&length, head + 16, sizeof(length));
	memcpy(&state, head + 32, sizeof(state));
	kind = (state >> 2) & 7;
	if (length < 0 || !((state >> 5) & 1) || (kind != 1 && kind != 2 && kind != 4))
		return NULL; /* not a compact, ready str */
	data = addr + (((state >> 6) & 1) ? PY_ASCII_HEAD : PY_COMPACT_HEAD);
	n = (size_t)(length < NAME_MAX_CHARS ? length : NAME_MAX_CHARS);
	raw = malloc(n * kind + 1);
	out = malloc(n * 4 + 4);
	if (!raw || !out || (n && rd(pf, data, raw, n * kind) < 0)) {
		free(raw);
		free(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t c = kind == 1 ? raw[i]
			     : kind == 2 ? (uint32_t)raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8
					 : (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
						   (uint32_t)raw[4 * i + 2] << 16 |
						   (uint32_t)raw[4 * i + 3] << 24;

		if (c < 0x20 || c == 0x7f || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
			c = '?';
		put_utf8(out, &at, c);
	}
	out[at] = '\0';
	free(raw);
	return out;
}

static uint8_t *read_bytes(struct pyframes *pf, uint64_t addr, uint32_t *ret_len)
{
	uint8_t head[PY_BYTES_HEAD];
	int64_t size;
	uint8_t *buf;

	if (rd(pf, addr, head, sizeof(head)) < 0)
		return NULL;
	memcpy(&size, head + 16, sizeof(size));
	if (size < 0 || size > LINETABLE_MAX)
		return NULL;
	buf = malloc((size_t)size + 1);
	if (!buf || (size && rd(pf, addr + PY_BYTES_HEAD, buf, (size_t)size) < 0)) {
		free(buf);
		return NULL;
	}
	*ret_len = (uint32_t)size;
	return buf;
}

struct pyframes *pyframes_new(pid_t pid, const struct py_layout *layout)
{
	struct pyframes *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return NULL;
	pf->pid = pid;
	pf->l = *layout;
	pf->cap_codes = 1024;
	pf->codes = calloc(pf->cap_codes, sizeof(*pf->codes));
	if (!pf->codes) {
		free(pf);
		return NULL;
	}
	return pf;
}

struct pyframes *pyframes_free(struct pyframes *pf)
{
	if (!pf)
		return NULL;
	for (size_t i = 0; i < pf->n_strings; i++)
		free(pf->strings[i]);
	for (size_t i = 0; i < pf->cap_codes; i++)
		free(pf->codes[i].table);
	free(pf->strings);
	free(pf->codes);
	free(pf->frames);
	free(pf->index);
	free(pf);
	return NULL;
}

static size_t slot_of(const struct pyframes *pf, uint64_t addr)
{
	return (size_t)((addr >> 4) * 0x9e3779b97f4a7c15ULL >> 20) & (pf->cap_codes - 1);
}

static struct code *code_slot(struct pyframes *pf, uint64_t addr)
{
	size_t i = slot_of(pf, addr);

	while (pf->codes[i].is_used && pf->codes[i].addr != addr)
		i = (i + 1) & (pf->cap_codes - 1);
	return &pf->codes[i];
}

static int grow_codes(struct pyframes *pf)
{
	struct code *old = pf->codes;
	size_t old_cap = pf->cap_codes;

	pf->codes = calloc(old_cap * 2, sizeof(*pf->codes));
	if (!pf->codes) {
		pf->codes = old;
		return -ENOMEM;
	}
	pf->cap_codes = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].is_used)
			*code_slot(pf, old[i].addr) = old[i];
	free(old);
	return 0;
}

/* The decoded code object at addr, whose header is head (read just now). */
static struct code *code_get(struct pyframes *pf, uint64_t addr, const uint8_t *head)
{
	const struct py_layout *l = &pf->l;
	int32_t first = i32_at(head, l->code_firstlineno);
	uint64_t qual = u64_at(head, l->code_qualname), file = u64_at(head, l->code_filename);
	uint64_t table = u64_at(head, l->code_linetable);
	struct code *c = code_slot(pf, addr);

	if (c->is_used && c->firstlineno == first && c->qualname == qual && c->filename == file &&
	    c->linetable == table)
		return c;
	if (c->is_used) {
		/* another code object at this address now: forget the old one's table (its
		 * strings stay: frames interned from it still name them) */
		free(c->table);
		c->table = NULL;
	} else {
		if (pf->n_codes >= CODES_MAX)
			return NULL;
		if (4 * (pf->n_codes + 1) > 3 * pf->cap_codes) {
			if (grow_codes(pf) < 0)
				return NULL;
			c = code_slot(pf, addr);
		}
		pf->n_codes++;
	}
	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->is_used = true;
	c->firstlineno = first;
	c->qualname = qual;
	c->filename = file;
	c->linetable = table;
	c->function = keep_string(pf, read_str(pf, qual));
	c->file = keep_string(pf, read_str(pf, file));
	c->table = read_bytes(pf, table, &c->table_len);
	return c;
}

static size_t frame_hash(const struct pyframes *pf, const char *function, const char *file,
			 int line)
{
	uint64_t h = (uint64_t)(uintptr_t)function * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)(uintptr_t)file * 0xc2b2ae3d27d4eb4fULL;
	h ^= (uint64_t)(uint32_t)line * 0x165667b19e3779f9ULL;
	return (size_t)(h >> 17) & (pf->cap_index - 1);
}

/* Rebuild the frame index at twice the size (frames are never removed). */
static int grow_index(struct pyframes *pf)
{
	size_t cap = pf->cap_index ? pf->cap_index * 2 : 1024;
	uint32_t *n = malloc(cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	memset(n, 0xff, cap * sizeof(*n));
	free(pf->index);
	pf->index = n;
	pf->cap_index = cap;
	for (size_t i = 0; i < pf->n_frames; i++) {
		const struct frame *f = &pf->frames[i];
		size_t j = frame_hash(pf, f->function, f->file, f->line);

		while (pf->index[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		pf->index[j] = (uint32_t)i;
	}
	return 0;
}

/* The id of frame (function, file, line), the strings compared by address (each code object's
 * strings are decoded once). 0 when the table is full or memory runs out. */
static uint64_t frame_intern(struct pyframes *pf, const char *function, const char *file,
			     int line)
{
	size_t j;

	if (2 * (pf->n_frames + 1) > pf->cap_index && grow_index(pf) < 0)
		return 0;
	j = frame_hash(pf, function, file, line);
	for (; pf->index[j] != UINT32_MAX; j = (j + 1) & (pf->cap_index - 1)) {
		const struct frame *f = &pf->frames[pf->index[j]];

		if (f->function == function && f->file == file && f->line == line)
			return PYFRAMES_TAG | pf->index[j];
	}
	if (pf->n_frames >= FRAMES_MAX)
		return 0;
	if (pf->n_frames == pf->cap_frames) {
		size_t cap = pf->cap_frames ? pf->cap_frames * 2 : 256;
		struct frame *n = realloc(pf->frames, cap * sizeof(*n));

		if (!n)
			return 0;
		pf->frames = n;
		pf->cap_frames = cap;
	}
	pf->frames[pf->n_frames].function = function;
	pf->frames[pf->n_frames].file = file;
	pf->frames[pf->n_frames].line = line;
	pf->index[j] = (uint32_t)pf->n_frames;
	return PYFRAMES_TAG | pf->n_frames++;
}

uint64_t pyframes_intern(struct pyframes *pf, uint64_t code, int32_t instr)
{
	uint8_t head[1024];
	struct code *c;
	int line = -1;

	if (pf->l.code_size > sizeof(head) || rd(pf, code, head, pf->l.code_size) < 0) {
		pf->unreadable++;
		return 0;
	}
	c = code_get(pf, code, head);
	if (!c || !c->function) {
		pf->unreadable++;
		return 0;
	}
	if (c->table)
		line = pyinfo_addr2line(c->table, c->table_len, c->firstlineno, instr);
	return frame_intern(pf, c->function, c->file, line);
}

int pyframes_lookup(const struct pyframes *pf, uint64_t pc, const char **ret_function,
		    const char **ret_file, int *ret_line)
{
	uint64_t i = pc & ~PYFRAMES_TAG;

	if (!pf || !pyframes_is_python(pc) || i >= pf->n_frames)
		return -ENOENT;
	*ret_function = pf->frames[i].function;
	*ret_file = pf->frames[i].file;
	*ret_line = pf->frames[i].line;
	return 0;
}

void pyframes_get_stats(const struct pyframes *pf, struct pyframes_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->codes = pf->n_codes;
	ret->frames = pf->n_frames;
	ret->unreadable = pf->unreadable;
}

/* The next activation's Python frames, from *at on, into out; returns the new count. */
static size_t splice_group(struct pyframes *pf, const struct pyframes_raw *py, size_t n_py,
			   size_t *at, uint64_t *out, size_t k, size_t max)
{
	while (*at < n_py) {
		const struct pyframes_raw *f = &py[(*at)++];
		uint64_t pc = pyframes_intern(pf, f->code, f->instr);

		if (pc && k < max)
			out[k++] = pc;
		if (f->is_entry)
			break;
	}
	return k;
}

size_t pyframes_splice(struct pyframes *pf, const uint64_t *pcs, size_t n, uint64_t eval_start,
		       uint64_t eval_end, const struct pyframes_raw *py, size_t n_py,
		       uint64_t *out, size_t max)
{
	size_t k = 0, at = 0;

	for (size_t i = 0; i < n && k < max; i++) {
		uint64_t pc = pcs[i] ? pcs[i] - 1 : 0; /* return addresses: the call is before */

		if (at < n_py && eval_start < eval_end && pc >= eval_start && pc < eval_end)
			k = splice_group(pf, py, n_py, &at, out, k, max);
		else
			out[k++] = pcs[i];
	}
	while (at < n_py && k < max)
		k = splice_group(pf, py, n_py, &at, out, k, max);
	return k;
}
