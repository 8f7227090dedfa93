/* SPDX-License-Identifier: MIT */
/* test_sync_condition: cr_cond on one worker (asyncio.Condition): notify(n) and notify_all in
 * FIFO order, the lock held on every return, cancellation at each stage, wait_for, a given
 * lock, deadlines, callbacks and misuse. */
#include <coring.h>

#include <stdint.h>

#include "sync_cases.h"

/* ---- helpers shared by the cases ---------------------------------------------------- */

/* One task waiting on a condition. */
typedef struct waiter {
	cr_cond *c;	  /* the condition */
	int id;		  /* logged when the wait returns (0 or error) */
	int timeout_ms;	  /* > 0: wait inside a deadline scope of that length */
	int rc;		  /* result of cr_cond_wait */
	int locked_after; /* cr_lock_locked right after the wait returned */
	int waiting;	  /* 1 between taking the lock and the wait returning */
	int done;	  /* 1 once the wait returned */
} waiter;

/* Takes the lock, waits once, logs its id with the lock held, releases. */
static int cond_waiter(void *arg)
{
	waiter *w = arg;
	CHECK_EQ_INT(cr_cond_acquire(w->c), 0);
	w->waiting = 1;
	cr_deadline d;
	if (w->timeout_ms > 0)
		CHECK_OK(cr_timeout_enter(&d, (uint64_t)w->timeout_ms * MS));
	w->rc = cr_cond_wait(w->c);
	if (w->timeout_ms > 0)
		CHECK_EQ_INT(cr_deadline_exit(&d), w->rc == -ETIMEDOUT);
	w->locked_after = cr_lock_locked(cr_cond_lock(w->c));
	w->waiting = 0;
	w->done = 1;
	rec(w->id);
	/* the lock is ours again whatever the result: releasing it must work */
	CHECK_EQ_INT(cr_cond_release(w->c), 0);
	return w->rc;
}

/* ---- cases ---------------------------------------------------------------------------- */

/* wait, notify and notify_all without the lock are refused and change nothing. */
static int case_misuse(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	cr_lock *l = cr_cond_lock(&c);
	CHECK(l != NULL);
	CHECK_EQ_INT(cr_cond_wait(&c), -EPERM);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), -EPERM);
	CHECK_EQ_INT(cr_cond_notify_all(&c), -EPERM);
	CHECK_EQ_INT(cr_lock_locked(l), 0);
	CHECK_EQ_INT(cr_cond_release(&c), -EPERM);

	/* with a waiter queued, a notify without the lock wakes nobody */
	waiter a = {.c = &c, .id = 1};
	cr_task *ta = spawn(cond_waiter, &a);
	settle();
	CHECK_EQ_INT(a.waiting, 1);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), -EPERM);
	CHECK_EQ_INT(cr_cond_notify_all(&c), -EPERM);
	settle();
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(cr_lock_locked(l), 0);

	/* a pending cancellation: wait fails at once and keeps the lock, nobody is queued */
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_EQ_INT(cr_cond_wait(&c), -ECANCELED);
	CHECK_EQ_INT(cr_lock_locked(l), 1);
	CHECK_EQ_INT(cr_cond_notify_all(&c), 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(cr_yield(), 0);

	/* notify with no waiter, notify(0), notify(negative) */
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 0), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, -1), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&c), 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* notify(n) wakes exactly n, the oldest first; notify_all the rest; each returns with the
 * lock held. */
static int case_notify_n(void *arg)
{
	(void)arg;
	enum { N = 6 };
	cr_cond c;
	waiter w[N];
	cr_task *t[N];
	cr_cond_init(&c, NULL);
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.c = &c, .id = i};
		t[i] = spawn(cond_waiter, &w[i]);
	}
	settle();
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(w[i].waiting, 1);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);

	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 2), 2);
	settle(); /* they are woken but need the lock */
	CHECK_EQ_INT(n_order, 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	settle();
	const int want2[] = {0, 1};
	check_order(want2, 2);
	CHECK_EQ_INT(w[2].done, 0);

	/* notify(1) twice in one step wakes two different waiters */
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	settle();
	const int want4[] = {0, 1, 2, 3};
	check_order(want4, 4);

	/* notify(10) with two waiters left wakes both; then notify_all has nobody */
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 10), 2);
	CHECK_EQ_INT(cr_cond_notify_all(&c), 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(join(t[i]), 0);
		CHECK_EQ_INT(w[i].locked_after, 1);
	}
	const int want6[] = {0, 1, 2, 3, 4, 5};
	check_order(want6, 6);

	/* notify_all wakes everyone in FIFO order */
	n_order = 0;
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.c = &c, .id = 10 + i};
		t[i] = spawn(cond_waiter, &w[i]);
	}
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&c), N);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	const int want_all[] = {10, 11, 12, 13, 14, 15};
	check_order(want_all, N);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* A waiter notified while another task waits for the lock gets the lock after it. */
static int case_notified_waits_for_lock(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	waiter a = {.c = &c, .id = 1};
	cr_task *ta = spawn(cond_waiter, &a);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	/* main takes the lock again before a ran: a waits for the lock, not re-notified */
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	settle();
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* Cancelled while waiting for notification, with the lock held by another task: the wait
 * returns -ECANCELED only once it holds the lock again. */
static int case_cancel_waiting_lock_contested(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	waiter a = {.c = &c, .id = 1};
	waiter b = {.c = &c, .id = 2};
	cr_task *ta = spawn(cond_waiter, &a);
	cr_task *tb = spawn(cond_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_OK(cr_cancel(ta));
	settle();
	CHECK_EQ_INT(a.done, 0); /* needs the lock main holds */
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), -ECANCELED);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	/* b still waits and the next notify reaches it (not lost on a's cell) */
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(tb), 0);
	const int want[] = {1, 2};
	check_order(want, 2);

	/* uncontended: cancelled, it re-takes the free lock and returns */
	a = (waiter){.c = &c, .id = 3};
	ta = spawn(cond_waiter, &a);
	settle();
	CHECK_OK(cr_cancel(ta));
	CHECK_EQ_INT(join(ta), -ECANCELED);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* Notified and cancelled in the same step, before it ran: the cancelled waiter returns
 * -ECANCELED with the lock held, and the notification passes to the next waiter. */
static int case_cancel_after_notify(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	waiter a = {.c = &c, .id = 1};
	waiter b = {.c = &c, .id = 2};
	waiter x = {.c = &c, .id = 3};
	cr_task *ta = spawn(cond_waiter, &a);
	cr_task *tb = spawn(cond_waiter, &b);
	cr_task *tx = spawn(cond_waiter, &x);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_OK(cr_cancel(ta));
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), -ECANCELED);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(b.locked_after, 1);
	settle();
	CHECK_EQ_INT(x.done, 0); /* one notification, one wake-up: only b */
	const int want[] = {1, 2};
	check_order(want, 2);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&c), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(tx), 0);

	/* alone: nobody to pass to, nothing left over for a later waiter */
	n_order = 0;
	a = (waiter){.c = &c, .id = 4};
	ta = spawn(cond_waiter, &a);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_OK(cr_cancel(ta));
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), -ECANCELED);
	b = (waiter){.c = &c, .id = 5};
	tb = spawn(cond_waiter, &b);
	settle();
	CHECK_EQ_INT(b.waiting, 1);
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);

	/* cancelled before the notify in the same step: skipped, the notify wakes the next */
	n_order = 0;
	a = (waiter){.c = &c, .id = 6};
	b = (waiter){.c = &c, .id = 7};
	x = (waiter){.c = &c, .id = 8};
	ta = spawn(cond_waiter, &a);
	tb = spawn(cond_waiter, &b);
	tx = spawn(cond_waiter, &x);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_OK(cr_cancel(ta));
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), -ECANCELED);
	CHECK_EQ_INT(join(tb), 0);
	settle();
	CHECK_EQ_INT(x.done, 0);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&c), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(tx), 0);
	const int want3[] = {6, 7, 8};
	check_order(want3, 3);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* asyncio's test_cancelled_wakeup / _relock: a consumer notified for one item and cancelled
 * (before it ran, or while it re-acquires the lock) must not swallow the wake-up: the other
 * consumer takes the item. */
typedef struct consumer_state {
	cr_cond c;
	int items; /* > 0 items to take, < 0 stop */
	int taken;
} consumer_state;

static int have_items(void *arg)
{
	consumer_state *s = arg;
	return s->items != 0;
}

static int consumer(void *arg)
{
	consumer_state *s = arg;
	CHECK_EQ_INT(cr_cond_acquire(&s->c), 0);
	for (;;) {
		int r = cr_cond_wait_for(&s->c, have_items, s);
		CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&s->c)), 1);
		if (r < 0 || s->items < 0) {
			CHECK_EQ_INT(cr_cond_release(&s->c), 0);
			return r;
		}
		s->items--;
		s->taken++;
	}
}

static int case_cancelled_consumer(void *arg)
{
	(void)arg;
	for (int relock = 0; relock <= 1; relock++) {
		consumer_state s = {.items = 0};
		cr_cond_init(&s.c, NULL);
		cr_task *c0 = spawn(consumer, &s);
		cr_task *c1 = spawn(consumer, &s);
		settle();
		CHECK_EQ_INT(cr_cond_acquire(&s.c), 0);
		s.items++;
		CHECK_EQ_INT(cr_cond_notify(&s.c, 1), 1);
		if (relock)
			settle(); /* c0 wakes and blocks re-acquiring the lock */
		CHECK_OK(cr_cancel(c0));
		CHECK_EQ_INT(cr_cond_release(&s.c), 0);
		CHECK_EQ_INT(join(c0), -ECANCELED);
		settle();
		CHECK_MSG(s.items == 0 && s.taken == 1, "relock=%d: items %d taken %d", relock,
			  s.items, s.taken);
		CHECK_EQ_INT(cr_cond_acquire(&s.c), 0);
		s.items = -1;
		CHECK_EQ_INT(cr_cond_notify_all(&s.c), 1);
		CHECK_EQ_INT(cr_cond_release(&s.c), 0);
		CHECK_EQ_INT(join(c1), 0);
		CHECK_EQ_INT(cr_cond_destroy(&s.c), 0);
	}
	return 0;
}

/* Cancelled while re-acquiring the lock after a notification: still returns holding it. */
static int case_cancel_while_reacquiring(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	waiter a = {.c = &c, .id = 1};
	cr_task *ta = spawn(cond_waiter, &a);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	settle();
	CHECK_OK(cr_cancel(ta));
	settle();
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), -ECANCELED);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* wait_for: a true predicate returns at once (no wait, no task switch); otherwise the
 * predicate is re-checked with the lock held after each notification. */
typedef struct pred_state {
	cr_cond *c;
	int value;  /* the awaited state */
	int target; /* pred is true once value >= target */
	int calls;  /* times the predicate ran */
	int rc;	    /* result of wait_for */
} pred_state;

static int reached(void *arg)
{
	pred_state *p = arg;
	p->calls++;
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(p->c)), 1);
	return p->value >= p->target;
}

static int wait_for_task(void *arg)
{
	pred_state *p = arg;
	CHECK_EQ_INT(cr_cond_acquire(p->c), 0);
	p->rc = cr_cond_wait_for(p->c, reached, p);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(p->c)), 1);
	CHECK_EQ_INT(cr_cond_release(p->c), 0);
	return p->rc;
}

static int case_wait_for(void *arg)
{
	(void)arg;
	cr_cond c;
	volatile int flag = 0;
	cr_cond_init(&c, NULL);
	pred_state p = {.c = &c, .value = 5, .target = 3};
	cr_task *tf = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_wait_for(&c, reached, &p), 0);
	CHECK_EQ_INT(p.calls, 1);
	CHECK_EQ_INT(flag, 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(tf), 0);

	p = (pred_state){.c = &c, .value = 0, .target = 3};
	cr_task *t = spawn(wait_for_task, &p);
	settle();
	CHECK_EQ_INT(p.calls, 1);
	for (int i = 1; i <= 3; i++) {
		CHECK_EQ_INT(cr_cond_acquire(&c), 0);
		p.value = i;
		CHECK_EQ_INT(cr_cond_notify_all(&c), 1);
		CHECK_EQ_INT(cr_cond_release(&c), 0);
		settle();
		CHECK_EQ_INT(p.calls, 1 + i);
	}
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(p.rc, 0);

	/* cancelled inside wait_for: -ECANCELED, lock held */
	p = (pred_state){.c = &c, .value = 0, .target = 1};
	t = spawn(wait_for_task, &p);
	settle();
	CHECK_OK(cr_cancel(t));
	CHECK_EQ_INT(join(t), -ECANCELED);
	CHECK_EQ_INT(p.calls, 1);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* A condition on a given lock uses that lock; two conditions can share one lock and notify
 * only their own waiters. */
static int case_given_lock(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_cond c1, c2;
	cr_lock_init(&l);
	cr_cond_init(&c1, &l);
	cr_cond_init(&c2, &l);
	CHECK_EQ_PTR(cr_cond_lock(&c1), &l);
	CHECK_EQ_PTR(cr_cond_lock(&c2), &l);
	CHECK_EQ_INT(cr_cond_acquire(&c1), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 1);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), -EAGAIN);
	CHECK_EQ_INT(cr_cond_release(&c2), 0); /* same lock */
	CHECK_EQ_INT(cr_lock_locked(&l), 0);

	waiter a = {.c = &c1, .id = 1};
	waiter b = {.c = &c2, .id = 2};
	cr_task *ta = spawn(cond_waiter, &a);
	cr_task *tb = spawn(cond_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&c2), 1);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_cond_acquire(&c2), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&c2), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&c1), 1);
	CHECK_EQ_INT(cr_cond_release(&c1), 0);
	CHECK_EQ_INT(join(ta), 0);
	const int want[] = {2, 1};
	check_order(want, 2);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);

	CHECK_EQ_INT(cr_cond_destroy(&c1), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c2), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

static int with_body(void *arg)
{
	cr_cond *c = arg;
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(c)), 1);
	return 9;
}

/* A deadline scope around wait: -ETIMEDOUT with the lock held; a later notify is not lost on
 * the timed-out waiter; cr_with_cond. */
static int case_deadline(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	waiter a = {.c = &c, .id = 1, .timeout_ms = 5};
	waiter b = {.c = &c, .id = 2};
	cr_task *ta = spawn(cond_waiter, &a);
	cr_task *tb = spawn(cond_waiter, &b);
	CHECK_EQ_INT(join(ta), -ETIMEDOUT);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(tb), 0);
	const int want[] = {1, 2};
	check_order(want, 2);

	/* timed out while the lock is held by main: returns only after main lets it go */
	a = (waiter){.c = &c, .id = 3, .timeout_ms = 2};
	ta = spawn(cond_waiter, &a);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_OK(cr_sleep(10 * MS));
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), -ETIMEDOUT);
	CHECK_EQ_INT(a.locked_after, 1);

	/* an expired scope: wait fails at once, the lock stays held */
	cr_deadline d;
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_OK(cr_timeout_enter(&d, 0));
	CHECK_EQ_INT(cr_cond_wait(&c), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);

	CHECK_EQ_INT(cr_with_cond(&c, with_body, &c), 9);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* A notify from a loop callback (taking the lock with try_acquire) right after the waiter
 * released the lock and parked is never lost. */
static void notify_cb(void *arg)
{
	cr_cond *c = arg;
	CHECK_EQ_INT(cr_lock_try_acquire(cr_cond_lock(c)), 0);
	CHECK_EQ_INT(cr_cond_notify(c, 1), 1);
	CHECK_EQ_INT(cr_cond_release(c), 0);
	cb_runs++;
}

static int cb_wait_rc = 1;

static void wait_in_cb(void *arg)
{
	cb_wait_rc = cr_cond_wait(arg);
}

static int case_callbacks(void *arg)
{
	(void)arg;
	enum { N = 5000 };
	cr_cond c;
	cr_cond_init(&c, NULL);
	cb_runs = 0;
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	for (int i = 0; i < N; i++) {
		CHECK(cr_call_soon(notify_cb, &c) != 0);
		CHECK_EQ_INT(cr_cond_wait(&c), 0);
		CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 1);
	}
	CHECK_EQ_INT(cb_runs, N);
	/* a wait from a callback is refused, even with the lock held */
	CHECK(cr_call_soon(wait_in_cb, &c) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_wait_rc, -EPERM);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 1);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* destroy refuses while a task waits on the condition or its own lock. */
static int case_destroy_busy(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	waiter a = {.c = &c, .id = 1};
	cr_task *ta = spawn(cond_waiter, &a);
	settle();
	CHECK_EQ_INT(cr_cond_destroy(&c), -EBUSY);
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	settle(); /* a now waits for the lock */
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), -EBUSY);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* ---- random cancellations ------------------------------------------------------------- */

/* Rounds of waiters of which a random subset is cancelled in random order; then notify(n)
 * for random n, sometimes cancelling the first waiter just notified: each notify wakes the
 * first n waiters still waiting, and a notified-then-cancelled one passes its turn on. */
static int case_random_cancel(void *arg)
{
	(void)arg;
	enum { ROUNDS = 120, MAXW = 32 };
	static waiter w[MAXW];
	static cr_task *t[MAXW];
	static int cancelled[MAXW], waiting[MAXW], want[MAXW], got[MAXW];
	cr_cond c;
	cr_cond_init(&c, NULL);
	rnd_state = 2024;
	for (int round = 0; round < ROUNDS; round++) {
		int k = 1 + (int)rnd(MAXW);
		n_order = 0;
		for (int i = 0; i < k; i++) {
			w[i] = (waiter){.c = &c, .id = i};
			cancelled[i] = 0;
			t[i] = spawn(cond_waiter, &w[i]);
		}
		settle();
		cancel_some(t, cancelled, k);
		settle();
		/* waiting[0..nl-1]: those not cancelled and not yet notified, FIFO */
		int nl = 0, nw = 0;
		for (int i = 0; i < k; i++)
			if (!cancelled[i])
				waiting[nl++] = i;
		while (nl > 0) {
			int n = 1 + (int)rnd(3);
			int m = n < nl ? n : nl;
			CHECK_EQ_INT(cr_cond_acquire(&c), 0);
			CHECK_EQ_INT(cr_cond_notify(&c, n), m);
			int pass_on = rnd(4) == 0;
			if (pass_on) {
				CHECK_OK(cr_cancel(t[waiting[0]]));
				cancelled[waiting[0]] = 1;
			}
			for (int j = pass_on; j < m; j++)
				want[nw++] = waiting[j];
			if (pass_on && nl > m)
				want[nw++] = waiting[m]; /* gets the cancelled one's turn */
			int taken = m + (pass_on && nl > m);
			memmove(waiting, waiting + taken, (size_t)(nl - taken) * sizeof(int));
			nl -= taken;
			CHECK_EQ_INT(cr_cond_release(&c), 0);
			settle();
		}
		int ng = 0;
		for (int i = 0; i < k; i++)
			CHECK_EQ_INT(join(t[i]), cancelled[i] ? -ECANCELED : 0);
		for (int i = 0; i < n_order; i++)
			if (w[order_log[i]].rc == 0)
				got[ng++] = order_log[i];
		CHECK_EQ_INT(ng, nw);
		for (int i = 0; i < nw; i++)
			CHECK_MSG(got[i] == want[i], "round %d: woken[%d] is %d, expected %d",
				  round, i, got[i], want[i]);
		CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	}
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* ---- driver ------------------------------------------------------------------------ */

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"misuse", case_misuse},
		{"notify(n) and notify_all", case_notify_n},
		{"notified waits for the lock", case_notified_waits_for_lock},
		{"cancel while waiting, lock contested", case_cancel_waiting_lock_contested},
		{"cancel after notify", case_cancel_after_notify},
		{"cancelled consumer passes the wake-up on", case_cancelled_consumer},
		{"cancel while re-acquiring", case_cancel_while_reacquiring},
		{"wait_for", case_wait_for},
		{"given lock", case_given_lock},
		{"deadline and with_cond", case_deadline},
		{"callbacks", case_callbacks},
		{"destroy busy", case_destroy_busy},
		{"random cancellations", case_random_cancel},
	};
	return sync_run_cases(cases, N_CASES(cases), argc, argv, NULL);
}
