/* SPDX-License-Identifier: MIT */
/* asyncio.Semaphore and BoundedSemaphore on the permit counter. */
#include <errno.h>

#include "cqs.h"
#include "permits.h"

static int init(cr_sem *s, int64_t value, int64_t bound)
{
	if (!s || value < 0 || value > CR__PERMITS_MAX)
		return -EINVAL;
	s->state = cr__permits_state(value);
	s->bound = bound;
	cr__cqs_init(&s->waiters);
	return 0;
}

int cr_sem_init(cr_sem *s, int64_t value)
{
	return init(s, value, INT64_MAX);
}

int cr_bounded_sem_init(cr_sem *s, int64_t value)
{
	return init(s, value, value);
}

int cr_sem_destroy(cr_sem *s)
{
	if (cr__cqs_has_waiters(&s->waiters) || cr__permits_handoffs(s->state))
		return -EBUSY; /* waiters, or a woken one that has not run yet */
	cr__cqs_destroy(&s->waiters);
	return 0;
}

int cr_sem_acquire(cr_sem *s)
{
	return cr__permits_acquire(&s->state, s->bound, &s->waiters, 1);
}

int cr_sem_try_acquire(cr_sem *s)
{
	return cr__permits_try(&s->state);
}

int cr_sem_release(cr_sem *s)
{
	return cr__permits_release(&s->state, s->bound, &s->waiters);
}

int64_t cr_sem_value(const cr_sem *s)
{
	int64_t v = cr__permits_count(__atomic_load_n(&s->state, __ATOMIC_ACQUIRE));
	return v > 0 ? v : 0;
}

int cr_sem_locked(const cr_sem *s)
{
	int64_t v = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	return cr__permits_count(v) <= 0 || cr__permits_handoffs(v) > 0;
}

int cr_with_sem(cr_sem *s, cr_locked_fn fn, void *arg)
{
	int r = cr_sem_acquire(s);
	if (r < 0)
		return r;
	r = fn(arg);
	cr_sem_release(s);
	return r;
}
