/* SPDX-License-Identifier: MIT */
/* Event and Condition across workers: set/clear rounds, notify(n) and notify_all, exact counts. */
#include <stdatomic.h>
#include <unistd.h>

#define SCALE_DOWN 4u /* scaled() divides by this */
#include "xthread_cases.h"

#if defined(STRESS_SMALL)
#define EVENT_ROUNDS 10000u /* set/clear rounds */
#define COND_ROUNDS 10000u  /* notify rounds */
#else
#define EVENT_ROUNDS 20000u
#define COND_ROUNDS 20000u
#endif
#define WAITERS_PER_WORKER 3u /* waiters per worker but 0 */
#define WIDE_PER_WORKER 48u   /* ... in the wide runs: more than a wait-queue segment */
#define WIDE_ROUNDS 1000u     /* rounds of the wide runs */
#define MAX_WAITERS 1024u

/* ---- helpers ---------------------------------------------------------------------------- */

/* Number of waiters and the worker of waiter i: workers 1.. (worker 0 sets). */
static unsigned n_waiters(unsigned per_worker)
{
	unsigned nw = cr_worker_count();
	unsigned n = nw > 1 ? per_worker * (nw - 1) : per_worker;
	CHECK_LE_U64(n, MAX_WAITERS);
	return n;
}

static unsigned waiter_worker(unsigned i)
{
	unsigned nw = cr_worker_count();
	return nw > 1 ? 1 + i % (nw - 1) : 0;
}

/* ---- Event rounds ---------------------------------------------------------------------------- */

/*
 * Round r uses go[r % 2] and ack[r % 2].  The setter (worker 0) clears the
 * other parity's events, sets go[p]; the waiters (workers 1..) and a
 * co-setter (the last worker, setting go[p] a second time, concurrently)
 * count themselves in arrived[p]; the last of them sets ack[p], which the
 * setter waits for.  A waiter of round r + 2 waits on go[p] only after round
 * r + 1 started, i.e. after go[p] was cleared, so it blocks until its own set.
 */
typedef struct ev {
	cr_event go[2], ack[2];	     /* per parity */
	_Atomic unsigned arrived[2]; /* waiters (and the co-setter) through go[p] */
	_Atomic unsigned round;	     /* round now running */
	unsigned parties;	     /* waiters + co-setter */
	unsigned rounds;	     /* rounds in all */
	_Atomic uint64_t fast;	     /* waits that found the flag set */
	_Atomic uint64_t woken;	     /* waits that returned 0 */
} ev;

typedef struct ev_arg {
	ev *e;		 /* shared */
	unsigned worker; /* where it runs */
	uint64_t rng;	 /* generator */
} ev_arg;

/* Counts this party in for round r; the last one sets ack[r % 2]. */
static void ev_arrive(ev *e, unsigned r)
{
	unsigned p = r & 1;
	if (atomic_fetch_add(&e->arrived[p], 1) + 1 == e->parties)
		CHECK_EQ_INT(cr_event_set(&e->ack[p]), 0);
}

static int ev_waiter(void *arg)
{
	ev_arg *a = arg;
	ev *e = a->e;
	CHECK_EQ_INT(cr_worker_id(), (int)a->worker);
	for (unsigned r = 1; r <= e->rounds; r++) {
		unsigned p = r & 1;
		unsigned d = (unsigned)(rnd(&a->rng) % 8);
		if (d == 0)
			CHECK_EQ_INT(cr_yield(), 0);
		else if (d == 1)
			CHECK_EQ_INT(cr_sleep(rnd(&a->rng) % 20000), 0);
		if (cr_event_is_set(&e->go[p]))
			atomic_fetch_add_explicit(&e->fast, 1, memory_order_relaxed);
		CHECK_EQ_INT(cr_event_wait(&e->go[p]), 0);
		unsigned cur = atomic_load(&e->round);
		CHECK_MSG(cur == r, "a waiter passed go[%u] in round %u while round %u runs", p, r,
			  cur);
		atomic_fetch_add_explicit(&e->woken, 1, memory_order_relaxed);
		ev_arrive(e, r);
	}
	return 0;
}

static int ev_cosetter(void *arg)
{
	ev_arg *a = arg;
	ev *e = a->e;
	for (unsigned r = 1; r <= e->rounds; r++) {
		while (atomic_load(&e->round) < r)
			CHECK_EQ_INT(cr_yield(), 0);
		CHECK_EQ_INT(cr_event_set(&e->go[r & 1]), 0); /* races the setter's own set */
		CHECK_EQ_INT(cr_event_is_set(&e->go[r & 1]), 1);
		ev_arrive(e, r);
	}
	return 0;
}

static void run_event(unsigned per_worker, unsigned rounds)
{
	static ev e;
	static ev_arg args[MAX_WAITERS + 1];
	static cr_task *t[MAX_WAITERS + 1];
	unsigned nw = cr_worker_count();
	unsigned n = n_waiters(per_worker);
	uint64_t rng = 0x5bd1e9955bd1e995ull;
	memset(&e, 0, sizeof(e));
	for (int p = 0; p < 2; p++) {
		cr_event_init(&e.go[p]);
		cr_event_init(&e.ack[p]);
	}
	e.parties = n + 1;
	e.rounds = rounds;
	for (unsigned i = 0; i < n; i++) {
		args[i] = (ev_arg){.e = &e, .worker = waiter_worker(i), .rng = rnd(&rng) | 1};
		cr_spawn_opts o = on_worker(args[i].worker, "ev-waiter");
		CHECK_OK(cr_spawn(&t[i], ev_waiter, &args[i], &o));
	}
	args[n] = (ev_arg){.e = &e, .worker = nw - 1, .rng = 1};
	cr_spawn_opts oc = on_worker(nw - 1, "ev-cosetter");
	CHECK_OK(cr_spawn(&t[n], ev_cosetter, &args[n], &oc));

	uint64_t t0 = cr_now_ns();
	for (unsigned r = 1; r <= e.rounds; r++) {
		unsigned p = r & 1;
		cr_event_clear(&e.go[!p]);
		cr_event_clear(&e.ack[!p]);
		atomic_store(&e.arrived[p], 0);
		atomic_store(&e.round, r);
		if (rnd(&rng) % 4 == 0)
			CHECK_EQ_INT(cr_yield(), 0); /* sometimes the co-setter sets first */
		CHECK_EQ_INT(cr_event_set(&e.go[p]), 0);
		CHECK_EQ_INT(cr_event_set(&e.go[p]), 0); /* already set: nothing happens */
		CHECK_EQ_INT(cr_event_wait(&e.ack[p]), 0);
		CHECK_EQ_U64(atomic_load(&e.arrived[p]), e.parties);
		CHECK_EQ_U64(atomic_load(&e.woken), (uint64_t)r * n);
	}
	uint64_t elapsed = cr_now_ns() - t0;
	for (unsigned i = 0; i <= n; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	CHECK_EQ_U64(atomic_load(&e.woken), (uint64_t)e.rounds * n);
	for (int p = 0; p < 2; p++) {
		CHECK_EQ_INT(cr_event_destroy(&e.go[p]), 0);
		CHECK_EQ_INT(cr_event_destroy(&e.ack[p]), 0);
	}
	printf("event workers=%u: %u rounds x %u waiters on workers 1.. woken exactly once each "
	       "(%llu found it set) in %.1f ms\n",
	       nw, e.rounds, n, (unsigned long long)atomic_load(&e.fast), (double)elapsed / 1e6);
}

/* ---- Condition: notify(n) wakes exactly min(n, waiting), the first in line ------------------ */

/*
 * All fields below the conditions are guarded by their shared lock.  A
 * waiter appends its id to `line` and waits on `c`; the notifier (worker 0)
 * waits on `idle` (same lock) until all W waiters are in line, then
 * notifies.  Because a waiter holds the lock from joining the line until
 * cr_cond_wait releases it, the condition's own queue holds exactly the ids
 * in line, in that order: notify(n) must return min(n, in line) and wake
 * the first ones.
 */
typedef struct cs {
	cr_cond c;		       /* the waiters wait here */
	cr_cond idle;		       /* the notifier waits here (same lock) */
	unsigned w;		       /* waiters */
	unsigned line[MAX_WAITERS];    /* ids waiting and not yet notified, oldest first */
	unsigned head, len;	       /* ring over line */
	uint8_t notified[MAX_WAITERS]; /* 1: notified, has not returned from wait yet */
	unsigned pending;	       /* notified and not yet returned */
	uint64_t wakes[MAX_WAITERS];   /* returns from cr_cond_wait per waiter */
	uint64_t total_notified;       /* sum of notify results */
	int stop;		       /* 1: waiters leave after their next wake */
	uint64_t by_one, by_n, by_all; /* notify calls of each kind */
	unsigned rounds;	       /* rounds in all */
} cs;

typedef struct cs_arg {
	cs *c;		 /* shared */
	unsigned id;	 /* waiter index */
	unsigned worker; /* where it runs */
	uint64_t rng;	 /* generator */
} cs_arg;

static int all_in_line(void *arg)
{
	cs *c = arg;
	return c->len == c->w;
}

static int cs_waiter(void *arg)
{
	cs_arg *a = arg;
	cs *c = a->c;
	CHECK_EQ_INT(cr_worker_id(), (int)a->worker);
	CHECK_EQ_INT(cr_cond_acquire(&c->c), 0);
	for (;;) {
		c->line[(c->head + c->len) % MAX_WAITERS] = a->id;
		c->len++;
		if (c->len == c->w)
			CHECK_GE_INT(cr_cond_notify(&c->idle, 1), 0);
		CHECK_EQ_INT(cr_cond_wait(&c->c), 0);
		CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c->c)), 1);
		CHECK_MSG(c->notified[a->id] == 1,
			  "waiter %u returned from cr_cond_wait without being notified", a->id);
		c->notified[a->id] = 0;
		c->pending--;
		c->wakes[a->id]++;
		if (c->stop)
			break;
		if (rnd(&a->rng) % 4 == 0) {
			/* Let go for a moment: the order in line changes. */
			CHECK_EQ_INT(cr_cond_release(&c->c), 0);
			CHECK_EQ_INT(cr_yield(), 0);
			CHECK_EQ_INT(cr_cond_acquire(&c->c), 0);
		}
	}
	CHECK_EQ_INT(cr_cond_release(&c->c), 0);
	return 0;
}

/* Marks the first k in line as notified (called with the lock held). */
static void take_from_line(cs *c, int k)
{
	CHECK_LE_INT(k, c->len);
	for (int i = 0; i < k; i++) {
		unsigned id = c->line[c->head];
		c->head = (c->head + 1) % MAX_WAITERS;
		c->len--;
		c->notified[id] = 1;
	}
	c->pending += (unsigned)k;
	c->total_notified += (uint64_t)k;
}

static void run_cond(unsigned per_worker, unsigned rounds)
{
	static cs c;
	static cs_arg args[MAX_WAITERS];
	static cr_task *t[MAX_WAITERS];
	unsigned nw = cr_worker_count();
	unsigned n = n_waiters(per_worker);
	uint64_t rng = 0x853c49e6748fea9bull;
	memset(&c, 0, sizeof(c));
	cr_cond_init(&c.c, NULL);
	cr_cond_init(&c.idle, cr_cond_lock(&c.c));
	CHECK_EQ_PTR(cr_cond_lock(&c.idle), cr_cond_lock(&c.c));
	c.w = n;
	c.rounds = rounds;
	for (unsigned i = 0; i < n; i++) {
		args[i] = (cs_arg){
			.c = &c, .id = i, .worker = waiter_worker(i), .rng = rnd(&rng) | 1};
		cr_spawn_opts o = on_worker(args[i].worker, "cond-waiter");
		CHECK_OK(cr_spawn(&t[i], cs_waiter, &args[i], &o));
	}
	uint64_t t0 = cr_now_ns();
	CHECK_EQ_INT(cr_cond_acquire(&c.c), 0);
	for (unsigned r = 0; r < c.rounds; r++) {
		CHECK_EQ_INT(cr_cond_wait_for(&c.idle, all_in_line, &c), 0);
		CHECK_EQ_U64(c.pending, 0);
		unsigned how = (unsigned)(rnd(&rng) % 3);
		if (how == 0) {
			/* notify(1), m times: one each while anybody is in line, then 0. */
			unsigned m = 1 + (unsigned)(rnd(&rng) % (n + 2));
			for (unsigned i = 0; i < m; i++) {
				unsigned before = c.len;
				int k = cr_cond_notify(&c.c, 1);
				CHECK_EQ_INT(k, before > 0 ? 1 : 0);
				take_from_line(&c, k);
				c.by_one++;
			}
		} else if (how == 1) {
			int want = (int)(rnd(&rng) % (n + 2));
			unsigned before = c.len;
			int k = cr_cond_notify(&c.c, want);
			CHECK_EQ_INT(k, (unsigned)want < before ? (unsigned)want : before);
			take_from_line(&c, k);
			c.by_n++;
		} else {
			unsigned before = c.len;
			int k = cr_cond_notify_all(&c.c);
			CHECK_EQ_INT(k, before);
			take_from_line(&c, k);
			CHECK_EQ_INT(cr_cond_notify_all(&c.c), 0);
			c.by_all++;
		}
	}
	/* Last round: everybody out. */
	CHECK_EQ_INT(cr_cond_wait_for(&c.idle, all_in_line, &c), 0);
	c.stop = 1;
	int k = cr_cond_notify_all(&c.c);
	CHECK_EQ_INT(k, n);
	take_from_line(&c, k);
	CHECK_EQ_INT(cr_cond_release(&c.c), 0);
	for (unsigned i = 0; i < n; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	uint64_t elapsed = cr_now_ns() - t0;
	uint64_t wakes = 0;
	for (unsigned i = 0; i < n; i++) {
		CHECK_GE_U64(c.wakes[i], 1);
		wakes += c.wakes[i];
	}
	CHECK_EQ_U64(wakes, c.total_notified);
	CHECK_EQ_U64(c.pending, 0);
	CHECK_EQ_INT(cr_lock_locked(cr_cond_lock(&c.c)), 0);
	CHECK_EQ_INT(cr_cond_notify(&c.c, 1), -EPERM); /* not held */
	CHECK_EQ_INT(cr_cond_wait(&c.c), -EPERM);
	CHECK_EQ_INT(cr_cond_destroy(&c.idle), 0);
	CHECK_EQ_INT(cr_cond_destroy(&c.c), 0);
	printf("condition workers=%u: %u rounds x %u waiters on workers 1..: %llu wake-ups, each "
	       "by exactly one notification, first in line first (%llu notify(1), %llu "
	       "notify(n), %llu notify_all) in %.1f ms\n",
	       nw, c.rounds, n, (unsigned long long)wakes, (unsigned long long)c.by_one,
	       (unsigned long long)c.by_n, (unsigned long long)c.by_all, (double)elapsed / 1e6);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int main_task(void *arg)
{
	check_workers(arg);
	CHECK_EQ_INT(cr_worker_id(), 0);
	run_event(WAITERS_PER_WORKER, scaled(EVENT_ROUNDS));
	run_cond(WAITERS_PER_WORKER, scaled(COND_ROUNDS));
	run_event(WIDE_PER_WORKER, WIDE_ROUNDS);
	run_cond(WIDE_PER_WORKER, WIDE_ROUNDS);
	return 0;
}

int main(void)
{
	static const unsigned workers[] = {2, 4};
	return xthread_run(workers, N_WORKER_COUNTS(workers), main_task);
}
