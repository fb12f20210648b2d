#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "remote/insn.h"

/* Most tests execute what insn_relocate() built. An "original" function is written into one page
 * near this binary's data, its first instruction is relocated into a second page (near, so that
 * rip-relative operands still reach, or more than 2 GiB away to force absolute jumps), and the
 * displaced bytes in the original are then overwritten with int3 as the tracer does: a copy that
 * jumps back to the wrong place dies of SIGTRAP, which Check reports as a failure. */

#define ARENA_SIZE 4096
#define STUB_OFFSET 0x800
#define GIB (1ULL << 30)
#define MIB (1ULL << 20)
#define USER_TOP 0x7fffffff0000ULL

static volatile uint64_t test_value = 0x1122334455667788ULL;
static volatile uint8_t test_flags[3] = { 0xff, 0, 0xff };
static volatile uint16_t test_words[3] = { 0xffff, 0x1234, 0xffff };

struct arena {
	uint8_t *orig; /* the "original" code, and entry stubs at STUB_OFFSET */
	uint8_t *copy; /* where the relocated copy runs */
};

static uint8_t *map_at(uint64_t addr)
{
	void *p;

	if (addr < 0x10000 || addr >= USER_TOP)
		return NULL;
	p = mmap((void *)(uintptr_t)addr, ARENA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if ((uintptr_t)p != addr) { /* a kernel older than 4.17 took it as a hint */
		(void)munmap(p, ARENA_SIZE);
		return NULL;
	}
	return p;
}

/* A fresh page within +/-1 GiB of anchor. */
static uint8_t *map_near(uint64_t anchor)
{
	uint64_t base = anchor & ~(uint64_t)(ARENA_SIZE - 1);

	for (uint64_t i = 1; i < 256; i++) {
		uint8_t *p = map_at(base + i * 4 * MIB);

		if (!p)
			p = map_at(base - i * 4 * MIB);
		if (p)
			return p;
	}
	return NULL;
}

/* A fresh page more than 3 GiB from anchor: no rel32 reaches between them. */
static uint8_t *map_far(uint64_t anchor)
{
	uint64_t base = anchor & ~(uint64_t)(ARENA_SIZE - 1);

	for (uint64_t i = 0; i < 64; i++) {
		uint64_t d = 3 * GIB + i * 256 * MIB;
		uint8_t *p = map_at(base + d);

		if (!p && base > d)
			p = map_at(base - d);
		if (p)
			return p;
	}
	return NULL;
}

static void arena_init(struct arena *a, bool is_far)
{
	a->orig = map_near((uintptr_t)&test_value);
	ck_assert_ptr_nonnull(a->orig);
	a->copy = is_far ? map_far((uintptr_t)a->orig) : map_near((uintptr_t)&test_value);
	ck_assert_ptr_nonnull(a->copy);
	memset(a->orig, 0xcc, ARENA_SIZE);
	memset(a->copy, 0xcc, ARENA_SIZE);
}

static void arena_done(struct arena *a)
{
	(void)munmap(a->orig, ARENA_SIZE);
	(void)munmap(a->copy, ARENA_SIZE);
}

static uint64_t addr_of(const volatile void *p)
{
	return (uintptr_t)p;
}

/* Put `code` at offset `at` of the original page. */
static void arena_put(struct arena *a, size_t at, const uint8_t *code, size_t len)
{
	ck_assert_uint_le(at + len, ARENA_SIZE);
	memcpy(a->orig + at, code, len);
}

/* Store the rel32 at code[at] so that, with code placed at orig, it reaches target from the end
 * of the instruction at code[end]. */
static void put_rel32(uint8_t *code, size_t at, size_t end, uint64_t orig, uint64_t target)
{
	int64_t rel = (int64_t)(target - (orig + end));
	uint32_t v;

	ck_assert(rel >= INT32_MIN && rel <= INT32_MAX);
	v = (uint32_t)rel;
	memcpy(code + at, &v, sizeof(v));
}

/* Relocate the instruction at the start of the original page into the copy page, write the copy,
 * overwrite the displaced instruction with int3, make both pages executable. */
static void arena_install(struct arena *a, struct insn_copy *c)
{
	ck_assert_int_eq(insn_relocate(a->orig, 16, addr_of(a->orig), addr_of(a->copy), c), 0);
	ck_assert_uint_gt(c->code_len, 0);
	ck_assert_uint_le(c->code_len, INSN_COPY_MAX);
	ck_assert_uint_gt(c->orig_len, 0);
	memcpy(a->copy, c->code, c->code_len);
	memset(a->orig, 0xcc, c->orig_len);
	ck_assert_int_eq(mprotect(a->orig, ARENA_SIZE, PROT_READ | PROT_EXEC), 0);
	ck_assert_int_eq(mprotect(a->copy, ARENA_SIZE, PROT_READ | PROT_EXEC), 0);
}

/* Entry stub at STUB_OFFSET: `prelude` (to set flags from the argument), then an absolute jump to
 * the copy. Call before arena_install(). Returns the stub's address. */
static uint8_t *arena_put_stub(struct arena *a, const uint8_t *prelude, size_t len)
{
	static const uint8_t jmp_abs[6] = { 0xff, 0x25, 0, 0, 0, 0 };
	uint64_t target = addr_of(a->copy);
	uint8_t *stub = a->orig + STUB_OFFSET;

	memcpy(stub, prelude, len);
	memcpy(stub + len, jmp_abs, sizeof(jmp_abs));
	memcpy(stub + len + sizeof(jmp_abs), &target, sizeof(target));
	return stub;
}

static uint64_t call_at(const void *code, uint64_t arg)
{
	uint64_t (*fn)(uint64_t) = (uint64_t(*)(uint64_t))(uintptr_t)code;

	return fn(arg);
}

/* Relocate code (first instruction) into a near or far copy and call the copy. */
static uint64_t run_copy(const uint8_t *code, size_t len, bool is_far, struct insn_copy *ret_c)
{
	struct arena a;
	uint64_t v;

	arena_init(&a, is_far);
	arena_put(&a, 0, code, len);
	arena_install(&a, ret_c);
	v = call_at(a.copy, 0);
	arena_done(&a);
	return v;
}

/* --- plain instructions, executed ------------------------------------------------------------ */

START_TEST(test_endbr64)
{
	/* endbr64; mov eax, 42; ret */
	static const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xb8, 0x2a, 0, 0, 0, 0xc3 };
	struct insn_copy c;

	ck_assert_uint_eq(run_copy(code, sizeof(code), false, &c), 42);
	ck_assert_uint_eq(c.orig_len, 4);
	ck_assert_mem_eq(c.code, code, 4);
	ck_assert_uint_eq(c.code[4], 0xe9); /* near: rel32 jump back */
	ck_assert_uint_eq(c.code_len, 4 + 5);
}
END_TEST

static const uint8_t push_rbp_code[] = {
	0x55,                   /* push rbp */
	0x58,                   /* pop rax */
	0x48, 0x31, 0xe8,       /* xor rax, rbp */
	0x48, 0x83, 0xc0, 0x2a, /* add rax, 42 */
	0xc3,                   /* ret */
};

START_TEST(test_push_rbp)
{
	struct insn_copy c;

	/* 42 only if the copy pushed rbp and continued at the pop */
	ck_assert_uint_eq(run_copy(push_rbp_code, sizeof(push_rbp_code), false, &c), 42);
	ck_assert_uint_eq(c.orig_len, 1);
	ck_assert_uint_eq(c.code_len, 1 + 5);
}
END_TEST

START_TEST(test_push_rbp_far_jump_back)
{
	struct insn_copy c;

	ck_assert_uint_eq(run_copy(push_rbp_code, sizeof(push_rbp_code), true, &c), 42);
	ck_assert_uint_eq(c.code_len, 1 + 14); /* absolute jump back */
	ck_assert_uint_eq(c.code[1], 0xff);
	ck_assert_uint_eq(c.code[2], 0x25);
}
END_TEST

START_TEST(test_sub_rsp)
{
	static const uint8_t code[] = {
		0x48, 0x83, 0xec, 0x18,       /* sub rsp, 0x18 */
		0x48, 0x8d, 0x44, 0x24, 0x18, /* lea rax, [rsp+0x18] */
		0x48, 0x29, 0xe0,             /* sub rax, rsp */
		0x48, 0x83, 0xc4, 0x18,       /* add rsp, 0x18 */
		0xc3,                         /* ret */
	};
	struct insn_copy c;

	ck_assert_uint_eq(run_copy(code, sizeof(code), false, &c), 0x18);
	ck_assert_uint_eq(c.orig_len, 4);
	ck_assert_mem_eq(c.code, code, 4);
}
END_TEST

/* --- rip-relative operands, executed ---------------------------------------------------------- */

START_TEST(test_mov_rip_relative)
{
	/* mov rax, [rip+X]; ret */
	uint8_t code[] = { 0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3 };
	struct insn_copy c;
	struct arena a;

	arena_init(&a, false);
	put_rel32(code, 3, 7, addr_of(a.orig), addr_of(&test_value));
	arena_put(&a, 0, code, sizeof(code));
	arena_install(&a, &c);
	ck_assert_uint_eq(call_at(a.copy, 0), 0x1122334455667788ULL);
	test_value = 0x0102030405060708ULL;
	ck_assert_uint_eq(call_at(a.copy, 0), 0x0102030405060708ULL);
	ck_assert_uint_eq(c.orig_len, 7);
	ck_assert_mem_eq(c.code, code, 3);
	ck_assert_mem_ne(c.code + 3, code + 3, 4); /* the pages differ, so must the disp32 */
	arena_done(&a);
}
END_TEST

START_TEST(test_lea_rip_relative)
{
	/* lea rdi, [rip+X]; mov rax, rdi; ret */
	uint8_t code[] = { 0x48, 0x8d, 0x3d, 0, 0, 0, 0, 0x48, 0x89, 0xf8, 0xc3 };
	struct insn_copy c;
	struct arena a;

	arena_init(&a, false);
	put_rel32(code, 3, 7, addr_of(a.orig), addr_of(&test_value));
	arena_put(&a, 0, code, sizeof(code));
	arena_install(&a, &c);
	ck_assert_uint_eq(call_at(a.copy, 0), addr_of(&test_value));
	arena_done(&a);
}
END_TEST

START_TEST(test_cmp_rip_relative_imm)
{
	/* cmp byte [rip+X], 0; sete al; movzx eax, al; ret. The disp32 is followed by an imm8, so
	 * rip at execution is the end of the immediate, not of the disp. */
	uint8_t code[] = { 0x80, 0x3d, 0, 0, 0, 0, 0x00, 0x0f, 0x94, 0xc0, 0x0f, 0xb6, 0xc0, 0xc3 };
	struct insn_copy c;
	struct arena a;

	arena_init(&a, false);
	put_rel32(code, 2, 7, addr_of(a.orig), addr_of(&test_flags[1]));
	arena_put(&a, 0, code, sizeof(code));
	arena_install(&a, &c);
	ck_assert_uint_eq(c.orig_len, 7);
	test_flags[1] = 0;
	ck_assert_uint_eq(call_at(a.copy, 0), 1);
	test_flags[1] = 1;
	ck_assert_uint_eq(call_at(a.copy, 0), 0);
	arena_done(&a);
}
END_TEST

START_TEST(test_cmp_word_rip_relative_imm16)
{
	/* cmp word [rip+X], 0x1234; sete al; movzx eax, al; ret (capstone 4 misreports its disp
	 * size as 2) */
	uint8_t code[] = { 0x66, 0x81, 0x3d, 0, 0, 0, 0, 0x34, 0x12,
			   0x0f, 0x94, 0xc0, 0x0f, 0xb6, 0xc0, 0xc3 };
	struct insn_copy c;
	struct arena a;

	arena_init(&a, false);
	put_rel32(code, 3, 9, addr_of(a.orig), addr_of(&test_words[1]));
	arena_put(&a, 0, code, sizeof(code));
	arena_install(&a, &c);
	ck_assert_uint_eq(c.orig_len, 9);
	ck_assert_uint_eq(call_at(a.copy, 0), 1);
	test_words[1] = 0x1235;
	ck_assert_uint_eq(call_at(a.copy, 0), 0);
	arena_done(&a);
}
END_TEST

START_TEST(test_rip_relative_out_of_range)
{
	static const uint8_t code[] = { 0x48, 0x8b, 0x05, 0, 0, 0, 0 }; /* mov rax, [rip+0] */
	uint64_t orig = 0x555555554000ULL;
	uint64_t ref = orig + 7;
	struct insn_copy c;

	/* the new disp32 is ref - (dest + 7): INT32_MIN still reaches, one byte further does not */
	ck_assert_int_eq(insn_relocate(code, sizeof(code), orig, ref - 7 + 0x80000000ULL, &c), 0);
	ck_assert_int_eq(insn_relocate(code, sizeof(code), orig, ref - 7 + 0x80000001ULL, &c),
			 -ERANGE);
	ck_assert_uint_eq(c.code_len, 0);
	ck_assert_int_eq(insn_relocate(code, sizeof(code), orig, ref - 7 - 0x7fffffffULL, &c), 0);
	ck_assert_int_eq(insn_relocate(code, sizeof(code), orig, ref - 7 - 0x80000000ULL, &c),
			 -ERANGE);
	ck_assert_int_eq(insn_relocate(code, sizeof(code), orig, orig + 4 * GIB, &c), -ERANGE);
	ck_assert_int_eq(insn_relocate(code, sizeof(code), orig, 0x7f0000000000ULL, &c), -ERANGE);
}
END_TEST

/* --- branches, executed ----------------------------------------------------------------------- */

static const uint8_t ret_1[] = { 0xb8, 0x01, 0, 0, 0, 0xc3 }; /* mov eax, 1; ret */
static const uint8_t ret_2[] = { 0xb8, 0x02, 0, 0, 0, 0xc3 }; /* mov eax, 2; ret */
static const uint8_t ret_7[] = { 0xb8, 0x07, 0, 0, 0, 0xc3 }; /* mov eax, 7; ret */

static void check_jmp(const uint8_t *jmp, size_t len, size_t target, bool is_far)
{
	struct insn_copy c;
	struct arena a;

	arena_init(&a, is_far);
	arena_put(&a, 0, jmp, len);
	arena_put(&a, len, ret_1, sizeof(ret_1)); /* fall-through: wrong */
	arena_put(&a, target, ret_7, sizeof(ret_7));
	arena_install(&a, &c);
	ck_assert_uint_eq(call_at(a.copy, 0), 7);
	ck_assert_uint_eq(c.orig_len, len);
	ck_assert_uint_eq(c.code_len, is_far ? 14 : 5);
	arena_done(&a);
}

START_TEST(test_jmp_rel32)
{
	static const uint8_t jmp[] = { 0xe9, 0xfb, 0, 0, 0 }; /* jmp orig+0x100 */

	check_jmp(jmp, sizeof(jmp), 0x100, false);
}
END_TEST

START_TEST(test_jmp_rel32_far)
{
	static const uint8_t jmp[] = { 0xe9, 0xfb, 0, 0, 0 };

	check_jmp(jmp, sizeof(jmp), 0x100, true);
}
END_TEST

START_TEST(test_jmp_rel8)
{
	static const uint8_t jmp[] = { 0xeb, 0x10 }; /* jmp orig+0x12 */

	check_jmp(jmp, sizeof(jmp), 0x12, false);
}
END_TEST

START_TEST(test_jmp_rel8_far)
{
	static const uint8_t jmp[] = { 0xeb, 0x10 };

	check_jmp(jmp, sizeof(jmp), 0x12, true);
}
END_TEST

static void check_call(bool is_far)
{
	static const uint8_t call[] = { 0xe8, 0xfb, 0, 0, 0 };         /* call orig+0x100 */
	static const uint8_t after[] = { 0x48, 0x83, 0xc0, 0x01, 0xc3 }; /* add rax, 1; ret */
	static const uint8_t callee[] = { 0x48, 0x8b, 0x04, 0x24, 0xc3 }; /* mov rax, [rsp]; ret */
	struct insn_copy c;
	struct arena a;

	arena_init(&a, is_far);
	arena_put(&a, 0, call, sizeof(call));
	arena_put(&a, 5, after, sizeof(after));
	arena_put(&a, 0x100, callee, sizeof(callee));
	arena_install(&a, &c);
	/* the callee saw the original return address, returned there, and that code ran */
	ck_assert_uint_eq(call_at(a.copy, 0), addr_of(a.orig) + 5 + 1);
	ck_assert_uint_eq(c.orig_len, 5);
	arena_done(&a);
}

START_TEST(test_call_rel32)
{
	check_call(false);
}
END_TEST

START_TEST(test_call_rel32_far)
{
	check_call(true);
}
END_TEST

/* je to `target` from a function entered with ZF = (arg == 0): taken returns 1, else 2. */
static void check_jcc(const uint8_t *jcc, size_t len, size_t target, bool is_far)
{
	static const uint8_t test_rdi[] = { 0x48, 0x85, 0xff }; /* test rdi, rdi */
	struct insn_copy c;
	struct arena a;
	uint8_t *stub;

	arena_init(&a, is_far);
	arena_put(&a, 0, jcc, len);
	arena_put(&a, len, ret_2, sizeof(ret_2));
	arena_put(&a, target, ret_1, sizeof(ret_1));
	stub = arena_put_stub(&a, test_rdi, sizeof(test_rdi));
	arena_install(&a, &c);
	ck_assert_uint_eq(call_at(stub, 0), 1);
	ck_assert_uint_eq(call_at(stub, 5), 2);
	ck_assert_uint_eq(c.orig_len, len);
	ck_assert_uint_eq(c.n_steps, 3);
	arena_done(&a);
}

START_TEST(test_jcc_rel8)
{
	static const uint8_t je[] = { 0x74, 0x10 }; /* je orig+0x12 */

	check_jcc(je, sizeof(je), 0x12, false);
}
END_TEST

START_TEST(test_jcc_rel8_far)
{
	static const uint8_t je[] = { 0x74, 0x10 };

	check_jcc(je, sizeof(je), 0x12, true);
}
END_TEST

START_TEST(test_jcc_rel32)
{
	static const uint8_t je[] = { 0x0f, 0x84, 0xfa, 0, 0, 0 }; /* je orig+0x100 */

	check_jcc(je, sizeof(je), 0x100, false);
}
END_TEST

START_TEST(test_jcc_rel32_far)
{
	static const uint8_t je[] = { 0x0f, 0x84, 0xfa, 0, 0, 0 };

	check_jcc(je, sizeof(je), 0x100, true);
}
END_TEST

/* --- mapping back ----------------------------------------------------------------------------- */

START_TEST(test_map_back_plain)
{
	static const uint8_t code[] = { 0x48, 0x8b, 0x05, 0, 0, 0, 0 }; /* mov rax, [rip+0] */
	uint64_t orig = 0x401000, dest = 0x402000, rip = 0;
	struct insn_copy c;

	ck_assert_int_eq(insn_relocate(code, sizeof(code), orig, dest, &c), 0);
	ck_assert_uint_eq(c.code_len, 7 + 5);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest, &rip), 0);
	ck_assert_uint_eq(rip, orig);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest + 7, &rip), 0);
	ck_assert_uint_eq(rip, orig + 7);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest + c.code_len - 1, &rip), 0);
	ck_assert_uint_eq(rip, orig + 7);
	rip = 1;
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest + c.code_len, &rip), -ERANGE);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest - 1, &rip), -ERANGE);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, orig, &rip), -ERANGE);
	ck_assert_uint_eq(rip, 1);
}
END_TEST

START_TEST(test_map_back_branches)
{
	static const uint8_t call[] = { 0xe8, 0xfb, 0, 0, 0 }; /* call orig+0x100 */
	static const uint8_t je[] = { 0x74, 0x10 };           /* je orig+0x12 */
	static const uint8_t jmp[] = { 0xeb, 0x10 };          /* jmp orig+0x12 */
	uint64_t orig = 0x401000, dest = 0x402000, rip = 0;
	struct insn_copy c;

	/* call: before the push, at the original call; after it, at the callee (return address
	 * already on the stack) */
	ck_assert_int_eq(insn_relocate(call, sizeof(call), orig, dest, &c), 0);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest, &rip), 0);
	ck_assert_uint_eq(rip, orig);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest + 6, &rip), 0);
	ck_assert_uint_eq(rip, orig + 0x100);

	/* jcc: the test, the jump to the target, the jump back */
	ck_assert_int_eq(insn_relocate(je, sizeof(je), orig, dest, &c), 0);
	ck_assert_uint_eq(c.code_len, 2 + 5 + 5);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest, &rip), 0);
	ck_assert_uint_eq(rip, orig);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest + 2, &rip), 0);
	ck_assert_uint_eq(rip, orig + 0x12);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest + 7, &rip), 0);
	ck_assert_uint_eq(rip, orig + 2);

	/* jmp: one instruction, no jump back */
	ck_assert_int_eq(insn_relocate(jmp, sizeof(jmp), orig, dest, &c), 0);
	ck_assert_uint_eq(c.code_len, 5);
	ck_assert_int_eq(insn_copy_map_back(&c, orig, dest, dest, &rip), 0);
	ck_assert_uint_eq(rip, orig);
}
END_TEST

/* --- rejected input --------------------------------------------------------------------------- */

START_TEST(test_garbage)
{
	static const uint8_t push_es[] = { 0x06 }; /* invalid in 64-bit mode */
	static const uint8_t daa[] = { 0x27 };     /* likewise */
	static const uint8_t truncated[] = { 0x48, 0x8b, 0x05, 0x00 };
	struct insn_copy c;

	ck_assert_int_eq(insn_relocate(push_es, sizeof(push_es), 0x1000, 0x2000, &c), -EINVAL);
	ck_assert_int_eq(insn_relocate(daa, sizeof(daa), 0x1000, 0x2000, &c), -EINVAL);
	ck_assert_int_eq(insn_relocate(truncated, sizeof(truncated), 0x1000, 0x2000, &c), -EINVAL);
	ck_assert_int_eq(insn_relocate(truncated, 0, 0x1000, 0x2000, &c), -EINVAL);
	ck_assert_int_eq(insn_length(push_es, sizeof(push_es), 0x1000), -EINVAL);
	ck_assert_int_eq(insn_length(truncated, sizeof(truncated), 0x1000), -EINVAL);
}
END_TEST

START_TEST(test_not_displaceable)
{
	static const struct {
		uint8_t bytes[8];
		size_t len;
	} cases[] = {
		{ { 0x0f, 0x05 }, 2 },                         /* syscall */
		{ { 0x0f, 0x34 }, 2 },                         /* sysenter */
		{ { 0xcc }, 1 },                               /* int3 */
		{ { 0xcd, 0x80 }, 2 },                         /* int 0x80 */
		{ { 0xe2, 0xfe }, 2 },                         /* loop . */
		{ { 0xe3, 0x00 }, 2 },                         /* jrcxz +0 */
		{ { 0xff, 0xd0 }, 2 },                         /* call rax */
		{ { 0xff, 0x15, 0, 0, 0, 0 }, 6 },             /* call [rip+0] */
		{ { 0xc7, 0xf8, 0, 0, 0, 0 }, 6 },             /* xbegin +0 */
		{ { 0x66, 0xe9, 0, 0, 0, 0 }, 6 },             /* jmp with operand-size prefix */
		{ { 0x67, 0x48, 0x8b, 0x05, 0, 0, 0, 0 }, 8 }, /* mov rax, [eip+0] */
	};
	struct insn_copy c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = insn_relocate(cases[i].bytes, cases[i].len, 0x1000, 0x2000, &c);

		ck_assert_msg(r == -ENOTSUP, "case %zu: got %d", i, r);
		ck_assert_uint_eq(c.code_len, 0);
	}
}
END_TEST

START_TEST(test_length)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55 };
	static const uint8_t mov_rip[] = { 0x48, 0x8b, 0x05, 1, 2, 3, 4, 0xc3 };
	static const uint8_t push_rbp[] = { 0x55, 0x48 };

	ck_assert_int_eq(insn_length(endbr64, sizeof(endbr64), 0x1000), 4);
	ck_assert_int_eq(insn_length(mov_rip, sizeof(mov_rip), 0x1000), 7);
	ck_assert_int_eq(insn_length(push_rbp, sizeof(push_rbp), 0x1000), 1);
}
END_TEST

static Suite *insn_suite(void)
{
	Suite *s = suite_create("insn");
	TCase *tc = tcase_create("relocate");

	tcase_add_test(tc, test_endbr64);
	tcase_add_test(tc, test_push_rbp);
	tcase_add_test(tc, test_push_rbp_far_jump_back);
	tcase_add_test(tc, test_sub_rsp);
	tcase_add_test(tc, test_mov_rip_relative);
	tcase_add_test(tc, test_lea_rip_relative);
	tcase_add_test(tc, test_cmp_rip_relative_imm);
	tcase_add_test(tc, test_cmp_word_rip_relative_imm16);
	tcase_add_test(tc, test_rip_relative_out_of_range);
	tcase_add_test(tc, test_jmp_rel32);
	tcase_add_test(tc, test_jmp_rel32_far);
	tcase_add_test(tc, test_jmp_rel8);
	tcase_add_test(tc, test_jmp_rel8_far);
	tcase_add_test(tc, test_call_rel32);
	tcase_add_test(tc, test_call_rel32_far);
	tcase_add_test(tc, test_jcc_rel8);
	tcase_add_test(tc, test_jcc_rel8_far);
	tcase_add_test(tc, test_jcc_rel32);
	tcase_add_test(tc, test_jcc_rel32_far);
	tcase_add_test(tc, test_map_back_plain);
	tcase_add_test(tc, test_map_back_branches);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_not_displaceable);
	tcase_add_test(tc, test_length);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(insn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
