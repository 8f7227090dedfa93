/* SPDX-License-Identifier: MIT */
/* Item storage of a queue: a growable ring (FIFO), stack (LIFO) or binary heap (priority). */
#ifndef CORING_SYNC_QUEUE_STORE_H
#define CORING_SYNC_QUEUE_STORE_H

#include <coring/sync.h>

/* Copies item in (the caller checked the queue is not full).  Returns 0 or
 * -ENOMEM (the queue is unchanged). */
int cr__qstore_push(cr_queue *q, const void *item);

/* Copies the next item (by the queue's kind) to out and removes it; the
 * queue must not be empty.  out may be NULL to drop it.  Returns nothing. */
void cr__qstore_pop(cr_queue *q, void *out);

/* Frees the storage.  Returns nothing. */
void cr__qstore_free(cr_queue *q);

#endif
