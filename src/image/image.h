/* image.h - the one place that opens the files of a traced process: the files it has mapped,
 * and the separate debug files of its modules.
 *
 * Every such file, path and name is hostile input: the process (or whoever owns its mount
 * namespace) controls them. A path is resolved inside the process's own root (openat2 with
 * RESOLVE_IN_ROOT on /proc/PID/root, and no magic links), opened with O_NONBLOCK | O_NOCTTY
 * (a FIFO or a device put in a library's place can neither block nor take a terminal), and
 * accepted only when fstat says it is a regular file of a bounded size; a mapped file must also
 * be the mapped one (inode, and device where it can be compared). When the path does not give
 * that file, its mapping itself is opened through /proc/PID/map_files (needs CAP_SYS_ADMIN).
 */
#ifndef LEAKMOND_IMAGE_H
#define LEAKMOND_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#define IMAGE_FILE_MAX (UINT64_C(4) << 30) /* bytes of one ELF or debug file at most */
#define IMAGE_PATH_MAX 4096

/* Open path (absolute, len bytes, need not be terminated) inside the root open on root_fd (an
 * O_PATH or directory fd, e.g. of /proc/PID/root or of "/"): symlinks, ".." and absolute links
 * all stay inside that root. Returns an fd of a regular file of at most IMAGE_FILE_MAX bytes
 * (its stat in *ret_st when not NULL); -EFTYPE-like -EBADFD for anything else (FIFO, device,
 * directory, socket); -EFBIG; -ENAMETOOLONG; -ENOSYS when the kernel has no openat2 (then no
 * path is opened at all); other -errno of the open. */
int image_open_in_root(int root_fd, const char *path, size_t len, struct stat *ret_st);

/* A file mapped by a process, as its /proc/PID/maps shows it. */
struct image_ref {
	pid_t pid;
	const char *path;  /* as in the maps, without " (deleted)"; len bytes, not terminated */
	size_t path_len;
	uint64_t start, end; /* one of its mappings: the name of that mapping in map_files/ */
	uint64_t inode;
	dev_t dev;	   /* makedev(major, minor) of the maps */
	bool is_deleted;   /* the maps say " (deleted)" */
};

/* Open the file of ref as it is mapped: by its path inside the process's root, or inside ours (the
 * maps show paths as their reader sees them: a chrooted process's files by their path from our
 * root), when that gives the same file; else through its mapping in /proc/PID/map_files. *ret_is_mapping (when not NULL)
 * says which. Returns an fd of a regular file, or -errno (-ESTALE: the path names another file
 * and the mapping could not be opened). */
int image_open_mapped(const struct image_ref *ref, bool *ret_is_mapping);

/* The mapping [start, end) of process pid itself, through /proc/PID/map_files (a magic link:
 * root only), opened with flags (O_RDONLY or O_RDWR) when it is a regular file (a memfd is one).
 * Returns an fd, or -errno (-EBADFD: not a regular file, never opened). */
int image_open_mapping(pid_t pid, uint64_t start, uint64_t end, int flags, struct stat *ret_st);

/* What the debug file search of a process needs; set as each Dwfl_Module's userdata (through
 * image_dwfl_set_userdata) for image_find_debuginfo and image_find_elf. */
struct image_alt {
	Dwarf *dw;
	int fd;
	unsigned char id[64]; /* its build-id, id_len bytes: one Dwarf per alternate file */
	size_t id_len;
};

struct image_debug {
	pid_t pid;
	int root_fd;	    /* /proc/PID/root (O_PATH), or -1 */
	int own_root_fd;    /* our "/" (O_PATH) */
	bool is_own_root;   /* the process's root is ours: its /usr/lib/debug is ours */
	char **dirs;	    /* absolute directories searched in our own root, NULL-terminated:
			     * LEAKMOND_DEBUGINFO_PATH's absolute entries, then /usr/lib/debug */
	struct image_alt *alts; /* alternate (dwz) files given to libdw by image_set_alt */
	size_t n_alts;
	bool has_process_root; /* the process's root can be searched (root_fd, or open_fn) */
	/* When set (a symbolizer in the sandboxed helper, which may open nothing itself), every
	 * candidate is opened by this instead, as image_open_in_root would open it inside the
	 * process's root (in_process_root) or ours. Returns an fd or -errno. */
	int (*open_fn)(void *ctx, bool in_process_root, const char *path, struct stat *ret_st);
	/* ... and a debug file from debuginfod servers is fetched by this (NULL: not at all) */
	int (*fetch_fn)(void *ctx, const unsigned char *id, size_t len);
	void *open_ctx;
};

/* Set up d for process pid (its root opened, the directories read from the environment).
 * Returns 0 or -errno. */
int image_debug_init(struct image_debug *d, pid_t pid);
/* The same for a search that opens nothing itself: candidates are opened by open_fn (see
 * struct image_debug); is_own_root says whether the process's root is ours. */
int image_debug_init_brokered(struct image_debug *d, pid_t pid, bool is_own_root,
			      int (*open_fn)(void *ctx, bool in_process_root, const char *path,
					     struct stat *ret_st),
			      void *ctx);
void image_debug_done(struct image_debug *d);

/* Give d the directories of src (instead of those read from the environment). 0 or -ENOMEM. */
int image_debug_copy_dirs(struct image_debug *d, const struct image_debug *src);

/* Whether a and b search the same directories the same way (our own root or another). */
bool image_debug_same_search(const struct image_debug *a, const struct image_debug *b);

/* Set d as the userdata of every module of dwfl (after dwfl_report_end). */
void image_dwfl_set_userdata(Dwfl *dwfl, struct image_debug *d);

/* A Dwfl_Callbacks.find_debuginfo that replaces dwfl_standard_find_debuginfo: by build-id under
 * each of our directories' .build-id/, then under the process's own /usr/lib/debug/.build-id/
 * (inside its root); then by .gnu_debuglink next to the module, in its .debug/, and under
 * /usr/lib/debug (inside its root, then ours). Every candidate is opened as image_open_in_root
 * does and must carry the module's build-id (or, for a module without one, the debuglink's
 * CRC). Last, when the user opted in, from a debuginfod server (image/debuginfod.h), checked
 * the same way. Files found inside the process's root are given to libdwfl without a name, so that
 * libdw never opens paths relative to them (.gnu_debugaltlink is then looked for by build-id
 * under our /usr/lib/debug only). */
int image_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			 const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			 char **debuginfo_file_name);

/* Make dw (a module's DWARF) safe to read DIEs from: give it its .gnu_debugaltlink file, found by
 * build-id as image_find_debuginfo finds files. libdw would otherwise look for that file by
 * itself, on first use, relative to the debug file's directory and with a plain open (a FIFO
 * there hangs it). Returns true when dw has no such link or now has its file; false when the file
 * was not found: then no DIE of dw may be read (symbols come from the symbol table alone). */
bool image_set_alt(struct image_debug *d, Dwarf *dw);

/* A Dwfl_Callbacks.find_elf for modules reported from /proc/PID/maps (dwfl_linux_proc_report):
 * the module's file opened inside the process's root as image_open_in_root does (the mapping
 * through map_files when that fails). */
int image_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		   char **file_name, Elf **elfp);

#endif
