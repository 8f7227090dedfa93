/* SPDX-License-Identifier: MIT */
/* Intrusive MPSC queue (after Vyukov's design): one atomic exchange per push, no locks. */
#include "inbox.h"

#include <stddef.h>

void cr__inbox_init(cr__inbox *q)
{
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
	q->head = &q->stub;
	atomic_store_explicit(&q->tail, &q->stub, memory_order_relaxed);
}

void cr__inbox_push(cr__inbox *q, cr__msg *m)
{
	atomic_store_explicit(&m->next, NULL, memory_order_relaxed);
	cr__msg *prev = atomic_exchange_explicit(&q->tail, m, memory_order_seq_cst);
	atomic_store_explicit(&prev->next, m, memory_order_release);
}

cr__msg *cr__inbox_pop(cr__inbox *q)
{
	cr__msg *head = q->head;
	cr__msg *next = atomic_load_explicit(&head->next, memory_order_acquire);
	if (head == &q->stub) {
		if (!next)
			return NULL;
		q->head = next;
		head = next;
		next = atomic_load_explicit(&head->next, memory_order_acquire);
	}
	if (next) {
		q->head = next;
		return head;
	}
	if (atomic_load_explicit(&q->tail, memory_order_acquire) != head)
		return NULL; /* a producer swapped in but has not linked yet */
	cr__inbox_push(q, &q->stub);
	next = atomic_load_explicit(&head->next, memory_order_acquire);
	if (next) {
		q->head = next;
		return head;
	}
	return NULL;
}
