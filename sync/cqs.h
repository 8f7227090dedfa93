/* SPDX-License-Identifier: MIT */
/* The wait-queue core (CQS-style): an infinite array of cells in segments, FIFO and abortable. */
#ifndef CORING_SYNC_CQS_H
#define CORING_SYNC_CQS_H

#include <coring/sync.h>
#include <stdint.h>

#include "runtime_internal.h"

/*
 * Design (after Koval, Khalanskiy, Alistarh, "CQS", PLDI 2023): waiters take
 * cell numbers with one fetch-and-add on cr_waitq.enq, wakers with one on
 * cr_waitq.deq (or a bounded CAS); cell i lives in segment i / CELLS.  A
 * cell moves from EMPTY to exactly one of:
 *   WAITER (the cr__wait of a parked task) -> RESUMED (a waker won) or
 *                                             CANCELLED (the waiter's abort won);
 *   TOKEN (a waker came first: the waiter finds it and does not park).
 * Whoever wins the cell's CAS alone decides the waiter's fate, so a task is
 * woken exactly once and a cancelled waiter is skipped by wakers.
 * Segments are counted: two references per cell (its waiter side and its
 * waker side) and one per queue pointer still at or before it; the last
 * release retires the segment to the runtime's quiescent-state reclamation,
 * so a worker that read a pointer to it in this loop pass may still walk it.
 */

/* Cells per segment. */
#define CR__CQS_CELLS 32

/* One segment of cells. */
typedef struct cr__cqs_seg {
	cr__retired retired;		/* reclamation node (must stay first) */
	uint64_t id;			/* segment number: cells id*CELLS .. +CELLS-1 */
	struct cr__cqs_seg *next;	/* next segment (atomic), NULL at the end */
	int64_t refs;			/* atomic: references left (see above) */
	uintptr_t cells[CR__CQS_CELLS]; /* atomic: cell states */
} cr__cqs_seg;

/* A waiter's record: lives on the waiting task's stack. */
typedef struct cr__cqs_waiter {
	cr__wait wait;	     /* the runtime's wait record (woken once) */
	cr_waitq *bounded_q; /* the queue, if it is only ever woken with resume_before */
	cr__cqs_seg *seg;    /* segment of the waiter's cell */
	unsigned slot;	     /* index of the cell in seg */
} cr__cqs_waiter;

/* Results of the waker side. */
enum {
	CR__CQS_NONE = -1,   /* no cell before the limit: nobody to wake */
	CR__CQS_SKIPPED = 0, /* the cell's waiter had been cancelled */
	CR__CQS_WOKEN = 1,   /* a waiter was woken (or will find a token) */
};

/* Initialises an empty queue.  Does not allocate.  Returns nothing. */
void cr__cqs_init(cr_waitq *q);

/* Returns 1 if a cell between deq and enq still holds a waiter (not
 * cancelled), else 0.  Only meaningful while no operation runs on q, e.g. in
 * _destroy.  */
int cr__cqs_has_waiters(cr_waitq *q);

/* Gives back every segment (the queue must have no waiter; operations that
 * just finished may still hold references and free the last ones).  Leaves
 * q empty and reusable.  Returns nothing. */
void cr__cqs_destroy(cr_waitq *q);

/* Flags of cr__cqs_enqueue. */
enum {
	/* The wait ends early on cancellation and deadlines (otherwise a
	 * cancellation is kept pending for the task's next wait). */
	CR__CQS_INTERRUPTIBLE = 1,
	/* Wakers of q only use cr__cqs_resume_before (Event, Condition):
	 * a cancelled waiter at the head then moves the waker side past
	 * the cancelled cells itself, so that waits that keep timing out on a
	 * queue nobody wakes leave no cells behind. */
	CR__CQS_BOUNDED = 2,
};

/*
 * Takes the next cell for the current task and installs wt in it (flags:
 * CR__CQS_INTERRUPTIBLE, CR__CQS_BOUNDED).  Returns 1 if the task must now
 * cr__cqs_park, or 0 if a waker had already left a token there (the wait is
 * over; nothing to park for or release).
 */
int cr__cqs_enqueue(cr_waitq *q, cr__cqs_waiter *wt, int flags);

/* Parks on a cell installed by cr__cqs_enqueue and lets it go afterwards.
 * Returns 0 if woken by a waker, -ECANCELED / -ETIMEDOUT if the wait was
 * cancelled first (the cell is then skipped by wakers). */
int cr__cqs_park(cr__cqs_waiter *wt);

/* Tries to take back a cell installed by cr__cqs_enqueue without parking.
 * Returns 1 if taken back (nobody will wake it), or 0 if a waker already
 * won it: then cr__cqs_park returns at once with its wake-up. */
int cr__cqs_withdraw(cr__cqs_waiter *wt);

/* Wakes the waiter of the next cell (fetch-and-add on deq; for queues whose
 * counter says a waiter is or will be there).  Returns CR__CQS_WOKEN or
 * CR__CQS_SKIPPED. */
int cr__cqs_resume(cr_waitq *q);

/* Wakes the waiter of the next cell if its number is below limit (a
 * snapshot of enq taken by the caller).  Returns CR__CQS_WOKEN,
 * CR__CQS_SKIPPED or CR__CQS_NONE. */
int cr__cqs_resume_before(cr_waitq *q, uint64_t limit);

/* Returns the current waiter-side cell counter (a limit for resume_before). */
static inline uint64_t cr__cqs_enq_snapshot(cr_waitq *q)
{
	return __atomic_load_n(&q->enq, __ATOMIC_SEQ_CST);
}

/* Returns the number of segments allocated and not yet freed, over all
 * queues of the process (retired ones count until freed).  For tests. */
int64_t cr__cqs_live_segments(void);

#endif
