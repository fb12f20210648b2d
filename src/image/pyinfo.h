/* pyinfo.h - what leakmond needs to know about a CPython interpreter image: its version and the
 * offsets of the structures the agent walks and leakmond decodes.
 *
 * The offsets come from the interpreter's DWARF when it has some (Debian's python3.X-dbg installs
 * it under /usr/lib/debug/.build-id), else from a built-in table for known versions (3.11 on
 * x86-64). The DWARF is hostile input like every file of a target: every value is checked.
 */
#ifndef LEAKMOND_PYINFO_H
#define LEAKMOND_PYINFO_H

#include <stdbool.h>
#include <stdint.h>

/* Byte offsets (and sizes) in CPython's structures. */
struct py_layout {
	uint32_t hexversion;	    /* PY_VERSION_HEX of the interpreter (Py_Version) */
	bool is_from_dwarf;	    /* false: the built-in table */
	uint32_t runtime_tstate;    /* _PyRuntime.gilstate.tstate_current */
	uint32_t ts_cframe;	    /* PyThreadState.cframe */
	uint32_t ts_thread_id;	    /* PyThreadState.thread_id */
	uint32_t runtime_interp_main; /* _PyRuntime.interpreters.main */
	uint32_t interp_threads_head; /* PyInterpreterState.threads.head */
	uint32_t ts_next;	    /* PyThreadState.next */
	uint32_t cframe_current;    /* _PyCFrame.current_frame */
	uint32_t frame_code;	    /* _PyInterpreterFrame.f_code */
	uint32_t frame_previous;    /* .previous */
	uint32_t frame_prev_instr;  /* .prev_instr */
	uint32_t frame_is_entry;    /* .is_entry */
	uint32_t frame_owner;	    /* .owner */
	uint32_t frame_size;	    /* bytes to read of a frame (through owner) */
	uint32_t code_firstlineno;  /* PyCodeObject.co_firstlineno */
	uint32_t code_filename;	    /* .co_filename */
	uint32_t code_name;	    /* .co_name */
	uint32_t code_qualname;	    /* .co_qualname */
	uint32_t code_linetable;    /* .co_linetable */
	uint32_t code_firsttraceable; /* ._co_firsttraceable */
	uint32_t code_adaptive;	    /* .co_code_adaptive: the first code unit */
	uint32_t code_size;	    /* bytes to read of a code object (through code_adaptive) */
};

/* The built-in layout for interpreter version hexversion (PY_VERSION_HEX). Returns 0, or -ENOTSUP
 * for a version it does not know. */
int pyinfo_layout_builtin(uint32_t hexversion, struct py_layout *ret);

/* The layout from the DWARF of an ELF file open on fd (the interpreter, or its separate debug
 * file), for hexversion. Returns 0, -ENOENT when the file has no such types, -ENOEXEC, -ENOMEM. */
int pyinfo_layout_dwarf(int fd, uint32_t hexversion, struct py_layout *ret);

/* "3.11.2" for hexversion (buf of at least 16 bytes). Returns buf. */
const char *pyinfo_version_name(uint32_t hexversion, char *buf, unsigned len);

/* The line of code unit instr in a 3.11+ location table (co_linetable's bytes, len of them)
 * starting at firstlineno. Returns the line, or -1 when the unit has no line (or is past the
 * table). Pure; any bytes are accepted. */
int pyinfo_addr2line(const uint8_t *table, uint32_t len, int firstlineno, int instr);

#endif
