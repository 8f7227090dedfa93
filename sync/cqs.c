/* SPDX-License-Identifier: MIT */
/* The wait-queue core: cells taken by fetch-and-add, decided by one CAS each, segments counted and
 * retired. */
#include "cqs.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define CELLS CR__CQS_CELLS

/* Cell states other than a waiter pointer (cr__wait is 8-byte aligned, so
 * these odd values never collide with one). */
#define EMPTY ((uintptr_t)0)
#define CANCELLED ((uintptr_t)1)
#define RESUMED ((uintptr_t)3)
#define TOKEN ((uintptr_t)5)

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define CAS(p, e, d)                                                                               \
	__atomic_compare_exchange_n((p), (e), (d), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

/* Segments allocated and not yet freed, over all queues (for tests). */
static int64_t live_segments;

int64_t cr__cqs_live_segments(void)
{
	return __atomic_load_n(&live_segments, __ATOMIC_RELAXED);
}

static void seg_free(cr__retired *r)
{
	__atomic_fetch_sub(&live_segments, 1, __ATOMIC_RELAXED);
	free(r);
}

/* Returns a new segment holding every reference: two per cell, one per queue pointer. */
static cr__cqs_seg *seg_new(uint64_t id)
{
	cr__cqs_seg *s = calloc(1, sizeof(*s));
	if (!s) {
		/* A waiter already owns a cell number in this segment: there is no
		 * way back that keeps the queue consistent. */
		fputs("coring: out of memory for a wait-queue segment\n", stderr);
		abort();
	}
	__atomic_fetch_add(&live_segments, 1, __ATOMIC_RELAXED);
	s->id = id;
	s->refs = 2 * CELLS + 2;
	return s;
}

/* Drops n references of s; the last one retires it. */
static void seg_put(cr__cqs_seg *s, int64_t n)
{
	if (n && __atomic_sub_fetch(&s->refs, n, __ATOMIC_ACQ_REL) == 0)
		cr__retire(&s->retired, seg_free);
}

/* Returns the segment *ptr points at, making the first segment if the queue
 * never had one.  Must be read before the caller takes its cell number. */
static cr__cqs_seg *start_of(cr_waitq *q, void **ptr)
{
	cr__cqs_seg *s = LOAD(ptr);
	if (s)
		return s;
	void *f = LOAD(&q->first);
	if (!f) {
		void *fresh = seg_new(0);
		if (CAS(&q->first, &f, fresh))
			f = fresh;
		else
			seg_free(fresh); /* never published */
	}
	void *none = NULL;
	CAS(ptr, &none, f);
	return LOAD(ptr);
}

/* Returns the segment numbered id, walking (and extending) the list from s. */
static cr__cqs_seg *find(cr__cqs_seg *s, uint64_t id)
{
	while (s->id < id) {
		cr__cqs_seg *n = LOAD(&s->next);
		if (!n) {
			cr__cqs_seg *fresh = seg_new(s->id + 1);
			if (CAS(&s->next, &n, fresh))
				n = fresh;
			else
				seg_free(&fresh->retired); /* never published */
		}
		s = n;
	}
	return s;
}

/* Moves *ptr forward to segment to, one segment at a time, dropping the
 * reference each segment it leaves held for it. */
static void move_forward(void **ptr, cr__cqs_seg *to)
{
	for (;;) {
		void *cur = LOAD(ptr);
		cr__cqs_seg *c = cur;
		if (c->id >= to->id)
			return;
		void *n = LOAD(&c->next);
		if (CAS(ptr, &cur, n))
			seg_put(c, 1);
	}
}

void cr__cqs_init(cr_waitq *q)
{
	q->enq = 0;
	q->deq = 0;
	q->head = NULL;
	q->tail = NULL;
	q->first = NULL;
}

/* For queues woken only with resume_before: takes the waker side of the
 * cancelled cells at the head, as a waker would, so they do not pile up. */
static void skip_cancelled_head(cr_waitq *q)
{
	for (;;) {
		cr__cqs_seg *s = start_of(q, &q->head); /* read before the cell number */
		uint64_t d = __atomic_load_n(&q->deq, __ATOMIC_SEQ_CST);
		if (d >= __atomic_load_n(&q->enq, __ATOMIC_SEQ_CST))
			return;
		s = find(s, d / CELLS);
		if (LOAD(&s->cells[d % CELLS]) != CANCELLED)
			return;
		if (!__atomic_compare_exchange_n(&q->deq, &d, d + 1, 0, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			continue;
		move_forward(&q->head, s);
		seg_put(s, 1);
	}
}

/* Cancels the waiter if no waker has won its cell yet (the abort action). */
static void abort_cell(cr__wait *w, int reason)
{
	cr__cqs_waiter *wt = cr__container_of(w, cr__cqs_waiter, wait);
	uintptr_t expect = (uintptr_t)w;
	if (!CAS(&wt->seg->cells[wt->slot], &expect, CANCELLED))
		return; /* a waker won: its wake-up is on the way and carries the result */
	if (wt->bounded_q)
		skip_cancelled_head(wt->bounded_q);
	cr__wake(w, reason);
}

int cr__cqs_enqueue(cr_waitq *q, cr__cqs_waiter *wt, int flags)
{
	cr__wait_init(&wt->wait, flags & CR__CQS_INTERRUPTIBLE ? abort_cell : NULL);
	wt->bounded_q = flags & CR__CQS_BOUNDED ? q : NULL;
	cr__cqs_seg *s = start_of(q, &q->tail);
	uint64_t i = __atomic_fetch_add(&q->enq, 1, __ATOMIC_SEQ_CST);
	s = find(s, i / CELLS);
	move_forward(&q->tail, s);
	wt->seg = s;
	wt->slot = (unsigned)(i % CELLS);
	uintptr_t expect = EMPTY;
	if (CAS(&s->cells[wt->slot], &expect, (uintptr_t)&wt->wait))
		return 1;
	seg_put(s, 1); /* a token was there: the waiter side of the cell is done */
	return 0;
}

int cr__cqs_park(cr__cqs_waiter *wt)
{
	int r = cr__wait_park(&wt->wait);
	seg_put(wt->seg, 1);
	return r < 0 ? r : 0;
}

int cr__cqs_withdraw(cr__cqs_waiter *wt)
{
	uintptr_t expect = (uintptr_t)&wt->wait;
	if (!CAS(&wt->seg->cells[wt->slot], &expect, CANCELLED))
		return 0;
	if (wt->bounded_q)
		skip_cancelled_head(wt->bounded_q);
	seg_put(wt->seg, 1);
	return 1;
}

/* Decides cell slot of s for the waker side.  Returns CR__CQS_WOKEN or
 * CR__CQS_SKIPPED. */
static int resume_cell(cr__cqs_seg *s, unsigned slot)
{
	uintptr_t *c = &s->cells[slot];
	uintptr_t v = LOAD(c);
	for (;;) {
		if (v == CANCELLED) {
			seg_put(s, 1);
			return CR__CQS_SKIPPED;
		}
		if (v == EMPTY) {
			/* The waiter took its number but is not installed yet. */
			if (CAS(c, &v, TOKEN)) {
				seg_put(s, 1);
				return CR__CQS_WOKEN;
			}
			continue;
		}
		if (CAS(c, &v, RESUMED)) {
			/* The waiter cannot leave before it is woken: its cell is ours. */
			cr__wake((cr__wait *)v, 0);
			seg_put(s, 1);
			return CR__CQS_WOKEN;
		}
	}
}

int cr__cqs_resume(cr_waitq *q)
{
	cr__cqs_seg *s = start_of(q, &q->head);
	uint64_t i = __atomic_fetch_add(&q->deq, 1, __ATOMIC_SEQ_CST);
	s = find(s, i / CELLS);
	move_forward(&q->head, s);
	return resume_cell(s, (unsigned)(i % CELLS));
}

int cr__cqs_resume_before(cr_waitq *q, uint64_t limit)
{
	uint64_t d = __atomic_load_n(&q->deq, __ATOMIC_SEQ_CST);
	if (d >= limit)
		return CR__CQS_NONE;
	cr__cqs_seg *s = start_of(q, &q->head);
	for (;;) {
		if (d >= limit)
			return CR__CQS_NONE;
		if (__atomic_compare_exchange_n(&q->deq, &d, d + 1, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			break;
	}
	s = find(s, d / CELLS);
	move_forward(&q->head, s);
	return resume_cell(s, (unsigned)(d % CELLS));
}

/* Returns the lowest segment still linked from q, or NULL if it has none. */
static cr__cqs_seg *lowest(cr_waitq *q)
{
	cr__cqs_seg *h = LOAD(&q->head), *t = LOAD(&q->tail);
	if (!h || !t)
		return LOAD(&q->first);
	return h->id < t->id ? h : t;
}

int cr__cqs_has_waiters(cr_waitq *q)
{
	uint64_t deq = __atomic_load_n(&q->deq, __ATOMIC_SEQ_CST);
	uint64_t enq = __atomic_load_n(&q->enq, __ATOMIC_SEQ_CST);
	cr__cqs_seg *s = lowest(q);
	for (uint64_t i = deq; i < enq && s; i++) {
		while (s && s->id < i / CELLS)
			s = LOAD(&s->next);
		if (!s)
			return 1; /* a waiter took a number and is making its segment */
		uintptr_t v = LOAD(&s->cells[i % CELLS]);
		if (v != CANCELLED && v != RESUMED && v != TOKEN)
			return 1;
	}
	return 0;
}

void cr__cqs_destroy(cr_waitq *q)
{
	uint64_t deq = LOAD(&q->deq), enq = LOAD(&q->enq);
	cr__cqs_seg *h = LOAD(&q->head), *t = LOAD(&q->tail);
	cr__cqs_seg *s = lowest(q);
	/* Drop every reference nobody else will drop: cells no waiter or waker
	 * reached, and the pointers' references of segments they did not pass.
	 * Operations that just finished drop theirs and may free the last. */
	while (s) {
		cr__cqs_seg *next = LOAD(&s->next);
		int64_t drop = 0;
		for (unsigned k = 0; k < CELLS; k++) {
			uint64_t i = s->id * CELLS + k;
			drop += i >= enq;
			drop += i >= deq;
		}
		drop += !h || s->id >= h->id;
		drop += !t || s->id >= t->id;
		seg_put(s, drop);
		s = next;
	}
	cr__cqs_init(q);
}
