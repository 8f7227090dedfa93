/* SPDX-License-Identifier: MIT */
/* Builds the initial frame of a fresh coroutine context for the switch in switch_<arch>.S;
 * the public raw-context API (coring/context.h) on top of it. */
#include "context.h"

#include <coring/context.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* cr_context_switch is cr__ctx_switch's code, or on x86-64 its twin with the same frame:
 * the two context types must have one layout. */
_Static_assert(sizeof(cr_context) == sizeof(cr__ctx), "cr_context and cr__ctx differ in size");
_Static_assert(_Alignof(cr_context) == _Alignof(cr__ctx),
	       "cr_context and cr__ctx differ in alignment");
_Static_assert(offsetof(cr_context, sp) == offsetof(cr__ctx, sp),
	       "cr_context.sp and cr__ctx.sp are at different offsets");

void cr__ctx_trampoline(void);

void cr__ctx_make(cr__ctx *ctx, void *stack_top, cr__ctx_entry entry, void *arg)
{
	uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
#if defined(__x86_64__)
	/* 8 saved words + 2 words of padding keep rsp 16-aligned at the trampoline. */
	uint64_t *sp = (uint64_t *)(top - 80);
	memset(sp, 0, 80);
	sp[0] = 0x1F80u | ((uint64_t)0x037Fu << 32);	 /* default MXCSR, x87 control word */
	sp[3] = (uint64_t)(uintptr_t)arg;		 /* r13 */
	sp[4] = (uint64_t)(uintptr_t)entry;		 /* r12 */
	sp[7] = (uint64_t)(uintptr_t)cr__ctx_trampoline; /* return address */
#elif defined(__aarch64__)
	uint64_t *sp = (uint64_t *)(top - 176);
	memset(sp, 0, 176);
	sp[0] = (uint64_t)(uintptr_t)entry;		  /* x19 */
	sp[1] = (uint64_t)(uintptr_t)arg;		  /* x20 */
	sp[11] = (uint64_t)(uintptr_t)cr__ctx_trampoline; /* x30 */
	sp[20] = 0;					  /* FPCR: round to nearest */
#else
#error "coring: no context switch for this architecture"
#endif
	ctx->sp = sp;
}

int cr_context_make(cr_context *ctx, void *stack, size_t size, cr_context_fn fn, void *arg)
{
	if (!ctx || !stack || !fn || size < CR_CONTEXT_MIN_STACK_SIZE ||
	    (uintptr_t)stack + size < (uintptr_t)stack)
		return -EINVAL;
	cr__ctx c;
	cr__ctx_make(&c, (char *)stack + size, fn, arg);
	ctx->sp = c.sp;
	return 0;
}
