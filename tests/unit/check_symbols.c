/* check_symbols.c - the symbolizer against live helper processes with known call chains.
 *
 * The helpers (tests/symtargets/) are found in the directory named by SYMTARGETS_DIR; without it
 * the test is skipped (exit 77). They were built with (S=tests/symtargets, D=that directory):
 *
 *   gcc -std=gnu11 -g -O0 -Wall -Wextra -fPIC -shared -o $D/libsymlib.so $S/symlib.c
 *   gcc -std=gnu11 -g -O0 -Wall -Wextra -fPIC -shared -o $D/libsymplug.so $S/symplug.c \
 *       -L$D -lsymlib -Wl,-rpath,'$ORIGIN'
 *   gcc -std=gnu11 -g -O2 -Wall -Wextra -c -o $D/symtarget_inl.o $S/symtarget_inl.c
 *   gcc -std=gnu11 -g -O0 -Wall -Wextra -o $D/symtarget $S/symtarget.c $D/symtarget_inl.o \
 *       -L$D -lsymlib -ldl -Wl,-rpath,'$ORIGIN'
 *   g++ -g -O0 -Wall -Wextra -o $D/symcxx $S/symcxx.cc -L$D -lsymlib -Wl,-rpath,'$ORIGIN'
 *
 * (never sanitized: they are the processes being symbolized; -O2 only for symtarget_inl.o.)
 * The stripped-binary test also runs objcopy and strip (binutils) from PATH.
 *
 * Standalone build:
 *   gcc -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -Isrc -g src/symbols.c tests/unit/check_symbols.c \
 *       $(pkg-config --cflags --libs check libdw libelf) -lstdc++
 *
 * Every test collects its failures while a helper runs, kills the helper by pid and reaps it (a
 * bounded wait), and only then asserts: a failing check never leaves a helper behind.
 */
#include "config.h"

#include <check.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack/symbols.h"
#include "stack/symsvc.h"

#define LINE_TIMEOUT_MS 10000
#define REAP_TIMEOUT_MS 5000
#define MAX_SITES	16

/* ---- failures collected while a helper runs ------------------------------------------------- */

struct errs {
	char msg[8192];
	size_t len;
	unsigned n;
};

__attribute__((format(printf, 4, 5))) static void errs_add(struct errs *e, const char *where,
							   int line, const char *fmt, ...)
{
	va_list ap;
	int r;

	e->n++;
	if (e->len >= sizeof(e->msg) - 1)
		return;
	r = snprintf(e->msg + e->len, sizeof(e->msg) - e->len, "\n  %s:%d: ", where, line);
	if (r > 0)
		e->len += (size_t) r;
	if (e->len >= sizeof(e->msg) - 1)
		return;
	va_start(ap, fmt);
	r = vsnprintf(e->msg + e->len, sizeof(e->msg) - e->len, fmt, ap);
	va_end(ap);
	if (r > 0)
		e->len += (size_t) r;
	if (e->len > sizeof(e->msg) - 1)
		e->len = sizeof(e->msg) - 1;
}

#define EXPECT(e, cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond))                                                                       \
			errs_add((e), __func__, __LINE__, "expected " #cond ": " __VA_ARGS__);     \
	} while (0)

static const char *str_or_null(const char *s)
{
	return s ? s : "(null)";
}

static const char *base_name(const char *path)
{
	const char *slash;

	if (!path)
		return NULL;
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* ---- helper processes ------------------------------------------------------------------------ */

struct site {
	char name[64];
	uint64_t pc;
	char file[128];
	int line;
	int outer_line;
};

struct child {
	pid_t pid;
	int to_fd;   /* the helper's stdin */
	int from_fd; /* the helper's stdout */
	char buf[4096];
	size_t len;
	struct site sites[MAX_SITES];
	size_t n_sites;
	uint64_t malloc_pc;
	uint64_t static_leaf_pc; /* the first instruction of static_leaf() */
};

static const char *targets_dir(void)
{
	return getenv("SYMTARGETS_DIR");
}

/* What a forked helper does before exec, e.g. enter a new mount namespace. */
typedef int (*pre_exec_fn)(void *arg);

/* Start path [arg] with pipes on stdin and stdout. Returns 0 or -errno. */
static int child_start(struct child *c, const char *path, const char *arg, pre_exec_fn pre,
		       void *pre_arg)
{
	int in[2], out[2];

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->to_fd = c->from_fd = -1;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0) {
		int r = -errno;

		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return r;
	}
	if (c->pid == 0) {
		char *const argv[] = {(char *) path, (char *) arg, NULL};

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		if (pre && pre(pre_arg) < 0)
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to_fd = in[1];
	c->from_fd = out[0];
	return 0;
}

/* Next line of the helper's output into line (without the newline). Returns 0 or -errno. */
static int child_read_line(struct child *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd pfd = {.fd = c->from_fd, .events = POLLIN};
		ssize_t r;

		if (nl) {
			size_t n = (size_t) (nl - c->buf);

			if (n >= size)
				return -E2BIG;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -E2BIG;
		r = poll(&pfd, 1, LINE_TIMEOUT_MS);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r < 0)
			continue;
		r = read(c->from_fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r == 0)
			return -EPIPE;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			c->len += (size_t) r;
	}
}

/* Read "site" and "addr" lines up to "ready". Returns 0 or -errno. */
static int child_read_sites(struct child *c, struct errs *e)
{
	char line[512];
	int r;

	while ((r = child_read_line(c, line, sizeof(line))) == 0) {
		struct site st = {0};

		if (strcmp(line, "ready") == 0)
			return 0;
		if (sscanf(line, "addr malloc %" SCNx64, &c->malloc_pc) == 1 ||
		    sscanf(line, "addr static_leaf %" SCNx64, &c->static_leaf_pc) == 1)
			continue;
		if (sscanf(line, "site %63s %" SCNx64 " %127s %d %d", st.name, &st.pc, st.file,
			   &st.line, &st.outer_line) == 5 &&
		    c->n_sites < MAX_SITES) {
			c->sites[c->n_sites++] = st;
			continue;
		}
		errs_add(e, __func__, __LINE__, "unexpected helper output '%s'", line);
	}
	errs_add(e, __func__, __LINE__, "reading the helper: %s", strerror(-r));
	return r;
}

/* The last site called name the helper printed. */
static const struct site *child_site(struct child *c, const char *name, struct errs *e)
{
	for (size_t i = c->n_sites; i-- > 0;) {
		if (strcmp(c->sites[i].name, name) == 0)
			return &c->sites[i];
	}
	errs_add(e, __func__, __LINE__, "the helper printed no site '%s'", name);
	return NULL;
}

/* Kill the helper by pid and reap it, waiting at most REAP_TIMEOUT_MS. */
static void child_stop(struct child *c)
{
	if (c->to_fd >= 0)
		close(c->to_fd);
	if (c->from_fd >= 0)
		close(c->from_fd);
	c->to_fd = c->from_fd = -1;
	if (c->pid > 0) {
		(void) kill(c->pid, SIGKILL);
		for (int waited = 0; waited < REAP_TIMEOUT_MS; waited += 10) {
			pid_t r = waitpid(c->pid, NULL, WNOHANG);

			if (r == c->pid || (r < 0 && errno != EINTR))
				break;
			usleep(10000);
		}
	}
	c->pid = -1;
}

/* Start a helper of SYMTARGETS_DIR (or a given path) and read its first sites. */
static int child_start_target(struct child *c, const char *path, struct errs *e)
{
	char plugin[PATH_MAX];
	int r;

	snprintf(plugin, sizeof(plugin), "%s/libsymplug.so", targets_dir());
	r = child_start(c, path, plugin, NULL, NULL);
	if (r < 0) {
		errs_add(e, __func__, __LINE__, "cannot start '%s': %s", path, strerror(-r));
		return r;
	}
	return child_read_sites(c, e);
}

/* Run a command to completion. Returns its exit status, or -errno. */
static int run_cmd(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			(void) dup2(devnull, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	for (int waited = 0; waited < 60000; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		if (r < 0 && errno != EINTR)
			return -errno;
		usleep(10000);
	}
	(void) kill(pid, SIGKILL);
	(void) waitpid(pid, NULL, 0);
	return -ETIMEDOUT;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;
	int r = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t) n) != n) {
			r = -EIO;
			break;
		}
	}
	if (n < 0)
		r = -errno;
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Copy name from SYMTARGETS_DIR into dir. */
static int copy_target(const char *name, const char *dir)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(from, sizeof(from), "%s/%s", targets_dir(), name);
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	return copy_file(from, to);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	(void) remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	(void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The GNU build-id of an ELF file as lower-case hex. Returns 0 or -1. */
static int file_build_id(const char *path, char *hex, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	const void *id;
	ssize_t len;

	if (fd < 0)
		return -1;
	(void) elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	len = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	if (len > 0 && (size_t) len * 2 < size) {
		for (ssize_t i = 0; i < len; i++)
			sprintf(hex + 2 * i, "%02x", ((const unsigned char *) id)[i]);
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return len > 0 && (size_t) len * 2 < size ? 0 : -1;
}

/* ---- checks ---------------------------------------------------------------------------------- */

/* Symbolize site st (a return address) and compare frames[0] with function, file and line;
 * module_base is the expected basename of the module (NULL: do not check). */
static int check_site(struct errs *e, struct symbolizer *s, const struct site *st,
		      const char *function, const char *module_base, bool expect_deleted,
		      struct sym_frame *frames)
{
	int n;

	if (!st)
		return 0;
	n = symbolizer_lookup(s, st->pc, true, frames, SYM_INLINE_MAX);
	EXPECT(e, n >= 1, "site %s: lookup returned %d", st->name, n);
	if (n < 1)
		return n;
	EXPECT(e, frames[0].pc == st->pc, "site %s: pc %#" PRIx64, st->name, frames[0].pc);
	EXPECT(e, str_eq(frames[0].function, function), "site %s: function '%s'", st->name,
	       str_or_null(frames[0].function));
	EXPECT(e, str_eq(base_name(frames[0].file), st->file), "site %s: file '%s', want '%s'",
	       st->name, str_or_null(frames[0].file), st->file);
	EXPECT(e, frames[0].line == st->line, "site %s: line %d, want %d", st->name, frames[0].line,
	       st->line);
	if (module_base)
		EXPECT(e, str_eq(base_name(frames[0].module), module_base),
		       "site %s: module '%s', want '%s'", st->name, str_or_null(frames[0].module),
		       module_base);
	EXPECT(e, frames[0].is_module_deleted == expect_deleted, "site %s: is_module_deleted %d",
	       st->name, frames[0].is_module_deleted);
	return n;
}

/* The plain (not inlined) sites of symtarget, one frame each. */
static void check_plain_sites(struct errs *e, struct symbolizer *s, struct child *c,
			      const char *exe_base, bool exe_deleted, bool lib_deleted)
{
	static const struct {
		const char *site, *function;
		bool is_lib;
	} cases[] = {
	    {"chain_b", "chain_b", false},
	    {"chain_a", "chain_a", false},
	    {"static_leaf", "static_leaf", false},
	    {"symlib_alloc", "symlib_alloc", true},
	};
	struct sym_frame frames[SYM_INLINE_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct site *st = child_site(c, cases[i].site, e);
		int n = check_site(e, s, st, cases[i].function,
				   cases[i].is_lib ? "libsymlib.so" : exe_base,
				   cases[i].is_lib ? lib_deleted : exe_deleted, frames);

		if (n < 1)
			continue;
		EXPECT(e, n == 1, "site %s: %d frames", st->name, n);
		EXPECT(e, !frames[0].is_inlined, "site %s: is_inlined", st->name);
		EXPECT(e, frames[0].build_id && strlen(frames[0].build_id) >= 16,
		       "site %s: build_id '%s'", st->name, str_or_null(frames[0].build_id));
	}
}

static void check_inline_site(struct errs *e, struct symbolizer *s, struct child *c)
{
	const struct site *st = child_site(c, "inline", e);
	struct sym_frame frames[SYM_INLINE_MAX];
	int n;

	n = check_site(e, s, st, "inl_helper", NULL, false, frames);
	if (n < 1)
		return;
	EXPECT(e, n == 2, "inline: %d frames", n);
	EXPECT(e, frames[0].is_inlined, "inline: frames[0] not marked inlined");
	if (n < 2)
		return;
	EXPECT(e, frames[1].pc == st->pc, "inline: frames[1].pc %#" PRIx64, frames[1].pc);
	EXPECT(e, str_eq(frames[1].function, "inl_outer"), "inline: frames[1] function '%s'",
	       str_or_null(frames[1].function));
	EXPECT(e, !frames[1].is_inlined, "inline: frames[1] marked inlined");
	EXPECT(e, str_eq(base_name(frames[1].file), "symtarget_inl.c"),
	       "inline: frames[1] file '%s'", str_or_null(frames[1].file));
	EXPECT(e, frames[1].line == st->outer_line, "inline: frames[1] line %d, want %d",
	       frames[1].line, st->outer_line);
	EXPECT(e, str_eq(frames[1].module, frames[0].module), "inline: modules differ");

	/* Room for one frame: the innermost. */
	memset(frames, 0, sizeof(frames));
	n = symbolizer_lookup(s, st->pc, true, frames, 1);
	EXPECT(e, n == 1, "inline with max 1: %d frames", n);
	EXPECT(e, str_eq(frames[0].function, "inl_helper") && frames[1].function == NULL,
	       "inline with max 1: '%s' '%s'", str_or_null(frames[0].function),
	       str_or_null(frames[1].function));
}

static void finish(struct child *c, struct symbolizer *s, struct errs *e)
{
	child_stop(c);
	symbolizer_free(s);
	ck_assert_msg(e->n == 0, "%u failure(s):%s", e->n, e->msg);
}

static void target_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", targets_dir(), name);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static int count_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

START_TEST(test_call_chains)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	char path[PATH_MAX];
	int fds;

	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0) {
		fds = count_fds();
		s = symbolizer_new(c.pid);
		EXPECT(&e, s != NULL, "symbolizer_new");
		if (s) {
			check_plain_sites(&e, s, &c, "symtarget", false, false);
			check_inline_site(&e, s, &c);
		}
		s = symbolizer_free(s);
		EXPECT(&e, count_fds() == fds, "descriptors left open: %d, before %d", count_fds(),
		       fds);
	}
	finish(&c, s, &e);
}
END_TEST

START_TEST(test_cache)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame f1[SYM_INLINE_MAX], f2[SYM_INLINE_MAX], f3[SYM_INLINE_MAX];
	struct sym_stats st1, st2;
	char path[PATH_MAX];

	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid))) {
		const struct site *st = child_site(&c, "chain_b", &e);

		if (st) {
			int n1 = symbolizer_lookup(s, st->pc, true, f1, SYM_INLINE_MAX), n2, n3;

			symbolizer_get_stats(s, &st1);
			n2 = symbolizer_lookup(s, st->pc, true, f2, SYM_INLINE_MAX);
			symbolizer_get_stats(s, &st2);
			EXPECT(&e, n1 == 1 && n2 == 1, "%d %d frames", n1, n2);
			EXPECT(&e, st2.cache_hits == st1.cache_hits + 1,
			       "hits %" PRIu64 " -> %" PRIu64, st1.cache_hits, st2.cache_hits);
			EXPECT(&e, st2.lookups == st1.lookups + 1, "lookups");
			EXPECT(&e,
			       f1[0].function && f1[0].function == f2[0].function &&
				   f1[0].file == f2[0].file && f1[0].module == f2[0].module,
			       "cached strings are not the same");
			/* The call instruction itself (not a return address): same function and
			 * line, reported at the pc given. */
			n3 = symbolizer_lookup(s, st->pc - 1, false, f3, SYM_INLINE_MAX);
			EXPECT(&e,
			       n3 == 1 && str_eq(f3[0].function, "chain_b") &&
				   f3[0].line == st->line && f3[0].pc == st->pc - 1,
			       "pc-1: '%s' line %d", str_or_null(f3[0].function), f3[0].line);
		}
		/* A return address just past the end of a function belongs to that function, not to
		 * the one that starts there. */
		EXPECT(&e, c.static_leaf_pc != 0, "no static_leaf address from the helper");
		if (c.static_leaf_pc) {
			int n = symbolizer_lookup(s, c.static_leaf_pc, false, f1, SYM_INLINE_MAX);

			EXPECT(&e, n == 1 && str_eq(f1[0].function, "static_leaf"), "entry: '%s'",
			       str_or_null(f1[0].function));
			n = symbolizer_lookup(s, c.static_leaf_pc, true, f1, SYM_INLINE_MAX);
			EXPECT(&e,
			       n == 1 && !str_eq(f1[0].function, "static_leaf") &&
				   f1[0].pc == c.static_leaf_pc,
			       "entry as a return address: '%s'", str_or_null(f1[0].function));
		}
	}
	EXPECT(&e, s != NULL, "symbolizer_new");
	finish(&c, s, &e);
}
END_TEST

static int child_command(struct child *c, const char *cmd, struct errs *e)
{
	size_t len = strlen(cmd);

	if (write(c->to_fd, cmd, len) != (ssize_t) len) {
		errs_add(e, __func__, __LINE__, "cannot write to the helper");
		return -EIO;
	}
	return child_read_sites(c, e);
}

/* A library dlopen'ed after the symbolizer read the maps; then unloaded (its cached results must
 * go) and loaded again (a cached "unknown" must not stick). */
START_TEST(test_dlopen_later)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	struct sym_stats st1, st2;
	const struct site *st, *chain;
	uint64_t plug_pc;
	char path[PATH_MAX];
	int n;

	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) < 0 || !(s = symbolizer_new(c.pid)))
		goto out;
	chain = child_site(&c, "chain_b", &e);
	check_site(&e, s, chain, "chain_b", "symtarget", false, frames);
	symbolizer_get_stats(s, &st1);
	if (child_command(&c, "plugin\n", &e) < 0 || !(st = child_site(&c, "plugin", &e)))
		goto out;
	plug_pc = st->pc;
	check_site(&e, s, st, "plug_alloc", "libsymplug.so", false, frames);
	symbolizer_get_stats(s, &st2);
	EXPECT(&e, st2.maps_reads == st1.maps_reads + 1, "maps read %" PRIu64 " -> %" PRIu64,
	       st1.maps_reads, st2.maps_reads);
	/* The modules known before still work (a key not in the cache). */
	if (chain) {
		n = symbolizer_lookup(s, chain->pc - 1, false, frames, SYM_INLINE_MAX);
		EXPECT(&e,
		       n == 1 && str_eq(frames[0].function, "chain_b") &&
			   frames[0].line == chain->line,
		       "after re-read: '%s' line %d", str_or_null(frames[0].function),
		       frames[0].line);
	}

	/* Unloaded: an unknown pc makes the symbolizer read the maps, which drops the cache. */
	if (child_command(&c, "unplug\n", &e) < 0)
		goto out;
	n = symbolizer_lookup(s, 0x10, false, frames, SYM_INLINE_MAX);
	EXPECT(&e, n == 1 && !frames[0].function, "0x10: '%s'", str_or_null(frames[0].function));
	n = symbolizer_lookup(s, plug_pc, true, frames, SYM_INLINE_MAX);
	EXPECT(&e, n == 1 && !frames[0].function && !frames[0].module,
	       "unloaded plugin still gives '%s' in '%s'", str_or_null(frames[0].function),
	       str_or_null(frames[0].module));

	/* Loaded again (most likely at the same address): once the maps were read again, the
	 * cached "unknown" gives way. */
	if (child_command(&c, "plugin\n", &e) < 0 || !(st = child_site(&c, "plugin", &e)))
		goto out;
	if (st->pc != plug_pc)
		fprintf(stderr, "check_symbols: plugin loaded elsewhere the second time\n");
	n = symbolizer_lookup(s, 0x20, false, frames, SYM_INLINE_MAX);
	EXPECT(&e, n == 1 && !frames[0].function, "0x20: '%s'", str_or_null(frames[0].function));
	check_site(&e, s, st, "plug_alloc", "libsymplug.so", false, frames);
out:
	EXPECT(&e, s != NULL, "symbolizer_new");
	finish(&c, s, &e);
}
END_TEST

START_TEST(test_cxx_demangled)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	char path[PATH_MAX];

	target_path(path, sizeof(path), "symcxx");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid)))
		check_site(&e, s, child_site(&c, "cxx_fill", &e), "Box<int>::fill()", "symcxx",
			   false, frames);
	EXPECT(&e, s != NULL, "symbolizer_new");
	finish(&c, s, &e);
}
END_TEST

START_TEST(test_libc)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	char path[PATH_MAX];

	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid))) {
		int n = symbolizer_lookup(s, c.malloc_pc, false, frames, SYM_INLINE_MAX);

		EXPECT(&e, c.malloc_pc != 0, "no malloc address from the helper");
		EXPECT(&e, n >= 1, "%d frames", n);
		if (n >= 1) {
			const struct sym_frame *f = &frames[n - 1];
			char debug[PATH_MAX];

			EXPECT(&e,
			       str_eq(f->function, "malloc") ||
				   str_eq(f->function, "__libc_malloc"),
			       "function '%s'", str_or_null(f->function));
			EXPECT(&e, f->module && strncmp(base_name(f->module), "libc.so", 7) == 0,
			       "module '%s'", str_or_null(f->module));
			EXPECT(&e, f->build_id && strlen(f->build_id) > 2, "no build id");
			if (f->build_id && strlen(f->build_id) > 2) {
				snprintf(debug, sizeof(debug),
					 "/usr/lib/debug/.build-id/%.2s/%s.debug", f->build_id,
					 f->build_id + 2);
				if (access(debug, R_OK) == 0)
					EXPECT(&e, frames[0].file && frames[0].line > 0,
					       "'%s' exists but no file:line ('%s':%d)", debug,
					       str_or_null(frames[0].file), frames[0].line);
			}
		}
	}
	EXPECT(&e, s != NULL, "symbolizer_new");
	finish(&c, s, &e);
}
END_TEST

START_TEST(test_unknown_pc)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL, *dead;
	struct sym_frame frames[SYM_INLINE_MAX];
	char path[PATH_MAX];
	int n;

	memset(frames, 0xa5, sizeof(frames));
	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid))) {
		for (int round = 0; round < 2; round++) { /* the second from the cache */
			n = symbolizer_lookup(s, 0x10, round == 0, frames, SYM_INLINE_MAX);
			EXPECT(&e, n == 1, "%d frames", n);
			EXPECT(&e,
			       frames[0].pc == 0x10 && !frames[0].module && !frames[0].build_id &&
				   !frames[0].function && !frames[0].file && frames[0].line == 0 &&
				   !frames[0].is_inlined && !frames[0].is_module_deleted,
			       "unknown pc gave '%s' '%s'", str_or_null(frames[0].module),
			       str_or_null(frames[0].function));
		}
		EXPECT(&e, symbolizer_lookup(s, 0x10, false, frames, 0) == -EINVAL, "max 0");
		EXPECT(&e, symbolizer_lookup(s, 0x10, false, NULL, 1) == -EINVAL, "NULL frames");
		EXPECT(&e, symbolizer_lookup(NULL, 0x10, false, frames, 1) == -EINVAL, "NULL s");
	}
	EXPECT(&e, s != NULL, "symbolizer_new");

	/* A process that cannot be read resolves nothing, and does not crash. */
	dead = symbolizer_new(INT_MAX);
	EXPECT(&e, dead != NULL, "symbolizer_new(INT_MAX)");
	if (dead) {
		n = symbolizer_lookup(dead, c.n_sites ? c.sites[0].pc : 0x1000, true, frames, 4);
		EXPECT(&e, n == 1 && !frames[0].function && !frames[0].module, "dead pid: %d", n);
		symbolizer_reset(dead);
		dead = symbolizer_free(dead);
	}
	EXPECT(&e, symbolizer_free(NULL) == NULL, "symbolizer_free(NULL)");
	finish(&c, s, &e);
}
END_TEST

START_TEST(test_reset)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	struct sym_stats st1, st2;
	char path[PATH_MAX];

	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid))) {
		const struct site *st = child_site(&c, "chain_b", &e);

		check_site(&e, s, st, "chain_b", "symtarget", false, frames);
		symbolizer_get_stats(s, &st1);
		symbolizer_reset(s);
		check_site(&e, s, st, "chain_b", "symtarget", false, frames);
		symbolizer_get_stats(s, &st2);
		EXPECT(&e, st2.maps_reads == st1.maps_reads + 1,
		       "maps reads %" PRIu64 " -> %" PRIu64, st1.maps_reads, st2.maps_reads);
		EXPECT(&e, st2.cache_hits == st1.cache_hits, "a hit after reset");
		EXPECT(&e, st2.modules > 0, "no modules after reset");
	}
	EXPECT(&e, s != NULL, "symbolizer_new");
	finish(&c, s, &e);
}
END_TEST

/* A copy of the helper in a fresh directory (with its libraries); returns 0 or -1. */
static int make_copy(char *dir, size_t size, struct errs *e)
{
	snprintf(dir, size, "/tmp/check_symbols.XXXXXX");
	if (!mkdtemp(dir)) {
		errs_add(e, __func__, __LINE__, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	if (copy_target("symtarget", dir) < 0 || copy_target("libsymlib.so", dir) < 0 ||
	    copy_target("libsymplug.so", dir) < 0 || copy_target("symcxx", dir) < 0) {
		errs_add(e, __func__, __LINE__, "cannot copy the helpers to '%s'", dir);
		return -1;
	}
	return 0;
}

/* Stripped binary, debug info found by build-id under LEAKMOND_DEBUGINFO_PATH. */
START_TEST(test_stripped_build_id)
{
	struct errs e = {0};
	struct child c = {.pid = -1, .to_fd = -1, .from_fd = -1};
	struct symbolizer *s = NULL, *plain = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	char dir[256], exe[PATH_MAX], debug_dir[PATH_MAX / 2], debug[PATH_MAX], id[129];

	if (make_copy(dir, sizeof(dir), &e) < 0)
		goto out;
	snprintf(exe, sizeof(exe), "%s/symtarget", dir);
	if (file_build_id(exe, id, sizeof(id)) < 0) {
		errs_add(&e, __func__, __LINE__, "no build id in '%s'", exe);
		goto out;
	}
	snprintf(debug_dir, sizeof(debug_dir), "%s/debug/.build-id/%.2s", dir, id);
	snprintf(debug, sizeof(debug), "%s/%s.debug", debug_dir, id + 2);
	{
		char d1[PATH_MAX / 2];
		char *objcopy[] = {"objcopy", "--only-keep-debug", exe, debug, NULL};
		char *strip[] = {"strip", "--strip-debug", exe, NULL};

		snprintf(d1, sizeof(d1), "%s/debug", dir);
		(void) mkdir(d1, 0755);
		snprintf(d1, sizeof(d1), "%s/debug/.build-id", dir);
		(void) mkdir(d1, 0755);
		(void) mkdir(debug_dir, 0755);
		if (run_cmd(objcopy) != 0 || run_cmd(strip) != 0) {
			errs_add(&e, __func__, __LINE__, "objcopy/strip of '%s' failed", exe);
			goto out;
		}
	}
	if (child_start_target(&c, exe, &e) < 0)
		goto out;

	/* Without the directory: the symbol table names the function, nothing knows the line. */
	unsetenv("LEAKMOND_DEBUGINFO_PATH");
	plain = symbolizer_new(c.pid);
	EXPECT(&e, plain != NULL, "symbolizer_new");
	if (plain) {
		const struct site *st = child_site(&c, "chain_b", &e);
		int n = st ? symbolizer_lookup(plain, st->pc, true, frames, SYM_INLINE_MAX) : 0;

		EXPECT(&e,
		       n == 1 && str_eq(frames[0].function, "chain_b") && !frames[0].file &&
			   frames[0].line == 0,
		       "stripped without debug info: '%s' '%s':%d", str_or_null(frames[0].function),
		       str_or_null(frames[0].file), frames[0].line);
		EXPECT(&e, n == 1 && str_eq(frames[0].build_id, id), "build id '%s', want '%s'",
		       str_or_null(frames[0].build_id), id);
	}

	snprintf(debug, sizeof(debug), "/nonexistent:relative/dir:%s/debug", dir);
	setenv("LEAKMOND_DEBUGINFO_PATH", debug, 1);
	s = symbolizer_new(c.pid);
	unsetenv("LEAKMOND_DEBUGINFO_PATH");
	EXPECT(&e, s != NULL, "symbolizer_new");
	if (s) {
		check_plain_sites(&e, s, &c, "symtarget", false, false);
		check_inline_site(&e, s, &c);
	}
out:
	symbolizer_free(plain);
	child_stop(&c);
	rm_tree(dir);
	finish(&c, s, &e);
}
END_TEST

/* Whether this process may open /proc/PID/map_files entries (needs CAP_SYS_ADMIN). */
static bool can_open_map_files(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], path[128];
	unsigned long start, end;
	bool ok = false;
	int fd;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && strchr(line, '/')) {
			snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", start, end);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			ok = fd >= 0;
			if (fd >= 0)
				close(fd);
			break;
		}
	}
	fclose(f);
	return ok;
}

/* The helper's files deleted (replace: another file renamed over the executable) after start. */
static void deleted_case(bool replace)
{
	struct errs e = {0};
	struct child c = {.pid = -1, .to_fd = -1, .from_fd = -1};
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	char dir[256], exe[PATH_MAX], lib[PATH_MAX], other[PATH_MAX];
	bool readable = can_open_map_files();

	if (make_copy(dir, sizeof(dir), &e) < 0)
		goto out;
	snprintf(exe, sizeof(exe), "%s/symtarget", dir);
	snprintf(lib, sizeof(lib), "%s/libsymlib.so", dir);
	snprintf(other, sizeof(other), "%s/symcxx", dir);
	if (child_start_target(&c, exe, &e) < 0)
		goto out;
	if (replace) {
		EXPECT(&e, rename(other, exe) == 0, "rename: %s", strerror(errno));
	} else {
		EXPECT(&e, unlink(exe) == 0, "unlink: %s", strerror(errno));
		EXPECT(&e, unlink(lib) == 0, "unlink: %s", strerror(errno));
	}
	s = symbolizer_new(c.pid);
	EXPECT(&e, s != NULL, "symbolizer_new");
	if (s && readable) {
		/* libsymlib.so is still there when only the executable was replaced */
		check_plain_sites(&e, s, &c, "symtarget", true, !replace);
	} else if (s) {
		/* Not allowed to read the mapped file: known module, flagged, no name. */
		const struct site *st = child_site(&c, "chain_b", &e);
		int n = st ? symbolizer_lookup(s, st->pc, true, frames, SYM_INLINE_MAX) : 0;

		EXPECT(&e, n == 1 && frames[0].is_module_deleted && !frames[0].function,
		       "unreadable deleted module: '%s'", str_or_null(frames[0].function));
	}
	if (s) {
		const struct site *st = child_site(&c, "chain_b", &e);
		int n = st ? symbolizer_lookup(s, st->pc, true, frames, SYM_INLINE_MAX) : 0;

		EXPECT(&e, n >= 1 && str_eq(frames[0].module, exe), "module '%s', want '%s'",
		       str_or_null(frames[0].module), exe);
	}
out:
	child_stop(&c);
	rm_tree(dir);
	finish(&c, s, &e);
}

START_TEST(test_deleted_module)
{
	deleted_case(false);
}
END_TEST

START_TEST(test_replaced_module)
{
	deleted_case(true);
}
END_TEST

/* In its own mount namespace the helper runs from a tmpfs we do not see, so its files can only be
 * read through /proc/PID/root; then another file is bind-mounted over the executable there (no
 * "(deleted)" in the maps, only a different inode). */
struct ns_arg {
	const char *dir; /* has the helpers */
	const char *mnt; /* empty here, a tmpfs with copies of them in the helper's namespace */
};

static int enter_private_ns(void *p)
{
	const struct ns_arg *a = p;
	static const char *const names[] = {"symtarget", "libsymlib.so", "libsymplug.so", "symcxx"};
	char from[PATH_MAX], to[PATH_MAX];

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("symtest", a->mnt, "tmpfs", 0, "size=64m") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(from, sizeof(from), "%s/%s", a->dir, names[i]);
		snprintf(to, sizeof(to), "%s/%s", a->mnt, names[i]);
		if (copy_file(from, to) < 0)
			return -1;
	}
	return 0;
}

/* Bind-mount from over to inside the mount namespace of pid. Returns 0 or -1. */
static int bind_in_ns(pid_t pid, const char *from, const char *to)
{
	char ns[64];
	int status;
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		int fd;

		snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int) pid);
		fd = open(ns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNS) < 0 ||
		    mount(from, to, NULL, MS_BIND, NULL) < 0)
			_exit(1);
		_exit(0);
	}
	for (int waited = 0; waited < REAP_TIMEOUT_MS; waited += 10) {
		if (waitpid(p, &status, WNOHANG) == p)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
		usleep(10000);
	}
	(void) kill(p, SIGKILL);
	(void) waitpid(p, NULL, 0);
	return -1;
}

START_TEST(test_mount_namespace)
{
	struct errs e = {0};
	struct child c = {.pid = -1, .to_fd = -1, .from_fd = -1};
	struct symbolizer *s = NULL;
	char mnt[256], exe[PATH_MAX], plugin[PATH_MAX], other[PATH_MAX];
	struct ns_arg arg;
	int r;

	if (!can_open_map_files() || geteuid() != 0) {
		fprintf(stderr, "check_symbols: mount namespace test skipped (not root)\n");
		return;
	}
	snprintf(mnt, sizeof(mnt), "/tmp/check_symbols_ns.XXXXXX");
	if (!mkdtemp(mnt)) {
		errs_add(&e, __func__, __LINE__, "mkdtemp: %s", strerror(errno));
		goto out;
	}
	arg = (struct ns_arg){.dir = targets_dir(), .mnt = mnt};
	snprintf(exe, sizeof(exe), "%s/symtarget", mnt);
	snprintf(plugin, sizeof(plugin), "%s/libsymplug.so", mnt);
	snprintf(other, sizeof(other), "%s/symcxx", mnt);
	r = child_start(&c, exe, plugin, enter_private_ns, &arg);
	if (r < 0) {
		errs_add(&e, __func__, __LINE__, "cannot start: %s", strerror(-r));
		goto out;
	}
	if (child_read_sites(&c, &e) < 0) {
		/* unshare/mount not permitted here (exit 126): nothing to test */
		if (e.n == 1 && !strstr(e.msg, "unexpected")) {
			fprintf(stderr, "check_symbols: mount namespace test skipped (%s)\n",
				e.msg + 3);
			e = (struct errs){0};
		}
		goto out;
	}
	EXPECT(&e, access(exe, F_OK) != 0, "'%s' visible outside the helper's namespace", exe);
	s = symbolizer_new(c.pid);
	EXPECT(&e, s != NULL, "symbolizer_new");
	if (s) {
		check_plain_sites(&e, s, &c, "symtarget", false, false);
		check_inline_site(&e, s, &c);
		s = symbolizer_free(s);
	}

	/* Another file at the same path in the helper's namespace: still the mapped one. */
	if (bind_in_ns(c.pid, other, exe) < 0) {
		errs_add(&e, __func__, __LINE__, "cannot bind-mount in the helper's namespace");
		goto out;
	}
	s = symbolizer_new(c.pid);
	EXPECT(&e, s != NULL, "symbolizer_new");
	if (s)
		check_plain_sites(&e, s, &c, "symtarget", true, false);
out:
	child_stop(&c);
	if (mnt[0])
		(void) rmdir(mnt);
	finish(&c, s, &e);
}
END_TEST

static void setup(void)
{
	/* Never ask a network server during unit tests. */
	unsetenv("DEBUGINFOD_URLS");
	unsetenv("LEAKMOND_DEBUGINFO_PATH");
}

/* ---- modules handed in as files (symbolizer_add_module) -------------------------------------- */

#define FUZZ_DIR TEST_DATA_DIR "/../fuzz"
#define ELF_BASE UINT64_C(0x7f1234560000)

struct placed {
	uint64_t start, end, exec_start, exec_end, exec_offset;
	uint64_t leaf, leaf_size, entry; /* symbol addresses, placed */
};

/* Where a loader would map the ELF file on fd (at ELF_BASE if ET_DYN), and two of its symbols. */
static bool place_elf(int fd, struct placed *p)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	size_t phnum;
	uint64_t bias, lo = UINT64_MAX, hi = 0;
	Elf_Scn *scn = NULL;
	bool ok = false;

	memset(p, 0, sizeof(*p));
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &phnum) != 0)
		goto out;
	bias = eh.e_type == ET_DYN ? ELF_BASE : 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int) i, &ph) || ph.p_type != PT_LOAD)
			continue;
		lo = ph.p_vaddr < lo ? ph.p_vaddr & ~UINT64_C(4095) : lo;
		hi = ph.p_vaddr + ph.p_memsz > hi ? ph.p_vaddr + ph.p_memsz : hi;
		if ((ph.p_flags & PF_X) && !p->exec_start) {
			p->exec_start = bias + (ph.p_vaddr & ~UINT64_C(4095));
			p->exec_end = bias + ((ph.p_vaddr + ph.p_memsz + 4095) & ~UINT64_C(4095));
			p->exec_offset = ph.p_offset & ~UINT64_C(4095);
		}
	}
	p->start = bias + lo;
	p->end = bias + ((hi + 4095) & ~UINT64_C(4095));
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < d->d_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, (int) i, &sym))
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (str_eq(name, "leaf")) {
				p->leaf = bias + sym.st_value;
				p->leaf_size = sym.st_size;
			} else if (str_eq(name, "seed_entry")) {
				p->entry = bias + sym.st_value;
			}
		}
	}
	ok = p->exec_start != 0;
out:
	if (elf)
		elf_end(elf);
	return ok;
}

static int open_fuzz_file(const char *rel, struct placed *p)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", FUZZ_DIR, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "cannot open %s: %s", path, strerror(errno));
	ck_assert_msg(place_elf(fd, p), "%s: no executable PT_LOAD", path);
	return fd;
}

/* A module that is no process's: functions, lines and an inline chain from the file alone. */
START_TEST(test_add_module)
{
	struct sym_frame frames[SYM_INLINE_MAX];
	struct symbolizer *s = symbolizer_new(0);
	struct placed p;
	int fd = open_fuzz_file("corpus/symbols/dwarf5.so", &p), n;
	bool has_chain = false;

	ck_assert_ptr_nonnull(s);
	ck_assert(p.leaf && p.entry);
	ck_assert_int_eq(symbolizer_add_module(s, "/seed/dwarf5.so", fd, p.start, p.end,
					       p.exec_start, p.exec_end, p.exec_offset),
			 0);
	n = symbolizer_lookup(s, p.entry, false, frames, SYM_INLINE_MAX);
	ck_assert_int_ge(n, 1);
	ck_assert_str_eq(frames[n - 1].function, "seed_entry");
	ck_assert_str_eq(frames[0].module, "/seed/dwarf5.so");
	ck_assert(frames[0].file && strcmp(base_name(frames[0].file), "seed.c") == 0);
	ck_assert_int_gt(frames[0].line, 0);
	/* somewhere in leaf(): inner() inlined in outer() inlined in leaf() */
	for (uint64_t pc = p.leaf; pc < p.leaf + p.leaf_size && !has_chain; pc++) {
		n = symbolizer_lookup(s, pc, false, frames, SYM_INLINE_MAX);
		has_chain = n == 3 && str_eq(frames[0].function, "inner") && frames[0].is_inlined &&
			    str_eq(frames[1].function, "outer") && frames[1].is_inlined &&
			    str_eq(frames[2].function, "leaf") && !frames[2].is_inlined &&
			    frames[1].line > 0 && frames[2].line > 0;
	}
	ck_assert_msg(has_chain, "no inner -> outer -> leaf chain in leaf()");
	/* outside the module: unknown */
	n = symbolizer_lookup(s, p.end + 0x10, false, frames, SYM_INLINE_MAX);
	ck_assert_int_eq(n, 1);
	ck_assert_ptr_null(frames[0].module);

	/* refusals: an overlap, a relative path, a bad range, a file that is no ELF */
	ck_assert_int_eq(symbolizer_add_module(s, "/x.so", fd, p.start, p.end, p.exec_start,
					       p.exec_end, p.exec_offset),
			 -EINVAL);
	ck_assert_int_eq(symbolizer_add_module(s, "x.so", fd, 0x1000, 0x3000, 0x1000, 0x2000, 0),
			 -EINVAL);
	ck_assert_int_eq(symbolizer_add_module(s, "/x.so", fd, 0x3000, 0x1000, 0x1000, 0x2000, 0),
			 -EINVAL);
	ck_assert_int_eq(symbolizer_add_module(s, "/x.so", -1, 0x1000, 0x3000, 0x1000, 0x2000, 0),
			 -EINVAL);
	int text = open(TEST_DATA_DIR "/status-init.txt", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(text, 0);
	ck_assert_int_eq(symbolizer_add_module(s, "/x.so", text, 0x1000, 0x3000, 0x1000, 0x2000, 0),
			 -ENOEXEC);
	close(text);
	symbolizer_free(s);
	close(fd); /* borrowed: still ours */

	/* a symbolizer of a process takes its modules from the process only */
	s = symbolizer_new(getpid());
	ck_assert_ptr_nonnull(s);
	fd = open_fuzz_file("corpus/symbols/dwarf5.so", &p);
	ck_assert_int_eq(
	    symbolizer_add_module(s, "/seed/dwarf5.so", fd, 0x1000, 0x3000, 0x1000, 0x2000, 0),
	    -EINVAL);
	close(fd);
	symbolizer_free(s);
}
END_TEST

/* Found by tests/fuzz/fuzz_symbols: an inlined instance whose DW_AT_abstract_origin does not
 * resolve made libdw's dwarf_getscopes() lose the array it had allocated (64 bytes per lookup,
 * two lookups here). The scopes are now found by our own walk: LeakSanitizer (the sanitizer
 * build) fails this test if anything leaks, and every pc still symbolizes to something. */
START_TEST(test_corrupt_abstract_origin)
{
	struct sym_frame frames[SYM_INLINE_MAX];
	struct symbolizer *s = symbolizer_new(0);
	struct placed p;
	int fd = open_fuzz_file("regress/symbols/getscopes-leak-abstract-origin", &p);

	ck_assert_int_eq(symbolizer_add_module(s, "/fuzz/module.so", fd, p.start, p.end,
					       p.exec_start, p.exec_end, p.exec_offset),
			 0);
	for (uint64_t pc = p.exec_start; pc < p.exec_start + 0x400; pc++) {
		int n = symbolizer_lookup(s, pc, pc & 1, frames, SYM_INLINE_MAX);

		ck_assert_int_ge(n, 1);
		ck_assert_int_le(n, SYM_INLINE_MAX);
	}
	symbolizer_free(s);
	close(fd);
}
END_TEST

/* Two processes of one program: the second symbolizer finds the files already parsed (shared
 * images), and keeps naming its pcs after the first symbolizer is gone. */
START_TEST(test_shared_images)
{
	struct errs e = {0};
	struct child c, c2 = {.pid = -1, .to_fd = -1, .from_fd = -1};
	struct symbolizer *s = NULL, *s2 = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	struct sym_stats st;
	char path[PATH_MAX];

	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && child_start_target(&c2, path, &e) == 0 &&
	    (s = symbolizer_new(c.pid)) && (s2 = symbolizer_new(c2.pid))) {
		check_site(&e, s, child_site(&c, "chain_b", &e), "chain_b", "symtarget", false,
			   frames);
		symbolizer_get_stats(s2, &st);
		/* symtarget, libsymlib.so, libc, ld.so at least */
		EXPECT(&e, st.images_shared >= 3, "%" PRIu64 " images shared", st.images_shared);
		s = symbolizer_free(s);
		check_site(&e, s2, child_site(&c2, "chain_b", &e), "chain_b", "symtarget", false,
			   frames);
		check_site(&e, s2, child_site(&c2, "chain_a", &e), "chain_a", "symtarget", false,
			   frames);
	}
	EXPECT(&e, s2 != NULL, "symbolizer_new");
	symbolizer_free(s2);
	child_stop(&c2);
	finish(&c, s, &e);
}
END_TEST

/* ---- the sandboxed helper process (symsvc.h) ---------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void svc_setup(void)
{
	ck_assert_int_eq(symsvc_start(), 0);
}

static void svc_teardown(void)
{
	symsvc_stop();
}

/* Read "Key:\tvalue" of /proc/PID/status into buf. */
static bool status_field(pid_t pid, const char *key, char *buf, size_t size)
{
	char name[64], line[256];
	size_t klen = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%d/status", (int)pid);
	f = fopen(name, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			snprintf(buf, size, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
			buf[strcspn(buf, "\n")] = '\0';
			found = true;
		}
	fclose(f);
	return found;
}

START_TEST(test_helper_sandboxed)
{
	struct sym_service_stats st;
	pid_t pid = symsvc_pid();
	char v[128];

	symsvc_get_stats(&st);
	ck_assert(st.is_running);
	ck_assert_int_gt(pid, 0);
	ck_assert(st.is_sandboxed);
	ck_assert(status_field(pid, "Seccomp", v, sizeof(v)));
	ck_assert_str_eq(v, "2");
	ck_assert(status_field(pid, "NoNewPrivs", v, sizeof(v)));
	ck_assert_str_eq(v, "1");
	if (geteuid() == 0) {
		ck_assert(st.is_unprivileged);
		ck_assert(status_field(pid, "Uid", v, sizeof(v)));
		ck_assert_int_eq(atoi(v), 65534);
		ck_assert(status_field(pid, "CapEff", v, sizeof(v)));
		ck_assert_str_eq(v, "0000000000000000");
	}
	ck_assert(status_field(pid, "Name", v, sizeof(v)));
	ck_assert_str_eq(v, "leakmond-sym");
}
END_TEST

/* The helper killed between requests: the next lookup starts another one and names the pc. */
START_TEST(test_helper_killed)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	struct sym_service_stats st;
	char path[PATH_MAX];

	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid))) {
		const struct site *site = child_site(&c, "chain_b", &e);
		pid_t first = symsvc_pid();

		check_site(&e, s, site, "chain_b", "symtarget", false, frames);
		EXPECT(&e, kill(first, SIGKILL) == 0, "kill the helper");
		symbolizer_reset(s); /* the cache would answer otherwise */
		check_site(&e, s, site, "chain_b", "symtarget", false, frames);
		symsvc_get_stats(&st);
		EXPECT(&e, st.restarts == 1, "%u restarts", st.restarts);
		EXPECT(&e, symsvc_pid() > 0 && symsvc_pid() != first, "no new helper");
	}
	EXPECT(&e, s != NULL, "symbolizer_new");
	finish(&c, s, &e);
}
END_TEST

/* A helper that hangs in a request, or dies in it, is killed within the budget; the pc reads
 * unknown, later pcs are named by the next helper. */
static void helper_misbehaves(const char *fault)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	struct sym_service_stats st;
	char path[PATH_MAX];

	symsvc_stop();
	setenv("LEAKMOND_SYMSVC_FAULT", fault, 1);
	ck_assert_int_eq(symsvc_start(), 0);
	unsetenv("LEAKMOND_SYMSVC_FAULT");
	symsvc_set_budget_ms(500);
	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid))) {
		const struct site *site = child_site(&c, "chain_b", &e);
		uint64_t t0 = now_ms();
		int n = site ? symbolizer_lookup(s, site->pc, true, frames, SYM_INLINE_MAX) : 0;

		EXPECT(&e, now_ms() - t0 < 5000, "the lookup took %" PRIu64 " ms", now_ms() - t0);
		EXPECT(&e, n == 1 && !frames[0].function, "%d frames, '%s'", n,
		       n > 0 ? str_or_null(frames[0].function) : "");
		symsvc_get_stats(&st);
		EXPECT(&e, strcmp(fault, "hang") != 0 || st.timeouts == 1, "%u timeouts",
		       st.timeouts);
		/* another pc: a new helper names it; the first is asked again a little later (a pc
		 * is given up only when the helper fails on it twice in a row) */
		check_site(&e, s, child_site(&c, "chain_a", &e), "chain_a", "symtarget", false,
			   frames);
		usleep(300 * 1000);
		check_site(&e, s, site, "chain_b", "symtarget", false, frames);
		symsvc_get_stats(&st);
		EXPECT(&e, st.restarts == 1, "%u restarts", st.restarts);
	}
	EXPECT(&e, s != NULL, "symbolizer_new");
	finish(&c, s, &e);
}

/* Asynchronous lookups (as leakmond's loop makes them): "pending" at once, named once the
 * answers were read; a helper killed meanwhile makes them pending again, then named. */
START_TEST(test_helper_async)
{
	struct errs e = {0};
	struct child c;
	struct symbolizer *s = NULL;
	struct sym_frame frames[SYM_INLINE_MAX];
	char path[PATH_MAX];

	symsvc_set_async(true);
	target_path(path, sizeof(path), "symtarget");
	if (child_start_target(&c, path, &e) == 0 && (s = symbolizer_new(c.pid))) {
		const struct site *site = child_site(&c, "chain_b", &e);
		int n = site ? symbolizer_lookup(s, site->pc, true, frames, SYM_INLINE_MAX) : 0;

		EXPECT(&e, n == 1 && frames[0].is_pending && !frames[0].function,
		       "first lookup: %d frames, pending %d", n, n > 0 && frames[0].is_pending);
		EXPECT(&e, symsvc_flush(10000) == 0, "flush");
		check_site(&e, s, site, "chain_b", "symtarget", false, frames);
		EXPECT(&e, !frames[0].is_pending, "still pending after the flush");
		/* the helper killed with a request on its way: pending, then named by the next */
		site = child_site(&c, "chain_a", &e);
		n = site ? symbolizer_lookup(s, site->pc, true, frames, SYM_INLINE_MAX) : 0;
		EXPECT(&e, n == 1 && frames[0].is_pending, "chain_a not pending");
		EXPECT(&e, kill(symsvc_pid(), SIGKILL) == 0, "kill the helper");
		(void)symsvc_flush(10000);
		n = site ? symbolizer_lookup(s, site->pc, true, frames, SYM_INLINE_MAX) : 0;
		EXPECT(&e, n == 1 && frames[0].is_pending, "chain_a not asked again");
		EXPECT(&e, symsvc_flush(10000) == 0, "flush after the restart");
		check_site(&e, s, site, "chain_a", "symtarget", false, frames);
	}
	EXPECT(&e, s != NULL, "symbolizer_new");
	symsvc_set_async(false);
	finish(&c, s, &e);
}
END_TEST

START_TEST(test_helper_hangs)
{
	helper_misbehaves("hang");
}
END_TEST

START_TEST(test_helper_crashes)
{
	helper_misbehaves("crash");
}
END_TEST

/* The tests on live processes: run in this process, and again through the helper. */
static void add_live_tests(TCase *tc)
{
	tcase_add_test(tc, test_call_chains);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_dlopen_later);
	tcase_add_test(tc, test_cxx_demangled);
	tcase_add_test(tc, test_libc);
	tcase_add_test(tc, test_unknown_pc);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_shared_images);
	tcase_add_test(tc, test_stripped_build_id);
	tcase_add_test(tc, test_deleted_module);
	tcase_add_test(tc, test_replaced_module);
	tcase_add_test(tc, test_mount_namespace);
}

static Suite *symbols_suite(void)
{
	Suite *suite = suite_create("symbols");
	TCase *tc = tcase_create("live");

	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	add_live_tests(tc);
	suite_add_tcase(suite, tc);
	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_add_module);
	tcase_add_test(tc, test_corrupt_abstract_origin);
	suite_add_tcase(suite, tc);
	/* the live tests again, through the sandboxed helper leakmond runs them in */
	tc = tcase_create("helper");
	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_checked_fixture(tc, svc_setup, svc_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_helper_sandboxed);
	tcase_add_test(tc, test_helper_killed);
	tcase_add_test(tc, test_helper_async);
	tcase_add_test(tc, test_helper_hangs);
	tcase_add_test(tc, test_helper_crashes);
	add_live_tests(tc);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!targets_dir() || !*targets_dir()) {
		fprintf(stderr, "check_symbols: SYMTARGETS_DIR is not set, skipping\n");
		return 77;
	}
	sr = srunner_create(symbols_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
