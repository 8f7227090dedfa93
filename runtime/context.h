/* SPDX-License-Identifier: MIT */
/* Machine context of a coroutine: a saved stack pointer and the hand-written switch. */
#ifndef CORING_CONTEXT_H
#define CORING_CONTEXT_H

#include <stddef.h>

/* A suspended execution context; everything else lives on its stack. */
typedef struct cr__ctx {
	void *sp; /* saved stack pointer (callee-saved registers are below it) */
} cr__ctx;

/* Entry of a fresh context; must never return. */
typedef void (*cr__ctx_entry)(void *arg);

/* Saves the callee-saved state into *from and resumes *to.  Returns when
 * something switches back to *from.  Implemented in switch_<arch>.S. */
void cr__ctx_switch(cr__ctx *from, cr__ctx *to);

/* Prepares *ctx so that the first switch to it calls entry(arg) on the stack
 * whose highest usable address is stack_top.  Returns nothing. */
void cr__ctx_make(cr__ctx *ctx, void *stack_top, cr__ctx_entry entry, void *arg);

#endif
