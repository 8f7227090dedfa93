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

int cr_timeout_enter(cr_deadline *d, uint64_t timeout_ns)
{
	uint64_t now = cr_now_ns();
	uint64_t when = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
	return cr_deadline_enter(d, when);
}

int cr_deadline_exit(cr_deadline *d)
{
	cr_task *t = cr_current();
	if (!t || t->deadline != d)
		return -EINVAL;
	t->deadline = d->outer;
	return d->expired;
}
