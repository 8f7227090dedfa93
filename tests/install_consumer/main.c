/* SPDX-License-Identifier: MIT */
/* A program that test_install.sh builds against an installed coring (static and shared, via
 * pkg-config and CMake): it runs tasks and calls every inline function of the public headers,
 * fast and slow paths, so that a symbol an inline needs but the library hides fails to link. */
#include <errno.h>
#include <stdio.h>

#include <coring.h>

/* CHECK(cond): on failure prints the line and the condition, and makes the program fail. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "coring-consumer: %s:%d: check failed: %s\n", __FILE__,    \
				__LINE__, #cond);                                                  \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static int failures;

/* A lock shared by lock_main and lock_waiter, and what the waiter saw. */
struct lock_case {
	cr_lock lock;  /* the lock both tasks take */
	int waiter_in; /* 1 once the waiter holds the lock */
};

/* Waits for the held lock (cr_lock_acquire's slow path), then releases it with nobody
 * waiting (the fast path).  Returns 0, or the first error. */
static int lock_waiter(void *arg)
{
	struct lock_case *c = arg;
	int rc = cr_lock_acquire(&c->lock);

	if (rc < 0)
		return rc;
	c->waiter_in = 1;
	return cr_lock_release(&c->lock);
}

/* The lock inlines inside a task: fast acquire and release, release of a free lock
 * (-EPERM, slow path), and a hand-off to a waiting task (both slow paths).  Returns 0, or
 * the release's result when the waiter could not be spawned (failures counts it). */
static int lock_main(void)
{
	struct lock_case c = {.waiter_in = 0};
	cr_task *t;
	int result = -1;

	cr_lock_init(&c.lock);
	CHECK(cr_lock_acquire(&c.lock) == 0);
	CHECK(cr_lock_locked(&c.lock) == 1);
	CHECK(cr_lock_release(&c.lock) == 0);
	CHECK(cr_lock_locked(&c.lock) == 0);
	CHECK(cr_lock_release(&c.lock) == -EPERM);

	CHECK(cr_lock_acquire(&c.lock) == 0);
	if (cr_spawn(&t, lock_waiter, &c, NULL) != 0) {
		CHECK(!"cr_spawn of the lock waiter failed");
		return cr_lock_release(&c.lock);
	}
	CHECK(cr_sleep(1000000) == 0); /* the waiter runs and queues on the lock */
	CHECK(c.waiter_in == 0);
	CHECK(cr_lock_release(&c.lock) == 0); /* hands the lock to the waiter */
	CHECK(cr_join(t, &result) == 0);
	CHECK(result == 0);
	CHECK(c.waiter_in == 1);
	CHECK(cr_lock_locked(&c.lock) == 0);
	CHECK(cr_lock_destroy(&c.lock) == 0);
	return 0;
}

/* Sleeps 1 ms on the loop's timer.  Returns *arg + 1, or the sleep's error. */
static int child(void *arg)
{
	int rc = cr_sleep(1000000);

	return rc < 0 ? rc : *(const int *)arg + 1;
}

/* Spawns and joins child, then runs lock_main.  Returns child's result or an error. */
static int main_task(void *arg)
{
	cr_task *t;
	int result = -1;
	int rc = cr_spawn(&t, child, arg, NULL);

	if (rc < 0)
		return rc;
	rc = cr_join(t, &result);
	if (rc < 0)
		return rc;
	lock_main();
	return result;
}

/* The lock inlines outside any task: the fast paths work, and an acquire that would have
 * to wait returns -EPERM from the slow path. */
static void lock_outside_task(void)
{
	cr_lock l;

	cr_lock_init(&l);
	CHECK(cr_lock_acquire(&l) == 0);
	CHECK(cr_lock_acquire(&l) == -EPERM);
	CHECK(cr_lock_release(&l) == 0);
	CHECK(cr_lock_release(&l) == -EPERM);
	CHECK(cr_lock_destroy(&l) == 0);
}

int main(void)
{
	int base = 41;
	int result = -1;
	int rc;

	lock_outside_task();
	rc = cr_run(NULL, main_task, &base, &result);
	if (rc < 0) {
		fprintf(stderr, "coring-consumer: cr_run failed (%d): %s\n", rc, cr_setup_error());
		return (rc == -ENOSYS || rc == -EPERM || rc == -EACCES) ? 77 : 1;
	}
	printf("coring-consumer %s: result=%d checks=%s\n", CR_VERSION_STRING, result,
	       failures ? "FAILED" : "ok");
	return result == 42 && failures == 0 ? 0 : 1;
}
