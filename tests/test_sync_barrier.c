/* SPDX-License-Identifier: MIT */
/* test_sync_barrier: cr_barrier on one worker (asyncio.Barrier): arrival indices, cyclic reuse,
 * draining, n_waiting, reset, abort, broken, cancellation and deadlines of waiters. */
#include <coring.h>

#include <stdint.h>

#include "sync_cases.h"

/* ---- helpers shared by the cases ---------------------------------------------------- */

/* One task passing the barrier once. */
typedef struct waiter {
	cr_barrier *b;	/* the barrier */
	int timeout_ms; /* > 0: wait inside a deadline scope of that length */
	int retry;	/* 1: wait again after -EPIPE */
	int rc;		/* result of (the last) cr_barrier_wait */
	int first_rc;	/* result of the first cr_barrier_wait */
	int done;	/* 1 once it returned */
} waiter;

static int barrier_waiter(void *arg)
{
	waiter *w = arg;
	cr_deadline d;
	if (w->timeout_ms > 0)
		CHECK_OK(cr_timeout_enter(&d, (uint64_t)w->timeout_ms * MS));
	w->rc = w->first_rc = cr_barrier_wait(w->b);
	if (w->timeout_ms > 0)
		CHECK_EQ_INT(cr_deadline_exit(&d), w->rc == -ETIMEDOUT);
	if (w->retry && w->rc == -EPIPE)
		w->rc = cr_barrier_wait(w->b);
	w->done = 1;
	return w->rc;
}

/* Runs one full round of n parties (n-1 tasks and main) and checks indices 0..n-1 in
 * arrival order, main last. */
static void full_round(cr_barrier *b, unsigned n)
{
	waiter w[16];
	cr_task *t[16];
	CHECK_LE_INT(n, 16);
	for (unsigned i = 0; i + 1 < n; i++) {
		w[i] = (waiter){.b = b};
		t[i] = spawn(barrier_waiter, &w[i]);
	}
	settle();
	CHECK_EQ_INT(cr_barrier_n_waiting(b), n - 1);
	CHECK_EQ_INT(cr_barrier_wait(b), (int)n - 1);
	for (unsigned i = 0; i + 1 < n; i++)
		CHECK_EQ_INT(join(t[i]), (int)i);
	CHECK_EQ_INT(cr_barrier_n_waiting(b), 0);
	CHECK_EQ_INT(cr_barrier_broken(b), 0);
}

/* ---- cases ---------------------------------------------------------------------------- */

/* init checks, parties, a one-party barrier passes at once without switching tasks. */
static int case_basics(void *arg)
{
	(void)arg;
	cr_barrier b;
	volatile int flag = 0;
	CHECK_EQ_INT(cr_barrier_init(&b, 0), -EINVAL);
	CHECK_EQ_INT(cr_barrier_init(&b, 3), 0);
	CHECK_EQ_INT(cr_barrier_parties(&b), 3);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);

	CHECK_EQ_INT(cr_barrier_init(&b, 1), 0);
	cr_task *t = spawn(set_flag, (void *)&flag);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(cr_barrier_wait(&b), 0);
	CHECK_EQ_INT(flag, 0);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* Indices are 0..n-1 in arrival order, the last arrival gets n-1 and passes without
 * switching tasks; n_waiting counts the tasks inside. */
static int case_indices(void *arg)
{
	(void)arg;
	enum { N = 5 };
	cr_barrier b;
	waiter w[N];
	cr_task *t[N];
	volatile int flag = 0;
	CHECK_EQ_INT(cr_barrier_init(&b, N), 0);
	for (int i = 0; i < N - 1; i++) {
		w[i] = (waiter){.b = &b};
		t[i] = spawn(barrier_waiter, &w[i]);
		settle();
		CHECK_EQ_INT(cr_barrier_n_waiting(&b), i + 1);
	}
	for (int i = 0; i < N - 1; i++)
		CHECK_EQ_INT(w[i].done, 0);
	cr_task *tf = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_barrier_wait(&b), N - 1);
	CHECK_EQ_INT(flag, 0);
	for (int i = 0; i < N - 1; i++)
		CHECK_EQ_INT(join(t[i]), i);
	CHECK_EQ_INT(join(tf), 0);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	/* and again, now with a task last */
	for (int i = 0; i < N; i++) {
		w[i] = (waiter){.b = &b};
		t[i] = spawn(barrier_waiter, &w[i]);
	}
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), i);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* While the released tasks drain out, a new arrival waits for them to leave, and then starts
 * the next round at index 0; n_waiting reads 0 while draining. */
static int case_draining(void *arg)
{
	(void)arg;
	cr_barrier b;
	CHECK_EQ_INT(cr_barrier_init(&b, 3), 0);
	waiter a = {.b = &b}, c = {.b = &b}, d = {.b = &b};
	cr_task *ta = spawn(barrier_waiter, &a);
	cr_task *tc = spawn(barrier_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_barrier_wait(&b), 2); /* released; a and c have not left yet */
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(a.done, 0);
	/* d arrives while draining: it must not count in the old round */
	cr_task *td = spawn(barrier_waiter, &d);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(join(tc), 1);
	settle();
	CHECK_EQ_INT(d.done, 0);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 1);
	waiter e = {.b = &b};
	cr_task *te = spawn(barrier_waiter, &e); /* runs after main arrived */
	CHECK_EQ_INT(cr_barrier_wait(&b), 1);
	CHECK_EQ_INT(join(td), 0);
	CHECK_EQ_INT(join(te), 2);

	/* main, released last, waits again at once: it blocks until the others drained */
	a = (waiter){.b = &b};
	c = (waiter){.b = &b};
	ta = spawn(barrier_waiter, &a);
	tc = spawn(barrier_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_barrier_wait(&b), 2);
	d = (waiter){.b = &b};
	e = (waiter){.b = &b};
	td = spawn(barrier_waiter, &d);
	te = spawn(barrier_waiter, &e);
	/* main queues for the next round while a and c drain; the last of them to leave
	 * wakes main, but d and e, ready before, get in first (as in asyncio) */
	CHECK_EQ_INT(cr_barrier_wait(&b), 2);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(join(tc), 1);
	CHECK_EQ_INT(join(td), 0);
	CHECK_EQ_INT(join(te), 1);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* Cyclic reuse: P tasks pass the barrier R times; each round's indices are a permutation of
 * 0..P-1 and no task returns from round r+1 before every task returned from round r. */
enum { CYC_P = 4, CYC_R = 40 };

typedef struct cyclic {
	cr_barrier *b;
	int returned[CYC_R];	/* tasks that returned from round r */
	int seen[CYC_R][CYC_P]; /* how often index i came out in round r */
	int last_count[CYC_R];	/* returns with index P-1 */
} cyclic;

static int cyclic_task(void *arg)
{
	cyclic *c = arg;
	for (int r = 0; r < CYC_R; r++) {
		int idx = cr_barrier_wait(c->b);
		CHECK_MSG(idx >= 0 && idx < CYC_P, "round %d: index %d", r, idx);
		if (r > 0)
			CHECK_EQ_INT(c->returned[r - 1], CYC_P);
		c->returned[r]++;
		c->seen[r][idx]++;
		if (idx == CYC_P - 1)
			c->last_count[r]++;
		/* a different amount of work per task and round */
		for (int i = 0; i < (idx + r) % 3; i++)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return 0;
}

static int case_cyclic(void *arg)
{
	(void)arg;
	static cyclic c;
	cr_barrier b;
	cr_task *t[CYC_P];
	memset(&c, 0, sizeof(c));
	c.b = &b;
	CHECK_EQ_INT(cr_barrier_init(&b, CYC_P), 0);
	for (int i = 0; i < CYC_P; i++)
		t[i] = spawn(cyclic_task, &c);
	for (int i = 0; i < CYC_P; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	for (int r = 0; r < CYC_R; r++) {
		CHECK_EQ_INT(c.returned[r], CYC_P);
		CHECK_EQ_INT(c.last_count[r], 1);
		for (int i = 0; i < CYC_P; i++)
			CHECK_MSG(c.seen[r][i] == 1, "round %d: index %d seen %d times", r, i,
				  c.seen[r][i]);
	}
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* reset while tasks wait: they get -EPIPE, the barrier is not broken and works afterwards;
 * tasks that wait again right away form the next round. */
static int case_reset(void *arg)
{
	(void)arg;
	cr_barrier b;
	CHECK_EQ_INT(cr_barrier_init(&b, 3), 0);
	CHECK_EQ_INT(cr_barrier_reset(&b), 0); /* empty: nothing happens */
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);

	waiter a = {.b = &b}, c = {.b = &b};
	cr_task *ta = spawn(barrier_waiter, &a);
	cr_task *tc = spawn(barrier_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 2);
	CHECK_EQ_INT(cr_barrier_reset(&b), 0);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	CHECK_EQ_INT(join(ta), -EPIPE);
	CHECK_EQ_INT(join(tc), -EPIPE);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	full_round(&b, 3);

	/* waiters that retry after -EPIPE make the next round with main */
	a = (waiter){.b = &b, .retry = 1};
	c = (waiter){.b = &b, .retry = 1};
	ta = spawn(barrier_waiter, &a);
	tc = spawn(barrier_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_barrier_reset(&b), 0);
	CHECK_EQ_INT(cr_barrier_reset(&b), 0); /* twice while resetting: the same */
	settle();
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 2);
	CHECK_EQ_INT(cr_barrier_wait(&b), 2);
	/* a left first and blocked until c, the last out, ended the reset: c re-entered
	 * first (as in asyncio) */
	CHECK_EQ_INT(join(ta), 1);
	CHECK_EQ_INT(join(tc), 0);
	CHECK_EQ_INT(a.first_rc, -EPIPE);
	CHECK_EQ_INT(c.first_rc, -EPIPE);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	full_round(&b, 3);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* abort: waiters get -EPIPE, later waits fail at once until reset; broken reads 1. */
static int case_abort(void *arg)
{
	(void)arg;
	cr_barrier b;
	volatile int flag = 0;
	CHECK_EQ_INT(cr_barrier_init(&b, 3), 0);
	waiter a = {.b = &b}, c = {.b = &b};
	cr_task *ta = spawn(barrier_waiter, &a);
	cr_task *tc = spawn(barrier_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_barrier_abort(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 1);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(join(ta), -EPIPE);
	CHECK_EQ_INT(join(tc), -EPIPE);
	CHECK_EQ_INT(cr_barrier_broken(&b), 1);
	cr_task *tf = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_barrier_wait(&b), -EPIPE);
	CHECK_EQ_INT(cr_barrier_wait(&b), -EPIPE);
	CHECK_EQ_INT(flag, 0); /* refused without waiting */
	CHECK_EQ_INT(join(tf), 0);
	CHECK_EQ_INT(cr_barrier_abort(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 1);
	a = (waiter){.b = &b};
	ta = spawn(barrier_waiter, &a);
	CHECK_EQ_INT(join(ta), -EPIPE);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);

	CHECK_EQ_INT(cr_barrier_reset(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	full_round(&b, 3);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* A cancelled waiter leaves the barrier (n_waiting drops) without breaking it; a timed-out
 * one the same. */
static int case_cancel_and_deadline(void *arg)
{
	(void)arg;
	cr_barrier b;
	CHECK_EQ_INT(cr_barrier_init(&b, 3), 0);
	waiter a = {.b = &b}, c = {.b = &b};
	cr_task *ta = spawn(barrier_waiter, &a);
	cr_task *tc = spawn(barrier_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 2);
	CHECK_OK(cr_cancel(tc));
	CHECK_EQ_INT(join(tc), -ECANCELED);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 1);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	CHECK_EQ_INT(a.done, 0);
	waiter d = {.b = &b};
	cr_task *td = spawn(barrier_waiter, &d);
	settle();
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 2);
	CHECK_EQ_INT(cr_barrier_wait(&b), 2);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(join(td), 1);

	/* deadline */
	a = (waiter){.b = &b, .timeout_ms = 5};
	ta = spawn(barrier_waiter, &a);
	CHECK_EQ_INT(join(ta), -ETIMEDOUT);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	a = (waiter){.b = &b};
	c = (waiter){.b = &b, .timeout_ms = 5};
	ta = spawn(barrier_waiter, &a);
	tc = spawn(barrier_waiter, &c);
	CHECK_EQ_INT(join(tc), -ETIMEDOUT);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 1);
	CHECK_EQ_INT(a.done, 0);
	d = (waiter){.b = &b};
	td = spawn(barrier_waiter, &d);
	settle();
	CHECK_EQ_INT(cr_barrier_wait(&b), 2);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(join(td), 1);
	full_round(&b, 3);

	/* cancel right after the last arrival released it, before the waiter ran: asyncio
	 * reports CancelledError; the others are not affected */
	a = (waiter){.b = &b};
	c = (waiter){.b = &b};
	ta = spawn(barrier_waiter, &a);
	tc = spawn(barrier_waiter, &c);
	settle();
	CHECK_EQ_INT(cr_barrier_wait(&b), 2);
	CHECK_OK(cr_cancel(ta));
	CHECK_EQ_INT(join(ta), -ECANCELED);
	CHECK_EQ_INT(join(tc), 1);
	CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	full_round(&b, 3);

	/* a pending cancellation: a wait that would block fails and leaves no count behind */
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_EQ_INT(cr_barrier_wait(&b), -ECANCELED);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_yield(), 0);
	full_round(&b, 3);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* destroy refuses while a task waits. */
static int case_destroy_busy(void *arg)
{
	(void)arg;
	cr_barrier b;
	CHECK_EQ_INT(cr_barrier_init(&b, 2), 0);
	waiter a = {.b = &b};
	cr_task *ta = spawn(barrier_waiter, &a);
	settle();
	CHECK_EQ_INT(cr_barrier_destroy(&b), -EBUSY);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 1);
	CHECK_EQ_INT(cr_barrier_wait(&b), 1);
	CHECK_EQ_INT(join(ta), 0);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* ---- driver ------------------------------------------------------------------------ */

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"basics", case_basics},
		{"indices and n_waiting", case_indices},
		{"draining", case_draining},
		{"cyclic reuse", case_cyclic},
		{"reset", case_reset},
		{"abort", case_abort},
		{"cancel and deadline", case_cancel_and_deadline},
		{"destroy busy", case_destroy_busy},
	};
	return sync_run_cases(cases, N_CASES(cases), argc, argv, NULL);
}
