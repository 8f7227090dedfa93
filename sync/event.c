/* SPDX-License-Identifier: MIT */
/* asyncio.Event: a flag; set wakes every task that was waiting when it was set. */
#include <errno.h>

#include "cqs.h"
#include "runtime_internal.h"

void cr_event_init(cr_event *e)
{
	e->flag = 0;
	cr__cqs_init(&e->waiters);
}

int cr_event_destroy(cr_event *e)
{
	if (cr__cqs_has_waiters(&e->waiters))
		return -EBUSY;
	cr__cqs_destroy(&e->waiters);
	return 0;
}

int cr_event_set(cr_event *e)
{
	if (!cr__self())
		return -EPERM;
	if (__atomic_exchange_n(&e->flag, 1, __ATOMIC_SEQ_CST))
		return 0;
	/* Everyone who took a cell before this point is woken; later waiters
	 * see the flag (they re-check it after taking their cell). */
	uint64_t limit = cr__cqs_enq_snapshot(&e->waiters);
	while (cr__cqs_resume_before(&e->waiters, limit) != CR__CQS_NONE)
		;
	return 0;
}

void cr_event_clear(cr_event *e)
{
	__atomic_store_n(&e->flag, 0, __ATOMIC_SEQ_CST);
}

int cr_event_is_set(const cr_event *e)
{
	return (int)__atomic_load_n(&e->flag, __ATOMIC_ACQUIRE);
}

int cr_event_wait(cr_event *e)
{
	if (__atomic_load_n(&e->flag, __ATOMIC_ACQUIRE))
		return 0;
	int r = cr__wait_enter();
	if (r)
		return r;
	cr__cqs_waiter wt;
	if (!cr__cqs_enqueue(&e->waiters, &wt, CR__CQS_INTERRUPTIBLE | CR__CQS_BOUNDED))
		return 0;
	/* A set on another worker may have read the cell counter before we took
	 * ours: then the flag is visible now, and we take our cell back. */
	if (__atomic_load_n(&e->flag, __ATOMIC_SEQ_CST) && cr__cqs_withdraw(&wt))
		return 0;
	r = cr__cqs_park(&wt);
	if (r < 0)
		return r;
	if (cr__wait_take_cancel())
		return -ECANCELED; /* woken, then cancelled before it ran */
	return 0;
}
