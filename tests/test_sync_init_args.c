/* SPDX-License-Identifier: MIT */
/* test_sync_init_args: every sync _init rejects the counts asyncio rejects (-EINVAL, the struct
 * untouched) and accepts the edge values asyncio accepts (Semaphore(0), Barrier(1), any maxsize).
 */
#include <coring.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "sync_cases.h"

/* Byte written over a struct before a call that must not touch it. */
#define POISON 0xa5

/* Fails unless the n bytes at p all hold POISON.  Returns nothing. */
static void check_untouched(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(b[i] == POISON, "byte %zu of the struct was written (0x%02x)", i, b[i]);
}

/* ---- Barrier (asyncio: ValueError for parties < 1) -------------------------------------- */

/* parties <= 0 (and a negative count that an unsigned parameter would have turned into
 * 4294967292) is -EINVAL and writes nothing; NULL too. */
static int case_barrier_rejects(void *arg)
{
	(void)arg;
	static const int bad[] = {0, -1, -4, INT_MIN};
	cr_barrier b;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&b, POISON, sizeof(b));
		CHECK_EQ_INT(cr_barrier_init(&b, bad[i]), -EINVAL);
		check_untouched(&b, sizeof(b));
	}
	CHECK_EQ_INT(cr_barrier_init(NULL, 3), -EINVAL);
	/* the rejected struct is usable once initialised properly */
	CHECK_EQ_INT(cr_barrier_init(&b, 2), 0);
	CHECK_EQ_INT(cr_barrier_parties(&b), 2);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* Barrier(1): every wait returns index 0 at once, without switching tasks; large counts are
 * kept as given. */
static int case_barrier_accepts(void *arg)
{
	(void)arg;
	cr_barrier b;
	volatile int flag = 0;
	CHECK_EQ_INT(cr_barrier_init(&b, 1), 0);
	CHECK_EQ_INT(cr_barrier_parties(&b), 1);
	cr_task *t = spawn(set_flag, (void *)&flag);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(cr_barrier_wait(&b), 0);
		CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
		CHECK_EQ_INT(cr_barrier_broken(&b), 0);
	}
	CHECK_EQ_INT(flag, 0); /* a barrier of one never waits */
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);

	CHECK_EQ_INT(cr_barrier_init(&b, INT_MAX), 0);
	CHECK_EQ_INT(cr_barrier_parties(&b), INT_MAX);
	CHECK_EQ_INT(cr_barrier_n_waiting(&b), 0);
	CHECK_EQ_INT(cr_barrier_destroy(&b), 0);
	return 0;
}

/* ---- Semaphore and BoundedSemaphore (asyncio: ValueError for value < 0) ----------------- */

/* value < 0 (and above CR_SEM_VALUE_MAX) is -EINVAL and writes nothing; NULL too. */
static int case_sem_rejects(void *arg)
{
	(void)arg;
	static const int64_t bad[] = {-1, -4, INT64_MIN, CR_SEM_VALUE_MAX + 1, INT64_MAX};
	cr_sem s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, POISON, sizeof(s));
		CHECK_EQ_INT(cr_sem_init(&s, bad[i]), -EINVAL);
		check_untouched(&s, sizeof(s));
		CHECK_EQ_INT(cr_bounded_sem_init(&s, bad[i]), -EINVAL);
		check_untouched(&s, sizeof(s));
	}
	CHECK_EQ_INT(cr_sem_init(NULL, 1), -EINVAL);
	CHECK_EQ_INT(cr_bounded_sem_init(NULL, 1), -EINVAL);
	return 0;
}

/* A task that takes one permit of the semaphore arg.  Returns cr_sem_acquire's result. */
static int take_one(void *arg)
{
	return cr_sem_acquire(arg);
}

/* Semaphore(0): locked, an acquire waits for the release; BoundedSemaphore(0) refuses any
 * release; the largest value is accepted. */
static int case_sem_accepts(void *arg)
{
	(void)arg;
	cr_sem s;
	CHECK_EQ_INT(cr_sem_init(&s, 0), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	cr_task *t = spawn(take_one, &s);
	settle();
	CHECK_EQ_INT(cr_task_done(t), 0); /* waiting */
	CHECK_EQ_INT(cr_sem_release(&s), 0);
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);

	CHECK_EQ_INT(cr_bounded_sem_init(&s, 0), 0);
	CHECK_EQ_INT(cr_sem_locked(&s), 1);
	CHECK_EQ_INT(cr_sem_release(&s), -EPERM); /* above its initial value */
	CHECK_EQ_INT(cr_sem_value(&s), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);

	CHECK_EQ_INT(cr_sem_init(&s, CR_SEM_VALUE_MAX), 0);
	CHECK_EQ_INT(cr_sem_value(&s), CR_SEM_VALUE_MAX);
	CHECK_EQ_INT(cr_sem_release(&s), -EOVERFLOW);
	CHECK_EQ_INT(cr_sem_destroy(&s), 0);
	return 0;
}

/* ---- Queues (asyncio: maxsize <= 0 is unbounded, never an error) ------------------------ */

/* Every maxsize <= 0 makes an unbounded queue of each kind, reported back as given. */
static int case_queue_maxsize(void *arg)
{
	(void)arg;
	static const long unbounded[] = {0, -1, -4, LONG_MIN};
	for (size_t i = 0; i < sizeof(unbounded) / sizeof(unbounded[0]); i++) {
		for (int kind = 0; kind < 3; kind++) {
			cr_queue q;
			int r = kind == 0   ? cr_queue_init(&q, sizeof(int), unbounded[i])
				: kind == 1 ? cr_lifo_queue_init(&q, sizeof(int), unbounded[i])
					    : cr_priority_queue_init(&q, sizeof(int), unbounded[i],
								     NULL, NULL);
			if (kind == 2) { /* no comparator: rejected whatever maxsize */
				CHECK_EQ_INT(r, -EINVAL);
				continue;
			}
			CHECK_EQ_INT(r, 0);
			CHECK_MSG(cr_queue_maxsize(&q) == unbounded[i], "maxsize %ld, expected %ld",
				  cr_queue_maxsize(&q), unbounded[i]);
			for (int v = 0; v < 100; v++)
				CHECK_EQ_INT(cr_queue_put_nowait(&q, &v), 0);
			CHECK_EQ_INT(cr_queue_full(&q), 0);
			CHECK_EQ_U64(cr_queue_qsize(&q), 100);
			CHECK_EQ_INT(cr_queue_destroy(&q), 0);
		}
	}
	cr_queue q;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(int), 1), 0); /* the smallest bound */
	int v = 7;
	CHECK_EQ_INT(cr_queue_put_nowait(&q, &v), 0);
	CHECK_EQ_INT(cr_queue_full(&q), 1);
	CHECK_EQ_INT(cr_queue_put_nowait(&q, &v), -EAGAIN);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* Orders ints ascending. */
static int cmp_int(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return *(const int *)a - *(const int *)b;
}

/* A zero item size, a priority queue without comparator and NULL are -EINVAL, and write
 * nothing. */
static int case_queue_rejects(void *arg)
{
	(void)arg;
	cr_queue q;
	memset(&q, POISON, sizeof(q));
	CHECK_EQ_INT(cr_queue_init(&q, 0, 4), -EINVAL);
	check_untouched(&q, sizeof(q));
	CHECK_EQ_INT(cr_lifo_queue_init(&q, 0, 0), -EINVAL);
	check_untouched(&q, sizeof(q));
	CHECK_EQ_INT(cr_priority_queue_init(&q, 0, 4, cmp_int, NULL), -EINVAL);
	check_untouched(&q, sizeof(q));
	CHECK_EQ_INT(cr_priority_queue_init(&q, sizeof(int), 4, NULL, NULL), -EINVAL);
	check_untouched(&q, sizeof(q));
	CHECK_EQ_INT(cr_queue_init(NULL, sizeof(int), 4), -EINVAL);
	CHECK_EQ_INT(cr_priority_queue_init(&q, sizeof(int), -1, cmp_int, NULL), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"barrier rejects parties <= 0", case_barrier_rejects},
		{"barrier accepts 1 party", case_barrier_accepts},
		{"semaphore rejects value < 0", case_sem_rejects},
		{"semaphore accepts 0", case_sem_accepts},
		{"queue accepts every maxsize", case_queue_maxsize},
		{"queue rejects bad arguments", case_queue_rejects},
	};
	return sync_run_cases(cases, N_CASES(cases), argc, argv, NULL);
}
