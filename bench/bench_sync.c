/* SPDX-License-Identifier: MIT */
/* sync/ measurements through <coring.h> only, and an uncontended pthread mutex baseline. */
#include <coring.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "bench.h"

/* ---- helpers -------------------------------------------------------------------------- */

#define MS 1000000ull

/* Returns the calling worker's counters, zeroed if they cannot be read. */
static cr_stats local_stats(void)
{
	cr_stats s;
	if (cr_stats_get(&s) != 0)
		memset(&s, 0, sizeof(s));
	return s;
}

/* Fills out with only a main value: elapsed ns divided by ops. */
static void per_op(bench_sample *out, uint64_t elapsed, uint64_t ops)
{
	memset(out, 0, sizeof(*out));
	out->value = ops ? (double)elapsed / (double)ops : 0.0;
}

/* Spawns fn(arg) on worker `worker`, or on the calling worker if worker < 0.
 * Returns 0 or the error of cr_spawn. */
static int spawn_peer(cr_task **t, cr_task_fn fn, void *arg, int worker)
{
	cr_spawn_opts o = {.name = "bench-peer"};
	if (worker >= 0) {
		if (cr_worker_count() <= (unsigned)worker)
			return -ENODEV;
		o.placement = CR_ON_WORKER;
		o.worker = (unsigned)worker;
	}
	return cr_spawn(t, fn, arg, &o);
}

/* Ends a measurement that spawned peer t: cancels t if the caller failed (r < 0), so
 * that it does not wait forever, then joins it.  Returns r if it is an error, else the
 * error of cr_join, else -EIO if the peer returned non-zero, else 0. */
static int finish_peer(cr_task *t, int r)
{
	int res = 0;
	if (r < 0)
		(void)cr_cancel(t);
	int j = cr_join(t, &res);
	if (r < 0)
		return r;
	if (j < 0)
		return j;
	return res != 0 ? -EIO : 0;
}

/* Returns the first of a, b that is an error, else 0. */
static int first_error(int a, int b)
{
	return a < 0 ? a : b < 0 ? b : 0;
}

/* ---- baseline: pthread mutex ---------------------------------------------------------- */

/* A thread that only blocks on *gate until the measurement is over.  Returns NULL. */
static void *mutex_bystander(void *arg)
{
	pthread_mutex_t *gate = arg;
	pthread_mutex_lock(gate);
	pthread_mutex_unlock(gate);
	return NULL;
}

int bench_mutex(uint64_t iters, bench_sample *out)
{
	/* glibc leaves the lock prefix out of its mutexes while the process has only one
	 * thread (x86 lowlevellock, __libc_single_threaded).  A program that needs a
	 * mutex has threads, and coring's locks are always atomic, so a second thread
	 * exists (blocked) while this runs. */
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER, mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_t th;
	pthread_mutex_lock(&gate);
	int r = pthread_create(&th, NULL, mutex_bystander, &gate);
	if (r != 0) {
		pthread_mutex_unlock(&gate);
		return -r;
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters && r == 0; i++) {
		r = pthread_mutex_lock(&mu);
		if (r == 0)
			r = pthread_mutex_unlock(&mu);
	}
	uint64_t elapsed = bench_now_ns() - t0;
	pthread_mutex_unlock(&gate);
	pthread_join(th, NULL);
	pthread_mutex_destroy(&mu);
	pthread_mutex_destroy(&gate);
	per_op(out, elapsed, iters);
	return -r;
}

/* ---- uncontended lock and semaphore --------------------------------------------------- */

int bench_lock_uncontended(uint64_t iters, bench_sample *out)
{
	cr_lock l;
	int r = 0;
	cr_lock_init(&l);
	uint64_t t0 = cr_now_ns();
	for (uint64_t i = 0; i < iters && r == 0; i++) {
		r = cr_lock_acquire(&l);
		if (r == 0)
			r = cr_lock_release(&l);
	}
	per_op(out, cr_now_ns() - t0, iters);
	return first_error(r, cr_lock_destroy(&l));
}

int bench_sem_uncontended(uint64_t iters, bench_sample *out)
{
	cr_sem s;
	int r = cr_sem_init(&s, 1);
	uint64_t t0 = cr_now_ns();
	for (uint64_t i = 0; i < iters && r == 0; i++) {
		r = cr_sem_acquire(&s);
		if (r == 0)
			r = cr_sem_release(&s);
	}
	per_op(out, cr_now_ns() - t0, iters);
	return first_error(r, cr_sem_destroy(&s));
}

/* ---- lock hand-off between two tasks ----------------------------------------------------- */

/* Two tasks, A (the measuring task) and B (its peer), taking turns on one lock. */
typedef struct handoff {
	cr_lock lock;
	uint64_t rounds;	 /* release + acquire pairs each task makes */
	int last;		 /* guarded by lock: 0 if A held it last, 1 if B */
	uint64_t handoffs;	 /* guarded by lock: times the holder changed */
	atomic_int peer_started; /* B is about to call cr_lock_acquire */
} handoff;

/* Notes that task `me` now holds the lock. */
static void handoff_take(handoff *h, int me)
{
	if (h->last != me)
		h->handoffs++;
	h->last = me;
}

/* Holding the lock, releases and re-acquires it h->rounds times, then releases it.
 * While the other task waits, every release hands the lock to it and every acquire
 * waits.  Returns 0 or the first error. */
static int handoff_rounds(handoff *h, int me)
{
	int r = 0;
	for (uint64_t i = 0; i < h->rounds && r == 0; i++) {
		r = cr_lock_release(&h->lock);
		if (r == 0)
			r = cr_lock_acquire(&h->lock);
		if (r == 0)
			handoff_take(h, me);
	}
	return first_error(r, r == 0 ? cr_lock_release(&h->lock) : 0);
}

/* Task B: waits for the lock, then takes turns with A.  Returns 0 or the first error. */
static int handoff_peer(void *arg)
{
	handoff *h = arg;
	atomic_store(&h->peer_started, 1);
	int r = cr_lock_acquire(&h->lock);
	if (r < 0)
		return r;
	handoff_take(h, 1);
	return handoff_rounds(h, 1);
}

/* Task A: holds the lock, starts B on `worker` (< 0: this worker), lets it block on the
 * lock, then takes turns with it.  value = ns per hand-off; returns the counters and
 * the hand-off count through *before, *after and *handoffs.  Returns 0 or -errno. */
static int handoff_run(uint64_t iters, int worker, cr_stats *before, cr_stats *after,
		       uint64_t *handoffs, bench_sample *out)
{
	handoff h = {.rounds = iters / 2};
	cr_task *t;
	cr_lock_init(&h.lock);
	atomic_init(&h.peer_started, 0);
	int r = cr_lock_acquire(&h.lock);
	if (r < 0)
		return r;
	r = spawn_peer(&t, handoff_peer, &h, worker);
	if (r < 0)
		return r;
	/* On this worker B runs during the yield and blocks on the lock before A resumes.
	 * On another worker, give it a moment after it says it is about to block. */
	r = cr_yield();
	while (r == 0 && !atomic_load(&h.peer_started))
		r = cr_yield();
	if (r == 0 && worker >= 0)
		r = cr_sleep(1 * MS);
	if (r == 0)
		r = worker >= 0 ? bench_xw_counters(before) : (*before = local_stats(), 0);
	uint64_t t0 = cr_now_ns();
	if (r == 0)
		r = handoff_rounds(&h, 0);
	r = finish_peer(t, r);
	uint64_t elapsed = cr_now_ns() - t0;
	if (r == 0)
		r = worker >= 0 ? bench_xw_counters(after) : (*after = local_stats(), 0);
	*handoffs = h.handoffs;
	per_op(out, elapsed, h.handoffs);
	return first_error(r, cr_lock_destroy(&h.lock));
}

int bench_lock_handoff(uint64_t iters, bench_sample *out)
{
	cr_stats a, b;
	uint64_t n = 0;
	int r = handoff_run(iters, -1, &a, &b, &n, out);
	if (r == 0 && n) {
		out->extra[0] = (double)(b.enter_calls - a.enter_calls) / (double)n;
		out->extra[1] = (double)(b.switches - a.switches) / (double)n;
		out->extra[2] = (double)n / (double)(iters / 2 * 2);
	}
	return r;
}

int bench_xw_lock_handoff(uint64_t iters, bench_sample *out)
{
	cr_stats a, b;
	uint64_t n = 0;
	int r = handoff_run(iters, 1, &a, &b, &n, out);
	if (r == 0 && n) {
		out->extra[0] = (double)(b.enter_calls - a.enter_calls) / (double)n;
		out->extra[1] = (double)(b.doorbells_sent - a.doorbells_sent) / (double)n;
		out->extra[2] = (double)n / (double)(iters / 2 * 2);
	}
	return r;
}

/* ---- event ping-pong --------------------------------------------------------------------- */

/* Two events: A sets ping and waits for pong, B the other way round. */
typedef struct event_pp {
	cr_event ping, pong;
	uint64_t rounds;
} event_pp;

/* Task B: answers every ping with a pong.  Returns 0 or the first error. */
static int event_peer(void *arg)
{
	event_pp *p = arg;
	int r = 0;
	for (uint64_t i = 0; i < p->rounds && r == 0; i++) {
		r = cr_event_wait(&p->ping);
		cr_event_clear(&p->ping);
		if (r == 0)
			r = cr_event_set(&p->pong);
	}
	return r;
}

int bench_event_rt(uint64_t iters, bench_sample *out)
{
	event_pp p = {.rounds = iters};
	cr_task *t;
	cr_event_init(&p.ping);
	cr_event_init(&p.pong);
	int r = spawn_peer(&t, event_peer, &p, -1);
	if (r < 0)
		return r;
	uint64_t t0 = cr_now_ns();
	for (uint64_t i = 0; i < iters && r == 0; i++) {
		r = cr_event_set(&p.ping);
		if (r == 0)
			r = cr_event_wait(&p.pong);
		cr_event_clear(&p.pong);
	}
	r = finish_peer(t, r);
	per_op(out, cr_now_ns() - t0, iters);
	return first_error(r, first_error(cr_event_destroy(&p.ping), cr_event_destroy(&p.pong)));
}

/* ---- condition ping-pong ----------------------------------------------------------------- */

/* A condition with its own lock and a flag it guards: A sets 1, B sets 0, A sets 2 to stop. */
typedef struct cond_pp {
	cr_cond cond;
	int flag;
} cond_pp;

/* Task B: waits for the flag to become 1, sets it back to 0 and notifies, until it is 2.
 * Returns 0 or the first error. */
static int cond_peer(void *arg)
{
	cond_pp *p = arg;
	int r = cr_cond_acquire(&p->cond);
	if (r < 0)
		return r;
	for (;;) {
		while (r == 0 && p->flag == 0)
			r = cr_cond_wait(&p->cond);
		if (r < 0 || p->flag == 2)
			break;
		p->flag = 0;
		r = cr_cond_notify(&p->cond, 1);
		r = r < 0 ? r : 0;
	}
	return first_error(r, cr_cond_release(&p->cond));
}

int bench_cond_rt(uint64_t iters, bench_sample *out)
{
	cond_pp p = {.flag = 0};
	cr_task *t;
	cr_cond_init(&p.cond, NULL);
	int r = spawn_peer(&t, cond_peer, &p, -1);
	if (r < 0)
		return r;
	uint64_t t0 = cr_now_ns();
	r = cr_cond_acquire(&p.cond);
	if (r == 0) {
		for (uint64_t i = 0; i < iters && r == 0; i++) {
			p.flag = 1;
			r = cr_cond_notify(&p.cond, 1);
			r = r < 0 ? r : 0;
			while (r == 0 && p.flag != 0)
				r = cr_cond_wait(&p.cond); /* holds the lock again on return */
		}
		p.flag = 2;
		int n = cr_cond_notify(&p.cond, 1);
		r = first_error(r, first_error(n, cr_cond_release(&p.cond)));
	}
	r = finish_peer(t, r);
	per_op(out, cr_now_ns() - t0, iters);
	return first_error(r, cr_cond_destroy(&p.cond));
}

/* ---- queues ------------------------------------------------------------------------------ */

/* Queues of uint64_t between A and B: `fwd` from A to B, `back` from B to A. */
typedef struct queue_pp {
	cr_queue fwd, back;
	uint64_t n; /* items (round trips or items passed) */
} queue_pp;

/* Task B of the ping-pong: returns each item through `back`.  Returns 0 or -errno. */
static int queue_echo(void *arg)
{
	queue_pp *p = arg;
	int r = 0;
	for (uint64_t i = 0; i < p->n && r == 0; i++) {
		uint64_t v;
		r = cr_queue_get(&p->fwd, &v);
		if (r == 0)
			r = cr_queue_put(&p->back, &v);
	}
	return r;
}

int bench_queue_pingpong(uint64_t iters, bench_sample *out)
{
	queue_pp p = {.n = iters};
	cr_task *t;
	int r = cr_queue_init(&p.fwd, sizeof(uint64_t), 1);
	if (r == 0)
		r = cr_queue_init(&p.back, sizeof(uint64_t), 1);
	if (r == 0)
		r = spawn_peer(&t, queue_echo, &p, -1);
	if (r < 0)
		return r;
	uint64_t t0 = cr_now_ns();
	for (uint64_t i = 0; i < iters && r == 0; i++) {
		uint64_t v = i;
		r = cr_queue_put(&p.fwd, &v);
		if (r == 0)
			r = cr_queue_get(&p.back, &v);
		if (r == 0 && v != i)
			r = -EPROTO;
	}
	r = finish_peer(t, r);
	per_op(out, cr_now_ns() - t0, iters);
	return first_error(r, first_error(cr_queue_destroy(&p.fwd), cr_queue_destroy(&p.back)));
}

/* The producer: puts 0 .. n-1 into `fwd`.  Returns 0 or -errno. */
static int queue_producer(void *arg)
{
	queue_pp *p = arg;
	int r = 0;
	for (uint64_t i = 0; i < p->n && r == 0; i++)
		r = cr_queue_put(&p->fwd, &i);
	return r;
}

/* The consumer: gets n items from `fwd` and checks they come in order.  Returns 0,
 * -EPROTO if one is out of order, or -errno. */
static int queue_consumer(void *arg)
{
	queue_pp *p = arg;
	int r = 0;
	for (uint64_t i = 0; i < p->n && r == 0; i++) {
		uint64_t v;
		r = cr_queue_get(&p->fwd, &v);
		if (r == 0 && v != i)
			r = -EPROTO;
	}
	return r;
}

#define THROUGHPUT_CAPACITY 1024

/* The calling task as producer and a consumer task (on `worker`, < 0: this one) pass
 * iters items through one queue of capacity 1024.  value = ns per item; *before and
 * *after get the counters.  Returns 0 or -errno. */
static int queue_stream(uint64_t iters, int worker, cr_stats *before, cr_stats *after,
			bench_sample *out)
{
	queue_pp p = {.n = iters};
	cr_task *t;
	int r = cr_queue_init(&p.fwd, sizeof(uint64_t), THROUGHPUT_CAPACITY);
	if (r == 0)
		r = worker >= 0 ? bench_xw_counters(before) : (*before = local_stats(), 0);
	uint64_t t0 = cr_now_ns();
	if (r == 0)
		r = spawn_peer(&t, queue_consumer, &p, worker);
	if (r < 0)
		return r;
	r = finish_peer(t, queue_producer(&p));
	uint64_t elapsed = cr_now_ns() - t0;
	if (r == 0)
		r = worker >= 0 ? bench_xw_counters(after) : (*after = local_stats(), 0);
	per_op(out, elapsed, iters);
	return first_error(r, cr_queue_destroy(&p.fwd));
}

int bench_queue_throughput(uint64_t iters, bench_sample *out)
{
	cr_stats a, b;
	int r = queue_stream(iters, -1, &a, &b, out);
	if (r == 0) {
		out->extra[0] = (double)(b.enter_calls - a.enter_calls) / (double)iters;
		out->extra[1] = (double)(b.switches - a.switches) / (double)iters;
	}
	return r;
}

int bench_xw_queue_throughput(uint64_t iters, bench_sample *out)
{
	cr_stats a, b;
	int r = queue_stream(iters, 1, &a, &b, out);
	if (r == 0) {
		out->extra[0] = (double)(b.enter_calls - a.enter_calls) / (double)iters;
		out->extra[1] = (double)(b.wakeups_sent - a.wakeups_sent) / (double)iters;
		out->extra[2] = (double)(b.doorbells_sent - a.doorbells_sent) / (double)iters;
	}
	return r;
}
