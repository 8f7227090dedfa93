/* SPDX-License-Identifier: MIT */
/* x86-64 context switch: saves what the SysV psABI makes callee-saved. */

/* Frame layout, from the saved stack pointer upwards:
 *   0: MXCSR (4 bytes), 4: x87 control word (2 bytes), padding
 *   8: r15, 16: r14, 24: r13, 32: r12, 40: rbx, 48: rbp, 56: return address */

	.text
	.globl	cr__ctx_switch
	.hidden	cr__ctx_switch
	.type	cr__ctx_switch, @function
	.p2align 4
/* void cr__ctx_switch(cr__ctx *from, cr__ctx *to) */
cr__ctx_switch:
	.cfi_startproc
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
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	ldmxcsr	(%rsp)
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
	ret
	.cfi_endproc
	.size	cr__ctx_switch, .-cr__ctx_switch

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
	callq	*%r12
	ud2
	.cfi_endproc
	.size	cr__ctx_trampoline, .-cr__ctx_trampoline

	.section .note.GNU-stack,"",@progbits
