/* SPDX-License-Identifier: MIT */
/* test_sync_event: cr_event on one worker (asyncio.Event): set wakes every current waiter in
 * FIFO order, clear, is_set, waits on a set event, cancellation, deadlines, callbacks. */
#include <coring.h>

#include <stdint.h>

#define MAX_LOG 1024 /* room in the order log */
#include "sync_cases.h"

/* ---- helpers shared by the cases ---------------------------------------------------- */

/* One task waiting for an event. */
typedef struct waiter {
	cr_event *e; /* the event */
	int id;	     /* logged when the wait returns 0 */
	int rc;	     /* result of cr_event_wait */
	int done;    /* 1 once the wait returned */
} waiter;

static int event_waiter(void *arg)
{
	waiter *w = arg;
	w->rc = cr_event_wait(w->e);
	w->done = 1;
	if (w->rc == 0)
		rec(w->id);
	return w->rc;
}

/* ---- cases ---------------------------------------------------------------------------- */

/* is_set, set twice, clear; a wait on a set event returns at once without switching tasks. */
static int case_basics(void *arg)
{
	(void)arg;
	cr_event e;
	volatile int flag = 0;
	cr_event_init(&e);
	CHECK_EQ_INT(cr_event_is_set(&e), 0);
	cr_task *t = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(cr_event_is_set(&e), 1);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(cr_event_is_set(&e), 1);
	CHECK_EQ_INT(cr_event_wait(&e), 0);
	CHECK_EQ_INT(cr_event_wait(&e), 0);
	CHECK_EQ_INT(flag, 0);
	cr_event_clear(&e);
	CHECK_EQ_INT(cr_event_is_set(&e), 0);
	cr_event_clear(&e);
	CHECK_EQ_INT(cr_event_is_set(&e), 0);
	CHECK_EQ_INT(flag, 0);
	CHECK_EQ_INT(join(t), 0);

	/* a set event with a pending cancellation: no wait, nothing consumed */
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_EQ_INT(cr_event_wait(&e), 0);
	CHECK_EQ_INT(cr_yield(), -ECANCELED);
	/* a cleared event with a pending cancellation fails without queueing */
	cr_event_clear(&e);
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_EQ_INT(cr_event_wait(&e), -ECANCELED);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* set wakes every waiter in the order they came; later waits return at once until clear. */
static int case_set_wakes_all_fifo(void *arg)
{
	(void)arg;
	enum { N = 8 };
	cr_event e;
	waiter w[N];
	cr_task *t[N];
	const int want[N] = {0, 1, 2, 3, 4, 5, 6, 7};
	cr_event_init(&e);
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.e = &e, .id = i};
		t[i] = spawn(event_waiter, &w[i]);
	}
	settle();
	CHECK_EQ_INT(n_order, 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(n_order, 0); /* set does not switch tasks */
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	check_order(want, N);

	/* set again while set: nothing; after clear new waiters block again */
	CHECK_EQ_INT(cr_event_wait(&e), 0);
	cr_event_clear(&e);
	n_order = 0;
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.e = &e, .id = N - 1 - i};
		t[i] = spawn(event_waiter, &w[i]);
	}
	settle();
	CHECK_EQ_INT(n_order, 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	const int want_rev[N] = {7, 6, 5, 4, 3, 2, 1, 0};
	check_order(want_rev, N);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* A waiter woken by set still returns 0 if the event is cleared (and set again) before it
 * runs, and is woken only once (asyncio's test_clear_with_waiters). */
static int case_clear_with_waiters(void *arg)
{
	(void)arg;
	cr_event e;
	cr_event_init(&e);
	waiter a = {.e = &e, .id = 1};
	waiter b = {.e = &e, .id = 2};
	cr_task *ta = spawn(event_waiter, &a);
	cr_task *tb = spawn(event_waiter, &b);
	settle();
	CHECK_EQ_INT(cr_event_set(&e), 0);
	cr_event_clear(&e);
	CHECK_EQ_INT(cr_event_is_set(&e), 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	cr_event_clear(&e);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(join(tb), 0);
	const int want[] = {1, 2};
	check_order(want, 2);
	CHECK_EQ_INT(cr_event_is_set(&e), 0);

	/* a waiter that arrives after the clear is not woken by the earlier set */
	waiter c = {.e = &e, .id = 3};
	cr_task *tc = spawn(event_waiter, &c);
	settle();
	CHECK_EQ_INT(c.done, 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(join(tc), 0);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* Cancelled before set: -ECANCELED, the others are still woken by set; cancelled after set
 * but before it ran: -ECANCELED too (asyncio raises CancelledError), the others return 0. */
static int case_cancel(void *arg)
{
	(void)arg;
	enum { N = 4 };
	cr_event e;
	waiter w[N];
	cr_task *t[N];
	cr_event_init(&e);
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.e = &e, .id = i};
		t[i] = spawn(event_waiter, &w[i]);
	}
	settle();
	CHECK_OK(cr_cancel(t[1]));
	CHECK_EQ_INT(join(t[1]), -ECANCELED);
	CHECK_EQ_INT(cr_event_is_set(&e), 0);
	CHECK_EQ_INT(w[0].done + w[2].done + w[3].done, 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_OK(cr_cancel(t[2]));
	CHECK_EQ_INT(join(t[0]), 0);
	CHECK_EQ_INT(join(t[2]), -ECANCELED);
	CHECK_EQ_INT(join(t[3]), 0);
	const int want[] = {0, 3};
	check_order(want, 2);
	CHECK_EQ_INT(cr_event_is_set(&e), 1);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* Many cancelled waiters over several rounds leave no trace: the next set wakes exactly the
 * survivors, in order. */
static int case_cancelled_leave_no_trace(void *arg)
{
	(void)arg;
	enum { N = 200, ROUNDS = 3 };
	static waiter w[N];
	static cr_task *t[N];
	static int want[N];
	cr_event e;
	cr_event_init(&e);
	for (int round = 0; round < ROUNDS; round++) {
		n_order = 0;
		cr_event_clear(&e);
		for (int i = 0; i < N; i++) {
			w[i] = (waiter){.e = &e, .id = i};
			t[i] = spawn(event_waiter, &w[i]);
		}
		settle();
		int nw = 0;
		for (int i = 0; i < N; i++) {
			if ((i + round) % 4 != 0)
				CHECK_OK(cr_cancel(t[i]));
			else
				want[nw++] = i;
		}
		settle();
		CHECK_EQ_INT(n_order, 0);
		CHECK_EQ_INT(cr_event_set(&e), 0);
		for (int i = 0; i < N; i++)
			CHECK_EQ_INT(join(t[i]), (i + round) % 4 != 0 ? -ECANCELED : 0);
		check_order(want, nw);
	}
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

static int timed_waiter(void *arg)
{
	waiter *w = arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 5 * MS));
	w->rc = cr_event_wait(w->e);
	w->done = 1;
	return cr_deadline_exit(&d);
}

/* A deadline scope around a wait: -ETIMEDOUT; the event works afterwards, other waiters are
 * still woken, and a set event is returned at once even with an expired deadline. */
static int case_deadline(void *arg)
{
	(void)arg;
	cr_event e;
	cr_event_init(&e);
	waiter a = {.e = &e, .id = 1};
	waiter b = {.e = &e, .id = 2};
	cr_task *tb = spawn(event_waiter, &b);
	cr_task *ta = spawn(timed_waiter, &a);
	CHECK_EQ_INT(join(ta), 1);
	CHECK_EQ_INT(a.rc, -ETIMEDOUT);
	CHECK_EQ_INT(b.done, 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(join(tb), 0);
	const int want[] = {2};
	check_order(want, 1);

	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 0));
	CHECK_EQ_INT(cr_event_wait(&e), 0);
	cr_event_clear(&e);
	CHECK_EQ_INT(cr_event_wait(&e), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);

	/* many timed-out waits in a row on an event nobody sets */
	for (int i = 0; i < 20; i++) {
		CHECK_OK(cr_timeout_enter(&d, MS / 4));
		CHECK_EQ_INT(cr_event_wait(&e), -ETIMEDOUT);
		CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	}
	a = (waiter){.e = &e, .id = 3};
	ta = spawn(event_waiter, &a);
	settle();
	CHECK_EQ_INT(a.done, 0);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* The wake-up of a cb_race: sets the event.  Returns cr_event_set's result. */
static int set_op(void *e)
{
	return cr_event_set(e);
}

/* The wait of the callback races.  Returns cr_event_wait's result. */
static int wait_op(void *e)
{
	return cr_event_wait(e);
}

/* Clears the event, so that the next wait waits.  Returns nothing. */
static void clear_op(void *e)
{
	cr_event_clear(e);
}

/* After a woken or a cancelled wait: the callback's set stands.  Returns nothing. */
static void check_is_set(void *e)
{
	CHECK_EQ_INT(cr_event_is_set(e), 1);
}

/* A set from a loop callback that runs right after the waiter queued is never lost; with a
 * cancellation in the same callback the wait reports -ECANCELED and nothing is left over. */
static int case_callback_set(void *arg)
{
	(void)arg;
	cr_event e;
	cr_event_init(&e);
	cb_race_case c = {set_op, &e, clear_op, wait_op, check_is_set, check_is_set};
	run_cb_races(&c, 5000);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

static int cb_wait_rc = 1;

static void wait_in_cb(void *arg)
{
	cb_wait_rc = cr_event_wait(arg);
}

/* Misuse: a wait that would block from a callback is refused; set outside cr_run. */
static int case_callback_misuse(void *arg)
{
	(void)arg;
	cr_event e;
	cr_event_init(&e);
	CHECK(cr_call_soon(wait_in_cb, &e) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_wait_rc, -EPERM);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK(cr_call_soon(wait_in_cb, &e) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_wait_rc, 0); /* set: returns at once, also in a callback */
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* destroy refuses while a task waits. */
static int case_destroy_busy(void *arg)
{
	(void)arg;
	cr_event e;
	cr_event_init(&e);
	waiter a = {.e = &e, .id = 1};
	cr_task *ta = spawn(event_waiter, &a);
	settle();
	CHECK_EQ_INT(cr_event_destroy(&e), -EBUSY);
	CHECK_EQ_INT(cr_event_set(&e), 0);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);

	/* waiters that were all cancelled or timed out do not count as waiting */
	cr_event_init(&e);
	waiter b[3];
	cr_task *tb[3];
	for (int i = 0; i < 3; i++) {
		b[i] = (waiter){.e = &e, .id = i};
		tb[i] = spawn(i == 1 ? timed_waiter : event_waiter, &b[i]);
	}
	settle();
	CHECK_OK(cr_cancel(tb[0]));
	CHECK_OK(cr_cancel(tb[2]));
	CHECK_EQ_INT(join(tb[0]), -ECANCELED);
	CHECK_EQ_INT(join(tb[1]), 1);
	CHECK_EQ_INT(b[1].rc, -ETIMEDOUT);
	CHECK_EQ_INT(join(tb[2]), -ECANCELED);
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* ---- random cancellations ------------------------------------------------------------- */

/* Rounds of waiters of which a random subset is cancelled in random order (some of them after
 * the set, before they ran): the set wakes exactly the others, in FIFO order. */
static int case_random_cancel(void *arg)
{
	(void)arg;
	enum { ROUNDS = 150, MAXW = 40 };
	static waiter w[MAXW];
	static cr_task *t[MAXW];
	static int cancelled[MAXW], want[MAXW];
	cr_event e;
	cr_event_init(&e);
	rnd_state = 4242;
	for (int round = 0; round < ROUNDS; round++) {
		int k = 1 + (int)rnd(MAXW);
		n_order = 0;
		cr_event_clear(&e);
		for (int i = 0; i < k; i++) {
			w[i] = (waiter){.e = &e, .id = i};
			cancelled[i] = 0;
			t[i] = spawn(event_waiter, &w[i]);
		}
		settle();
		cancel_some(t, cancelled, k);
		CHECK_EQ_INT(n_order, 0);
		CHECK_EQ_INT(cr_event_set(&e), 0);
		for (int i = 0; i < k; i++) {
			if (!cancelled[i] && rnd(5) == 0) {
				CHECK_OK(cr_cancel(t[i]));
				cancelled[i] = 1;
			}
		}
		int nw = 0;
		for (int i = 0; i < k; i++) {
			CHECK_EQ_INT(join(t[i]), cancelled[i] ? -ECANCELED : 0);
			if (!cancelled[i])
				want[nw++] = i;
		}
		check_order(want, nw);
	}
	CHECK_EQ_INT(cr_event_destroy(&e), 0);
	return 0;
}

/* ---- driver ------------------------------------------------------------------------ */

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"basics and fast path", case_basics},
		{"set wakes all in FIFO order", case_set_wakes_all_fifo},
		{"clear with waiters", case_clear_with_waiters},
		{"cancel", case_cancel},
		{"cancelled waiters leave no trace", case_cancelled_leave_no_trace},
		{"deadline", case_deadline},
		{"set from a callback", case_callback_set},
		{"misuse from a callback", case_callback_misuse},
		{"destroy busy", case_destroy_busy},
		{"random cancellations", case_random_cancel},
	};
	cr_event outside;
	cr_event_init(&outside);
	CHECK_EQ_INT(cr_event_set(&outside), -EPERM);
	CHECK_EQ_INT(cr_event_is_set(&outside), 0);
	CHECK_EQ_INT(cr_event_destroy(&outside), 0);

	return sync_run_cases(cases, N_CASES(cases), argc, argv, NULL);
}
