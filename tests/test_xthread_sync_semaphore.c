/* SPDX-License-Identifier: MIT */
/* Semaphore stress across workers: never more than k inside, no permit lost or made up. */
#include <limits.h>
#include <stdatomic.h>
#include <unistd.h>

#include "xthread_cases.h"

#if defined(STRESS_SMALL)
#define SEM_TOTAL 150000u   /* acquisitions per run, over all tasks */
#define RACE_ROUNDS 2000u   /* bounded release races */
#define SIGNAL_TOTAL 50000u /* permits signalled from worker 0 */
#else
#define SEM_TOTAL 250000u
#define RACE_ROUNDS 3000u
#define SIGNAL_TOTAL 200000u
#endif
#define TASKS_PER_WORKER 4u

/* ---- helpers ---------------------------------------------------------------------------- */

/* Raises *max to v if v is larger. */
static void atomic_max(_Atomic int64_t *max, int64_t v)
{
	int64_t cur = atomic_load(max);
	while (cur < v && !atomic_compare_exchange_weak(max, &cur, v))
		;
}

/* Checks the semaphore is back at k with nobody waiting: k permits can be
 * taken without waiting, not one more; gives them back. */
static void check_at_rest(cr_sem *s, int64_t k)
{
	CHECK_EQ_INT(cr_sem_value(s), k);
	for (int64_t i = 0; i < k; i++)
		CHECK_EQ_INT(cr_sem_try_acquire(s), 0);
	CHECK_EQ_INT(cr_sem_value(s), 0);
	CHECK_EQ_INT(cr_sem_locked(s), 1);
	CHECK_EQ_INT(cr_sem_try_acquire(s), -EAGAIN);
	for (int64_t i = 0; i < k; i++)
		CHECK_EQ_INT(cr_sem_release(s), 0);
	CHECK_EQ_INT(cr_sem_value(s), k);
}

/* ---- k tasks inside at most ----------------------------------------------------------------- */

typedef struct shared {
	cr_sem sem;		  /* the semaphore under test */
	int64_t k;		  /* its value */
	int bounded;		  /* 1 for a BoundedSemaphore */
	_Atomic int64_t inside;	  /* tasks holding a permit now */
	_Atomic int64_t max_in;	  /* most ever seen inside */
	_Atomic uint64_t total;	  /* acquisitions */
	_Atomic uint64_t waited;  /* acquisitions where try_acquire had said -EAGAIN */
	_Atomic int stop;	  /* ends the samplers */
	_Atomic uint64_t samples; /* values the samplers read */
} shared;

typedef struct task_arg {
	shared *s;	 /* shared state */
	unsigned iters;	 /* acquisitions to make */
	unsigned worker; /* where it runs */
	uint64_t rng;	 /* generator */
} task_arg;

static int inside_body(void *arg)
{
	task_arg *a = arg;
	shared *s = a->s;
	int64_t in = atomic_fetch_add(&s->inside, 1) + 1;
	CHECK_MSG(in <= s->k, "%lld tasks hold permits of a semaphore of %lld", (long long)in,
		  (long long)s->k);
	atomic_max(&s->max_in, in);
	atomic_fetch_add_explicit(&s->total, 1, memory_order_relaxed);
	if (rnd(&a->rng) % 8 == 0)
		CHECK_EQ_INT(cr_yield(), 0);
	atomic_fetch_sub(&s->inside, 1);
	return 3;
}

static int sem_task(void *arg)
{
	task_arg *a = arg;
	shared *s = a->s;
	CHECK_EQ_INT(cr_worker_id(), (int)a->worker);
	for (unsigned i = 0; i < a->iters; i++) {
		unsigned how = (unsigned)(rnd(&a->rng) % 8);
		if (how == 0) {
			CHECK_EQ_INT(cr_with_sem(&s->sem, inside_body, a), 3);
			continue;
		}
		if (how == 1) {
			int r = cr_sem_try_acquire(&s->sem);
			CHECK_MSG(r == 0 || r == -EAGAIN, "try_acquire returned %d", r);
			if (r == -EAGAIN) {
				atomic_fetch_add_explicit(&s->waited, 1, memory_order_relaxed);
				CHECK_EQ_INT(cr_sem_acquire(&s->sem), 0);
			}
		} else {
			CHECK_EQ_INT(cr_sem_acquire(&s->sem), 0);
		}
		CHECK_EQ_INT(inside_body(a), 3);
		/* A legitimate release never over-releases, bounded or not. */
		CHECK_EQ_INT(cr_sem_release(&s->sem), 0);
		if (rnd(&a->rng) % 128 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return 0;
}

/* Reads the value again and again while the others work: never above k.
 * Sleeps in between (a spinning task would keep its worker from ever
 * sleeping, and with more workers than cores every hand-off would then wait
 * for the kernel to schedule the right thread). */
static int sampler(void *arg)
{
	shared *s = arg;
	unsigned i = 0;
	while (!atomic_load(&s->stop)) {
		int64_t v = cr_sem_value(&s->sem);
		CHECK_MSG(v >= 0 && v <= s->k, "cr_sem_value %lld outside [0, %lld]", (long long)v,
			  (long long)s->k);
		atomic_fetch_add_explicit(&s->samples, 1, memory_order_relaxed);
		if (++i % 16 == 0)
			CHECK_EQ_INT(cr_sleep(50000), 0);
		else
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return 0;
}

/* Over-releases from this worker: refused, nothing changes. */
static int over_release(void *arg)
{
	shared *s = arg;
	CHECK(s->bounded);
	CHECK_EQ_INT(cr_sem_release(&s->sem), -EPERM);
	CHECK_EQ_INT(cr_sem_value(&s->sem), s->k);
	return 0;
}

static void run_k_inside(int64_t k, int bounded)
{
	static shared s;
	unsigned nw = cr_worker_count();
	unsigned n = nw * TASKS_PER_WORKER;
	unsigned per = scaled(SEM_TOTAL) / n;
	task_arg *args = calloc(n, sizeof(*args));
	cr_task **t = calloc(n, sizeof(*t));
	cr_task *samp[CR_MAX_WORKERS];
	CHECK(args && t);
	memset(&s, 0, sizeof(s));
	s.k = k;
	s.bounded = bounded;
	if (bounded)
		CHECK_EQ_INT(cr_bounded_sem_init(&s.sem, k), 0);
	else
		CHECK_EQ_INT(cr_sem_init(&s.sem, k), 0);

	uint64_t t0 = cr_now_ns();
	for (unsigned w = 0; w < nw; w++) {
		cr_spawn_opts o = on_worker(w, "sampler");
		CHECK_OK(cr_spawn(&samp[w], sampler, &s, &o));
	}
	for (unsigned i = 0; i < n; i++) {
		args[i] = (task_arg){.s = &s,
				     .iters = per,
				     .worker = i % nw,
				     .rng = 0x2545f4914f6cdd1dull * (i + 1)};
		cr_spawn_opts o = on_worker(i % nw, "sem");
		CHECK_OK(cr_spawn(&t[i], sem_task, &args[i], &o));
	}
	for (unsigned i = 0; i < n; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	uint64_t elapsed = cr_now_ns() - t0;
	atomic_store(&s.stop, 1);
	for (unsigned w = 0; w < nw; w++)
		CHECK_EQ_INT(cr_join(samp[w], NULL), 0);

	CHECK_EQ_U64(atomic_load(&s.total), (uint64_t)per * n);
	CHECK_EQ_INT(atomic_load(&s.inside), 0);
	CHECK_LE_INT(atomic_load(&s.max_in), k);
	CHECK_GE_INT(atomic_load(&s.max_in), 1);
	check_at_rest(&s.sem, k);
	if (bounded) {
		for (unsigned w = 0; w < nw; w++) {
			cr_task *o;
			cr_spawn_opts ow = on_worker(w, "over-release");
			int res = -1;
			CHECK_OK(cr_spawn(&o, over_release, &s, &ow));
			CHECK_EQ_INT(cr_join(o, &res), 0);
			CHECK_EQ_INT(res, 0);
		}
		check_at_rest(&s.sem, k);
	}
	CHECK_EQ_INT(cr_sem_destroy(&s.sem), 0);
	printf("%s(%lld) workers=%u tasks=%u: %llu acquisitions exact in %.1f ms, at most %lld "
	       "inside, %llu after a refused try, %llu samples of the value\n",
	       bounded ? "BoundedSemaphore" : "Semaphore", (long long)k, nw, n,
	       (unsigned long long)atomic_load(&s.total), (double)elapsed / 1e6,
	       (long long)atomic_load(&s.max_in), (unsigned long long)atomic_load(&s.waited),
	       (unsigned long long)atomic_load(&s.samples));
	free(args);
	free(t);
}

/* ---- bounded release races: exactly k of R concurrent releases succeed ----------------- */

typedef struct race {
	cr_sem sem;			     /* BoundedSemaphore(k) */
	int64_t k;			     /* its bound */
	unsigned racers;		     /* releasers, on every worker */
	_Atomic unsigned round;		     /* current round, 0 = not started, UINT_MAX = stop */
	_Atomic unsigned ok, eperm, arrived; /* results of this round */
} race;

static int racer(void *arg)
{
	race *r = arg;
	unsigned seen = 0;
	for (;;) {
		unsigned cur;
		unsigned idle = 0;
		while ((cur = atomic_load(&r->round)) == seen) {
			if (++idle % 64 == 0)
				CHECK_EQ_INT(cr_sleep(20000), 0);
			else
				CHECK_EQ_INT(cr_yield(), 0);
		}
		if (cur == UINT_MAX)
			return 0;
		seen = cur;
		int res = cr_sem_release(&r->sem);
		CHECK_MSG(res == 0 || res == -EPERM, "release returned %d", res);
		atomic_fetch_add(res == 0 ? &r->ok : &r->eperm, 1);
		atomic_fetch_add(&r->arrived, 1);
	}
}

static void run_release_race(int64_t k)
{
	static race r;
	unsigned nw = cr_worker_count();
	cr_task *t[4 * CR_MAX_WORKERS];
	memset(&r, 0, sizeof(r));
	r.k = k;
	r.racers = (unsigned)k + nw + 1;
	CHECK_LE_INT(r.racers, 4 * CR_MAX_WORKERS);
	CHECK_EQ_INT(cr_bounded_sem_init(&r.sem, k), 0);
	for (unsigned i = 0; i < r.racers; i++) {
		cr_spawn_opts o = on_worker(i % nw, "racer");
		CHECK_OK(cr_spawn(&t[i], racer, &r, &o));
	}
	uint64_t t0 = cr_now_ns();
	unsigned rounds = scaled(RACE_ROUNDS);
	for (unsigned round = 1; round <= rounds; round++) {
		for (int64_t i = 0; i < k; i++)
			CHECK_EQ_INT(cr_sem_try_acquire(&r.sem), 0);
		CHECK_EQ_INT(cr_sem_value(&r.sem), 0);
		atomic_store(&r.ok, 0);
		atomic_store(&r.eperm, 0);
		atomic_store(&r.arrived, 0);
		atomic_store(&r.round, round);
		unsigned idle = 0;
		while (atomic_load(&r.arrived) < r.racers) {
			if (++idle % 64 == 0)
				CHECK_EQ_INT(cr_sleep(20000), 0);
			else
				CHECK_EQ_INT(cr_yield(), 0);
		}
		CHECK_EQ_U64(atomic_load(&r.ok), (uint64_t)k);
		CHECK_EQ_U64(atomic_load(&r.eperm), r.racers - (uint64_t)k);
		CHECK_EQ_INT(cr_sem_value(&r.sem), k);
	}
	atomic_store(&r.round, UINT_MAX);
	for (unsigned i = 0; i < r.racers; i++)
		CHECK_EQ_INT(cr_join(t[i], NULL), 0);
	check_at_rest(&r.sem, k);
	CHECK_EQ_INT(cr_sem_destroy(&r.sem), 0);
	printf("bounded release race workers=%u k=%lld: %u rounds of %u concurrent releases, "
	       "exactly %lld accepted each time, in %.1f ms\n",
	       nw, (long long)k, rounds, r.racers, (long long)k, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- Semaphore(0) as a signal from worker 0 to waiters elsewhere ---------------------------- */

typedef struct signal_arg {
	cr_sem *sem;	 /* Semaphore(0) */
	unsigned count;	 /* permits to take */
	unsigned worker; /* where it runs */
} signal_arg;

static int signal_waiter(void *arg)
{
	signal_arg *a = arg;
	CHECK_EQ_INT(cr_worker_id(), (int)a->worker);
	for (unsigned i = 0; i < a->count; i++)
		CHECK_EQ_INT(cr_sem_acquire(a->sem), 0);
	return 0;
}

static void run_signal(void)
{
	static cr_sem sem;
	unsigned nw = cr_worker_count();
	unsigned n = nw > 1 ? 2 * (nw - 1) : 2; /* waiters on workers 1.. (or 0 alone) */
	unsigned per = scaled(SIGNAL_TOTAL) / n;
	signal_arg args[2 * CR_MAX_WORKERS];
	cr_task *t[2 * CR_MAX_WORKERS];
	uint64_t rng = 88172645463325252ull;
	CHECK_EQ_INT(cr_sem_init(&sem, 0), 0);
	for (unsigned i = 0; i < n; i++) {
		unsigned w = nw > 1 ? 1 + i % (nw - 1) : 0;
		args[i] = (signal_arg){.sem = &sem, .count = per, .worker = w};
		cr_spawn_opts o = on_worker(w, "signal-waiter");
		CHECK_OK(cr_spawn(&t[i], signal_waiter, &args[i], &o));
	}
	uint64_t t0 = cr_now_ns();
	for (unsigned i = 0; i < per * n; i++) {
		CHECK_EQ_INT(cr_sem_release(&sem), 0);
		if (rnd(&rng) % 16 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	for (unsigned i = 0; i < n; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	CHECK_EQ_INT(cr_sem_value(&sem), 0);
	CHECK_EQ_INT(cr_sem_try_acquire(&sem), -EAGAIN);
	CHECK_EQ_INT(cr_sem_destroy(&sem), 0);
	printf("signal workers=%u: %u permits released on worker 0 taken by %u waiters elsewhere "
	       "in %.1f ms\n",
	       nw, per * n, n, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int main_task(void *arg)
{
	check_workers(arg);
	run_k_inside(1, 0);
	run_k_inside(3, 0);
	run_k_inside(2, 1);
	run_release_race(3);
	run_signal();
	return 0;
}

int main(void)
{
	static const unsigned workers[] = {2, 4, 0}; /* 0: one per CPU */
	return xthread_run(workers, N_WORKER_COUNTS(workers), main_task);
}
