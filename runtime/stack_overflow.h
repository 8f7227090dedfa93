/* SPDX-License-Identifier: MIT */
/* Reporting stack overflows: the guard-page SIGSEGV handler and the canary fallback. */
#ifndef CORING_STACK_OVERFLOW_H
#define CORING_STACK_OVERFLOW_H

#include <coring/runtime.h>

struct cr__worker;

/* Installs the process-wide overflow reporter and this thread's signal
 * stack.  Returns 0 or -errno. */
int cr__overflow_init(struct cr__worker *w);

/* Removes this thread's signal stack.  Returns nothing. */
void cr__overflow_fini(struct cr__worker *w);

/* Aborts with a report if t's canary shows an overflow.  Returns nothing. */
void cr__overflow_check_canary(struct cr__worker *w, cr_task *t);

#endif
