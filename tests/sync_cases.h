/* SPDX-License-Identifier: MIT */
/* sync_cases.h: helpers shared by the one-worker tests of the sync primitives (test_sync_*.c). */
#ifndef CORING_TESTS_SYNC_CASES_H
#define CORING_TESTS_SYNC_CASES_H

#include <stdint.h>

#include "check.h"

/* One millisecond in nanoseconds. */
#define MS 1000000ull

/* Room in the order log; a test may define a larger one before including this header. */
#ifndef MAX_LOG
#define MAX_LOG 512
#endif

/* ---- order log: the order in which tasks got through ------------------------------------ */

/* The log (order_log[0..n_order-1]); the case runner empties it before every case. */
static int order_log[MAX_LOG];
static int n_order;

/* Appends v to the order log (fails the test when it is full).  Returns nothing. */
static inline void rec(int v)
{
	CHECK_LT_INT(n_order, MAX_LOG);
	order_log[n_order++] = v;
}

/* Fails unless the log is exactly want[0..n-1].  Returns nothing. */
static inline void check_order(const int *want, int n)
{
	for (int i = 0; i < n && i < n_order; i++)
		CHECK_MSG(order_log[i] == want[i], "order[%d] is %d, expected %d", i, order_log[i],
			  want[i]);
	CHECK_EQ_INT(n_order, n);
}

/* ---- tasks -------------------------------------------------------------------------------- */

/* Spawns fn(arg) with default options (fails the test if it cannot).  Returns the task. */
static inline cr_task *spawn(cr_task_fn fn, void *arg)
{
	cr_task *t = NULL;
	CHECK_OK(cr_spawn(&t, fn, arg, NULL));
	return t;
}

/* Joins t (fails the test if cr_join fails).  Returns the task's result. */
static inline int join(cr_task *t)
{
	int res = -12345;
	CHECK_OK(cr_join(t, &res));
	return res;
}

/* Lets every ready task run a few times over.  Returns nothing. */
static inline void settle(void)
{
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(cr_yield(), 0);
}

/* A task that only sets the int arg points at: shows whether the caller switched tasks.
 * Returns 0. */
static inline int set_flag(void *arg)
{
	*(volatile int *)arg = 1;
	return 0;
}

/* Fails unless the main task is the only one left.  Returns nothing. */
static inline void check_only_main_alive(void)
{
	cr_stats st;
	CHECK_OK(cr_stats_get(&st));
	CHECK_EQ_U64(st.tasks_alive, 1);
}

/* ---- random cancellations ----------------------------------------------------------------- */

/* State of rnd(); a case seeds it before use. */
static uint32_t rnd_state;

/* A small deterministic pseudo-random generator (an LCG).  Returns 0 .. n-1. */
static inline unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1664525u + 1013904223u;
	return (rnd_state >> 8) % n;
}

/* Cancels a random subset of the n tasks t[] in random order, yielding now and then, and
 * marks them in cancelled[].  Returns how many it cancelled. */
static inline int cancel_some(cr_task **t, int *cancelled, int n)
{
	int count = 0;
	for (int j = 0; j < n; j++) {
		int i = (int)rnd((unsigned)n);
		if (cancelled[i] || rnd(2))
			continue;
		CHECK_OK(cr_cancel(t[i]));
		cancelled[i] = 1;
		count++;
		if (rnd(4) == 0)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return count;
}

/* ---- loop callbacks racing with a cancellation ------------------------------------------- */

/* Loop callbacks (cr_call_soon, cr_call_later) of the callback cases that have run; a case
 * zeroes it first. */
static int cb_runs;

/* One race inside a loop callback: the wake-up op(obj) (a release, a set, a put) and the
 * cancellation of victim, in either order. */
typedef struct cb_race {
	int (*op)(void *obj); /* the wake-up; must return 0 */
	void *obj;	      /* what it acts on */
	cr_task *victim;      /* the task it cancels */
} cb_race;

/* Loop callback (arg: a cb_race): the wake-up alone (victim is not used); counts in cb_runs.
 * Returns nothing (fails the test if the wake-up fails). */
static inline void op_cb(void *arg)
{
	cb_race *r = arg;
	CHECK_EQ_INT(r->op(r->obj), 0);
	cb_runs++;
}

/* Loop callback (arg: a cb_race): the wake-up, then the cancellation; counts in cb_runs.
 * Returns nothing (fails the test if either call fails). */
static inline void op_then_cancel_cb(void *arg)
{
	cb_race *r = arg;
	CHECK_EQ_INT(r->op(r->obj), 0);
	CHECK_OK(cr_cancel(r->victim));
	cb_runs++;
}

/* Loop callback (arg: a cb_race): the cancellation, then the wake-up; counts in cb_runs.
 * Returns nothing (fails the test if either call fails). */
static inline void cancel_then_op_cb(void *arg)
{
	cb_race *r = arg;
	CHECK_OK(cr_cancel(r->victim));
	CHECK_EQ_INT(r->op(r->obj), 0);
	cb_runs++;
}

/* What one primitive hands to run_cb_races. */
typedef struct cb_race_case {
	int (*op)(void *obj);	      /* the wake-up from the callback (a release, a set) */
	void *obj;		      /* the primitive */
	void (*arm)(void *obj);	      /* makes the next wait block (NULL: it does already) */
	int (*wait)(void *obj);	      /* the wait the callback ends */
	void (*woken)(void *obj);     /* checks (and undoes) the state after a woken wait */
	void (*cancelled)(void *obj); /* checks the state after a cancelled wait */
} cb_race_case;

/* The callback races of one primitive, n rounds of each, from the calling task: a wake-up
 * from a loop callback scheduled just before the wait queues is never lost (the wait returns
 * 0); with a cancellation of the waiter in the same callback, before or after the wake-up
 * (alternately), the wait returns -ECANCELED and no cancellation is left over.  Counts
 * cb_runs from 0.  Returns nothing (fails the test). */
static inline void run_cb_races(const cb_race_case *c, int n)
{
	cb_race r = {c->op, c->obj, cr_current()};
	cb_runs = 0;
	for (int i = 0; i < n; i++) {
		if (c->arm)
			c->arm(c->obj);
		CHECK(cr_call_soon(op_cb, &r) != 0);
		CHECK_EQ_INT(c->wait(c->obj), 0);
		c->woken(c->obj);
	}
	CHECK_EQ_INT(cb_runs, n);
	for (int i = 0; i < n; i++) {
		if (c->arm)
			c->arm(c->obj);
		CHECK(cr_call_soon(i % 2 ? op_then_cancel_cb : cancel_then_op_cb, &r) != 0);
		CHECK_EQ_INT(c->wait(c->obj), -ECANCELED);
		c->cancelled(c->obj);
		CHECK_EQ_INT(cr_yield(), 0); /* no cancellation left over */
	}
	CHECK_EQ_INT(cb_runs, 2 * n);
}

/* ---- the case runner ------------------------------------------------------------------------ */

/* One named case: fn runs as the main task of its own runtime. */
typedef struct sync_case {
	const char *name; /* printed before it runs; matched by the name filter */
	cr_task_fn fn;	  /* the case (arg NULL); returns 0 when it passes */
} sync_case;

/* What sync_case_main_ hands to its main task. */
typedef struct sync_case_run_ {
	cr_task_fn fn;	     /* the case */
	void (*reset)(void); /* per-test state to clear before it, or NULL */
} sync_case_run_;

/* Main task of one case: empties the order log, calls reset, runs the case and checks that
 * only main is left.  Returns the case's result. */
static inline int sync_case_main_(void *arg)
{
	const sync_case_run_ *run = arg;
	n_order = 0;
	if (run->reset)
		run->reset();
	int r = run->fn(NULL);
	check_only_main_alive();
	return r;
}

/* Runs the n cases in order, each in its own cr_run on one worker, after a 60 s watchdog;
 * with an argument (argv[1]) only those whose name contains it.  Prints each name first,
 * calls reset (NULL = nothing to reset) before each, fails the test unless every case
 * returns 0 and leaves only main alive.  Returns 0 (the exit status of main). */
static inline int sync_run_cases(const sync_case *cases, size_t n, int argc, char **argv,
				 void (*reset)(void))
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 1;
	check_watchdog(60);
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		sync_case_run_ run = {cases[i].fn, reset};
		printf("%s\n", cases[i].name);
		fflush(stdout);
		CHECK_EQ_INT(check_run(&cfg, sync_case_main_, &run), 0);
	}
	return 0;
}

/* The number of elements of an array. */
#define N_CASES(a) (sizeof(a) / sizeof((a)[0]))

#endif
