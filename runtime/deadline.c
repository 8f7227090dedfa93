/* SPDX-License-Identifier: MIT */
/* Deadline scopes (asyncio.timeout): a per-task stack of absolute deadlines. */
#include <errno.h>

#include "deadline.h"
#include "task.h"

void cr__deadline_mark_expired(cr_task *t, uint64_t now)
{
	for (cr_deadline *d = t->deadline; d; d = d->outer) {
		if (d->deadline_ns <= now) {
			d->expired = 1;
			return;
		}
	}
}

int cr_deadline_enter(cr_deadline *d, uint64_t deadline_ns)
{
	cr_task *t = cr_current();
	if (!t)
		return -EPERM;
	d->outer = t->deadline;
	d->deadline_ns = deadline_ns;
	d->effective_ns = deadline_ns;
	if (d->outer && d->outer->effective_ns < deadline_ns)
		d->effective_ns = d->outer->effective_ns;
	d->expired = 0;
	t->deadline = d;
	return 0;
}

/* Returns the absolute deadline timeout_ns from now, saturated. */
static uint64_t deadline_after(uint64_t timeout_ns)
{
	uint64_t now = cr_now_ns();
	return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

int cr_timeout_enter(cr_deadline *d, uint64_t timeout_ns)
{
	return cr_deadline_enter(d, deadline_after(timeout_ns));
}

int cr_with_deadline(uint64_t deadline_ns, cr_task_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	cr_deadline d;
	int r = cr_deadline_enter(&d, deadline_ns);
	if (r)
		return r;
	r = fn(arg);
	/* Scopes fn entered and left open end with this one: they lived in its
	 * frames, which are gone. */
	cr_current()->deadline = d.outer;
	return r < 0 && d.expired ? -ETIMEDOUT : r;
}

int cr_with_timeout(uint64_t timeout_ns, cr_task_fn fn, void *arg)
{
	return cr_with_deadline(deadline_after(timeout_ns), fn, arg);
}

int cr_deadline_exit(cr_deadline *d)
{
	cr_task *t = cr_current();
	if (!t || t->deadline != d)
		return -EINVAL;
	t->deadline = d->outer;
	return d->expired;
}
