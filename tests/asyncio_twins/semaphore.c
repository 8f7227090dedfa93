/* SPDX-License-Identifier: MIT */
/* twin_semaphore: asyncio_semaphore.py in C; twelve jobs, at most three at a time. */
#include "twin.h"

static cr_sem sema;

static int fetch_async(int a)
{
	TRY(cr_sleep(20 * MS * (uint64_t)((2 * a) % 11 + 1)));
	return a;
}

/* The body of print_result's "async with sema:". */
static int print_result_locked(void *arg)
{
	int a = (int)(intptr_t)arg;
	int r;

	printf("start(%d)\n", a);
	r = fetch_async(a);
	printf("fetch(%d) = %d\n", a, r);
	return 0;
}

static int print_result(void *arg)
{
	TRY(cr_with_sem(&sema, print_result_locked, arg));
	return 0;
}

static int amain(void *arg)
{
	cr_task *tasks[12];

	(void)arg;
	TRY(cr_sem_init(&sema, 3));
	/* await asyncio.gather(*(print_result(n) for n in range(12))) */
	for (int n = 0; n < 12; n++)
		TRY(cr_spawn(&tasks[n], print_result, (void *)(intptr_t)n, NULL));
	TRY(cr_gather(tasks, 12, NULL));
	TRY(cr_sem_destroy(&sema));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
