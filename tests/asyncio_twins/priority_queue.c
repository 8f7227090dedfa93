/* SPDX-License-Identifier: MIT */
/* twin_priority_queue: asyncio_priority_queue.py in C; a priority queue drained smallest-first
 * through a semaphore, then the consumer is cancelled. */
#include "twin.h"

static const int NUMBERS[] = {6, 4, 22, 48, 9, 90, 40};

/* The tuple (num, num) put on the queue. */
struct item {
	int a; /* first element: the priority */
	int b; /* second element */
};

/* Python's tuple order: by a, then by b. */
static int item_cmp(const void *x, const void *y, void *ctx)
{
	const struct item *p = x, *q = y;

	(void)ctx;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return 0;
}

/* collect_result(sema, a) */
struct collect_args {
	cr_sem *sema; /* the shared semaphore */
	int a;	      /* the value to return */
};

/* The body of collect_result's "async with sema:". */
static int collect_locked(void *arg)
{
	struct collect_args *c = arg;

	AWAIT(cr_sleep(1 * MS));
	return c->a;
}

/* Returns a (>= 0), or -ECANCELED. */
static int collect_result(cr_sem *sema, int a)
{
	struct collect_args c = {sema, a};

	return cr_with_sem(sema, collect_locked, &c);
}

static int produce(cr_queue *queue)
{
	for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++) {
		struct item item = {NUMBERS[i], NUMBERS[i]};

		printf("producing %d\n", NUMBERS[i]);
		TRY(cr_queue_put(queue, &item));
	}
	return 0;
}

/* consume(queue, sema) */
struct consume_args {
	cr_queue *queue; /* the priority queue of struct item */
	cr_sem *sema;	 /* the shared semaphore */
};

/* Runs until cancelled: every wait passes -ECANCELED on (AWAIT). */
static int consume(void *arg)
{
	struct consume_args *c = arg;

	for (;;) {
		struct item item;
		int rs;

		AWAIT(cr_queue_get(c->queue, &item));
		rs = collect_result(c->sema, item.a);
		AWAIT(rs);
		printf("consuming %d...\n", rs);
		TRY(cr_queue_task_done(c->queue));
	}
}

static int amain(void *arg)
{
	cr_queue queue;
	cr_sem sema;
	struct consume_args cargs;
	cr_task *consumer;
	int result;

	(void)arg;
	TRY(cr_priority_queue_init(&queue, sizeof(struct item), 0, item_cmp, NULL));
	TRY(cr_sem_init(&sema, 3));
	cargs = (struct consume_args){&queue, &sema};
	TRY(cr_spawn(&consumer, consume, &cargs, NULL));
	TRY(produce(&queue));
	TRY(cr_queue_join(&queue));
	TRY(cr_cancel(consumer));
	/* try: await consumer / except asyncio.CancelledError: */
	TRY(cr_join(consumer, &result));
	if (result == -ECANCELED)
		printf("consumer cancelled\n");
	else
		twin_fail(__FILE__, __LINE__, "the consumer did not end cancelled", result);
	TRY(cr_sem_destroy(&sema));
	TRY(cr_queue_destroy(&queue));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
