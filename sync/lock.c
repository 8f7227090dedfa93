/* SPDX-License-Identifier: MIT */
/* asyncio.Lock: one permit, released by anyone, handed to the first waiter. */
#include <errno.h>

#include "cqs.h"
#include "permits.h"

void cr_lock_init(cr_lock *l)
{
	l->state = cr__permits_state(1);
	cr__cqs_init(&l->waiters);
}

int cr_lock_destroy(cr_lock *l)
{
	if (cr__cqs_has_waiters(&l->waiters) || cr__permits_handoffs(l->state))
		return -EBUSY; /* waiters, or a woken one that has not run yet */
	cr__cqs_destroy(&l->waiters);
	l->state = cr__permits_state(1);
	return 0;
}

_Static_assert(CR__LOCK_FREE == 1 + CR__PERMITS_BIAS, "free lock word: one permit");
_Static_assert(CR__LOCK_HELD == CR__PERMITS_BIAS, "held lock word: no permit");

int cr__lock_acquire_slow(cr_lock *l)
{
	return cr__permits_acquire(&l->state, 1, &l->waiters, 1);
}

int cr_lock_try_acquire(cr_lock *l)
{
	if (cr__lock_cas(l, CR__LOCK_FREE, CR__LOCK_HELD))
		return 0;
	return cr__permits_try(&l->state);
}

int cr__lock_release_slow(cr_lock *l)
{
	/* Handed to a woken waiter that has not run yet, the lock is not held
	 * by anyone who could release it (asyncio: "Lock is not acquired"). */
	if (!cr_lock_locked(l))
		return -EPERM;
	return cr__permits_release(&l->state, 1, &l->waiters);
}

int cr_lock_locked(const cr_lock *l)
{
	int64_t s = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
	return cr__permits_count(s) <= 0 && cr__permits_handoffs(s) == 0;
}

int cr_with_lock(cr_lock *l, cr_locked_fn fn, void *arg)
{
	int r = cr_lock_acquire(l);
	if (r < 0)
		return r;
	r = fn(arg);
	cr_lock_release(l);
	return r;
}
