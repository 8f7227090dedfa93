/* SPDX-License-Identifier: MIT */
/* The one way to suspend: a waiter record on the waiting task's stack, woken exactly once. */
#ifndef CORING_WAIT_H
#define CORING_WAIT_H

#include <stdint.h>

#include "inbox.h"
#include "timer_heap.h"

struct cr_task;
struct cr__wait;

/* Ends a wait early (cancellation or deadline): either wakes it with
 * cr__wake(w, reason) now, or arranges for a later wake (I/O: a kernel
 * cancel whose completion wakes it). */
typedef void (*cr__abort_fn)(struct cr__wait *w, int reason);

/* A parked wait.  Lives on the waiting task's stack for the whole wait. */
typedef struct cr__wait {
	struct cr_task *task; /* the waiting task */
	int res;	      /* result handed to the waiter by cr__wake */
	int abort_reason;     /* 0, or -ECANCELED / -ETIMEDOUT once an early end was asked */
	uint8_t woken;	      /* 1 once cr__wake ran: nothing may touch it after */
	uint8_t io;	      /* 1 if an SQE points at this record (kernel results) */
	cr__abort_fn abort;   /* how to end it early; NULL = cannot be interrupted */
	cr__timer deadline;   /* fires when the task's deadline scope expires */
	cr__msg msg;	      /* carries a wake-up from another thread to the owner */
} cr__wait;

/* Checks for a pending cancellation or a passed deadline before anything is
 * registered.  Must be called by the current task.  Returns 0 if the task may
 * wait, else -ECANCELED (consuming the request) or -ETIMEDOUT. */
int cr__wait_prepare(void);

/* The start of every interruptible wait: returns -EPERM outside a task (a
 * loop callback or another thread), else as cr__wait_prepare. */
int cr__wait_enter(void);

/* Initialises w for the current task.  abort may be NULL (uninterruptible).
 * Returns nothing. */
void cr__wait_init(struct cr__wait *w, cr__abort_fn abort);

/* Parks the current task until w is woken; arms the deadline of the task's
 * innermost scope if w is interruptible.  Returns the wake result; when the
 * wait was aborted and the operation reports it was cancelled, the abort
 * reason (-ECANCELED / -ETIMEDOUT) instead. */
int cr__wait_park(struct cr__wait *w);

/* Parks the current task (interruptible) on a wait record published in
 * *slot, where a waker finds it, clears the slot and wakes it with
 * cr__wake(w, 0); on return the slot no longer names it.  Call from a task.
 * Returns 0 when woken, -ECANCELED / -ETIMEDOUT when interrupted, and
 * -ECANCELED when woken and then cancelled before it ran (asyncio: the
 * awaited future was done, the task raises CancelledError). */
int cr__wait_in_slot(struct cr__wait **slot);

/* Wakes the wait record published in *slot (cr__wait_in_slot), if any, with
 * result 0 and clears the slot.  Returns 1 if one was woken, else 0. */
int cr__wake_slot(struct cr__wait **slot);

/* Wakes w with result res: the task becomes ready.  On the owning worker,
 * later calls do nothing; from any other thread (another worker, a pool
 * thread) the caller must be the only waker, and the wake-up travels through
 * the owner's inbox.  Returns nothing. */
void cr__wake(struct cr__wait *w, int res);

/* Requests an early end of w with reason (-ECANCELED / -ETIMEDOUT).  If w
 * cannot be interrupted now, a cancellation is kept pending for the task's
 * next wait.  Returns nothing. */
void cr__wait_abort(struct cr__wait *w, int reason);

/* cr__yield_shielded (current.h) lets every other ready item run once. */

/* Consumes a cancellation of the current task that arrived after its last
 * wait was already woken (see cr__wait_park).  Returns 1 if there was one
 * (the caller then reports -ECANCELED and passes on what it was given),
 * else 0. */
int cr__wait_take_cancel(void);

/* Abort action for waits with nothing registered elsewhere: wakes with reason. */
void cr__abort_wake(struct cr__wait *w, int reason);

#endif
