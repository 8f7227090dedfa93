/* SPDX-License-Identifier: MIT */
/* A worker's inbox: lock-free multi-producer single-consumer queue of intrusive messages. */
#ifndef CORING_INBOX_H
#define CORING_INBOX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A message node; embedded in whatever carries the message. */
typedef struct cr__msg {
	_Atomic(struct cr__msg *) next; /* link written by the producer */
	uint8_t kind;			/* what the consumer should do (enum cr__msg_kind) */
} cr__msg;

/* Producers swap themselves in at `tail`; the one consumer walks from `head`.
 * A stub node keeps the queue non-empty so push never touches `head`. */
typedef struct cr__inbox {
	_Atomic(cr__msg *) tail; /* last pushed (producers) */
	char pad[64 - sizeof(void *)];
	cr__msg *head; /* next to pop (consumer only) */
	cr__msg stub;  /* placeholder node */
} cr__inbox;

/* Makes q empty.  Returns nothing. */
void cr__inbox_init(cr__inbox *q);

/* Appends m; safe from any thread, wait-free.  Returns nothing. */
void cr__inbox_push(cr__inbox *q, cr__msg *m);

/* Removes the oldest message.  Consumer only.  Returns it, or NULL if the
 * queue is empty or a producer is between its two steps (retry later). */
cr__msg *cr__inbox_pop(cr__inbox *q);

/* Returns 1 if something was pushed and not popped yet, including a push
 * still in progress.  Consumer only. */
static inline int cr__inbox_nonempty(cr__inbox *q)
{
	return q->head != &q->stub ||
	       atomic_load_explicit(&q->tail, memory_order_seq_cst) != &q->stub ||
	       atomic_load_explicit(&q->stub.next, memory_order_acquire) != NULL;
}

#endif
