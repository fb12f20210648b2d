#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "stack/pyframes.h"
#include "stack/symbols.h"
#include "base/procfs.h"
#include "base/util.h"
#include "image/hooks.h"
#include "image/image.h"
#include "stack/symsvc.h"

/* From libstdc++ (<cxxabi.h> is C++ only). */
char *__cxa_demangle(const char *mangled_name, char *output_buffer, size_t *length, int *status);

/* A pc in no module whose unknown result is cached may trigger a new read of the maps at most this
 * often. A pc never seen before always may (once per lookup). */
#define SYM_REREAD_NS (250 * NSEC_PER_MSEC)
/* Bounds on loops over untrusted data. */
#define SYM_SCOPE_DEPTH_MAX    128	  /* DIE nesting followed from a CU down to a pc */
#define SYM_SCOPE_DIES_MAX     (1U << 16) /* DIEs looked at to find one pc's scopes */
#define SYM_IMPORT_NEST_MAX    4	  /* DW_TAG_imported_unit within imported units */
#define SYM_PHDRS_MAX	       4096
#define SYM_BUILD_ID_MAX       64

struct module {
	uint64_t lo, hi;     /* the run of mappings of this file, [lo, hi) */
	uint64_t exec_start; /* the executable mapping used to place the file */
	uint64_t exec_end;
	uint64_t exec_offset;
	uint64_t inode;
	dev_t dev;
	const char *map_path; /* interned: the path field of the maps line, as is */
	const char *path;     /* interned: map_path without " (deleted)" */
	const char *build_id; /* interned hex, NULL if none or not read yet */
	bool has_build_id_read;
	bool is_deleted;
	Dwfl_Module *dwmod; /* NULL when no usable ELF file was found */
	struct shared_image *img; /* where dwmod lives, when it came from the maps */
	uint64_t delta;		  /* add to an address of this process to get one of img's */
};

/* The libdwfl state of one file, shared by every symbolizer of this process that has the same
 * file mapped the same way (libc in each traced process, every target of the helper): its DWARF
 * is parsed once. Found by the identity of the opened file and its layout. */
struct shared_image {
	struct shared_image *next;
	unsigned refs;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint64_t lo, exec_start, exec_end, exec_offset; /* as first mapped */
	Dwfl_Callbacks callbacks;
	Dwfl *dwfl;
	Dwfl_Module *dwmod;
	struct image_debug dbg; /* its debug files and dwz alternates */
};

static struct shared_image *shared_images;

struct cache_slot {
	uint64_t pc;
	uint32_t frame_idx; /* first of n frames in symbolizer.frames */
	uint32_t gen;	    /* symbolizer.gen when an unknown result was stored */
	uint8_t n;	    /* 0: the pc was in no known module */
	bool is_used;
	bool is_pending; /* asked of the helper, not answered yet */
	bool is_return_address;
};

struct strpool {
	char **slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
	size_t bytes;
};

struct symbolizer {
	pid_t pid;
	struct sym_access access; /* brokered (in the helper) when access.read_maps is set */
	bool is_remote;		  /* lookups go to the helper process (symsvc.h) */
	uint32_t sid;		  /* ... as its symbolizer sid */
	uint32_t svc_gen;	  /* ... of the helper of this generation */
	uint64_t svc_drops;	  /* ... whose cache was dropped this many times */
	uint64_t svc_changes;	  /* ... whose modules changed this many times */
	uint64_t reopen_after_ns; /* ... opened again not before */
	const struct pyframes *py; /* names tagged Python pcs; borrowed */
	struct image_debug dbg;	  /* how its files and debug files are found */
	Dwfl_Callbacks callbacks;
	Dwfl *dwfl;		  /* NULL only after out-of-memory */

	struct module *modules; /* sorted by lo, not overlapping */
	size_t n_modules;
	uint32_t gen; /* changes whenever the module table does */
	uint64_t last_read_ns;

	struct cache_slot *slots;
	size_t slots_cap; /* power of two, or 0 */
	size_t n_cached;
	struct sym_frame *frames; /* cached frames (pc not set) */
	size_t n_frames, frames_cap;

	struct strpool strings;
	struct sym_stats stats;
};

/* ---- strings --------------------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char) p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int strpool_grow(struct strpool *p)
{
	size_t cap = p->cap ? p->cap * 2 : 1024;
	char **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < p->cap; i++) {
		char *str = p->slots[i];
		size_t j;

		if (!str)
			continue;
		j = hash_bytes(str, strlen(str)) & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = str;
	}
	free(p->slots);
	p->slots = slots;
	p->cap = cap;
	return 0;
}

static void strpool_done(struct strpool *p)
{
	for (size_t i = 0; i < p->cap; i++)
		free(p->slots[i]);
	free(p->slots);
	*p = (struct strpool){0};
}

/* The interned copy of the first len bytes of str (cut to SYM_STRING_MAX - 1), or NULL when str
 * is NULL, out of memory or over the pool's cap. */
static const char *intern_len(struct symbolizer *s, const char *str, size_t len)
{
	struct strpool *p = &s->strings;
	uint64_t h;
	size_t j;
	char *copy;

	if (!str)
		return NULL;
	if (len >= SYM_STRING_MAX) {
		len = SYM_STRING_MAX - 1;
		s->stats.strings_truncated++;
	}
	if ((p->n + 1) * 2 > p->cap && strpool_grow(p) < 0)
		return NULL;
	h = hash_bytes(str, len);
	for (j = h & (p->cap - 1); p->slots[j]; j = (j + 1) & (p->cap - 1)) {
		if (strncmp(p->slots[j], str, len) == 0 && p->slots[j][len] == '\0')
			return p->slots[j];
	}
	if (p->bytes + len + 1 > SYM_STRINGS_BYTES_MAX) {
		s->stats.strings_dropped++;
		return NULL;
	}
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, str, len);
	copy[len] = '\0';
	p->slots[j] = copy;
	p->n++;
	p->bytes += len + 1;
	return copy;
}

static const char *intern(struct symbolizer *s, const char *str)
{
	return str ? intern_len(s, str, strnlen(str, SYM_STRING_MAX)) : NULL;
}

/* Intern a symbol name, demangled when it is a C++ (Itanium ABI) one. */
static const char *intern_symbol(struct symbolizer *s, const char *name)
{
	_cleanup_free_ char *demangled = NULL;
	int status = -1;

	if (!name)
		return NULL;
	if (name[0] == '_' && name[1] == 'Z' && strnlen(name, SYM_STRING_MAX) < SYM_STRING_MAX) {
		demangled = __cxa_demangle(name, NULL, NULL, &status);
		if (status == 0 && demangled)
			return intern(s, demangled);
	}
	return intern(s, name);
}

/* ---- the cache ------------------------------------------------------------------------------- */

static uint64_t hash_pc(uint64_t pc, bool is_return_address)
{
	uint64_t h = (pc ^ (is_return_address ? 0x9e3779b97f4a7c15ULL : 0)) * 0xff51afd7ed558ccdULL;

	return h ^ (h >> 32);
}

static struct cache_slot *cache_find(struct symbolizer *s, uint64_t pc, bool is_return_address)
{
	if (s->slots_cap == 0)
		return NULL;
	for (size_t j = hash_pc(pc, is_return_address) & (s->slots_cap - 1); s->slots[j].is_used;
	     j = (j + 1) & (s->slots_cap - 1)) {
		if (s->slots[j].pc == pc && s->slots[j].is_return_address == is_return_address)
			return &s->slots[j];
	}
	return NULL;
}

static void cache_clear(struct symbolizer *s)
{
	free(s->slots);
	s->slots = NULL;
	s->slots_cap = 0;
	s->n_cached = 0;
	free(s->frames);
	s->frames = NULL;
	s->n_frames = s->frames_cap = 0;
}

static int cache_grow(struct symbolizer *s)
{
	size_t cap = s->slots_cap ? s->slots_cap * 2 : 4096;
	struct cache_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->slots_cap; i++) {
		struct cache_slot *old = &s->slots[i];
		size_t j;

		if (!old->is_used)
			continue;
		j = hash_pc(old->pc, old->is_return_address) & (cap - 1);
		while (slots[j].is_used)
			j = (j + 1) & (cap - 1);
		slots[j] = *old;
	}
	free(s->slots);
	s->slots = slots;
	s->slots_cap = cap;
	return 0;
}

/* Store frames[0..n-1] (n 0 for "in no module") for (pc, is_return_address), replacing an
 * existing entry. Counts and gives up when a cap is reached. */
static void cache_store(struct symbolizer *s, uint64_t pc, bool is_return_address,
			const struct sym_frame *frames, size_t n)
{
	struct cache_slot *slot = cache_find(s, pc, is_return_address);

	if (n > SYM_INLINE_MAX)
		n = SYM_INLINE_MAX;
	if (!slot && (s->n_cached >= SYM_CACHE_MAX || s->n_frames + n > SYM_CACHE_MAX)) {
		s->stats.cache_full++;
		return;
	}
	if (slot && n > slot->n && s->n_frames + n > SYM_CACHE_MAX) {
		s->stats.cache_full++;
		return;
	}
	if (s->n_frames + n > s->frames_cap) {
		size_t cap = s->frames_cap ? s->frames_cap * 2 : 1024;
		struct sym_frame *fr;

		while (cap < s->n_frames + n)
			cap *= 2;
		fr = realloc(s->frames, cap * sizeof(*fr));
		if (!fr)
			return;
		s->frames = fr;
		s->frames_cap = cap;
	}
	if (!slot) {
		if ((s->n_cached + 1) * 2 > s->slots_cap && cache_grow(s) < 0)
			return;
		size_t j = hash_pc(pc, is_return_address) & (s->slots_cap - 1);

		while (s->slots[j].is_used)
			j = (j + 1) & (s->slots_cap - 1);
		slot = &s->slots[j];
		slot->is_used = true;
		slot->pc = pc;
		slot->is_return_address = is_return_address;
		slot->n = 0;
		s->n_cached++;
	}
	if (n > slot->n) {
		slot->frame_idx = (uint32_t) s->n_frames;
		s->n_frames += n;
	}
	if (n > 0)
		memcpy(&s->frames[slot->frame_idx], frames, n * sizeof(*frames));
	slot->n = (uint8_t) n;
	slot->gen = s->gen;
	slot->is_pending = false;
}

/* ---- modules --------------------------------------------------------------------------------- */

/* Give libdwfl no way to find a file by itself: every module is reported with its file open. */
static int find_elf_none(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			 char **file_name, Elf **elfp)
{
	(void) mod;
	(void) userdata;
	(void) modname;
	(void) base;
	(void) file_name;
	*elfp = NULL;
	return -1;
}

/* Read all of /proc/PID/maps. Returns 0 with a NUL-terminated malloc'd text, or -errno. */
static int read_maps(struct symbolizer *s, char **ret_text)
{
	char path[64];
	_cleanup_close_ int dfd = -1;
	ssize_t n;

	if (s->access.read_maps) {
		int r = s->access.read_maps(s->access.ctx, ret_text);

		if (r == -EFBIG)
			s->stats.modules_dropped++;
		return r;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int) s->pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	n = procfs_read_at(dfd, "maps", ret_text);
	if (n == -EFBIG)
		s->stats.modules_dropped++;
	return n < 0 ? (int) n : 0;
}

/* Where the file offset of an executable mapping says the ELF file was loaded: the image
 * module's rule (hooks_load_bias_exec), the one the hooks are placed by. */
static int elf_load_bias(int fd, uint64_t map_start, uint64_t map_offset, bool *ret_is_exec_type,
			 uint64_t *ret_bias)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Phdr *phdrs = NULL;
	GElf_Ehdr ehdr;
	size_t phnum, n = 0;
	int r = -ENOEXEC;

	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    elf_getphdrnum(elf, &phnum) != 0 || (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN))
		goto out;
	phnum = phnum < SYM_PHDRS_MAX ? phnum : SYM_PHDRS_MAX;
	phdrs = calloc(phnum ? phnum : 1, sizeof(*phdrs));
	if (!phdrs) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < phnum; i++)
		if (gelf_getphdr(elf, (int) i, &phdrs[n]))
			n++;
	r = hooks_load_bias_exec(phdrs, n, map_start, map_offset, ret_bias);
	if (r == 0)
		*ret_is_exec_type = ehdr.e_type == ET_EXEC;
out:
	free(phdrs);
	elf_end(elf);
	return r;
}


/* Open the file of module m as it is mapped (see image.h); m->is_deleted is set when it was
 * opened through its mapping. Returns an fd, or -errno. */
static int open_module_file(struct symbolizer *s, struct module *m)
{
	struct image_ref ref = {.pid = s->pid, .path = m->path, .path_len = strlen(m->path),
				.start = m->exec_start, .end = m->exec_end, .inode = m->inode,
				.dev = m->dev, .is_deleted = m->is_deleted};
	bool is_mapping = false;
	int fd = s->access.open_mapped ? s->access.open_mapped(s->access.ctx, &ref, &is_mapping)
				       : image_open_mapped(&ref, &is_mapping);

	if (fd >= 0 && is_mapping)
		m->is_deleted = true;
	return fd;
}

/* Report module m, whose file is open on *fd as name, to libdwfl (between dwfl_report_begin or
 * _begin_add and dwfl_report_end). On success libdwfl owns the descriptor (*fd becomes -1) and
 * m->dwmod is set; otherwise m->dwmod stays NULL. */
static void report_module_fd(struct symbolizer *s, struct module *m, const char *name, int *fd)
{
	bool is_exec_type = false;
	uint64_t bias = 0;

	m->dwmod = NULL;
	if (!s->dwfl || elf_load_bias(*fd, m->exec_start, m->exec_offset, &is_exec_type, &bias) < 0)
		return;
	/* ET_DYN: bias is where p_vaddr 0 lies (add_p_vaddr); ET_EXEC ignores it. */
	m->dwmod = dwfl_report_elf(s->dwfl, m->path, name, *fd, bias, true);
	if (m->dwmod)
		*fd = -1; /* consumed by libdwfl */
}

static void shared_image_unref(struct shared_image *img)
{
	if (!img || --img->refs > 0)
		return;
	for (struct shared_image **p = &shared_images; *p; p = &(*p)->next)
		if (*p == img) {
			*p = img->next;
			break;
		}
	if (img->dwfl)
		dwfl_end(img->dwfl);
	image_debug_done(&img->dbg);
	free(img);
}

/* Release the shared images of modules mods[0..n-1] that are not marked in kept (NULL: all). */
static void modules_release(struct module *mods, size_t n, const bool *kept)
{
	for (size_t i = 0; i < n; i++)
		if (!kept || !kept[i])
			shared_image_unref(mods[i].img);
}

/* The shared image of the file open on fd as mapped by module m: an existing one (fd closed) or
 * a new one (fd consumed by libdwfl). NULL when the file is not usable. */
static struct shared_image *shared_image_get(struct symbolizer *s, struct module *m, int *fd)
{
	struct shared_image *img;
	bool is_exec_type = false;
	uint64_t bias = 0;
	struct stat st;
	int r;

	if (fstat(*fd, &st) < 0)
		return NULL;
	for (img = shared_images; img; img = img->next) {
		if (img->dev == st.st_dev && img->ino == st.st_ino && img->size == st.st_size &&
		    img->mtime.tv_sec == st.st_mtim.tv_sec &&
		    img->mtime.tv_nsec == st.st_mtim.tv_nsec &&
		    img->exec_offset == m->exec_offset &&
		    img->exec_start - img->lo == m->exec_start - m->lo &&
		    img->exec_end - img->exec_start == m->exec_end - m->exec_start &&
		    image_debug_same_search(&img->dbg, &s->dbg)) {
			img->refs++;
			s->stats.images_shared++;
			return img;
		}
	}
	if (elf_load_bias(*fd, m->exec_start, m->exec_offset, &is_exec_type, &bias) < 0)
		return NULL;
	img = calloc(1, sizeof(*img));
	if (!img)
		return NULL;
	r = s->access.open_debug ? image_debug_init_brokered(&img->dbg, s->pid,
							      s->access.is_own_root,
							      s->access.open_debug, s->access.ctx)
				 : image_debug_init(&img->dbg, s->pid);
	if (r == 0)
		r = image_debug_copy_dirs(&img->dbg, &s->dbg);
	img->dbg.fetch_fn = s->access.fetch_debug;
	img->dbg.is_own_root = s->dbg.is_own_root;
	img->callbacks = (Dwfl_Callbacks){.find_elf = find_elf_none,
					  .find_debuginfo = image_find_debuginfo};
	img->dwfl = r == 0 ? dwfl_begin(&img->callbacks) : NULL;
	if (img->dwfl) {
		dwfl_report_begin(img->dwfl);
		/* ET_DYN: bias is where p_vaddr 0 lies (add_p_vaddr); ET_EXEC ignores it. The name
		 * libdwfl keeps is the process's path, never one that opens anything. */
		img->dwmod = dwfl_report_elf(img->dwfl, m->path, m->path, *fd, bias, true);
		if (dwfl_report_end(img->dwfl, NULL, NULL) != 0)
			img->dwmod = NULL;
	}
	if (!img->dwmod) {
		if (img->dwfl)
			dwfl_end(img->dwfl);
		image_debug_done(&img->dbg);
		free(img);
		return NULL;
	}
	*fd = -1; /* consumed by libdwfl */
	image_dwfl_set_userdata(img->dwfl, &img->dbg);
	img->refs = 1;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	img->size = st.st_size;
	img->mtime = st.st_mtim;
	img->lo = m->lo;
	img->exec_start = m->exec_start;
	img->exec_end = m->exec_end;
	img->exec_offset = m->exec_offset;
	img->next = shared_images;
	shared_images = img;
	return img;
}

/* Open a new module and find or make its shared image; m->dwmod stays NULL when that is not
 * possible. */
static void report_new_module(struct symbolizer *s, struct module *m)
{
	_cleanup_close_ int fd = -1;

	m->dwmod = NULL;
	m->img = NULL;
	fd = open_module_file(s, m);
	if (fd < 0)
		return;
	m->img = shared_image_get(s, m, &fd);
	if (m->img) {
		m->dwmod = m->img->dwmod;
		m->delta = m->img->lo - m->lo;
	}
}

/* Whether the new module n describes the same mapping of the same file as old module o. */
static bool module_same(const struct module *o, const struct module *n)
{
	return o->map_path == n->map_path && o->inode == n->inode && o->dev == n->dev &&
	       o->lo == n->lo && o->hi == n->hi && o->exec_start == n->exec_start &&
	       o->exec_offset == n->exec_offset;
}

/* A run of consecutive mappings of one file, while the maps are parsed. */
struct run {
	struct module m;  /* map_path not set yet */
	const char *path; /* into the maps text */
	size_t path_len;
	bool has_exec;
};

/* Turn a finished run into a module when it is executable code of a file. Only these paths are
 * interned: the target names its anonymous mappings and memfds as it likes. */
static int add_run(struct symbolizer *s, struct module **mods, size_t *n, size_t *cap,
		   struct run *run)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof(deleted) - 1;
	struct module *m;

	if (!run->has_exec || !run->path || run->path[0] != '/')
		return 0;
	if (*n >= SYM_MODULES_MAX) {
		s->stats.modules_dropped++;
		return 0;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct module *nm = realloc(*mods, ncap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		*mods = nm;
		*cap = ncap;
	}
	m = &(*mods)[*n];
	*m = run->m;
	m->map_path = intern_len(s, run->path, run->path_len);
	if (!m->map_path)
		return 0; /* over the string cap: an unknown module */
	m->path = m->map_path;
	if (run->path_len > dlen && memcmp(run->path + run->path_len - dlen, deleted, dlen) == 0) {
		m->is_deleted = true;
		m->path = intern_len(s, run->path, run->path_len - dlen);
		if (!m->path)
			m->path = m->map_path;
	}
	(*n)++;
	return 0;
}

/* Parse the maps text into candidate modules (not yet opened), sorted by address. */
static int parse_modules(struct symbolizer *s, const char *text, struct module **ret_mods,
			 size_t *ret_n)
{
	_cleanup_free_ struct module *mods = NULL;
	size_t n = 0, cap = 0;
	const char *cursor = text;
	struct run run = {0};
	bool has_run = false;
	struct proc_map ml;

	while (procfs_maps_next_valid(&cursor, &ml) > 0) {
		dev_t dev;

		dev = makedev(ml.dev_major, ml.dev_minor);
		if (has_run && ml.path && run.path && ml.path_len == run.path_len &&
		    memcmp(ml.path, run.path, ml.path_len) == 0 && ml.inode == run.m.inode &&
		    dev == run.m.dev && ml.start >= run.m.hi) {
			run.m.hi = ml.end;
		} else {
			if (has_run && add_run(s, &mods, &n, &cap, &run) < 0)
				return -ENOMEM;
			run = (struct run){
			    .m = {.lo = ml.start, .hi = ml.end, .inode = ml.inode, .dev = dev},
			    .path = ml.path,
			    .path_len = ml.path_len};
			has_run = true;
		}
		if (ml.perms[2] == 'x' && !run.has_exec) {
			run.has_exec = true;
			run.m.exec_start = ml.start;
			run.m.exec_end = ml.end;
			run.m.exec_offset = ml.offset;
		}
	}
	if (has_run && add_run(s, &mods, &n, &cap, &run) < 0)
		return -ENOMEM;
	*ret_mods = steal_ptr(&mods);
	*ret_n = n;
	return 0;
}

/* (Re)read the maps and bring the module table and libdwfl up to date. Modules that did not change
 * keep their libdwfl state; when one went away the cache is dropped (its addresses may be reused).
 * When the maps cannot be read the known modules are kept (a target that exited still symbolizes).
 * Returns 0 or -errno. */
static int load_modules(struct symbolizer *s)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct module *mods = NULL;
	_cleanup_free_ bool *old_kept = NULL;
	size_t n = 0, kept = 0;
	int r;

	s->last_read_ns = now_ns();
	s->stats.maps_reads++;
	r = read_maps(s, &text);
	if (r < 0)
		return r;
	r = parse_modules(s, text, &mods, &n);
	if (r < 0)
		return r;
	old_kept = calloc(s->n_modules + 1, sizeof(*old_kept));
	if (!old_kept)
		return -ENOMEM;

	/* every module from the maps lives in a shared image, not in s->dwfl */
	for (size_t i = 0; i < n; i++) {
		struct module *m = &mods[i];
		struct module *old = NULL;

		for (size_t j = 0; j < s->n_modules && !old; j++) {
			if (!old_kept[j] && module_same(&s->modules[j], m)) {
				old = &s->modules[j];
				old_kept[j] = true;
			}
		}
		if (old) {
			*m = *old; /* its image reference moves over */
			kept++;
			continue;
		}
		report_new_module(s, m);
	}
	modules_release(s->modules, s->n_modules, old_kept);

	if (kept != s->n_modules || kept != n) {
		s->gen++;
		s->stats.module_changes++;
	}
	if (kept != s->n_modules) {
		cache_clear(s);
		s->stats.cache_drops++;
	}
	free(s->modules);
	s->modules = steal_ptr(&mods);
	s->n_modules = n;
	return 0;
}

static struct module *find_module(struct symbolizer *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n_modules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct module *m = &s->modules[mid];

		if (addr < m->lo)
			hi = mid;
		else if (addr >= m->hi)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

static const char *module_build_id(struct symbolizer *s, struct module *m)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *bits;
	GElf_Addr vaddr;
	Dwarf_Addr bias;
	char buf[SYM_BUILD_ID_MAX * 2 + 1];
	int len;

	if (m->has_build_id_read || !m->dwmod)
		return m->build_id;
	m->has_build_id_read = true;
	(void) dwfl_module_getelf(m->dwmod, &bias);
	len = dwfl_module_build_id(m->dwmod, &bits, &vaddr);
	if (len <= 0)
		return NULL;
	if (len > SYM_BUILD_ID_MAX)
		len = SYM_BUILD_ID_MAX;
	for (int i = 0; i < len; i++) {
		buf[2 * i] = hex[bits[i] >> 4];
		buf[2 * i + 1] = hex[bits[i] & 0xf];
	}
	buf[2 * len] = '\0';
	m->build_id = intern_len(s, buf, 2 * (size_t) len);
	return m->build_id;
}

/* ---- DWARF ----------------------------------------------------------------------------------- */

static bool is_function_tag(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

/* The linkage name of a function DIE (following abstract_origin and specification), or NULL. */
static const char *die_linkage_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	return name;
}

/* The interned name of a function DIE, or NULL: a C++ linkage name demangled (qualified, with
 * template arguments), else the plain name (a C linkage name is only an asm label, e.g. glibc's
 * __GI___libc_malloc for __libc_malloc), else whatever linkage name there is. */
static const char *die_function_name(struct symbolizer *s, Dwarf_Die *die)
{
	const char *linkage = die_linkage_name(die);
	const char *name;

	if (linkage && linkage[0] == '_' && linkage[1] == 'Z')
		return intern_symbol(s, linkage);
	name = dwarf_diename(die);
	return intern_symbol(s, name ? name : linkage);
}

/* The call site of an inlined_subroutine DIE: file and line in its own CU. */
static void die_call_site(struct symbolizer *s, Dwarf_Die *die, struct sym_frame *f)
{
	Dwarf_Attribute attr;
	Dwarf_Word file_idx, line;
	Dwarf_Die cu_mem, *cu = dwarf_diecu(die, &cu_mem, NULL, NULL);
	Dwarf_Files *files;
	size_t nfiles;

	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &line) == 0 &&
	    line <= INT32_MAX)
		f->line = (int) line;
	if (cu && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &file_idx) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && file_idx < nfiles)
		f->file = intern(s, dwarf_filesrc(files, file_idx, NULL, NULL));
}

/* The child of parent whose address ranges contain addr (looking through DW_TAG_imported_unit
 * into partial units, as dwz makes them), into *ret. Every DIE looked at costs one of *budget. */
static bool child_containing(Dwarf_Die *parent, Dwarf_Addr addr, unsigned *budget, int nest,
			     Dwarf_Die *ret)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child) != 0)
		return false;
	do {
		if (*budget == 0)
			return false;
		(*budget)--;
		if (dwarf_tag(&child) == DW_TAG_imported_unit) {
			Dwarf_Attribute attr;
			Dwarf_Die unit;

			if (nest < SYM_IMPORT_NEST_MAX &&
			    dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attr), &unit) &&
			    child_containing(&unit, addr, budget, nest + 1, ret))
				return true;
			continue;
		}
		if (dwarf_haspc(&child, addr) == 1) {
			*ret = child;
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* The DIEs containing addr from the CU down: path[0] is the CU, each next one the child of the
 * previous that contains addr (as libdw's dwarf_getscopes finds them, outermost first). Returns
 * the depth (>= 1), bounded by max and SYM_SCOPE_DIES_MAX DIEs looked at.
 *
 * Not dwarf_getscopes(): when corrupt DWARF makes it fail after it found the innermost scope
 * (an abstract_origin that does not resolve, or resolves to no DIE of its CU's tree) it loses the
 * array it allocated (elfutils 0.188 of Debian 12, and upstream still): 32-64 bytes per lookup,
 * for ever. */
static size_t pc_scopes(Dwarf_Die *cudie, Dwarf_Addr addr, Dwarf_Die *path, size_t max)
{
	unsigned budget = SYM_SCOPE_DIES_MAX;
	size_t depth = 1;

	path[0] = *cudie;
	while (depth < max && child_containing(&path[depth - 1], addr, &budget, 0, &path[depth]))
		depth++;
	return depth;
}

/* Fill frames from the function-like DIE path[k] innermost at the pc outwards (path[0..k] its
 * scopes, from pc_scopes()), as eu-stack -i does: the first frame at the pc itself (file:line set
 * by the caller), each further one at the call site of the inlined instance inside it, up to and
 * including the real function (subprogram). Returns the number of frames (>= 1). */
static size_t inline_chain(struct symbolizer *s, Dwarf_Die *path, size_t k,
			   const struct sym_frame *tmpl, struct sym_frame *frames,
			   bool *ret_has_linkage_name)
{
	Dwarf_Die *last = &path[k];
	size_t n = 1;

	frames[0] = *tmpl;
	frames[0].function = die_function_name(s, last);
	frames[0].is_inlined = dwarf_tag(last) == DW_TAG_inlined_subroutine;
	*ret_has_linkage_name = die_linkage_name(last) != NULL;
	if (!frames[0].is_inlined)
		return 1;
	for (size_t i = k; i-- > 0 && n < SYM_INLINE_MAX;) {
		Dwarf_Die *scope = &path[i];
		int tag = dwarf_tag(scope);

		if (!is_function_tag(tag))
			continue;
		frames[n] = *tmpl;
		frames[n].function = die_function_name(s, scope);
		frames[n].is_inlined = tag == DW_TAG_inlined_subroutine;
		die_call_site(s, last, &frames[n]);
		*ret_has_linkage_name = die_linkage_name(scope) != NULL;
		n++;
		if (!frames[n - 1].is_inlined)
			break;
		last = scope;
	}
	return n;
}

/* Symbolize addr (the pc, minus one for a return address) inside module m. */
static size_t symbolize_in_module(struct symbolizer *s, struct module *m, uint64_t addr,
				  struct sym_frame *frames)
{
	struct sym_frame tmpl = {.module = m->path,
				 .build_id = module_build_id(s, m),
				 .is_module_deleted = m->is_deleted};
	Dwarf_Addr bias = 0;
	Dwarf *dw;
	Dwarf_Die *cudie;
	Dwfl_Line *line;
	const char *sym;
	GElf_Off sym_off;
	GElf_Sym sym_mem;
	bool has_linkage_name = false;
	size_t n = 0;

	struct image_debug *dbg = m->img ? &m->img->dbg : &s->dbg;

	if (!m->dwmod) {
		frames[0] = tmpl;
		return 1;
	}
	addr += m->delta; /* the address in the shared image's layout */
	/* a shared image finds its debug files through the symbolizer that asks now (in the
	 * helper: the broker context of a process leakmond still knows) */
	if (m->img && s->access.open_debug)
		dbg->open_ctx = s->access.ctx;
	/* DIEs only from DWARF whose alternate file (if any) was found safely */
	dw = dwfl_module_getdwarf(m->dwmod, &bias);
	cudie = dw && image_set_alt(dbg, dw) ? dwfl_module_addrdie(m->dwmod, addr, &bias) : NULL;
	if (cudie) {
		Dwarf_Die path[SYM_SCOPE_DEPTH_MAX];
		size_t depth = pc_scopes(cudie, addr - bias, path, SYM_SCOPE_DEPTH_MAX);

		for (size_t k = depth; k-- > 0;) {
			if (is_function_tag(dwarf_tag(&path[k]))) {
				n = inline_chain(s, path, k, &tmpl, frames, &has_linkage_name);
				break;
			}
		}
	}
	if (n == 0) {
		frames[0] = tmpl;
		n = 1;
	}
	line = dwfl_module_getsrc(m->dwmod, addr);
	if (line) {
		int lineno = 0;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		frames[0].file = intern(s, file);
		frames[0].line = file && lineno > 0 ? lineno : 0;
	}

	/* The real function: the symbol table knows it when DWARF does not, and has the mangled
	 * (qualified) name of a C++ function whose DIE carries only a plain name. */
	sym = dwfl_module_addrinfo(m->dwmod, addr, &sym_off, &sym_mem, NULL, NULL, NULL);
	if (sym && !frames[n - 1].is_inlined &&
	    (!frames[n - 1].function || (sym[0] == '_' && sym[1] == 'Z' && !has_linkage_name)))
		frames[n - 1].function = intern_symbol(s, sym);
	return n;
}

/* ---- the symbolizer -------------------------------------------------------------------------- */

/* A symbolizer whose lookups are requests to the helper process (symsvc.h). If the helper cannot
 * take it now, it is asked again at the next lookup. */
static void remote_deliver(void *owner, uint64_t pc, bool is_return_address,
			   const struct sym_frame *frames, int n, const uint64_t *drops);

/* (Re)open the symbolizer of s in the helper when it has none of this generation. */
static int remote_open(struct symbolizer *s)
{
	int r;

	if (s->svc_gen != 0 && s->svc_gen == symsvc_generation())
		return 0;
	if (now_ns() < s->reopen_after_ns)
		return -EAGAIN; /* the last one could not be made: not at every lookup */
	if (s->sid)
		symsvc_close(s->sid, s->svc_gen); /* its answers on their way go nowhere */
	s->sid = 0;
	s->svc_gen = 0;
	s->svc_drops = s->svc_changes = 0;
	r = symsvc_open(s->pid, remote_deliver, s, &s->sid, &s->svc_gen);
	if (r < 0)
		s->reopen_after_ns = now_ns() + SYM_REREAD_NS;
	return r;
}

static struct symbolizer *remote_new(pid_t pid)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->is_remote = true;
	s->dbg.root_fd = s->dbg.own_root_fd = -1;
	(void) remote_open(s);
	return s;
}

/* An answer of the helper for (pc, is_return_address): into the cache, strings interned here. */
static void remote_deliver(void *owner, uint64_t pc, bool is_return_address,
			   const struct sym_frame *frames, int n, const uint64_t *drops)
{
	struct symbolizer *s = owner;
	struct sym_frame own[SYM_INLINE_MAX];
	struct cache_slot *slot;

	if (n > 0 && drops) {
		if (drops[0] != s->svc_drops) {
			/* the helper dropped its results (a module went away): ours go too */
			cache_clear(s);
			s->stats.cache_drops++;
		}
		if (drops[0] != s->svc_drops || drops[1] != s->svc_changes)
			s->gen++; /* its modules changed: cached unknown pcs are asked again */
		s->svc_drops = drops[0];
		s->svc_changes = drops[1];
	}
	if (n > 0) {
		size_t k = (size_t) n < SYM_INLINE_MAX ? (size_t) n : SYM_INLINE_MAX;

		for (size_t i = 0; i < k; i++) {
			own[i] = frames[i];
			own[i].module = intern(s, frames[i].module);
			own[i].build_id = intern(s, frames[i].build_id);
			own[i].function = intern(s, frames[i].function);
			own[i].file = intern(s, frames[i].file);
		}
		if (!own[0].module) {
			/* in no module the helper knows: asked again when the maps may have
			 * changed (a read at most every SYM_REREAD_NS) */
			s->last_read_ns = now_ns();
			k = 0;
		}
		cache_store(s, pc, is_return_address, own, k);
	} else if (n == -EAGAIN || n == -ENOENT) {
		slot = cache_find(s, pc, is_return_address);
		if (slot && slot->is_pending) {
			slot->is_pending = false;
			slot->n = 0;
			slot->gen = s->gen - 1; /* stale: asked again at the next lookup */
		}
		if (n == -ENOENT) {
			/* the helper could not make this symbolizer: open it again, later */
			s->svc_gen = 0;
			s->reopen_after_ns = now_ns() + SYM_REREAD_NS;
		}
	} else {
		/* the helper failed on this pc twice in a row: given up, known as unknown */
		own[0] = (struct sym_frame){.pc = pc};
		cache_store(s, pc, is_return_address, own, 1);
	}
}

/* A pending frame for pc. */
static int pending_frame(uint64_t pc, struct sym_frame *ret_frames)
{
	ret_frames[0] = (struct sym_frame){.pc = pc, .is_pending = true};
	return 1;
}

/* symbolizer_lookup() of a symbolizer in the helper: from the cache, else asked (and, when
 * lookups are synchronous, waited for). */
static int remote_lookup(struct symbolizer *s, uint64_t pc, bool is_return_address,
			 struct sym_frame *ret_frames, size_t max)
{
	struct cache_slot *slot = cache_find(s, pc, is_return_address);
	size_t n;
	int r;

	s->stats.lookups++;
	if (!slot || (!slot->is_pending && slot->n == 0 &&
		      (slot->gen != s->gen || now_ns() - s->last_read_ns >= SYM_REREAD_NS))) {
		if (!slot && s->n_cached >= SYM_CACHE_MAX) {
			s->stats.cache_full++; /* an answer could not be kept: not asked */
			ret_frames[0] = (struct sym_frame){.pc = pc};
			return 1;
		}
		r = remote_open(s);
		if (r == 0)
			r = symsvc_request(s->sid, s->svc_gen, pc, is_return_address);
		if (r == -ESTALE && remote_open(s) == 0)
			r = symsvc_request(s->sid, s->svc_gen, pc, is_return_address);
		if (r == -ENOTCONN || r == -EPERM) {
			/* no helper for a while, or this process is refused: unknown, not pending
			 * (an alert must not wait for names that will not come) */
			ret_frames[0] = (struct sym_frame){.pc = pc};
			return 1;
		}
		if (r < 0)
			return pending_frame(pc, ret_frames); /* asked again next time */
		cache_store(s, pc, is_return_address, NULL, 0);
		slot = cache_find(s, pc, is_return_address);
		if (!slot) { /* the cache is full: its answer could not be kept */
			ret_frames[0] = (struct sym_frame){.pc = pc};
			return 1;
		}
		slot->is_pending = true;
		if (!symsvc_is_async())
			(void) symsvc_flush(2 * SYMSVC_BUDGET_MS);
		slot = cache_find(s, pc, is_return_address);
	} else {
		s->stats.cache_hits++;
	}
	if (!slot || slot->is_pending) {
		s->stats.pending++;
		return pending_frame(pc, ret_frames);
	}
	if (slot->n == 0) {
		ret_frames[0] = (struct sym_frame){.pc = pc};
		return 1;
	}
	n = slot->n < max ? slot->n : max;
	for (size_t i = 0; i < n; i++) {
		ret_frames[i] = s->frames[slot->frame_idx + i];
		ret_frames[i].pc = pc;
	}
	return (int) n;
}

struct symbolizer *symbolizer_new(pid_t pid)
{
	struct symbolizer *s;

	if (pid > 0 && symsvc_is_running())
		return remote_new(pid);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pid = pid;
	(void) elf_version(EV_CURRENT);
	if (image_debug_init(&s->dbg, pid) < 0) {
		image_debug_done(&s->dbg);
		free(s);
		return NULL;
	}
	s->callbacks = (Dwfl_Callbacks){.find_elf = find_elf_none,
					.find_debuginfo = image_find_debuginfo};
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl)
		return symbolizer_free(s);
	if (pid > 0 && load_modules(s) == -ENOMEM)
		return symbolizer_free(s);
	return s;
}

struct symbolizer *symbolizer_new_brokered(pid_t pid, const struct sym_access *a)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s || !a || pid <= 0) {
		free(s);
		return NULL;
	}
	s->pid = pid;
	s->access = *a;
	(void) elf_version(EV_CURRENT);
	if (image_debug_init_brokered(&s->dbg, pid, a->is_own_root, a->open_debug, a->ctx) < 0) {
		image_debug_done(&s->dbg);
		free(s);
		return NULL;
	}
	s->dbg.fetch_fn = a->fetch_debug;
	s->callbacks = (Dwfl_Callbacks){.find_elf = find_elf_none,
					.find_debuginfo = image_find_debuginfo};
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl || load_modules(s) == -ENOMEM)
		return symbolizer_free(s);
	return s;
}

struct symbolizer *symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return NULL;
	if (s->is_remote)
		symsvc_close(s->sid, s->svc_gen);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	modules_release(s->modules, s->n_modules, NULL);
	free(s->modules);
	cache_clear(s);
	strpool_done(&s->strings);
	image_debug_done(&s->dbg);
	free(s);
	return NULL;
}

void symbolizer_reset(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->is_remote) {
		cache_clear(s);
		s->gen++;
		s->stats.cache_drops++;
		if (symsvc_reset(s->sid, s->svc_gen) < 0)
			s->svc_gen = 0; /* opened again at the next lookup */
		else if (!symsvc_is_async())
			(void) symsvc_flush(2 * SYMSVC_BUDGET_MS);
		return;
	}
	if (s->dwfl)
		dwfl_end(s->dwfl);
	s->dwfl = dwfl_begin(&s->callbacks);
	modules_release(s->modules, s->n_modules, NULL);
	free(s->modules);
	s->modules = NULL;
	s->n_modules = 0;
	cache_clear(s);
	s->gen++;
	if (s->pid > 0)
		(void) load_modules(s);
}

/* Symbolize without the cache. *ret_is_known says whether the pc was in a known module. */
static size_t resolve(struct symbolizer *s, uint64_t pc, bool is_return_address, bool may_reread,
		      struct sym_frame *frames, bool *ret_is_known)
{
	uint64_t addr = is_return_address && pc > 0 ? pc - 1 : pc;
	struct module *m;

	m = find_module(s, addr);

	if (!m && may_reread && s->pid > 0 && load_modules(s) == 0)
		m = find_module(s, addr);
	*ret_is_known = m != NULL;
	if (!m) {
		frames[0] = (struct sym_frame){0};
		return 1;
	}
	return symbolize_in_module(s, m, addr, frames);
}

void symbolizer_set_python(struct symbolizer *s, const struct pyframes *pf)
{
	if (s)
		s->py = pf;
}

int symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool is_return_address,
		      struct sym_frame *ret_frames, size_t max)
{
	struct sym_frame frames[SYM_INLINE_MAX];
	const struct sym_frame *src = frames;
	struct cache_slot *slot;
	bool is_known = false;
	size_t n;

	if (!s || !ret_frames || max == 0)
		return -EINVAL;
	if (pyframes_is_python(pc)) {
		const char *function = NULL, *file = NULL;
		int line = 0;

		ret_frames[0] = (struct sym_frame){ .pc = pc, .is_python = true };
		if (pyframes_lookup(s->py, pc, &function, &file, &line) == 0) {
			ret_frames[0].function = function;
			ret_frames[0].file = file;
			ret_frames[0].line = line > 0 ? line : 0;
		}
		s->stats.lookups++;
		return 1;
	}
	if (s->is_remote)
		return remote_lookup(s, pc, is_return_address, ret_frames, max);
	slot = cache_find(s, pc, is_return_address);
	if (slot &&
	    (slot->n > 0 || (slot->gen == s->gen && now_ns() - s->last_read_ns < SYM_REREAD_NS))) {
		s->stats.cache_hits++;
		if (slot->n > 0) {
			src = &s->frames[slot->frame_idx];
			n = slot->n;
		} else {
			frames[0] = (struct sym_frame){0};
			n = 1;
		}
	} else {
		/* A cached unknown pc only re-reads the maps when they were not read lately. */
		bool may_reread = !slot || now_ns() - s->last_read_ns >= SYM_REREAD_NS;

		n = resolve(s, pc, is_return_address, may_reread, frames, &is_known);
		cache_store(s, pc, is_return_address, frames, is_known ? n : 0);
	}
	s->stats.lookups++;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		ret_frames[i] = src[i];
		ret_frames[i].pc = pc;
	}
	return (int) n;
}

int symbolizer_add_module(struct symbolizer *s, const char *path, int fd, uint64_t start,
			  uint64_t end, uint64_t exec_start, uint64_t exec_end,
			  uint64_t exec_offset)
{
	_cleanup_close_ int own_fd = -1;
	struct module m = {.lo = start,
			   .hi = end,
			   .exec_start = exec_start,
			   .exec_end = exec_end,
			   .exec_offset = exec_offset};
	struct module *mods;
	size_t at = 0;

	if (!s || s->pid > 0 || !path || path[0] != '/' || fd < 0 || start >= end ||
	    exec_start < start || exec_end > end || exec_start >= exec_end)
		return -EINVAL;
	for (size_t i = 0; i < s->n_modules; i++) {
		if (s->modules[i].lo < end && start < s->modules[i].hi)
			return -EINVAL;
		if (s->modules[i].lo < start)
			at = i + 1;
	}
	if (s->n_modules >= SYM_MODULES_MAX) {
		s->stats.modules_dropped++;
		return -ENOSPC;
	}
	m.map_path = m.path = intern(s, path);
	if (!m.path)
		return -ENOMEM;
	own_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (own_fd < 0)
		return -errno;
	mods = realloc(s->modules, (s->n_modules + 1) * sizeof(*mods));
	if (!mods)
		return -ENOMEM;
	s->modules = mods;
	if (s->dwfl)
		dwfl_report_begin_add(s->dwfl);
	report_module_fd(s, &m, path, &own_fd);
	if (s->dwfl && dwfl_report_end(s->dwfl, NULL, NULL) != 0)
		m.dwmod = NULL;
	if (!m.dwmod)
		return -ENOEXEC;
	memmove(&s->modules[at + 1], &s->modules[at], (s->n_modules - at) * sizeof(*mods));
	s->modules[at] = m;
	s->n_modules++;
	s->gen++; /* cached "in no module" results are stale */
	return 0;
}

void symbolizer_get_stats(const struct symbolizer *s, struct sym_stats *ret)
{
	if (!s) {
		*ret = (struct sym_stats){0};
		return;
	}
	*ret = s->stats;
	if (s->is_remote) {
		struct sym_stats r;

		if (symsvc_stats(s->sid, s->svc_gen, &r) == 0) {
			ret->maps_reads = r.maps_reads;
			ret->modules_dropped += r.modules_dropped;
			ret->modules = r.modules;
			ret->modules_deleted = r.modules_deleted;
			ret->images_shared = r.images_shared;
		}
		return;
	}
	ret->modules = (unsigned) s->n_modules;
	ret->modules_deleted = 0;
	for (size_t i = 0; i < s->n_modules; i++)
		ret->modules_deleted += s->modules[i].is_deleted;
}
