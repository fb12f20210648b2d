#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/hooks.h"

#define PRINT_ARG "--print-dlsym"
#define JEMALLOC "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#define WAIT_MS 10000
#define B 0x7f1234500000ULL

#if defined(__SANITIZE_ADDRESS__)
#define HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAS_ASAN 1
#endif
#endif
#ifndef HAS_ASAN
#define HAS_ASAN 0
#endif

/* ---- hooks_load_bias on synthetic program headers ---- */

static GElf_Phdr load(uint64_t off, uint64_t vaddr, uint64_t filesz, uint64_t memsz, unsigned flags)
{
	GElf_Phdr p = { .p_type = PT_LOAD, .p_offset = off, .p_vaddr = vaddr, .p_paddr = vaddr,
			.p_filesz = filesz, .p_memsz = memsz, .p_flags = flags, .p_align = 0x1000 };
	return p;
}

static GElf_Phdr other(uint32_t type, uint64_t off, uint64_t vaddr, uint64_t size)
{
	GElf_Phdr p = { .p_type = type, .p_offset = off, .p_vaddr = vaddr, .p_filesz = size,
			.p_memsz = size, .p_flags = PF_R, .p_align = 8 };
	return p;
}

START_TEST(test_bias_separate_code)
{
	/* Debian 12 libc.so.6: -z separate-code, r-x at file offset 0x26000 */
	GElf_Phdr ph[] = {
		other(PT_PHDR, 0x40, 0x40, 0x2d8),
		other(PT_INTERP, 0x318, 0x318, 0x1c),
		load(0, 0, 0x25388, 0x25388, PF_R),
		load(0x26000, 0x26000, 0x1550fc, 0x1550fc, PF_R | PF_X),
		load(0x17c000, 0x17c000, 0x52c31, 0x52c31, PF_R),
		load(0x1cf8d0, 0x1cf8d0, 0x4f98, 0x12680, PF_R | PF_W),
		other(PT_DYNAMIC, 0x1d1b60, 0x1d1b60, 0x1e0),
	};
	size_t n = sizeof(ph) / sizeof(ph[0]);
	uint64_t bias = 1;

	/* every mapping gives the same bias */
	ck_assert_int_eq(hooks_load_bias(ph, n, B, 0, &bias), 0);
	ck_assert_uint_eq(bias, B);
	bias = 1;
	ck_assert_int_eq(hooks_load_bias(ph, n, B + 0x26000, 0x26000, &bias), 0);
	/* the r-x mapping's start is not the bias: that mistake is 0x26000 off */
	ck_assert_uint_eq(bias, B);
	ck_assert_uint_ne(bias, B + 0x26000);
	bias = 1;
	ck_assert_int_eq(hooks_load_bias(ph, n, B + 0x17c000, 0x17c000, &bias), 0);
	ck_assert_uint_eq(bias, B);
	/* data: p_offset 0x1cf8d0 is not page-aligned, the mapping starts at its page */
	bias = 1;
	ck_assert_int_eq(hooks_load_bias(ph, n, B + 0x1cf000, 0x1cf000, &bias), 0);
	ck_assert_uint_eq(bias, B);
	/* the part RELRO split off */
	bias = 1;
	ck_assert_int_eq(hooks_load_bias(ph, n, B + 0x1d3000, 0x1d3000, &bias), 0);
	ck_assert_uint_eq(bias, B);

	/* past every segment's file bytes, and nothing at all */
	ck_assert_int_eq(hooks_load_bias(ph, n, B + 0x1d5000, 0x1d5000, &bias), -ENOENT);
	ck_assert_int_eq(hooks_load_bias(ph, 0, B, 0, &bias), -ENOENT);
}
END_TEST

START_TEST(test_bias_separate_code_exe)
{
	/* a PIE (gcc 12, Debian 12): the RELRO data shares file page 0x2000 with .rodata */
	GElf_Phdr ph[] = {
		other(PT_PHDR, 0x40, 0x40, 0x2d8),
		load(0, 0, 0x6d0, 0x6d0, PF_R),
		load(0x1000, 0x1000, 0x1b9, 0x1b9, PF_R | PF_X),
		load(0x2000, 0x2000, 0xdc, 0xdc, PF_R),
		load(0x2dd0, 0x3dd0, 0x258, 0x260, PF_R | PF_W),
	};
	uint64_t bias = 0, base = 0x5612a0b3d000ULL;

	ck_assert_int_eq(hooks_load_bias(ph, 5, base, 0, &bias), 0);
	ck_assert_uint_eq(bias, base);
	bias = 0;
	ck_assert_int_eq(hooks_load_bias(ph, 5, base + 0x1000, 0x1000, &bias), 0);
	ck_assert_uint_eq(bias, base);
	bias = 0;
	ck_assert_int_eq(hooks_load_bias_exec(ph, 5, base + 0x1000, 0x1000, &bias), 0);
	ck_assert_uint_eq(bias, base);
	/* .rodata at base+0x2000 and the RELRO page at base+0x3000 both map offset 0x2000 */
	bias = 0;
	ck_assert_int_eq(hooks_load_bias(ph, 5, base + 0x2000, 0x2000, &bias), -ENOTUNIQ);
	ck_assert_int_eq(hooks_load_bias(ph, 5, base + 0x3000, 0x2000, &bias), -ENOTUNIQ);
	ck_assert_uint_eq(bias, 0);
	/* the rw page after it is only data */
	ck_assert_int_eq(hooks_load_bias(ph, 5, base + 0x4000, 0x3000, &bias), 0);
	ck_assert_uint_eq(bias, base);
	ck_assert_int_eq(hooks_load_bias(ph, 5, base + 0x5000, 0x4000, &bias), -ENOENT);
	/* exec-only: a data mapping is not in any PF_X segment */
	ck_assert_int_eq(hooks_load_bias_exec(ph, 5, base, 0, &bias), -ENOENT);
}
END_TEST

START_TEST(test_bias_non_pie)
{
	GElf_Phdr ph[] = {
		load(0, 0x400000, 0x528, 0x528, PF_R),
		load(0x1000, 0x401000, 0x1f5, 0x1f5, PF_R | PF_X),
		load(0x2000, 0x402000, 0x10c, 0x10c, PF_R),
		load(0x2e10, 0x403e10, 0x220, 0x228, PF_R | PF_W),
	};
	uint64_t bias = 1;

	ck_assert_int_eq(hooks_load_bias(ph, 4, 0x400000, 0, &bias), 0);
	ck_assert_uint_eq(bias, 0);
	bias = 1;
	ck_assert_int_eq(hooks_load_bias(ph, 4, 0x401000, 0x1000, &bias), 0);
	ck_assert_uint_eq(bias, 0);
	bias = 1;
	ck_assert_int_eq(hooks_load_bias_exec(ph, 4, 0x401000, 0x1000, &bias), 0);
	ck_assert_uint_eq(bias, 0);
	/* file page 0x2000 is .rodata at 0x402000 and the data's first page at 0x403000 */
	ck_assert_int_eq(hooks_load_bias(ph, 4, 0x402000, 0x2000, &bias), -ENOTUNIQ);
	ck_assert_uint_eq(bias, 0);
}
END_TEST

START_TEST(test_bias_shared_page_agrees)
{
	/* two segments sharing a page without a gap in vaddr give one bias: no ambiguity */
	GElf_Phdr ph[] = {
		load(0, 0, 0x2100, 0x2100, PF_R | PF_X),
		load(0x2100, 0x2100, 0x300, 0x300, PF_R | PF_W),
	};
	uint64_t bias = 0;

	ck_assert_int_eq(hooks_load_bias(ph, 2, B + 0x2000, 0x2000, &bias), 0);
	ck_assert_uint_eq(bias, B);
}
END_TEST

START_TEST(test_bias_old_layout)
{
	/* without -z separate-code: text (with the headers) at offset 0, and a small binary whose
	 * data starts in the same file page, so offset 0 is held by both segments */
	GElf_Phdr ph[] = {
		load(0, 0, 0xa3c, 0xa3c, PF_R | PF_X),
		load(0xe10, 0x200e10, 0x230, 0x238, PF_R | PF_W),
	};
	uint64_t bias = 0;

	ck_assert_int_eq(hooks_load_bias(ph, 2, B, 0, &bias), -ENOTUNIQ);
	ck_assert_int_eq(hooks_load_bias(ph, 2, B + 0x200000, 0, &bias), -ENOTUNIQ);
	ck_assert_int_eq(hooks_load_bias_exec(ph, 2, B, 0, &bias), 0);
	ck_assert_uint_eq(bias, B);
}
END_TEST

START_TEST(test_bias_bad)
{
	/* vaddr and offset disagree modulo the page: no page-aligned bias exists */
	GElf_Phdr ph[] = {
		load(0, 0x1234, 0x1000, 0x1000, PF_R | PF_X),
	};
	/* a bss-only segment has no file bytes to map */
	GElf_Phdr bss[] = {
		load(0x1000, 0x5000, 0, 0x1000, PF_R | PF_W),
	};
	uint64_t bias = 7;

	ck_assert_int_eq(hooks_load_bias(ph, 1, B, 0, &bias), -EBADMSG);
	ck_assert_int_eq(hooks_load_bias(bss, 1, B + 0x5000, 0x1000, &bias), -ENOENT);
	ck_assert_uint_eq(bias, 7);
}
END_TEST

/* ---- hooks_elf_symbols on synthetic ELF images ---- */

struct fake_sym {
	const char *name; /* NULL: an st_name past the end of the string table */
	unsigned char bind, type, vis;
	uint16_t shndx;
	uint64_t value;
	uint16_t versym;
};

#define IMAGE_MAX 8192

/* Build a minimal ELF64 image in buf: sections null, .text, .strtab, the symbol table (SHT_DYNSYM
 * or SHT_SYMTAB, linked to section str_link), .gnu.version (when with_versym), .shstrtab. */
static Elf *build_elf(char *buf, uint32_t sym_type, const struct fake_sym *fs, size_t n,
		      bool with_versym, uint32_t str_link)
{
	static const char shstr[] = "\0.text\0.strtab\0.symtab\0.gnu.version\0.shstrtab";
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Shdr sh[6];
	size_t off = sizeof(*eh), str_off, sym_off, ver_off, shstr_off, str_len;
	Elf64_Sym sym;

	memset(buf, 0, IMAGE_MAX);
	memset(sh, 0, sizeof(sh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 6;
	eh->e_shstrndx = 5;

	str_off = off;
	buf[off++] = '\0';
	sym_off = 0;
	for (size_t i = 0; i < n; i++) {
		if (fs[i].name) {
			strcpy(buf + off, fs[i].name);
			off += strlen(fs[i].name) + 1;
		}
	}
	str_len = off - str_off;
	off = (off + 7) & ~(size_t)7;
	sym_off = off;
	memset(&sym, 0, sizeof(sym));
	memcpy(buf + off, &sym, sizeof(sym));
	off += sizeof(sym);
	{
		size_t name = 1;

		for (size_t i = 0; i < n; i++) {
			sym.st_name = fs[i].name ? (Elf64_Word)name : 0x7fffff;
			if (fs[i].name)
				name += strlen(fs[i].name) + 1;
			sym.st_info = ELF64_ST_INFO(fs[i].bind, fs[i].type);
			sym.st_other = fs[i].vis;
			sym.st_shndx = fs[i].shndx;
			sym.st_value = fs[i].value;
			sym.st_size = 16;
			memcpy(buf + off, &sym, sizeof(sym));
			off += sizeof(sym);
		}
	}
	ver_off = off;
	for (size_t i = 0; i <= n; i++) {
		uint16_t v = i == 0 ? 0 : fs[i - 1].versym;

		memcpy(buf + off, &v, sizeof(v));
		off += sizeof(v);
	}
	shstr_off = off;
	memcpy(buf + off, shstr, sizeof(shstr));
	off += sizeof(shstr);
	off = (off + 7) & ~(size_t)7;
	eh->e_shoff = off;

	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_PROGBITS,
			      .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = 0x1000,
			      .sh_offset = 0, .sh_size = 0, .sh_addralign = 16 };
	sh[2] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_STRTAB, .sh_offset = str_off,
			      .sh_size = str_len, .sh_addralign = 1 };
	sh[3] = (Elf64_Shdr){ .sh_name = 15, .sh_type = sym_type, .sh_offset = sym_off,
			      .sh_size = (n + 1) * sizeof(Elf64_Sym), .sh_link = str_link,
			      .sh_info = 1, .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym) };
	sh[4] = (Elf64_Shdr){ .sh_name = 23, .sh_type = with_versym ? SHT_GNU_versym : SHT_PROGBITS,
			      .sh_offset = ver_off, .sh_size = (n + 1) * 2, .sh_link = 3,
			      .sh_addralign = 2, .sh_entsize = 2 };
	sh[5] = (Elf64_Shdr){ .sh_name = 36, .sh_type = SHT_STRTAB, .sh_offset = shstr_off,
			      .sh_size = sizeof(shstr), .sh_addralign = 1 };
	ck_assert_uint_le(off + sizeof(sh), IMAGE_MAX);
	memcpy(buf + off, sh, sizeof(sh));

	elf_version(EV_CURRENT);
	return elf_memory(buf, off + sizeof(sh));
}

START_TEST(test_elf_dynsym)
{
	static const struct fake_sym fs[] = {
		/* malloc@GLIBC_OLD (hidden) and malloc@@GLIBC_NEW: the default version wins */
		{ "malloc", STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1, 0x1000, 0x8002 },
		{ "malloc", STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1, 0x2000, 3 },
		{ "free", STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1, 0x3000, 0x8002 },
		{ "calloc", STB_GLOBAL, STT_GNU_IFUNC, STV_DEFAULT, 1, 0x4000, 2 },
		{ "realloc", STB_GLOBAL, STT_FUNC, STV_DEFAULT, SHN_UNDEF, 0, 1 },
		{ "valloc", STB_LOCAL, STT_FUNC, STV_DEFAULT, 1, 0x5000, 1 },
		{ "memalign", STB_GLOBAL, STT_FUNC, STV_HIDDEN, 1, 0x6000, 1 },
		{ "pvalloc", STB_WEAK, STT_FUNC, STV_DEFAULT, 1, 0x7000, 1 },
		{ "aligned_alloc", STB_GLOBAL, STT_OBJECT, STV_DEFAULT, 1, 0x8000, 1 },
		{ "posix_memalign", STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1, 0x9000, 0 },
		{ NULL, STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1, 0xa000, 1 },
		{ "reallocarray", STB_GLOBAL, STT_FUNC, STV_PROTECTED, SHN_ABS, 0xb000, 1 },
	};
	char *buf = calloc(1, IMAGE_MAX);
	struct hook_sym hs[ALLOC_FN_MAX];
	Elf *elf = build_elf(buf, SHT_DYNSYM, fs, sizeof(fs) / sizeof(fs[0]), true, 2);

	ck_assert_ptr_nonnull(elf);
	for (int is_static = 0; is_static < 2; is_static++) {
		ck_assert_int_eq(hooks_elf_symbols(elf, is_static, hs), 3);
		ck_assert(hs[ALLOC_MALLOC].is_found);
		ck_assert_uint_eq(hs[ALLOC_MALLOC].value, 0x2000);
		ck_assert(!hs[ALLOC_MALLOC].is_ifunc);
		ck_assert(hs[ALLOC_CALLOC].is_found);
		ck_assert(hs[ALLOC_CALLOC].is_ifunc);
		ck_assert(hs[ALLOC_PVALLOC].is_found);
		ck_assert_uint_eq(hs[ALLOC_PVALLOC].value, 0x7000);
		ck_assert(!hs[ALLOC_FREE].is_found);
		ck_assert(!hs[ALLOC_REALLOC].is_found);
		ck_assert(!hs[ALLOC_VALLOC].is_found);
		ck_assert(!hs[ALLOC_MEMALIGN].is_found);
		ck_assert(!hs[ALLOC_ALIGNED_ALLOC].is_found);
		ck_assert(!hs[ALLOC_POSIX_MEMALIGN].is_found);
		ck_assert(!hs[ALLOC_REALLOCARRAY].is_found);
		ck_assert_uint_eq(hs[ALLOC_FREE].value, 0);
	}
	elf_end(elf);

	/* without .gnu.version every global definition counts: the first malloc */
	elf = build_elf(buf, SHT_DYNSYM, fs, sizeof(fs) / sizeof(fs[0]), false, 2);
	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(hooks_elf_symbols(elf, false, hs), 5);
	ck_assert_uint_eq(hs[ALLOC_MALLOC].value, 0x1000);
	ck_assert_uint_eq(hs[ALLOC_FREE].value, 0x3000);
	ck_assert_uint_eq(hs[ALLOC_POSIX_MEMALIGN].value, 0x9000);
	elf_end(elf);
	free(buf);
}
END_TEST

START_TEST(test_elf_symtab)
{
	static const struct fake_sym fs[] = {
		{ "malloc", STB_LOCAL, STT_FUNC, STV_DEFAULT, 1, 0x3000, 0 },
		{ "malloc", STB_GLOBAL, STT_FUNC, STV_HIDDEN, 1, 0x4000, 0 },
		{ "calloc", STB_LOCAL, STT_FUNC, STV_DEFAULT, 1, 0x100, 0 },
		{ "calloc", STB_LOCAL, STT_FUNC, STV_DEFAULT, 1, 0x200, 0 },
		{ "free", STB_LOCAL, STT_FUNC, STV_DEFAULT, 1, 0x500, 0 },
		{ "realloc", STB_LOCAL, STT_FUNC, STV_DEFAULT, 1, 0x600, 0 },
		{ "realloc", STB_LOCAL, STT_FUNC, STV_DEFAULT, 1, 0x600, 0 },
		{ "valloc", STB_LOCAL, STT_FILE, STV_DEFAULT, SHN_ABS, 0, 0 },
	};
	char *buf = calloc(1, IMAGE_MAX);
	struct hook_sym hs[ALLOC_FN_MAX];
	Elf *elf = build_elf(buf, SHT_SYMTAB, fs, sizeof(fs) / sizeof(fs[0]), false, 2);

	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(hooks_elf_symbols(elf, true, hs), 3);
	ck_assert_uint_eq(hs[ALLOC_MALLOC].value, 0x4000); /* global beats local */
	ck_assert(!hs[ALLOC_CALLOC].is_found);		  /* two different locals */
	ck_assert_uint_eq(hs[ALLOC_FREE].value, 0x500);
	ck_assert_uint_eq(hs[ALLOC_REALLOC].value, 0x600);
	ck_assert(!hs[ALLOC_VALLOC].is_found);
	/* .symtab is only read for a static executable */
	ck_assert_int_eq(hooks_elf_symbols(elf, false, hs), 0);
	elf_end(elf);
	free(buf);
}
END_TEST

START_TEST(test_elf_malformed)
{
	static const struct fake_sym fs[] = {
		{ "malloc", STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1, 0x1000, 1 },
	};
	char *buf = calloc(1, IMAGE_MAX);
	struct hook_sym hs[ALLOC_FN_MAX];
	Elf *elf;

	/* string table index out of range */
	elf = build_elf(buf, SHT_DYNSYM, fs, 1, true, 99);
	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(hooks_elf_symbols(elf, false, hs), -EBADMSG);
	elf_end(elf);
	/* linked to a section that is not a string table */
	elf = build_elf(buf, SHT_DYNSYM, fs, 1, true, 1);
	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(hooks_elf_symbols(elf, false, hs), -EBADMSG);
	ck_assert(!hs[ALLOC_MALLOC].is_found);
	elf_end(elf);
	/* not an ELF file at all */
	memcpy(buf, "!<arch>\n", 8);
	elf = elf_memory(buf, 64);
	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(hooks_elf_symbols(elf, false, hs), -EBADMSG);
	elf_end(elf);
	free(buf);
}
END_TEST

/* ---- helpers for processes ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* waitpid with a deadline. Returns pid, or -1 after WAIT_MS. */
static pid_t wait_bounded(pid_t pid, int *status)
{
	uint64_t deadline = mono_ms() + WAIT_MS;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG | __WALL);

		if (r == pid || (r < 0 && errno != EINTR))
			return r;
		if (mono_ms() > deadline)
			return -1;
		usleep(1000);
	}
}

/* Kill a child we started by its pid and reap it. */
static void kill_reap(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	(void)kill(pid, SIGKILL);
	(void)wait_bounded(pid, &status);
}

/* Start path under PTRACE_TRACEME and return it stopped at its exec (before it ran anything, and
 * before any dynamic linker ran); it dies with us (PTRACE_O_EXITKILL). Returns -1 on failure. */
static pid_t spawn_exec_stopped(const char *path, char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	if (wait_bounded(pid, &status) != pid || !WIFSTOPPED(status) ||
	    WSTOPSIG(status) != SIGTRAP) {
		kill_reap(pid);
		return -1;
	}
	(void)ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_EXITKILL);
	return pid;
}

/* Start this test program again in its --print-dlsym mode with the given LD_PRELOAD; read the line
 * of addresses it prints into line. Returns its pid or -1 (then the child is already reaped). */
static pid_t spawn_printer(const char *preload, char *line, size_t size)
{
	int fds[2];
	size_t len = 0;
	uint64_t deadline;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		(void)close(fds[0]);
		(void)close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(126);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		execl("/proc/self/exe", "check_hooks", PRINT_ARG, (char *)NULL);
		_exit(127);
	}
	(void)close(fds[1]);
	deadline = mono_ms() + WAIT_MS;
	while (len + 1 < size && !memchr(line, '\n', len)) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t n;

		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			break;
		n = read(fds[0], line + len, size - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	(void)close(fds[0]);
	line[len] = '\0';
	if (!strchr(line, '\n')) {
		kill_reap(pid);
		return -1;
	}
	return pid;
}

/* The address the printer reported for name, from " name=0x..." */
static uint64_t printed_addr(const char *line, const char *name)
{
	char key[64];
	const char *p;
	unsigned long long v;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(line, key);
	ck_assert_msg(p != NULL, "child did not print %s: %s", name, line);
	ck_assert_int_eq(sscanf(p + strlen(key), "%llx", &v), 1);
	return v;
}

static void print_dlsym(void)
{
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++)
		printf(" %s=0x%" PRIx64, alloc_fn_name(fn),
		       (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, alloc_fn_name(fn)));
	printf("\n");
	fflush(stdout);
}

static void check_consistent(const struct hook_set *hs)
{
	ck_assert_uint_le(hs->n_modules, HOOKS_MODULES_MAX);
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		int m = hs->module_of[fn];

		if (hs->addr[fn] == 0) {
			ck_assert_int_eq(m, -1);
			continue;
		}
		ck_assert_int_ge(m, 0);
		ck_assert_int_lt(m, (int)hs->n_modules);
		ck_assert_uint_ge(hs->addr[fn], hs->modules[m].text_start);
		ck_assert_uint_lt(hs->addr[fn], hs->modules[m].text_end);
	}
}

/* ---- resolving live processes ---- */

struct lib_bias {
	const char *needle;
	uint64_t bias;
	bool is_found;
};

static int find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
	struct lib_bias *lb = data;

	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, lb->needle)) {
		lb->bias = info->dlpi_addr;
		lb->is_found = true;
		return 1;
	}
	return 0;
}

START_TEST(test_resolve_self)
{
	struct hook_set hs;
	struct lib_bias libc = { .needle = "libc.so" };

	ck_assert_int_eq(hooks_resolve(getpid(), &hs), 0);
	ck_assert(hs.has_link_map);
	check_consistent(&hs);
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		uint64_t want = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, alloc_fn_name(fn));
		int m = hs.module_of[fn];

		ck_assert_msg(want != 0, "%s not found by dlsym", alloc_fn_name(fn));
		ck_assert_msg(hs.addr[fn] == want, "%s: resolved 0x%" PRIx64 ", dlsym 0x%" PRIx64,
			      alloc_fn_name(fn), hs.addr[fn], want);
		ck_assert_int_ge(m, 0);
		/* with ASan, libasan comes first in the link map and defines the allocator */
		if (!HAS_ASAN)
			ck_assert_msg(strstr(hs.modules[m].path, "libc.so") != NULL,
				      "%s from '%s'", alloc_fn_name(fn), hs.modules[m].path);
	}
	ck_assert_uint_eq(hs.ifunc_mask, 0);
	ck_assert_uint_eq(hs.n_over_cap, 0);

	/* the bias agrees with the dynamic linker's */
	dl_iterate_phdr(find_lib, &libc);
	ck_assert(libc.is_found);
	if (!HAS_ASAN) {
		ck_assert_uint_eq(hs.n_modules, 1);
		ck_assert_uint_eq(hs.modules[0].bias, libc.bias);
	}
}
END_TEST

START_TEST(test_canonical)
{
	struct hook_set hs;

	ck_assert_int_eq(hooks_resolve(getpid(), &hs), 0);
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		enum alloc_fn c = hooks_canonical(&hs, fn);

		ck_assert_int_le(c, fn);
		ck_assert_uint_eq(hs.addr[c], hs.addr[fn]);
		for (int i = 0; i < (int)c; i++)
			ck_assert_uint_ne(hs.addr[i], hs.addr[fn]);
	}
	/* glibc makes memalign an alias of aligned_alloc */
	if (dlsym(RTLD_DEFAULT, "memalign") == dlsym(RTLD_DEFAULT, "aligned_alloc"))
		ck_assert_int_eq(hooks_canonical(&hs, ALLOC_MEMALIGN), ALLOC_ALIGNED_ALLOC);
	ck_assert_int_eq(hooks_canonical(&hs, ALLOC_MALLOC), ALLOC_MALLOC);
	ck_assert_str_eq(alloc_fn_name(ALLOC_POSIX_MEMALIGN), "posix_memalign");
	ck_assert_ptr_null(alloc_fn_name(ALLOC_FN_MAX));
}
END_TEST

START_TEST(test_resolve_jemalloc)
{
	char line[4096];
	struct hook_set hs;
	pid_t pid;
	int r, m;

	if (access(JEMALLOC, R_OK) != 0) {
		fprintf(stderr, "SKIP test_resolve_jemalloc: %s is not installed (libjemalloc2)\n",
			JEMALLOC);
		return;
	}
	if (HAS_ASAN) {
		fprintf(stderr, "SKIP test_resolve_jemalloc: ASan must be first in the link map\n");
		return;
	}
	pid = spawn_printer(JEMALLOC, line, sizeof(line));
	ck_assert_msg(pid > 0, "cannot start the LD_PRELOAD=%s child", JEMALLOC);
	r = hooks_resolve(pid, &hs);
	kill_reap(pid);

	ck_assert_int_eq(r, 0);
	ck_assert(hs.has_link_map);
	check_consistent(&hs);
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
		uint64_t want = printed_addr(line, alloc_fn_name(fn));

		ck_assert_msg(hs.addr[fn] == want, "%s: resolved 0x%" PRIx64 ", child 0x%" PRIx64,
			      alloc_fn_name(fn), hs.addr[fn], want);
	}
	m = hs.module_of[ALLOC_MALLOC];
	ck_assert_int_ge(m, 0);
	ck_assert_msg(strstr(hs.modules[m].path, "jemalloc") != NULL, "malloc from '%s'",
		      hs.modules[m].path);
	ck_assert_int_eq(hs.module_of[ALLOC_FREE], m);
	ck_assert_int_eq(hs.module_of[ALLOC_REALLOC], m);
	/* the preloaded library is the first module that provided hooks */
	ck_assert_int_eq(m, 0);
}
END_TEST

START_TEST(test_resolve_exec_stop)
{
	char *argv[] = { "check_hooks", PRINT_ARG, NULL };
	struct hook_set hs;
	pid_t pid;
	int r;

	/* before the dynamic linker ran: DT_DEBUG is 0, only the exe and ld.so are mapped */
	pid = spawn_exec_stopped("/proc/self/exe", argv);
	ck_assert_msg(pid > 0, "cannot start a traced child");
	r = hooks_resolve(pid, &hs);
	kill_reap(pid);

	ck_assert_int_eq(r, -ENOENT);
	ck_assert(!hs.has_link_map);
	ck_assert_uint_eq(hs.addr[ALLOC_MALLOC], 0);
	ck_assert_int_eq(hs.module_of[ALLOC_MALLOC], -1);
}
END_TEST

/* What the static test expects, read from the file on its own: .symtab values and e_entry. */
struct static_info {
	bool is_static;
	bool has[ALLOC_FN_MAX];
	uint64_t value[ALLOC_FN_MAX];
	uint64_t entry;
};

static bool read_static_info(const char *path, struct static_info *si)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t n;
	int fd;

	memset(si, 0, sizeof(*si));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n) != 0) {
		if (elf)
			elf_end(elf);
		(void)close(fd);
		return false;
	}
	si->entry = eh.e_entry;
	si->is_static = true;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP)
			si->is_static = false;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sizeof(Elf64_Sym); i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC)
				continue;
			/* glibc's static malloc is global hidden, or local in a static-pie;
			 * a global or weak one would come first */
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			for (int fn = 0; name && fn < ALLOC_FN_MAX; fn++)
				if (strcmp(name, alloc_fn_name(fn)) == 0 &&
				    (!si->has[fn] || GELF_ST_BIND(s.st_info) != STB_LOCAL)) {
					si->has[fn] = true;
					si->value[fn] = s.st_value;
				}
		}
	}
	elf_end(elf);
	(void)close(fd);
	return true;
}

static uint64_t auxv_entry(pid_t pid)
{
	char path[64];
	Elf64_auxv_t a;
	uint64_t entry = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	while (fread(&a, sizeof(a), 1, f) == 1 && a.a_type != AT_NULL)
		if (a.a_type == AT_ENTRY)
			entry = a.a_un.a_val;
	fclose(f);
	return entry;
}

START_TEST(test_resolve_static)
{
	const char *candidates[] = { getenv("LEAKMOND_STATIC_TARGET"), "/bin/busybox",
				     "/usr/bin/busybox" };
	const char *path = NULL;
	struct static_info si;
	struct hook_set hs;
	char *argv[2];
	uint64_t entry, bias;
	pid_t pid;
	int r;

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !path; i++)
		if (candidates[i] && read_static_info(candidates[i], &si) && si.is_static)
			path = candidates[i];
	if (!path) {
		fprintf(stderr, "SKIP test_resolve_static: no static executable (set "
				"LEAKMOND_STATIC_TARGET or install busybox-static)\n");
		return;
	}
	argv[0] = (char *)path;
	argv[1] = NULL;
	/* stopped at its exec, so it never runs */
	pid = spawn_exec_stopped(path, argv);
	ck_assert_msg(pid > 0, "cannot start '%s' traced", path);
	entry = auxv_entry(pid);
	r = hooks_resolve(pid, &hs);
	kill_reap(pid);

	ck_assert_uint_ne(entry, 0);
	bias = entry - si.entry; /* an independent bias: AT_ENTRY - e_entry */
	if (!si.has[ALLOC_MALLOC]) {
		/* stripped: nothing names the allocator */
		ck_assert_int_eq(r, -ENOENT);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert(!hs.has_link_map);
	check_consistent(&hs);
	ck_assert_uint_eq(hs.n_modules, 1);
	ck_assert_uint_eq(hs.modules[0].bias, bias);
	for (int fn = 0; fn < ALLOC_FN_MAX; fn++)
		ck_assert_msg(hs.addr[fn] == (si.has[fn] ? bias + si.value[fn] : 0),
			      "%s: 0x%" PRIx64, alloc_fn_name(fn), hs.addr[fn]);
}
END_TEST

START_TEST(test_resolve_gone)
{
	struct hook_set hs;
	siginfo_t info;
	pid_t pid;
	int r, status;

	/* above any pid_max: never a process */
	ck_assert_int_eq(hooks_resolve(4194304, &hs), -ESRCH);
	ck_assert_int_eq(hs.module_of[ALLOC_MALLOC], -1);
	ck_assert_int_eq(hooks_resolve(0, &hs), -EINVAL);

	/* a zombie has no memory map */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	memset(&info, 0, sizeof(info));
	r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
	ck_assert_int_eq(r, 0);
	r = hooks_resolve(pid, &hs);
	ck_assert_int_eq(wait_bounded(pid, &status), pid);
	ck_assert_int_eq(r, -ESRCH);

	/* and once it is reaped, its pid names nothing */
	ck_assert_int_eq(hooks_resolve(pid, &hs), -ESRCH);
}
END_TEST

static Suite *hooks_suite(void)
{
	Suite *s = suite_create("hooks");
	TCase *tc = tcase_create("bias");

	tcase_add_test(tc, test_bias_separate_code);
	tcase_add_test(tc, test_bias_separate_code_exe);
	tcase_add_test(tc, test_bias_non_pie);
	tcase_add_test(tc, test_bias_old_layout);
	tcase_add_test(tc, test_bias_shared_page_agrees);
	tcase_add_test(tc, test_bias_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("symbols");
	tcase_add_test(tc, test_elf_dynsym);
	tcase_add_test(tc, test_elf_symtab);
	tcase_add_test(tc, test_elf_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_resolve_self);
	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_resolve_jemalloc);
	tcase_add_test(tc, test_resolve_exec_stop);
	tcase_add_test(tc, test_resolve_static);
	tcase_add_test(tc, test_resolve_gone);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc == 2 && strcmp(argv[1], PRINT_ARG) == 0) {
		/* the child of test_resolve_jemalloc: report, then wait to be killed */
		alarm(60);
		print_dlsym();
		for (;;)
			pause();
	}
	sr = srunner_create(hooks_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
