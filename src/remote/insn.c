#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <capstone/capstone.h>

#include "remote/insn.h"

#define JMP_REL32_LEN 5
#define JMP_ABS_LEN 14 /* ff 25 00000000, then the 8-byte target */
#define PUSH_RIP_LEN 6 /* ff 35 disp32: push qword [rip+disp32] */

struct decoded {
	csh handle;
	bool is_open;
	cs_insn *insn;
};

static void decoded_done(struct decoded *d)
{
	if (d->insn)
		cs_free(d->insn, 1);
	if (d->is_open)
		(void)cs_close(&d->handle);
}

#define _cleanup_decoded_ __attribute__((cleanup(decoded_done)))

/* Decode one instruction with full detail. The handle is opened per call: relocation happens once
 * per hook, and a private handle needs no locking. */
static int decode(const uint8_t *bytes, size_t len, uint64_t addr, struct decoded *d)
{
	cs_err err;

	if (!bytes || len == 0)
		return -EINVAL;
	err = cs_open(CS_ARCH_X86, CS_MODE_64, &d->handle);
	if (err != CS_ERR_OK)
		return err == CS_ERR_MEM ? -ENOMEM : -ENOTSUP;
	d->is_open = true;
	err = cs_option(d->handle, CS_OPT_DETAIL, CS_OPT_ON);
	if (err != CS_ERR_OK)
		return err == CS_ERR_MEM ? -ENOMEM : -ENOTSUP;
	if (cs_disasm(d->handle, bytes, len, addr, 1, &d->insn) != 1) {
		d->insn = NULL;
		return cs_errno(d->handle) == CS_ERR_MEM ? -ENOMEM : -EINVAL;
	}
	if (!d->insn->detail || d->insn->size == 0 || d->insn->size > len)
		return -EINVAL;
	return 0;
}

static bool fits_int32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int32_t get_le32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			 (uint32_t)p[3] << 24);
}

/* Append n bytes to the copy. Every sequence built here fits INSN_COPY_MAX by construction. */
static void emit(struct insn_copy *c, const void *p, size_t n)
{
	assert(c->code_len + n <= INSN_COPY_MAX);
	memcpy(c->code + c->code_len, p, n);
	c->code_len += n;
}

/* Record that the next instruction emitted is equivalent to rip == orig + resume. */
static void add_step(struct insn_copy *c, int64_t resume)
{
	assert(c->n_steps < INSN_COPY_STEPS_MAX);
	c->steps[c->n_steps].offset = c->code_len;
	c->steps[c->n_steps].resume = resume;
	c->n_steps++;
}

/* Append a jump from the copy (placed at dest) to target: rel32 when it reaches, else absolute. */
static void emit_jmp(struct insn_copy *c, uint64_t dest, uint64_t target)
{
	int64_t rel = (int64_t)(target - (dest + c->code_len + JMP_REL32_LEN));
	uint8_t b[JMP_ABS_LEN] = { 0xff, 0x25, 0, 0, 0, 0 };

	if (fits_int32(rel)) {
		b[0] = 0xe9;
		put_le32(b + 1, (uint32_t)rel);
		emit(c, b, JMP_REL32_LEN);
		return;
	}
	put_le64(b + 6, target);
	emit(c, b, JMP_ABS_LEN);
}

static bool has_group(const cs_insn *insn, uint8_t group)
{
	for (uint8_t i = 0; i < insn->detail->groups_count; i++)
		if (insn->detail->groups[i] == group)
			return true;
	return false;
}

static bool is_ip_reg(unsigned reg)
{
	return reg == X86_REG_RIP || reg == X86_REG_EIP || reg == X86_REG_IP;
}

/* Does the instruction name the instruction pointer anywhere capstone can see it implicitly? */
static bool uses_ip_implicitly(const cs_insn *insn)
{
	const cs_detail *d = insn->detail;

	for (uint8_t i = 0; i < d->regs_read_count; i++)
		if (is_ip_reg(d->regs_read[i]))
			return true;
	for (uint8_t i = 0; i < d->regs_write_count; i++)
		if (is_ip_reg(d->regs_write[i]))
			return true;
	return false;
}

/* Condition code (the low nibble of 0x70+cc) of a jcc, or -1 for anything else. */
static int jcc_code(unsigned id)
{
	switch (id) {
	case X86_INS_JO:
		return 0x0;
	case X86_INS_JNO:
		return 0x1;
	case X86_INS_JB:
		return 0x2;
	case X86_INS_JAE:
		return 0x3;
	case X86_INS_JE:
		return 0x4;
	case X86_INS_JNE:
		return 0x5;
	case X86_INS_JBE:
		return 0x6;
	case X86_INS_JA:
		return 0x7;
	case X86_INS_JS:
		return 0x8;
	case X86_INS_JNS:
		return 0x9;
	case X86_INS_JP:
		return 0xa;
	case X86_INS_JNP:
		return 0xb;
	case X86_INS_JL:
		return 0xc;
	case X86_INS_JGE:
		return 0xd;
	case X86_INS_JLE:
		return 0xe;
	case X86_INS_JG:
		return 0xf;
	default:
		return -1;
	}
}

/* Relative jmp, call or jcc to `target`: rebuilt with targets that do not depend on where the
 * copy runs. */
static int relocate_branch(const cs_insn *insn, uint64_t orig, uint64_t dest, uint64_t target,
			   struct insn_copy *c)
{
	uint64_t next = orig + insn->size;
	int cc;

	if (insn->id == X86_INS_JMP) {
		add_step(c, 0);
		emit_jmp(c, dest, target);
		return 0;
	}

	if (insn->id == X86_INS_CALL) {
		/* push qword [rip+x] of a return address kept after the code: one instruction, so
		 * a thread is either before it (resume at orig) or after it, at the jump to the
		 * callee with the return address already pushed (resume at the callee). */
		uint8_t push[PUSH_RIP_LEN] = { 0xff, 0x35 };
		uint8_t ret_addr[8];
		size_t push_at = c->code_len;

		add_step(c, 0);
		emit(c, push, sizeof(push));
		add_step(c, (int64_t)(target - orig));
		emit_jmp(c, dest, target);
		put_le32(c->code + push_at + 2, (uint32_t)(c->code_len - (push_at + PUSH_RIP_LEN)));
		put_le64(ret_addr, next);
		emit(c, ret_addr, sizeof(ret_addr));
		return 0;
	}

	cc = jcc_code(insn->id);
	if (cc >= 0) {
		/* j!cc over the jump to the target; falls into the jump back. A jcc changes nothing
		 * but rip, so each boundary maps to where the original would be. */
		uint8_t skip[2] = { (uint8_t)(0x70 | (cc ^ 1)), 0 };
		size_t skip_at = c->code_len;

		add_step(c, 0);
		emit(c, skip, sizeof(skip));
		add_step(c, (int64_t)(target - orig));
		emit_jmp(c, dest, target);
		c->code[skip_at + 1] = (uint8_t)(c->code_len - (skip_at + sizeof(skip)));
		add_step(c, insn->size);
		emit_jmp(c, dest, next);
		return 0;
	}

	/* loop, loope, loopne, jrcxz, jecxz, xbegin, and whatever else is rip-relative */
	return -ENOTSUP;
}

/* Offset of the disp32 of the instruction's RIP-relative memory operand; 0 if it has none.
 * capstone 4's disp_size is unreliable (2 for `cmp word [rip+x], imm16`), so the encoding is
 * checked against the ModRM byte instead: rip-relative is mod=00 rm=101 with the disp32 right
 * after ModRM and no SIB. */
static int rip_disp_offset(const cs_insn *insn, size_t *ret_offset)
{
	const cs_x86 *x = &insn->detail->x86;
	bool is_rip = false;
	size_t modrm = x->encoding.modrm_offset;
	size_t disp = x->encoding.disp_offset;

	for (uint8_t i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type != X86_OP_MEM)
			continue;
		if (op->mem.base == X86_REG_EIP || op->mem.base == X86_REG_IP ||
		    is_ip_reg(op->mem.index))
			return -ENOTSUP;
		if (op->mem.base == X86_REG_RIP)
			is_rip = true;
	}

	if (!is_rip) {
		/* An encoded rip-relative operand capstone did not report: do not guess. */
		if (modrm != 0 && modrm < insn->size && (insn->bytes[modrm] & 0xc7) == 0x05)
			return -ENOTSUP;
		*ret_offset = 0;
		return 0;
	}

	if (modrm == 0 || disp != modrm + 1 || disp + 4 > insn->size ||
	    (insn->bytes[modrm] & 0xc7) != 0x05 || get_le32(insn->bytes + disp) != x->disp)
		return -ENOTSUP;
	*ret_offset = disp;
	return 0;
}

int insn_relocate(const uint8_t *bytes, size_t len, uint64_t orig, uint64_t dest,
		  struct insn_copy *ret)
{
	_cleanup_decoded_ struct decoded d = { 0 };
	const cs_insn *insn;
	const cs_x86 *x;
	size_t disp_at;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = decode(bytes, len, orig, &d);
	if (r < 0)
		return r;
	insn = d.insn;
	x = &insn->detail->x86;

	if (has_group(insn, X86_GRP_INT) || has_group(insn, X86_GRP_IRET) ||
	    has_group(insn, X86_GRP_PRIVILEGE))
		return -ENOTSUP;
	switch (insn->id) {
	case X86_INS_INT3:
	case X86_INS_INT:
	case X86_INS_INT1:
	case X86_INS_INTO:
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
	case X86_INS_SYSRET:
	case X86_INS_SYSEXIT:
		return -ENOTSUP;
	default:
		break;
	}

	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
	    (has_group(insn, X86_GRP_BRANCH_RELATIVE) || has_group(insn, X86_GRP_JUMP) ||
	     has_group(insn, X86_GRP_CALL))) {
		/* 66-prefixed near branches: capstone decodes rel16 (AMD), Intel CPUs ignore the
		 * prefix and read rel32. Whichever the CPU does, we cannot know the length. */
		if (x->prefix[2] == X86_PREFIX_OPSIZE)
			return -ENOTSUP;
		r = relocate_branch(insn, orig, dest, (uint64_t)x->operands[0].imm, ret);
		if (r < 0)
			goto fail;
		ret->orig_len = insn->size;
		return 0;
	}
	if (has_group(insn, X86_GRP_BRANCH_RELATIVE) || insn->id == X86_INS_CALL ||
	    has_group(insn, X86_GRP_CALL))
		return -ENOTSUP; /* indirect call: the return address would be in the copy */

	r = rip_disp_offset(insn, &disp_at);
	if (r < 0)
		return r;
	if (uses_ip_implicitly(insn))
		return -ENOTSUP;

	add_step(ret, 0);
	emit(ret, insn->bytes, insn->size);
	if (disp_at) {
		uint64_t ref = orig + insn->size + (uint64_t)x->disp;
		int64_t disp = (int64_t)(ref - (dest + insn->size));

		if (!fits_int32(disp)) {
			r = -ERANGE;
			goto fail;
		}
		put_le32(ret->code + disp_at, (uint32_t)disp);
	}
	add_step(ret, insn->size);
	emit_jmp(ret, dest, orig + insn->size);
	ret->orig_len = insn->size;
	return 0;

fail:
	memset(ret, 0, sizeof(*ret));
	return r;
}

int insn_copy_map_back(const struct insn_copy *copy, uint64_t orig, uint64_t dest, uint64_t rip,
		       uint64_t *ret_rip)
{
	uint64_t off = rip - dest;
	size_t i;

	if (rip < dest || off >= copy->code_len || copy->n_steps == 0)
		return -ERANGE;
	for (i = copy->n_steps; i > 1; i--)
		if (copy->steps[i - 1].offset <= off)
			break;
	*ret_rip = orig + (uint64_t)copy->steps[i - 1].resume;
	return 0;
}

int insn_relocate_prologue(const uint8_t *bytes, size_t len, uint64_t orig, uint64_t dest,
			   size_t min_len, uint8_t *ret_code, size_t code_cap, size_t *ret_code_len,
			   size_t *ret_covered)
{
	size_t off = 0, out = 0;

	while (off < min_len) {
		_cleanup_decoded_ struct decoded d = { 0 };
		struct insn_copy c;
		bool is_last;
		size_t keep;
		int r;

		r = decode(bytes + off, len - off, orig + off, &d);
		if (r < 0)
			return r;
		is_last = off + d.insn->size >= min_len;
		if (!is_last && (d.insn->id == X86_INS_JMP || d.insn->id == X86_INS_CALL ||
				 d.insn->id == X86_INS_RET || d.insn->id == X86_INS_RETF ||
				 has_group(d.insn, X86_GRP_RET) || has_group(d.insn, X86_GRP_CALL)))
			return -ENOTSUP; /* the bytes after it are reached some other way */
		r = insn_relocate(bytes + off, len - off, orig + off, dest + out, &c);
		if (r < 0)
			return r;
		/* the copy of a plain instruction or a conditional jump ends with its jump back to
		 * the next instruction: drop it when the next one's copy follows */
		keep = is_last || c.n_steps == 0 ? c.code_len : c.steps[c.n_steps - 1].offset;
		if (out + keep > code_cap)
			return -E2BIG;
		memcpy(ret_code + out, c.code, keep);
		out += keep;
		off += c.orig_len;
	}
	*ret_code_len = out;
	*ret_covered = off;
	return 0;
}

int insn_branches_into(const uint8_t *bytes, size_t len, uint64_t addr, uint64_t lo, uint64_t hi)
{
	_cleanup_decoded_ struct decoded d = { 0 };
	const uint8_t *p = bytes;
	uint64_t at = addr;
	size_t left = len;
	cs_err err;

	err = cs_open(CS_ARCH_X86, CS_MODE_64, &d.handle);
	if (err != CS_ERR_OK)
		return err == CS_ERR_MEM ? -ENOMEM : -ENOTSUP;
	d.is_open = true;
	if (cs_option(d.handle, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK)
		return -ENOTSUP;
	d.insn = cs_malloc(d.handle);
	if (!d.insn)
		return -ENOMEM;
	while (left > 0) {
		const cs_x86 *x;

		if (!cs_disasm_iter(d.handle, &p, &left, &at, d.insn)) {
			/* not code (padding, data): resynchronise one byte further */
			p++;
			at++;
			left--;
			continue;
		}
		x = &d.insn->detail->x86;
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
		    (has_group(d.insn, X86_GRP_JUMP) || has_group(d.insn, X86_GRP_CALL) ||
		     has_group(d.insn, X86_GRP_BRANCH_RELATIVE))) {
			uint64_t target = (uint64_t)x->operands[0].imm;

			if (target > lo && target < hi)
				return 1;
		}
	}
	return 0;
}

int insn_length(const uint8_t *bytes, size_t len, uint64_t addr)
{
	_cleanup_decoded_ struct decoded d = { 0 };
	int r;

	r = decode(bytes, len, addr, &d);
	if (r < 0)
		return r;
	return d.insn->size;
}
