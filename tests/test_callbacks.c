/* SPDX-License-Identifier: MIT */
/* test_callbacks: call_soon / call_later / call_at ordering, cancellation by id, and callbacks that
 * schedule or spawn. */
#include <coring.h>

#include <stdint.h>

#include "check.h"

#define MS 1000000ull

/* ---- an event log shared by tasks and callbacks ------------------------------------ */

static int ev_log[4096];
static int ev_len;
static uint64_t ev_time[4096];

static void log_event(int ev)
{
	CHECK(ev_len < (int)(sizeof(ev_log) / sizeof(ev_log[0])));
	ev_time[ev_len] = cr_now_ns();
	ev_log[ev_len++] = ev;
}

static void log_reset(void)
{
	ev_len = 0;
}

/* Fails unless the log holds exactly want[0..n). */
static void check_log(const int *want, int n)
{
	for (int i = 0; i < n && i < ev_len; i++)
		CHECK_MSG(ev_log[i] == want[i], "event %d: got %d, want %d", i, ev_log[i], want[i]);
	CHECK_EQ_INT(ev_len, n);
}

/* Callback: logs its argument. */
static void cb_log(void *arg)
{
	log_event((int)(intptr_t)arg);
}

/* Task: logs its argument. */
static int task_log(void *arg)
{
	log_event((int)(intptr_t)arg);
	return 0;
}

/* Polls (1 ms sleeps) until ev_len >= n, for at most 10 s; returns 1 if reached. */
static int wait_events(int n)
{
	uint64_t end = cr_now_ns() + 10000 * MS;
	while (ev_len < n && cr_now_ns() < end)
		CHECK_OK(cr_sleep(1 * MS));
	return ev_len >= n;
}

static cr_callback_id soon(int ev)
{
	cr_callback_id id = cr_call_soon(cb_log, (void *)(intptr_t)ev);
	CHECK(id != 0);
	return id;
}

static cr_callback_id later(uint64_t delay, int ev)
{
	cr_callback_id id = cr_call_later(delay, cb_log, (void *)(intptr_t)ev);
	CHECK(id != 0);
	return id;
}

/* ---- call_soon: FIFO, after tasks already ready ------------------------------------ */

/* Logs its argument; the first one queues a second with call_soon. */
static void cb_soon_chain(void *arg)
{
	int n = (int)(intptr_t)arg;
	log_event(n);
	if (n == 1)
		CHECK(cr_call_soon(cb_soon_chain, (void *)2) != 0);
}

static int main_call_soon(void *arg)
{
	(void)arg;
	log_reset();
	cr_task *a, *b;
	CHECK_OK(cr_spawn(&a, task_log, (void *)100, NULL));
	soon(1);
	soon(2);
	CHECK_OK(cr_spawn(&b, task_log, (void *)200, NULL));
	soon(3);
	CHECK_EQ_INT(ev_len, 0); /* nothing runs before main waits */
	CHECK_OK(cr_yield());
	log_event(0);
	static const int want[] = {100, 1, 2, 200, 3, 0};
	check_log(want, 6);
	CHECK_OK(cr_join(a, NULL));
	CHECK_OK(cr_join(b, NULL));

	/* many: strict FIFO */
	log_reset();
	for (int i = 0; i < 1000; i++)
		soon(i);
	CHECK_OK(cr_yield());
	CHECK_EQ_INT(ev_len, 1000);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_INT(ev_log[i], i);

	/* call_soon from inside a callback queues behind what is already ready */
	log_reset();
	CHECK(cr_call_soon(cb_soon_chain, (void *)1) != 0);
	CHECK_OK(cr_spawn(&a, task_log, (void *)100, NULL));
	CHECK_OK(cr_yield());
	CHECK_OK(cr_yield());
	static const int want3[] = {1, 100, 2};
	check_log(want3, 3);
	CHECK_OK(cr_join(a, NULL));

	/* a NULL function is refused */
	CHECK(cr_call_soon(NULL, NULL) == 0);
	CHECK(cr_call_later(1 * MS, NULL, NULL) == 0);
	CHECK(cr_call_at(cr_now_ns(), NULL, NULL) == 0);
	return 0;
}

/* ---- call_later / call_at: deadline order ------------------------------------------- */

static int main_call_later(void *arg)
{
	(void)arg;
	log_reset();
	uint64_t t0 = cr_now_ns();
	later(30 * MS, 30);
	later(10 * MS, 10);
	later(20 * MS, 20);
	later(0, 0);
	CHECK(cr_call_at(t0 + 15 * MS, cb_log, (void *)15) != 0);
	CHECK(cr_call_at(t0 - 1, cb_log, (void *)-1) != 0); /* in the past: due at once */
	CHECK(wait_events(6));
	/* due ones (0 and -1) fire in deadline order as well */
	static const int want[] = {-1, 0, 10, 15, 20, 30};
	check_log(want, 6);
	/* none fired before its deadline */
	for (int i = 0; i < ev_len; i++)
		if (ev_log[i] > 0)
			CHECK_GE_U64(ev_time[i], t0 + (uint64_t)ev_log[i] * MS);
	CHECK_GE_U64(ev_time[5] - t0, 30 * MS);
	printf("call_later 30 ms fired after %.2f ms\n", (double)(ev_time[5] - t0) / 1e6);
	return 0;
}

/* 1000 callbacks at the same absolute deadline run in scheduling order; earlier
 * deadlines scheduled afterwards still run first. */
static int main_equal_deadlines(void *arg)
{
	(void)arg;
	enum { N = 1000, EARLY = 10 };
	log_reset();
	uint64_t d = cr_now_ns() + 5 * MS;
	for (int i = 0; i < N; i++)
		CHECK(cr_call_at(d, cb_log, (void *)(intptr_t)i) != 0);
	for (int i = 0; i < EARLY; i++)
		CHECK(cr_call_at(d - 1 * MS, cb_log, (void *)(intptr_t)(-1 - i)) != 0);
	cr_stats s;
	CHECK_OK(cr_stats_get(&s));
	CHECK_GE_U64(s.timers_pending, N + EARLY);
	CHECK(wait_events(N + EARLY));
	CHECK_EQ_INT(ev_len, N + EARLY);
	for (int i = 0; i < EARLY; i++)
		CHECK_EQ_INT(ev_log[i], -1 - i);
	for (int i = 0; i < N; i++)
		CHECK_MSG(ev_log[EARLY + i] == i, "position %d: callback %d ran, want %d",
			  EARLY + i, ev_log[EARLY + i], i);
	for (int i = EARLY; i < N + EARLY; i++)
		CHECK_GE_U64(ev_time[i], d);
	CHECK_OK(cr_stats_get(&s));
	CHECK_EQ_U64(s.timers_pending, 0);
	return 0;
}

/* ---- cancellation ---------------------------------------------------------------------- */

static int main_cancel(void *arg)
{
	(void)arg;
	log_reset();
	cr_stats s0;
	CHECK_OK(cr_stats_get(&s0));

	/* a pending call_later: cancelled, never runs; a sentinel due later proves it */
	cr_callback_id victim = later(5 * MS, 666);
	cr_callback_id other = later(6 * MS, 1);
	CHECK_EQ_INT(cr_callback_cancel(victim), 0);
	cr_stats s1;
	CHECK_OK(cr_stats_get(&s1));
	CHECK_EQ_U64(s1.timers_pending, s0.timers_pending + 1); /* cancelled costs nothing */
	later(20 * MS, 2);
	CHECK(wait_events(2));
	static const int want[] = {1, 2};
	check_log(want, 2);
	/* cancel twice, cancel after run, bogus ids */
	CHECK_EQ_INT(cr_callback_cancel(victim), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(other), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(0), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(0x9e3779b97f4a7c15ull), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(UINT64_MAX), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(victim ^ 0xffffffff00000000ull), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(victim + 1000000), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel((1ull << 32) | 1000), -ENOENT); /* a record never used */

	/* a stale id must not cancel a newer callback that reuses the same record */
	log_reset();
	cr_callback_id done = soon(10);
	CHECK_OK(cr_yield());
	check_log((const int[]){10}, 1);
	cr_callback_id reuse[64];
	for (int i = 0; i < 64; i++)
		reuse[i] = soon(20 + i);
	CHECK_EQ_INT(cr_callback_cancel(done), -ENOENT);
	for (int i = 0; i < 64; i++)
		CHECK(reuse[i] != done);
	CHECK_OK(cr_yield());
	CHECK_EQ_INT(ev_len, 65);

	/* a callback that will never be due (the deadline saturates) is pending until cancelled */
	cr_callback_id never = cr_call_later(UINT64_MAX, cb_log, (void *)666);
	CHECK(never != 0);
	cr_callback_id never2 = cr_call_at(UINT64_MAX, cb_log, (void *)667);
	CHECK(never2 != 0);
	CHECK_OK(cr_stats_get(&s1));
	CHECK_EQ_U64(s1.timers_pending, 2);
	CHECK_OK(cr_yield());
	CHECK_EQ_INT(cr_callback_cancel(never), 0);
	CHECK_OK(cr_stats_get(&s1));
	CHECK_EQ_U64(s1.timers_pending, 1);
	CHECK_EQ_INT(cr_callback_cancel(never2), 0);

	/* a call_soon already in the run queue can be cancelled */
	log_reset();
	soon(1);
	cr_callback_id q = soon(2);
	soon(3);
	CHECK_EQ_INT(cr_callback_cancel(q), 0);
	CHECK_EQ_INT(cr_callback_cancel(q), -ENOENT);
	CHECK_OK(cr_yield());
	CHECK_OK(cr_yield());
	static const int want2[] = {1, 3};
	check_log(want2, 2);
	CHECK_EQ_INT(cr_callback_cancel(q), -ENOENT);

	CHECK_OK(cr_stats_get(&s0));
	CHECK_EQ_U64(s0.timers_pending, 0);
	return 0;
}

/* ---- cancelling from inside a callback ------------------------------------------------- */

static cr_callback_id to_cancel;
static int cancel_rc = 1;

static void cb_cancel_other(void *arg)
{
	(void)arg;
	log_event(1);
	cancel_rc = cr_callback_cancel(to_cancel);
}

static int main_cancel_from_callback(void *arg)
{
	(void)arg;
	log_reset();
	/* same deadline: both move to the run queue together, the first cancels the second */
	uint64_t d = cr_now_ns() + 2 * MS;
	CHECK(cr_call_at(d, cb_cancel_other, NULL) != 0);
	to_cancel = cr_call_at(d, cb_log, (void *)666);
	CHECK(to_cancel != 0);
	CHECK(cr_call_at(d + 3 * MS, cb_log, (void *)2) != 0);
	CHECK(wait_events(2));
	static const int want[] = {1, 2};
	check_log(want, 2);
	CHECK_EQ_INT(cancel_rc, 0);
	CHECK_EQ_INT(cr_callback_cancel(to_cancel), -ENOENT);
	return 0;
}

static cr_callback_id self_id;
static int self_cancel_rc = 1;

/* Tries to cancel itself while running: it is already running, so -ENOENT. */
static void cb_cancel_self(void *arg)
{
	(void)arg;
	log_event(7);
	self_cancel_rc = cr_callback_cancel(self_id);
}

static int main_cancel_self(void *arg)
{
	(void)arg;
	log_reset();
	self_id = cr_call_soon(cb_cancel_self, NULL);
	CHECK(self_id != 0);
	CHECK_OK(cr_yield());
	check_log((const int[]){7}, 1);
	CHECK_EQ_INT(self_cancel_rc, -ENOENT);
	return 0;
}

/* ---- callbacks that schedule callbacks or spawn tasks ------------------------------------ */

static uint64_t chained_at;

static void cb_chain(void *arg)
{
	int depth = (int)(intptr_t)arg;
	log_event(depth);
	if (depth == 1) {
		chained_at = cr_now_ns();
		CHECK(cr_call_later(5 * MS, cb_chain, (void *)2) != 0);
	} else if (depth == 2) {
		CHECK(cr_call_soon(cb_chain, (void *)3) != 0);
	}
}

static cr_task *cb_spawned;
static int cb_spawn_rc = 1;
static cr_task *task_saw_current;

static int task_from_callback(void *arg)
{
	task_saw_current = cr_current();
	CHECK_OK(cr_sleep(1 * MS)); /* a real task: it may wait */
	log_event((int)(intptr_t)arg);
	return 77;
}

static void cb_spawn(void *arg)
{
	(void)arg;
	CHECK(cr_current() == NULL);
	cb_spawn_rc = cr_spawn(&cb_spawned, task_from_callback, (void *)50, NULL);
	CHECK_OK(cr_spawn(NULL, task_log, (void *)51, NULL)); /* detached */
}

static int main_nested(void *arg)
{
	(void)arg;
	log_reset();
	CHECK(cr_call_soon(cb_chain, (void *)1) != 0);
	CHECK(wait_events(3));
	static const int want[] = {1, 2, 3};
	check_log(want, 3);
	CHECK_GE_U64(ev_time[1] - chained_at, 5 * MS);

	log_reset();
	CHECK(cr_call_later(1 * MS, cb_spawn, NULL) != 0);
	CHECK(wait_events(2));
	CHECK_EQ_INT(cb_spawn_rc, 0);
	CHECK(cb_spawned != NULL);
	CHECK_EQ_PTR(task_saw_current, cb_spawned);
	int res = 0;
	CHECK_OK(cr_join(cb_spawned, &res));
	CHECK_EQ_INT(res, 77);
	static const int want2[] = {51, 50};
	check_log(want2, 2);

	cr_stats s;
	CHECK_OK(cr_stats_get(&s));
	CHECK_EQ_U64(s.tasks_alive, 1);
	CHECK_EQ_U64(s.callbacks_run, 4); /* three chained + the spawner */
	return 0;
}

/* ---- callbacks still pending when main returns ------------------------------------------- */

static int teardown_ran;

static void cb_must_not_run(void *arg)
{
	(void)arg;
	teardown_ran = 1;
}

/* Leaves timed callbacks (and a queued-then-cancelled one) behind for cr_run's teardown. */
static int main_leaves_callbacks(void *arg)
{
	(void)arg;
	CHECK(cr_call_later(10000 * MS, cb_must_not_run, NULL) != 0);
	CHECK(cr_call_at(UINT64_MAX, cb_must_not_run, NULL) != 0);
	for (int i = 0; i < 100; i++)
		CHECK(cr_call_later((uint64_t)(1000 + i) * 1000 * MS, cb_must_not_run, NULL) != 0);
	CHECK_EQ_INT(cr_callback_cancel(cr_call_soon(cb_must_not_run, NULL)), 0);
	return 3;
}

static void test_teardown_with_pending_callbacks(void)
{
	uint64_t t0 = cr_now_ns();
	CHECK_EQ_INT(check_run(NULL, main_leaves_callbacks, NULL), 3);
	CHECK_LT_U64(cr_now_ns() - t0, 5000 * MS); /* cr_run does not wait for them */
	CHECK_EQ_INT(teardown_ran, 0);
	/* the next run starts clean */
	CHECK_EQ_INT(check_run(NULL, main_call_soon, NULL), 0);
}

int main(void)
{
	/* outside cr_run: nothing can be scheduled or cancelled */
	CHECK(cr_call_soon(cb_log, NULL) == 0);
	CHECK(cr_call_later(1, cb_log, NULL) == 0);
	CHECK(cr_call_at(1, cb_log, NULL) == 0);
	CHECK_EQ_INT(cr_callback_cancel(1), -EPERM);

	CHECK_EQ_INT(check_run(NULL, main_call_soon, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_call_later, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_equal_deadlines, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_cancel, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_cancel_from_callback, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_cancel_self, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_nested, NULL), 0);
	test_teardown_with_pending_callbacks();
	printf("test_callbacks: OK\n");
	return 0;
}
