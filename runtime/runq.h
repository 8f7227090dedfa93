/* SPDX-License-Identifier: MIT */
/* The worker's FIFO of runnable items: task resumptions and loop callbacks. */
#ifndef CORING_RUNQ_H
#define CORING_RUNQ_H

#include <stddef.h>
#include <stdint.h>

enum cr__runnable_kind { CR__RUN_TASK = 1, CR__RUN_CALLBACK = 2 };

/* Intrusive node; embedded in tasks and callbacks. */
typedef struct cr__runnable {
	struct cr__runnable *next; /* next in the queue */
	uint8_t kind;		   /* enum cr__runnable_kind */
} cr__runnable;

/* Singly linked FIFO with a tail pointer. */
typedef struct cr__runq {
	cr__runnable *head; /* first to run */
	cr__runnable *tail; /* last queued */
	size_t len;	    /* items queued */
} cr__runq;

/* Appends r.  Returns nothing. */
static inline void cr__runq_push(cr__runq *q, cr__runnable *r)
{
	r->next = NULL;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->len++;
}

/* Removes and returns the first item, or NULL if empty. */
static inline cr__runnable *cr__runq_pop(cr__runq *q)
{
	cr__runnable *r = q->head;
	if (!r)
		return NULL;
	q->head = r->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	return r;
}

#endif
