/* SPDX-License-Identifier: MIT */
/* Builds the initial frame of a fresh coroutine context for the switch in switch_<arch>.S. */
#include "context.h"

#include <stdint.h>
#include <string.h>

void cr__ctx_trampoline(void);

void cr__ctx_make(cr__ctx *ctx, void *stack_top, cr__ctx_entry entry, void *arg)
{
	uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
#if defined(__x86_64__)
	/* 8 saved words + 2 words of padding keep rsp 16-aligned at the trampoline. */
	uint64_t *sp = (uint64_t *)(top - 80);
	memset(sp, 0, 80);
	sp[0] = 0x1F80u | ((uint64_t)0x037Fu << 32); /* default MXCSR, x87 control word */
	sp[3] = (uint64_t)(uintptr_t)arg;            /* r13 */
	sp[4] = (uint64_t)(uintptr_t)entry;          /* r12 */
	sp[7] = (uint64_t)(uintptr_t)cr__ctx_trampoline; /* return address */
#elif defined(__aarch64__)
	uint64_t *sp = (uint64_t *)(top - 176);
	memset(sp, 0, 176);
	sp[0] = (uint64_t)(uintptr_t)entry;              /* x19 */
	sp[1] = (uint64_t)(uintptr_t)arg;                /* x20 */
	sp[11] = (uint64_t)(uintptr_t)cr__ctx_trampoline; /* x30 */
	sp[20] = 0;                                       /* FPCR: round to nearest */
#else
#error "coring: no context switch for this architecture"
#endif
	ctx->sp = sp;
}
