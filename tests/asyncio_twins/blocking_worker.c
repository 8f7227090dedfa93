/* SPDX-License-Identifier: MIT */
/* twin_blocking_worker: asyncio_blocking_worker.py in C; a blocking sleep inside a critical section
 * blocks the whole loop. */
#include "twin.h"

#include <time.h>

/* time.sleep(): blocks the thread, and with it the loop. */
static void time_sleep(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};

	while (nanosleep(&ts, &ts) != 0) {
		if (errno != EINTR)
			twin_fail(__FILE__, __LINE__, "nanosleep", -errno);
	}
}

/* The body of the worker's "async with lock:". */
static int worker_locked(void *arg)
{
	(void)arg;
	printf("Currently Locked\n");
	time_sleep(200 * MS);
	return 0;
}

static int worker(void *arg)
{
	cr_lock *lock = arg;

	printf("Attempting to attain lock\n");
	TRY(cr_with_lock(lock, worker_locked, NULL));
	printf("Unlocked Critical Section\n");
	return 0;
}

static int amain(void *arg)
{
	cr_lock lock;
	cr_task *workers[2];

	(void)arg;
	cr_lock_init(&lock);
	/* await asyncio.gather(worker(lock), worker(lock)) */
	TRY(cr_spawn(&workers[0], worker, &lock, NULL));
	TRY(cr_spawn(&workers[1], worker, &lock, NULL));
	TRY(cr_gather(workers, 2, NULL));
	printf("All Tasks Completed\n");
	TRY(cr_lock_destroy(&lock));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
