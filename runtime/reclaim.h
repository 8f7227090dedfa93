/* SPDX-License-Identifier: MIT */
/* Deferred freeing of memory other workers may still be reading (quiescent-state reclamation). */
#ifndef CORING_RECLAIM_H
#define CORING_RECLAIM_H

#include <stdint.h>

struct cr__worker;
struct cr__runtime;

/* An object waiting to be freed; embed it in the object. */
typedef struct cr__retired {
	struct cr__retired *next;		/* next on the retiring worker's list */
	uint64_t epoch;				/* global epoch when it was retired */
	void (*free_fn)(struct cr__retired *r); /* frees the object */
} cr__retired;

/*
 * Hands r to be freed once every worker has passed a quiescent point (the
 * top of its loop, or a sleep in the kernel) after this call: a worker
 * never holds a pointer read from a shared structure across one.  The object
 * must already be unreachable for anyone starting a new operation.  Outside
 * a worker (no runtime running on this thread) it is freed at once.
 * Returns nothing.
 */
void cr__retire(cr__retired *r, void (*free_fn)(cr__retired *r));

/* Marks a quiescent point of w and frees what is safe.  Returns nothing. */
void cr__reclaim_quiescent(struct cr__worker *w);

/* Marks w as holding no shared pointers until its next quiescent point
 * (before blocking in the kernel or exiting).  Returns nothing. */
void cr__reclaim_offline(struct cr__worker *w);

/* Frees everything w still has retired (all workers stopped).  Returns nothing. */
void cr__reclaim_flush(struct cr__worker *w);

#endif
