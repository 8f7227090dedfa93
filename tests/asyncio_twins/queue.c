/* SPDX-License-Identifier: MIT */
/* twin_queue: asyncio_queue.py in C; a bounded queue between one producer and two consumers, None
 * as stop signal, task_done and join. */
#include "twin.h"

/* Python's None, the stop signal (items are otherwise >= 0). */
#define NONE (-1)

/* Python's str() of an item: "None" or the number (buf holds 12 chars). */
static const char *str(int item, char *buf)
{
	if (item == NONE)
		return "None";
	snprintf(buf, 12, "%d", item);
	return buf;
}

/* consumer(n, q) */
struct consumer_args {
	int n;	     /* consumer number */
	cr_queue *q; /* the shared queue of ints */
};

static int consumer(void *arg)
{
	struct consumer_args *a = arg;

	printf("consumer %d: starting\n", a->n);
	for (;;) {
		int item;
		char buf[12];

		printf("consumer %d: waiting for item\n", a->n);
		TRY(cr_queue_get(a->q, &item));
		printf("consumer %d: has item %s\n", a->n, str(item, buf));
		if (item == NONE) {
			TRY(cr_queue_task_done(a->q));
			break;
		} else {
			TRY(cr_sleep(10 * MS * (uint64_t)item));
			TRY(cr_queue_task_done(a->q));
		}
	}
	printf("consumer %d: ending\n", a->n);
	return 0;
}

/* producer(q, num_workers) */
struct producer_args {
	cr_queue *q;	 /* the shared queue of ints */
	int num_workers; /* consumers to stop at the end */
};

static int producer(void *arg)
{
	struct producer_args *a = arg;
	const int none = NONE;

	printf("producer: starting\n");
	for (int i = 0; i < a->num_workers * 3; i++) {
		TRY(cr_queue_put(a->q, &i));
		printf("producer: added task %d to the queue\n", i);
	}
	printf("producer: adding stop signals to the queue\n");
	for (int i = 0; i < a->num_workers; i++)
		TRY(cr_queue_put(a->q, &none));
	printf("producer: waiting for queue to empty\n");
	TRY(cr_queue_join(a->q));
	printf("producer: ending\n");
	return 0;
}

static int amain(void *arg)
{
	const int num_consumers = *(const int *)arg;
	cr_queue q;
	struct consumer_args cargs[2];
	struct producer_args pargs;
	cr_task *tasks[3]; /* *consumers, prod */

	TRY(cr_queue_init(&q, sizeof(int), num_consumers));
	for (int i = 0; i < num_consumers; i++) {
		cargs[i] = (struct consumer_args){i, &q};
		TRY(cr_spawn(&tasks[i], consumer, &cargs[i], NULL));
	}
	pargs = (struct producer_args){&q, num_consumers};
	TRY(cr_spawn(&tasks[num_consumers], producer, &pargs, NULL));
	TRY(cr_gather(tasks, (size_t)num_consumers + 1, NULL));
	TRY(cr_queue_destroy(&q));
	return 0;
}

int main(void)
{
	int num_consumers = 2; /* main(2); the arrays above hold two consumers */

	return twin_run(amain, &num_consumers);
}
