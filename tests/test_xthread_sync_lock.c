/* SPDX-License-Identifier: MIT */
/* Lock stress across workers: a plain counter under cr_lock stays exact, one holder at a time. */
#include <stdatomic.h>
#include <unistd.h>

#include "xthread_cases.h"

#if defined(STRESS_SMALL)
#define LOCK_TOTAL 200000u /* critical sections per run, over all tasks */
#define CHURN_ROUNDS 1000u /* stack locks made and destroyed */
#else
#define LOCK_TOTAL 2000000u
#define CHURN_ROUNDS 3000u
#endif
#define BATON_ROUNDS 20000u /* acquired on one worker, released on another */
#define TASKS_PER_WORKER 4u
#define YIELD_IN_SECTION 64u /* about one section in this many yields inside */

/* ---- the counter ---------------------------------------------------------------------------- */

/* Shared by every task of one run. */
typedef struct shared {
	cr_lock lock;	    /* the lock under test */
	uint64_t counter;   /* plain: only touched with the lock held */
	_Atomic int owner;  /* id of the task inside, 0 if none */
	uint64_t yields_in; /* yields made inside the section (plain, under the lock) */
	_Atomic unsigned tries_ok, tries_busy, with_lock; /* how sections were entered */
	_Atomic unsigned on_worker[CR_MAX_WORKERS];	  /* sections run per worker */
} shared;

typedef struct worker_arg {
	shared *s;	 /* shared state */
	int id;		 /* 1.. */
	unsigned iters;	 /* critical sections to run */
	unsigned worker; /* where it must run */
	uint64_t rng;	 /* generator state */
} worker_arg;

/* The body of one critical section: enters, bumps, maybe yields, leaves. */
static int section(void *arg)
{
	worker_arg *a = arg;
	shared *s = a->s;
	int prev = atomic_exchange(&s->owner, a->id);
	CHECK_MSG(prev == 0, "task %d entered the section while task %d was inside", a->id, prev);
	CHECK_EQ_INT(cr_lock_locked(&s->lock), 1);
	s->counter++;
	if (rnd(&a->rng) % YIELD_IN_SECTION == 0) {
		s->yields_in++;
		CHECK_EQ_INT(cr_yield(), 0);
		CHECK_EQ_INT(atomic_load(&s->owner), a->id);
		CHECK_EQ_INT(cr_lock_locked(&s->lock), 1);
	}
	prev = atomic_exchange(&s->owner, 0);
	CHECK_MSG(prev == a->id, "task %d left the section but task %d was marked inside", a->id,
		  prev);
	return 7;
}

static int counter_task(void *arg)
{
	worker_arg *a = arg;
	shared *s = a->s;
	CHECK_EQ_INT(cr_worker_id(), (int)a->worker);
	for (unsigned i = 0; i < a->iters; i++) {
		unsigned how = (unsigned)(rnd(&a->rng) % 16);
		if (how == 0) {
			CHECK_EQ_INT(cr_with_lock(&s->lock, section, a), 7);
			atomic_fetch_add_explicit(&s->with_lock, 1, memory_order_relaxed);
		} else {
			if (how == 1) {
				int r = cr_lock_try_acquire(&s->lock);
				CHECK_MSG(r == 0 || r == -EAGAIN, "try_acquire returned %d", r);
				if (r == 0) {
					atomic_fetch_add_explicit(&s->tries_ok, 1,
								  memory_order_relaxed);
				} else {
					atomic_fetch_add_explicit(&s->tries_busy, 1,
								  memory_order_relaxed);
					CHECK_EQ_INT(cr_lock_acquire(&s->lock), 0);
				}
			} else {
				CHECK_EQ_INT(cr_lock_acquire(&s->lock), 0);
			}
			CHECK_EQ_INT(section(a), 7);
			CHECK_EQ_INT(cr_lock_release(&s->lock), 0);
		}
		atomic_fetch_add_explicit(&s->on_worker[a->worker], 1, memory_order_relaxed);
		/* Sometimes let the other tasks of this worker in, outside the lock. */
		if (rnd(&a->rng) % 256 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return 0;
}

/* Runs TASKS_PER_WORKER counter tasks on every worker and checks the total. */
static void run_counter(void)
{
	static shared s;
	unsigned nw = cr_worker_count();
	unsigned n = nw * TASKS_PER_WORKER;
	unsigned per = scaled(LOCK_TOTAL) / n;
	worker_arg *args = calloc(n, sizeof(*args));
	cr_task **t = calloc(n, sizeof(*t));
	CHECK(args && t);
	memset(&s, 0, sizeof(s));
	cr_lock_init(&s.lock);

	uint64_t t0 = cr_now_ns();
	for (unsigned i = 0; i < n; i++) {
		args[i] = (worker_arg){.s = &s,
				       .id = (int)i + 1,
				       .iters = per,
				       .worker = i % nw,
				       .rng = 0x9e3779b97f4a7c15ull * (i + 1)};
		cr_spawn_opts o = on_worker(i % nw, "counter");
		CHECK_OK(cr_spawn(&t[i], counter_task, &args[i], &o));
	}
	for (unsigned i = 0; i < n; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	uint64_t elapsed = cr_now_ns() - t0;

	/* The joins order every task's last section before these reads. */
	CHECK_EQ_U64(s.counter, (uint64_t)per * n);
	CHECK_EQ_INT(atomic_load(&s.owner), 0);
	CHECK_EQ_INT(cr_lock_locked(&s.lock), 0);
	for (unsigned w = 0; w < nw; w++)
		CHECK_EQ_U64(atomic_load(&s.on_worker[w]), (uint64_t)per * TASKS_PER_WORKER);
	CHECK_EQ_INT(cr_lock_try_acquire(&s.lock), 0);
	CHECK_EQ_INT(cr_lock_try_acquire(&s.lock), -EAGAIN);
	CHECK_EQ_INT(cr_lock_release(&s.lock), 0);
	CHECK_EQ_INT(cr_lock_release(&s.lock), -EPERM);
	CHECK_EQ_INT(cr_lock_destroy(&s.lock), 0);
	printf("counter workers=%u tasks=%u: %llu sections exact in %.1f ms (%.0f ns each); %llu "
	       "yields inside, %u try_acquire ok / %u busy, %u cr_with_lock\n",
	       nw, n, (unsigned long long)s.counter, (double)elapsed / 1e6,
	       (double)elapsed / (double)s.counter, (unsigned long long)s.yields_in,
	       atomic_load(&s.tries_ok), atomic_load(&s.tries_busy), atomic_load(&s.with_lock));
	free(args);
	free(t);
}

/* ---- the baton: acquired on one worker, released on the next ---------------------------- */

/*
 * The lock is not owned: a task on worker i acquires it and worker i+1
 * releases it.  One holder task and one releaser task per worker; whichever
 * holder gets the lock takes the next round number and leaves the release
 * to the releaser of the next worker (from a task or a loop callback), while
 * the other holders wait in cr_lock_acquire.
 */
typedef struct baton {
	cr_lock lock;		     /* the lock under test */
	uint64_t counter;	     /* plain: only touched with the lock held */
	_Atomic int owner;	     /* worker + 1 of the holder inside, 0 if none */
	_Atomic unsigned next_round; /* round the holders race for (take a ticket) */
	_Atomic unsigned released;   /* rounds released */
	unsigned rounds;	     /* rounds in all */
	_Atomic unsigned to_release[CR_MAX_WORKERS]; /* per worker: round + 1 to release, 0 none */
} baton;

typedef struct baton_arg {
	baton *b;	 /* shared */
	unsigned worker; /* where it runs */
} baton_arg;

static int baton_holder(void *arg)
{
	baton_arg *a = arg;
	baton *b = a->b;
	unsigned nw = cr_worker_count();
	for (;;) {
		CHECK_EQ_INT(cr_lock_acquire(&b->lock), 0);
		unsigned r = atomic_fetch_add(&b->next_round, 1);
		if (r >= b->rounds) {
			/* Past the end: give the lock straight back. */
			CHECK_EQ_INT(cr_lock_release(&b->lock), 0);
			return 0;
		}
		int prev = atomic_exchange(&b->owner, (int)a->worker + 1);
		CHECK_MSG(prev == 0,
			  "holder on worker %u got the lock while worker %d's was inside",
			  a->worker, prev - 1);
		b->counter++;
		unsigned to = (a->worker + 1) % nw;
		CHECK_EQ_U64(atomic_exchange(&b->to_release[to], r + 1), 0);
		CHECK_EQ_INT(cr_yield(), 0); /* leave the release to the other worker */
	}
}

/* Ends the section of the previous worker's holder (from a task or a loop
 * callback: the lock is not owned, anyone may release it). */
static void baton_release(baton_arg *a)
{
	baton *b = a->b;
	unsigned nw = cr_worker_count();
	int who = atomic_exchange(&b->owner, 0);
	CHECK_EQ_INT(who, (int)((a->worker + nw - 1) % nw) + 1);
	atomic_fetch_add(&b->released, 1);
	CHECK_EQ_INT(cr_lock_release(&b->lock), 0);
}

static void baton_release_cb(void *arg)
{
	CHECK(cr_current() == NULL);
	baton_release(arg);
}

static int baton_releaser(void *arg)
{
	baton_arg *a = arg;
	baton *b = a->b;
	unsigned idle = 0;
	while (atomic_load(&b->released) < b->rounds) {
		unsigned r1 = atomic_exchange(&b->to_release[a->worker], 0);
		if (r1 == 0) {
			/* Nothing yet: yield, and sleep a little when idle for long. */
			if (++idle % 64 == 0)
				CHECK_EQ_INT(cr_sleep(20000), 0);
			else
				CHECK_EQ_INT(cr_yield(), 0);
			continue;
		}
		idle = 0;
		if (r1 % 2)
			CHECK(cr_call_soon(baton_release_cb, a) != 0);
		else
			baton_release(a);
	}
	return 0;
}

static void run_baton(void)
{
	static baton b;
	unsigned nw = cr_worker_count();
	baton_arg args[CR_MAX_WORKERS];
	cr_task *h[CR_MAX_WORKERS], *rel[CR_MAX_WORKERS];
	memset(&b, 0, sizeof(b));
	cr_lock_init(&b.lock);
	b.rounds = scaled(BATON_ROUNDS);
	uint64_t t0 = cr_now_ns();
	for (unsigned w = 0; w < nw; w++) {
		args[w] = (baton_arg){.b = &b, .worker = w};
		cr_spawn_opts oh = on_worker(w, "baton-holder");
		cr_spawn_opts orl = on_worker(w, "baton-releaser");
		CHECK_OK(cr_spawn(&rel[w], baton_releaser, &args[w], &orl));
		CHECK_OK(cr_spawn(&h[w], baton_holder, &args[w], &oh));
	}
	for (unsigned w = 0; w < nw; w++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(h[w], &res), 0);
		CHECK_EQ_INT(res, 0);
		CHECK_EQ_INT(cr_join(rel[w], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	CHECK_EQ_U64(b.counter, b.rounds);
	CHECK_EQ_U64(atomic_load(&b.released), b.rounds);
	CHECK_EQ_INT(atomic_load(&b.owner), 0);
	CHECK_EQ_INT(cr_lock_locked(&b.lock), 0);
	CHECK_EQ_INT(cr_lock_destroy(&b.lock), 0);
	printf("baton workers=%u: %u sections acquired on one worker and released on the next "
	       "(half of them from a loop callback) in %.1f ms\n",
	       nw, b.rounds, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- churn: short-lived contended locks on the stack, destroyed and made again ------------ */

/*
 * Each round puts a lock (and an event) on main's stack, makes tasks on
 * every worker contend for it so that wait-queue segments are made, joins
 * them and destroys both: the next round reuses the same memory while the
 * previous round's segments may still wait for reclamation on any worker.
 */
typedef struct churn {
	cr_lock *lock;	   /* this round's lock */
	cr_event *start;   /* set by main once every task is spawned */
	_Atomic int owner; /* task inside, 0 if none */
	unsigned sections; /* plain: under the lock */
} churn;

typedef struct churn_arg {
	churn *c; /* shared */
	int id;	  /* 1.. */
} churn_arg;

static int churn_task(void *arg)
{
	churn_arg *a = arg;
	churn *c = a->c;
	CHECK_EQ_INT(cr_event_wait(c->start), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(cr_lock_acquire(c->lock), 0);
		CHECK_EQ_INT(atomic_exchange(&c->owner, a->id), 0);
		c->sections++;
		CHECK_EQ_INT(cr_yield(), 0); /* the others queue up meanwhile */
		CHECK_EQ_INT(atomic_exchange(&c->owner, 0), a->id);
		CHECK_EQ_INT(cr_lock_release(c->lock), 0);
	}
	return 0;
}

static void run_churn(void)
{
	unsigned nw = cr_worker_count();
	unsigned n = 2 * nw, rounds = scaled(CHURN_ROUNDS);
	churn_arg args[2 * CR_MAX_WORKERS];
	cr_task *t[2 * CR_MAX_WORKERS];
	uint64_t t0 = cr_now_ns();
	for (unsigned r = 0; r < rounds; r++) {
		cr_lock lock;
		cr_event start;
		churn c = {.lock = &lock, .start = &start};
		cr_lock_init(&lock);
		cr_event_init(&start);
		for (unsigned i = 0; i < n; i++) {
			args[i] = (churn_arg){.c = &c, .id = (int)i + 1};
			cr_spawn_opts o = on_worker(i % nw, "churn");
			CHECK_OK(cr_spawn(&t[i], churn_task, &args[i], &o));
		}
		CHECK_EQ_INT(cr_event_set(&start), 0);
		for (unsigned i = 0; i < n; i++)
			CHECK_EQ_INT(cr_join(t[i], NULL), 0);
		CHECK_EQ_U64(c.sections, 3 * n);
		CHECK_EQ_INT(cr_lock_locked(&lock), 0);
		CHECK_EQ_INT(cr_lock_destroy(&lock), 0);
		CHECK_EQ_INT(cr_event_destroy(&start), 0);
		memset(&lock, 0xa5, sizeof(lock)); /* whatever still pointed here would notice */
		memset(&start, 0x5a, sizeof(start));
	}
	printf("churn workers=%u: %u rounds of a stack lock contended by %u tasks, destroyed and "
	       "made again, in %.1f ms\n",
	       nw, rounds, n, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int main_task(void *arg)
{
	check_workers(arg);
	CHECK_GE_U64(cr_worker_count(), 1);
	run_counter();
	if (cr_worker_count() > 1)
		run_baton();
	run_churn();
	return 0;
}

int main(void)
{
	static const unsigned workers[] = {2, 4, 0}; /* 0: one per CPU */
	return xthread_run(workers, N_WORKER_COUNTS(workers), main_task);
}
