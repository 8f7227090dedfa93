/* SPDX-License-Identifier: MIT */
/* Parking and waking tasks on waiter records; where cancellation and deadlines take effect. */
#include <errno.h>

#include "deadline.h"
#include "remote.h"
#include "scheduler.h"
#include "task.h"
#include "list.h"
#include "worker.h"

int cr__wait_prepare(void)
{
	cr_task *t = cr__self()->current;
	if (t->cancel_pending) {
		t->cancel_pending = 0;
		return -ECANCELED;
	}
	if (t->deadline) {
		uint64_t now = cr_now_ns();
		if (t->deadline->effective_ns <= now) {
			cr__deadline_mark_expired(t, now);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

int cr__wait_enter(void)
{
	cr__worker *w = cr__self();
	if (!w || !w->current)
		return -EPERM;
	return cr__wait_prepare();
}

void cr__wait_init(cr__wait *w, cr__abort_fn abort)
{
	w->task = cr__self()->current;
	w->res = 0;
	w->abort_reason = 0;
	w->woken = 0;
	w->io = 0;
	w->abort = abort;
	w->deadline.index = CR__TIMER_IDLE;
}

/* The deadline of a parked wait passed.  A wait already woken has won: it
 * returns its result, the scope is not charged for it, and the next wait
 * inside the scope reports the timeout (cr__wait_prepare). */
static void deadline_fire(cr__timer *tm)
{
	cr__wait *w = cr__container_of(tm, cr__wait, deadline);
	if (w->woken)
		return;
	cr__deadline_mark_expired(w->task, tm->when);
	cr__wait_abort(w, -ETIMEDOUT);
}

int cr__wait_park(cr__wait *w)
{
	cr_task *t = w->task;
	cr__worker *wk = t->worker;
	t->wait = w;
	if (!w->woken) {
		t->state = CR__TASK_PARKED;
		if (t->deadline && w->abort) {
			cr__timer_init(&w->deadline, deadline_fire);
			if (cr__timer_heap_add(&wk->timers, &w->deadline,
					       t->deadline->effective_ns) < 0)
				w->deadline.index =
					CR__TIMER_IDLE; /* no memory: the wait runs unbounded */
		}
	}
	cr__sched_suspend(wk, t);
	t->wait = NULL;
	if (cr__timer_armed(&w->deadline))
		cr__timer_heap_remove(&wk->timers, &w->deadline);
	int res = w->res;
	if (w->abort_reason) {
		if (w->io && (res == -ECANCELED || res == -EINTR))
			res = w->abort_reason; /* the kernel confirmed the cancellation */
		else if (res != w->abort_reason && w->abort_reason == -ECANCELED)
			t->cancel_pending = 1; /* completed anyway: deliver at the next wait */
	}
	return res;
}

int cr__wait_in_slot(cr__wait **slot)
{
	int e = cr__wait_prepare();
	if (e)
		return e;
	cr__wait w;
	cr__wait_init(&w, cr__abort_wake);
	*slot = &w;
	e = cr__wait_park(&w);
	if (*slot == &w)
		*slot = NULL;
	if (e < 0)
		return e;
	return cr__wait_take_cancel() ? -ECANCELED : 0;
}

int cr__wake_slot(cr__wait **slot)
{
	cr__wait *w = *slot;
	if (!w)
		return 0;
	*slot = NULL;
	cr__wake(w, 0);
	return 1;
}

void cr__wake(cr__wait *w, int res)
{
	cr__worker *owner = w->task->worker;
	cr__worker *self = cr__self();
	if (owner != self) {
		w->res = res;
		w->msg.kind = CR__MSG_WAKE;
		if (self)
			self->stats.wakeups_sent++;
		cr__remote_post(owner, &w->msg); /* w may be gone once this returns */
		return;
	}
	if (w->woken)
		return;
	w->woken = 1;
	w->res = res;
	cr__sched_ready(owner, w->task);
}

void cr__wait_abort(cr__wait *w, int reason)
{
	if (reason == -ECANCELED && w->abort_reason == -ECANCELED)
		return; /* this wait already ends in the cancellation: deliver it once */
	if (w->woken || w->abort_reason || !w->abort) {
		if (reason == -ECANCELED)
			w->task->cancel_pending = 1;
		return;
	}
	w->abort_reason = reason;
	w->abort(w, reason);
}

void cr__abort_wake(cr__wait *w, int reason)
{
	cr__wake(w, reason);
}

int cr__wait_take_cancel(void)
{
	cr_task *t = cr__self()->current;
	if (!t->cancel_pending)
		return 0;
	t->cancel_pending = 0;
	return 1;
}
