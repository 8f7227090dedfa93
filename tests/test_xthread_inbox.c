/* SPDX-License-Identifier: MIT */
/* The worker inbox (MPSC queue) under stress: P producers, one consumer, exact counts, FIFO. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"

#include "../runtime/inbox.h"

#define PRODUCERS 4
#if defined(CHECK_UNDER_TSAN)
#define MESSAGES 250000u /* per producer */
#define RECYCLE_MESSAGES 100000u
#else
#define MESSAGES 1000000u
#define RECYCLE_MESSAGES 300000u
#endif
#define RECYCLE_POOL 4 /* nodes per producer in the recycling phase */

/* A message as a producer sends it: the intrusive node plus who and which. */
typedef struct node {
	cr__msg msg;	    /* linked into the inbox */
	uint32_t producer;  /* index of the sending thread */
	uint32_t seq;	    /* 0, 1, 2, ... per producer */
	_Atomic int in_use; /* recycling phase: 1 from push until the consumer is done */
} node;

typedef struct producer {
	pthread_t thread;   /* the producer thread */
	cr__inbox *q;	    /* shared inbox */
	node *nodes;	    /* its own nodes (MESSAGES of them, or RECYCLE_POOL) */
	uint32_t id;	    /* producer index */
	uint32_t count;	    /* messages to push */
	int recycle;	    /* 1: reuse RECYCLE_POOL nodes once the consumer released them */
	_Atomic int *start; /* all producers begin together */
} producer;

static node *msg_node(cr__msg *m)
{
	return (node *)((char *)m - offsetof(node, msg));
}

static void relax(unsigned *spins)
{
	if (++*spins % 64 == 0)
		sched_yield();
}

static void *produce(void *arg)
{
	producer *p = arg;
	unsigned spins = 0;
	while (!atomic_load_explicit(p->start, memory_order_acquire))
		relax(&spins);
	for (uint32_t i = 0; i < p->count; i++) {
		node *n;
		if (p->recycle) {
			n = &p->nodes[i % RECYCLE_POOL];
			/* The consumer marks a node free after it has read it. */
			while (atomic_load_explicit(&n->in_use, memory_order_acquire))
				relax(&spins);
			atomic_store_explicit(&n->in_use, 1, memory_order_relaxed);
		} else {
			n = &p->nodes[i];
		}
		n->producer = p->id;
		n->seq = i;
		cr__inbox_push(p->q, &n->msg);
	}
	return NULL;
}

/* Runs PRODUCERS producers of `count` messages each against this thread as
 * the consumer; checks every message arrives exactly once, in order per
 * producer, and that the queue ends empty.  Returns the elapsed ns. */
static uint64_t stress(uint32_t count, int recycle)
{
	static cr__inbox q; /* static: keeps the 64-byte padded struct off the stack */
	producer prod[PRODUCERS];
	uint32_t next_seq[PRODUCERS];
	_Atomic int start = 0;
	uint64_t total = (uint64_t)PRODUCERS * count, got = 0, empty_polls = 0;
	unsigned char *seen[PRODUCERS];

	cr__inbox_init(&q);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);
	for (int i = 0; i < PRODUCERS; i++) {
		size_t n = recycle ? RECYCLE_POOL : count;
		prod[i] = (producer){.q = &q,
				     .id = (uint32_t)i,
				     .count = count,
				     .recycle = recycle,
				     .start = &start};
		prod[i].nodes = calloc(n, sizeof(node));
		seen[i] = calloc(count, 1);
		CHECK(prod[i].nodes != NULL && seen[i] != NULL);
		next_seq[i] = 0;
		CHECK_EQ_INT(pthread_create(&prod[i].thread, NULL, produce, &prod[i]), 0);
	}
	uint64_t t0 = cr_now_ns();
	atomic_store_explicit(&start, 1, memory_order_release);
	unsigned spins = 0;
	while (got < total) {
		cr__msg *m = cr__inbox_pop(&q);
		if (!m) {
			empty_polls++;
			relax(&spins);
			continue;
		}
		CHECK_MSG(m != &q.stub, "cr__inbox_pop returned the stub node");
		node *n = msg_node(m);
		uint32_t p = n->producer, s = n->seq;
		CHECK_MSG(p < PRODUCERS, "message %llu: bad producer %u", (unsigned long long)got,
			  p);
		CHECK_MSG(s < count, "producer %u: bad seq %u", p, s);
		CHECK_MSG(!recycle || (n >= prod[p].nodes && n < prod[p].nodes + RECYCLE_POOL),
			  "producer %u: node %p is not one of its own", p, (void *)n);
		CHECK_MSG(recycle || n == &prod[p].nodes[s],
			  "producer %u seq %u arrived in node %p, pushed in %p", p, s, (void *)n,
			  (void *)&prod[p].nodes[s]);
		CHECK_MSG(!seen[p][s], "producer %u seq %u popped twice", p, s);
		seen[p][s] = 1;
		/* Per-producer FIFO: exactly the next one (implies strictly increasing). */
		CHECK_MSG(s == next_seq[p], "producer %u: got seq %u, expected %u (FIFO broken)", p,
			  s, next_seq[p]);
		next_seq[p]++;
		got++;
		if (recycle)
			atomic_store_explicit(&n->in_use, 0, memory_order_release);
	}
	uint64_t elapsed = cr_now_ns() - t0;
	for (int i = 0; i < PRODUCERS; i++)
		CHECK_EQ_INT(pthread_join(prod[i].thread, NULL), 0);
	/* Everything was taken: nothing more comes out, and the queue says empty. */
	CHECK_EQ_U64(got, total);
	CHECK(cr__inbox_pop(&q) == NULL);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);
	for (int i = 0; i < PRODUCERS; i++) {
		CHECK_EQ_U64(next_seq[i], count);
		for (uint32_t s = 0; s < count; s++)
			CHECK_MSG(seen[i][s], "producer %d seq %u never popped", i, s);
		free(seen[i]);
		free(prod[i].nodes);
	}
	printf("inbox %s: %d producers x %u messages = %llu popped exactly once, FIFO per "
	       "producer, in %.1f ms (%.1f M msg/s, %llu empty polls)\n",
	       recycle ? "recycling 4 nodes/producer" : "distinct nodes", PRODUCERS, count,
	       (unsigned long long)got, (double)elapsed / 1e6,
	       (double)got / ((double)elapsed / 1e9) / 1e6, (unsigned long long)empty_polls);
	return elapsed;
}

/* Single-threaded semantics of pop and nonempty, including a push caught
 * between its two steps (tail swapped, link not yet written). */
static void semantics(void)
{
	static cr__inbox q;
	node a = {.seq = 0}, b = {.seq = 0}, c = {.seq = 0};

	cr__inbox_init(&q);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);
	CHECK(cr__inbox_pop(&q) == NULL);
	CHECK(cr__inbox_pop(&q) == NULL);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);

	/* One message: nonempty until popped, empty again afterwards (stub re-pushed). */
	cr__inbox_push(&q, &a.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	CHECK_EQ_PTR(cr__inbox_pop(&q), &a.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);
	CHECK(cr__inbox_pop(&q) == NULL);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);

	/* Several: FIFO, nonempty holds while any remains. */
	cr__inbox_push(&q, &a.msg);
	cr__inbox_push(&q, &b.msg);
	cr__inbox_push(&q, &c.msg);
	CHECK_EQ_PTR(cr__inbox_pop(&q), &a.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	CHECK_EQ_PTR(cr__inbox_pop(&q), &b.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	CHECK_EQ_PTR(cr__inbox_pop(&q), &c.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);
	CHECK(cr__inbox_pop(&q) == NULL);

	/* The same node may be pushed again once popped (wait records reuse theirs). */
	for (int i = 0; i < 5; i++) {
		cr__inbox_push(&q, &a.msg);
		CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
		CHECK_EQ_PTR(cr__inbox_pop(&q), &a.msg);
		CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);
	}

	/* A producer between its exchange and its link: pop cannot return it yet,
	 * but nonempty must already say 1 (a worker about to sleep re-checks it). */
	atomic_store_explicit(&b.msg.next, NULL, memory_order_relaxed);
	cr__msg *prev = atomic_exchange_explicit(&q.tail, &b.msg, memory_order_seq_cst);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	CHECK(cr__inbox_pop(&q) == NULL);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	atomic_store_explicit(&prev->next, &b.msg, memory_order_release);
	CHECK_EQ_PTR(cr__inbox_pop(&q), &b.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);

	/* One complete message ahead of a half-done push: in this design (Vyukov)
	 * the last complete node cannot be detached until the next link exists,
	 * so pop may say NULL ("retry later"); nonempty must say 1 throughout,
	 * and nothing is lost or reordered once the link is written. */
	cr__inbox_push(&q, &a.msg);
	atomic_store_explicit(&c.msg.next, NULL, memory_order_relaxed);
	prev = atomic_exchange_explicit(&q.tail, &c.msg, memory_order_seq_cst);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	cr__msg *first = cr__inbox_pop(&q);
	CHECK(first == NULL || first == &a.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	CHECK(cr__inbox_pop(&q) == NULL);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 1);
	atomic_store_explicit(&prev->next, &c.msg, memory_order_release);
	if (!first)
		CHECK_EQ_PTR(cr__inbox_pop(&q), &a.msg);
	CHECK_EQ_PTR(cr__inbox_pop(&q), &c.msg);
	CHECK_EQ_INT(cr__inbox_nonempty(&q), 0);
	CHECK(cr__inbox_pop(&q) == NULL);
	printf("inbox semantics: empty/nonempty, FIFO, node reuse, half-finished push: ok\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
#if defined(CHECK_UNDER_TSAN)
	printf("TSan build: %u messages per producer (%u when recycling)\n", MESSAGES,
	       RECYCLE_MESSAGES);
#endif
	semantics();
	stress(MESSAGES, 0);
	stress(RECYCLE_MESSAGES, 1);
	return 0;
}
