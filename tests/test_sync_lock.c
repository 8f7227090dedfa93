/* SPDX-License-Identifier: MIT */
/* test_sync_lock: cr_lock on one worker (asyncio.Lock): fast path, FIFO hand-off, no barging,
 * cancellation before and after wake-up, deadlines, callbacks, misuse and destroy. */
#include <coring.h>

#include <stdint.h>

#include "sync_cases.h"

/* ---- helpers shared by the cases ---------------------------------------------------- */

/* One task waiting for a lock. */
typedef struct waiter {
	cr_lock *l;	 /* the lock */
	int id;		 /* logged when it gets the lock */
	int hold_yields; /* yields while holding the lock */
	int rc;		 /* result of cr_lock_acquire */
	int done;	 /* 1 once the acquire returned */
} waiter;

/* Tasks inside a critical section of lock_waiter: never more than one. */
static int inside;

/* Acquires w->l, logs w->id, holds it over some yields, releases it. */
static int lock_waiter(void *arg)
{
	waiter *w = arg;
	w->rc = cr_lock_acquire(w->l);
	w->done = 1;
	if (w->rc == 0) {
		CHECK_EQ_INT(inside, 0);
		inside++;
		rec(w->id);
		CHECK_EQ_INT(cr_lock_locked(w->l), 1);
		for (int i = 0; i < w->hold_yields; i++)
			CHECK_EQ_INT(cr_yield(), 0);
		inside--;
		CHECK_EQ_INT(cr_lock_release(w->l), 0);
	}
	return w->rc;
}

/* ---- cases ---------------------------------------------------------------------------- */

/* State, try_acquire, release of an unlocked lock, locked(). */
static int case_basics(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), -EPERM);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 1);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), -EAGAIN);
	CHECK_EQ_INT(cr_lock_locked(&l), 1);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), -EPERM);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	/* the misuse changed nothing: the lock still works */
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 1);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	/* destroyed and initialised again */
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

static int critical(void *arg)
{
	cr_lock *l = arg;
	CHECK_EQ_INT(cr_lock_locked(l), 1);
	return 17;
}

static int critical_fails(void *arg)
{
	(void)arg;
	return -EIO;
}

/* Acquiring a free lock, releasing with no waiter and cr_with_lock on a free lock do not
 * switch tasks (asyncio: no await on the fast path). */
static int case_fast_path_no_yield(void *arg)
{
	(void)arg;
	cr_lock l;
	volatile int flag = 0;
	cr_lock_init(&l);
	cr_task *t = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	CHECK_EQ_INT(flag, 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(flag, 0);
	CHECK_EQ_INT(cr_with_lock(&l, critical, &l), 17);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_with_lock(&l, critical_fails, NULL), -EIO);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(flag, 0);
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(flag, 1);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* Waiters get the lock in the order they asked for it, one at a time. */
static int case_fifo(void *arg)
{
	(void)arg;
	enum { N = 6 };
	cr_lock l;
	waiter w[N];
	cr_task *t[N];
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.l = &l, .id = i, .hold_yields = 2};
		t[i] = spawn(lock_waiter, &w[i]);
	}
	settle();
	CHECK_EQ_INT(n_order, 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), -EAGAIN);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	const int want[N] = {0, 1, 2, 3, 4, 5};
	check_order(want, N);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* A task that releases and re-acquires goes behind those already waiting. */
typedef struct requeue_arg {
	cr_lock *l;
	int id;
} requeue_arg;

static int reacquirer(void *arg)
{
	requeue_arg *a = arg;
	CHECK_EQ_INT(cr_lock_acquire(a->l), 0);
	rec(a->id);
	CHECK_EQ_INT(cr_lock_release(a->l), 0);
	CHECK_EQ_INT(cr_lock_acquire(a->l), 0);
	rec(a->id + 100);
	CHECK_EQ_INT(cr_lock_release(a->l), 0);
	return 0;
}

static int case_requeue_behind(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	requeue_arg a = {&l, 1};
	waiter b = {.l = &l, .id = 2};
	waiter c = {.l = &l, .id = 3};
	cr_task *ta = spawn(reacquirer, &a);
	cr_task *tb = spawn(lock_waiter, &b);
	cr_task *tc = spawn(lock_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {1, 2, 3, 101};
	check_order(want, 4);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* After release hands the lock to a waiter that has not run yet, nobody barges in:
 * try_acquire fails and a new acquirer queues behind, although the lock reads as not
 * locked (asyncio's locked() is False until the woken waiter runs). */
static int case_no_barging(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	waiter b = {.l = &l, .id = 1, .hold_yields = 1};
	waiter c = {.l = &l, .id = 3};
	cr_task *tb = spawn(lock_waiter, &b);
	settle();
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), -EAGAIN);
	/* c is spawned now but first runs after main has queued: queue is b, main, c */
	cr_task *tc = spawn(lock_waiter, &c);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	rec(2);
	CHECK_EQ_INT(b.done, 1);
	CHECK_EQ_INT(c.done, 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {1, 2, 3};
	check_order(want, 3);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* As in asyncio, a lock just handed to a waiter that has not run yet is not held by anyone
 * who may release it: a second release is refused (asyncio: RuntimeError "Lock is not
 * acquired") and changes nothing, so the woken waiter still gets the lock alone. */
static int case_double_release_after_handoff(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	waiter b = {.l = &l, .id = 1, .hold_yields = 3};
	waiter c = {.l = &l, .id = 2};
	cr_task *tb = spawn(lock_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), -EPERM);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), -EAGAIN);
	cr_task *tc = spawn(lock_waiter, &c);
	CHECK_EQ_INT(join(tb), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {1, 2};
	check_order(want, 2);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* A waiter cancelled before it was woken gets -ECANCELED and holds nothing; the lock goes to
 * the next waiter. */
static int case_cancel_before_wakeup(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	waiter b = {.l = &l, .id = 1};
	waiter c = {.l = &l, .id = 2};
	cr_task *tb = spawn(lock_waiter, &b);
	cr_task *tc = spawn(lock_waiter, &c);
	settle();
	CHECK_OK(cr_cancel(tb));
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(cr_lock_locked(&l), 1); /* still ours */
	CHECK_EQ_INT(c.done, 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {2};
	check_order(want, 1);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), 0);

	/* cancelled and released in the same step, before the cancelled one ran */
	n_order = 0;
	b = (waiter){.l = &l, .id = 3};
	c = (waiter){.l = &l, .id = 4};
	tb = spawn(lock_waiter, &b);
	tc = spawn(lock_waiter, &c);
	settle();
	CHECK_OK(cr_cancel(tb));
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0); /* promised to c, which has not run */
	CHECK_EQ_INT(cr_lock_try_acquire(&l), -EAGAIN);
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(join(tc), 0);
	const int want2[] = {4};
	check_order(want2, 1);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* Cancelled in the same step as the release that woke it: the cancelled waiter returns
 * -ECANCELED and the lock passes to the next waiter, or becomes free if there is none. */
static int case_cancel_after_wakeup(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);

	/* with a second waiter behind it */
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	waiter b = {.l = &l, .id = 1};
	waiter c = {.l = &l, .id = 2, .hold_yields = 1};
	cr_task *tb = spawn(lock_waiter, &b);
	cr_task *tc = spawn(lock_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_OK(cr_cancel(tb));
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(join(tc), 0);
	const int want[] = {2};
	check_order(want, 1);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);

	/* alone: the lock ends up free */
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	b = (waiter){.l = &l, .id = 3};
	tb = spawn(lock_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_OK(cr_cancel(tb));
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);

	/* both woken-candidates cancelled: the third gets it */
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	b = (waiter){.l = &l, .id = 4};
	c = (waiter){.l = &l, .id = 5};
	waiter d = {.l = &l, .id = 6};
	tb = spawn(lock_waiter, &b);
	tc = spawn(lock_waiter, &c);
	cr_task *td = spawn(lock_waiter, &d);
	settle();
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_OK(cr_cancel(tb));
	CHECK_OK(cr_cancel(tc));
	CHECK_EQ_INT(join(tb), -ECANCELED);
	CHECK_EQ_INT(join(tc), -ECANCELED);
	CHECK_EQ_INT(join(td), 0);
	const int want2[] = {2, 6};
	check_order(want2, 2);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* Many cancelled waiters leave no trace: the survivors get the lock in order and later
 * releases are not lost on the cancelled ones; repeated over several rounds. */
static int case_cancelled_leave_no_trace(void *arg)
{
	(void)arg;
	enum { N = 150, ROUNDS = 3 };
	static waiter w[N];
	static cr_task *t[N];
	static int want[N];
	cr_lock l;
	cr_lock_init(&l);
	for (int round = 0; round < ROUNDS; round++) {
		n_order = 0;
		CHECK_EQ_INT(cr_lock_acquire(&l), 0);
		for (int i = 0; i < N; i++) {
			w[i] = (waiter){.l = &l, .id = i};
			t[i] = spawn(lock_waiter, &w[i]);
		}
		settle();
		/* cancel a pattern that differs per round */
		int nw = 0;
		for (int i = 0; i < N; i++) {
			if ((i + round) % 3 != 0)
				CHECK_OK(cr_cancel(t[i]));
			else
				want[nw++] = i;
		}
		settle();
		CHECK_EQ_INT(n_order, 0);
		CHECK_EQ_INT(cr_lock_locked(&l), 1);
		CHECK_EQ_INT(cr_lock_release(&l), 0);
		for (int i = 0; i < N; i++)
			CHECK_EQ_INT(join(t[i]), (i + round) % 3 != 0 ? -ECANCELED : 0);
		check_order(want, nw);
		CHECK_EQ_INT(cr_lock_locked(&l), 0);
		/* a plain waiter afterwards is served by the next release */
		CHECK_EQ_INT(cr_lock_acquire(&l), 0);
		waiter x = {.l = &l, .id = 999};
		cr_task *tx = spawn(lock_waiter, &x);
		settle();
		CHECK_EQ_INT(x.done, 0);
		CHECK_EQ_INT(cr_lock_release(&l), 0);
		CHECK_EQ_INT(join(tx), 0);
		CHECK_EQ_INT(cr_lock_locked(&l), 0);
		/* destroyed after contention and initialised again, it works the same */
		CHECK_EQ_INT(cr_lock_destroy(&l), 0);
		cr_lock_init(&l);
	}
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* Acquires w->l inside a 5 ms deadline scope; returns what cr_deadline_exit said. */
static int timed_acquirer(void *arg)
{
	waiter *w = arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 5 * MS));
	w->rc = cr_lock_acquire(w->l);
	w->done = 1;
	int charged = cr_deadline_exit(&d);
	if (w->rc == 0)
		CHECK_EQ_INT(cr_lock_release(w->l), 0);
	return charged;
}

/* A deadline scope around a contended acquire gives -ETIMEDOUT; the lock stays usable and
 * the next waiter gets it; an uncontended acquire ignores an expired deadline. */
static int case_deadline(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	waiter a = {.l = &l, .id = 1};
	waiter b = {.l = &l, .id = 2};
	cr_task *ta = spawn(timed_acquirer, &a);
	cr_task *tb = spawn(lock_waiter, &b);
	CHECK_EQ_INT(join(ta), 1);
	CHECK_EQ_INT(a.rc, -ETIMEDOUT);
	CHECK_EQ_INT(cr_lock_locked(&l), 1);
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(join(tb), 0);
	const int want[] = {2};
	check_order(want, 1);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);

	/* only a timed-out waiter: the release leaves the lock free */
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	a = (waiter){.l = &l, .id = 3};
	ta = spawn(timed_acquirer, &a);
	CHECK_EQ_INT(join(ta), 1);
	CHECK_EQ_INT(a.rc, -ETIMEDOUT);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);

	/* an expired scope: a free lock is still taken, a held one times out at once */
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 0));
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_acquire(&l), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_INT(cr_lock_locked(&l), 1);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* A pending cancellation does not stop an acquire that needs no wait, and is not consumed by
 * it: the next real wait reports it. */
static int case_pending_cancel_fast_path(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_yield(), -ECANCELED);
	/* and a contended acquire with a pending cancellation fails without queueing */
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_EQ_INT(cr_lock_acquire(&l), -ECANCELED);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* ---- callbacks: release while the waiter is being queued, cancel races ---------------- */

/* The wake-up of a cb_race: releases the lock.  Returns cr_lock_release's result. */
static int release_op(void *l)
{
	return cr_lock_release(l);
}

/* The wait of the callback races.  Returns cr_lock_acquire's result. */
static int acquire_op(void *l)
{
	return cr_lock_acquire(l);
}

/* Takes the free lock, so that the next acquire waits.  Returns nothing. */
static void acquire_free(void *l)
{
	CHECK_EQ_INT(cr_lock_acquire(l), 0);
}

/* After a woken acquire: the lock is held; releases it.  Returns nothing. */
static void check_held_release(void *l)
{
	CHECK_EQ_INT(cr_lock_locked(l), 1);
	CHECK_EQ_INT(cr_lock_release(l), 0);
}

/* After a cancelled acquire: the callback's release left the lock free.  Returns nothing. */
static void check_free(void *l)
{
	CHECK_EQ_INT(cr_lock_locked(l), 0);
}

/* A release from a loop callback scheduled just before the acquire queues is never lost; a
 * cancellation in the same callback, before or after the release, leaves the lock free. */
static int case_callback_release(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	cb_race_case c = {release_op, &l, acquire_free, acquire_op, check_held_release, check_free};
	run_cb_races(&c, 5000);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* A release from a timer racing the deadline of the waiter: whichever wins, the state is
 * consistent (got it and it is held, or timed out and the timer's release freed it). */
static int case_deadline_release_race(void *arg)
{
	(void)arg;
	enum { N = 100 };
	cr_lock l;
	int got = 0, timed_out = 0;
	cr_lock_init(&l);
	cb_race release = {release_op, &l, NULL};
	cb_runs = 0;
	for (int i = 0; i < N; i++) {
		/* the timer fires before, about with, or after the deadline */
		static const uint64_t cb_ns[3] = {MS / 4, MS / 2, MS};
		static const uint64_t dl_ns[3] = {MS, MS / 2, MS / 4};
		CHECK_EQ_INT(cr_lock_acquire(&l), 0);
		CHECK(cr_call_later(cb_ns[i % 3], op_cb, &release) != 0);
		cr_deadline d;
		CHECK_OK(cr_timeout_enter(&d, dl_ns[i % 3]));
		int rc = cr_lock_acquire(&l);
		int charged = cr_deadline_exit(&d);
		if (rc == 0) {
			got++;
			CHECK_EQ_INT(cr_lock_locked(&l), 1);
			CHECK_EQ_INT(cr_lock_release(&l), 0);
		} else {
			CHECK_EQ_INT(rc, -ETIMEDOUT);
			CHECK_EQ_INT(charged, 1);
			timed_out++;
		}
		CHECK_WAIT_UNTIL(cb_runs == i + 1, "the release timer");
		CHECK_EQ_INT(cr_lock_locked(&l), 0);
	}
	printf("  release won %d, deadline won %d\n", got, timed_out);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

static int cb_rc[4];

static void acquire_in_cb(void *arg)
{
	cr_lock *l = arg;
	cb_rc[0] = cr_lock_acquire(l); /* held: would have to wait */
	cb_rc[1] = cr_lock_release(l);
	cb_rc[2] = cr_lock_acquire(l); /* free: fast path works outside a task */
	cb_rc[3] = cr_lock_release(l);
}

/* From a loop callback: an acquire that would wait is refused with -EPERM and registers
 * nothing; the fast path works. */
static int case_callback_misuse(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	CHECK(cr_call_soon(acquire_in_cb, &l) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_rc[0], -EPERM);
	CHECK_EQ_INT(cb_rc[1], 0);
	CHECK_EQ_INT(cb_rc[2], 0);
	CHECK_EQ_INT(cb_rc[3], 0);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&l), 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* cr_lock_destroy refuses while a task waits and changes nothing; cr_with_lock whose acquire
 * is cancelled does not run its body. */
static int body_ran;

static int body(void *arg)
{
	(void)arg;
	body_ran = 1;
	return 0;
}

static int with_lock_task(void *arg)
{
	return cr_with_lock(arg, body, NULL);
}

static int case_destroy_busy_and_with_lock(void *arg)
{
	(void)arg;
	cr_lock l;
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	waiter b = {.l = &l, .id = 1};
	cr_task *tb = spawn(lock_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_lock_destroy(&l), -EBUSY);
	CHECK_EQ_INT(cr_lock_locked(&l), 1);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(join(tb), 0);

	/* waiters that were all cancelled do not count as waiting */
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	waiter c[3];
	cr_task *tc[3];
	for (int i = 0; i < 3; i++) {
		c[i] = (waiter){.l = &l, .id = 10 + i};
		tc[i] = spawn(lock_waiter, &c[i]);
	}
	settle();
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_cancel(tc[i]));
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(join(tc[i]), -ECANCELED);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	cr_lock_init(&l);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);

	body_ran = 0;
	CHECK_EQ_INT(cr_lock_acquire(&l), 0);
	cr_task *tw = spawn(with_lock_task, &l);
	settle();
	CHECK_OK(cr_cancel(tw));
	CHECK_EQ_INT(join(tw), -ECANCELED);
	CHECK_EQ_INT(body_ran, 0);
	CHECK_EQ_INT(cr_lock_release(&l), 0);
	tw = spawn(with_lock_task, &l);
	CHECK_EQ_INT(join(tw), 0);
	CHECK_EQ_INT(body_ran, 1);
	CHECK_EQ_INT(cr_lock_locked(&l), 0);
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* ---- random cancellations ------------------------------------------------------------- */

/* Rounds of waiters of which a random subset is cancelled in random order, and sometimes the
 * one the lock was handed to as well, before it ran: the others get the lock in FIFO order
 * and it ends up free. */
static int case_random_cancel(void *arg)
{
	(void)arg;
	enum { ROUNDS = 150, MAXW = 40 };
	static waiter w[MAXW];
	static cr_task *t[MAXW];
	static int cancelled[MAXW], want[MAXW];
	cr_lock l;
	cr_lock_init(&l);
	rnd_state = 777;
	for (int round = 0; round < ROUNDS; round++) {
		int k = 1 + (int)rnd(MAXW);
		n_order = 0;
		CHECK_EQ_INT(cr_lock_acquire(&l), 0);
		for (int i = 0; i < k; i++) {
			w[i] = (waiter){.l = &l, .id = i, .hold_yields = (int)rnd(3)};
			cancelled[i] = 0;
			t[i] = spawn(lock_waiter, &w[i]);
		}
		settle();
		cancel_some(t, cancelled, k);
		CHECK_EQ_INT(cr_lock_release(&l), 0);
		if (rnd(3) == 0) {
			for (int i = 0; i < k; i++) {
				if (!cancelled[i]) {
					CHECK_OK(
						cr_cancel(t[i])); /* handed the lock, not run yet */
					cancelled[i] = 1;
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
		CHECK_EQ_INT(cr_lock_locked(&l), 0);
	}
	CHECK_EQ_INT(cr_lock_destroy(&l), 0);
	return 0;
}

/* ---- driver ------------------------------------------------------------------------ */

/* Clears the lock test's own state before every case.  Returns nothing. */
static void reset_inside(void)
{
	inside = 0;
}

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"basics", case_basics},
		{"fast path does not yield", case_fast_path_no_yield},
		{"FIFO hand-off", case_fifo},
		{"re-acquire queues behind", case_requeue_behind},
		{"no barging", case_no_barging},
		{"double release after hand-off", case_double_release_after_handoff},
		{"cancel before wake-up", case_cancel_before_wakeup},
		{"cancel after wake-up", case_cancel_after_wakeup},
		{"cancelled waiters leave no trace", case_cancelled_leave_no_trace},
		{"deadline", case_deadline},
		{"pending cancel and the fast path", case_pending_cancel_fast_path},
		{"release from a callback", case_callback_release},
		{"deadline/release race", case_deadline_release_race},
		{"misuse from a callback", case_callback_misuse},
		{"destroy busy, with_lock cancelled", case_destroy_busy_and_with_lock},
		{"random cancellations", case_random_cancel},
	};
	return sync_run_cases(cases, N_CASES(cases), argc, argv, reset_inside);
}
