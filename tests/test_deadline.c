/* SPDX-License-Identifier: MIT */
/* test_deadline: deadline scopes (asyncio.timeout): expiry, nesting and charging, level-triggered
 * waits, exit order, joins and pipe reads under a deadline. */
#include <coring.h>

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ull
#define LONG_NS (10000 * MS) /* a wait that never ends by itself in this test */
#define SOON_NS (5000 * MS)  /* "promptly": a generous upper bound for noisy machines */

static cr_stats stats_now(void)
{
	cr_stats s;
	CHECK_OK(cr_stats_get(&s));
	return s;
}

/* Returns a task that sleeps ns and then returns 5 (or the sleep's error). */
static int sleep_arg_then_5(void *arg)
{
	uint64_t ns = (uint64_t)(uintptr_t)arg;
	int r = cr_sleep(ns);
	return r < 0 ? r : 5;
}

/* ---- a single scope ----------------------------------------------------------------- */

static int main_simple(void *arg)
{
	(void)arg;
	cr_deadline d;
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	CHECK_GE_U64(d.deadline_ns, t0 + 20 * MS);
	CHECK_EQ_INT(d.expired, 0);
	CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
	uint64_t dt = cr_now_ns() - t0;
	CHECK_EQ_INT(d.expired, 1);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	printf("20 ms timeout around a 10 s sleep: %.2f ms\n", (double)dt / 1e6);
	CHECK_GE_U64(dt, 20 * MS);
	CHECK_LT_U64(dt, SOON_NS);
	/* outside the scope, waits are normal again and nothing is left armed */
	CHECK_OK(cr_yield());
	CHECK_OK(cr_sleep(1 * MS));
	CHECK_EQ_U64(stats_now().timers_pending, 0);

	/* cr_deadline_enter with an absolute deadline behaves the same */
	t0 = cr_now_ns();
	CHECK_OK(cr_deadline_enter(&d, t0 + 15 * MS));
	CHECK_EQ_U64(d.deadline_ns, t0 + 15 * MS);
	CHECK_EQ_INT(cr_sleep_until(t0 + LONG_NS), -ETIMEDOUT);
	CHECK_GE_U64(cr_now_ns(), t0 + 15 * MS);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);

	/* a deadline already in the past: the first wait times out at once */
	t0 = cr_now_ns();
	CHECK_OK(cr_deadline_enter(&d, t0 - 1));
	CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);

	/* a scope whose deadline is not reached changes nothing */
	CHECK_OK(cr_timeout_enter(&d, LONG_NS));
	CHECK_OK(cr_sleep(2 * MS));
	CHECK_OK(cr_yield());
	CHECK_OK(cr_nop());
	CHECK_EQ_INT(sleep_arg_then_5((void *)(uintptr_t)(1 * MS)), 5);
	cr_task *t;
	CHECK_OK(cr_spawn(&t, sleep_arg_then_5, (void *)(uintptr_t)(3 * MS), NULL));
	int res = 0;
	CHECK_OK(cr_join(t, &res));
	CHECK_EQ_INT(res, 5);
	CHECK_EQ_INT(d.expired, 0);
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	CHECK_EQ_U64(stats_now().timers_pending, 0);

	/* a deadline that passes while the task never waits inside the scope: nothing timed out */
	CHECK_OK(cr_timeout_enter(&d, 1 * MS));
	t0 = cr_now_ns();
	while (cr_now_ns() - t0 < 3 * MS)
		;
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	CHECK_OK(cr_yield()); /* and nothing leaks out of it */

	/* a timeout so long that now + timeout overflows never expires */
	CHECK_OK(cr_timeout_enter(&d, UINT64_MAX));
	CHECK_EQ_U64(d.deadline_ns, UINT64_MAX);
	CHECK_OK(cr_sleep(2 * MS));
	CHECK_OK(cr_nop());
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	return 0;
}

/* ---- nesting ------------------------------------------------------------------------ */

static int main_nested(void *arg)
{
	(void)arg;
	cr_deadline outer, inner;

	/* inner shorter: the inner scope is charged, the outer one is untouched */
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&outer, LONG_NS));
	CHECK_OK(cr_timeout_enter(&inner, 20 * MS));
	CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
	CHECK_GE_U64(cr_now_ns() - t0, 20 * MS);
	CHECK_EQ_INT(cr_deadline_exit(&inner), 1);
	CHECK_OK(cr_yield()); /* back in the outer scope, which has not expired */
	CHECK_OK(cr_sleep(1 * MS));
	CHECK_EQ_INT(cr_deadline_exit(&outer), 0);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);

	/* outer shorter: the outer scope is charged, even though the inner one was innermost */
	t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&outer, 20 * MS));
	CHECK_OK(cr_timeout_enter(&inner, LONG_NS));
	CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
	CHECK_GE_U64(cr_now_ns() - t0, 20 * MS);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);
	CHECK_EQ_INT(cr_deadline_exit(&inner), 0);
	CHECK_EQ_INT(cr_yield(), -ETIMEDOUT); /* still inside the expired outer scope */
	CHECK_EQ_INT(cr_deadline_exit(&outer), 1);
	CHECK_OK(cr_yield());

	/* both passed: the innermost expired scope is the one charged */
	t0 = cr_now_ns();
	CHECK_OK(cr_deadline_enter(&outer, t0 + 10 * MS));
	CHECK_OK(cr_deadline_enter(&inner, t0 + 10 * MS));
	CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&inner), 1);
	CHECK_EQ_INT(cr_deadline_exit(&outer), 0);

	/* three levels, the middle one shortest */
	cr_deadline a, b, c;
	t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&a, LONG_NS));
	CHECK_OK(cr_timeout_enter(&b, 10 * MS));
	CHECK_OK(cr_timeout_enter(&c, LONG_NS));
	CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&c), 0);
	CHECK_EQ_INT(cr_deadline_exit(&b), 1);
	CHECK_EQ_INT(cr_deadline_exit(&a), 0);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);
	CHECK_EQ_U64(stats_now().timers_pending, 0);
	return 0;
}

/* ---- exit order ---------------------------------------------------------------------- */

static int main_exit_order(void *arg)
{
	(void)arg;
	cr_deadline outer, inner, stray;
	CHECK_EQ_INT(cr_deadline_exit(&stray), -EINVAL); /* nothing entered */
	CHECK_OK(cr_timeout_enter(&outer, LONG_NS));
	CHECK_OK(cr_timeout_enter(&inner, LONG_NS));
	CHECK_EQ_INT(cr_deadline_exit(&outer), -EINVAL);
	CHECK_EQ_INT(cr_deadline_exit(&stray), -EINVAL);
	/* the failed exits changed nothing: inner is still the innermost */
	CHECK_EQ_INT(cr_deadline_exit(&inner), 0);
	CHECK_EQ_INT(cr_deadline_exit(&inner), -EINVAL);
	CHECK_EQ_INT(cr_deadline_exit(&outer), 0);
	CHECK_EQ_INT(cr_deadline_exit(&outer), -EINVAL);
	return 0;
}

/* ---- level-triggered: every wait inside an expired scope times out -------------------- */

static int main_level_triggered(void *arg)
{
	(void)arg;
	cr_task *t;
	CHECK_OK(cr_spawn(&t, sleep_arg_then_5, (void *)(uintptr_t)(50 * MS), NULL));
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 10 * MS));
	CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
	uint64_t t0 = cr_now_ns();
	for (int round = 0; round < 3; round++) {
		CHECK_EQ_INT(cr_yield(), -ETIMEDOUT);
		CHECK_EQ_INT(cr_sleep(0), -ETIMEDOUT);
		CHECK_EQ_INT(cr_sleep(1 * MS), -ETIMEDOUT);
		CHECK_EQ_INT(cr_sleep(LONG_NS), -ETIMEDOUT);
		CHECK_EQ_INT(cr_sleep_until(cr_now_ns() + LONG_NS), -ETIMEDOUT);
		CHECK_EQ_INT(cr_nop(), -ETIMEDOUT);
		int res = 1234;
		CHECK_EQ_INT(cr_join(t, &res), -ETIMEDOUT);
		CHECK_EQ_INT(res, 1234);
	}
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);
	CHECK_EQ_INT(cr_task_done(t), 0); /* the 50 ms sleeper was not affected */
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	/* the handle stayed valid and the task finished normally */
	int res = 0;
	CHECK_OK(cr_join(t, &res));
	CHECK_EQ_INT(res, 5);
	return 0;
}

/* ---- deadline on a join: the task keeps running ---------------------------------------- */

static int main_join_deadline(void *arg)
{
	(void)arg;
	cr_task *t;
	CHECK_OK(cr_spawn(&t, sleep_arg_then_5, (void *)(uintptr_t)(100 * MS), NULL));
	cr_deadline d;
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	int res = 1234;
	CHECK_EQ_INT(cr_join(t, &res), -ETIMEDOUT);
	CHECK_GE_U64(cr_now_ns() - t0, 20 * MS);
	CHECK_EQ_INT(res, 1234);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_INT(cr_task_done(t), 0);
	CHECK_EQ_U64(stats_now().tasks_alive, 2);
	/* it still runs to completion: its own sleep was not cut short */
	CHECK_OK(cr_join(t, &res));
	CHECK_EQ_INT(res, 5);
	CHECK_GE_U64(cr_now_ns() - t0, 100 * MS);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

/* ---- a wait woken before its deadline fired has won ------------------------------------- */

static int returns_at_once(void *arg)
{
	(void)arg;
	return 7;
}

/* Runs past the joiner's deadline without yielding, after the joined task woke it. */
static int spins_arg_ns(void *arg)
{
	uint64_t until = cr_now_ns() + (uint64_t)(uintptr_t)arg;
	while (cr_now_ns() < until)
		;
	return 0;
}

static int main_woken_before_deadline(void *arg)
{
	(void)arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 2 * MS));
	cr_task *quick, *spinner;
	CHECK_OK(cr_spawn(&quick, returns_at_once, NULL, NULL));
	CHECK_OK(cr_spawn(&spinner, spins_arg_ns, (void *)(uintptr_t)(6 * MS), NULL));
	/* quick ends and wakes this join; the spinner then keeps the worker past the deadline,
	 * so the deadline timer fires while this task is ready but has not run. */
	int res = 0;
	CHECK_OK(cr_join(quick, &res));
	CHECK_EQ_INT(res, 7);
	CHECK_EQ_INT(d.expired, 0);	      /* the join was not charged with the timeout... */
	CHECK_EQ_INT(cr_yield(), -ETIMEDOUT); /* ...the next wait in the scope is */
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_OK(cr_join(spinner, NULL));
	return 0;
}

/* ---- cr_with_timeout: a scope that cannot be left open ---------------------------------- */

static int sleeps_arg_ns(void *arg)
{
	return cr_sleep((uint64_t)(uintptr_t)arg);
}

static int handles_its_timeout(void *arg)
{
	(void)arg;
	return cr_sleep(cr_sec(10)) == -ETIMEDOUT ? 5 : -1;
}

/* Leaves an inner scope open and fails with an error of its own. */
static int leaks_a_scope(void *arg)
{
	(void)arg;
	cr_deadline inner;
	CHECK_OK(cr_timeout_enter(&inner, cr_sec(100)));
	return cr_sleep(cr_sec(10)) == -ETIMEDOUT ? -EIO : -1;
}

static int returns_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

static int main_with_timeout(void *arg)
{
	(void)arg;
	/* the body's own result when the deadline does not pass */
	CHECK_EQ_INT(cr_with_timeout(cr_ms(100), returns_arg, (void *)(intptr_t)42), 42);
	CHECK_EQ_INT(cr_with_timeout(cr_ms(100), returns_arg, (void *)(intptr_t)-EBADF), -EBADF);
	CHECK_EQ_INT(cr_with_timeout(cr_ms(100), sleeps_arg_ns, (void *)(uintptr_t)cr_ms(1)), 0);
	/* the deadline passes: the wait inside times out and so does the call */
	uint64_t t0 = cr_now_ns();
	CHECK_EQ_INT(cr_with_timeout(cr_ms(10), sleeps_arg_ns, (void *)(uintptr_t)cr_sec(10)),
		     -ETIMEDOUT);
	CHECK_GE_U64(cr_now_ns() - t0, cr_ms(10));
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS + cr_ms(10));
	/* no scope stays open: a later wait runs its full length */
	CHECK_OK(cr_sleep(cr_ms(15)));
	/* a body that handled the timeout returns its own value */
	CHECK_EQ_INT(cr_with_timeout(cr_ms(5), handles_its_timeout, NULL), 5);
	/* a body's error after the scope expired reads as the timeout */
	CHECK_EQ_INT(cr_with_timeout(cr_ms(5), leaks_a_scope, NULL), -ETIMEDOUT);
	/* ... and the scope it left open is gone too */
	CHECK_OK(cr_sleep(cr_ms(15)));
	/* nested: the outer scope's earlier deadline cuts the inner call; the outer is charged */
	cr_deadline outer;
	CHECK_OK(cr_timeout_enter(&outer, cr_ms(5)));
	CHECK_EQ_INT(cr_with_timeout(cr_sec(10), sleeps_arg_ns, (void *)(uintptr_t)cr_sec(10)),
		     -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&outer), 1);
	/* an absolute deadline already past */
	CHECK_EQ_INT(cr_with_deadline(cr_now_ns(), sleeps_arg_ns, (void *)(uintptr_t)cr_ms(1)),
		     -ETIMEDOUT);
	CHECK_EQ_INT(cr_with_timeout(cr_ms(1), NULL, NULL), -EINVAL);
	return 0;
}

/* A task's deadline scopes are its own: a scope in one task does not touch another. */
static int scoped_sleeper(void *arg)
{
	(void)arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 10 * MS));
	int r = cr_sleep(LONG_NS);
	int charged = cr_deadline_exit(&d);
	return r == -ETIMEDOUT && charged == 1 ? 1 : -1;
}

static int main_per_task(void *arg)
{
	(void)arg;
	cr_task *t;
	CHECK_OK(cr_spawn(&t, scoped_sleeper, NULL, NULL));
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_sleep(30 * MS)); /* main has no scope: the task's expiry does not reach it */
	CHECK_GE_U64(cr_now_ns() - t0, 30 * MS);
	int res = 0;
	CHECK_OK(cr_join(t, &res));
	CHECK_EQ_INT(res, 1);
	return 0;
}

/* ---- deadline on an I/O: the pipe stays usable ------------------------------------------ */

static int main_io_deadline(void *arg)
{
	(void)arg;
	int fds[2];
	CHECK_EQ_INT(pipe(fds), 0);
	char buf[64];
	cr_deadline d;
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	CHECK_EQ_INT(cr_file_read(fds[0], buf, sizeof(buf), -1), -ETIMEDOUT);
	uint64_t dt = cr_now_ns() - t0;
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	printf("20 ms timeout around a pipe read: %.2f ms\n", (double)dt / 1e6);
	CHECK_GE_U64(dt, 20 * MS);
	CHECK_LT_U64(dt, SOON_NS);

	/* the cancelled read consumed nothing: data written now goes to the next read */
	static const char msg[] = "hello, pipe";
	CHECK_EQ_INT(cr_file_write(fds[1], msg, sizeof(msg), -1), (int)sizeof(msg));
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_INT(cr_file_read(fds[0], buf, sizeof(buf), -1), (int)sizeof(msg));
	CHECK_EQ_STR(buf, msg);

	/* again, several times: each read times out and the next data arrives intact */
	for (int i = 0; i < 5; i++) {
		CHECK_OK(cr_timeout_enter(&d, 2 * MS));
		CHECK_EQ_INT(cr_file_read(fds[0], buf, sizeof(buf), -1), -ETIMEDOUT);
		CHECK_EQ_INT(cr_deadline_exit(&d), 1);
		char c = (char)('a' + i);
		CHECK_EQ_INT(write(fds[1], &c, 1), 1);
		CHECK_EQ_INT(cr_file_read(fds[0], buf, sizeof(buf), -1), 1);
		CHECK_EQ_INT(buf[0], c);
	}
	/* a scope that does not expire around a read that completes */
	CHECK_OK(cr_timeout_enter(&d, LONG_NS));
	CHECK_EQ_INT(write(fds[1], "xy", 2), 2);
	CHECK_EQ_INT(cr_file_read(fds[0], buf, sizeof(buf), -1), 2);
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);

	CHECK_OK(cr_file_close(fds[0]));
	CHECK_OK(cr_file_close(fds[1]));
	CHECK_EQ_U64(stats_now().timers_pending, 0);
	return 0;
}

/* ---- misuse outside a task -------------------------------------------------------------- */

static int cb_enter_rc = 1;

static void cb_enter(void *arg)
{
	(void)arg;
	cr_deadline d;
	cb_enter_rc = cr_deadline_enter(&d, cr_now_ns() + LONG_NS);
}

static int main_callback_scope(void *arg)
{
	(void)arg;
	CHECK(cr_call_soon(cb_enter, NULL) != 0);
	CHECK_OK(cr_yield());
	CHECK_EQ_INT(cb_enter_rc, -EPERM);
	return 0;
}

int main(void)
{
	cr_deadline d;
	CHECK_EQ_INT(cr_timeout_enter(&d, MS), -EPERM);
	CHECK_EQ_INT(cr_with_timeout(MS, returns_arg, NULL), -EPERM);
	/* durations: units and saturation */
	CHECK_EQ_U64(cr_us(3), 3000);
	CHECK_EQ_U64(cr_ms(3), 3000000);
	CHECK_EQ_U64(cr_sec(3), 3000000000ull);
	CHECK_EQ_U64(cr_sec(UINT64_MAX / 1000000000u + 1), UINT64_MAX);
	CHECK_EQ_U64(cr_ms(UINT64_MAX), UINT64_MAX);
	CHECK_EQ_U64(cr_us(UINT64_MAX / 1000u), (UINT64_MAX / 1000u) * 1000u);
	CHECK_EQ_INT(cr_deadline_enter(&d, MS), -EPERM);

	CHECK_EQ_INT(check_run(NULL, main_simple, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_nested, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_exit_order, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_level_triggered, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_join_deadline, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_per_task, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_woken_before_deadline, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_with_timeout, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_io_deadline, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_callback_scope, NULL), 0);
	printf("test_deadline: OK\n");
	return 0;
}
