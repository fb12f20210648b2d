/* pyframes.h - the Python frames of a traced interpreter: code objects read from its memory,
 * named (qualified name, file, line from the 3.11 location table), and interned as frame ids that
 * stand among a stack's program counters as PYFRAMES_TAG | id.
 *
 * Code objects are read with process_vm_readv (never trusted: lengths are capped, strings
 * checked). A code object is decoded once; the cache is keyed by its address *and* its identity
 * (first line, and the addresses of its name, file name and line table objects), which are read
 * again at each use: a code object freed and another allocated at the same address is never
 * given the old one's name. Interned frames outlive the process, for its final report.
 */
#ifndef LEAKMOND_PYFRAMES_H
#define LEAKMOND_PYFRAMES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/pyinfo.h"

#define PYFRAMES_TAG (UINT64_C(1) << 63)

struct pyframes;

struct pyframes_stats {
	uint64_t codes;	    /* code objects decoded */
	uint64_t frames;    /* distinct (function, file, line) */
	uint64_t unreadable; /* frames whose code object could not be read */
};

/* The frames of interpreter process pid, laid out as layout says. NULL on out-of-memory. */
struct pyframes *pyframes_new(pid_t pid, const struct py_layout *layout);
struct pyframes *pyframes_free(struct pyframes *pf);

/* The tagged pc of code unit instr of code object code (decoded on first use). Returns 0 when
 * the code object cannot be read (the frame is then left out). */
uint64_t pyframes_intern(struct pyframes *pf, uint64_t code, int32_t instr);

/* The names of tagged pc: function (qualified name), file and line (-1: unknown). Strings are
 * borrowed, valid until pyframes_free. Returns 0, or -ENOENT for a pc that is not one of ours. */
int pyframes_lookup(const struct pyframes *pf, uint64_t pc, const char **ret_function,
		    const char **ret_file, int *ret_line);

static inline bool pyframes_is_python(uint64_t pc)
{
	return (pc & PYFRAMES_TAG) != 0;
}

void pyframes_get_stats(const struct pyframes *pf, struct pyframes_stats *ret);

/* One Python frame as recorded in the target: code object, code unit, and whether it is the
 * first frame its _PyEval_EvalFrameDefault activation ran (3.11: _PyInterpreterFrame.is_entry). */
struct pyframes_raw {
	uint64_t code;
	int32_t instr;
	bool is_entry;
};

/* A mixed stack: the native pcs[0..n) (return addresses, innermost first) with each activation
 * of the evaluation loop (a pc - 1 in [eval_start, eval_end)) replaced in place by the Python
 * frames it was running: py[0..n_py) innermost first, an activation's frames ending at its entry
 * frame. Python frames left over (the native stack was cut short) are appended; an activation
 * with no Python frames left keeps its native pc. Frames whose code object cannot be read are
 * left out. Writes at most max pcs to out (which must not overlap pcs) and returns their
 * number. */
size_t pyframes_splice(struct pyframes *pf, const uint64_t *pcs, size_t n, uint64_t eval_start,
		       uint64_t eval_end, const struct pyframes_raw *py, size_t n_py,
		       uint64_t *out, size_t max);

#endif
