/* SPDX-License-Identifier: MIT */
/* test_gather_group: cr_gather (results, cancellation, deadline), cr_wait_any (first finished, no
 * join) and task groups (first failure cancels, owner cancellation, reuse). */
#include <coring.h>

#include <stdint.h>

#include "check.h"

#define MS 1000000ull
#define LONG_NS (10000 * MS) /* a sleep that only ends by cancellation here */
#define SOON_NS (5000 * MS)  /* "promptly": a generous upper bound for noisy machines */

/* ---- helpers ------------------------------------------------------------------------ */

static cr_stats stats_now(void)
{
	cr_stats s;
	CHECK_OK(cr_stats_get(&s));
	return s;
}

static cr_task *spawn_or_die(cr_task_fn fn, void *arg)
{
	cr_task *t = NULL;
	CHECK_OK(cr_spawn(&t, fn, arg, NULL));
	return t;
}

/* Yields until *counter >= target (at most 1000 times); returns 1 if reached. */
static int yield_until(const volatile int *counter, int target)
{
	for (int i = 0; i < 1000 && *counter < target; i++)
		CHECK_OK(cr_yield());
	return *counter >= target;
}

/* Sleeps arg nanoseconds; returns 5, or the sleep's error. */
static int sleep_then_5(void *arg)
{
	int r = cr_sleep((uint64_t)(uintptr_t)arg);
	return r < 0 ? r : 5;
}

/* Tracked long sleepers: slot i records its sleep result and counts start/end. */
enum { NSLOTS = 16 };
static int slot_result[NSLOTS];
static int slots_started, slots_ended;

static void slots_reset(void)
{
	for (int i = 0; i < NSLOTS; i++)
		slot_result[i] = 1;
	slots_started = slots_ended = 0;
}

/* Sleeps LONG_NS; returns 100 + slot if cancelled, -1 otherwise. */
static int tracked_sleeper(void *arg)
{
	int i = (int)(intptr_t)arg;
	slots_started++;
	int r = cr_sleep(LONG_NS);
	slot_result[i] = r;
	slots_ended++;
	return r == -ECANCELED ? 100 + i : -1;
}

/* As tracked_sleeper, but returns the sleep result itself (negative when cancelled). */
static int tracked_sleeper_raw(void *arg)
{
	int i = (int)(intptr_t)arg;
	slots_started++;
	int r = cr_sleep(LONG_NS);
	slot_result[i] = r;
	slots_ended++;
	return r;
}

static int ret_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

/* ---- cr_gather ---------------------------------------------------------------------- */

/* Task i sleeps (5 - i) ms, so they end in reverse order; returns i * 3 + 1. */
static int reverse_sleeper(void *arg)
{
	int i = (int)(intptr_t)arg;
	CHECK_OK(cr_sleep((uint64_t)(5 - i) * MS));
	return i == 2 ? -EIO : i * 3 + 1;
}

static int main_gather_results(void *arg)
{
	(void)arg;
	cr_task *t[5];
	int results[5];
	for (int i = 0; i < 5; i++)
		t[i] = spawn_or_die(reverse_sleeper, (void *)(intptr_t)i);
	CHECK_EQ_U64(stats_now().tasks_alive, 6);
	CHECK_EQ_INT(cr_gather(t, 5, results), 0);
	static const int want[] = {1, 4, -EIO, 10, 13}; /* a negative result is just a result */
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(results[i], want[i]);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);

	/* results may be NULL; an empty gather returns at once */
	for (int i = 0; i < 3; i++)
		t[i] = spawn_or_die(ret_arg, (void *)(intptr_t)i);
	CHECK_EQ_INT(cr_gather(t, 3, NULL), 0);
	CHECK_EQ_INT(cr_gather(t, 0, results), 0);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

/* Gathers a quick child and three long sleepers; returns cr_gather's result and
 * checks the children's results and that every handle was released. */
static int gatherer(void *arg)
{
	(void)arg;
	cr_task *kids[4];
	int results[4] = {0, 0, 0, 0};
	kids[0] = spawn_or_die(ret_arg, (void *)7);
	for (int i = 1; i < 4; i++)
		kids[i] = spawn_or_die(tracked_sleeper, (void *)(intptr_t)i);
	int r = cr_gather(kids, 4, results);
	/* the children were all awaited before cr_gather returned */
	CHECK_EQ_INT(slots_ended, 3);
	CHECK_EQ_INT(results[0], 7);
	for (int i = 1; i < 4; i++)
		CHECK_EQ_INT(results[i], 100 + i);
	CHECK_EQ_U64(stats_now().tasks_alive, 2); /* main and this task: handles released */
	return r;
}

static int main_gather_cancelled(void *arg)
{
	(void)arg;
	slots_reset();
	uint64_t t0 = cr_now_ns();
	cr_task *g = spawn_or_die(gatherer, NULL);
	CHECK(yield_until(&slots_started, 3));
	CHECK_EQ_INT(cr_task_done(g), 0);
	CHECK_OK(cr_cancel(g));
	int res = 0;
	CHECK_OK(cr_join(g, &res));
	CHECK_EQ_INT(res, -ECANCELED);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);
	for (int i = 1; i < 4; i++)
		CHECK_EQ_INT(slot_result[i], -ECANCELED);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

/* As gatherer, inside a 20 ms deadline scope. */
static int gatherer_with_deadline(void *arg)
{
	(void)arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	int r = gatherer(NULL);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	return r;
}

static int main_gather_deadline(void *arg)
{
	(void)arg;
	slots_reset();
	uint64_t t0 = cr_now_ns();
	cr_task *g = spawn_or_die(gatherer_with_deadline, NULL);
	int res = 0;
	CHECK_OK(cr_join(g, &res));
	CHECK_EQ_INT(res, -ETIMEDOUT);
	CHECK_GE_U64(cr_now_ns() - t0, 20 * MS);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);
	/* the children are cancelled, not timed out */
	for (int i = 1; i < 4; i++)
		CHECK_EQ_INT(slot_result[i], -ECANCELED);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

/* ---- cr_wait_any ------------------------------------------------------------------------ */

static int main_wait_any(void *arg)
{
	(void)arg;
	size_t idx = 99;
	cr_task *t[12] = {0};
	CHECK_EQ_INT(cr_wait_any(t, 0, &idx), -EINVAL);
	CHECK_EQ_U64(idx, 99);

	/* 300 / 100 / 200 ms: the middle one ends first */
	static const uint64_t ms[3] = {300, 100, 200};
	uint64_t t0 = cr_now_ns();
	for (int i = 0; i < 3; i++)
		t[i] = spawn_or_die(sleep_then_5, (void *)(uintptr_t)(ms[i] * MS));
	CHECK_OK(cr_wait_any(t, 3, &idx));
	CHECK_EQ_U64(idx, 1);
	CHECK_GE_U64(cr_now_ns() - t0, 100 * MS);
	CHECK_EQ_INT(cr_task_done(t[1]), 1);
	/* nothing was joined: every handle is still valid */
	CHECK_EQ_U64(stats_now().tasks_alive, 4);
	for (int i = 0; i < 3; i++) {
		int res = 0;
		CHECK_OK(cr_join(t[i], &res));
		CHECK_EQ_INT(res, 5);
	}
	CHECK_EQ_U64(stats_now().tasks_alive, 1);

	/* already ended: returns at once with the lowest ended index */
	t[0] = spawn_or_die(sleep_then_5, (void *)(uintptr_t)LONG_NS);
	t[1] = spawn_or_die(ret_arg, (void *)1);
	t[2] = spawn_or_die(ret_arg, (void *)2);
	CHECK_OK(cr_yield());
	CHECK_EQ_INT(cr_task_done(t[1]) && cr_task_done(t[2]), 1);
	idx = 99;
	CHECK_OK(cr_wait_any(t, 3, &idx));
	CHECK_EQ_U64(idx, 1);
	CHECK_OK(cr_wait_any(t, 3, NULL)); /* index may be NULL */
	CHECK_OK(cr_cancel(t[0]));
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_join(t[i], NULL));

	/* more than a handful of tasks; the one at index 9 ends first */
	for (int i = 0; i < 12; i++)
		t[i] = spawn_or_die(sleep_then_5, (void *)(uintptr_t)(i == 9 ? 5 * MS : LONG_NS));
	CHECK_OK(cr_wait_any(t, 12, &idx));
	CHECK_EQ_U64(idx, 9);
	for (int i = 0; i < 12; i++)
		if (i != 9)
			CHECK_OK(cr_cancel(t[i]));
	for (int i = 0; i < 12; i++) {
		int res = 0;
		CHECK_OK(cr_join(t[i], &res));
		CHECK_EQ_INT(res, i == 9 ? 5 : -ECANCELED);
	}

	/* interrupted by a deadline: -ETIMEDOUT, the tasks run on */
	for (int i = 0; i < 2; i++)
		t[i] = spawn_or_die(sleep_then_5, (void *)(uintptr_t)(200 * MS));
	cr_deadline d;
	t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	idx = 99;
	CHECK_EQ_INT(cr_wait_any(t, 2, &idx), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_GE_U64(cr_now_ns() - t0, 20 * MS);
	CHECK_EQ_U64(idx, 99);
	CHECK_EQ_INT(cr_task_done(t[0]) || cr_task_done(t[1]), 0);
	CHECK_OK(cr_wait_any(t, 2, &idx)); /* waiting again works */
	CHECK(idx < 2);
	for (int i = 0; i < 2; i++) {
		int res = 0;
		CHECK_OK(cr_join(t[i], &res));
		CHECK_EQ_INT(res, 5);
	}
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

/* ---- task groups --------------------------------------------------------------------------- */

static int group_spawn_rc;

/* Sleeps arg ms and returns arg. */
static int member_ms(void *arg)
{
	int ms = (int)(intptr_t)arg;
	CHECK_OK(cr_sleep((uint64_t)ms * MS));
	return ms;
}

/* Sleeps 10 ms, then fails with -EIO. */
static int member_fails_later(void *arg)
{
	(void)arg;
	CHECK_OK(cr_sleep(10 * MS));
	return -EIO;
}

static cr_task_group *nursery;
static int grandchild_done;

static int grandchild(void *arg)
{
	(void)arg;
	CHECK_OK(cr_sleep(20 * MS));
	grandchild_done = 1;
	return 0;
}

/* A member that adds a slower sibling to its own group, then ends. */
static int member_adds_sibling(void *arg)
{
	(void)arg;
	CHECK_OK(cr_task_group_spawn(nursery, grandchild, NULL, NULL));
	return 0;
}

static int main_group_ok(void *arg)
{
	(void)arg;
	cr_task_group g;
	cr_task_group_init(&g);
	CHECK_EQ_INT(cr_task_group_wait(&g), 0); /* empty */
	for (int i = 1; i <= 5; i++)
		CHECK_OK(cr_task_group_spawn(&g, member_ms, (void *)(intptr_t)i, NULL));
	cr_spawn_opts named = {.name = "member", .stack_size = 32 * 1024};
	CHECK_OK(cr_task_group_spawn(&g, member_ms, (void *)(intptr_t)3, &named));
	CHECK_EQ_U64(stats_now().tasks_alive, 7);
	uint64_t t0 = cr_now_ns();
	CHECK_EQ_INT(cr_task_group_wait(&g), 0);
	CHECK_GE_U64(cr_now_ns() - t0, 5 * MS); /* waited for the slowest */
	CHECK_EQ_U64(stats_now().tasks_alive, 1);

	/* a member may add members while the owner waits; the wait covers them too */
	nursery = &g;
	grandchild_done = 0;
	CHECK_OK(cr_task_group_spawn(&g, member_adds_sibling, NULL, NULL));
	CHECK_EQ_INT(cr_task_group_wait(&g), 0);
	CHECK_EQ_INT(grandchild_done, 1);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

static int main_group_failure(void *arg)
{
	(void)arg;
	slots_reset();
	cr_task_group g;
	cr_task_group_init(&g);
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_task_group_spawn(&g, tracked_sleeper_raw, (void *)(intptr_t)i, NULL));
	CHECK_OK(cr_task_group_spawn(&g, member_fails_later, NULL, NULL));
	for (int i = 3; i < 5; i++)
		CHECK_OK(cr_task_group_spawn(&g, tracked_sleeper_raw, (void *)(intptr_t)i, NULL));
	uint64_t t0 = cr_now_ns();
	/* the members' own -ECANCELED results do not replace the first failure */
	CHECK_EQ_INT(cr_task_group_wait(&g), -EIO);
	uint64_t dt = cr_now_ns() - t0;
	printf("group: -EIO after 10 ms cancelled 5 sleepers, wait returned after %.2f ms\n",
	       (double)dt / 1e6);
	CHECK_GE_U64(dt, 10 * MS);
	CHECK_LT_U64(dt, SOON_NS);
	CHECK_EQ_INT(slots_ended, 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(slot_result[i], -ECANCELED);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);

	/* reusable: a fresh round that succeeds */
	for (int i = 1; i <= 3; i++)
		CHECK_OK(cr_task_group_spawn(&g, member_ms, (void *)(intptr_t)i, NULL));
	CHECK_EQ_INT(cr_task_group_wait(&g), 0);
	/* and another that fails */
	CHECK_OK(cr_task_group_spawn(&g, ret_arg, (void *)(intptr_t)-EPIPE, NULL));
	CHECK_EQ_INT(cr_task_group_wait(&g), -EPIPE);
	CHECK_EQ_INT(cr_task_group_wait(&g), 0); /* empty again, error cleared */
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

static cr_task_group *shared_group;
static int sibling_spawn_rc = 1;

/* A member that, once cancelled, tries to add a sibling to its group. */
static int member_spawns_when_cancelled(void *arg)
{
	(void)arg;
	int r = cr_sleep(LONG_NS);
	if (r == -ECANCELED)
		sibling_spawn_rc = cr_task_group_spawn(shared_group, ret_arg, NULL, NULL);
	return r;
}

static int failed_now;

static int member_fails_now(void *arg)
{
	(void)arg;
	failed_now = 1;
	return -EIO;
}

static int main_group_spawn_cancelling(void *arg)
{
	(void)arg;
	cr_task_group g;
	cr_task_group_init(&g);
	shared_group = &g;
	CHECK_OK(cr_task_group_spawn(&g, member_spawns_when_cancelled, NULL, NULL));
	CHECK_OK(cr_task_group_spawn(&g, member_fails_now, NULL, NULL));
	failed_now = 0;
	CHECK(yield_until(&failed_now, 1));
	CHECK_OK(cr_yield()); /* let the cancelled sibling react */
	/* the group is cancelling: neither the owner nor a member may add tasks */
	cr_stats s0 = stats_now();
	CHECK_EQ_INT(cr_task_group_spawn(&g, ret_arg, NULL, NULL), -ECANCELED);
	CHECK_EQ_INT(sibling_spawn_rc, -ECANCELED);
	CHECK_EQ_U64(stats_now().tasks_spawned, s0.tasks_spawned); /* nothing was made */
	CHECK_EQ_INT(cr_task_group_wait(&g), -EIO);
	/* after the wait the group accepts tasks again */
	CHECK_OK(cr_task_group_spawn(&g, ret_arg, (void *)1, NULL));
	CHECK_EQ_INT(cr_task_group_wait(&g), 0);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

/* Owns a group of three long sleepers and waits for it; returns the wait's result
 * after checking that the members were awaited and that the group is reusable. */
static int group_owner(void *arg)
{
	(void)arg;
	cr_task_group g;
	cr_task_group_init(&g);
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_task_group_spawn(&g, tracked_sleeper_raw, (void *)(intptr_t)i, NULL));
	int r = cr_task_group_wait(&g);
	CHECK_EQ_INT(slots_ended, 3); /* still waited for them */
	CHECK_EQ_U64(stats_now().tasks_alive, 2);
	/* the interruption was consumed: the group works again */
	group_spawn_rc = cr_task_group_spawn(&g, member_ms, (void *)1, NULL);
	CHECK_OK(group_spawn_rc);
	CHECK_EQ_INT(cr_task_group_wait(&g), 0);
	return r;
}

static int group_owner_with_deadline(void *arg)
{
	(void)arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	cr_task_group g;
	cr_task_group_init(&g);
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_task_group_spawn(&g, tracked_sleeper_raw, (void *)(intptr_t)i, NULL));
	int r = cr_task_group_wait(&g);
	CHECK_EQ_INT(slots_ended, 3);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	return r;
}

static int owner_ready;

/* As group_owner, but yields once between spawning and waiting, so that a
 * cancellation can arrive before the wait starts. */
static int group_owner_yields_first(void *arg)
{
	(void)arg;
	cr_task_group g;
	cr_task_group_init(&g);
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_task_group_spawn(&g, tracked_sleeper_raw, (void *)(intptr_t)i, NULL));
	owner_ready = 1;
	CHECK_OK(cr_yield()); /* main cancels us while we are queued */
	int r = cr_task_group_wait(&g);
	CHECK_EQ_INT(slots_ended, 3);
	return r;
}

static int main_group_owner_cancelled(void *arg)
{
	(void)arg;
	slots_reset();
	uint64_t t0 = cr_now_ns();
	cr_task *o = spawn_or_die(group_owner, NULL);
	CHECK(yield_until(&slots_started, 3));
	CHECK_OK(cr_cancel(o));
	int res = 0;
	CHECK_OK(cr_join(o, &res));
	CHECK_EQ_INT(res, -ECANCELED);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(slot_result[i], -ECANCELED);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);

	/* the cancellation arrives before the owner starts waiting */
	slots_reset();
	owner_ready = 0;
	o = spawn_or_die(group_owner_yields_first, NULL);
	CHECK(yield_until(&owner_ready, 1));
	CHECK_OK(cr_cancel(o));
	CHECK_OK(cr_join(o, &res));
	CHECK_EQ_INT(res, -ECANCELED);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(slot_result[i], -ECANCELED);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);

	/* the same with a deadline around the group wait */
	slots_reset();
	t0 = cr_now_ns();
	o = spawn_or_die(group_owner_with_deadline, NULL);
	CHECK_OK(cr_join(o, &res));
	CHECK_EQ_INT(res, -ETIMEDOUT);
	CHECK_GE_U64(cr_now_ns() - t0, 20 * MS);
	CHECK_LT_U64(cr_now_ns() - t0, SOON_NS);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(slot_result[i], -ECANCELED);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	return 0;
}

int main(void)
{
	CHECK_EQ_INT(check_run(NULL, main_gather_results, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_gather_cancelled, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_gather_deadline, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_wait_any, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_group_ok, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_group_failure, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_group_spawn_cancelling, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_group_owner_cancelled, NULL), 0);
	printf("test_gather_group: OK\n");
	return 0;
}
