/* insn.h - x86-64 instruction length and displacement of one instruction into a scratch page.
 *
 * A hooked function's first instruction is overwritten by int3 and never put back while we trace.
 * The instruction it displaced runs from a relocated copy built here, placed by the caller at
 * `dest` inside the target's scratch page, and the copy continues in the original code after it.
 * Decoding is done by capstone. Pure code: no I/O, no logging, no allocation the caller sees.
 *
 * The copy is built for one (orig, dest) pair: writing it anywhere else is wrong.
 */
#ifndef LEAKMOND_INSN_H
#define LEAKMOND_INSN_H

#include <stddef.h>
#include <stdint.h>

#define INSN_COPY_MAX 64 /* bytes a relocated copy plus its jump back may take */
#define INSN_COPY_STEPS_MAX 4

/* One instruction boundary of a copy and the original address it is equivalent to. */
struct insn_copy_step {
	size_t offset;  /* an instruction of the copy starts at code[offset] */
	int64_t resume; /* a thread with rip == dest + offset resumes at orig + resume */
};

struct insn_copy {
	uint8_t code[INSN_COPY_MAX]; /* bytes to write at `dest` */
	size_t code_len;
	size_t orig_len; /* length of the displaced original instruction */
	/* Where a thread found with rip inside the copy must be moved at detach: the copy's
	 * instruction boundaries in increasing offset order, steps[0].offset == 0 resuming at orig.
	 * A plain instruction has two steps (itself -> orig, jump back -> orig + orig_len); an
	 * emulated call has two (push of the return address -> orig, jump to the callee -> the
	 * callee, whose return address is then already on the stack); a conditional jump has three
	 * (test -> orig, jump to the target -> target, jump back -> orig + orig_len); an
	 * unconditional jump has one. Use insn_copy_map_back() rather than reading these. */
	size_t n_steps;
	struct insn_copy_step steps[INSN_COPY_STEPS_MAX];
};

/* Decode the instruction at the start of `bytes` (len bytes available, read from the target at
 * address `orig`) and build in *ret a copy to run at address `dest` that behaves like the original
 * and then continues at orig + orig_len (or at the branch target, for a taken branch).
 *
 * - RIP-relative memory operands get their disp32 rewritten for dest.
 * - jmp rel8/rel32 becomes a jmp to the same target: `e9 rel32` when the target is within
 *   +/-2 GiB of the copy, else the absolute `ff 25 00000000` + 8-byte address.
 * - call rel32 becomes `push qword [rip+x]` of the 8-byte return address orig + orig_len stored
 *   in the copy (one instruction, no register or flag touched) then a jmp to the callee as above.
 *   The callee returns straight into the original code, never into the scratch page.
 * - jcc rel8/rel32 becomes the inverted short jcc over a jmp to the target.
 * - Everything else is copied verbatim. A jump back to orig + orig_len follows unless the copy
 *   ends in an unconditional jump: `e9 rel32` when in range, else the 14-byte absolute form.
 *
 * Returns 0; -EINVAL if len is 0 or the bytes do not decode (truncated or invalid); -ENOTSUP for
 * an instruction that cannot be displaced safely: int3, int n, syscall, sysenter and other
 * privileged or interrupt-class instructions, loop/loope/loopne/jrcxz/jecxz, xbegin, indirect
 * calls (call reg/call [mem]: the return address would point into the scratch page), branches
 * with a 0x66 prefix, eip-relative (0x67) operands, any other instruction capstone says reads or
 * writes rip; -ERANGE if a RIP-relative operand's address is more than +/-2 GiB from the copy;
 * -ENOMEM if capstone runs out of memory. On error *ret is left zeroed. */
int insn_relocate(const uint8_t *bytes, size_t len, uint64_t orig, uint64_t dest,
		  struct insn_copy *ret);

/* Map a rip inside a copy built by insn_relocate(bytes, len, orig, dest, copy) back to the address
 * in the original code a thread should resume at (see struct insn_copy: the last instruction
 * boundary at or before rip decides; for a plain instruction dest + 0 maps to orig and anything
 * after it to orig + orig_len). Registers other than rip never need fixing. Returns 0 and
 * *ret_rip, or -ERANGE if rip is not inside [dest, dest + code_len). */
int insn_copy_map_back(const struct insn_copy *copy, uint64_t orig, uint64_t dest, uint64_t rip,
		       uint64_t *ret_rip);

/* Relocate the whole instructions at the start of bytes (len available, read from address orig)
 * that cover at least min_len bytes, to run at dest: each as insn_relocate() does, one after the
 * other, then a single jump back to orig + covered. Only the last instruction may be a call or an
 * unconditional jump (anything after one of those is reached another way, and a call's return
 * address would land inside the covered bytes); conditional jumps may be anywhere. Writes at most
 * code_cap bytes to ret_code. Returns 0 with *ret_code_len and *ret_covered (>= min_len); -ENOTSUP,
 * -EINVAL, -ERANGE as insn_relocate; -E2BIG if code_cap is too small. */
int insn_relocate_prologue(const uint8_t *bytes, size_t len, uint64_t orig, uint64_t dest,
			   size_t min_len, uint8_t *ret_code, size_t code_cap, size_t *ret_code_len,
			   size_t *ret_covered);

/* Whether any direct jump, conditional jump or call in the code bytes[0..len) (at address addr,
 * disassembled linearly, skipping bytes that do not decode) targets an address strictly between
 * lo and hi. Returns 1, 0, or -ENOMEM/-ENOTSUP. */
int insn_branches_into(const uint8_t *bytes, size_t len, uint64_t addr, uint64_t lo, uint64_t hi);

/* Length in bytes of the x86-64 instruction at `bytes` (len bytes available, at address `addr`),
 * or -EINVAL if it does not decode within len bytes (or len is 0), -ENOMEM. */
int insn_length(const uint8_t *bytes, size_t len, uint64_t addr);

#endif
