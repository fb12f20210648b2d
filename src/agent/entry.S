/* entry.S - the agent's header, its allocator entry stubs and the trampoline area.
 *
 * struct agent_header is written out by hand here (agent.c checks its layout against abi.h);
 * its offsets are symbols of agent.lds, resolved at link time at base 0.
 *
 * A hooked allocator starts with `jmp agent_entry_<fn>`. The stub pushes the callee-saved
 * registers as they were at the allocator's entry (the C hook reports them in samples), aligns
 * the stack, calls hook_<fn>(rdi, rsi, rdx, saved) and returns the hook's rax to the allocator's
 * caller. rdi, rsi and rdx reach the hook untouched.
 */
#define AGENT_MAGIC 0x31544e474d4b4c7f
#define AGENT_ABI_VERSION 2
#define AGENT_HEADER_SIZE 136
#define TRAMP_AREA (10 * 64) /* ALLOC_FN_MAX * AGENT_TRAMP_SIZE */

	.section .agent_header, "a"
	.globl agent_header
	.hidden agent_header
agent_header:
	.quad AGENT_MAGIC
	.long AGENT_ABI_VERSION
	.long AGENT_HEADER_SIZE
	.long agent_code_end		/* code_size */
	.long agent_total_end		/* total_size */
	.long agent_data_start		/* data_off */
	.long agent_tramp		/* tramp_off */
	.long agent_entry_malloc	/* entry_off[], in enum alloc_fn order */
	.long agent_entry_calloc
	.long agent_entry_realloc
	.long agent_entry_reallocarray
	.long agent_entry_free
	.long agent_entry_posix_memalign
	.long agent_entry_aligned_alloc
	.long agent_entry_memalign
	.long agent_entry_valloc
	.long agent_entry_pvalloc
	.long agent_total_end		/* blob_size: the image holds the data page(s) too */
	.long agent_call_landing	/* landing_off */
	.long py_raw_malloc		/* py_entry_off[], domain-major */
	.long py_raw_calloc
	.long py_raw_realloc
	.long py_raw_free
	.long py_mem_malloc
	.long py_mem_calloc
	.long py_mem_realloc
	.long py_mem_free
	.long py_obj_malloc
	.long py_obj_calloc
	.long py_obj_realloc
	.long py_obj_free
	.long 0, 0
	.size agent_header, . - agent_header

	.text
.macro STUB name
	SAVING_STUB agent_entry_\name, hook_\name
.endm

/* A stub that calls hook(rdi, rsi, rdx, saved) with the callee-saved registers as they were at
 * its entry. */
.macro SAVING_STUB name, hook
	.globl \name
	.hidden \name
	.type \name, @function
	.p2align 4
\name:
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rbp
	mov	%rsp, %rcx		/* struct saved *: rbp first, the return address above r15 */
	mov	%rsp, %rbp
	and	$-16, %rsp		/* whatever the caller did to the stack */
	call	\hook
	mov	%rbp, %rsp
	pop	%rbp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	ret
	.size \name, . - \name
.endm

	STUB malloc
	STUB calloc
	STUB realloc
	STUB reallocarray
	STUB free
	STUB posix_memalign
	STUB aligned_alloc
	STUB memalign
	STUB valloc
	STUB pvalloc

	/* the recording path of the CPython wrappers (agent.c: py_<domain>_<fn> tail-call it) */
	SAVING_STUB agent_pyslow_raw_malloc, pyhook_raw_malloc
	SAVING_STUB agent_pyslow_raw_calloc, pyhook_raw_calloc
	SAVING_STUB agent_pyslow_raw_realloc, pyhook_raw_realloc
	SAVING_STUB agent_pyslow_mem_malloc, pyhook_mem_malloc
	SAVING_STUB agent_pyslow_mem_calloc, pyhook_mem_calloc
	SAVING_STUB agent_pyslow_mem_realloc, pyhook_mem_realloc
	SAVING_STUB agent_pyslow_obj_malloc, pyhook_obj_malloc
	SAVING_STUB agent_pyslow_obj_calloc, pyhook_obj_calloc
	SAVING_STUB agent_pyslow_obj_realloc, pyhook_obj_realloc

	/* where a function leakmond calls in the target returns (remote/inject.h inject_call):
	 * its value to rdi, then rt_sigreturn with rsp at the return frame inject_call wrote, which
	 * puts the thread back exactly where it was */
	.globl agent_call_landing
	.hidden agent_call_landing
	.type agent_call_landing, @function
	.p2align 4
agent_call_landing:
	mov	%rax, %rdi
	mov	$15, %eax		/* SYS_rt_sigreturn */
	syscall
	ud2
	.size agent_call_landing, . - agent_call_landing

	/* leakmond writes each hooked function's relocated prologue and jump back here */
	.section .agent_tramp, "ax"
	.p2align 6
	.globl agent_tramp
	.hidden agent_tramp
agent_tramp:
	.fill TRAMP_AREA, 1, 0xcc
	.size agent_tramp, . - agent_tramp

	.section .note.GNU-stack, "", @progbits
