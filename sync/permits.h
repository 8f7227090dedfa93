/* SPDX-License-Identifier: MIT */
/* A permit counter on a wait queue: the one algorithm behind Lock, Semaphore and BoundedSemaphore.
 */
#ifndef CORING_SYNC_PERMITS_H
#define CORING_SYNC_PERMITS_H

#include <coring/sync.h>
#include <stdint.h>

/*
 * *state packs two counters into one word, changed together by one CAS:
 *   low 32 bits:  free permits minus waiters, plus CR__PERMITS_BIAS;
 *   high 32 bits: hand-offs in flight (permits given to woken waiters that
 *                 have not run yet).
 * An acquire that finds a free permit and no hand-off in flight takes it
 * with one CAS.  Otherwise it counts itself as a waiter and takes a cell.
 * A release that sees waiters hands its permit straight to the first one
 * and marks a hand-off; the woken task clears the mark when it runs.  While
 * a hand-off is in flight nobody takes a free permit without first letting
 * the woken tasks run (asyncio: no barging past a woken waiter).  If the
 * waiter reached was cancelled, the release counts again.
 */

/* Added to the count so that it never borrows from the hand-off half. */
#define CR__PERMITS_BIAS ((int64_t)1 << 31)

/* Returns the state word of a counter with value free permits. */
static inline int64_t cr__permits_state(int64_t value)
{
	return value + CR__PERMITS_BIAS;
}

/* Returns free permits minus waiters. */
static inline int64_t cr__permits_count(int64_t s)
{
	return (int64_t)((uint64_t)s & 0xffffffffu) - CR__PERMITS_BIAS;
}

/* Returns the hand-offs in flight. */
static inline uint32_t cr__permits_handoffs(int64_t s)
{
	return (uint32_t)((uint64_t)s >> 32);
}

/* Largest value a counter holds. */
#define CR__PERMITS_MAX (CR__PERMITS_BIAS - 2)

/* Takes a permit, waiting if needed.  Interruptible, a cancellation or a
 * deadline that lands while it waits, including the yield that lets woken
 * waiters run first, ends it with no permit held.  interruptible = 0 ignores
 * cancellation and deadlines (a cancellation stays pending for the caller,
 * a passed deadline is the caller's to check).  bound is the counter's bound
 * (see release), used when passing a permit on.  Returns 0, -ECANCELED,
 * -ETIMEDOUT, -EPERM outside a task when it would wait. */
int cr__permits_acquire(int64_t *state, int64_t bound, cr_waitq *q, int interruptible);

/* Takes a free permit if nobody waits and no hand-off is in flight.
 * Returns 0 or -EAGAIN. */
int cr__permits_try(int64_t *state);

/* Returns a permit (to the first waiter if any).  Returns 0, -EPERM if the
 * count is already at bound or outside cr_run, -EOVERFLOW at CR__PERMITS_MAX. */
int cr__permits_release(int64_t *state, int64_t bound, cr_waitq *q);

#endif
