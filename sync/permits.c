/* SPDX-License-Identifier: MIT */
/* Permit counting with direct hand-off to the first waiter, and the woken-then-cancelled pass-on.
 */
#include "permits.h"

#include <errno.h>

#include "cqs.h"
#include "runtime_internal.h"

#define HANDOFF ((int64_t)1 << 32)

static int cas(int64_t *state, int64_t *expect, int64_t desired)
{
	return __atomic_compare_exchange_n(state, expect, desired, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_RELAXED);
}

int cr__permits_try(int64_t *state)
{
	int64_t s = __atomic_load_n(state, __ATOMIC_RELAXED);
	while (cr__permits_count(s) > 0 && cr__permits_handoffs(s) == 0)
		if (__atomic_compare_exchange_n(state, &s, s - 1, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
	return -EAGAIN;
}

/* The woken task runs: its hand-off is over. */
static void handoff_done(int64_t *state)
{
	__atomic_fetch_sub(state, HANDOFF, __ATOMIC_SEQ_CST);
}

/*
 * Holding a permit taken while woken waiters have not run yet, lets them run
 * first (asyncio: no barging).  asyncio's acquirer would be waiting there,
 * queued behind them, so a cancellation or a deadline that lands meanwhile
 * ends an interruptible acquire: the permit goes back, to the next waiter if
 * one queued meanwhile, and the cancellation is consumed.  An acquire deaf
 * to cancellation (Condition's re-acquire) keeps the permit and leaves a
 * cancellation pending.  Returns 0, -ECANCELED or -ETIMEDOUT.
 */
static int let_woken_run(int64_t *state, int64_t bound, cr_waitq *q, int interruptible)
{
	cr__yield_shielded();
	if (!interruptible)
		return 0;
	int r = cr__wait_prepare();
	if (r)
		(void)cr__permits_release(state, bound, q); /* holds one: cannot fail */
	return r;
}

int cr__permits_acquire(int64_t *state, int64_t bound, cr_waitq *q, int interruptible)
{
	if (cr__permits_try(state) == 0)
		return 0;
	if (!cr__in_task())
		return -EPERM;
	if (interruptible) {
		int r = cr__wait_prepare();
		if (r)
			return r;
	}
	int64_t s = __atomic_fetch_sub(state, 1, __ATOMIC_SEQ_CST);
	if (cr__permits_count(s) > 0) {
		/* A free permit, but woken waiters have not run yet: let them
		 * go first, as they would in asyncio. */
		if (cr__permits_handoffs(s))
			return let_woken_run(state, bound, q, interruptible);
		return 0;
	}
	cr__cqs_waiter wt;
	int parked = cr__cqs_enqueue(q, &wt, interruptible ? CR__CQS_INTERRUPTIBLE : 0);
	if (parked) {
		int r = cr__cqs_park(&wt);
		if (r < 0)
			return r; /* our cell is cancelled: the release reaching it counts again */
	}
	handoff_done(state);
	if (interruptible && cr__wait_take_cancel()) {
		/* Handed the permit, then cancelled before running: pass it on. */
		cr__permits_release(state, bound, q);
		return -ECANCELED;
	}
	return 0;
}

int cr__permits_release(int64_t *state, int64_t bound, cr_waitq *q)
{
	if (!cr__self())
		return -EPERM;
	int64_t s = __atomic_load_n(state, __ATOMIC_RELAXED);
	int64_t next;
	do {
		int64_t c = cr__permits_count(s);
		if (c >= bound)
			return -EPERM;
		if (c >= CR__PERMITS_MAX)
			return -EOVERFLOW;
		next = s + 1 + (c < 0 ? HANDOFF : 0);
	} while (!cas(state, &s, next));
	while (cr__permits_count(s) < 0) {
		if (cr__cqs_resume(q) == CR__CQS_WOKEN)
			return 0;
		/* That waiter was cancelled: our count undid its registration.
		 * Take the hand-off mark back and count once more. */
		s = __atomic_load_n(state, __ATOMIC_RELAXED);
		do
			next = s - HANDOFF + 1 + (cr__permits_count(s) < 0 ? HANDOFF : 0);
		while (!cas(state, &s, next));
	}
	return 0;
}
