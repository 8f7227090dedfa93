/* SPDX-License-Identifier: MIT */
/* A permit counter on a wait queue: the one algorithm behind Lock, Semaphore and BoundedSemaphore. */
#ifndef CORING_SYNC_PERMITS_H
#define CORING_SYNC_PERMITS_H

#include <coring/sync.h>
#include <stdint.h>

/*
 * *state is the number of free permits minus the number of waiters.  An
 * acquire that finds a free permit takes it with one CAS; otherwise it
 * counts itself as a waiter and takes a cell.  A release that sees waiters
 * hands its permit straight to the first one (so nobody can barge in before
 * the woken waiter runs); if that waiter was cancelled meanwhile, the
 * release counts again (the cancelled waiter's count returns to the pool).
 */

/* Takes a permit, waiting if needed.  interruptible = 0 ignores cancellation
 * and deadlines (a cancellation stays pending for the caller).  Returns 0,
 * -ECANCELED, -ETIMEDOUT, -EPERM outside a task when it would wait. */
int cr__permits_acquire(int64_t *state, cr_waitq *q, int interruptible);

/* Takes a free permit if nobody waits.  Returns 0 or -EAGAIN. */
int cr__permits_try(int64_t *state);

/* Returns a permit (to the first waiter if any).  Returns 0, -EPERM if
 * *state is already at bound or outside cr_run. */
int cr__permits_release(int64_t *state, int64_t bound, cr_waitq *q);

#endif
