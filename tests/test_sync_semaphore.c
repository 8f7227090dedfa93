/* SPDX-License-Identifier: MIT */
/* test_sync_semaphore: cr_sem and the bounded kind on one worker (asyncio.Semaphore): value and
 * locked, holders limit, FIFO, no barging, cancellation, deadlines, callbacks and misuse. */
#include <coring.h>

#include <stdint.h>

#include "sync_cases.h"

/* ---- helpers shared by the cases ---------------------------------------------------- */

/* One task taking a permit. */
typedef struct waiter {
	cr_sem *s;	 /* the semaphore */
	int id;		 /* logged when it gets a permit */
	int hold_yields; /* yields while holding the permit */
	int keep;	 /* 1 = do not release the permit */
	int rc;		 /* result of cr_sem_acquire */
	int done;	 /* 1 once the acquire returned */
} waiter;

static int sem_waiter(void *arg)
{
	waiter *w = arg;
	w->rc = cr_sem_acquire(w->s);
	w->done = 1;
	if (w->rc == 0) {
		rec(w->id);
		for (int i = 0; i < w->hold_yields; i++)
			CHECK_EQ_INT(cr_yield(), 0);
		if (!w->keep)
			CHECK_EQ_INT(cr_sem_release(w->s), 0);
	}
	return w->rc;
}

/* ---- cases ---------------------------------------------------------------------------- */

/* Initial values, value(), locked(), try_acquire; permits are taken without switching
 * tasks. */
static int case_basics(void *arg)
{
	(void)arg;
	cr_sem s;
	volatile int flag = 0;
	CHECK_EQ_INT(cr_sem_init(&s, -1), -EINVAL);
	CHECK_EQ_INT(cr_bounded_sem_init(&s, -5), -EINVAL);

	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), -EAGAIN);
	CHECK_EQ_INT(cr_sem_release(&s), 0); /* unbounded: may go above the initial value */
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_locked(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);

	CHECK_EQ_INT(cr_sem_init(&s, 3), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 3);
	CHECK_EQ_INT(cr_sem_locked(&s), 0);
	cr_task *t = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), -EAGAIN);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 3);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 4);
	CHECK_EQ_INT(flag, 0); /* none of that switched tasks */
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(flag, 1);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

static int holders, max_holders;

static int limited(void *arg)
{
	cr_sem *s = arg;
	for (int round = 0; round < 3; round++) {
		CHECK_EQ_INT(cr_sem_acquire(s), 0);
		holders++;
		if (holders > max_holders)
			max_holders = holders;
		CHECK_LE_INT(holders, 3);
		for (int i = 0; i < 1 + round; i++)
			CHECK_EQ_INT(cr_yield(), 0);
		holders--;
		CHECK_EQ_INT(cr_sem_release(s), 0);
	}
	return 0;
}

/* Never more than N holders at a time, and N are reached. */
static int case_holders_limit(void *arg)
{
	(void)arg;
	enum { N = 20 };
	cr_sem s;
	cr_task *t[N];
	holders = max_holders = 0;
	CHECK_EQ_INT(cr_sem_init(&s, 3), 0);
	for (int i = 0; i < N; i++)
		t[i] = spawn(limited, &s);
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	CHECK_EQ_INT(max_holders, 3);
	CHECK_EQ_INT(holders, 0);
	CHECK_EQ_INT(cr_sem_value(&s), 3);
	CHECK_EQ_INT(cr_sem_locked(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* Waiters get permits in FIFO order, whether released one by one or many in one step. */
static int case_fifo(void *arg)
{
	(void)arg;
	enum { N = 6 };
	cr_sem s;
	waiter w[N];
	cr_task *t[N];
	const int want[N] = {0, 1, 2, 3, 4, 5};
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);

	/* all released in one step */
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.s = &s, .id = i, .keep = 1};
		t[i] = spawn(sem_waiter, &w[i]);
	}
	settle();
	CHECK_EQ_INT(n_order, 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0); /* all handed to waiters */
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	check_order(want, N);
	CHECK_EQ_INT(cr_sem_value(&s), 0);

	/* one at a time */
	n_order = 0;
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.s = &s, .id = i, .keep = 1};
		t[i] = spawn(sem_waiter, &w[i]);
	}
	settle();
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(cr_sem_release(&s), 0);
		settle();
		CHECK_EQ_INT(n_order, i + 1);
	}
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	check_order(want, N);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* Releases and re-acquires: the second acquire queues behind an earlier woken waiter even
 * though a permit is free when it asks (asyncio's fifo_order_2 situation). */
static int requeuer(void *arg)
{
	cr_sem *s = arg;
	CHECK_EQ_INT(cr_sem_acquire(s), 0);
	rec(2);
	CHECK_EQ_INT(cr_sem_release(s), 0);
	CHECK_EQ_INT(cr_sem_acquire(s), 0);
	rec(4);
	CHECK_EQ_INT(cr_sem_release(s), 0);
	return 0;
}

static int case_no_barging(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	waiter b = {.s = &s, .id = 1, .hold_yields = 1};
	waiter c = {.s = &s, .id = 3, .hold_yields = 1};
	cr_task *tb = spawn(sem_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	/* the permit belongs to b, which has not run */
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), -EAGAIN);
	cr_task *tc = spawn(sem_waiter, &c); /* first runs after main has queued */
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	rec(2);
	CHECK_EQ_INT(b.done, 1);
	CHECK_EQ_INT(c.done, 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {1, 2, 3};
	check_order(want, 3);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* While woken waiters have not run yet, a free permit does not let a newcomer pass them
 * (asyncio: "maintain FIFO, wait for others to start even if _value > 0"): locked() reads 1,
 * and an acquire queues behind them.  Then asyncio's test_acquire_fifo_order_2: a task that
 * releases and at once re-acquires queues behind a waiter woken before it. */
static int case_requeue_behind_woken(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	waiter b = {.s = &s, .id = 1, .keep = 1};
	waiter c = {.s = &s, .id = 2, .keep = 1};
	cr_task *tb = spawn(sem_waiter, &b);
	cr_task *tc = spawn(sem_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0); /* a free permit; b and c have not run */
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), -EAGAIN);
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	rec(3);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want1[] = {1, 2, 3};
	check_order(want1, 3);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);

	n_order = 0;
	CHECK_EQ_INT(cr_sem_init(&s, 1), 0);
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	rec(1);
	cr_task *tr = spawn(requeuer, &s);
	c = (waiter){.s = &s, .id = 3};
	tc = spawn(sem_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0); /* value now 2: one for r, one for c */
	CHECK_EQ_INT(join(tr), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want2[] = {1, 2, 3, 4};
	check_order(want2, 4);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* Cancelled before wake-up: -ECANCELED, no permit taken; the next waiter gets the permit. */
static int case_cancel_before_wakeup(void *arg)
{
	(void)arg;
	enum { N = 4 };
	cr_sem s;
	waiter w[N];
	cr_task *t[N];
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.s = &s, .id = i, .keep = 1};
		t[i] = spawn(sem_waiter, &w[i]);
	}
	settle();
	CHECK_OK(cr_cancel(t[0]));
	CHECK_OK(cr_cancel(t[1]));
	CHECK_EQ_INT(join(t[0]), -ECANCELED);
	CHECK_EQ_INT(join(t[1]), -ECANCELED);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	settle();
	CHECK_EQ_INT(w[2].done, 1);
	CHECK_EQ_INT(w[3].done, 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(join(t[2]), 0);
	CHECK_EQ_INT(join(t[3]), 0);
	const int want[] = {2, 3};
	check_order(want, 2);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* Cancelled after the release that woke it, before it ran: the permit goes to the next waiter,
 * or back to the semaphore. */
static int case_cancel_after_wakeup(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);

	/* passed to the next waiter */
	waiter b = {.s = &s, .id = 1, .keep = 1};
	waiter c = {.s = &s, .id = 2, .keep = 1};
	cr_task *tb = spawn(sem_waiter, &b);
	cr_task *tc = spawn(sem_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_OK(cr_cancel(tb));
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {2};
	check_order(want, 1);
	CHECK_EQ_INT(cr_sem_value(&s), 0);

	/* no other waiter: back to the semaphore */
	b = (waiter){.s = &s, .id = 3, .keep = 1};
	tb = spawn(sem_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_OK(cr_cancel(tb));
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_locked(&s), 0);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), 0);

	/* two woken, the first cancelled: one permit back, one held by c */
	n_order = 0;
	b = (waiter){.s = &s, .id = 4, .keep = 1};
	c = (waiter){.s = &s, .id = 5, .keep = 1};
	tb = spawn(sem_waiter, &b);
	tc = spawn(sem_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_OK(cr_cancel(tb));
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(join(tc), 0);
	const int want2[] = {5};
	check_order(want2, 1);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* Many cancelled waiters leave no trace over several rounds. */
static int case_cancelled_leave_no_trace(void *arg)
{
	(void)arg;
	enum { N = 150, ROUNDS = 3 };
	static waiter w[N];
	static cr_task *t[N];
	static int want[N];
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	for (int round = 0; round < ROUNDS; round++) {
		n_order = 0;
		for (int i = 0; i < N; i++) {
			w[i] = (waiter){.s = &s, .id = i, .keep = 1};
			t[i] = spawn(sem_waiter, &w[i]);
		}
		settle();
		int nw = 0;
		for (int i = 0; i < N; i++) {
			if ((i + round) % 3 != 1)
				CHECK_OK(cr_cancel(t[i]));
			else
				want[nw++] = i;
		}
		settle();
		CHECK_EQ_INT(cr_sem_value(&s), 0);
		CHECK_EQ_INT(cr_sem_locked(&s), 1);
		for (int i = 0; i < nw; i++)
			CHECK_EQ_INT(cr_sem_release(&s), 0);
		for (int i = 0; i < N; i++)
			CHECK_EQ_INT(join(t[i]), (i + round) % 3 != 1 ? -ECANCELED : 0);
		check_order(want, nw);
		CHECK_EQ_INT(cr_sem_value(&s), 0);
		/* the next release is not lost */
		CHECK_EQ_INT(cr_sem_release(&s), 0);
		CHECK_EQ_INT(cr_sem_value(&s), 1);
		CHECK_EQ_INT(cr_sem_try_acquire(&s), 0);
	}
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

static int timed_acquirer(void *arg)
{
	waiter *w = arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 5 * MS));
	w->rc = cr_sem_acquire(w->s);
	w->done = 1;
	return cr_deadline_exit(&d);
}

/* A deadline around a contended acquire: -ETIMEDOUT, value unchanged, later releases go to the
 * next waiter or to the semaphore. */
static int case_deadline(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	waiter a = {.s = &s, .id = 1};
	waiter b = {.s = &s, .id = 2, .keep = 1};
	cr_task *ta = spawn(timed_acquirer, &a);
	cr_task *tb = spawn(sem_waiter, &b);
	CHECK_EQ_INT(join(ta), 1);
	CHECK_EQ_INT(a.rc, -ETIMEDOUT);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(join(tb), 0);
	const int want[] = {2};
	check_order(want, 1);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	a = (waiter){.s = &s, .id = 3};
	ta = spawn(timed_acquirer, &a);
	CHECK_EQ_INT(join(ta), 1);
	CHECK_EQ_INT(a.rc, -ETIMEDOUT);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1);

	/* an expired scope does not stop the fast path */
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 0));
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	CHECK_EQ_INT(cr_sem_acquire(&s), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* BoundedSemaphore: releasing above the initial value is refused and changes nothing. */
static int case_bounded(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_bounded_sem_init(&s, 2), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_release(&s), -EPERM);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_release(&s), -EPERM);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_locked(&s), 0);

	/* with waiters: releases hand permits on, the bound applies once they are back */
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	waiter b = {.s = &s, .id = 1, .hold_yields = 1};
	cr_task *tb = spawn(sem_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_release(&s), -EPERM);
	CHECK_EQ_INT(cr_sem_value(&s), 2);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);

	/* bound 0: nothing can ever be released */
	CHECK_EQ_INT(cr_bounded_sem_init(&s, 0), 0);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	CHECK_EQ_INT(cr_sem_release(&s), -EPERM);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_try_acquire(&s), -EAGAIN);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* The wake-up of a cb_race: releases a permit.  Returns cr_sem_release's result. */
static int release_op(void *s)
{
	return cr_sem_release(s);
}

/* The wait of the callback races.  Returns cr_sem_acquire's result. */
static int acquire_op(void *s)
{
	return cr_sem_acquire(s);
}

/* After a woken acquire: the released permit went to it.  Returns nothing. */
static void check_no_permit(void *s)
{
	CHECK_EQ_INT(cr_sem_value(s), 0);
}

/* After a cancelled acquire: the permit is back; takes it again.  Returns nothing. */
static void check_permit_back(void *s)
{
	CHECK_EQ_INT(cr_sem_value(s), 1);
	CHECK_EQ_INT(cr_sem_try_acquire(s), 0);
}

/* Releases from loop callbacks that run right after the acquirer queued are never lost, and
 * a cancellation in the same callback returns the permit. */
static int case_callback_release(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	cb_race_case c = {release_op, &s, NULL, acquire_op, check_no_permit, check_permit_back};
	run_cb_races(&c, 5000);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

static int cb_rc[3];

static void acquire_in_cb(void *arg)
{
	cr_sem *s = arg;
	cb_rc[0] = cr_sem_acquire(s); /* value 0: would wait */
	cb_rc[1] = cr_sem_release(s);
	cb_rc[2] = cr_sem_acquire(s); /* fast path */
}

/* From a callback, an acquire that would wait is refused and registers nothing. */
static int case_callback_misuse(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	CHECK(cr_call_soon(acquire_in_cb, &s) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_rc[0], -EPERM);
	CHECK_EQ_INT(cb_rc[1], 0);
	CHECK_EQ_INT(cb_rc[2], 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

static int counted_body(void *arg)
{
	int *n = arg;
	return ++*n;
}

static int with_sem_task(void *arg)
{
	static int n;
	return cr_with_sem(arg, counted_body, &n);
}

/* cr_with_sem, and destroy refused while a task waits. */
static int case_with_sem_and_destroy(void *arg)
{
	(void)arg;
	cr_sem s;
	int n = 0;
	CHECK_EQ_INT(cr_sem_init(&s, 1), 0);
	CHECK_EQ_INT(cr_with_sem(&s, counted_body, &n), 1);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_acquire(&s), 0);
	cr_task *t = spawn(with_sem_task, &s);
	settle();
	CHECK_EQ_INT(cr_sem_destroy(&s), -EBUSY);
	CHECK_OK(cr_cancel(t));
	CHECK_EQ_INT(join(t), -ECANCELED);
	t = spawn(with_sem_task, &s);
	settle();
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(join(t), 1);
	CHECK_EQ_INT(cr_sem_value(&s), 1);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* ---- random cancellations ------------------------------------------------------------- */

/* Rounds of waiters of which a random subset is cancelled in random order; as many permits
 * as waiters are left are released at once, and sometimes the first of them is cancelled
 * before it ran: its permit comes back to the semaphore. */
static int case_random_cancel(void *arg)
{
	(void)arg;
	enum { ROUNDS = 150, MAXW = 40 };
	static waiter w[MAXW];
	static cr_task *t[MAXW];
	static int cancelled[MAXW], want[MAXW];
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	rnd_state = 31337;
	for (int round = 0; round < ROUNDS; round++) {
		int k = 1 + (int)rnd(MAXW);
		n_order = 0;
		for (int i = 0; i < k; i++) {
			w[i] = (waiter){.s = &s, .id = i, .keep = 1};
			cancelled[i] = 0;
			t[i] = spawn(sem_waiter, &w[i]);
		}
		settle();
		int live = k - cancel_some(t, cancelled, k);
		for (int i = 0; i < live; i++)
			CHECK_EQ_INT(cr_sem_release(&s), 0);
		int back = 0;
		if (live > 0 && rnd(3) == 0) {
			for (int i = 0; i < k; i++) {
				if (!cancelled[i]) {
					CHECK_OK(
						cr_cancel(t[i])); /* handed a permit, not run yet */
					cancelled[i] = 1;
					back = 1;
					break;
				}
			}
		}
		int nw = 0;
		for (int i = 0; i < k; i++) {
			CHECK_EQ_INT(join(t[i]), cancelled[i] ? -ECANCELED : 0);
			if (!cancelled[i])
				want[nw++] = i;
		}
		check_order(want, nw);
		CHECK_EQ_INT(cr_sem_value(&s), back);
		if (back)
			CHECK_EQ_INT(cr_sem_try_acquire(&s), 0);
	}
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* ---- driver ------------------------------------------------------------------------ */

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"basics and fast path", case_basics},
		{"never more than N holders", case_holders_limit},
		{"FIFO", case_fifo},
		{"no barging", case_no_barging},
		{"re-acquire queues behind a woken waiter", case_requeue_behind_woken},
		{"cancel before wake-up", case_cancel_before_wakeup},
		{"cancel after wake-up", case_cancel_after_wakeup},
		{"cancelled waiters leave no trace", case_cancelled_leave_no_trace},
		{"deadline", case_deadline},
		{"bounded", case_bounded},
		{"release from a callback", case_callback_release},
		{"misuse from a callback", case_callback_misuse},
		{"with_sem, destroy busy", case_with_sem_and_destroy},
		{"random cancellations", case_random_cancel},
	};
	return sync_run_cases(cases, N_CASES(cases), argc, argv, NULL);
}
