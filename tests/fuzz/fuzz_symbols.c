/* fuzz_symbols.c - ELF and DWARF of a target's file (src/stack/symbols.c, through libdwfl and
 * libdw) on arbitrary bytes: the input is an ELF file, added as a module the way a line of
 * /proc/PID/maps would place it, and some addresses in it are symbolized.
 *
 * The addresses: every function symbol's start and middle (.symtab, else .dynsym; at most
 * FUZZ_PCS of them), the start of each executable section, and a few fixed offsets into the
 * executable mapping, each looked up as a pc and as a return address. The harness reads the
 * headers itself with libelf to place the file; when they are too broken for that it still adds
 * the file at a default place, so the symbolizer's own checks are exercised too.
 *
 * The same file also goes through what leakmond itself (not the sandboxed helper) reads of a
 * target's ELF to place its hooks (src/image/hooks.c): the allocator's symbols as the dynamic
 * linker binds them and as a static executable defines them (hooks_elf_symbols), and the load
 * bias of each executable PT_LOAD as a maps line would place it (hooks_load_bias_exec). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "image/hooks.h"
#include "stack/symbols.h"

#define FUZZ_PCS 48
#define PAGE	 UINT64_C(4096)
#define DYN_BASE UINT64_C(0x7f1234560000)
#define SPAN_MAX (UINT64_C(1) << 32)

struct place {
	uint64_t start, end, exec_start, exec_end, exec_offset, bias;
};

static void add_pc(uint64_t *pcs, size_t *n, uint64_t pc)
{
	if (*n < FUZZ_PCS && pc)
		pcs[(*n)++] = pc;
}

/* Where a loader would map the file, from its PT_LOAD headers; false when they do not say. */
static bool place_file(Elf *elf, struct place *ret)
{
	GElf_Ehdr eh;
	size_t phnum;
	uint64_t lo = UINT64_MAX, hi = 0;
	bool has_exec = false;

	if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &phnum) != 0)
		return false;
	ret->bias = eh.e_type == ET_DYN ? DYN_BASE : 0;
	for (size_t i = 0; i < phnum && i < 64; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int) i, &ph) || ph.p_type != PT_LOAD || ph.p_memsz == 0 ||
		    ph.p_vaddr > SPAN_MAX || ph.p_memsz > SPAN_MAX)
			continue;
		if ((ph.p_vaddr & ~(PAGE - 1)) < lo)
			lo = ph.p_vaddr & ~(PAGE - 1);
		if (ph.p_vaddr + ph.p_memsz > hi)
			hi = ph.p_vaddr + ph.p_memsz;
		if ((ph.p_flags & PF_X) && !has_exec) {
			has_exec = true;
			ret->exec_start = ret->bias + (ph.p_vaddr & ~(PAGE - 1));
			ret->exec_end =
			    ret->bias + ((ph.p_vaddr + ph.p_memsz + PAGE - 1) & ~(PAGE - 1));
			ret->exec_offset = ph.p_offset & ~(PAGE - 1);
		}
	}
	if (!has_exec || lo >= hi)
		return false;
	ret->start = ret->bias + lo;
	ret->end = ret->bias + ((hi + PAGE - 1) & ~(PAGE - 1));
	return ret->exec_start >= ret->start && ret->exec_end <= ret->end;
}

/* Function symbols and executable sections, as addresses where the file is placed. */
static void collect_pcs(Elf *elf, const struct place *p, uint64_t *pcs, size_t *n)
{
	Elf_Scn *scn = NULL;
	Elf_Data *symdata = NULL;
	size_t symcount = 0;
	int symtype = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_addr)
			add_pc(pcs, n, p->bias + sh.sh_addr);
		if ((sh.sh_type == SHT_SYMTAB ||
		     (sh.sh_type == SHT_DYNSYM && symtype != SHT_SYMTAB)) &&
		    sh.sh_entsize) {
			symdata = elf_getdata(scn, NULL);
			symcount = symdata ? symdata->d_size / sh.sh_entsize : 0;
			symtype = (int) sh.sh_type;
		}
	}
	for (size_t i = 0; symdata && i < symcount && i < 4096; i++) {
		GElf_Sym sym;

		if (!gelf_getsym(symdata, (int) i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    !sym.st_value)
			continue;
		add_pc(pcs, n, p->bias + sym.st_value);
		if (sym.st_size > 1)
			add_pc(pcs, n, p->bias + sym.st_value + sym.st_size / 2);
	}
}

/* hooks.c's parsing of the same file: symbols found are counted right, found ones only; each
 * executable segment's bias is page-aligned, and maps back to the mapping's start. */
static void check_hooks(Elf *elf)
{
	struct hook_sym syms[ALLOC_FN_MAX];
	GElf_Phdr phdrs[64];
	size_t phnum = 0, n = 0;

	for (int is_static = 0; is_static < 2; is_static++) {
		int r = hooks_elf_symbols(elf, is_static, syms), found = 0;

		FUZZ_ASSERT(r >= 0 || r == -EBADMSG);
		for (int fn = 0; fn < ALLOC_FN_MAX; fn++) {
			FUZZ_ASSERT(syms[fn].is_found || (!syms[fn].value && !syms[fn].is_ifunc));
			found += syms[fn].is_found;
		}
		FUZZ_ASSERT(found == (r < 0 ? 0 : r));
	}
	if (elf_getphdrnum(elf, &phnum) != 0)
		return;
	for (size_t i = 0; i < phnum && n < 64; i++)
		if (gelf_getphdr(elf, (int) i, &phdrs[n]))
			n++;
	for (size_t i = 0; i < n; i++) {
		uint64_t start = DYN_BASE + (phdrs[i].p_vaddr & ~(PAGE - 1)), bias;
		uint64_t offset = phdrs[i].p_offset & ~(PAGE - 1);
		int r;

		if (phdrs[i].p_type != PT_LOAD || !(phdrs[i].p_flags & PF_X))
			continue;
		r = hooks_load_bias_exec(phdrs, n, start, offset, &bias);
		FUZZ_ASSERT(r == 0 || r == -ENOENT || r == -ENOTUNIQ || r == -EBADMSG);
		if (r == 0)
			FUZZ_ASSERT(bias % PAGE == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct place p = {.start = DYN_BASE,
			  .end = DYN_BASE + 16 * PAGE,
			  .exec_start = DYN_BASE + PAGE,
			  .exec_end = DYN_BASE + 8 * PAGE,
			  .exec_offset = PAGE,
			  .bias = DYN_BASE};
	struct sym_frame frames[SYM_INLINE_MAX];
	uint64_t pcs[FUZZ_PCS];
	size_t n_pcs = 0;
	struct symbolizer *s;
	Elf *elf;
	int fd, r;

	fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(write(fd, data, size) == (ssize_t) size);
	(void) elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf) {
		struct place q = {0};

		if (elf_kind(elf) == ELF_K_ELF && place_file(elf, &q))
			p = q;
		collect_pcs(elf, &p, pcs, &n_pcs);
		if (elf_kind(elf) == ELF_K_ELF)
			check_hooks(elf);
		elf_end(elf);
	}
	for (uint64_t off = 0; off < 4 * PAGE; off += PAGE / 2 + 8)
		add_pc(pcs, &n_pcs, p.exec_start + off);

	s = symbolizer_new(0);
	FUZZ_ASSERT(s != NULL);
	r = symbolizer_add_module(s, "/fuzz/module.so", fd, p.start, p.end, p.exec_start,
				  p.exec_end, p.exec_offset);
	FUZZ_ASSERT(r == 0 || r == -ENOEXEC);
	for (size_t i = 0; i < n_pcs; i++) {
		for (int ra = 0; ra < 2; ra++) {
			int n = symbolizer_lookup(s, pcs[i], ra, frames, SYM_INLINE_MAX);

			FUZZ_ASSERT(n >= 1 && n <= SYM_INLINE_MAX);
			for (int k = 0; k < n; k++) {
				FUZZ_ASSERT(frames[k].pc == pcs[i]);
				FUZZ_ASSERT(!frames[k].function ||
					    strlen(frames[k].function) < SYM_STRING_MAX);
				FUZZ_ASSERT(!frames[k].file ||
					    strlen(frames[k].file) < SYM_STRING_MAX);
				FUZZ_ASSERT(frames[k].line >= 0);
			}
		}
	}
	symbolizer_free(s);
	close(fd);
	return 0;
}
