/* pyinfo.c - CPython's structure layout and line tables. See pyinfo.h. */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image/pyinfo.h"

#define PY_311 0x030b0000U
#define PY_312 0x030c0000U
#define STRUCT_MAX 8192 /* no structure we read is larger */

int pyinfo_layout_builtin(uint32_t hexversion, struct py_layout *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (hexversion < PY_311 || hexversion >= PY_312)
		return -ENOTSUP;
	/* CPython 3.11, x86-64: the structures of its Include/internal and Include/cpython headers */
	ret->hexversion = hexversion;
	ret->runtime_tstate = 576;
	ret->ts_cframe = 56;
	ret->ts_thread_id = 152;
	ret->runtime_interp_main = 48;
	ret->interp_threads_head = 16;
	ret->ts_next = 8;
	ret->cframe_current = 8;
	ret->frame_code = 32;
	ret->frame_previous = 48;
	ret->frame_prev_instr = 56;
	ret->frame_is_entry = 68;
	ret->frame_owner = 69;
	ret->frame_size = 72;
	ret->code_firstlineno = 72;
	ret->code_filename = 112;
	ret->code_name = 120;
	ret->code_qualname = 128;
	ret->code_linetable = 136;
	ret->code_firsttraceable = 168;
	ret->code_adaptive = 184;
	ret->code_size = 192;
	return 0;
}

/* The structures and members we need; a member "" stands for the structure's size. */
struct want {
	const char *type; /* the structure's DWARF name */
	const char *member;
	uint32_t *out;
	bool is_found;
};

static int member_offset(Dwarf_Die *member, uint32_t *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Word off;

	if (!dwarf_attr(member, DW_AT_data_member_location, &attr) ||
	    dwarf_formudata(&attr, &off) != 0 || off > STRUCT_MAX)
		return -1;
	*ret = (uint32_t)off;
	return 0;
}

/* Fill what the structure die (named name) provides. */
static void take_struct(Dwarf_Die *die, const char *name, struct want *w, size_t n)
{
	Dwarf_Die child;
	Dwarf_Word size = 0;

	for (size_t i = 0; i < n; i++) {
		if (w[i].is_found || strcmp(w[i].type, name) != 0 || w[i].member[0])
			continue;
		size = (Dwarf_Word)dwarf_bytesize(die);
		if ((int64_t)size > 0 && size <= STRUCT_MAX) {
			*w[i].out = (uint32_t)size;
			w[i].is_found = true;
		}
	}
	if (dwarf_child(die, &child) != 0)
		return;
	do {
		const char *mname;

		if (dwarf_tag(&child) != DW_TAG_member || !(mname = dwarf_diename(&child)))
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!w[i].is_found && strcmp(w[i].type, name) == 0 &&
			    strcmp(w[i].member, mname) == 0 && member_offset(&child, w[i].out) == 0)
				w[i].is_found = true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

int pyinfo_layout_dwarf(int fd, uint32_t hexversion, struct py_layout *ret)
{
	uint32_t gil_offset = 0, tstate_in_gil = 0, frame_owner_end;
	uint32_t interps = 0, interps_main = 0, threads = 0, threads_head = 0;
	struct want w[] = {
		{ "pyruntimestate", "gilstate", &gil_offset, false },
		{ "_gilstate_runtime_state", "tstate_current", &tstate_in_gil, false },
		{ "_ts", "cframe", &ret->ts_cframe, false },
		{ "_ts", "thread_id", &ret->ts_thread_id, false },
		{ "_ts", "next", &ret->ts_next, false },
		{ "pyruntimestate", "interpreters", &interps, false },
		{ "pyinterpreters", "main", &interps_main, false },
		{ "_is", "threads", &threads, false },
		{ "pythreads", "head", &threads_head, false },
		{ "_PyCFrame", "current_frame", &ret->cframe_current, false },
		{ "_PyInterpreterFrame", "f_code", &ret->frame_code, false },
		{ "_PyInterpreterFrame", "previous", &ret->frame_previous, false },
		{ "_PyInterpreterFrame", "prev_instr", &ret->frame_prev_instr, false },
		{ "_PyInterpreterFrame", "is_entry", &ret->frame_is_entry, false },
		{ "_PyInterpreterFrame", "owner", &ret->frame_owner, false },
		{ "PyCodeObject", "co_firstlineno", &ret->code_firstlineno, false },
		{ "PyCodeObject", "co_filename", &ret->code_filename, false },
		{ "PyCodeObject", "co_name", &ret->code_name, false },
		{ "PyCodeObject", "co_qualname", &ret->code_qualname, false },
		{ "PyCodeObject", "co_linetable", &ret->code_linetable, false },
		{ "PyCodeObject", "_co_firsttraceable", &ret->code_firsttraceable, false },
		{ "PyCodeObject", "co_code_adaptive", &ret->code_adaptive, false },
	};
	size_t n = sizeof(w) / sizeof(w[0]), found = 0;
	Dwarf *dw;
	Dwarf_Off off = 0, next;
	size_t hsize;

	memset(ret, 0, sizeof(*ret));
	dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw)
		return -ENOEXEC;
	while (found < n && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				Dwarf_Attribute decl;
				const char *name;

				if (dwarf_tag(&die) != DW_TAG_structure_type ||
				    dwarf_attr(&die, DW_AT_declaration, &decl) ||
				    !(name = dwarf_diename(&die)))
					continue;
				take_struct(&die, name, w, n);
			} while (dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
		found = 0;
		for (size_t i = 0; i < n; i++)
			found += w[i].is_found;
	}
	dwarf_end(dw);
	if (found < n)
		return -ENOENT;
	ret->hexversion = hexversion;
	ret->is_from_dwarf = true;
	ret->runtime_tstate = gil_offset + tstate_in_gil;
	ret->runtime_interp_main = interps + interps_main;
	ret->interp_threads_head = threads + threads_head;
	frame_owner_end = ret->frame_owner + 1;
	ret->frame_size = (frame_owner_end + 7) & ~7U;
	ret->code_size = ret->code_adaptive + 8;
	/* sanity: pointers inside the structures, in their order */
	if (ret->frame_size > STRUCT_MAX || ret->code_size > STRUCT_MAX ||
	    ret->frame_code + 8 > ret->frame_size || ret->frame_previous + 8 > ret->frame_size ||
	    ret->frame_prev_instr + 8 > ret->frame_size)
		return -ENOENT;
	return 0;
}

const char *pyinfo_version_name(uint32_t hexversion, char *buf, unsigned len)
{
	snprintf(buf, len, "%u.%u.%u", (hexversion >> 24) & 0xff, (hexversion >> 16) & 0xff,
		 (hexversion >> 8) & 0xff);
	return buf;
}

static uint32_t varint(const uint8_t **p, const uint8_t *end)
{
	uint32_t v = 0;
	unsigned shift = 0;

	while (*p < end && shift < 32) {
		uint8_t b = *(*p)++;

		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	return v;
}

static int svarint(const uint8_t **p, const uint8_t *end)
{
	uint32_t u = varint(p, end);

	return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

int pyinfo_addr2line(const uint8_t *table, uint32_t len, int firstlineno, int instr)
{
	const uint8_t *p = table, *end = table + len;
	int line = firstlineno, addr = 0;

	if (instr < 0)
		return -1;
	while (p < end) {
		uint8_t first = *p++;
		int code = (first >> 3) & 15, length = (first & 7) + 1, this_line = line;

		if (!(first & 0x80))
			return -1; /* not at an entry's first byte: a table we do not understand */
		switch (code) {
		case 15: /* no location */
			this_line = -1;
			break;
		case 14: /* long form */
			line += svarint(&p, end);
			this_line = line;
			(void)varint(&p, end);
			(void)varint(&p, end);
			(void)varint(&p, end);
			break;
		case 13: /* no columns */
			line += svarint(&p, end);
			this_line = line;
			break;
		case 10:
		case 11:
		case 12: /* one line, columns in two bytes */
			line += code - 10;
			this_line = line;
			p += 2;
			break;
		default: /* short forms: the same line, a column byte */
			p += 1;
			break;
		}
		if (instr < addr + length)
			return this_line;
		addr += length;
	}
	return -1;
}
