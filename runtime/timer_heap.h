/* SPDX-License-Identifier: MIT */
/* Per-worker min-heap of timers ordered by deadline, then by arming order. */
#ifndef CORING_TIMER_HEAP_H
#define CORING_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define CR__TIMER_IDLE UINT32_MAX

struct cr__timer;
/* Called when a timer expires (it is already out of the heap). */
typedef void (*cr__timer_fn)(struct cr__timer *t);

/* An intrusive timer; embed it and recover the container in fire. */
typedef struct cr__timer {
	uint64_t when;	   /* absolute monotonic deadline, ns */
	uint64_t seq;	   /* arming order: equal deadlines fire first-armed first */
	uint32_t index;	   /* position in the heap, CR__TIMER_IDLE when not armed */
	cr__timer_fn fire; /* expiry action */
} cr__timer;

/* One heap slot: the ordering key is kept inline so that sifting compares
 * without following pointers (1M timers do not fit in cache). */
typedef struct cr__timer_slot {
	uint64_t when; /* copy of t->when */
	uint64_t seq;  /* copy of t->seq */
	cr__timer *t;  /* the timer */
} cr__timer_slot;

/* The heap: an array of slots. */
typedef struct cr__timer_heap {
	cr__timer_slot *items; /* heap-ordered array */
	uint32_t len;	       /* timers armed */
	uint32_t cap;	       /* allocated slots */
	uint64_t next_seq;     /* sequence for the next arming */
} cr__timer_heap;

/* Initialises t as idle with the given expiry action.  Returns nothing. */
static inline void cr__timer_init(cr__timer *t, cr__timer_fn fire)
{
	t->when = 0;
	t->seq = 0;
	t->index = CR__TIMER_IDLE;
	t->fire = fire;
}

/* Returns 1 if t is armed. */
static inline int cr__timer_armed(const cr__timer *t)
{
	return t->index != CR__TIMER_IDLE;
}

/* Arms t at when (t must be idle).  Returns 0 or -ENOMEM. */
int cr__timer_heap_add(cr__timer_heap *h, cr__timer *t, uint64_t when);

/* Disarms t if armed, in O(log n).  Returns nothing. */
void cr__timer_heap_remove(cr__timer_heap *h, cr__timer *t);

/* Returns the earliest timer without removing it, or NULL. */
static inline cr__timer *cr__timer_heap_top(const cr__timer_heap *h)
{
	return h->len ? h->items[0].t : NULL;
}

/* Releases the array (timers still armed are forgotten).  Returns nothing. */
void cr__timer_heap_free(cr__timer_heap *h);

#endif
