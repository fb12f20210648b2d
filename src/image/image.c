/* image.c - open the files of a traced process without letting it play path games with us. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zlib.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>

#include "image/debuginfod.h"
#include "image/image.h"
#include "base/procfs.h"
#include "base/util.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define DEBUG_DIRS_MAX 16	 /* our own debug directories searched at most */
#define BUILD_ID_MAX 64		 /* bytes of a build-id we look for */
#define ALTS_MAX 256		 /* alternate (dwz) debug files kept open per process */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Reopen an O_PATH descriptor of a regular file for reading. Opening by O_PATH first and
 * checking before the real open means a device is never opened (no side effect of its driver)
 * and a FIFO never waited on. */
static int reopen_checked(int path_fd, int flags, struct stat *ret_st)
{
	struct stat st;
	char name[64];
	int fd;

	if (fstat(path_fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if ((uint64_t)st.st_size > IMAGE_FILE_MAX)
		return -EFBIG;
	snprintf(name, sizeof(name), "/proc/self/fd/%d", path_fd);
	fd = open(name, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ret_st)
		*ret_st = st;
	return fd;
}

int image_open_in_root(int root_fd, const char *path, size_t len, struct stat *ret_st)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char name[IMAGE_PATH_MAX];
	_cleanup_close_ int path_fd = -1;

	if (len == 0 || path[0] != '/')
		return -EINVAL;
	if (len >= sizeof(name))
		return -ENAMETOOLONG;
	if (memchr(path, '\0', len))
		return -EINVAL;
	memcpy(name, path, len);
	name[len] = '\0';
	path_fd = (int)syscall(SYS_openat2, root_fd, name, &how, sizeof(how));
	if (path_fd < 0)
		return -errno;
	return reopen_checked(path_fd, O_RDONLY, ret_st);
}

static int open_proc_root(pid_t pid)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "/proc/%d/root", (int)pid);
	fd = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int image_open_mapping(pid_t pid, uint64_t start, uint64_t end, int flags, struct stat *ret_st)
{
	char name[96];
	_cleanup_close_ int path_fd = -1;

	snprintf(name, sizeof(name), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, start,
		 end);
	path_fd = open(name, O_PATH | O_CLOEXEC);
	if (path_fd < 0)
		return -errno;
	return reopen_checked(path_fd, flags, ret_st);
}

static int open_mapping(const struct image_ref *ref, struct stat *ret_st)
{
	return image_open_mapping(ref->pid, ref->start, ref->end, O_RDONLY, ret_st);
}

int image_open_mapped(const struct image_ref *ref, bool *ret_is_mapping)
{
	_cleanup_close_ int root = -1, own = -1, map_fd = -1, cand = -1;
	struct stat cand_st, map_st;
	int r = -ENOENT;

	if (ret_is_mapping)
		*ret_is_mapping = false;
	if (!ref->is_deleted && ref->path && ref->path_len > 0 && ref->path[0] == '/') {
		/* The maps show a path as the reader sees it: inside the process's root when that is
		 * out of our reach (another mount namespace), from our root when it is reachable (a
		 * chroot below ours). Both are tried; only the mapped file itself is accepted. */
		int roots[2];

		root = open_proc_root(ref->pid);
		own = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		roots[0] = root;
		roots[1] = own;
		for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
			struct stat st;
			_cleanup_close_ int fd = -1;

			if (roots[i] < 0)
				continue;
			fd = image_open_in_root(roots[i], ref->path, ref->path_len, &st);
			if (fd == -EFBIG)
				return fd;
			if (fd < 0) {
				if (r == -ENOENT)
					r = fd;
				continue;
			}
			if ((uint64_t)st.st_ino == ref->inode && st.st_dev == ref->dev)
				return steal_fd(&fd);
			r = -ESTALE;
			if (cand < 0 && (uint64_t)st.st_ino == ref->inode) {
				cand = steal_fd(&fd);
				cand_st = st;
			}
		}
		/* A device number that differs (overlayfs, btrfs subvolumes): the mapped file itself
		 * decides; when we may not open it (no CAP_SYS_ADMIN) the inode number alone does: a
		 * replaced file cannot have the inode of the old one, which stays allocated while it
		 * is mapped. */
		map_fd = open_mapping(ref, &map_st);
		if (cand >= 0 && (map_fd < 0 || same_file(&cand_st, &map_st)))
			return steal_fd(&cand);
	} else {
		map_fd = open_mapping(ref, &map_st);
	}
	if (map_fd < 0)
		return r == -ENOENT ? map_fd : r;
	if ((uint64_t)map_st.st_ino != ref->inode)
		return -ESTALE;
	if (ret_is_mapping)
		*ret_is_mapping = true;
	return steal_fd(&map_fd);
}

/* ---- debug files ----------------------------------------------------------------------------- */

/* The directories searched in our own root, from the environment. */
static int debug_dirs_init(struct image_debug *d)
{
	const char *env = getenv("LEAKMOND_DEBUGINFO_PATH");
	size_t n = 0;

	d->dirs = calloc(DEBUG_DIRS_MAX + 2, sizeof(*d->dirs));
	if (!d->dirs)
		return -ENOMEM;
	/* Entries of LEAKMOND_DEBUGINFO_PATH that are not absolute are ignored. */
	for (const char *p = env; p && *p && n < DEBUG_DIRS_MAX;) {
		size_t len = strcspn(p, ":");

		if (p[0] == '/' && len < IMAGE_PATH_MAX / 2) {
			d->dirs[n] = strndup(p, len);
			if (!d->dirs[n])
				return -ENOMEM;
			n++;
		}
		p += len + (p[len] == ':');
	}
	d->dirs[n] = strdup("/usr/lib/debug");
	if (!d->dirs[n])
		return -ENOMEM;
	return 0;
}

int image_debug_init(struct image_debug *d, pid_t pid)
{
	struct stat st_root, st_ours;
	char name[64];
	int r;

	memset(d, 0, sizeof(*d));
	d->pid = pid;
	d->root_fd = -1;
	d->own_root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->own_root_fd < 0)
		return -errno;
	r = debug_dirs_init(d);
	if (r < 0)
		return r;
	d->is_own_root = true;
	if (pid > 0) {
		d->root_fd = open_proc_root(pid);
		d->has_process_root = d->root_fd >= 0;
		snprintf(name, sizeof(name), "/proc/%d/root", (int)pid);
		if (stat(name, &st_root) == 0 && stat("/", &st_ours) == 0)
			d->is_own_root = same_file(&st_root, &st_ours);
	}
	return 0;
}

int image_debug_init_brokered(struct image_debug *d, pid_t pid, bool is_own_root,
			      int (*open_fn)(void *ctx, bool in_process_root, const char *path,
					     struct stat *ret_st),
			      void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->pid = pid;
	d->root_fd = d->own_root_fd = -1;
	d->is_own_root = is_own_root;
	d->has_process_root = pid > 0;
	d->open_fn = open_fn;
	d->open_ctx = ctx;
	return debug_dirs_init(d);
}

void image_debug_done(struct image_debug *d)
{
	if (d->dirs)
		for (size_t i = 0; d->dirs[i]; i++)
			free(d->dirs[i]);
	free(d->dirs);
	d->dirs = NULL;
	for (size_t i = 0; i < d->n_alts; i++) {
		dwarf_end(d->alts[i].dw);
		(void)close(d->alts[i].fd);
	}
	free(d->alts);
	d->alts = NULL;
	d->n_alts = 0;
	if (d->root_fd >= 0)
		(void)close(d->root_fd);
	if (d->own_root_fd >= 0)
		(void)close(d->own_root_fd);
	d->root_fd = d->own_root_fd = -1;
}

int image_debug_copy_dirs(struct image_debug *d, const struct image_debug *src)
{
	size_t n = 0;
	char **dirs;

	while (src->dirs && src->dirs[n])
		n++;
	dirs = calloc(n + 1, sizeof(*dirs));
	if (!dirs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		dirs[i] = strdup(src->dirs[i]);
		if (!dirs[i]) {
			while (i-- > 0)
				free(dirs[i]);
			free(dirs);
			return -ENOMEM;
		}
	}
	if (d->dirs)
		for (size_t i = 0; d->dirs[i]; i++)
			free(d->dirs[i]);
	free(d->dirs);
	d->dirs = dirs;
	return 0;
}

bool image_debug_same_search(const struct image_debug *a, const struct image_debug *b)
{
	size_t i = 0;

	if (a->is_own_root != b->is_own_root || !a->dirs || !b->dirs)
		return false;
	for (; a->dirs[i] && b->dirs[i]; i++)
		if (strcmp(a->dirs[i], b->dirs[i]) != 0)
			return false;
	return !a->dirs[i] && !b->dirs[i];
}

static int set_userdata(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

void image_dwfl_set_userdata(Dwfl *dwfl, struct image_debug *d)
{
	(void)dwfl_getmodules(dwfl, set_userdata, d, 0);
}

/* Whether the ELF file on fd carries build-id (len bytes); without one to compare (len 0),
 * whether the CRC-32 of the whole file is crc. */
static bool file_matches(int fd, const unsigned char *id, size_t len, GElf_Word crc)
{
	if (len > 0) {
		Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
		const void *got = NULL;
		ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &got) : -1;
		bool is_match = n == (ssize_t)len && memcmp(got, id, len) == 0;

		if (elf)
			elf_end(elf);
		return is_match;
	}
	uLong sum = crc32(0, Z_NULL, 0);
	unsigned char buf[65536];
	off_t off = 0;

	for (;;) {
		ssize_t r = pread(fd, buf, sizeof(buf), off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return false;
		if (r == 0)
			break;
		sum = crc32(sum, buf, (uInt)r);
		off += r;
	}
	return (GElf_Word)sum == crc;
}

/* Open candidate path inside root_fd and keep it if it is the module's debug file. */
static int try_candidate(struct image_debug *d, bool in_process_root, const char *path,
			 const unsigned char *id, size_t id_len, GElf_Word crc)
{
	int fd = d->open_fn ? d->open_fn(d->open_ctx, in_process_root, path, NULL)
			    : image_open_in_root(in_process_root ? d->root_fd : d->own_root_fd,
						 path, strlen(path), NULL);

	if (fd < 0)
		return fd;
	if (!file_matches(fd, id, id_len, crc)) {
		(void)close(fd);
		return -ENOENT;
	}
	return fd;
}

/* Hex of a build-id as ".build-id/xx/rest.debug" into buf. */
static void build_id_path(const unsigned char *id, size_t len, char *buf, size_t size)
{
	size_t k = (size_t)snprintf(buf, size, ".build-id/%02x/", id[0]);

	for (size_t i = 1; i < len && k + 3 < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%02x", id[i]);
	snprintf(buf + k, size - k, ".debug");
}

/* Look for the file of build-id (or, without one, of debuglink and crc) under our directories
 * and the process's /usr/lib/debug. Returns an fd, with *ret_name set (malloc'd) only for files
 * in our own root. */
static int find_by_id(struct image_debug *d, const unsigned char *id, size_t id_len,
		      char **ret_name)
{
	char rel[2 * BUILD_ID_MAX + 32], path[IMAGE_PATH_MAX];
	int fd;

	*ret_name = NULL;
	if (id_len == 0 || id_len > BUILD_ID_MAX)
		return -ENOENT;
	build_id_path(id, id_len, rel, sizeof(rel));
	for (size_t i = 0; d->dirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", d->dirs[i], rel);
		fd = try_candidate(d, false, path, id, id_len, 0);
		if (fd >= 0) {
			*ret_name = strdup(path);
			return fd;
		}
	}
	if (!d->is_own_root && d->has_process_root) {
		snprintf(path, sizeof(path), "/usr/lib/debug/%s", rel);
		fd = try_candidate(d, true, path, id, id_len, 0);
		if (fd >= 0)
			return fd;
	}
	return -ENOENT;
}

/* The debug file of a module with build-id bits (idn bytes, or none) on the local file systems. */
static int find_debuginfo_local(struct image_debug *d, const unsigned char *bits, size_t idn,
				const char *modname, const char *debuglink_file,
				GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	char path[IMAGE_PATH_MAX], dir[IMAGE_PATH_MAX];
	const char *slash;
	int fd;

	fd = find_by_id(d, bits, idn, debuginfo_file_name);
	if (fd >= 0)
		return fd;
	/* .gnu_debuglink: a plain file name, looked for beside the module as the process sees it */
	if (!debuglink_file || !debuglink_file[0] || strchr(debuglink_file, '/') ||
	    strcmp(debuglink_file, ".") == 0 || strcmp(debuglink_file, "..") == 0 || !modname ||
	    modname[0] != '/' || !(slash = strrchr(modname, '/')))
		return -1;
	if ((size_t)(slash - modname) >= sizeof(dir) / 2)
		return -1;
	memcpy(dir, modname, (size_t)(slash - modname));
	dir[slash - modname] = '\0';
	if (d->has_process_root) {
		const char *prefix[] = {"", "", "/usr/lib/debug"}, *sub[] = {"", "/.debug", ""};

		for (size_t i = 0; i < ARRAY_SIZE(prefix); i++) {
			if (snprintf(path, sizeof(path), "%s%s%s/%s", prefix[i], dir, sub[i],
				     debuglink_file) >= (int)sizeof(path))
				continue;
			fd = try_candidate(d, true, path, bits, idn, debuglink_crc);
			if (fd >= 0) {
				if (d->is_own_root)
					*debuginfo_file_name = strdup(path);
				return fd;
			}
		}
	}
	if (!d->is_own_root) {
		if (snprintf(path, sizeof(path), "/usr/lib/debug%s/%s", dir, debuglink_file) >=
		    (int)sizeof(path))
			return -1;
		fd = try_candidate(d, false, path, bits, idn, debuglink_crc);
		if (fd >= 0) {
			*debuginfo_file_name = strdup(path);
			return fd;
		}
	}
	return -1;
}

/* The debug file of build-id bits from a debuginfod server, when the user opted in: a regular
 * file that carries that build-id, given to libdwfl without a name. */
static int find_debuginfo_remote(struct image_debug *d, const unsigned char *bits, size_t idn)
{
	struct stat st;
	int fd;

	if (idn == 0)
		return -1;
	if (d->open_fn) /* brokered: leakmond asks the servers, we check the file */
		fd = d->fetch_fn ? d->fetch_fn(d->open_ctx, bits, idn) : -1;
	else
		fd = debuginfod_is_active() ? debuginfod_find_debuginfo(bits, idn) : -1;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > IMAGE_FILE_MAX ||
	    !file_matches(fd, bits, idn, 0)) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int image_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			 const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			 char **debuginfo_file_name)
{
	struct image_debug *d = userdata ? *userdata : NULL;
	const unsigned char *bits = NULL;
	GElf_Addr vaddr;
	int id_len = dwfl_module_build_id(mod, &bits, &vaddr);
	size_t idn = id_len > 0 ? (size_t)id_len : 0;
	int fd;

	(void)base;
	(void)file_name;
	*debuginfo_file_name = NULL;
	if (!d)
		return -1;
	fd = find_debuginfo_local(d, bits, idn, modname, debuglink_file, debuglink_crc,
				  debuginfo_file_name);
	if (fd < 0)
		fd = find_debuginfo_remote(d, bits, idn);
	return fd;
}

bool image_set_alt(struct image_debug *d, Dwarf *dw)
{
	const char *alt_name = NULL;
	const void *id = NULL;
	ssize_t n;
	char *name = NULL;
	int fd;
	Dwarf *alt;
	struct image_alt *alts;

	if (!d || !dw)
		return false;
	if (dwarf_getalt(dw) != NULL)
		return true;
	n = dwelf_dwarf_gnu_debugaltlink(dw, &alt_name, &id);
	if (n == 0)
		return true; /* no alternate file: nothing for libdw to look for */
	if (n < 0 || (size_t)n > BUILD_ID_MAX)
		return false;
	for (size_t i = 0; i < d->n_alts; i++) {
		if (d->alts[i].id_len == (size_t)n && memcmp(d->alts[i].id, id, (size_t)n) == 0) {
			dwarf_setalt(dw, d->alts[i].dw);
			return true;
		}
	}
	if (d->n_alts >= ALTS_MAX)
		return false;
	fd = find_by_id(d, id, (size_t)n, &name);
	free(name);
	if (fd < 0)
		return false;
	alts = realloc(d->alts, (d->n_alts + 1) * sizeof(*alts));
	if (!alts) {
		(void)close(fd);
		return false;
	}
	d->alts = alts;
	/* the descriptor stays open for as long as libdw may read the file: dwarf_end does not
	 * close it, image_debug_done does */
	alt = dwarf_begin(fd, DWARF_C_READ);
	if (!alt) {
		(void)close(fd);
		return false;
	}
	d->alts[d->n_alts] = (struct image_alt){.dw = alt, .fd = fd, .id_len = (size_t)n};
	memcpy(d->alts[d->n_alts].id, id, (size_t)n);
	d->n_alts++;
	dwarf_setalt(dw, alt);
	return true;
}

int image_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		   char **file_name, Elf **elfp)
{
	struct image_debug *d = userdata ? *userdata : NULL;
	_cleanup_free_ char *maps = NULL;
	_cleanup_close_ int dfd = -1;
	const char *cursor;
	struct proc_map m;
	char name[64];
	size_t len;
	int fd = -1;

	(void)mod;
	*file_name = NULL;
	*elfp = NULL;
	if (!d || d->pid <= 0 || !modname || modname[0] != '/')
		return -1;
	/* the mapping of this module's file that starts at (or holds) base, for its identity */
	snprintf(name, sizeof(name), "/proc/%d", (int)d->pid);
	dfd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || procfs_read_at(dfd, "maps", &maps) < 0)
		return -1;
	len = strlen(modname);
	cursor = maps;
	while (procfs_maps_next(&cursor, &m) > 0) {
		struct image_ref ref;
		bool is_deleted = false, is_mapping;

		if (!m.path || m.end <= base)
			continue;
		if (m.path_len == len + 10 && memcmp(m.path + len, " (deleted)", 10) == 0)
			is_deleted = true;
		else if (m.path_len != len)
			continue;
		if (memcmp(m.path, modname, len) != 0)
			continue;
		ref = (struct image_ref){.pid = d->pid, .path = m.path, .path_len = len,
					 .start = m.start, .end = m.end, .inode = m.inode,
					 .dev = makedev(m.dev_major, m.dev_minor),
					 .is_deleted = is_deleted};
		fd = image_open_mapped(&ref, &is_mapping);
		break;
	}
	if (fd < 0)
		return -1;
	/* no name: libdw must never look for files relative to a path of the process */
	return fd;
}
