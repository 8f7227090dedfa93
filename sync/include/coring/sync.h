/* SPDX-License-Identifier: MIT */
/* coring sync: asyncio's Lock, Event, Condition, Semaphore, Barrier and Queues for tasks on any
 * worker. */
#ifndef CORING_SYNC_H
#define CORING_SYNC_H

#include <coring/runtime.h> /* cr__list */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Semantics are those of CPython 3.13's asyncio (Lib/asyncio/locks.py,
 * queues.py): FIFO wake-up order; no barging past a woken waiter that has not
 * run yet; a waiter woken and then cancelled before it ran passes its
 * wake-up or permit on; Condition waits re-acquire the lock even when
 * cancelled; a cancelled waiter gets no wake-up and holds nothing.
 *
 * Every primitive is a caller-allocated struct: its _init does not allocate,
 * and fields are private.  Waiting records on the contended path live in
 * small segments allocated on demand and given back through the runtime's
 * reclamation, so a primitive that was ever contended must be passed to its
 * _destroy once no task uses it.
 *
 * Where they may be called: from tasks and loop callbacks of a running
 * runtime, on any worker (the waiting calls from tasks only).  A call made
 * outside cr_run returns -EPERM when it would have to wait or wake a task
 * (an uncontended acquire or release simply succeeds).
 *
 * Errors (negative errno values, as everywhere in coring):
 *   -ECANCELED  the calling task was cancelled while waiting (CancelledError)
 *   -ETIMEDOUT  a deadline scope around the wait expired (TimeoutError)
 *   -EAGAIN     a _try / _nowait call could not proceed (QueueEmpty/QueueFull)
 *   -ESHUTDOWN  the queue was shut down (QueueShutDown)
 *   -EPIPE      the barrier is broken, aborted or was reset (BrokenBarrierError)
 *   -EPERM      misuse (RuntimeError/ValueError): releasing an unlocked lock,
 *               over-releasing a bounded semaphore, waiting on or notifying a
 *               condition without holding its lock, task_done too often, a
 *               waiting call outside a task; nothing is changed
 *   -EBUSY      _destroy while tasks still wait
 *   -EINVAL     bad arguments, where asyncio raises ValueError (a semaphore
 *               value < 0, barrier parties <= 0) and for NULL, a zero item
 *               size or a priority queue without comparator; an _init that
 *               returns it leaves nothing initialised or registered
 *   -ENOMEM     an unbounded queue could not grow
 * A call that can acquire, take or put at once does so without waiting and
 * without looking at cancellation (as asyncio, which does not suspend then).
 * Once a call suspends, a cancellation that lands before it returns (even
 * after it was woken), or a deadline scope that expires while it waits,
 * makes it fail with nothing taken, as asyncio's CancelledError does (a
 * permit, item or wake-up it was handed goes on to the next waiter).  One
 * part is shielded: cr_cond_wait re-acquires its lock deaf to cancellation
 * and deadlines, because it must return with the lock held (asyncio's
 * Condition.wait does the same); it reports what landed meanwhile once the
 * lock is held again.
 */

/* The wait-queue core of Lock, Semaphore, Event and Condition (CQS-style
 * cells in segments; queues keep their waiters under their spinlock).
 * Private: use the primitives. */
typedef struct cr_waitq {
	uint64_t enq; /* private: next cell a waiter takes */
	uint64_t deq; /* private: next cell a waker takes */
	void *head;   /* private: segment of the waker side */
	void *tail;   /* private: segment of the waiter side */
	void *first;  /* private: the first segment ever made */
} cr_waitq;

/* ---- Lock (asyncio.Lock) ---------------------------------------------------- */

/* A mutual-exclusion lock for tasks; not owned (any task or callback may
 * release it, as in asyncio). */
typedef struct cr_lock {
	int64_t state;	  /* private: permits minus waiters, and hand-offs in flight */
	cr_waitq waiters; /* private: tasks waiting to acquire */
} cr_lock;

/* Initialises an unlocked lock.  Does not allocate.  Returns nothing. */
void cr_lock_init(cr_lock *l);

/* Frees what the lock still holds; it may be initialised again.  Returns 0,
 * -EBUSY if tasks wait on it or a task it was handed to has not run yet
 * (nothing is freed). */
int cr_lock_destroy(cr_lock *l);

/* Private: the state word of a free lock, and of a lock held with nobody
 * waiting (sync/permits.h: one permit or none, plus the bias 2^31). */
#define CR__LOCK_FREE ((int64_t)1 + ((int64_t)1 << 31))
#define CR__LOCK_HELD ((int64_t)1 << 31)

/* Private: what cr_lock_acquire and cr_lock_release do when their one CAS
 * fails.  Return as those do. */
int cr__lock_acquire_slow(cr_lock *l);
int cr__lock_release_slow(cr_lock *l);

/* Private: one CAS of l's state from `from` to `to`.  Returns 1 if it took. */
static inline int cr__lock_cas(cr_lock *l, int64_t from, int64_t to)
{
	return __atomic_compare_exchange_n(&l->state, &from, to, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

/* Acquires l, waiting in FIFO order behind earlier waiters.  Returns 0,
 * -ECANCELED, -ETIMEDOUT, -EPERM outside a task when it would have to wait.
 * Inline: the uncontended case is one CAS in the caller. */
static inline int cr_lock_acquire(cr_lock *l)
{
	return cr__lock_cas(l, CR__LOCK_FREE, CR__LOCK_HELD) ? 0 : cr__lock_acquire_slow(l);
}

/* Acquires l only if that needs no waiting.  Returns 0 or -EAGAIN. */
int cr_lock_try_acquire(cr_lock *l);

/* Releases l, handing it to the first waiter if there is one.  Returns 0 or
 * -EPERM if l is not locked.  Inline: with nobody waiting it is one CAS. */
static inline int cr_lock_release(cr_lock *l)
{
	return cr__lock_cas(l, CR__LOCK_HELD, CR__LOCK_FREE) ? 0 : cr__lock_release_slow(l);
}

/* Returns 1 if l is held, 0 if it is free or being handed to a woken waiter
 * that has not run yet (asyncio's locked(): a release then returns -EPERM,
 * and try_acquire -EAGAIN, since the lock is promised to that waiter). */
int cr_lock_locked(const cr_lock *l);

/* A critical section body for cr_with_lock. */
typedef int (*cr_locked_fn)(void *arg);

/* "async with lock": acquires l, runs fn(arg), releases l whatever fn
 * returns.  Returns fn's result, or the error of cr_lock_acquire (fn did not
 * run). */
int cr_with_lock(cr_lock *l, cr_locked_fn fn, void *arg);

/* ---- Semaphore and BoundedSemaphore (asyncio.Semaphore) ---------------------- */

/* A counting semaphore; bounded ones refuse to be released above their
 * initial value. */
typedef struct cr_sem {
	int64_t state;	  /* private: value minus waiters, and hand-offs in flight */
	int64_t bound;	  /* private: initial value if bounded, else INT64_MAX */
	cr_waitq waiters; /* private: tasks waiting to acquire */
} cr_sem;

/* Largest value of a semaphore. */
#define CR_SEM_VALUE_MAX (((int64_t)1 << 31) - 2)

/* Initialises a semaphore with value permits (0 is valid: every acquire
 * waits for a release).  Does not allocate.  Returns 0, or -EINVAL if s is
 * NULL, value < 0 (asyncio: ValueError) or value > CR_SEM_VALUE_MAX; s is
 * then left untouched. */
int cr_sem_init(cr_sem *s, int64_t value);

/* Initialises a BoundedSemaphore: release above value returns -EPERM.
 * Returns as cr_sem_init. */
int cr_bounded_sem_init(cr_sem *s, int64_t value);

/* Frees what the semaphore still holds.  Returns 0 or -EBUSY (tasks wait,
 * or a task handed a permit has not run yet). */
int cr_sem_destroy(cr_sem *s);

/* Takes a permit, waiting in FIFO order if none is free.  A free permit
 * with woken waiters still to run is not taken past them: the call lets them
 * run first, and a cancellation or expired deadline meanwhile makes it fail
 * with the permit given back (asyncio 3.13 queues it behind them; its value
 * is unchanged).  Returns 0, -ECANCELED, -ETIMEDOUT, -EPERM outside a task
 * when it would have to wait. */
int cr_sem_acquire(cr_sem *s);

/* Takes a permit only if one is free, nobody waits and no woken waiter is
 * still to run.  Returns 0 or -EAGAIN. */
int cr_sem_try_acquire(cr_sem *s);

/* Returns a permit, handing it to the first waiter if there is one.
 * Returns 0, -EPERM for a bounded semaphore already at its value,
 * -EOVERFLOW at CR_SEM_VALUE_MAX. */
int cr_sem_release(cr_sem *s);

/* Returns the number of free permits (0 while tasks wait). */
int64_t cr_sem_value(const cr_sem *s);

/* Returns 1 if an acquire would have to wait (no free permit, or woken
 * waiters still to run), else 0. */
int cr_sem_locked(const cr_sem *s);

/* "async with sem": acquires, runs fn(arg), releases.  Returns fn's result
 * or the error of cr_sem_acquire (fn did not run). */
int cr_with_sem(cr_sem *s, cr_locked_fn fn, void *arg);

/* ---- Event (asyncio.Event) ---------------------------------------------------- */

/* A flag tasks can wait for. */
typedef struct cr_event {
	uint32_t flag;	  /* private: 1 while set */
	cr_waitq waiters; /* private: tasks waiting for the flag */
} cr_event;

/* Initialises a cleared event.  Does not allocate.  Returns nothing. */
void cr_event_init(cr_event *e);

/* Frees what the event still holds.  Returns 0 or -EBUSY (tasks wait). */
int cr_event_destroy(cr_event *e);

/* Sets the flag and wakes every task waiting now, in FIFO order.  Does
 * nothing if already set.  Returns 0, or -EPERM outside cr_run. */
int cr_event_set(cr_event *e);

/* Clears the flag; later waits block until the next set.  Returns nothing. */
void cr_event_clear(cr_event *e);

/* Returns 1 if the flag is set, else 0. */
int cr_event_is_set(const cr_event *e);

/* Returns at once if the flag is set, else waits for cr_event_set.  Returns
 * 0, -ECANCELED, -ETIMEDOUT, -EPERM outside a task when it would wait. */
int cr_event_wait(cr_event *e);

/* ---- Condition (asyncio.Condition) --------------------------------------------- */

/* A condition variable bound to a lock (its own or a given one). */
typedef struct cr_cond {
	cr_lock own;	  /* private: the lock used when none was given */
	cr_lock *lock;	  /* private: the lock in use */
	cr_waitq waiters; /* private: tasks waiting to be notified */
} cr_cond;

/* Initialises a condition on lock, or on a lock of its own if lock is NULL.
 * Does not allocate.  Returns nothing. */
void cr_cond_init(cr_cond *c, cr_lock *lock);

/* Frees what the condition (and its own lock) still hold.  Returns 0 or
 * -EBUSY (tasks wait). */
int cr_cond_destroy(cr_cond *c);

/* Returns the lock the condition uses (for cr_lock_acquire / cr_with_lock). */
cr_lock *cr_cond_lock(cr_cond *c);

/* Acquires the condition's lock.  Returns as cr_lock_acquire. */
int cr_cond_acquire(cr_cond *c);

/* Releases the condition's lock.  Returns as cr_lock_release. */
int cr_cond_release(cr_cond *c);

/* "async with cond": holds the condition's lock around fn(arg).  Returns as
 * cr_with_lock. */
int cr_with_cond(cr_cond *c, cr_locked_fn fn, void *arg);

/*
 * Releases the lock, waits to be notified, and re-acquires the lock before
 * it returns, in every case.  The re-acquire is shielded (deaf to
 * cancellation and deadlines, as in asyncio, so that the call never returns
 * without the lock): a cancellation that arrives while re-acquiring, or a
 * deadline scope that expires after the notification, is reported once the
 * lock is held again (-ECANCELED / -ETIMEDOUT).  The lock must be held.  A
 * waiter that was notified and then cancelled or timed out before it
 * returned passes the notification on to the next waiter.  Returns 0,
 * -ECANCELED, -ETIMEDOUT, or -EPERM if the lock is not held (nothing
 * happened).
 */
int cr_cond_wait(cr_cond *c);

/* A predicate for cr_cond_wait_for: nonzero when the awaited state holds. */
typedef int (*cr_predicate_fn)(void *arg);

/* Waits until pred(arg) is nonzero, checking it first and after each
 * notification with the lock held.  Returns 0 (the lock is held and pred
 * was true), or an error of cr_cond_wait (the lock is held too). */
int cr_cond_wait_for(cr_cond *c, cr_predicate_fn pred, void *arg);

/* Wakes up to n waiters in FIFO order.  The lock must be held.  Returns the
 * number woken, or -EPERM if the lock is not held. */
int cr_cond_notify(cr_cond *c, int n);

/* Wakes every waiter.  Returns the number woken, or -EPERM as cr_cond_notify. */
int cr_cond_notify_all(cr_cond *c);

/* ---- Barrier (asyncio.Barrier) ------------------------------------------------- */

/* A cyclic barrier for a fixed number of parties. */
typedef struct cr_barrier {
	cr_cond cond; /* private: guards the fields below, wakes on changes */
	int parties;  /* private: tasks that must arrive to release the barrier */
	int count;    /* private: tasks inside wait */
	int state;    /* private: filling, draining, resetting or broken */
} cr_barrier;

/* Initialises a barrier for parties tasks.  Does not allocate.  Returns 0,
 * or -EINVAL if b is NULL or parties <= 0 (asyncio: ValueError; b is left
 * untouched).  A barrier of 1 party is valid: each wait returns 0 at once. */
int cr_barrier_init(cr_barrier *b, int parties);

/* Frees what the barrier still holds.  Returns 0 or -EBUSY (tasks wait). */
int cr_barrier_destroy(cr_barrier *b);

/* Waits until parties tasks have called it.  Returns this task's arrival
 * index (0 .. parties-1; the last to arrive gets parties-1), -EPIPE if the
 * barrier is broken or was reset or aborted while waiting, -ECANCELED,
 * -ETIMEDOUT, -EPERM outside a task. */
int cr_barrier_wait(cr_barrier *b);

/* Returns the barrier to its empty state; tasks waiting get -EPIPE.  Returns
 * 0 or an error of cr_lock_acquire (it takes the barrier's lock). */
int cr_barrier_reset(cr_barrier *b);

/* Breaks the barrier: current and future waits return -EPIPE until reset.
 * Returns 0 or an error of cr_lock_acquire. */
int cr_barrier_abort(cr_barrier *b);

/* Returns the number of parties. */
int cr_barrier_parties(const cr_barrier *b);

/* Returns the number of tasks waiting for the barrier to fill. */
int cr_barrier_n_waiting(const cr_barrier *b);

/* Returns 1 if the barrier is broken, else 0. */
int cr_barrier_broken(const cr_barrier *b);

/* ---- Queue, LifoQueue, PriorityQueue (asyncio.Queue) ------------------------------ */

/* Orders two items of a priority queue: < 0 if a comes out before b. */
typedef int (*cr_compare_fn)(const void *a, const void *b, void *ctx);

/* Queue kinds (cr_queue_init*). */
enum cr_queue_kind {
	CR_QUEUE_FIFO = 0,     /* asyncio.Queue: first in, first out */
	CR_QUEUE_LIFO = 1,     /* asyncio.LifoQueue: last in, first out */
	CR_QUEUE_PRIORITY = 2, /* asyncio.PriorityQueue: smallest first by a comparator */
};

/* A queue of fixed-size items copied in and out by value. */
typedef struct cr_queue {
	uint32_t spin;	     /* private: guards the fields below (never held across a wait) */
	int kind;	     /* private: enum cr_queue_kind */
	size_t item_size;    /* private: bytes per item */
	long maxsize;	     /* private: capacity, <= 0 = unbounded */
	unsigned char *buf;  /* private: item storage (ring or heap), grown on demand */
	size_t cap;	     /* private: items buf holds */
	size_t head;	     /* private: index of the oldest item (FIFO ring) */
	size_t len;	     /* private: items in the queue */
	cr_compare_fn cmp;   /* private: priority order */
	void *cmp_ctx;	     /* private: its context */
	uint64_t unfinished; /* private: items put and not yet task_done */
	int shut;	     /* private: 1 after shutdown */
	cr__list getters;    /* private: tasks waiting for an item (FIFO, under spin) */
	cr__list putters;    /* private: tasks waiting for room (FIFO, under spin) */
	cr_event finished;   /* private: set when unfinished reaches 0 (join) */
} cr_queue;

/* Initialises a FIFO queue of items of item_size bytes holding at most
 * maxsize items; every maxsize is valid, <= 0 meaning unbounded (as in
 * asyncio).  Does not allocate.  Returns 0, or -EINVAL if q is NULL or
 * item_size is 0 (q is then left untouched). */
int cr_queue_init(cr_queue *q, size_t item_size, long maxsize);

/* As cr_queue_init for a LIFO queue.  Returns the same. */
int cr_lifo_queue_init(cr_queue *q, size_t item_size, long maxsize);

/* As cr_queue_init for a priority queue ordered by cmp (smallest first;
 * items that compare equal come out in an unspecified order).  Returns 0 or
 * -EINVAL (q NULL, item_size 0 or no cmp). */
int cr_priority_queue_init(cr_queue *q, size_t item_size, long maxsize, cr_compare_fn cmp,
			   void *cmp_ctx);

/* Frees the queue's storage; it may be initialised again.  Returns 0 or
 * -EBUSY (tasks wait). */
int cr_queue_destroy(cr_queue *q);

/* Copies item into the queue, waiting for room if it is full.  Returns 0,
 * -ESHUTDOWN, -ECANCELED, -ETIMEDOUT, -ENOMEM, -EPERM outside a task when it
 * would wait. */
int cr_queue_put(cr_queue *q, const void *item);

/* Copies the next item into *out, waiting for one if the queue is empty.
 * Returns 0, -ESHUTDOWN (shut down and empty), -ECANCELED, -ETIMEDOUT,
 * -EPERM outside a task when it would wait. */
int cr_queue_get(cr_queue *q, void *out);

/* Puts without waiting.  Returns 0, -EAGAIN (full), -ESHUTDOWN, -ENOMEM. */
int cr_queue_put_nowait(cr_queue *q, const void *item);

/* Gets without waiting.  Returns 0, -EAGAIN (empty), -ESHUTDOWN (shut down
 * and empty). */
int cr_queue_get_nowait(cr_queue *q, void *out);

/* Returns the number of items in the queue. */
size_t cr_queue_qsize(cr_queue *q);

/* Returns 1 if the queue holds no item, else 0. */
int cr_queue_empty(cr_queue *q);

/* Returns 1 if the queue holds maxsize items (never for unbounded), else 0. */
int cr_queue_full(cr_queue *q);

/* Returns the capacity given at init (<= 0: unbounded). */
long cr_queue_maxsize(const cr_queue *q);

/* Marks one item taken with get as processed (for cr_queue_join).  Returns 0
 * or -EPERM if called more times than items were put. */
int cr_queue_task_done(cr_queue *q);

/* Waits until every item put has been marked with task_done.  Returns 0,
 * -ECANCELED, -ETIMEDOUT, -EPERM outside a task when it would wait. */
int cr_queue_join(cr_queue *q);

/* Shuts the queue down: puts return -ESHUTDOWN from now on, and so do gets
 * once it is empty; every waiting put and get wakes up to re-check.  With
 * immediate != 0 the items still queued are dropped (and counted as done
 * for join).  Returns 0 or -EPERM outside cr_run. */
int cr_queue_shutdown(cr_queue *q, int immediate);

#ifdef __cplusplus
}
#endif

#endif
