/* SPDX-License-Identifier: MIT */
/* AArch64 context switch: saves x19-x29, lr, sp and d8-d15 as AAPCS64 requires. */

/* Frame layout (176 bytes), from the saved stack pointer upwards:
 *   0: x19 x20, 16: x21 x22, 32: x23 x24, 48: x25 x26, 64: x27 x28,
 *   80: x29 x30, 96: d8 d9, 112: d10 d11, 128: d12 d13, 144: d14 d15,
 *   160: FPCR (rounding mode and other control bits are preserved across calls) */

	.text
	.globl	cr__ctx_switch
	.hidden	cr__ctx_switch
	.type	cr__ctx_switch, %function
/* The public name of the same code (coring/context.h), exported.  Unlike on x86-64 it
 * has no twin that leaves through an indirect branch: a br to the return site would fault
 * where BTI is enforced (the instruction after a bl is no landing pad); ret does not. */
	.globl	cr_context_switch
	.type	cr_context_switch, %function
	.p2align 4
/* void cr__ctx_switch(cr__ctx *from, cr__ctx *to)
 * void cr_context_switch(cr_context *from, cr_context *to) */
cr_context_switch:
cr__ctx_switch:
	.cfi_startproc
	sub	sp, sp, #176
	.cfi_def_cfa_offset 176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	.cfi_offset x29, -96
	.cfi_offset x30, -88
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x2, fpcr
	str	x2, [sp, #160]
	mov	x2, sp
	str	x2, [x0]
	ldr	x2, [x1]
	mov	sp, x2
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldr	x2, [sp, #160]
	msr	fpcr, x2
	add	sp, sp, #176
	ret
	.cfi_endproc
	.size	cr__ctx_switch, .-cr__ctx_switch
	.size	cr_context_switch, .-cr_context_switch

	.globl	cr__ctx_trampoline
	.hidden	cr__ctx_trampoline
	.type	cr__ctx_trampoline, %function
	.p2align 4
/* First code of every fresh context: x19 = entry, x20 = argument.
 * The link register is marked undefined so debuggers stop unwinding here. */
cr__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined x30
	mov	x29, #0
	mov	x0, x20
	blr	x19
	brk	#0
	.cfi_endproc
	.size	cr__ctx_trampoline, .-cr__ctx_trampoline

	.section .note.GNU-stack,"",%progbits
