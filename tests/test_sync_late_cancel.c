/* SPDX-License-Identifier: MIT */
/* test_sync_late_cancel: a cancellation or deadline that lands while a sync call lets woken
 * waiters run first, or while cr_cond_wait re-acquires its lock, ends the call as in asyncio 3.13.
 */
#include <coring.h>

#include <stdint.h>

#include "sync_cases.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* One task taking a semaphore permit and keeping it. */
typedef struct taker {
	cr_sem *s; /* the semaphore */
	int id;	   /* logged when it gets the permit */
	int rc;	   /* result of cr_sem_acquire */
	int done;  /* 1 once the acquire returned */
} taker;

static int sem_taker(void *arg)
{
	taker *t = arg;
	t->rc = cr_sem_acquire(t->s);
	t->done = 1;
	if (t->rc == 0)
		rec(t->id);
	return t->rc;
}

/* A task that cancels the task arg.  Returns 0. */
static int cancel_task(void *arg)
{
	CHECK_OK(cr_cancel(arg));
	return 0;
}

/* Loop callback: cancels the task arg.  Returns nothing. */
static void cancel_cb(void *arg)
{
	CHECK_OK(cr_cancel(arg));
	cb_runs++;
}

/* A task that spins, without yielding, until the monotonic clock passes *(uint64_t *)arg.
 * Returns 0. */
static int spin_until(void *arg)
{
	uint64_t until = *(const uint64_t *)arg;
	while (cr_now_ns() <= until)
		;
	return 0;
}

/* Makes the state of asyncio's "free permit, woken waiters not run yet" on s (initialised to
 * 0 here): tb and tc wait, then three releases hand two permits to them (they have not run)
 * and leave one free.  Returns nothing. */
static void free_permit_behind_woken(cr_sem *s, taker *b, taker *c, cr_task **tb, cr_task **tc)
{
	CHECK_EQ_INT(cr_sem_init(s, 0), 0);
	*b = (taker){.s = s, .id = 1};
	*c = (taker){.s = s, .id = 2};
	*tb = spawn(sem_taker, b);
	*tc = spawn(sem_taker, c);
	settle();
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_sem_release(s), 0);
	CHECK_EQ_INT(b->done, 0);
	CHECK_EQ_INT(c->done, 0);
	CHECK_EQ_INT(cr_sem_value(s), 1);
	CHECK_EQ_INT(cr_sem_locked(s), 1); /* asyncio 3.13: a newcomer must queue behind them */
}

/* ---- Semaphore ------------------------------------------------------------------------------ */

/* Cancelled by another task while it lets the woken waiters run first: -ECANCELED, the permit
 * goes back (value 1, not locked), the cancellation is consumed, and a later acquire gets the
 * permit. */
static int case_sem_cancel_task(void *arg)
{
	(void)arg;
	cr_sem s;
	taker b, c;
	cr_task *tb, *tc;
	free_permit_behind_woken(&s, &b, &c, &tb, &tc);
	cr_task *tx = spawn(cancel_task, cr_current()); /* runs while the acquire yields */
	CHECK_EQ_INT(cr_sem_acquire(&s), -ECANCELED);
	CHECK_EQ_INT(b.done, 1); /* the woken waiters did run first */
	CHECK_EQ_INT(c.done, 1);
	CHECK_EQ_INT(join(tx), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1); /* asyncio: value unchanged by the cancelled acquire */
	CHECK_EQ_INT(cr_sem_locked(&s), 0);
	CHECK_EQ_INT(cr_yield(), 0); /* the cancellation was consumed, not left pending */
	taker d = {.s = &s, .id = 3};
	cr_task *td = spawn(sem_taker, &d);
	CHECK_EQ_INT(join(td), 0); /* another task gets the permit */
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {1, 2, 3};
	check_order(want, 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 3);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* Cancelled from a loop callback while it lets the woken waiters run, with a newcomer queued
 * meanwhile: the permit given back goes straight to that newcomer (FIFO, no barging), the
 * cancelled acquire holds nothing. */
static int case_sem_cancel_callback_handoff(void *arg)
{
	(void)arg;
	cr_sem s;
	taker b, c;
	cr_task *tb, *tc;
	free_permit_behind_woken(&s, &b, &c, &tb, &tc);
	taker d = {.s = &s, .id = 3};
	cr_task *td = spawn(sem_taker, &d); /* queues after the acquire below took the permit */
	cb_runs = 0;
	CHECK(cr_call_soon(cancel_cb, cr_current()) != 0);
	CHECK_EQ_INT(cr_sem_acquire(&s), -ECANCELED);
	CHECK_EQ_INT(cb_runs, 1);
	CHECK_EQ_INT(d.done, 0); /* handed the permit, not run yet */
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), -EAGAIN);
	CHECK_EQ_INT(join(td), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {1, 2, 3};
	check_order(want, 3);
	CHECK_EQ_INT(cr_yield(), 0); /* consumed */
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 3);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* A deadline scope that expires while the acquire lets the woken waiters run: -ETIMEDOUT,
 * the scope reports the timeout, the permit goes back. */
static int case_sem_deadline(void *arg)
{
	(void)arg;
	cr_sem s;
	taker b, c;
	cr_task *tb, *tc;
	free_permit_behind_woken(&s, &b, &c, &tb, &tc);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 50 * MS));
	uint64_t until = d.deadline_ns + MS;
	cr_task *ts = spawn(spin_until, &until); /* runs while the acquire yields */
	CHECK_EQ_INT(cr_sem_acquire(&s), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_INT(b.done, 1); /* it got past the first check: the woken waiters ran */
	CHECK_EQ_INT(c.done, 1);
	CHECK_EQ_INT(join(ts), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_locked(&s), 0);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* Nothing lands while it lets the woken waiters run: the acquire keeps the permit. */
static int case_sem_no_cancel(void *arg)
{
	(void)arg;
	cr_sem s;
	taker b, c;
	cr_task *tb, *tc;
	free_permit_behind_woken(&s, &b, &c, &tb, &tc);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 10000 * MS));
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	rec(3);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {1, 2, 3};
	check_order(want, 3);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* ---- Lock ------------------------------------------------------------------------------------ */

/* A task that takes the lock arg, holds it over one yield and releases it.  Returns
 * cr_lock_acquire's result. */
static int lock_holder(void *arg)
{
	int r = cr_lock_acquire(arg);
	if (r == 0) {
		rec(1);
		CHECK_EQ_INT(cr_yield(), 0);
		CHECK_EQ_INT(cr_lock_release(arg), 0);
	}
	return r;
}

/* asyncio 3.13's Lock.acquire while the lock is handed to a woken waiter that has not run:
 * the newcomer queues (it never takes a free permit there), and cancelled from a callback it
 * ends with -ECANCELED holding nothing; the lock ends free and the cancellation consumed. */
static int case_lock_cancel_behind_woken(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	cr_task *tb = spawn(lock_holder, &l);
	settle();
	CHECK_EQ_INT(cr_lock_release(&l), 0); /* handed to tb, which has not run */
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	cb_runs = 0;
	CHECK(cr_call_soon(cancel_cb, cr_current()) != 0);
	CHECK_EQ_INT(cr_lock_acquire(&l), -ECANCELED);
	CHECK_EQ_INT(cb_runs, 1);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_yield(), 0); /* consumed */
	CHECK_EQ_INT(cr_lock_try_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	const int want[] = {1};
	check_order(want, 1);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* ---- Condition ---------------------------------------------------------------------------- */

/* One task waiting on a condition. */
typedef struct cwaiter {
	cr_cond *c;	   /* the condition */
	int id;		   /* logged when the wait returns */
	uint64_t timeout;  /* > 0: wait inside a deadline scope of that many ns */
	uint64_t deadline; /* the scope's deadline, once entered */
	int rc;		   /* result of cr_cond_wait */
	int expired;	   /* cr_deadline_exit's result */
	int locked_after;  /* cr_lock_locked right after the wait returned */
	int done;	   /* 1 once the wait returned */
} cwaiter;

static int cond_waiter(void *arg)
{
	cwaiter *w = arg;
	CHECK_EQ_INT(cr_cond_acquire(w->c), 0);
	cr_deadline d;
	if (w->timeout) {
		CHECK_OK(cr_timeout_enter(&d, w->timeout));
		w->deadline = d.deadline_ns;
	}
	w->rc = cr_cond_wait(w->c);
	if (w->timeout)
		w->expired = cr_deadline_exit(&d);
	w->locked_after = cr_lock_locked(cr_cond_lock(w->c));
	w->done = 1;
	rec(w->id);
	CHECK_EQ_INT(cr_cond_release(w->c), 0);
	return 0;
}

/* Notified in time, its deadline then passes while it re-acquires the lock (held by main):
 * asyncio re-raises the timeout once the lock is held, and passes the notification on. */
static int case_cond_deadline_while_reacquiring(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	cwaiter a = {.c = &c, .id = 1, .timeout = 500 * MS};
	cwaiter b = {.c = &c, .id = 2};
	cr_task *ta = spawn(cond_waiter, &a);
	cr_task *tb = spawn(cond_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	/* The case tests what it means to only if a was notified before its deadline. */
	CHECK_LT_U64(cr_now_ns(), a.deadline);
	/* a runs and parks on the lock, deaf to its deadline, while main holds it past it. */
	CHECK_EQ_INT(cr_sleep(a.deadline - cr_now_ns() + 50 * MS), 0);
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(a.rc, -ETIMEDOUT);
	CHECK_EQ_INT(a.expired, 1);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(join(tb), 0); /* the notification went on to b */
	CHECK_EQ_INT(b.rc, 0);
	CHECK_EQ_INT(b.locked_after, 1);
	const int want[] = {1, 2};
	check_order(want, 2);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c)), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* Notified, then cancelled while it re-acquires the lock: -ECANCELED with the lock held, once;
 * the notification goes on. */
static int case_cond_cancel_while_reacquiring(void *arg)
{
	(void)arg;
	cr_cond c;
	cr_cond_init(&c, NULL);
	cwaiter a = {.c = &c, .id = 1};
	cwaiter b = {.c = &c, .id = 2};
	cr_task *ta = spawn(cond_waiter, &a);
	cr_task *tb = spawn(cond_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_cond_acquire(&c), 0);
	CHECK_EQ_INT(cr_cond_notify(&c, 1), 1);
	settle(); /* a runs and parks on the lock */
	CHECK_EQ_INT(a.done, 0);
	CHECK_OK(cr_cancel(ta));
	settle();
	CHECK_EQ_INT(a.done, 0); /* still waiting for the lock */
	CHECK_EQ_INT(cr_cond_release(&c), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(a.rc, -ECANCELED);
	CHECK_EQ_INT(a.locked_after, 1);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(b.rc, 0);
	const int want[] = {1, 2};
	check_order(want, 2);
	CHECK_EQ_INT(cr_cond_destroy(&c), 0);
	return 0;
}

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"semaphore: cancelled by a task while woken waiters run", case_sem_cancel_task},
		{"semaphore: cancelled by a callback, permit handed on",
		 case_sem_cancel_callback_handoff},
		{"semaphore: deadline while woken waiters run", case_sem_deadline},
		{"semaphore: nothing lands, the permit is kept", case_sem_no_cancel},
		{"lock: cancelled behind a woken waiter", case_lock_cancel_behind_woken},
		{"condition: deadline while re-acquiring", case_cond_deadline_while_reacquiring},
		{"condition: cancelled while re-acquiring", case_cond_cancel_while_reacquiring},
	};
	return sync_run_cases(cases, N_CASES(cases), argc, argv, NULL);
}
