/* SPDX-License-Identifier: MIT */
/* twin_lock: asyncio_lock.py in C; a lock held by main is released by a timer callback, two tasks
 * then take it in FIFO order. */
#include "twin.h"

static void unlock(void *arg)
{
	cr_lock *lock = arg;

	printf("callback releasing lock\n");
	TRY(cr_lock_release(lock));
}

/* The body of coro1's "async with lock:". */
static int coro1_locked(void *arg)
{
	(void)arg;
	printf("coro1 acquired lock\n");
	return 0;
}

static int coro1(void *arg)
{
	cr_lock *lock = arg;

	printf("coro1 waiting for the lock\n");
	TRY(cr_with_lock(lock, coro1_locked, NULL));
	printf("coro1 released lock\n");
	return 0;
}

static int coro2(void *arg)
{
	cr_lock *lock = arg;

	printf("coro2 waiting for the lock\n");
	TRY(cr_lock_acquire(lock));
	/* try: */
	printf("coro2 acquired lock\n");
	/* finally: */
	printf("coro2 released lock\n");
	TRY(cr_lock_release(lock));
	return 0;
}

static int amain(void *arg)
{
	cr_lock lock;
	cr_task *coros[2];

	(void)arg;
	cr_lock_init(&lock);
	printf("acquiring the lock before starting coroutines\n");
	TRY(cr_lock_acquire(&lock));
	printf("lock acquired: %s\n", py_bool(cr_lock_locked(&lock)));
	if (cr_call_later(100 * MS, unlock, &lock) == 0)
		FAIL("cr_call_later failed");
	printf("waiting for coroutines\n");
	/* await asyncio.gather(coro1(lock), coro2(lock)) */
	TRY(cr_spawn(&coros[0], coro1, &lock, NULL));
	TRY(cr_spawn(&coros[1], coro2, &lock, NULL));
	TRY(cr_gather(coros, 2, NULL));
	TRY(cr_lock_destroy(&lock));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
