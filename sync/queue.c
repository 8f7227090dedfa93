/* SPDX-License-Identifier: MIT */
/* asyncio.Queue, LifoQueue and PriorityQueue: items and waiting tasks under one short spinlock. */
#include <errno.h>
#include <sched.h>

#include "cqs.h"
#include "queue_store.h"
#include "runtime_internal.h"

/* A FIFO list of waiters (its fields are the waiter records, oldest first). */

/*
 * The item storage, the counters and two FIFO lists of waiting getters and
 * putters are guarded by a spinlock that is held for a few instructions and
 * never across a wait.  As in asyncio, a put wakes the first getter (and a
 * get the first putter), and the woken task re-checks the queue when it runs
 * (a task already running may have taken the item first: it then waits
 * again, at the back).  A waiter links itself in while still holding the
 * spinlock, so a put or get on another worker cannot slip between its check
 * and its link.
 *
 * Whoever unlinks a waiter decides how its wait ends, under the spinlock:
 * a waker (which then wakes it with 0, after dropping the spinlock) or the
 * waiter's own abort action (cancellation or deadline, run on the waiter's
 * worker, which wakes it with the reason).  A waiter is linked until one of
 * them unlinks it and cannot return before it is woken, so it is woken
 * exactly once, and its record (on its stack) outlives a wake-up that is
 * still travelling to its worker.
 */

/* A waiting getter or putter.  Lives on the waiting task's stack. */
typedef struct waiter {
	cr__wait wait; /* the runtime's wait record (woken once) */
	cr__list node; /* on q->getters or q->putters, then on a waker's chain */
	cr_queue *q;   /* the queue (its spinlock guards the links) */
	int linked;    /* 1 until a waker or the abort action takes it off the queue */
} waiter;

static void spin_lock(uint32_t *s)
{
	unsigned spins = 0;
	while (__atomic_exchange_n(s, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(s, __ATOMIC_RELAXED)) {
			if (++spins > 200)
				sched_yield(); /* the holder's thread was preempted */
#if defined(__x86_64__) || defined(__i386__)
			else
				__builtin_ia32_pause();
#endif
		}
	}
}

static void spin_unlock(uint32_t *s)
{
	__atomic_store_n(s, 0, __ATOMIC_RELEASE);
}

static int init(cr_queue *q, int kind, size_t item_size, long maxsize, cr_compare_fn cmp, void *ctx)
{
	if (!q || item_size == 0 || (kind == CR_QUEUE_PRIORITY && !cmp))
		return -EINVAL;
	q->spin = 0;
	q->kind = kind;
	q->item_size = item_size;
	q->maxsize = maxsize;
	q->buf = NULL;
	q->cap = 0;
	q->head = 0;
	q->len = 0;
	q->cmp = cmp;
	q->cmp_ctx = ctx;
	q->unfinished = 0;
	q->shut = 0;
	cr__list_init(&q->getters);
	cr__list_init(&q->putters);
	cr_event_init(&q->finished);
	q->finished.flag = 1; /* nothing unfinished: join returns at once */
	return 0;
}

int cr_queue_init(cr_queue *q, size_t item_size, long maxsize)
{
	return init(q, CR_QUEUE_FIFO, item_size, maxsize, NULL, NULL);
}

int cr_lifo_queue_init(cr_queue *q, size_t item_size, long maxsize)
{
	return init(q, CR_QUEUE_LIFO, item_size, maxsize, NULL, NULL);
}

int cr_priority_queue_init(cr_queue *q, size_t item_size, long maxsize, cr_compare_fn cmp,
			   void *cmp_ctx)
{
	return init(q, CR_QUEUE_PRIORITY, item_size, maxsize, cmp, cmp_ctx);
}

int cr_queue_destroy(cr_queue *q)
{
	spin_lock(&q->spin);
	int busy = !cr__list_empty(&q->getters) || !cr__list_empty(&q->putters);
	spin_unlock(&q->spin);
	if (busy || cr__cqs_has_waiters(&q->finished.waiters))
		return -EBUSY;
	cr_event_destroy(&q->finished);
	cr__qstore_free(q);
	return 0;
}

static int full(const cr_queue *q)
{
	return q->maxsize > 0 && q->len >= (size_t)q->maxsize;
}

/* Links wt at the tail of l; the spinlock is held. */
static void link_tail(cr__list *l, waiter *wt)
{
	cr__list_push_back(l, &wt->node);
	wt->linked = 1;
}

/* Unlinks wt from its queue list; the spinlock is held. */
static void unlink_waiter(waiter *wt)
{
	cr__list_remove(&wt->node);
	wt->linked = 0;
}

/* Unlinks the first waiter of l (asyncio's _wakeup_next); the spinlock is
 * held.  Returns its wait record, to be woken once the spinlock is dropped
 * (a wake-up for another worker may ring its doorbell, a system call), or
 * NULL if nobody waits. */
static cr__wait *wake_next(cr__list *l)
{
	cr__list *n = cr__list_first(l);
	if (!n)
		return NULL;
	waiter *wt = cr__list_entry(n, waiter, node);
	unlink_waiter(wt);
	return &wt->wait;
}

/* Drops the spinlock, then wakes w (if any). */
static void unlock_and_wake(cr_queue *q, cr__wait *w)
{
	spin_unlock(&q->spin);
	if (w)
		cr__wake(w, 0);
}

/* Moves every waiter of l, oldest first, onto the empty list chain (the
 * caller's own, for wake_chain once the spinlock is dropped); the spinlock is
 * held.  Returns nothing. */
static void take_all(cr__list *l, cr__list *chain)
{
	cr__list *n;
	while ((n = cr__list_pop_front(l))) {
		cr__list_entry(n, waiter, node)->linked = 0;
		cr__list_push_back(chain, n);
	}
}

/* Wakes every waiter on a chain made by take_all.  Returns nothing. */
static void wake_chain(cr__list *chain)
{
	cr__list *n = chain->next;
	while (n != chain) {
		cr__list *next = n->next; /* n may be gone once woken from another worker */
		cr__wake(&cr__list_entry(n, waiter, node)->wait, 0);
		n = next;
	}
}

/* Abort action (cancellation or deadline; runs on the waiter's worker): ends
 * the wait with reason if no waker unlinked the waiter first, else does
 * nothing (the waker's wake-up is on its way; the waiter then passes it on
 * if it was cancelled, see wait_turn). */
static void abort_waiter(cr__wait *w, int reason)
{
	waiter *wt = cr__container_of(w, waiter, wait);
	cr_queue *q = wt->q;
	spin_lock(&q->spin);
	int mine = wt->linked;
	if (mine)
		unlink_waiter(wt);
	spin_unlock(&q->spin);
	if (mine)
		cr__wake(w, reason);
}

/* Stores item; the spinlock is held and the queue is open and not full.
 * *wake gets a getter to wake after unlocking.  Returns 0 or -ENOMEM. */
static int put_locked(cr_queue *q, const void *item, cr__wait **wake)
{
	int r = cr__qstore_push(q, item);
	if (r < 0)
		return r;
	if (q->unfinished++ == 0)
		cr_event_clear(&q->finished);
	*wake = wake_next(&q->getters);
	return 0;
}

/* Takes the next item; the spinlock is held and the queue is not empty.
 * Returns a putter to wake after unlocking, or NULL. */
static cr__wait *get_locked(cr_queue *q, void *out)
{
	cr__qstore_pop(q, out);
	return wake_next(&q->putters);
}

/* Links the current task at the tail of l (the spinlock is held; released
 * here) and parks.  Returns 0 when woken (re-check the queue), or an error. */
static int wait_turn(cr_queue *q, cr__list *l, int (*still_blocked)(const cr_queue *))
{
	int r = cr__wait_enter();
	if (r) {
		spin_unlock(&q->spin);
		return r;
	}
	waiter wt;
	cr__wait_init(&wt.wait, abort_waiter);
	wt.q = q;
	link_tail(l, &wt);
	spin_unlock(&q->spin);
	if ((r = cr__wait_park(&wt.wait)) < 0)
		return r;
	if (cr__wait_take_cancel()) {
		/* Woken, then cancelled before it ran: the wake-up goes on. */
		spin_lock(&q->spin);
		unlock_and_wake(q, still_blocked(q) ? NULL : wake_next(l));
		return -ECANCELED;
	}
	return 0;
}

static int empty(const cr_queue *q)
{
	return q->len == 0;
}

int cr_queue_put(cr_queue *q, const void *item)
{
	if (!cr__self())
		return -EPERM;
	for (;;) {
		spin_lock(&q->spin);
		if (q->shut) {
			spin_unlock(&q->spin);
			return -ESHUTDOWN;
		}
		if (!full(q)) {
			cr__wait *wake = NULL;
			int r = put_locked(q, item, &wake);
			unlock_and_wake(q, wake);
			return r;
		}
		int r = wait_turn(q, &q->putters, full);
		if (r < 0)
			return r;
	}
}

int cr_queue_get(cr_queue *q, void *out)
{
	if (!cr__self())
		return -EPERM;
	for (;;) {
		spin_lock(&q->spin);
		if (!empty(q)) {
			unlock_and_wake(q, get_locked(q, out));
			return 0;
		}
		if (q->shut) {
			spin_unlock(&q->spin);
			return -ESHUTDOWN;
		}
		int r = wait_turn(q, &q->getters, empty);
		if (r < 0)
			return r;
	}
}

int cr_queue_put_nowait(cr_queue *q, const void *item)
{
	if (!cr__self())
		return -EPERM;
	cr__wait *wake = NULL;
	spin_lock(&q->spin);
	int r = q->shut ? -ESHUTDOWN : full(q) ? -EAGAIN : put_locked(q, item, &wake);
	unlock_and_wake(q, wake);
	return r;
}

int cr_queue_get_nowait(cr_queue *q, void *out)
{
	if (!cr__self())
		return -EPERM;
	int r = 0;
	cr__wait *wake = NULL;
	spin_lock(&q->spin);
	if (!empty(q))
		wake = get_locked(q, out);
	else
		r = q->shut ? -ESHUTDOWN : -EAGAIN;
	unlock_and_wake(q, wake);
	return r;
}

size_t cr_queue_qsize(cr_queue *q)
{
	spin_lock(&q->spin);
	size_t n = q->len;
	spin_unlock(&q->spin);
	return n;
}

int cr_queue_empty(cr_queue *q)
{
	return cr_queue_qsize(q) == 0;
}

int cr_queue_full(cr_queue *q)
{
	spin_lock(&q->spin);
	int f = full(q);
	spin_unlock(&q->spin);
	return f;
}

long cr_queue_maxsize(const cr_queue *q)
{
	return q->maxsize;
}

int cr_queue_task_done(cr_queue *q)
{
	if (!cr__self())
		return -EPERM;
	int r = 0;
	spin_lock(&q->spin);
	if (q->unfinished == 0)
		r = -EPERM;
	else if (--q->unfinished == 0)
		cr_event_set(&q->finished);
	spin_unlock(&q->spin);
	return r;
}

int cr_queue_join(cr_queue *q)
{
	return cr_event_wait(&q->finished);
}

int cr_queue_shutdown(cr_queue *q, int immediate)
{
	if (!cr__self())
		return -EPERM;
	spin_lock(&q->spin);
	q->shut = 1;
	if (immediate) {
		while (q->len) {
			cr__qstore_pop(q, NULL);
			if (q->unfinished)
				q->unfinished--;
		}
		if (q->unfinished == 0)
			cr_event_set(&q->finished);
	}
	/* Everyone waiting re-checks: getters of an empty queue and all putters
	 * then see the shutdown.  They are woken after the spinlock is dropped. */
	cr__list chain;
	cr__list_init(&chain);
	take_all(&q->getters, &chain);
	take_all(&q->putters, &chain);
	spin_unlock(&q->spin);
	wake_chain(&chain);
	return 0;
}
