/* SPDX-License-Identifier: MIT */
/* twin_condition_producers: asyncio_condition_producers.py in C; consumers start waiting at
 * different times, one producer notifies n=1 then n=2, a second one wakes everyone. */
#include "twin.h"

/* consumer(cond, name, second) */
struct consumer_args {
	cr_cond *cond;	  /* the shared condition */
	const char *name; /* "c1" or "c2" */
	int second;	  /* seconds to sleep before waiting */
};

/* The body of the consumer's "async with cond:". */
static int consumer_locked(void *arg)
{
	struct consumer_args *a = arg;

	TRY(cr_cond_wait(a->cond));
	printf("%s: Resource is available to consumer\n", a->name);
	return 0;
}

static int consumer(void *arg)
{
	struct consumer_args *a = arg;

	TRY(cr_sleep((uint64_t)a->second * SEC));
	TRY(cr_with_cond(a->cond, consumer_locked, a));
	return 0;
}

/* "async with cond:" around cond.notify(n=n). */
struct notify_args {
	cr_cond *cond; /* the shared condition */
	int n;	       /* how many to notify */
};

static int producer_locked(void *arg)
{
	struct notify_args *a = arg;

	printf("notifying consumer %d\n", a->n);
	TRY(cr_cond_notify(a->cond, a->n));
	return 0;
}

/* Cancelled by main while it sleeps: every wait passes -ECANCELED on (AWAIT). */
static int producer(void *arg)
{
	cr_cond *cond = arg;

	AWAIT(cr_sleep(2 * SEC));
	for (int n = 1; n < 3; n++) {
		struct notify_args a = {cond, n};

		AWAIT(cr_with_cond(cond, producer_locked, &a));
		AWAIT(cr_sleep(100 * MS));
	}
	return 0;
}

/* "async with cond:" around cond.notify_all(). */
static int producer2_locked(void *arg)
{
	cr_cond *cond = arg;

	printf("Making resource available\n");
	TRY(cr_cond_notify_all(cond));
	return 0;
}

static int producer2(void *arg)
{
	cr_cond *cond = arg;

	AWAIT(cr_sleep(2 * SEC));
	AWAIT(cr_with_cond(cond, producer2_locked, cond));
	return 0;
}

/* await asyncio.gather(*(consumer(condition, name, i) for i, name in ...)) */
static void gather_consumers(cr_cond *condition)
{
	static const char *const names[] = {"c1", "c2"};
	struct consumer_args args[2];
	cr_task *consumers[2];

	for (int i = 0; i < 2; i++) {
		args[i] = (struct consumer_args){condition, names[i], i};
		TRY(cr_spawn(&consumers[i], consumer, &args[i], NULL));
	}
	TRY(cr_gather(consumers, 2, NULL));
}

static int amain(void *arg)
{
	cr_cond condition;
	cr_task *task, *first;
	int rc, result;

	(void)arg;
	cr_cond_init(&condition, NULL);
	TRY(cr_spawn(&task, producer, &condition, NULL));
	gather_consumers(&condition);
	TRY(cr_cancel(task)); /* it sleeps after notifying 2: cancel() is True */
	first = task;
	TRY(cr_spawn(&task, producer2, &condition, NULL));
	gather_consumers(&condition);
	rc = cr_cancel(task); /* it has already ended: cancel() is False */
	if (rc != -ESRCH)
		twin_fail(__FILE__, __LINE__, "cr_cancel(producer2) did not return -ESRCH", rc);

	/* Python drops both tasks; join them before the condition goes away. */
	TRY(cr_join(first, &result));
	if (result != -ECANCELED)
		twin_fail(__FILE__, __LINE__, "the cancelled producer did not end cancelled",
			  result);
	TRY(cr_join(task, &result));
	if (result != 0)
		twin_fail(__FILE__, __LINE__, "producer2 failed", result);
	TRY(cr_cond_destroy(&condition));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
