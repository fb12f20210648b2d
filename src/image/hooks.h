/* hooks.h - where a process's allocator entry points are: the definitions the dynamic linker binds.
 *
 * hooks_resolve() reads /proc/PID/maps, the dynamic linker's link map in the target's memory
 * (through /proc/PID/mem) and the ELF files the target has mapped (through /proc/PID/root, or
 * /proc/PID/map_files when a file was deleted or replaced), and returns the runtime address of each
 * allocator entry point together with the module that defines it. It neither stops nor traces the
 * target, and it never writes to it; it needs the permission to ptrace it (PTRACE_MODE_ATTACH),
 * which root has.
 *
 * Binding order: the first definition in link-map order wins (executable, then LD_PRELOAD
 * libraries, then DT_NEEDED libraries in load order), so an LD_PRELOADed jemalloc is the one found.
 * The link map is the r_debug list of the dynamic linker, found through DT_DEBUG of the executable.
 * Without it (static executables, or a dynamic one before its dynamic linker has run, e.g. at the
 * exec stop) the order is the executable first, then every other mapped file in the order of its
 * first appearance in /proc/PID/maps (ascending address), which is not load order: at the exec
 * stop only the executable and the dynamic linker are mapped, and the latter defines no allocator,
 * so a dynamic program then resolves to -ENOENT (resolve again once it has started).
 *
 * The ELF files are untrusted input: every size and index from libelf is checked and files are
 * capped in size. Only 64-bit ELF files of the host's machine are read.
 */
#ifndef LEAKMOND_HOOKS_H
#define LEAKMOND_HOOKS_H

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heap/allocfn.h"

#define HOOKS_MODULES_MAX 8
#define HOOKS_PATH_MAX 4096

struct hook_module {
	char path[HOOKS_PATH_MAX]; /* as /proc/PID/maps names it (in the reader's view), without
				    * the " (deleted)" suffix */
	bool is_deleted;	   /* maps said " (deleted)": read through map_files */
	uint64_t bias;		   /* load bias: runtime addr = bias + st_value */
	uint64_t text_start, text_end; /* span of its r-x mapping(s) */
};

/* CPython's symbols, found in the module that defines them (the interpreter's executable, or
 * libpython) while resolving the allocator. */
enum hook_py {
	HOOK_PY_GET_ALLOCATOR,	/* PyMem_GetAllocator */
	HOOK_PY_SET_ALLOCATOR,	/* PyMem_SetAllocator */
	HOOK_PY_RUNTIME,	/* _PyRuntime */
	HOOK_PY_EVAL_FRAME,	/* _PyEval_EvalFrameDefault */
	HOOK_PY_VERSION,	/* Py_Version (3.11+) */
	HOOK_PY_MAX
};

struct hook_set {
	uint64_t addr[ALLOC_FN_MAX]; /* 0 when not found */
	uint64_t size[ALLOC_FN_MAX]; /* the function's size from its symbol (0: unknown) */
	int module_of[ALLOC_FN_MAX]; /* index into modules[] or -1 */
	struct hook_module modules[HOOKS_MODULES_MAX]; /* modules that provided at least one hook */
	size_t n_modules;

	/* Bit (1U << fn) set: the binding definition of fn is an STT_GNU_IFUNC. Its address is the
	 * resolver, not the function, so fn is left unhooked (addr 0) rather than taking a later
	 * definition the linker does not bind. glibc's allocator has no IFUNCs. */
	unsigned ifunc_mask;
	/* Hooks left unhooked because their module would have been the ninth (cap). */
	unsigned n_over_cap;
	/* True when the order came from the dynamic linker's link map, false for the fallback. */
	bool has_link_map;
	/* CPython: the interpreter module (index into modules[], -1: none), its symbols' runtime
	 * addresses and sizes (0: not found), its build-id in hex ("" when it has none). */
	int py_module;
	uint64_t py_addr[HOOK_PY_MAX];
	uint64_t py_size[HOOK_PY_MAX];
	char py_build_id[41];
};

/* Resolve the allocator of process pid (stopped or running). Fills *ret (all of it, also on
 * failure, to "nothing found"). Several hook_fns may share one address (glibc's memalign is its
 * aligned_alloc); see hooks_canonical().
 * Returns 0; -ESRCH if the process is gone or has no memory map (zombie, kernel thread); -ENOENT if
 * no malloc was found at all (e.g. a dynamic program at its exec stop, or a stripped static one);
 * -EINVAL for pid <= 0; -EACCES/-EPERM without the permission to read it; -ENOEXEC if the
 * executable is not a 64-bit ELF of our machine; -EBADMSG if a module before the binding
 * definition is malformed or disagrees with the link map; -EFBIG when a file exceeds a cap;
 * -ENOMEM; other -errno from reading /proc or the files. */
int hooks_resolve(pid_t pid, struct hook_set *ret);

/* Pure: the load bias of a module from its PT_LOAD program headers and one of its mappings (start
 * address and file offset as in /proc/PID/maps, both page-aligned). A PT_LOAD holds the mapping
 * when its file range, extended down to its page, [page_down(p_offset), p_offset + p_filesz),
 * contains map_offset; then bias = map_start - (p_vaddr + map_offset - p_offset). Never use the
 * start of the r-x mapping as the bias: with -z separate-code the r-x segment starts at a non-zero
 * file offset (0x26000 in Debian 12's libc).
 * Segments often share a file page (the last page of .rodata is also the first of the RELRO data,
 * mapped twice): such a mapping alone cannot tell which segment it is.
 * Returns 0; -ENOENT if no PT_LOAD holds map_offset; -ENOTUNIQ if several do and give different
 * biases; -EBADMSG if the result is not page-aligned (inconsistent headers) or overflows. */
int hooks_load_bias(const GElf_Phdr *phdrs, size_t n, uint64_t map_start, uint64_t map_offset,
		    uint64_t *ret_bias);

/* Pure: hooks_load_bias() for an executable (r-x) mapping: only PF_X segments are considered, which
 * settles the shared-page case (permissions of code never change, RELRO only touches data).
 * hooks_resolve() uses it with each module's first r-x mapping. Same returns. */
int hooks_load_bias_exec(const GElf_Phdr *phdrs, size_t n, uint64_t map_start,
			 uint64_t map_offset, uint64_t *ret_bias);

struct hook_sym {
	uint64_t value; /* st_value: add the module's bias */
	uint64_t size;	/* st_size (0: unknown) */
	bool is_found;
	bool is_ifunc; /* STT_GNU_IFUNC: value is the resolver */
};

/* Pure (libelf only, no other I/O): look the hooks up in the symbols of an opened ELF file. From
 * .dynsym, what the dynamic linker binds: defined (not SHN_UNDEF/ABS/COMMON) global or weak
 * functions (STT_FUNC or STT_GNU_IFUNC) of default or protected visibility, and of a versioned
 * symbol only its default version (.gnu.version entries with VERSYM_HIDDEN, name@VER, are
 * ignored). With is_static_exe, .symtab first: there a global or weak definition of any
 * visibility, else a local one when it is unique (static glibc's malloc is hidden, and local in a
 * static-pie). Every index and size libelf returns is checked. Returns the number of hooks found
 * (ret[] filled, the rest zeroed), or -EBADMSG for a malformed symbol table. */
int hooks_elf_symbols(Elf *elf, bool is_static_exe, struct hook_sym ret[ALLOC_FN_MAX]);

/* Pure: the lowest-numbered hook_fn whose address equals that of fn (fn itself when no other
 * shares it, or when fn is not found). Place one breakpoint per canonical hook; a hit at a shared
 * address stands for all of them. */
enum alloc_fn hooks_canonical(const struct hook_set *set, enum alloc_fn fn);

#endif
