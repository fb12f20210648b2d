/* symbols.h - turn pcs of a live process into function, file:line and inline chains.
 *
 * The one module that parses target binaries and their DWARF (untrusted input), through elfutils
 * libdwfl/libdw. It never attaches to or stops the process: it reads /proc/PID/maps and opens the
 * mapped files through the image module (image/image.h: inside the process's root, or the mapping
 * itself when the file on disk was deleted or replaced since it was mapped). In leakmond it runs in
 * the sandboxed helper process (symsvc.h), which is handed the files.
 *
 * Separate debug info is found by build-id under /usr/lib/debug, under every directory listed in
 * the environment variable LEAKMOND_DEBUGINFO_PATH (colon-separated, each searched like
 * /usr/lib/debug: DIR/.build-id/xx/yyyy.debug) and under the target's own /usr/lib/debug, then by
 * .gnu_debuglink (validated by build-id or CRC); a debuginfod server only when the user opted in
 * (--debuginfod: image/debuginfod.h), with bounded timeouts. LEAKMOND_DEBUGINFO_PATH is read by
 * symbolizer_new().
 *
 * Not thread-safe: one symbolizer is used by one thread at a time. Nothing here logs: caps that
 * were hit are counted in struct sym_stats for the caller to log once and report.
 */
#ifndef LEAKMOND_SYMBOLS_H
#define LEAKMOND_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Most frames one pc expands to (its inline chain plus the real function). */
#define SYM_INLINE_MAX 16
/* Caps on what a target can make us allocate. */
#define SYM_CACHE_MAX	      (1U << 20)  /* cached lookups; beyond this results are not cached */
#define SYM_STRING_MAX	      4096	  /* longest name or path kept, in bytes with the NUL */
#define SYM_STRINGS_BYTES_MAX (64U << 20) /* all interned strings together */
#define SYM_MODULES_MAX	      4096 /* modules from one read of the maps (each holds a descriptor) */

struct sym_frame {
	uint64_t pc;		/* the pc looked up (as given) */
	const char *module;	/* path of the module as mapped (e.g.
				 * /usr/lib/x86_64-linux-gnu/libc.so.6),     NULL if unknown */
	const char *build_id;	/* lower-case hex, or NULL */
	const char *function;	/* demangled (C++) function name, NULL if unknown, never invented */
	const char *file;	/* source file, NULL if unknown */
	int line;		/* 0 if unknown */
	bool is_inlined;	/* this frame is an inlined call inside the next one */
	bool is_module_deleted; /* the module file was deleted/replaced on disk since mapped */
	bool is_pending;	/* asked of the symbolizer helper, not answered yet (all else NULL) */
	bool is_python;		/* a Python frame (stack/pyframes.h tagged pc): function is its
				 * qualified name, file and line its source's; module NULL */
};

struct sym_stats {
	uint64_t lookups;	    /* calls of symbolizer_lookup() that returned frames */
	uint64_t cache_hits;	    /* ... answered from the cache */
	uint64_t maps_reads;	    /* reads of /proc/PID/maps (the first one included) */
	uint64_t cache_full;	    /* results not cached because SYM_CACHE_MAX was reached */
	uint64_t strings_truncated; /* strings cut to SYM_STRING_MAX */
	uint64_t cache_drops;	    /* times the cache was dropped (a module went away, a reset) */
	uint64_t module_changes;    /* times a read of the maps changed the modules */
	uint64_t images_shared;	    /* modules that found their file already parsed (shared) */
	uint64_t pending;	    /* lookups answered "pending" (the helper had not answered) */
	uint64_t strings_dropped; /* strings reported NULL because SYM_STRINGS_BYTES_MAX was hit */
	uint64_t modules_dropped; /* modules ignored because of SYM_MODULES_MAX or the maps cap */
	unsigned modules;	  /* modules currently known */
	unsigned modules_deleted; /* ... of which deleted or replaced on disk */
};

struct symbolizer;
struct image_ref;
struct stat;

/* How a symbolizer in the sandboxed helper (symsvc.h) reaches its process: it reads and opens
 * nothing itself; leakmond does it on its behalf (each returns what the direct call would). */
struct sym_access {
	void *ctx;
	int (*read_maps)(void *ctx, char **ret_text); /* all of /proc/PID/maps, malloc'd */
	int (*open_mapped)(void *ctx, const struct image_ref *ref, bool *ret_is_mapping);
	int (*open_debug)(void *ctx, bool in_process_root, const char *path, struct stat *ret_st);
	int (*fetch_debug)(void *ctx, const unsigned char *id, size_t len); /* debuginfod */
	bool is_own_root; /* the process's root is ours */
};

/* Figures of the symbolizer helper process (symsvc.h), when one runs. */
struct sym_service_stats {
	bool is_running;      /* symbolization happens in the helper */
	bool is_sandboxed;    /* its system call filter is in place */
	bool is_unprivileged; /* it runs without capabilities (uid 65534 when we are root) */
	unsigned restarts;    /* times it was restarted (it died or overran its budget) */
	unsigned timeouts;    /* requests that overran the budget */
	uint64_t requests;
};

/* A symbolizer for process pid, with its modules read from /proc/PID/maps now. Returns NULL only
 * on out-of-memory; a process that cannot be read (gone, no permission) gives a symbolizer that
 * resolves nothing (every lookup gives one frame of NULLs). */
struct symbolizer *symbolizer_new(pid_t pid);

/* A symbolizer for process pid whose maps and files come through a (see struct sym_access): the
 * one the helper process runs. a is copied. */
struct symbolizer *symbolizer_new_brokered(pid_t pid, const struct sym_access *a);

/* Free s and everything it owns (all strings handed out become invalid). NULL is fine. Returns
 * NULL. */
struct symbolizer *symbolizer_free(struct symbolizer *s);

/* Symbolize one pc of the process into ret_frames[0..max-1], innermost first: the chain of inlined
 * functions at that pc (each is_inlined=true, the first located at the pc's own file:line, every
 * further one at the call site of the next inner one, as eu-stack -i prints them), then the real
 * function (is_inlined=false, at the call site of the outermost inlined call, or at the pc's own
 * line when nothing is inlined there). A chain longer than max keeps its innermost frames.
 *
 * is_return_address: the pc is a return address (every frame but the innermost of a stack); pc - 1
 * is looked up so that a call at the very end of a function is attributed to it, but every frame
 * reports pc as given.
 *
 * Function names come from DWARF (linkage names demangled) or else from the ELF symbol table.
 * A pc in no known module makes the symbolizer re-read the maps once (a library dlopen'ed since)
 * and retry. Results are cached per (pc, is_return_address) until symbolizer_reset() or until a
 * module is unmapped.
 *
 * Returns the number of frames filled (>= 1: an unknown pc gives one frame with NULL fields and
 * line 0), or -EINVAL (s or ret_frames NULL, max 0). Strings are owned by the symbolizer:
 * borrowed, valid until symbolizer_free() (they survive symbolizer_reset()). */
int symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool is_return_address,
		      struct sym_frame *ret_frames, size_t max);

struct pyframes;

/* Name the Python frames among the pcs (tagged, stack/pyframes.h) from pf from now on (borrowed:
 * it must outlive the lookups; NULL: such pcs give one frame with is_python and NULL names). */
void symbolizer_set_python(struct symbolizer *s, const struct pyframes *pf);

/* Forget modules and cached results (after the process exec'd); the maps are read again at once.
 * Strings handed out earlier stay valid. */
void symbolizer_reset(struct symbolizer *s);

/* Add a module to a symbolizer of no process (symbolizer_new(0)): the ELF file open on fd,
 * mapped at [start, end) with its executable mapping at [exec_start, exec_end) from file offset
 * exec_offset, as a line of /proc/PID/maps would say; path names it in frames and is where
 * separate debug info is searched from (a .gnu_debuglink beside it). For tests, fuzzing, and a
 * symbolizer that is handed descriptors instead of a pid. fd is borrowed (duplicated). Returns 0,
 * -EINVAL (a symbolizer of a process, a relative path, a bad or overlapping range), -ENOEXEC (not
 * an ELF file libdwfl can use), -ENOSPC (SYM_MODULES_MAX), -ENOMEM, or -errno. */
int symbolizer_add_module(struct symbolizer *s, const char *path, int fd, uint64_t start,
			  uint64_t end, uint64_t exec_start, uint64_t exec_end,
			  uint64_t exec_offset);

/* Copy the counters of s into *ret. */
void symbolizer_get_stats(const struct symbolizer *s, struct sym_stats *ret);

#endif
