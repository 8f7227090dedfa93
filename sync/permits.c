/* SPDX-License-Identifier: MIT */
/* Permit counting with direct hand-off to the first waiter, and the woken-then-cancelled pass-on. */
#include "permits.h"

#include <errno.h>

#include "cqs.h"
#include "worker.h"

int cr__permits_try(int64_t *state)
{
	int64_t v = __atomic_load_n(state, __ATOMIC_RELAXED);
	while (v > 0)
		if (__atomic_compare_exchange_n(state, &v, v - 1, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
	return -EAGAIN;
}

int cr__permits_acquire(int64_t *state, cr_waitq *q, int interruptible)
{
	if (cr__permits_try(state) == 0)
		return 0;
	cr__worker *w = cr__self();
	if (!w || !w->current)
		return -EPERM;
	if (interruptible) {
		int r = cr__wait_prepare();
		if (r)
			return r;
	}
	if (__atomic_fetch_sub(state, 1, __ATOMIC_SEQ_CST) > 0)
		return 0; /* a permit came back meanwhile */
	cr__cqs_waiter wt;
	if (!cr__cqs_enqueue(q, &wt, interruptible ? CR__CQS_INTERRUPTIBLE : 0))
		return 0; /* the release got to our cell first and left the permit */
	int r = cr__cqs_park(&wt);
	if (r < 0)
		return r; /* our cell is cancelled: the release reaching it counts again */
	if (interruptible && cr__wait_take_cancel()) {
		/* Handed the permit, then cancelled before running: pass it on. */
		cr__permits_release(state, INT64_MAX, q);
		return -ECANCELED;
	}
	return 0;
}

int cr__permits_release(int64_t *state, int64_t bound, cr_waitq *q)
{
	if (!cr__self())
		return -EPERM;
	int64_t old = __atomic_load_n(state, __ATOMIC_RELAXED);
	do {
		if (old >= bound)
			return -EPERM;
	} while (!__atomic_compare_exchange_n(state, &old, old + 1, 0, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	while (old < 0) {
		if (cr__cqs_resume(q) == CR__CQS_WOKEN)
			return 0;
		/* That waiter was cancelled: its count goes back, try again. */
		old = __atomic_fetch_add(state, 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}
