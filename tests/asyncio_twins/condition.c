/* SPDX-License-Identifier: MIT */
/* twin_condition: asyncio_condition.py in C; five consumers wait on a condition notified for 1,
 * then 2, then all remaining. */
#include "twin.h"

/* consumer(condition, n) */
struct consumer_args {
	cr_cond *condition; /* the shared condition */
	int n;		    /* consumer number */
};

/* The body of the consumer's "async with condition:". */
static int consumer_locked(void *arg)
{
	struct consumer_args *a = arg;

	printf("consumer %d is waiting\n", a->n);
	TRY(cr_cond_wait(a->condition));
	printf("consumer %d triggered\n", a->n);
	return 0;
}

static int consumer(void *arg)
{
	struct consumer_args *a = arg;

	TRY(cr_with_cond(a->condition, consumer_locked, a));
	printf("ending consumer %d\n", a->n);
	return 0;
}

/* "async with condition:" around condition.notify(n=i). */
struct notify_args {
	cr_cond *condition; /* the shared condition */
	int i;		    /* how many to notify */
};

static int notify_locked(void *arg)
{
	struct notify_args *a = arg;

	printf("notifying %d consumers\n", a->i);
	TRY(cr_cond_notify(a->condition, a->i));
	return 0;
}

/* "async with condition:" around condition.notify_all(). */
static int notify_all_locked(void *arg)
{
	cr_cond *condition = arg;

	printf("notifying remaining consumers\n");
	TRY(cr_cond_notify_all(condition));
	return 0;
}

static int manipulate_condition(void *arg)
{
	cr_cond *condition = arg;

	printf("starting manipulate_condition\n");
	TRY(cr_sleep(100 * MS));
	for (int i = 1; i < 3; i++) {
		struct notify_args a = {condition, i};

		TRY(cr_with_cond(condition, notify_locked, &a));
		TRY(cr_sleep(100 * MS));
	}
	TRY(cr_with_cond(condition, notify_all_locked, condition));
	printf("ending manipulate_condition\n");
	return 0;
}

static int amain(void *arg)
{
	cr_cond condition;
	struct consumer_args args[5];
	cr_task *consumers[5];
	cr_task *manipulator;

	(void)arg;
	cr_cond_init(&condition, NULL);
	for (int i = 0; i < 5; i++) {
		args[i] = (struct consumer_args){&condition, i};
		TRY(cr_spawn(&consumers[i], consumer, &args[i], NULL));
	}
	TRY(cr_spawn(&manipulator, manipulate_condition, &condition, NULL));
	TRY(cr_gather(consumers, 5, NULL));
	/* Python drops its reference to the manipulator, which has already
	 * ended by now; joining it makes sure before the condition goes away. */
	TRY(cr_join(manipulator, NULL));
	TRY(cr_cond_destroy(&condition));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
