/* SPDX-License-Identifier: MIT */
/* Cancellation and deadline races across workers: no broken exclusion, lost permit or lost item. */
#include <stdatomic.h>
#include <unistd.h>

#define SCALE_DOWN 4u /* scaled() divides by this */
#include "xthread_cases.h"

#if defined(STRESS_SMALL)
#define ITERS 20000u /* waits per victim (a quarter with more workers than CPUs) */
#else
#define ITERS 25000u
#endif
#if defined(STRESS_SMALL)
#define PASSON_ROUNDS 2000u /* rounds of each pass-on race */
#else
#define PASSON_ROUNDS 3000u
#endif
#define VICTIMS_PER_WORKER 4u
#define MAX_VICTIMS (VICTIMS_PER_WORKER * CR_MAX_WORKERS)
#define US 1000ull

/* ---- helpers ---------------------------------------------------------------------------- */

/* Waits per victim in this run: ITERS, or a quarter of it when there are
 * more workers than CPUs (every hand-off then waits for the kernel to
 * schedule the right thread). */
static unsigned iters;

/* ---- victims and the canceller ------------------------------------------------------------- */

/*
 * Every victim has a `pending` flag: the canceller sets it, then calls
 * cr_cancel, and only cancels a victim again once the victim saw the
 * -ECANCELED and cleared the flag.  So every cancel is delivered exactly
 * once, and an -ECANCELED without the flag set is a spurious one.  Victims
 * stay alive (yielding) until the canceller has finished and their flag is
 * clear, so that the canceller never cancels a finished task.
 */
typedef struct victim {
	cr_task *task;		 /* handle (joined by main) */
	_Atomic int pending;	 /* 1 from before cr_cancel until the victim saw -ECANCELED */
	_Atomic uint64_t issued; /* cancels sent to it */
	uint64_t seen;		 /* -ECANCELED it got (its own field) */
	uint64_t timeouts;	 /* -ETIMEDOUT it got */
	uint64_t ok;		 /* waits that succeeded */
	unsigned id;		 /* 1.. */
	unsigned worker;	 /* where it runs */
	uint64_t rng;		 /* generator */
	void *ctx;		 /* the scenario's shared state */
} victim;

typedef struct arena {
	victim v[MAX_VICTIMS];	   /* the victims */
	unsigned n;		   /* how many */
	_Atomic unsigned finished; /* victims done with their loop */
	_Atomic int cancel_over;   /* 1 once the canceller sent its last cancel */
	_Atomic uint64_t cancels;  /* cancels sent in all */
} arena;

/* Accounts for the result r of a wait made by v (inside a deadline scope if
 * timed); returns r. */
static int note(victim *v, int r, int timed)
{
	if (r == -ECANCELED) {
		CHECK_MSG(atomic_load(&v->pending) == 1, "victim %u: -ECANCELED nobody asked for",
			  v->id);
		v->seen++;
		atomic_store(&v->pending, 0);
	} else if (r == -ETIMEDOUT) {
		CHECK_MSG(timed, "victim %u: -ETIMEDOUT outside a deadline scope", v->id);
		v->timeouts++;
	} else {
		CHECK_EQ_INT(r, 0);
	}
	return r;
}

/* A yield inside a section: may only be cancelled. */
static void section_yield(victim *v)
{
	note(v, cr_yield(), 0);
}

/* End of a victim: signs off, then stays until every cancel it was sent arrived. */
static void victim_end(arena *a, victim *v)
{
	uint64_t t0 = cr_now_ns();
	unsigned idle = 0;
	atomic_fetch_add(&a->finished, 1);
	while (!atomic_load(&a->cancel_over) || atomic_load(&v->pending)) {
		if (!atomic_load(&a->cancel_over))
			t0 = cr_now_ns(); /* counts from the last cancel sent */
		CHECK_MSG(cr_now_ns() - t0 < 20000000000ull,
			  "victim %u: a cancel sent 20 s ago never arrived", v->id);
		if (++idle % 64 == 0)
			note(v, cr_sleep(10 * US), 0);
		else
			note(v, cr_yield(), 0);
	}
	CHECK_EQ_U64(v->seen, atomic_load(&v->issued));
}

/* Cancels random victims until all of them finished their loop. */
static int canceller(void *arg)
{
	arena *a = arg;
	uint64_t rng = 0xc0ffee0ddf00dull;
	while (atomic_load(&a->finished) < a->n) {
		victim *v = &a->v[rnd(&rng) % a->n];
		int expect = 0;
		if (atomic_compare_exchange_strong(&v->pending, &expect, 1)) {
			atomic_fetch_add(&v->issued, 1);
			atomic_fetch_add(&a->cancels, 1);
			CHECK_EQ_INT(cr_cancel(v->task), 0);
		}
		uint64_t d = rnd(&rng) % 4;
		if (d == 0)
			CHECK_EQ_INT(cr_sleep(rnd(&rng) % (30 * US)), 0);
		else
			CHECK_EQ_INT(cr_yield(), 0);
	}
	atomic_store(&a->cancel_over, 1);
	return 0;
}

/* Enters a deadline scope of 0..50 us around the next wait half of the time;
 * returns 1 if it did. */
static int maybe_timeout(victim *v, cr_deadline *d)
{
	if (rnd(&v->rng) % 2)
		return 0;
	CHECK_EQ_INT(cr_timeout_enter(d, rnd(&v->rng) % (50 * US)), 0);
	return 1;
}

/* Leaves the scope entered by maybe_timeout.  A wait that timed out charges
 * the scope; one that did not may still find it expired (the deadline fired
 * as the wait completed, as asyncio.Timeout.expired() says then). */
static void end_timeout(cr_deadline *d, int timed, int r)
{
	if (!timed)
		return;
	int x = cr_deadline_exit(d);
	CHECK_MSG(x == 1 || (x == 0 && r != -ETIMEDOUT),
		  "cr_deadline_exit returned %d after a wait that returned %d", x, r);
}

/* Where the tasks go: victims on `victim_workers`, the releaser on worker
 * 0, the canceller on `canceller_worker`. */
typedef struct layout {
	unsigned victim_workers[CR_MAX_WORKERS]; /* workers hosting victims */
	unsigned n_victim_workers;		 /* how many */
	unsigned canceller_worker;		 /* where the canceller runs */
} layout;

static layout make_layout(void)
{
	layout l = {{0}, 0, 0};
	unsigned nw = cr_worker_count();
	if (nw == 1) {
		l.victim_workers[l.n_victim_workers++] = 0;
		return l;
	}
	/* Canceller on the last worker, victims on the rest but 0 (the releaser's);
	 * with two workers, victims and canceller share worker 1. */
	l.canceller_worker = nw - 1;
	for (unsigned w = 1; w < nw; w++)
		if (w != l.canceller_worker || nw == 2)
			l.victim_workers[l.n_victim_workers++] = w;
	return l;
}

/* Spawns the victims running fn on their workers and the canceller. */
static cr_task *start(arena *a, const layout *l, cr_task_fn fn, void *ctx, const char *name)
{
	cr_task *ct;
	a->n = VICTIMS_PER_WORKER * l->n_victim_workers;
	for (unsigned i = 0; i < a->n; i++) {
		victim *v = &a->v[i];
		v->id = i + 1;
		v->worker = l->victim_workers[i % l->n_victim_workers];
		v->rng = 0x9e3779b97f4a7c15ull * (i + 7);
		v->ctx = ctx;
		cr_spawn_opts o = on_worker(v->worker, name);
		CHECK_OK(cr_spawn(&v->task, fn, v, &o));
	}
	cr_spawn_opts oc = on_worker(l->canceller_worker, "canceller");
	CHECK_OK(cr_spawn(&ct, canceller, a, &oc));
	return ct;
}

/* Joins the victims and the canceller; returns the victims' totals. */
static void finish(arena *a, cr_task *ct, uint64_t *ok, uint64_t *cancelled, uint64_t *timeouts)
{
	*ok = *cancelled = *timeouts = 0;
	for (unsigned i = 0; i < a->n; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(a->v[i].task, &res), 0);
		CHECK_EQ_INT(res, 0);
		*ok += a->v[i].ok;
		*cancelled += a->v[i].seen;
		*timeouts += a->v[i].timeouts;
	}
	CHECK_EQ_INT(cr_join(ct, NULL), 0);
	CHECK_EQ_U64(*cancelled, atomic_load(&a->cancels));
}

/* One idle poll: a yield, and a short sleep every 64 in a row. */
static void idle_step(unsigned *idle)
{
	if (++*idle % 64 == 0)
		CHECK_EQ_INT(cr_sleep(20 * US), 0);
	else
		CHECK_EQ_INT(cr_yield(), 0);
}

/* ---- Lock ----------------------------------------------------------------------------------- */

typedef struct lk {
	arena a;			     /* victims */
	cr_lock lock;			     /* the lock under test */
	uint64_t counter;		     /* plain: touched with the lock held */
	_Atomic int owner;		     /* id of the holder, 0 if free */
	_Atomic int handed;		     /* id of a holder that left the release to worker 0 */
	_Atomic uint64_t releases_elsewhere; /* releases made by worker 0's releaser */
} lk;

static void lk_enter(lk *s, victim *v)
{
	int prev = atomic_exchange(&s->owner, (int)v->id);
	CHECK_MSG(prev == 0, "victim %u got the lock while victim %d held it", v->id, prev);
	s->counter++;
}

static int lk_victim(void *arg)
{
	victim *v = arg;
	lk *s = v->ctx;
	CHECK_EQ_INT(cr_worker_id(), (int)v->worker);
	for (unsigned i = 0; i < iters; i++) {
		cr_deadline d;
		int timed = maybe_timeout(v, &d);
		int r = note(v, cr_lock_acquire(&s->lock), timed);
		end_timeout(&d, timed, r);
		if (r != 0)
			continue;
		v->ok++;
		lk_enter(s, v);
		if (rnd(&v->rng) % 8 == 0)
			section_yield(v);
		CHECK_EQ_INT(atomic_load(&s->owner), (int)v->id);
		if (rnd(&v->rng) % 4 == 0) {
			/* Leave the release to the other worker; our next acquire waits for it. */
			CHECK_EQ_INT(atomic_exchange(&s->handed, (int)v->id), 0);
		} else {
			CHECK_EQ_INT(atomic_exchange(&s->owner, 0), (int)v->id);
			CHECK_EQ_INT(cr_lock_release(&s->lock), 0);
		}
	}
	victim_end(&s->a, v);
	return 0;
}

static int lk_releaser(void *arg)
{
	lk *s = arg;
	unsigned idle = 0;
	for (;;) {
		int over = atomic_load(&s->a.finished) == s->a.n;
		int id = atomic_exchange(&s->handed, 0);
		if (id) {
			CHECK_EQ_INT(atomic_exchange(&s->owner, 0), id);
			atomic_fetch_add(&s->releases_elsewhere, 1);
			CHECK_EQ_INT(cr_lock_release(&s->lock), 0);
			idle = 0;
		} else if (over) {
			return 0;
		} else {
			idle_step(&idle);
		}
	}
}

static void run_lock(void)
{
	static lk s;
	layout l = make_layout();
	cr_task *rt;
	uint64_t ok, cancelled, timeouts;
	memset(&s, 0, sizeof(s));
	cr_lock_init(&s.lock);
	uint64_t t0 = cr_now_ns();
	cr_spawn_opts orl = on_worker(0, "releaser");
	CHECK_OK(cr_spawn(&rt, lk_releaser, &s, &orl));
	cr_task *ct = start(&s.a, &l, lk_victim, &s, "lock-victim");
	finish(&s.a, ct, &ok, &cancelled, &timeouts);
	CHECK_EQ_INT(cr_join(rt, NULL), 0);
	CHECK_EQ_U64(s.counter, ok);
	CHECK_EQ_INT(atomic_load(&s.owner), 0);
	/* Nobody holds it and nobody waits: it is free for the taking. */
	CHECK_EQ_INT(cr_lock_locked(&s.lock), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&s.lock), 0);
	CHECK_EQ_INT(cr_lock_release(&s.lock), 0);
	CHECK_EQ_INT(cr_lock_destroy(&s.lock), 0);
	printf("lock workers=%u victims=%u: %llu acquired (%llu released on worker 0), %llu "
	       "cancelled, %llu timed out, in %.1f ms\n",
	       cr_worker_count(), s.a.n, (unsigned long long)ok,
	       (unsigned long long)atomic_load(&s.releases_elsewhere),
	       (unsigned long long)cancelled, (unsigned long long)timeouts,
	       (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- BoundedSemaphore ---------------------------------------------------------------------- */

#define SEM_K 2

typedef struct sm {
	arena a;			     /* victims */
	cr_sem sem;			     /* BoundedSemaphore(SEM_K) */
	_Atomic int64_t inside;		     /* permits held */
	_Atomic int64_t max_in;		     /* most held at once */
	_Atomic int64_t handed;		     /* permits left to worker 0 to release */
	_Atomic uint64_t releases_elsewhere; /* releases made there */
} sm;

static int sm_victim(void *arg)
{
	victim *v = arg;
	sm *s = v->ctx;
	CHECK_EQ_INT(cr_worker_id(), (int)v->worker);
	for (unsigned i = 0; i < iters; i++) {
		cr_deadline d;
		int timed = maybe_timeout(v, &d);
		int r = note(v, cr_sem_acquire(&s->sem), timed);
		end_timeout(&d, timed, r);
		if (r != 0)
			continue;
		v->ok++;
		int64_t in = atomic_fetch_add(&s->inside, 1) + 1;
		CHECK_MSG(in <= SEM_K, "%lld permits held of a BoundedSemaphore(%d)", (long long)in,
			  SEM_K);
		int64_t m = atomic_load(&s->max_in);
		while (m < in && !atomic_compare_exchange_weak(&s->max_in, &m, in))
			;
		if (rnd(&v->rng) % 8 == 0)
			section_yield(v);
		if (rnd(&v->rng) % 4 == 0) {
			atomic_fetch_add(&s->handed, 1);
		} else {
			atomic_fetch_sub(&s->inside, 1);
			CHECK_EQ_INT(cr_sem_release(&s->sem), 0); /* never an over-release */
		}
	}
	victim_end(&s->a, v);
	return 0;
}

static int sm_releaser(void *arg)
{
	sm *s = arg;
	unsigned idle = 0;
	for (;;) {
		int over = atomic_load(&s->a.finished) == s->a.n;
		int64_t h = atomic_load(&s->handed);
		if (h > 0) {
			if (!atomic_compare_exchange_strong(&s->handed, &h, h - 1))
				continue;
			atomic_fetch_sub(&s->inside, 1);
			atomic_fetch_add(&s->releases_elsewhere, 1);
			CHECK_EQ_INT(cr_sem_release(&s->sem), 0);
			idle = 0;
		} else if (over) {
			return 0;
		} else {
			idle_step(&idle);
		}
	}
}

static void run_sem(void)
{
	static sm s;
	layout l = make_layout();
	cr_task *rt;
	uint64_t ok, cancelled, timeouts;
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(cr_bounded_sem_init(&s.sem, SEM_K), 0);
	uint64_t t0 = cr_now_ns();
	cr_spawn_opts orl = on_worker(0, "releaser");
	CHECK_OK(cr_spawn(&rt, sm_releaser, &s, &orl));
	cr_task *ct = start(&s.a, &l, sm_victim, &s, "sem-victim");
	finish(&s.a, ct, &ok, &cancelled, &timeouts);
	CHECK_EQ_INT(cr_join(rt, NULL), 0);
	CHECK_EQ_INT(atomic_load(&s.inside), 0);
	CHECK_EQ_INT(atomic_load(&s.handed), 0);
	/* No permit lost or made up: the value is back to SEM_K, SEM_K try_acquires
	 * succeed without waiting and one more does not; over-release refused. */
	CHECK_EQ_INT(cr_sem_value(&s.sem), SEM_K);
	for (int i = 0; i < SEM_K; i++)
		CHECK_EQ_INT(cr_sem_try_acquire(&s.sem), 0);
	CHECK_EQ_INT(cr_sem_try_acquire(&s.sem), -EAGAIN);
	for (int i = 0; i < SEM_K; i++)
		CHECK_EQ_INT(cr_sem_release(&s.sem), 0);
	CHECK_EQ_INT(cr_sem_release(&s.sem), -EPERM);
	CHECK_EQ_INT(cr_sem_value(&s.sem), SEM_K);
	CHECK_EQ_INT(cr_sem_destroy(&s.sem), 0);
	printf("BoundedSemaphore(%d) workers=%u victims=%u: %llu acquired (%llu released on "
	       "worker 0), at most %lld held, %llu cancelled, %llu timed out, in %.1f ms\n",
	       SEM_K, cr_worker_count(), s.a.n, (unsigned long long)ok,
	       (unsigned long long)atomic_load(&s.releases_elsewhere),
	       (long long)atomic_load(&s.max_in), (unsigned long long)cancelled,
	       (unsigned long long)timeouts, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- Queue ---------------------------------------------------------------------------------- */

/*
 * Producers (even victims) put items numbered (producer, attempt); consumers
 * (odd victims) get them; both are cancelled and time out.  An item whose
 * put returned 0 must be got exactly once or still be in the queue at the
 * end; an item whose put failed must never appear.
 */
typedef struct qu {
	arena a;			 /* victims */
	cr_queue q;			 /* the queue */
	int stop_at_flag;		 /* 1: consumers stop on `stop` (items stay queued) */
	_Atomic int stop;		 /* consumers leave */
	_Atomic uint8_t *put_ok;	 /* per item: 1 if its put returned 0 */
	_Atomic uint8_t *got;		 /* per item: times got */
	_Atomic unsigned producers_done; /* producers through their loop */
	unsigned producers;		 /* how many */
} qu;

typedef struct qitem {
	uint32_t pid; /* producer's victim index */
	uint32_t n;   /* attempt number */
} qitem;

static int qu_victim(void *arg)
{
	victim *v = arg;
	qu *s = v->ctx;
	unsigned idx = v->id - 1;
	CHECK_EQ_INT(cr_worker_id(), (int)v->worker);
	if (idx % 2 == 0) {
		for (uint32_t i = 0; i < iters; i++) {
			qitem it = {.pid = idx, .n = i};
			cr_deadline d;
			int timed = maybe_timeout(v, &d);
			int r = cr_queue_put(&s->q, &it);
			CHECK_MSG(r != -ESHUTDOWN, "put: shut down before the producers finished");
			note(v, r, timed);
			end_timeout(&d, timed, r);
			if (r == 0) {
				v->ok++;
				atomic_store(&s->put_ok[idx * iters + i], 1);
			}
		}
		atomic_fetch_add(&s->producers_done, 1);
	} else {
		uint32_t last[MAX_VICTIMS];
		memset(last, 0xff, sizeof(last));
		while (!(s->stop_at_flag && atomic_load(&s->stop))) {
			qitem it;
			cr_deadline d;
			int timed = maybe_timeout(v, &d);
			int r = cr_queue_get(&s->q, &it);
			end_timeout(&d, timed, r);
			if (r == -ESHUTDOWN)
				break;
			note(v, r, timed);
			if (r != 0)
				continue;
			v->ok++;
			CHECK_MSG(it.pid < s->a.n && it.pid % 2 == 0 && it.n < iters,
				  "garbage item {%u, %u}", it.pid, it.n);
			/* Read the producers' count first: a producer marks put_ok
			 * before it counts itself done, so once all are done every
			 * put_ok is final (read in the other order, a producer could
			 * mark and finish between the two reads). */
			int all_done = atomic_load(&s->producers_done) == s->producers;
			CHECK_MSG(!all_done || atomic_load(&s->put_ok[it.pid * iters + it.n]),
				  "item {%u, %u} got though its put failed", it.pid, it.n);
			unsigned prev = atomic_fetch_add(&s->got[it.pid * iters + it.n], 1);
			CHECK_MSG(prev == 0, "item {%u, %u} got %u times", it.pid, it.n, prev + 1);
			CHECK_MSG(last[it.pid] == UINT32_MAX || it.n > last[it.pid],
				  "consumer %u: {%u, %u} after {%u, %u}", v->id, it.pid, it.n,
				  it.pid, last[it.pid]);
			last[it.pid] = it.n;
			CHECK_EQ_INT(cr_queue_task_done(&s->q), 0);
		}
	}
	victim_end(&s->a, v);
	return 0;
}

static void run_queue(long maxsize, int stop_at_flag)
{
	static qu s;
	layout l = make_layout();
	uint64_t ok, cancelled, timeouts;
	memset(&s, 0, sizeof(s));
	s.stop_at_flag = stop_at_flag;
	CHECK_EQ_INT(cr_queue_init(&s.q, sizeof(qitem), maxsize), 0);
	size_t nv = VICTIMS_PER_WORKER * l.n_victim_workers;
	s.put_ok = calloc(nv * iters, 1);
	s.got = calloc(nv * iters, 1);
	CHECK(s.put_ok && s.got);
	s.producers = (VICTIMS_PER_WORKER * l.n_victim_workers + 1) / 2;
	uint64_t t0 = cr_now_ns();
	cr_task *ct = start(&s.a, &l, qu_victim, &s, "queue-victim");
	CHECK_EQ_U64(s.producers, (s.a.n + 1) / 2);
	CHECK_WAIT_UNTIL(atomic_load(&s.producers_done) == s.producers, "the producers");
	if (stop_at_flag) {
		/* The consumers leave with items still queued; shutdown wakes any
		 * that waits on the (then empty) queue. */
		atomic_store(&s.stop, 1);
	}
	CHECK_EQ_INT(cr_queue_shutdown(&s.q, 0), 0);
	finish(&s.a, ct, &ok, &cancelled, &timeouts);
	/* What is left in the queue. */
	uint64_t left = 0;
	qitem it;
	int r;
	while ((r = cr_queue_get_nowait(&s.q, &it)) == 0) {
		unsigned prev = atomic_fetch_add(&s.got[it.pid * iters + it.n], 1);
		CHECK_MSG(prev == 0, "item {%u, %u} left in the queue but got before", it.pid,
			  it.n);
		CHECK_EQ_INT(cr_queue_task_done(&s.q), 0);
		left++;
	}
	CHECK_EQ_INT(r, -ESHUTDOWN);
	uint64_t put = 0, got = 0;
	for (unsigned p = 0; p < s.a.n; p += 2)
		for (unsigned i = 0; i < iters; i++) {
			unsigned po = atomic_load(&s.put_ok[p * iters + i]);
			unsigned g = atomic_load(&s.got[p * iters + i]);
			CHECK_MSG(po == g, "item {%u, %u}: put %s, got or left %u times", p, i,
				  po ? "ok" : "failed", g);
			put += po;
			got += g;
		}
	CHECK_EQ_U64(put, got);
	CHECK_EQ_INT(cr_queue_join(&s.q), 0); /* every item accounted for */
	CHECK_EQ_INT(cr_queue_destroy(&s.q), 0);
	printf("queue(maxsize=%ld%s) workers=%u victims=%u: %llu items put, %llu got by "
	       "consumers, %llu left queued; %llu waits ok, %llu cancelled, %llu timed out, in "
	       "%.1f ms\n",
	       maxsize, stop_at_flag ? ", consumers leave early" : "", cr_worker_count(), s.a.n,
	       (unsigned long long)put, (unsigned long long)(got - left), (unsigned long long)left,
	       (unsigned long long)ok, (unsigned long long)cancelled, (unsigned long long)timeouts,
	       (double)(cr_now_ns() - t0) / 1e6);
	free(s.put_ok);
	free(s.got);
}

/* ---- Condition: the lock is held after every return -------------------------------------- */

typedef struct cv {
	arena a;		   /* victims */
	cr_cond cond;		   /* the condition */
	_Atomic int owner;	   /* id of the lock holder, 0 if none */
	_Atomic uint64_t notified; /* sum of notify results */
	_Atomic uint64_t woke;	   /* waits that returned 0 */
} cv;

static int cv_victim(void *arg)
{
	victim *v = arg;
	cv *s = v->ctx;
	CHECK_EQ_INT(cr_worker_id(), (int)v->worker);
	for (unsigned i = 0; i < iters / 4; i++) {
		/* Taking the lock itself can be cancelled too; no deadline here. */
		if (note(v, cr_cond_acquire(&s->cond), 0) != 0)
			continue;
		CHECK_EQ_INT(atomic_exchange(&s->owner, (int)v->id), 0);
		CHECK_EQ_INT(atomic_exchange(&s->owner, 0), (int)v->id);
		cr_deadline d;
		int timed = maybe_timeout(v, &d);
		int r = note(v, cr_cond_wait(&s->cond), timed);
		end_timeout(&d, timed, r);
		/* Whatever the result, the lock is ours again. */
		CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&s->cond)), 1);
		int prev = atomic_exchange(&s->owner, (int)v->id);
		CHECK_MSG(prev == 0,
			  "victim %u back from cr_cond_wait (%d) while %d holds the lock", v->id, r,
			  prev);
		if (r == 0) {
			v->ok++;
			atomic_fetch_add(&s->woke, 1);
		}
		CHECK_EQ_INT(atomic_exchange(&s->owner, 0), (int)v->id);
		CHECK_EQ_INT(cr_cond_release(&s->cond), 0);
	}
	victim_end(&s->a, v);
	return 0;
}

static int cv_notifier(void *arg)
{
	cv *s = arg;
	uint64_t rng = 0xabcdef12345ull;
	while (atomic_load(&s->a.finished) < s->a.n) {
		CHECK_EQ_INT(cr_cond_acquire(&s->cond), 0);
		CHECK_EQ_INT(atomic_exchange(&s->owner, -1), 0);
		int k = rnd(&rng) % 8 == 0 ? cr_cond_notify_all(&s->cond)
					   : cr_cond_notify(&s->cond, 1);
		CHECK_GE_INT(k, 0);
		atomic_fetch_add(&s->notified, (uint64_t)k);
		CHECK_EQ_INT(atomic_exchange(&s->owner, 0), -1);
		CHECK_EQ_INT(cr_cond_release(&s->cond), 0);
		if (rnd(&rng) % 4 == 0)
			CHECK_EQ_INT(cr_sleep(rnd(&rng) % (20 * US)), 0);
		else
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return 0;
}

static void run_cond(void)
{
	static cv s;
	layout l = make_layout();
	cr_task *nt;
	uint64_t ok, cancelled, timeouts;
	memset(&s, 0, sizeof(s));
	cr_cond_init(&s.cond, NULL);
	uint64_t t0 = cr_now_ns();
	cr_spawn_opts on = on_worker(0, "notifier");
	CHECK_OK(cr_spawn(&nt, cv_notifier, &s, &on));
	cr_task *ct = start(&s.a, &l, cv_victim, &s, "cond-victim");
	finish(&s.a, ct, &ok, &cancelled, &timeouts);
	CHECK_EQ_INT(cr_join(nt, NULL), 0);
	CHECK_EQ_INT(atomic_load(&s.owner), 0);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&s.cond)), 0);
	CHECK_EQ_INT(cr_cond_acquire(&s.cond), 0);
	CHECK_EQ_INT(cr_cond_notify_all(&s.cond), 0); /* nobody left waiting */
	CHECK_EQ_INT(cr_cond_release(&s.cond), 0);
	CHECK_EQ_INT(cr_cond_destroy(&s.cond), 0);
	printf("condition workers=%u victims=%u: %llu notified, %llu woke, %llu cancelled, %llu "
	       "timed out, lock held after every return, in %.1f ms\n",
	       cr_worker_count(), s.a.n, (unsigned long long)atomic_load(&s.notified),
	       (unsigned long long)atomic_load(&s.woke), (unsigned long long)cancelled,
	       (unsigned long long)timeouts, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- a woken waiter cancelled before it runs passes the wake-up on ------------------------ */

/*
 * Rounds of one precise race: waiter A, then waiter B wait on a primitive
 * (B with a long deadline that only a lost wake-up can reach); worker 0
 * makes one wake-up (lock release, semaphore release, notify(1), put)
 * while A is cancelled (or its deadline expires) from another worker at
 * nearly the same moment.  Whatever the interleaving, B must get the
 * wake-up: directly (A was cancelled first), passed on by A (woken, then
 * cancelled before it ran), or from A itself (A won, used it and passed the
 * lock, permit, notification or item on by hand).
 */
enum po_kind { PO_LOCK, PO_SEM, PO_COND, PO_QUEUE, PO_KINDS };

static const char *const po_names[PO_KINDS] = {"lock", "semaphore", "condition", "queue"};

typedef struct po {
	int kind;		/* enum po_kind */
	cr_lock lock;		/* PO_LOCK */
	cr_sem sem;		/* PO_SEM: Semaphore(0) */
	cr_cond cond;		/* PO_COND */
	cr_queue q;		/* PO_QUEUE: unbounded */
	_Atomic int a_in, b_in; /* the waiters are about to wait */
	_Atomic unsigned go;	/* round whose wake-up is being made now */
	_Atomic unsigned done;	/* round whose cancel was made */
	_Atomic int stop;	/* ends the canceller */
	uint64_t a_timeout;	/* A's deadline scope (0: none) */
	int cancel_a;		/* 1: the canceller cancels A this round */
	unsigned delay;		/* canceller's spin before cancelling */
	cr_task *a;		/* waiter A */
	int a_res, b_res;	/* their results */
	int passed_by_hand;	/* 1: A won and passed it on itself */
} po;

#define PO_B_TIMEOUT (10000000000ull) /* B's deadline: only a lost wake-up reaches it */

/* A waiter: A (first) or B; returns the result of its wait. */
static int po_wait(po *s, int is_b)
{
	cr_deadline d;
	uint64_t timeout = is_b ? PO_B_TIMEOUT : s->a_timeout;
	_Atomic int *in = is_b ? &s->b_in : &s->a_in;
	int r = 0, x;
	switch (s->kind) {
	case PO_LOCK:
	case PO_SEM:
		if (timeout)
			CHECK_EQ_INT(cr_timeout_enter(&d, timeout), 0);
		atomic_store(in, 1);
		r = s->kind == PO_LOCK ? cr_lock_acquire(&s->lock) : cr_sem_acquire(&s->sem);
		break;
	case PO_COND:
		CHECK_EQ_INT(cr_cond_acquire(&s->cond), 0);
		atomic_store(in, 1); /* the notifier gets the lock once we wait */
		if (timeout)
			CHECK_EQ_INT(cr_timeout_enter(&d, timeout), 0);
		r = cr_cond_wait(&s->cond);
		CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&s->cond)), 1);
		break;
	default: {
		qitem it;
		if (timeout)
			CHECK_EQ_INT(cr_timeout_enter(&d, timeout), 0);
		atomic_store(in, 1);
		r = cr_queue_get(&s->q, &it);
		if (r == 0)
			CHECK_EQ_U64(it.n, 42);
		break;
	}
	}
	if (timeout) {
		x = cr_deadline_exit(&d);
		CHECK_MSG(x == 1 || r != -ETIMEDOUT, "deadline not charged after -ETIMEDOUT");
	}
	return r;
}

/* Gives what a successful wait got to the next waiter (A) or keeps it (B). */
static void po_after(po *s, int is_b, int r)
{
	qitem it = {0, 42};
	switch (s->kind) {
	case PO_LOCK:
		if (r == 0)
			CHECK_EQ_INT(cr_lock_release(&s->lock), 0);
		break;
	case PO_SEM:
		if (r == 0)
			CHECK_EQ_INT(cr_sem_release(&s->sem), 0);
		break;
	case PO_COND:
		if (r == 0 && !is_b)
			CHECK_EQ_INT(cr_cond_notify(&s->cond, 1), 1); /* B waits */
		CHECK_EQ_INT(cr_cond_release(&s->cond), 0);
		break;
	default:
		if (r == 0 && !is_b)
			CHECK_EQ_INT(cr_queue_put_nowait(&s->q, &it), 0);
		break;
	}
}

static int po_a(void *arg)
{
	po *s = arg;
	int r = po_wait(s, 0);
	CHECK_MSG(r == 0 || r == -ECANCELED || r == -ETIMEDOUT, "A's wait returned %d", r);
	po_after(s, 0, r);
	s->passed_by_hand = r == 0;
	s->a_res = r;
	return 0;
}

static int po_b(void *arg)
{
	po *s = arg;
	int r = po_wait(s, 1);
	CHECK_MSG(r == 0,
		  "%s: B's wait returned %d: the wake-up of A (cancelled: %d, deadline %llu ns, "
		  "A's result %d) was lost",
		  po_names[s->kind], r, s->cancel_a, (unsigned long long)s->a_timeout, s->a_res);
	po_after(s, 1, r);
	s->b_res = r;
	return 0;
}

/* Cancels A of round r as soon as the wake-up of round r is being made. */
static int po_canceller(void *arg)
{
	po *s = arg;
	unsigned seen = 0;
	for (;;) {
		unsigned g;
		unsigned spins = 0;
		while ((g = atomic_load(&s->go)) == seen && !atomic_load(&s->stop)) {
			if (++spins % 4096 == 0)
				CHECK_EQ_INT(cr_yield(), 0);
		}
		if (g == seen)
			return 0;
		seen = g;
		for (volatile unsigned i = 0; i < s->delay; i++)
			;
		if (s->cancel_a) {
			int r = cr_cancel(s->a);
			CHECK_MSG(r == 0 || r == -ESRCH, "cr_cancel returned %d", r);
		}
		atomic_store(&s->done, g);
	}
}

/* Waits (yielding) until *flag is set. */
static void po_until(_Atomic int *flag)
{
	unsigned idle = 0;
	while (!atomic_load(flag))
		idle_step(&idle);
}

static void run_passon(int kind, unsigned rounds)
{
	static po s;
	unsigned nw = cr_worker_count();
	unsigned wa = 1 % nw, wb = nw > 2 ? 2 : wa, wc = nw > 3 ? 3 : 0;
	uint64_t rng = 0x6a09e667f3bcc909ull + (uint64_t)kind;
	unsigned a_won = 0, a_cancelled = 0, a_timed = 0;
	cr_task *ct = NULL, *bt;
	memset(&s, 0, sizeof(s));
	s.kind = kind;
	cr_lock_init(&s.lock);
	CHECK_EQ_INT(cr_sem_init(&s.sem, 0), 0);
	cr_cond_init(&s.cond, NULL);
	CHECK_EQ_INT(cr_queue_init(&s.q, sizeof(qitem), 0), 0);
	if (wc != 0) {
		cr_spawn_opts oc = on_worker(wc, "po-canceller");
		CHECK_OK(cr_spawn(&ct, po_canceller, &s, &oc));
	}
	uint64_t t0 = cr_now_ns();
	for (unsigned r = 1; r <= rounds; r++) {
		unsigned mode = (unsigned)(rnd(&rng) % 4);
		s.cancel_a = mode != 3;
		s.a_timeout = mode >= 2 ? 1 + rnd(&rng) % (40 * US) : 0;
		s.delay = (unsigned)(rnd(&rng) % 2000);
		atomic_store(&s.a_in, 0);
		atomic_store(&s.b_in, 0);
		if (kind == PO_LOCK)
			CHECK_EQ_INT(cr_lock_try_acquire(&s.lock), 0);
		cr_spawn_opts oa = on_worker(wa, "po-a"), ob = on_worker(wb, "po-b");
		CHECK_OK(cr_spawn(&s.a, po_a, &s, &oa));
		po_until(&s.a_in);
		if (kind == PO_COND) {
			/* Held by A until its cr_cond_wait let it go: A is in line. */
			CHECK_EQ_INT(cr_cond_acquire(&s.cond), 0);
			CHECK_EQ_INT(cr_cond_release(&s.cond), 0);
		} else {
			CHECK_EQ_INT(cr_sleep(rnd(&rng) % (20 * US)), 0); /* A most likely waits */
		}
		CHECK_OK(cr_spawn(&bt, po_b, &s, &ob));
		po_until(&s.b_in);
		if (kind == PO_COND)
			CHECK_EQ_INT(cr_cond_acquire(&s.cond), 0); /* B is in line too */
		else
			CHECK_EQ_INT(cr_sleep(rnd(&rng) % (20 * US)), 0);
		/* The race: the wake-up here, the cancel there. */
		atomic_store(&s.go, r);
		if (wc == 0 && s.cancel_a && rnd(&rng) % 2) {
			int c = cr_cancel(s.a);
			CHECK_MSG(c == 0 || c == -ESRCH, "cr_cancel returned %d", c);
		}
		switch (kind) {
		case PO_LOCK:
			CHECK_EQ_INT(cr_lock_release(&s.lock), 0);
			break;
		case PO_SEM:
			CHECK_EQ_INT(cr_sem_release(&s.sem), 0);
			break;
		case PO_COND:
			CHECK_EQ_INT(cr_cond_notify(&s.cond, 1), 1);
			CHECK_EQ_INT(cr_cond_release(&s.cond), 0);
			break;
		default: {
			qitem it = {0, 42};
			CHECK_EQ_INT(cr_queue_put_nowait(&s.q, &it), 0);
			break;
		}
		}
		if (wc == 0 && s.cancel_a) {
			int c = cr_cancel(s.a);
			CHECK_MSG(c == 0 || c == -ESRCH, "cr_cancel returned %d", c);
		}
		CHECK_EQ_INT(cr_join(s.a, NULL), 0);
		CHECK_EQ_INT(cr_join(bt, NULL), 0);
		if (wc != 0) {
			unsigned idle = 0;
			while (atomic_load(&s.done) != r)
				idle_step(&idle);
		}
		a_won += s.a_res == 0;
		a_cancelled += s.a_res == -ECANCELED;
		a_timed += s.a_res == -ETIMEDOUT;
		/* Back to rest: nothing held, nothing queued, nobody waiting. */
		switch (kind) {
		case PO_LOCK:
			CHECK_EQ_INT(cr_lock_locked(&s.lock), 0);
			break;
		case PO_SEM:
			CHECK_EQ_INT(cr_sem_value(&s.sem), 1);
			CHECK_EQ_INT(cr_sem_try_acquire(&s.sem), 0);
			break;
		case PO_COND:
			CHECK_EQ_INT(cr_cond_acquire(&s.cond), 0);
			CHECK_EQ_INT(cr_cond_notify_all(&s.cond), 0);
			CHECK_EQ_INT(cr_cond_release(&s.cond), 0);
			break;
		default:
			CHECK_EQ_U64(cr_queue_qsize(&s.q), 0);
			break;
		}
	}
	atomic_store(&s.stop, 1);
	if (ct)
		CHECK_EQ_INT(cr_join(ct, NULL), 0);
	CHECK_EQ_INT(cr_lock_destroy(&s.lock), 0);
	CHECK_EQ_INT(cr_sem_destroy(&s.sem), 0);
	CHECK_EQ_INT(cr_cond_destroy(&s.cond), 0);
	CHECK_EQ_INT(cr_queue_destroy(&s.q), 0);
	printf("pass-on %s workers=%u: %u rounds, A won %u, cancelled %u, timed out %u; B always "
	       "got the wake-up, in %.1f ms\n",
	       po_names[kind], nw, rounds, a_won, a_cancelled, a_timed,
	       (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int main_task(void *arg)
{
	check_workers(arg);
	iters = scaled(ITERS);
	run_lock();
	run_sem();
	run_queue(2, 0);
	run_queue(8, 1);
	run_cond();
	for (int k = 0; k < PO_KINDS; k++)
		run_passon(k, scaled(PASSON_ROUNDS));
	return 0;
}

int main(void)
{
	static const unsigned workers[] = {4, 2, 3};
	return xthread_run(workers, N_WORKER_COUNTS(workers), main_task);
}
