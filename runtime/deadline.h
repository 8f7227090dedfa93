/* SPDX-License-Identifier: MIT */
/* Deadline scopes: what the wait code asks of them. */
#ifndef CORING_DEADLINE_H
#define CORING_DEADLINE_H

#include <coring/runtime.h>
#include <stdint.h>

/* Charges a timeout to the innermost scope of t whose deadline is at or
 * before now (marks it expired).  Returns nothing. */
void cr__deadline_mark_expired(cr_task *t, uint64_t now);

#endif
