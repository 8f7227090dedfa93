/* SPDX-License-Identifier: MIT */
/* asyncio.Condition: wait releases the lock and always re-acquires it; notify wakes in FIFO order.
 */
#include <errno.h>
#include <limits.h>

#include "cqs.h"
#include "permits.h"
#include "runtime_internal.h"

void cr_cond_init(cr_cond *c, cr_lock *lock)
{
	cr_lock_init(&c->own);
	c->lock = lock ? lock : &c->own;
	cr__cqs_init(&c->waiters);
}

int cr_cond_destroy(cr_cond *c)
{
	if (cr__cqs_has_waiters(&c->waiters) || cr__cqs_has_waiters(&c->own.waiters))
		return -EBUSY;
	cr__cqs_destroy(&c->waiters);
	return cr_lock_destroy(&c->own);
}

cr_lock *cr_cond_lock(cr_cond *c)
{
	return c->lock;
}

int cr_cond_acquire(cr_cond *c)
{
	return cr_lock_acquire(c->lock);
}

int cr_cond_release(cr_cond *c)
{
	return cr_lock_release(c->lock);
}

int cr_with_cond(cr_cond *c, cr_locked_fn fn, void *arg)
{
	return cr_with_lock(c->lock, fn, arg);
}

/* Wakes up to n waiters that took their cell before now.  Returns how many. */
static int wake(cr_cond *c, int n)
{
	uint64_t limit = cr__cqs_enq_snapshot(&c->waiters);
	int woken = 0;
	while (woken < n) {
		int r = cr__cqs_resume_before(&c->waiters, limit);
		if (r == CR__CQS_NONE)
			break;
		woken += r == CR__CQS_WOKEN;
	}
	return woken;
}

int cr_cond_wait(cr_cond *c)
{
	if (!cr_lock_locked(c->lock))
		return -EPERM;
	int r = cr__wait_enter();
	if (r)
		return r;
	/* Take the cell before letting the lock go, so that a notify made by
	 * the next holder cannot miss us. */
	cr__cqs_waiter wt;
	int parked = cr__cqs_enqueue(&c->waiters, &wt, CR__CQS_INTERRUPTIBLE | CR__CQS_BOUNDED);
	cr_lock_release(c->lock);
	r = parked ? cr__cqs_park(&wt) : 0;
	/* Re-acquire whatever happened, deaf to cancellation and deadlines;
	 * a cancellation arriving meanwhile stays pending and is taken below,
	 * and so is a deadline that passed after the notification (asyncio
	 * re-raises both once the lock is held). */
	cr__permits_acquire(&c->lock->state, 1, &c->lock->waiters, 0);
	int late = cr__wait_take_cancel() ? -ECANCELED : r == 0 ? cr__wait_prepare() : 0;
	if (late) {
		if (r == 0)
			wake(c, 1); /* notified, then cancelled or timed out: it goes on */
		return late;
	}
	return r;
}

int cr_cond_wait_for(cr_cond *c, cr_predicate_fn pred, void *arg)
{
	while (!pred(arg)) {
		int r = cr_cond_wait(c);
		if (r < 0)
			return r;
	}
	return 0;
}

int cr_cond_notify(cr_cond *c, int n)
{
	if (!cr__self() || !cr_lock_locked(c->lock))
		return -EPERM;
	return n > 0 ? wake(c, n) : 0;
}

int cr_cond_notify_all(cr_cond *c)
{
	return cr_cond_notify(c, INT_MAX);
}
