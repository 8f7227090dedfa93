/* SPDX-License-Identifier: MIT */
/* x86-64 context switch: saves what the SysV psABI makes callee-saved. */

/* Frame layout, from the saved stack pointer upwards:
 *   0: MXCSR (4 bytes), 4: x87 control word (2 bytes), padding
 *   8: r15, 16: r14, 24: r13, 32: r12, 40: rbx, 48: rbp, 56: return address */

/* Saves the callee-saved registers, MXCSR and the x87 control word on the
 * current stack (the frame above), stores the stack pointer in *rdi and loads
 * *rsi's.  Leaves ZF clear if the two contexts' MXCSR control bits (6-15)
 * differ.  Loading a changed MXCSR stalls what the CPU speculated past the
 * switch (45 ns instead of 5 per switch in a jump-ended ping-pong on a KVM
 * guest), even if only the sticky exception flags (bits 0-5) differ; those
 * are not preserved across calls anyway, so only a change of control bits
 * reloads MXCSR. */
.macro SAVE_AND_SWAP
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbx, 0
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r12, 0
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r13, 0
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r14, 0
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r15, 0
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movl	(%rsp), %eax
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	xorl	(%rsp), %eax
	testl	$0xffc0, %eax
.endm

/* Restores the x87 control word and pops the registers SAVE_AND_SWAP pushed,
 * leaving the return address on top of the stack. */
.macro RESTORE
	fldcw	4(%rsp)
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%r15
	.cfi_adjust_cfa_offset -8
	popq	%r14
	.cfi_adjust_cfa_offset -8
	popq	%r13
	.cfi_adjust_cfa_offset -8
	popq	%r12
	.cfi_adjust_cfa_offset -8
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	popq	%rbp
	.cfi_adjust_cfa_offset -8
.endm

	.text
	.globl	cr__ctx_switch
	.hidden	cr__ctx_switch
	.type	cr__ctx_switch, @function
	.p2align 4
/* void cr__ctx_switch(cr__ctx *from, cr__ctx *to): the scheduler's switch. */
cr__ctx_switch:
	.cfi_startproc
	SAVE_AND_SWAP
	jnz	2f
1:	.cfi_remember_state
	RESTORE
	ret
	.cfi_restore_state
2:	ldmxcsr	(%rsp) /* out of line: contexts rarely differ in control bits */
	jmp	1b
	.cfi_endproc
	.size	cr__ctx_switch, .-cr__ctx_switch

	.globl	cr_context_switch
	.type	cr_context_switch, @function
	.p2align 4
/* void cr_context_switch(cr_context *from, cr_context *to): the public switch
 * (coring/context.h), exported.  It builds and consumes the same frame as
 * cr__ctx_switch, so either resumes a context the other suspended, but leaves
 * through an indirect jump, not ret, for a bare ping-pong where the caller
 * switches again without returning in between.  A ret always predicts the
 * caller of the call that entered, which after a stack switch is the other
 * context's caller: one mispredicted return per switch (about 16 ns against
 * 5 ns for boost.context's jump, which ends the same way).  The scheduler
 * keeps ret: its switches are followed by returns up the task's call chain,
 * which a call without a ret would all misalign. */
cr_context_switch:
	.cfi_startproc
	SAVE_AND_SWAP
	jnz	2f
1:	.cfi_remember_state
	RESTORE
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	.cfi_register %rip, %rcx
	jmpq	*%rcx
	.cfi_restore_state
2:	ldmxcsr	(%rsp)
	jmp	1b
	.cfi_endproc
	.size	cr_context_switch, .-cr_context_switch

	.globl	cr__ctx_trampoline
	.hidden	cr__ctx_trampoline
	.type	cr__ctx_trampoline, @function
	.p2align 4
/* First code of every fresh context: r12 = entry, r13 = argument.
 * The return address is marked undefined so debuggers stop unwinding here. */
cr__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined %rip
	movq	%r13, %rdi
	/* Enter by a jump, with the ud2 below as a made-up return address, not by
	 * a call: a call leaves an entry on the CPU's return predictor that no
	 * return ever takes, and the returns of the next task to run would then
	 * all be predicted one entry off (a mispredict each). */
	leaq	1f(%rip), %rax
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	jmpq	*%r12
1:	ud2
	.cfi_endproc
	.size	cr__ctx_trampoline, .-cr__ctx_trampoline

	.section .note.GNU-stack,"",@progbits
