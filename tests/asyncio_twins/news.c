/* SPDX-License-Identifier: MIT */
/* twin_news: asyncio_news.py in C; a producer on a 10 ms timer feeds a bounded queue, two consumers
 * compete for the items. */
#include "twin.h"

/* Python's None, the stop signal (items are otherwise 1..5). */
#define NONE (-1)

static int news_producer(void *arg)
{
	cr_queue *q = arg;
	const int none = NONE;

	for (int i = 0; i < 8; i++) {
		int item = i % 5 + 1;

		TRY(cr_sleep(10 * MS));
		printf("Putting news item onto queue\n");
		TRY(cr_queue_put(q, &item));
	}
	for (int i = 0; i < 2; i++)
		TRY(cr_queue_put(q, &none));
	return 0;
}

/* news_consumer(id, q) */
struct consumer_args {
	int id;	     /* consumer id */
	cr_queue *q; /* the shared queue of ints */
};

static int news_consumer(void *arg)
{
	struct consumer_args *a = arg;

	for (;;) {
		int item;

		printf("Consumer: %d Attempting to get from queue\n", a->id);
		TRY(cr_queue_get(a->q, &item));
		if (item == NONE)
			break;
		printf("Consumer: %d consumed article with id: %d\n", a->id, item);
	}
	return 0;
}

static int amain(void *arg)
{
	cr_queue q;
	struct consumer_args c1, c2;
	cr_task *tasks[3];

	(void)arg;
	TRY(cr_queue_init(&q, sizeof(int), 10));
	c1 = (struct consumer_args){1, &q};
	c2 = (struct consumer_args){2, &q};
	/* await asyncio.gather(news_producer(q), news_consumer(1, q), news_consumer(2, q)) */
	TRY(cr_spawn(&tasks[0], news_producer, &q, NULL));
	TRY(cr_spawn(&tasks[1], news_consumer, &c1, NULL));
	TRY(cr_spawn(&tasks[2], news_consumer, &c2, NULL));
	TRY(cr_gather(tasks, 3, NULL));
	TRY(cr_queue_destroy(&q));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
