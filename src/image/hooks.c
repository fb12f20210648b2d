/* hooks.c - find the allocator definitions a process's dynamic linker binds. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/hooks.h"
#include "image/image.h"
#include "base/procfs.h"
#include "base/util.h"

#define MAPS_MAX (64 * 1024 * 1024)
#define AUXV_MAX (64 * 1024)
#define OBJECTS_MAX 4096		      /* distinct file-backed objects in maps */
#define PHDRS_MAX 128			      /* program headers per ELF file */
#define SECTION_MAX (512ULL << 20)	      /* bytes of one symbol or string table */
#define DYNAMIC_MAX (64 * 1024)		      /* bytes of PT_DYNAMIC read from the target */
#define LINK_MAP_MAX 4096		      /* link_map entries walked */
#define PAGE_SIZE_MIN 4096ULL		      /* x86-64: int3 breakpoints, 4 KiB pages */
#define DELETED_SUFFIX " (deleted)"

#ifndef VERSYM_HIDDEN
#define VERSYM_HIDDEN 0x8000 /* .gnu.version: not the default version (name@VER) */
#endif

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#else
#define HOST_MACHINE EM_NONE
#endif

/* One mapped instance of a file, from /proc/PID/maps. */
struct object {
	const char *path; /* borrowed from the maps text, without " (deleted)"; not terminated */
	size_t path_len;
	bool is_deleted;
	uint64_t inode;
	dev_t dev;
	uint64_t first_start, first_end; /* its lowest mapping (a name in map_files/) */
	uint64_t span_start, span_end;			/* all its mappings */
	uint64_t text_start, text_end;			/* its r-x mappings; equal when none */
	uint64_t text_offset;				/* file offset of its first r-x mapping */
	bool is_listed;					/* already in the search order */
	bool in_link_map;
	uint64_t l_addr; /* the dynamic linker's bias, when in_link_map */
	int module;	 /* index in hook_set.modules, or -1 */
};

struct resolver {
	pid_t pid;
	int dfd;    /* /proc/PID */
	int mem_fd; /* /proc/PID/mem, opened on first use */
	struct object *objs;
	size_t n_objs;
	size_t *order;
	size_t n_order;
};

/* An opened ELF file of the target. */
struct elf_file {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	GElf_Phdr phdrs[PHDRS_MAX];
	size_t n_phdrs;
	bool has_interp;
	int dynamic; /* index of PT_DYNAMIC in phdrs, or -1 */
};

enum alloc_fn hooks_canonical(const struct hook_set *set, enum alloc_fn fn)
{
	if ((unsigned)fn >= ALLOC_FN_MAX || set->addr[fn] == 0)
		return fn;
	for (int i = 0; i < (int)fn; i++)
		if (set->addr[i] == set->addr[fn])
			return (enum alloc_fn)i;
	return fn;
}

/* The bias from the PT_LOAD headers (with all of flags, if any) whose file range holds map_offset;
 * -ENOTUNIQ when two of them hold it and disagree. */
static int load_bias(const GElf_Phdr *phdrs, size_t n, uint64_t map_start, uint64_t map_offset,
		     uint32_t flags, uint64_t *ret_bias)
{
	uint64_t found = 0;
	int r = -ENOENT;

	for (size_t i = 0; i < n; i++) {
		const GElf_Phdr *p = &phdrs[i];
		uint64_t lo, hi, vaddr, bias;

		if (p->p_type != PT_LOAD || p->p_filesz == 0 || (p->p_flags & flags) != flags)
			continue;
		lo = p->p_offset & ~(PAGE_SIZE_MIN - 1);
		if (__builtin_add_overflow(p->p_offset, p->p_filesz, &hi))
			return -EBADMSG;
		if (map_offset < lo || map_offset >= hi)
			continue;
		/* the address of file byte map_offset: p_vaddr + (map_offset - p_offset) */
		if (map_offset >= p->p_offset) {
			if (__builtin_add_overflow(p->p_vaddr, map_offset - p->p_offset, &vaddr))
				return -EBADMSG;
		} else {
			if (p->p_vaddr < p->p_offset - map_offset)
				return -EBADMSG;
			vaddr = p->p_vaddr - (p->p_offset - map_offset);
		}
		/* modular, like the kernel's own arithmetic */
		bias = map_start - vaddr;
		if (bias % PAGE_SIZE_MIN != 0)
			return -EBADMSG;
		if (r == 0 && bias != found)
			return -ENOTUNIQ;
		found = bias;
		r = 0;
	}
	if (r == 0)
		*ret_bias = found;
	return r;
}

int hooks_load_bias(const GElf_Phdr *phdrs, size_t n, uint64_t map_start, uint64_t map_offset,
		    uint64_t *ret_bias)
{
	return load_bias(phdrs, n, map_start, map_offset, 0, ret_bias);
}

int hooks_load_bias_exec(const GElf_Phdr *phdrs, size_t n, uint64_t map_start,
			 uint64_t map_offset, uint64_t *ret_bias)
{
	return load_bias(phdrs, n, map_start, map_offset, PF_X, ret_bias);
}

/* A failed read of /proc/PID/x: the process is gone when /proc/PID no longer has it. */
static int gone_or(int r)
{
	return r == -ENOENT ? -ESRCH : r;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Group the file-backed mappings of maps text into objects, in order of first appearance. A new
 * instance starts when the file changes or a mapping at file offset 0 follows (the same file
 * loaded twice, e.g. by dlmopen). */
static int parse_objects(const char *maps, struct resolver *rs)
{
	const char *cursor = maps;
	struct proc_map m;
	struct object *cur = NULL;
	size_t cap = 0;
	int r;

	while ((r = procfs_maps_next(&cursor, &m)) > 0) {
		size_t len = m.path_len;
		bool is_deleted = false;

		if (!m.path || m.inode == 0 || m.path[0] != '/')
			continue;
		if (has_suffix(m.path, len, DELETED_SUFFIX)) {
			len -= strlen(DELETED_SUFFIX);
			is_deleted = true;
		}
		if (!cur || cur->inode != m.inode || cur->path_len != len ||
		    memcmp(cur->path, m.path, len) != 0 || m.offset == 0) {
			if (rs->n_objs == OBJECTS_MAX) {
				cur = NULL;
				continue;
			}
			if (rs->n_objs == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct object *no = realloc(rs->objs, ncap * sizeof(*no));

				if (!no)
					return -ENOMEM;
				rs->objs = no;
				cap = ncap;
			}
			cur = &rs->objs[rs->n_objs++];
			memset(cur, 0, sizeof(*cur));
			cur->path = m.path;
			cur->path_len = len;
			cur->is_deleted = is_deleted;
			cur->inode = m.inode;
			cur->dev = makedev(m.dev_major, m.dev_minor);
			cur->first_start = cur->span_start = m.start;
			cur->first_end = m.end;
			cur->module = -1;
		}
		cur->span_end = m.end;
		if (m.perms[2] == 'x') {
			if (cur->text_start == cur->text_end) {
				cur->text_start = m.start;
				cur->text_offset = m.offset;
			}
			cur->text_end = m.end;
		}
	}
	return r;
}

static struct object *object_containing(struct resolver *rs, uint64_t addr)
{
	for (size_t i = 0; i < rs->n_objs; i++)
		if (addr >= rs->objs[i].span_start && addr < rs->objs[i].span_end)
			return &rs->objs[i];
	return NULL;
}

static void order_append(struct resolver *rs, struct object *o)
{
	if (o->is_listed)
		return;
	o->is_listed = true;
	rs->order[rs->n_order++] = (size_t)(o - rs->objs);
}

/* The executable: the object whose executable mapping holds AT_ENTRY from /proc/PID/auxv. */
static int find_exe(struct resolver *rs, struct object **ret)
{
	_cleanup_free_ char *auxv = NULL;
	ssize_t n = procfs_read_at(rs->dfd, "auxv", &auxv);
	Elf64_auxv_t a;

	if (n < 0)
		return gone_or((int)n);
	for (ssize_t off = 0; off + (ssize_t)sizeof(a) <= n; off += (ssize_t)sizeof(a)) {
		memcpy(&a, auxv + off, sizeof(a));
		if (a.a_type == AT_NULL)
			break;
		if (a.a_type != AT_ENTRY)
			continue;
		for (size_t i = 0; i < rs->n_objs; i++) {
			struct object *o = &rs->objs[i];

			if (a.a_un.a_val >= o->text_start && a.a_un.a_val < o->text_end) {
				*ret = o;
				return 0;
			}
		}
		return -ENOEXEC;
	}
	/* no auxv (a zombie or a kernel thread) */
	return -ESRCH;
}

static int read_mem(struct resolver *rs, uint64_t addr, void *buf, size_t len)
{
	ssize_t n;

	if (rs->mem_fd < 0) {
		rs->mem_fd = openat(rs->dfd, "mem", O_RDONLY | O_CLOEXEC);
		if (rs->mem_fd < 0)
			return gone_or(-errno);
	}
	if (addr > (uint64_t)INT64_MAX)
		return -EFAULT;
	n = pread(rs->mem_fd, buf, len, (off_t)addr);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

static void elf_file_done(struct elf_file *f)
{
	if (f->elf)
		(void)elf_end(f->elf);
	f->elf = NULL;
	if (f->fd >= 0)
		(void)close(f->fd);
	f->fd = -1;
}

/* Open the file behind object o as it is mapped (see image.h: inside the process's root, never a
 * FIFO or device, the mapped file itself or its mapping). */
static int object_open(struct resolver *rs, const struct object *o)
{
	struct image_ref ref = {.pid = rs->pid, .path = o->path, .path_len = o->path_len,
				.start = o->first_start, .end = o->first_end, .inode = o->inode,
				.dev = o->dev, .is_deleted = o->is_deleted};

	return image_open_mapped(&ref, NULL);
}

/* Open and check the ELF file of object o (64-bit, our machine, ET_EXEC or ET_DYN) and read its
 * program headers. Returns 0, -ENOEXEC if it is not such an ELF file, other -errno. */
static int elf_file_open(struct resolver *rs, const struct object *o, struct elf_file *f)
{
	size_t n;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->dynamic = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	f->fd = object_open(rs, o);
	if (f->fd < 0)
		return gone_or(f->fd);
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || gelf_getclass(f->elf) != ELFCLASS64 ||
	    !gelf_getehdr(f->elf, &f->ehdr) || f->ehdr.e_machine != HOST_MACHINE ||
	    (f->ehdr.e_type != ET_EXEC && f->ehdr.e_type != ET_DYN))
		return -ENOEXEC;
	if (elf_getphdrnum(f->elf, &n) != 0 || n == 0 || n > PHDRS_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(f->elf, (int)i, &f->phdrs[i]))
			return -EBADMSG;
		if (f->phdrs[i].p_type == PT_INTERP)
			f->has_interp = true;
		else if (f->phdrs[i].p_type == PT_DYNAMIC && f->dynamic < 0)
			f->dynamic = (int)i;
	}
	f->n_phdrs = n;
	return 0;
}

/* Whether addr, a byte of an r-x mapping of the module, lies inside one of its executable
 * segments (page-rounded) at this bias. */
static bool in_exec_segment(const struct elf_file *f, uint64_t bias, uint64_t addr)
{
	for (size_t i = 0; i < f->n_phdrs; i++) {
		const GElf_Phdr *p = &f->phdrs[i];
		uint64_t lo, hi;

		if (p->p_type != PT_LOAD || !(p->p_flags & PF_X))
			continue;
		if (__builtin_add_overflow(p->p_vaddr, p->p_memsz, &hi) ||
		    __builtin_add_overflow(hi, PAGE_SIZE_MIN - 1, &hi))
			continue;
		lo = (p->p_vaddr & ~(PAGE_SIZE_MIN - 1)) + bias;
		hi = (hi & ~(PAGE_SIZE_MIN - 1)) + bias;
		if (addr >= lo && addr < hi)
			return true;
	}
	return false;
}

/* Whether the span of the module's r-x mappings begins and ends inside its executable segments at
 * this bias: a check that the bias is right. */
static bool text_fits(const struct elf_file *f, uint64_t bias, uint64_t start, uint64_t end)
{
	return in_exec_segment(f, bias, start) && in_exec_segment(f, bias, end - 1);
}

/* The order from the dynamic linker: exe's PT_DYNAMIC -> DT_DEBUG -> r_debug -> link_map list.
 * Returns 1 when the order was taken from it, 0 when there is none yet (no PT_DYNAMIC, DT_DEBUG
 * absent or 0, empty list), -errno when reading the target failed. */
static int link_map_order(struct resolver *rs, const struct elf_file *exe, uint64_t exe_bias)
{
	_cleanup_free_ Elf64_Dyn *dyn = NULL;
	const GElf_Phdr *pd;
	struct r_debug rd;
	uint64_t debug = 0, addr;
	size_t size, n_found = 0;
	int r;

	if (exe->dynamic < 0)
		return 0;
	pd = &exe->phdrs[exe->dynamic];
	size = pd->p_memsz < DYNAMIC_MAX ? (size_t)pd->p_memsz : DYNAMIC_MAX;
	size -= size % sizeof(*dyn);
	if (size == 0)
		return 0;
	dyn = malloc(size);
	if (!dyn)
		return -ENOMEM;
	r = read_mem(rs, exe_bias + pd->p_vaddr, dyn, size);
	if (r < 0)
		return r;
	for (size_t i = 0; i < size / sizeof(*dyn) && dyn[i].d_tag != DT_NULL; i++)
		if (dyn[i].d_tag == DT_DEBUG)
			debug = dyn[i].d_un.d_ptr;
	if (debug == 0)
		return 0;
	r = read_mem(rs, debug, &rd, sizeof(rd));
	if (r < 0)
		return r;
	if (rd.r_version < 1)
		return 0;
	addr = (uint64_t)(uintptr_t)rd.r_map;
	for (size_t i = 0; addr && i < LINK_MAP_MAX; i++) {
		/* the public head of struct link_map: l_addr, l_name, l_ld, l_next, l_prev */
		uint64_t lm[5];
		struct object *o;

		r = read_mem(rs, addr, lm, sizeof(lm));
		if (r < 0)
			return r;
		o = object_containing(rs, lm[2]);
		if (o && !o->is_listed) {
			o->in_link_map = true;
			o->l_addr = lm[0];
			order_append(rs, o);
			n_found++;
		}
		addr = lm[3];
	}
	return n_found > 0 ? 1 : 0;
}

/* Whether symbol s can be the definition of a hook. In .dynsym: an exported (global or weak,
 * default or protected visibility) function. In the .symtab of a static executable everything is
 * one module, so hidden and local definitions count too (static glibc makes malloc hidden, and
 * static-pie turns that into local); *ret_is_local says it is only the weaker kind. */
static bool sym_is_candidate(const GElf_Sym *s, bool is_dynsym, bool *ret_is_local)
{
	int bind = GELF_ST_BIND(s->st_info), type = GELF_ST_TYPE(s->st_info);
	int vis = GELF_ST_VISIBILITY(s->st_other);

	*ret_is_local = bind == STB_LOCAL;
	if (s->st_shndx == SHN_UNDEF || s->st_shndx == SHN_ABS || s->st_shndx == SHN_COMMON ||
	    s->st_value == 0)
		return false;
	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return false;
	if (is_dynsym)
		return (bind == STB_GLOBAL || bind == STB_WEAK) &&
		       (vis == STV_DEFAULT || vis == STV_PROTECTED);
	return bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_LOCAL;
}

/* Look the hooks not yet in has[] up in the symbol table of type sh_type (SHT_DYNSYM: only the
 * default version of a versioned symbol, per .gnu.version; SHT_SYMTAB: a global or weak definition
 * before a local one). Returns 0 or -EBADMSG. */
static int find_syms(Elf *elf, GElf_Word sh_type, GElf_Sym found[ALLOC_FN_MAX],
		     bool has[ALLOC_FN_MAX])
{
	Elf_Scn *scn = NULL, *sym_scn = NULL, *ver_scn = NULL;
	Elf_Data *data, *ver_data = NULL;
	GElf_Shdr sh, str_sh;
	GElf_Sym local[ALLOC_FN_MAX];
	bool has_local[ALLOC_FN_MAX] = { false }, is_local_ambiguous[ALLOC_FN_MAX] = { false };
	size_t shnum, ent, count;

	if (elf_getshdrnum(elf, &shnum) != 0)
		return -EBADMSG;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -EBADMSG;
		if (sh.sh_type == sh_type && !sym_scn)
			sym_scn = scn;
	}
	if (!sym_scn)
		return 0;
	if (!gelf_getshdr(sym_scn, &sh) || sh.sh_size > SECTION_MAX || sh.sh_link == 0 ||
	    sh.sh_link >= shnum)
		return -EBADMSG;
	{
		Elf_Scn *str = elf_getscn(elf, sh.sh_link);

		if (!str || !gelf_getshdr(str, &str_sh) || str_sh.sh_type != SHT_STRTAB ||
		    str_sh.sh_size > SECTION_MAX)
			return -EBADMSG;
	}
	if (sh_type == SHT_DYNSYM) {
		size_t sym_ndx = elf_ndxscn(sym_scn);
		GElf_Shdr vs;

		while ((scn = elf_nextscn(elf, scn))) {
			if (gelf_getshdr(scn, &vs) && vs.sh_type == SHT_GNU_versym &&
			    vs.sh_link == sym_ndx) {
				ver_scn = scn;
				break;
			}
		}
		if (ver_scn) {
			if (vs.sh_size > SECTION_MAX)
				return -EBADMSG;
			ver_data = elf_getdata(ver_scn, NULL);
			if (!ver_data)
				return -EBADMSG;
		}
	}
	data = elf_getdata(sym_scn, NULL);
	ent = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!data || ent == 0)
		return -EBADMSG;
	count = data->d_size / ent;

	for (size_t i = 1; i < count; i++) {
		GElf_Sym s;
		const char *name;
		bool is_local;
		int fn;

		if (!gelf_getsym(data, (int)i, &s) || s.st_name == 0)
			continue;
		if (!sym_is_candidate(&s, sh_type == SHT_DYNSYM, &is_local))
			continue;
		name = elf_strptr(elf, sh.sh_link, s.st_name);
		if (!name)
			continue;
		for (fn = 0; fn < ALLOC_FN_MAX; fn++)
			if (!has[fn] && strcmp(name, alloc_fn_name(fn)) == 0)
				break;
		if (fn == ALLOC_FN_MAX)
			continue;
		if (ver_data) {
			GElf_Versym v;

			/* 0 is local, the hidden bit marks a non-default version (name@VER) */
			if (!gelf_getversym(ver_data, (int)i, &v) || v == VER_NDX_LOCAL ||
			    (v & VERSYM_HIDDEN))
				continue;
		}
		if (is_local) {
			/* two different local functions of that name: cannot tell which */
			if (has_local[fn] && local[fn].st_value != s.st_value)
				is_local_ambiguous[fn] = true;
			local[fn] = s;
			has_local[fn] = true;
			continue;
		}
		found[fn] = s;
		has[fn] = true;
	}
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		if (!has[fn] && has_local[fn] && !is_local_ambiguous[fn]) {
			found[fn] = local[fn];
			has[fn] = true;
		}
	}
	return 0;
}

int hooks_elf_symbols(Elf *elf, bool is_static_exe, struct hook_sym ret[ALLOC_FN_MAX])
{
	GElf_Sym found[ALLOC_FN_MAX];
	bool has[ALLOC_FN_MAX] = { false };
	int r, n = 0;

	memset(ret, 0, sizeof(*ret) * ALLOC_FN_MAX);
	if (elf_kind(elf) != ELF_K_ELF)
		return -EBADMSG;
	/* a static executable defines the allocator in .symtab; .dynsym is what the linker binds */
	if (is_static_exe) {
		r = find_syms(elf, SHT_SYMTAB, found, has);
		if (r < 0)
			return r;
	}
	r = find_syms(elf, SHT_DYNSYM, found, has);
	if (r < 0)
		return r;
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		if (!has[fn])
			continue;
		ret[fn].is_found = true;
		ret[fn].value = found[fn].st_value;
		ret[fn].size = found[fn].st_size;
		ret[fn].is_ifunc = GELF_ST_TYPE(found[fn].st_info) == STT_GNU_IFUNC;
		n++;
	}
	return n;
}

static const char *const py_names[HOOK_PY_MAX] = {
	[HOOK_PY_GET_ALLOCATOR] = "PyMem_GetAllocator",
	[HOOK_PY_SET_ALLOCATOR] = "PyMem_SetAllocator",
	[HOOK_PY_RUNTIME] = "_PyRuntime",
	[HOOK_PY_EVAL_FRAME] = "_PyEval_EvalFrameDefault",
	[HOOK_PY_VERSION] = "Py_Version",
};

/* CPython's symbols in the exported (.dynsym) symbols of elf: defined, global or weak, default
 * visibility, any type. Returns how many were found. */
static int find_py_syms(Elf *elf, GElf_Sym found[HOOK_PY_MAX], bool has[HOOK_PY_MAX])
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int n = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		size_t ent, count;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || sh.sh_size > SECTION_MAX)
			continue;
		data = elf_getdata(scn, NULL);
		ent = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
		if (!data || ent == 0)
			return 0;
		count = data->d_size / ent;
		for (size_t i = 1; i < count; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_name == 0 ||
			    sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE ||
			    (GELF_ST_BIND(sym.st_info) != STB_GLOBAL &&
			     GELF_ST_BIND(sym.st_info) != STB_WEAK))
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || (name[0] != 'P' && name[0] != '_'))
				continue;
			for (int k = 0; k < HOOK_PY_MAX; k++) {
				if (!has[k] && strcmp(name, py_names[k]) == 0) {
					found[k] = sym;
					has[k] = true;
					n++;
				}
			}
		}
		break;
	}
	return n;
}

/* The GNU build-id of elf as hex, or "" (buf holds at least 41 bytes). */
static void elf_build_id(Elf *elf, char *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	buf[0] = '\0';
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || sh.sh_size > SECTION_MAX)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0 &&
			    nh.n_descsz > 0 && nh.n_descsz <= 20 && nh.n_descsz * 2 < len) {
				const uint8_t *d = (const uint8_t *)data->d_buf + desc_off;

				for (size_t i = 0; i < nh.n_descsz; i++)
					snprintf(buf + 2 * i, 3, "%02x", d[i]);
				return;
			}
		}
	}
}

/* Take the hooks object o defines and that are still undecided. Returns 0, -ENOEXEC if o is not
 * an ELF file we read, other -errno. */
static int object_resolve(struct resolver *rs, struct object *o, bool is_exe,
			  bool decided[ALLOC_FN_MAX], struct hook_set *ret)
{
	struct hook_sym syms[ALLOC_FN_MAX];
	struct elf_file f;
	uint64_t bias;
	int r;

	r = elf_file_open(rs, o, &f);
	if (r < 0)
		goto out;
	r = hooks_load_bias_exec(f.phdrs, f.n_phdrs, o->text_start, o->text_offset, &bias);
	if (r < 0 || !text_fits(&f, bias, o->text_start, o->text_end) ||
	    (o->in_link_map && o->l_addr != bias)) {
		r = -EBADMSG;
		goto out;
	}

	r = hooks_elf_symbols(f.elf, is_exe && !f.has_interp, syms);
	if (r < 0)
		goto out;
	if (ret->py_module < 0) {
		GElf_Sym py[HOOK_PY_MAX];
		bool has_py[HOOK_PY_MAX] = { false };

		if (find_py_syms(f.elf, py, has_py) > 0 && has_py[HOOK_PY_GET_ALLOCATOR] &&
		    has_py[HOOK_PY_SET_ALLOCATOR] && has_py[HOOK_PY_RUNTIME] &&
		    ret->n_modules < HOOKS_MODULES_MAX) {
			struct hook_module *hm = &ret->modules[ret->n_modules];

			/* an interpreter: the executable, or libpython */
			for (int k = 0; k < HOOK_PY_MAX; k++) {
				if (!has_py[k])
					continue;
				ret->py_addr[k] = bias + py[k].st_value;
				ret->py_size[k] = py[k].st_size;
			}
			snprintf(hm->path, sizeof(hm->path), "%.*s", (int)o->path_len, o->path);
			hm->is_deleted = o->is_deleted;
			hm->bias = bias;
			hm->text_start = o->text_start;
			hm->text_end = o->text_end;
			elf_build_id(f.elf, ret->py_build_id, sizeof(ret->py_build_id));
			o->module = (int)ret->n_modules++;
			ret->py_module = o->module;
		}
	}

	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		uint64_t addr;

		if (decided[fn] || !syms[fn].is_found)
			continue;
		decided[fn] = true;
		if (syms[fn].is_ifunc) {
			ret->ifunc_mask |= 1U << fn;
			continue;
		}
		addr = bias + syms[fn].value;
		if (addr < o->text_start || addr >= o->text_end) {
			r = -EBADMSG;
			goto out;
		}
		if (o->module < 0) {
			struct hook_module *hm;

			if (ret->n_modules == HOOKS_MODULES_MAX) {
				ret->n_over_cap++;
				continue;
			}
			o->module = (int)ret->n_modules++;
			hm = &ret->modules[o->module];
			snprintf(hm->path, sizeof(hm->path), "%.*s", (int)o->path_len, o->path);
			hm->is_deleted = o->is_deleted;
			hm->bias = bias;
			hm->text_start = o->text_start;
			hm->text_end = o->text_end;
		}
		ret->addr[fn] = addr;
		/* the function's extent, bounded by its module's text (hostile sizes) */
		ret->size[fn] = syms[fn].size < o->text_end - addr ? syms[fn].size : o->text_end - addr;
		ret->module_of[fn] = o->module;
	}
	r = 0;
out:
	elf_file_done(&f);
	return r;
}

/* Whether the process behind /proc/PID has exited (or lost its memory: a zombie) meanwhile. */
static bool is_gone(int dfd)
{
	_cleanup_free_ char *stat = NULL;
	unsigned flags;
	char state;

	if (procfs_read_at(dfd, "stat", &stat) < 0 ||
	    procfs_parse_stat(stat, &state, &flags) < 0)
		return true;
	return state == 'Z' || state == 'X';
}

static void hook_set_reset(struct hook_set *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++)
		ret->module_of[fn] = -1;
	ret->py_module = -1;
}

static int resolve(struct resolver *rs, struct hook_set *ret)
{
	_cleanup_free_ char *maps = NULL;
	bool decided[ALLOC_FN_MAX] = { false };
	struct object *exe = NULL;
	struct elf_file f;
	uint64_t exe_bias;
	ssize_t n;
	int r;

	n = procfs_read_at(rs->dfd, "maps", &maps);
	if (n < 0)
		return gone_or((int)n);
	r = parse_objects(maps, rs);
	if (r < 0)
		return r;
	if (rs->n_objs == 0)
		return -ESRCH; /* no memory map: a zombie, or a kernel thread */
	rs->order = calloc(rs->n_objs, sizeof(*rs->order));
	if (!rs->order)
		return -ENOMEM;
	r = find_exe(rs, &exe);
	if (r < 0)
		return r;

	r = elf_file_open(rs, exe, &f);
	if (r == 0 && hooks_load_bias_exec(f.phdrs, f.n_phdrs, exe->text_start, exe->text_offset,
					   &exe_bias) < 0)
		r = -EBADMSG;
	if (r == 0)
		r = link_map_order(rs, &f, exe_bias);
	elf_file_done(&f);
	if (r < 0)
		return r;
	ret->has_link_map = r > 0;
	if (!ret->has_link_map) {
		/* fallback: the executable, then every file in order of first appearance */
		order_append(rs, exe);
		for (size_t i = 0; i < rs->n_objs; i++)
			order_append(rs, &rs->objs[i]);
	}

	for (size_t i = 0; i < rs->n_order; i++) {
		struct object *o = &rs->objs[rs->order[i]];
		bool is_all = true;

		for (int fn = 0; fn < ALLOC_FN_MAX; fn++)
			is_all = is_all && decided[fn];
		if (is_all)
			break;
		if (o->text_start == o->text_end)
			continue; /* no code mapped: a data file, or a module being loaded */
		r = object_resolve(rs, o, o == exe, decided, ret);
		/* in the fallback order, mapped files that are not ELF code are expected */
		if (r == -ENOEXEC && !ret->has_link_map && o != exe)
			continue;
		if (r < 0)
			return r;
	}
	return ret->addr[ALLOC_MALLOC] ? 0 : -ENOENT;
}

int hooks_resolve(pid_t pid, struct hook_set *ret)
{
	struct resolver rs = { .pid = pid, .dfd = -1, .mem_fd = -1 };
	char path[64];
	int r;

	hook_set_reset(ret);
	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	rs.dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rs.dfd < 0)
		return gone_or(-errno);

	r = resolve(&rs, ret);
	if (r < 0 && r != -ESRCH && r != -ENOENT && is_gone(rs.dfd))
		r = -ESRCH;

	free(rs.objs);
	free(rs.order);
	if (rs.mem_fd >= 0)
		(void)close(rs.mem_fd);
	(void)close(rs.dfd);
	if (r < 0 && r != -ENOENT)
		hook_set_reset(ret);
	return r;
}
